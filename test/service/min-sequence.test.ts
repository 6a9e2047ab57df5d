// The minimum sequence of a read (read-your-writes, docs/http-api.md): the
// X-Min-Sequence header, the minSequence query parameter or a JSON body's
// minSequence field, one way at a time; and the remote client's readYourWrites
// option, which sends the last version it saw of each index. On a single node a
// version not reached yet is 503 ERR_REPLICA_BEHIND at once (nothing else will
// apply it); test/cluster/replicas.test.ts reads through other nodes.
import { strict as assert } from 'node:assert';
import { connect } from '../../lib/client/connect';
import { METRIC_L2 } from '../../lib/constants';
import { client, makeTenant, startServer, type ServerProcess } from '../support/server';

const D = 4;
const rows = (n: number, shift: number): number[][] => Array.from({ length: n }, (_, i) => Array.from({ length: D }, () => (shift + i) / 10));

describe('service: a read with a minimum sequence (header, query parameter, body field)', function () {
  this.timeout(60_000);
  let s: ServerProcess;
  let keys: { admin: string; write: string; read: string };
  let version: number;
  before(async () => {
    s = await startServer();
    keys = await makeTenant(s, 'seq');
    const api = client(s.url, keys.write);
    assert.equal((await api.post('/v1/indexes', { name: 'ix', dimension: D, type: 'IndexFlatL2' })).status, 201);
    const added = await api.post('/v1/indexes/ix/add', { vectors: rows(3, 0) });
    assert.equal(added.status, 200);
    version = Number(added.headers.get('x-index-version'));
    assert.ok(version >= 1);
  });
  after(async () => {
    await s?.stop();
  });

  it('takes the query parameter and the body field as it takes the header', async () => {
    const api = client(s.url, keys.read);
    const search = { vectors: [rows(3, 0)[2]], k: 1 };
    for (const r of [
      await api.post('/v1/indexes/ix/search', search, { headers: { 'X-Min-Sequence': String(version) } }),
      await api.post(`/v1/indexes/ix/search?minSequence=${version}`, search),
      await api.post('/v1/indexes/ix/search', { ...search, minSequence: version }),
      await api.post('/v1/indexes/ix/search', { ...search, minSequence: 0 }),
    ]) {
      assert.equal(r.status, 200, JSON.stringify(r.json));
      assert.deepEqual(r.json.labels, [[2]]);
    }
    // A GET (no body) and a binary search (options in the query string) take the query parameter.
    const info = await api.get(`/v1/indexes/ix?minSequence=${version}`);
    assert.equal(info.status, 200, JSON.stringify(info.json));
    assert.equal(info.json.ntotal, 3);
    const binary = await api.post(`/v1/indexes/ix/search?k=1&minSequence=${version}`, undefined, {
      body: new Uint8Array(new Float32Array(rows(3, 0)[1]).buffer),
      headers: { 'Content-Type': 'application/octet-stream' },
    });
    assert.equal(binary.status, 200, JSON.stringify(binary.json));
    // Ahead of the index, every way: 503 ERR_REPLICA_BEHIND with Retry-After.
    for (const r of [
      await api.post(`/v1/indexes/ix/search?minSequence=${version + 5}`, search),
      await api.post('/v1/indexes/ix/search', { ...search, minSequence: version + 5 }),
      await api.get(`/v1/indexes/ix?minSequence=${version + 5}`),
    ]) {
      assert.equal(r.status, 503, JSON.stringify(r.json));
      assert.equal(r.json.error.code, 'ERR_REPLICA_BEHIND');
      assert.equal(r.headers.get('retry-after'), '1');
    }
  });

  it('refuses hostile values with a 400 and a JSON body (the server stays up)', async () => {
    const api = client(s.url, keys.read);
    const search = { vectors: [rows(1, 0)[0]], k: 1 };
    const bad: [string, Promise<{ status: number; json: { error: { code: string; message: string } } }>][] = [
      ['negative query', api.post('/v1/indexes/ix/search?minSequence=-1', search)],
      ['text query', api.post('/v1/indexes/ix/search?minSequence=soon', search)],
      ['empty query', api.post('/v1/indexes/ix/search?minSequence=', search)],
      ['fraction query', api.post('/v1/indexes/ix/search?minSequence=1.5', search)],
      ['huge query', api.post('/v1/indexes/ix/search?minSequence=99999999999999999999', search)],
      ['exponent query', api.post('/v1/indexes/ix/search?minSequence=1e3', search)],
      ['repeated query', api.post('/v1/indexes/ix/search?minSequence=1&minSequence=1', search)],
      ['string body', api.post('/v1/indexes/ix/search', { ...search, minSequence: '1' })],
      ['negative body', api.post('/v1/indexes/ix/search', { ...search, minSequence: -1 })],
      ['fraction body', api.post('/v1/indexes/ix/search', { ...search, minSequence: 0.5 })],
      ['unsafe body', api.post('/v1/indexes/ix/search', { ...search, minSequence: 2 ** 60 })],
      ['null body', api.post('/v1/indexes/ix/search', { ...search, minSequence: null })],
      ['object body', api.post('/v1/indexes/ix/search', { ...search, minSequence: { $gt: 1 } })],
      ['header and query', api.post('/v1/indexes/ix/search?minSequence=1', search, { headers: { 'X-Min-Sequence': '1' } })],
      ['query and body', api.post('/v1/indexes/ix/search?minSequence=1', { ...search, minSequence: 1 })],
      ['not an index route', api.get('/v1/indexes?minSequence=1')],
      ['not an index route (body)', api.post('/v1/admin/tenants', { name: 'x', minSequence: 1 }, { key: keys.admin })],
      ['prototype query', api.post('/v1/indexes/ix/search?__proto__=1', search)],
    ];
    for (const [what, pending] of bad) {
      const r = await pending;
      assert.equal(r.status, 400, `${what}: ${r.status} ${JSON.stringify(r.json)}`);
      assert.equal(r.json.error.code, 'ERR_VALIDATION', what);
    }
    assert.equal((await api.get('/v1/indexes/ix')).status, 200);
  });

  it('the remote client with readYourWrites sends the last version it saw of each index', async () => {
    const sent: { path: string; min: string | null }[] = [];
    const recording: typeof fetch = (input, init) => {
      const url = new URL(String(input));
      sent.push({ path: url.pathname, min: new Headers(init?.headers).get('x-min-sequence') });
      return fetch(input, init);
    };
    const faiss = connect({ url: s.url, apiKey: keys.write, readYourWrites: true, fetch: recording });
    const index = faiss.indexFactory(D, 'Flat', METRIC_L2, { name: 'ryw' });
    await index.add(new Float32Array(rows(2, 0).flat()));
    await index.search(new Float32Array(rows(1, 0).flat()), 1);
    await index.add(new Float32Array(rows(2, 5).flat()));
    await index.search(new Float32Array(rows(1, 0).flat()), 1);
    const searches = sent.filter((x) => x.path === '/v1/indexes/ryw/search');
    assert.equal(searches.length, 2);
    assert.ok(Number(searches[0].min) >= 1, JSON.stringify(sent));
    assert.ok(Number(searches[1].min) > Number(searches[0].min), JSON.stringify(sent));
    // Another index's version is its own: nothing seen of it, nothing sent.
    const other = faiss.indexFactory(D, 'Flat', METRIC_L2, { name: 'other' });
    await other.add(new Float32Array(rows(1, 0).flat()));
    assert.equal(sent.filter((x) => x.path === '/v1/indexes/other').map((x) => x.min)[0] ?? null, null);
    // Without the option, nothing is sent.
    const plain: string[] = [];
    const plainFetch: typeof fetch = (input, init) => {
      const m = new Headers(init?.headers).get('x-min-sequence');
      if (m !== null) plain.push(m);
      return fetch(input, init);
    };
    const again = connect({ url: s.url, apiKey: keys.write, fetch: plainFetch }).indexFactory(D, 'Flat', METRIC_L2, { name: 'plain' });
    await again.add(new Float32Array(rows(1, 0).flat()));
    await again.search(new Float32Array(rows(1, 0).flat()), 1);
    assert.deepEqual(plain, []);
    // A deleted index starts again: its old version is not sent to the new one of that name.
    await index.drop();
    const reborn = faiss.indexFactory(D, 'Flat', METRIC_L2, { name: 'ryw' });
    await reborn.add(new Float32Array(rows(1, 0).flat()));
    const last = sent.filter((x) => x.path === '/v1/indexes/ryw/add').at(-1)!;
    assert.equal(last.min, null);
  });
});

// The remote client's collections against a real server: what only the remote
// side has (the contract every implementation shares is run on it by
// collections-contract.test.ts). Writes whose answer is lost are retried with
// their Idempotency-Key and applied once; creates and deletes retried after their
// first attempt went through do not fail on their own effect; a flat Float32Array
// is split by the collection's dimension, also after an alias moved to a
// collection of another dimension.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import { connect } from '../../lib/client';
import { FaissError } from '../../lib/errors';
import { makeTenant, startServer, type ServerProcess } from '../support/server';

/** A fetch that performs the request but loses its answer, as a dropped connection would: the first request to each method and URL `lose` picks, `times` in all. */
function losingFetch(lose: (method: string, url: string) => boolean, times = 1) {
  const lost: string[] = [];
  const f: typeof fetch = async (input, init) => {
    const res = await fetch(input, init);
    const method = init?.method ?? 'GET';
    if (lost.length < times && !lost.includes(`${method} ${String(input)}`) && lose(method, String(input))) {
      await res.arrayBuffer();
      lost.push(`${method} ${String(input)}`);
      throw new TypeError('fetch failed (answer lost by the test)');
    }
    return res;
  };
  return { fetch: f, lost };
}

describe('client: remote collections', function () {
  this.timeout(60_000);
  let s: ServerProcess;
  let key: string;

  before(async () => {
    s = await startServer();
    key = (await makeTenant(s, 'rc')).write;
  });
  after(async () => {
    await s?.stop();
    if (s) fs.rmSync(s.dataDir, { recursive: true, force: true });
  });

  it('an upsert and a delete whose answers are lost are retried with the same key and applied once', async () => {
    const { fetch: f, lost } = losingFetch((m, url) => (m === 'PUT' && url.endsWith('/points')) || url.endsWith('/points/delete'), 2);
    const db = connect({ url: s.url, apiKey: key, fetch: f, minBackoffMs: 1 });
    const c = await db.createCollection({ name: 'retried', dimension: 2 });
    assert.deepEqual(await c.upsert([{ id: 'p1', vector: [1, 2], payload: { v: 1 } }, { id: 'p2', vector: [3, 4] }]), { upserted: 2 });
    // The retry, with the first attempt's key, answers what the first attempt did: a new key would find p1 gone and answer 0.
    assert.deepEqual(await c.delete(['p1']), { deleted: 1 });
    assert.equal(lost.length, 2);
    assert.deepEqual((await c.get(['p1', 'p2'])).map((p) => p.id), ['p2']);
  });

  it('a create and a delete whose answers are lost succeed on retry; without a retry the same errors stand', async () => {
    const { fetch: f, lost } = losingFetch((m, url) => (m === 'POST' || m === 'DELETE') && /\/v1\/(collections|aliases)(\/[^/]+)?$/.test(url), 4);
    const db = connect({ url: s.url, apiKey: key, fetch: f, minBackoffMs: 1 });
    await db.createCollection({ name: 'once', dimension: 2, metric: 'ip' });
    await db.createAlias('once-alias', 'once');
    await db.deleteAlias('once-alias');
    await db.deleteCollection('once');
    assert.equal(lost.length, 4);
    const plain = connect({ url: s.url, apiKey: key });
    await plain.createCollection({ name: 'twice', dimension: 2 });
    await assert.rejects(plain.createCollection({ name: 'twice', dimension: 2 }), (e: FaissError) => e instanceof FaissError && e.code === 'ERR_COLLECTION_EXISTS');
    await assert.rejects(plain.deleteCollection('once'), (e: FaissError) => e.code === 'ERR_COLLECTION_NOT_FOUND');
    await assert.rejects(plain.deleteAlias('once-alias'), (e: FaissError) => e.code === 'ERR_ALIAS_NOT_FOUND');
  });

  it('vectors come back as Float32Arrays; a flat Float32Array batch follows an alias to another dimension', async () => {
    const db = connect({ url: s.url, apiKey: key });
    const two = await db.createCollection({ name: 'two', dimension: 2 });
    const three = await db.createCollection({ name: 'three', dimension: 3 });
    await two.upsert([{ id: 'a', vector: new Float32Array([0.5, 0]) }, { id: 'b', vector: [4, 0] }]);
    await three.upsert([{ id: 'c', vector: [0, 0, 1] }, { id: 'd', vector: [0, 0, 9] }]);
    const [a] = await two.get(['a'], { withVector: true });
    assert.ok(a.vector instanceof Float32Array);
    assert.deepEqual(a.vector, new Float32Array([0.5, 0]));
    await db.createAlias('moving', 'two');
    const live = db.collection('moving');
    const first = await live.searchBatch(new Float32Array([0, 0, 5, 0]), 1, { withVector: true });
    assert.deepEqual(first.map((hits) => hits[0].id), ['a', 'b']);
    assert.ok(first[1][0].vector instanceof Float32Array);
    await db.switchAlias('moving', 'three');
    // Six floats: three rows of 2 by the dimension this handle knew, which the server refuses; two rows of 3 after it asks again.
    const moved = await live.searchBatch(new Float32Array([0, 0, 0, 0, 0, 10]), 1);
    assert.deepEqual(moved.map((hits) => hits[0].id), ['c', 'd']);
    await assert.rejects(live.searchBatch(new Float32Array([0, 0, 0, 0]), 1), (e: FaissError) => e.code === 'ERR_DIMENSION');
  });

  it("the server's error codes come back as the same FaissError codes", async () => {
    const db = connect({ url: s.url, apiKey: key });
    await assert.rejects(db.collection('missing').info(), (e: FaissError) => e instanceof FaissError && e.code === 'ERR_COLLECTION_NOT_FOUND');
    await db.createCollection({ name: 'errs', dimension: 2 });
    await assert.rejects(db.collection('errs').search([0, 0], 1, { filter: { must: [{ key: 'a', match: { regex: 'x' } }] } as never }), (e: FaissError) => e.code === 'ERR_INVALID_FILTER');
    await assert.rejects(db.collection('errs').upsert([{ id: 'x', vector: [0, 0], payload: { t: 'x'.repeat(70_000) } }]), (e: FaissError) => e.code === 'ERR_PAYLOAD_TOO_LARGE');
    await assert.rejects(db.createAlias('errs', 'errs'), (e: FaissError) => e.code === 'ERR_ALIAS_EXISTS');
    await assert.rejects(db.switchAlias('nope', 'errs'), (e: FaissError) => e.code === 'ERR_ALIAS_NOT_FOUND');
  });
});

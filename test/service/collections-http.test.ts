// /v1/collections and /v1/aliases, black-box over HTTP against a real server
// process: what a user of the raw protocol sees (JSON number arrays for vectors,
// Qdrant's filters, the Idempotency-Key, roles and tenants as for indexes).
// Bad input of every kind is in bad-input.test.ts.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import { client, makeTenant, startServer, type ServerProcess } from '../support/server';

const d = 4;
const C = (name: string, op?: string): string => `/v1/collections/${name}${op ? `/${op}` : ''}`;
/** Point i: vector [i, 0, 0, 0], payload { n: i, tag: even|odd }. */
const point = (i: number) => ({ id: `p${i}`, vector: [i, 0, 0, 0], payload: { n: i, tag: i % 2 === 0 ? 'even' : 'odd' } });

describe('service: collection routes', function () {
  this.timeout(60_000);
  let s: ServerProcess;
  let api: ReturnType<typeof client>;
  let reader: ReturnType<typeof client>;
  let other: ReturnType<typeof client>;

  before(async () => {
    s = await startServer();
    const keys = await makeTenant(s, 'colls');
    api = client(s.url, keys.write);
    reader = client(s.url, keys.read);
    other = client(s.url, (await makeTenant(s, 'others')).write);
  });
  after(async () => {
    await s?.stop();
    if (s) fs.rmSync(s.dataDir, { recursive: true, force: true });
  });

  it('creates, upserts, gets (vectors as JSON arrays), searches with a filter, counts and scrolls', async () => {
    const created = await api.post('/v1/collections', { name: 'docs', dimension: d, payloadIndexes: { tag: 'keyword' } });
    assert.equal(created.status, 201, JSON.stringify(created.json));
    assert.deepEqual(created.json, { name: 'docs', dimension: d, factory: 'Flat', metric: 'l2', count: 0, isTrained: true, payloadIndexes: { tag: 'keyword' } });
    const up = await api.put(C('docs', 'points'), { json: { points: Array.from({ length: 10 }, (_, i) => point(i)) } });
    assert.equal(up.status, 200, JSON.stringify(up.json));
    assert.deepEqual(up.json, { upserted: 10 });

    const got = await reader.post(C('docs', 'points/get'), { ids: ['p3', 'nope', 'p1'], withVector: true });
    assert.deepEqual(got.json, { points: [{ id: 'p3', payload: { n: 3, tag: 'odd' }, vector: [3, 0, 0, 0] }, { id: 'p1', payload: { n: 1, tag: 'odd' }, vector: [1, 0, 0, 0] }] });

    const hits = await reader.post(C('docs', 'search'), { vector: [4.2, 0, 0, 0], k: 3, filter: { must: [{ key: 'tag', match: { value: 'odd' } }] } });
    assert.equal(hits.status, 200, JSON.stringify(hits.json));
    assert.deepEqual(hits.json.hits.map((h: { id: string }) => h.id), ['p5', 'p3', 'p7']);
    assert.deepEqual(hits.json.hits[0].payload, { n: 5, tag: 'odd' });
    assert.ok(Math.abs(hits.json.hits[0].score - 0.64) < 1e-5);

    const batch = await reader.post(C('docs', 'search'), { vectors: [[0, 0, 0, 0], [9, 0, 0, 0]], k: 2, withPayload: false, filter: { must: [{ key: 'n', range: { gte: 2, lt: 8 } }] } });
    assert.deepEqual(
      batch.json.results.map((hits: { id: string; payload?: unknown }[]) => hits.map((h) => [h.id, 'payload' in h])),
      [[['p2', false], ['p3', false]], [['p7', false], ['p6', false]]],
    );

    assert.deepEqual((await reader.post(C('docs', 'points/count'), {})).json, { count: 10 });
    assert.deepEqual((await reader.post(C('docs', 'points/count'), { filter: { must_not: [{ key: 'tag', match: { value: 'odd' } }] } })).json, { count: 5 });

    const seen: string[] = [];
    let offset: string | null = null;
    do {
      const page: { json: { points: { id: string }[]; nextOffset: string | null } } = await reader.post(C('docs', 'points/scroll'), { limit: 3, withPayload: false, ...(offset ? { offset } : {}) });
      seen.push(...page.json.points.map((p) => p.id));
      offset = page.json.nextOffset;
    } while (offset !== null);
    assert.deepEqual(seen, Array.from({ length: 10 }, (_, i) => `p${i}`).sort());
  });

  it('upsert replaces a point; delete by ids and by filter; GET and list describe the collection', async () => {
    await api.post('/v1/collections', { name: 'edit', dimension: d });
    await api.put(C('edit', 'points'), { json: { points: [point(1), point(2), point(3)] } });
    await api.put(C('edit', 'points'), { json: { points: [{ id: 'p1', vector: [0, 0, 0, 9], payload: null }] } });
    assert.deepEqual((await api.post(C('edit', 'points/get'), { ids: ['p1'], withVector: true })).json.points, [{ id: 'p1', payload: null, vector: [0, 0, 0, 9] }]);
    assert.deepEqual((await api.post(C('edit', 'points/delete'), { ids: ['p2', 'gone'] })).json, { deleted: 1 });
    assert.deepEqual((await api.post(C('edit', 'points/delete'), { filter: { must: [{ key: 'n', match: { value: 3 } }] } })).json, { deleted: 1 });
    assert.equal((await api.get(C('edit'))).json.count, 1);
    const listed = (await reader.get('/v1/collections')).json.collections.map((c: { name: string; count: number }) => [c.name, c.count]);
    assert.deepEqual(listed, [['docs', 10], ['edit', 1]]);
  });

  it('payload indexes are declared and dropped by PUT and DELETE', async () => {
    await api.post('/v1/collections', { name: 'pidx', dimension: d });
    assert.equal((await api.put(C('pidx', 'payload-indexes/meta.when'), { json: { type: 'datetime' } })).status, 200);
    assert.deepEqual((await api.get(C('pidx'))).json.payloadIndexes, { 'meta.when': 'datetime' });
    assert.equal((await api.del(C('pidx', 'payload-indexes/meta.when'))).status, 200);
    assert.deepEqual((await api.get(C('pidx'))).json.payloadIndexes, {});
  });

  it('aliases: create, resolve in every route, switch atomically, list, delete; a collection with aliases is not deleted', async () => {
    await api.post('/v1/collections', { name: 'blue', dimension: d });
    await api.post('/v1/collections', { name: 'green', dimension: d });
    await api.put(C('blue', 'points'), { json: { points: [point(1)] } });
    await api.put(C('green', 'points'), { json: { points: [point(2), point(3)] } });
    const made = await api.post('/v1/aliases', { alias: 'live', collection: 'blue' });
    assert.equal(made.status, 201);
    assert.deepEqual(made.json, { alias: 'live', collection: 'blue' });
    assert.equal((await reader.get(C('live'))).json.name, 'blue');
    assert.deepEqual((await reader.post(C('live', 'points/count'), {})).json, { count: 1 });
    assert.deepEqual((await api.put('/v1/aliases/live', { json: { collection: 'green' } })).json, { alias: 'live', collection: 'green' });
    assert.deepEqual((await reader.post(C('live', 'search'), { vector: [3, 0, 0, 0], k: 1 })).json.hits.map((h: { id: string }) => h.id), ['p3']);
    assert.deepEqual((await reader.get('/v1/aliases')).json, { aliases: [{ alias: 'live', collection: 'green' }] });
    const refused = await api.del(C('green'));
    assert.equal(refused.status, 400);
    assert.equal(refused.json.error.code, 'ERR_INVALID_ARGUMENT');
    assert.match(refused.json.error.message, /live/);
    assert.equal((await api.del('/v1/aliases/live')).status, 204);
    assert.equal((await api.del(C('green'))).status, 204);
    assert.equal((await reader.get(C('green'))).json.error.code, 'ERR_COLLECTION_NOT_FOUND');
  });

  it('an upsert retried with its Idempotency-Key is applied once; the key with another body is refused', async () => {
    await api.post('/v1/collections', { name: 'idem', dimension: d });
    const headers = { 'Idempotency-Key': 'upsert-1' };
    const first = await api.put(C('idem', 'points'), { json: { points: [point(1)] }, headers });
    const again = await api.put(C('idem', 'points'), { json: { points: [point(1)] }, headers });
    assert.deepEqual(again.json, first.json);
    const other_ = await api.put(C('idem', 'points'), { json: { points: [point(2)] }, headers });
    assert.equal(other_.status, 422);
    assert.equal(other_.json.error.code, 'ERR_IDEMPOTENCY_MISMATCH');
    assert.equal((await api.get(C('idem'))).json.count, 1);
  });

  it('roles and tenants as for indexes: a read key cannot write, another tenant sees nothing', async () => {
    const r = await reader.put(C('docs', 'points'), { json: { points: [point(99)] } });
    assert.equal(r.status, 403);
    assert.equal(r.json.error.code, 'ERR_FORBIDDEN');
    assert.equal((await reader.post('/v1/aliases', { alias: 'x', collection: 'docs' })).json.error.code, 'ERR_FORBIDDEN');
    assert.equal((await other.get(C('docs'))).json.error.code, 'ERR_COLLECTION_NOT_FOUND');
    assert.deepEqual((await other.get('/v1/collections')).json, { collections: [] });
    assert.equal((await other.post('/v1/aliases', { alias: 'mine', collection: 'docs' })).json.error.code, 'ERR_COLLECTION_NOT_FOUND');
    assert.equal((await client(s.url).get('/v1/collections')).status, 401);
  });
});

describe('service: collection answers and --max-request-memory', function () {
  this.timeout(60_000);
  let s: ServerProcess;

  before(async () => {
    s = await startServer({ args: ['--max-request-memory', String(8 * 2 ** 20)] });
  });
  after(async () => {
    await s?.stop();
    if (s) fs.rmSync(s.dataDir, { recursive: true, force: true });
  });

  it('a read whose JSON answer (payloads included) would pass it is 422 ERR_RESOURCE_LIMIT; the same read without payloads answers', async () => {
    const api = client(s.url, (await makeTenant(s, 'big')).write);
    await api.post('/v1/collections', { name: 'fat', dimension: d });
    // 160 points with payloads of 60,000 bytes: 9.6 MB of payloads (FAISS's own buffers need a few MiB of the 8), in batches of 3 MB.
    for (let b = 0; b < 160; b += 50) {
      const points = Array.from({ length: Math.min(50, 160 - b) }, (_, j) => ({ ...point(b + j), payload: { text: 'x'.repeat(60_000) } }));
      assert.equal((await api.put(C('fat', 'points'), { json: { points } })).status, 200);
    }
    const ids = Array.from({ length: 160 }, (_, i) => `p${i}`);
    const refused = [
      await api.post(C('fat', 'search'), { vector: [0, 0, 0, 0], k: 160 }),
      await api.post(C('fat', 'points/get'), { ids }),
      await api.post(C('fat', 'points/scroll'), { limit: 160 }),
    ];
    for (const r of refused) {
      assert.equal(r.status, 422, JSON.stringify(r.json).slice(0, 300));
      assert.equal(r.json.error.code, 'ERR_RESOURCE_LIMIT');
      assert.match(r.json.error.message, /--max-request-memory/);
    }
    assert.equal((await api.post(C('fat', 'search'), { vector: [0, 0, 0, 0], k: 160, withPayload: false })).json.hits.length, 160);
    assert.equal((await api.post(C('fat', 'points/get'), { ids, withPayload: false })).json.points.length, 160);
    assert.equal((await api.post(C('fat', 'search'), { vector: [0, 0, 0, 0], k: 8 })).json.hits.length, 8);
  });
});

// What the service builds to answer a read (a JSON answer, a reconstruct's rows)
// is held to the per-request memory budget, --max-request-memory, as FAISS's own
// allocations are: over it, 422 ERR_RESOURCE_LIMIT naming the flag, before the
// search runs (k x nq) or before the answer is built (range search,
// reconstruct); never a 500, never gigabytes. Within it, answers are unchanged.
import { strict as assert } from 'node:assert';
import { randomVectors } from '../../support/data';
import { call, client, startServer, type Reply, type ServerProcess } from '../../support/server';

const d = 4;
const bytesOf = (x: Float32Array): Uint8Array => new Uint8Array(x.buffer, x.byteOffset, x.byteLength);
const rowsOf = (x: Float32Array, dim = d): number[][] => Array.from({ length: x.length / dim }, (_, i) => Array.from(x.subarray(i * dim, (i + 1) * dim)));

function assertOverBudget(r: Reply, limit: string): void {
  assert.equal(r.status, 422, `${r.status} ${r.bytes.toString('utf8').slice(0, 300)}`);
  assert.equal(r.json.error.code, 'ERR_RESOURCE_LIMIT');
  assert.match(r.json.error.message, /--max-request-memory/);
  assert.ok(r.json.error.message.includes(limit), r.json.error.message);
}

describe('service: what an answer takes is held to the per-request memory budget', function () {
  this.timeout(60_000);
  let s: ServerProcess;
  let small: ServerProcess;
  before(async () => {
    [s, small] = await Promise.all([startServer(), startServer({ args: ['--max-request-memory', String(16 * 2 ** 20)] })]);
    for (const server of [s, small]) {
      const c = client(server.url, server.adminKey);
      assert.equal((await c.post('/v1/indexes', { name: 'v', dimension: d, type: 'IndexFlatL2' })).status, 201);
      assert.equal((await call(server.url, 'POST', '/v1/indexes/v/add', { key: server.adminKey, body: bytesOf(randomVectors(200, d)) })).status, 200);
    }
  });
  after(async () => {
    await Promise.all([s?.stop(), small?.stop()]);
  });

  const searchBinary = (server: ServerProcess, nq: number, k: number, accept: string) =>
    call(server.url, 'POST', `/v1/indexes/v/search?k=${k}`, { key: server.adminKey, body: bytesOf(randomVectors(nq, d, 7)), headers: { Accept: accept } });

  it('k = 10,000 with 3,000 query rows, answered in JSON: 422 before searching, the server unharmed', async () => {
    assertOverBudget(await searchBinary(s, 3000, 10_000, 'application/json'), '256.0 MiB');
    // The Express route (an Accept that needs negotiating) checks the same.
    assertOverBudget(await searchBinary(s, 3000, 10_000, 'application/json, application/octet-stream;q=0.5'), '256.0 MiB');
    const json = await client(s.url, s.adminKey).post('/v1/indexes/v/search', { vectors: Array.from({ length: 3000 }, () => [0, 0, 0, 0]), k: 10_000 });
    assertOverBudget(json, '256.0 MiB');
    // In binary the answer is FAISS's results themselves, which the library holds to the same budget.
    assert.equal((await searchBinary(s, 3000, 10_000, 'application/octet-stream')).json.error.code, 'ERR_RESOURCE_LIMIT');
    assert.equal((await client(s.url).get('/healthz')).status, 200);
  });

  it('within the budget the same queries are answered', async () => {
    const r = await searchBinary(s, 3000, 10, 'application/octet-stream');
    assert.equal(r.status, 200);
    assert.equal(r.bytes.length, 3000 * 10 * 12);
    const j = await searchBinary(s, 3000, 10, 'application/json');
    assert.equal(j.status, 200);
    assert.equal(j.json.labels.length, 3000);
  });

  it('the JSON encoding counts: refused in JSON where the binary answer fits', async () => {
    // 4,000 queries x k 99 = 396,000 results: 4.8 MB in binary, about 19 MB in JSON, against 16 MiB
    // (k under 100: from 100 on, FAISS's flat search also keeps reservoirs of 2k results a query).
    assert.equal((await searchBinary(small, 4000, 99, 'application/octet-stream')).status, 200);
    assertOverBudget(await searchBinary(small, 4000, 99, 'application/json'), '16.0 MiB');
  });

  it('range search: a JSON answer is refused once its results are counted, before it is built', async () => {
    const c = client(small.url, small.adminKey);
    // 2,000 queries x 200 vectors within the radius: 400,000 results, about 19 MB in JSON (4.8 MB in binary).
    const queries = randomVectors(2000, d, 9);
    assert.equal((await call(small.url, 'POST', '/v1/indexes/v/range_search?radius=1e30', { key: small.adminKey, body: bytesOf(queries), headers: { Accept: 'application/octet-stream' } })).status, 200);
    assertOverBudget(await c.post('/v1/indexes/v/range_search', { vectors: rowsOf(queries), radius: 1e30 }), '16.0 MiB');
    assert.equal((await c.post('/v1/indexes/v/range_search', { vectors: [[0, 0, 0, 0]], radius: 1e30 })).status, 200);
  });

  it('reconstruct: refused by ids x dimension before any vector is read', async () => {
    const c = client(small.url, small.adminKey);
    assert.equal((await c.post('/v1/indexes', { name: 'wide', dimension: 128, type: 'IndexFlatL2' })).status, 201);
    assert.equal((await c.post('/v1/indexes/wide/add', { vectors: rowsOf(randomVectors(2, 128), 128) })).status, 200);
    // 10,000 ids x 128 components: about 31 MB in JSON (the ids need not exist: nothing is read).
    assertOverBudget(await c.post('/v1/indexes/wide/reconstruct', { ids: Array.from({ length: 10_000 }, (_, i) => i) }), '16.0 MiB');
    assert.equal((await c.post('/v1/indexes/wide/reconstruct', { ids: [0, 1] })).status, 200);
  });
});

// A read whose answer would pass --max-answer-bytes is refused with 422
// ERR_ANSWER_TOO_LARGE naming the limit, before the search runs (k x nq) or
// before the answer is built (range search, reconstruct): never a 500, never
// gigabytes. Answers within the limit are unchanged.
import { strict as assert } from 'node:assert';
import { randomVectors } from '../support/data';
import { call, client, startServer, type Reply, type ServerProcess } from '../support/server';

const d = 4;
const bytesOf = (x: Float32Array): Uint8Array => new Uint8Array(x.buffer, x.byteOffset, x.byteLength);
const rowsOf = (x: Float32Array): number[][] => Array.from({ length: x.length / d }, (_, i) => Array.from(x.subarray(i * d, (i + 1) * d)));

function assertTooLarge(r: Reply): void {
  assert.equal(r.status, 422, `${r.status} ${r.bytes.toString('utf8').slice(0, 300)}`);
  assert.equal(r.json.error.code, 'ERR_ANSWER_TOO_LARGE');
  assert.match(r.json.error.message, /--max-answer-bytes/);
}

describe('service: the size of an answer is bounded before the work', function () {
  this.timeout(60_000);
  let s: ServerProcess;
  let small: ServerProcess;
  before(async () => {
    [s, small] = await Promise.all([startServer(), startServer({ args: ['--max-answer-bytes', '4096'] })]);
    for (const server of [s, small]) {
      const c = client(server.url, server.adminKey);
      assert.equal((await c.post('/v1/indexes', { name: 'v', dimension: d, type: 'IndexFlatL2' })).status, 201);
      const added = await call(server.url, 'POST', '/v1/indexes/v/add', { key: server.adminKey, body: bytesOf(randomVectors(200, d)) });
      assert.equal(added.status, 200);
    }
  });
  after(async () => {
    await Promise.all([s?.stop(), small?.stop()]);
  });

  const searchBinary = (server: ServerProcess, nq: number, k: number, accept: string) =>
    call(server.url, 'POST', `/v1/indexes/v/search?k=${k}`, { key: server.adminKey, body: bytesOf(randomVectors(nq, d, 7)), headers: { Accept: accept } });

  it('k = 10,000 with 3,000 binary query rows: 422 for a binary answer and for a JSON one, the server unharmed', async () => {
    assertTooLarge(await searchBinary(s, 3000, 10_000, 'application/octet-stream'));
    assertTooLarge(await searchBinary(s, 3000, 10_000, 'application/json'));
    // The Express route (an Accept that needs negotiating) checks the same.
    assertTooLarge(await searchBinary(s, 3000, 10_000, 'application/json, application/octet-stream;q=0.5'));
    const json = await client(s.url, s.adminKey).post('/v1/indexes/v/search', { vectors: Array.from({ length: 3000 }, () => [0, 0, 0, 0]), k: 10_000 });
    assertTooLarge(json);
    assert.equal((await client(s.url).get('/healthz')).status, 200);
  });

  it('within the limit the same queries are answered', async () => {
    const r = await searchBinary(s, 3000, 10, 'application/octet-stream');
    assert.equal(r.status, 200);
    assert.equal(r.bytes.length, 3000 * 10 * 12);
    const j = await searchBinary(s, 3000, 10, 'application/json');
    assert.equal(j.status, 200);
    assert.equal(j.json.labels.length, 3000);
  });

  it('the bound counts the answer format: JSON is refused where binary still fits', async () => {
    // 60 queries x k 5 = 300 results: 3,600 bytes in binary, about 14 KB in JSON.
    assert.equal((await searchBinary(small, 60, 5, 'application/octet-stream')).status, 200);
    assertTooLarge(await searchBinary(small, 60, 5, 'application/json'));
  });

  it('range search: refused once its results are counted, before the answer is built', async () => {
    const c = client(small.url, small.adminKey);
    assertTooLarge(await c.post('/v1/indexes/v/range_search', { vectors: rowsOf(randomVectors(20, d, 9)), radius: 1e30 }));
    const one = await c.post('/v1/indexes/v/range_search', { vectors: [[0, 0, 0, 0]], radius: 1e-12 });
    assert.equal(one.status, 200);
  });

  it('reconstruct: refused by ids x dimension before any vector is read', async () => {
    const c = client(small.url, small.adminKey);
    assertTooLarge(await c.post('/v1/indexes/v/reconstruct', { ids: Array.from({ length: 200 }, (_, i) => i) }));
    assert.equal((await c.post('/v1/indexes/v/reconstruct', { ids: [0, 1] })).status, 200);
  });
});

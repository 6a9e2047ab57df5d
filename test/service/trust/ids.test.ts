// Ids are exact on every path: an int64 that a JSON number cannot hold travels
// in JSON as its decimal string (answers and requests), numbers stay numbers
// below 2^53, and -1 (FAISS's "no result" label) is refused as an id to add,
// in the embedded API, the remote client and over HTTP.
import { strict as assert } from 'node:assert';
import * as faiss from '../../../lib';
import { connect } from '../../../lib/client';
import { call, client, startServer, type ServerProcess } from '../../support/server';

const d = 2;
const MAX = 2n ** 63n - 1n;
const BIG = 2n ** 53n + 1n;

/** A binary add-with-ids body: the rows, then one int64 id per row. */
function rowsWithIds(rows: number[][], ids: bigint[]): Uint8Array {
  const x = Float32Array.from(rows.flat());
  const out = new Uint8Array(x.byteLength + ids.length * 8);
  out.set(new Uint8Array(x.buffer), 0);
  out.set(new Uint8Array(BigInt64Array.from(ids).buffer), x.byteLength);
  return out;
}

describe('service: ids are exact, and -1 is not an id', function () {
  this.timeout(60_000);
  let s: ServerProcess;
  let c: ReturnType<typeof client>;
  before(async () => {
    s = await startServer();
    c = client(s.url, s.adminKey);
    assert.equal((await c.post('/v1/indexes', { name: 'ids', dimension: d, type: 'IndexFlatL2', params: { idMap: true } })).status, 201);
    const added = await call(s.url, 'POST', '/v1/indexes/ids/add?ids=true', {
      key: s.adminKey,
      body: rowsWithIds([[0, 0], [1, 0], [2, 0], [3, 0]], [MAX, BIG, -5n, 7n]),
    });
    assert.equal(added.status, 200, JSON.stringify(added.json));
  });
  after(async () => {
    await s?.stop();
  });

  it('JSON search and range_search answer ids beyond 2^53 as exact decimal strings, the others as numbers', async () => {
    const r = await c.post('/v1/indexes/ids/search', { vectors: [[0, 0]], k: 4 });
    assert.deepEqual(r.json.labels, [[MAX.toString(), BIG.toString(), -5, 7]]);
    assert.ok(r.bytes.toString('utf8').includes(`"${MAX}"`));
    const range = await c.post('/v1/indexes/ids/range_search', { vectors: [[0, 0]], radius: 2.5 });
    assert.deepEqual(range.json.results[0].labels, [MAX.toString(), BIG.toString()]);
  });

  it('JSON requests take such ids as decimal strings: reconstruct reaches the exact id', async () => {
    const r = await c.post('/v1/indexes/ids/reconstruct', { ids: [MAX.toString(), -5] });
    assert.deepEqual(r.json.vectors, [[0, 0], [2, 0]]);
    // 2^53 + 1 as a number would be 2^53: refused by the schema rather than rounded.
    assert.equal((await c.post('/v1/indexes/ids/reconstruct', { ids: [2 ** 53 + 2] })).status, 400);
    assert.equal((await c.post('/v1/indexes/ids/reconstruct', { ids: ['9223372036854775808'] })).json.error.code, 'ERR_VALIDATION');
    assert.equal((await c.post('/v1/indexes/ids/reconstruct', { ids: ['12a'] })).json.error.code, 'ERR_VALIDATION');
  });

  it('-1 is refused as an id to add, JSON or binary, and nothing is added', async () => {
    await c.post('/v1/indexes', { name: 'neg', dimension: d, type: 'IndexFlatL2', params: { idMap: true } });
    const json = await c.post('/v1/indexes/neg/add', { vectors: [[1, 1], [2, 2]], ids: [3, -1] });
    assert.equal(json.status, 400, JSON.stringify(json.json));
    assert.equal(json.json.error.code, 'ERR_INVALID_ARGUMENT');
    const binary = await call(s.url, 'POST', '/v1/indexes/neg/add?ids=true', { key: s.adminKey, body: rowsWithIds([[1, 1]], [-1n]) });
    assert.equal(binary.status, 400);
    assert.equal(binary.json.error.code, 'ERR_INVALID_ARGUMENT');
    assert.equal((await c.get('/v1/indexes/neg')).json.ntotal, 0);
    // The JSON add and remove take an id beyond 2^53 as a string too.
    assert.equal((await c.post('/v1/indexes/neg/add', { vectors: [[1, 1]], ids: [MAX.toString()] })).status, 200);
    assert.deepEqual((await c.post('/v1/indexes/neg/remove', { ids: [(MAX - 1n).toString(), MAX.toString()] })).json, { removed: 1, ntotal: 0 });
  });

  it('embedded API: addWithIds refuses -1 with ERR_INVALID_ARGUMENT and adds nothing', async () => {
    const index = new faiss.IndexIDMap2(new faiss.IndexFlatL2(d));
    try {
      await assert.rejects(index.addWithIds([[1, 1], [2, 2]], [4, -1]), { code: 'ERR_INVALID_ARGUMENT' });
      await assert.rejects(index.addWithIds(Float32Array.of(1, 1), BigInt64Array.of(-1n)), { code: 'ERR_INVALID_ARGUMENT' });
      assert.equal(index.ntotal, 0);
      await index.addWithIds([[1, 1]], [-2]); // other negative ids are ids
      assert.deepEqual([...(await index.search([[1, 1]], 1)).labels], [-2n]);
    } finally {
      index.dispose();
    }
  });

  it('remote client: reconstruct of an id beyond 2^53 is exact, and addWithIds refuses -1', async () => {
    const remote = connect({ url: s.url, apiKey: s.adminKey });
    const index = await remote.openIndex('ids');
    assert.deepEqual([...(await index.reconstruct(MAX))], [0, 0]);
    assert.deepEqual([...(await index.reconstruct(BIG))], [1, 0]);
    await assert.rejects(index.addWithIds([[9, 9]], [-1]), { code: 'ERR_INVALID_ARGUMENT' });
    const { labels } = await index.search([[0, 0]], 2);
    assert.deepEqual([...labels], [MAX, BIG]);
  });
});

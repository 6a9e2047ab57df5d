// lib/search-batcher.ts, which merges a GPU index's concurrent searches into one
// FAISS call, driven here by a CPU flat index (the merging and splitting are the same
// whatever answers the call): each caller gets exactly its own search's answer.
import { strict as assert } from 'node:assert';
import * as faiss from '../../lib';
import { SearchBatcher } from '../../lib/search-batcher';
import { randomVectors, row } from '../support/data';

const d = 8;

describe('SearchBatcher: concurrent searches as one call', function () {
  this.timeout(60_000);
  let index: faiss.IndexFlatL2;
  let calls: number[];
  let batcher: SearchBatcher;

  beforeEach(async () => {
    index = new faiss.IndexFlatL2(d);
    await index.add(randomVectors(500, d, 2001));
    calls = [];
    batcher = new SearchBatcher(d, (x, k) => {
      calls.push(x.length / d);
      return index.search(x, k);
    }, 16);
  });

  it('answers each caller as its own search would, in fewer calls', async () => {
    const xq = randomVectors(40, d, 2002);
    const queries = Array.from({ length: 40 }, (_, i) => (i % 3 === 0 ? xq.subarray(i * d, Math.min(40, i + 2) * d) : row(xq, d, i)));
    const answers = await Promise.all(queries.map((q) => batcher.search(q, 5)));
    for (const [i, q] of queries.entries()) {
      const alone = await index.search(q, 5);
      assert.deepEqual(answers[i].labels, alone.labels, `query ${i}`);
      assert.deepEqual(answers[i].distances, alone.distances, `query ${i}`);
      assert.equal(answers[i].labels.buffer.byteLength, alone.labels.byteLength, 'each answer has a buffer of its own');
    }
    assert.equal(calls[0], 2, 'the first search starts alone, at once');
    assert.ok(calls.length < 40, `${calls.length} calls for 40 searches`);
    assert.ok(calls.every((n) => n <= 16), `at most maxQueries (16) rows a call: ${calls.join(', ')}`);
  });

  it('searches of another k go in their own call', async () => {
    const xq = randomVectors(6, d, 2003);
    const ks = [1, 3, 1, 3, 7, 1];
    const answers = await Promise.all(ks.map((k, i) => batcher.search(row(xq, d, i), k)));
    for (const [i, k] of ks.entries()) {
      assert.equal(answers[i].labels.length, k);
      assert.deepEqual(answers[i].labels, (await index.search(row(xq, d, i), k)).labels);
    }
  });

  it("one caller's bad rows fail its search only; the others are answered", async () => {
    const good = randomVectors(5, d, 2004);
    const bad = new Float32Array(d).fill(NaN);
    const first = batcher.search(row(good, d, 0), 3);
    const rest = [batcher.search(row(good, d, 1), 3), batcher.search(bad, 3), batcher.search(row(good, d, 2), 3)];
    const settled = await Promise.allSettled([first, ...rest]);
    assert.equal(settled[0].status, 'fulfilled');
    assert.equal(settled[1].status, 'fulfilled');
    assert.equal(settled[2].status, 'rejected');
    assert.equal(((settled[2] as PromiseRejectedResult).reason as faiss.FaissError).code, 'ERR_INVALID_ARGUMENT');
    assert.equal(settled[3].status, 'fulfilled');
    assert.deepEqual((settled[3] as PromiseFulfilledResult<faiss.SearchResult>).value.labels, (await index.search(row(good, d, 2), 3)).labels);
  });

  it('a CPU index has no device; its searches are not batched here', () => {
    assert.equal(index.device, undefined);
  });
});

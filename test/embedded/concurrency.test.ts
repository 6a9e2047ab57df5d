// Concurrent use of one index: searches share it, writes take it alone, and the
// event loop keeps running while FAISS works on the thread pool.
import { strict as assert } from 'node:assert';
import * as faiss from '../../lib';
import { randomVectors, row } from '../support/data';

const d = 16;

describe('concurrency', function () {
  this.timeout(120_000);

  it('searches and adds at once on one index: every answer is right', async () => {
    const index = new faiss.IndexIDMap2(new faiss.IndexFlatL2(d));
    const initial = randomVectors(1000, d, 31);
    await index.addWithIds(initial, BigInt64Array.from({ length: 1000 }, (_, i) => BigInt(i)));
    // Vectors whose add has been acknowledged, by id: any search started later must find them.
    const acknowledged = new Map<number, Float32Array>();
    for (let i = 0; i < 1000; i++) acknowledged.set(i, row(initial, d, i));

    const batches = 30;
    const adds = Array.from({ length: batches }, async (_, b) => {
      const x = randomVectors(100, d, 1000 + b);
      const ids = BigInt64Array.from({ length: 100 }, (_, i) => BigInt(10_000 + b * 100 + i));
      await index.addWithIds(x, ids);
      for (let i = 0; i < 100; i++) acknowledged.set(10_000 + b * 100 + i, row(x, d, i));
    });
    let checked = 0;
    const searches = Array.from({ length: 300 }, async (_, s) => {
      const known = [...acknowledged.keys()];
      const id = known[(s * 7919) % known.length];
      const { labels, distances } = await index.search(acknowledged.get(id)!, 1);
      assert.equal(Number(labels[0]), id, `search ${s} for id ${id}`);
      assert.equal(distances[0], 0);
      checked++;
    });
    await Promise.all([...adds, ...searches]);
    assert.equal(checked, 300);
    assert.equal(index.ntotal, 1000 + batches * 100);
    for (const [id, v] of acknowledged) {
      if (id % 97 === 0) assert.deepEqual(await index.reconstruct(id), v);
    }
  });

  it('HNSW under concurrent adds and searches returns only ids that exist', async () => {
    const index = new faiss.IndexHNSWFlat(d, 8);
    await index.add(randomVectors(500, d, 41));
    const work: Promise<unknown>[] = [];
    for (let b = 0; b < 10; b++) work.push(index.add(randomVectors(200, d, 50 + b)));
    for (let s = 0; s < 100; s++) {
      work.push(
        index.search(randomVectors(4, d, 900 + s), 5).then(({ labels }) => {
          for (const l of labels) assert.ok(l >= 0n && l < 2500n, `label ${l}`);
        }),
      );
    }
    await Promise.all(work);
    assert.equal(index.ntotal, 2500);
  });

  it('the event loop keeps running while a large batch search runs', async () => {
    const index = new faiss.IndexFlatL2(64);
    await index.add(randomVectors(50_000, 64, 61));
    const queries = randomVectors(2000, 64, 62);
    let ticks = 0;
    let running = true;
    const spin = (): void => {
      ticks++;
      if (running) setImmediate(spin);
    };
    setImmediate(spin);
    const started = ticks;
    await Promise.all([index.search(queries, 10), index.search(queries, 10)]);
    running = false;
    // A search that blocked the loop would leave this at 0 or 1.
    assert.ok(ticks - started > 10, `only ${ticks - started} event-loop turns during the search`);
  });

  it('dispose() during a search: the search completes, later use is ERR_DISPOSED', async () => {
    const index = new faiss.IndexFlatL2(32);
    await index.add(randomVectors(20_000, 32, 71));
    const pending = index.search(randomVectors(200, 32, 72), 5);
    index.dispose();
    const { labels } = await pending;
    assert.equal(labels.length, 1000);
    await assert.rejects(index.search(randomVectors(1, 32, 73), 1), { code: 'ERR_DISPOSED' });
    index.dispose(); // idempotent
  });
});

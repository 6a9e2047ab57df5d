// One-query searches cheap enough to run on the JS thread skip the libuv pool
// (native/workers/search_inline.cc, lib/inline-search.ts). These tests check when
// that happens and when it must not: the answers are the pool's, bit for bit; the
// event loop still turns between searches; a burst still reaches the pool; a busy
// lock, settings larger than any timed or a grown index send the search to the pool,
// while settings timed before (several of them, alternating) or smaller ones do not.
import { strict as assert } from 'node:assert';
import * as faiss from '../../lib';
import { randomVectors, row } from '../support/data';

const d = 16;
const xb = randomVectors(2000, d, 71);
const xq = randomVectors(50, d, 72);
const query = (i: number): Float32Array => row(xq, d, i % 50);

/** How many searches ran inline and how many operations went to the pool while `work` ran. */
async function counted<T>(work: () => Promise<T>): Promise<{ inline: number; pooled: number; result: T }> {
  const before = faiss.poolStats();
  const result = await work();
  const after = faiss.poolStats();
  return { inline: after.inlineSearches - before.inlineSearches, pooled: after.tasks - before.tasks, result };
}

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

async function hnsw(): Promise<faiss.Index> {
  const index = new faiss.IndexHNSWFlat(d, 16);
  await index.add(xb);
  return index;
}

describe('inline searches', function () {
  this.timeout(60_000);
  const defaultBudget = faiss.getInlineSearchBudget();
  // These tests check when a search may run inline, not how fast it is: a budget far
  // above these searches' cost keeps a preempted search on a busy machine from
  // deciding the outcome.
  const budget = 50_000;
  beforeEach(() => faiss.setInlineSearchBudget(budget));
  afterEach(() => faiss.setInlineSearchBudget(defaultBudget));

  it('a cheap search runs inline once the index has shown what one costs, with the pool\'s exact answers', async () => {
    assert.equal(defaultBudget, 1000);
    for (const make of [hnsw, async () => {
      const flat = new faiss.IndexFlatL2(d);
      await flat.add(xb);
      return flat;
    }]) {
      const index = await make();
      // Nothing known yet: the first search goes to the pool and is timed there.
      const first = await counted(() => index.search(query(0), 5));
      assert.deepEqual([first.inline, first.pooled], [0, 1], index.typeName);

      const inline = await counted(async () => {
        const out = [];
        for (let i = 0; i < 20; i++) out.push(await index.search(query(i), 5));
        return out;
      });
      assert.deepEqual([inline.inline, inline.pooled], [20, 0], index.typeName);

      faiss.setInlineSearchBudget(0);
      const pooled = await counted(async () => {
        const out = [];
        for (let i = 0; i < 20; i++) out.push(await index.search(query(i), 5));
        return out;
      });
      faiss.setInlineSearchBudget(budget);
      assert.deepEqual([pooled.inline, pooled.pooled], [0, 20], index.typeName);
      for (let i = 0; i < 20; i++) {
        assert.deepEqual(inline.result[i].labels, pooled.result[i].labels, `${index.typeName} query ${i}`);
        assert.deepEqual(inline.result[i].distances, pooled.result[i].distances, `${index.typeName} query ${i}`);
      }
      index.dispose();
    }
  });

  it('a loop of awaited inline searches lets the event loop turn between them', async () => {
    const index = await hnsw();
    await index.search(query(0), 5);
    let turns = 0;
    let stop = false;
    const ticker = (): void => {
      turns++;
      if (!stop) setImmediate(ticker);
    };
    setImmediate(ticker);
    const run = await counted(async () => {
      for (let i = 0; i < 100; i++) await index.search(query(i), 5);
    });
    stop = true;
    assert.equal(run.inline, 100);
    // Each inline search settles on the next turn, where the ticker runs too.
    assert.ok(turns >= 99, `the event loop turned ${turns} times during 100 inline searches`);
    index.dispose();
  });

  it('a burst of searches started at once runs one inline and the rest on the pool, all correct', async () => {
    const index = await hnsw();
    await index.search(query(0), 5);
    await nextTurn();
    faiss.setInlineSearchBudget(0);
    const expected = await Promise.all(Array.from({ length: 8 }, (_, i) => index.search(query(i), 5)));
    faiss.setInlineSearchBudget(budget);
    await nextTurn();
    const burst = await counted(() => Promise.all(Array.from({ length: 8 }, (_, i) => index.search(query(i), 5))));
    assert.deepEqual([burst.inline, burst.pooled], [1, 7]);
    for (let i = 0; i < 8; i++) assert.deepEqual(burst.result[i].labels, expected[i].labels);
    index.dispose();
  });

  it('goes to the pool for settings larger than any timed, a batch, an index that has more than doubled, or a disabled budget', async () => {
    const index = await hnsw();
    await index.search(query(0), 5);
    await nextTurn();
    const otherEf = await counted(() => index.search(query(1), 5, { efSearch: 64 }));
    assert.deepEqual([otherEf.inline, otherEf.pooled], [0, 1], 'a per-call efSearch above any timed');
    // That search was timed: the same settings now run inline...
    await nextTurn();
    const sameEf = await counted(() => index.search(query(1), 5, { efSearch: 64 }));
    assert.deepEqual([sameEf.inline, sameEf.pooled], [1, 0]);
    await nextTurn();
    const batch = await counted(() => index.search(xq, 5, { efSearch: 64 }));
    assert.deepEqual([batch.inline, batch.pooled], [0, 1], 'a batch');

    const flat = new faiss.IndexFlatL2(d);
    await flat.add(xb.subarray(0, 100 * d));
    await flat.search(query(0), 5);
    await nextTurn();
    assert.equal((await counted(() => flat.search(query(0), 5))).inline, 1);
    await flat.add(xb.subarray(100 * d, 300 * d)); // 100 -> 300 vectors
    await nextTurn();
    const grown = await counted(() => flat.search(query(0), 5));
    assert.deepEqual([grown.inline, grown.pooled], [0, 1], 'a flat index three times larger than when last timed');
    assert.equal(grown.result.labels.length, 5);

    faiss.setInlineSearchBudget(0);
    await nextTurn();
    assert.deepEqual((await counted(() => flat.search(query(0), 5))).inline, 0);
    index.dispose();
    flat.dispose();
  });

  it('keeps the cost of several settings: searches alternating between them run inline, as does a smaller setting than one timed', async () => {
    const index = await hnsw();
    await index.search(query(0), 5);
    for (const efSearch of [24, 48]) {
      await nextTurn();
      const first = await counted(() => index.search(query(0), 5, { efSearch }));
      assert.deepEqual([first.inline, first.pooled], [0, 1], `efSearch ${efSearch} not timed yet`);
    }
    // Each keeps its own timing, and the JS thread sets the graph's efSearch itself while nothing holds the index.
    const ef = (i: number): number => (i % 2 === 0 ? 24 : 48);
    const alternating = await counted(async () => {
      const out = [];
      for (let i = 0; i < 20; i++) out.push(await index.search(query(i), 5, { efSearch: ef(i) }));
      return out;
    });
    assert.deepEqual([alternating.inline, alternating.pooled], [20, 0]);
    faiss.setInlineSearchBudget(0);
    for (let i = 0; i < 20; i++) {
      const pooled = await index.search(query(i), 5, { efSearch: ef(i) });
      assert.deepEqual(alternating.result[i].labels, pooled.labels, `query ${i}`);
      assert.deepEqual(alternating.result[i].distances, pooled.distances, `query ${i}`);
    }
    faiss.setInlineSearchBudget(budget);
    // A search costs no more at a smaller efSearch or nprobe than at one timed; a larger one is timed first.
    await nextTurn();
    const smaller = await counted(() => index.search(query(1), 5, { efSearch: 32 }));
    assert.deepEqual([smaller.inline, smaller.pooled], [1, 0], 'efSearch 32, below 48');
    await nextTurn();
    const larger = await counted(() => index.search(query(1), 5, { efSearch: 64 }));
    assert.deepEqual([larger.inline, larger.pooled], [0, 1], 'efSearch 64, above any timed');
    index.dispose();

    const ivf = faiss.indexFactory(d, 'IVF16,Flat');
    await ivf.train(xb);
    await ivf.add(xb);
    await ivf.search(query(0), 5, { nprobe: 8 });
    await nextTurn();
    const fewer = await counted(() => ivf.search(query(1), 5, { nprobe: 4 }));
    assert.deepEqual([fewer.inline, fewer.pooled], [1, 0], 'nprobe 4, below 8');
    await nextTurn();
    const more = await counted(() => ivf.search(query(1), 5, { nprobe: 12 }));
    assert.deepEqual([more.inline, more.pooled], [0, 1], 'nprobe 12, above any timed');
    ivf.dispose();
  });

  it('a filtered search runs inline once filtered searches have shown their cost; a short answer goes to the pool, which completes it', async () => {
    const index = await hnsw();
    // Unfiltered costs say nothing of filtered ones: the first filtered search is pooled.
    await index.search(query(0), 5);
    const half = new faiss.IDSelectorRange(0, 1000);
    const first = await counted(() => index.search(query(1), 5, { sel: half }));
    assert.deepEqual([first.inline, first.pooled], [0, 1]);
    const inline = await counted(async () => {
      const out = [];
      for (let i = 0; i < 20; i++) out.push(await index.search(query(i), 5, { sel: half }));
      return out;
    });
    assert.deepEqual([inline.inline, inline.pooled], [20, 0]);
    faiss.setInlineSearchBudget(0);
    for (let i = 0; i < 20; i++) {
      const pooled = await index.search(query(i), 5, { sel: half });
      assert.deepEqual(inline.result[i].labels, pooled.labels, `query ${i}`);
      assert.deepEqual(inline.result[i].distances, pooled.distances, `query ${i}`);
      assert.ok(Array.from(pooled.labels).every((l) => l >= 0n && l < 1000n));
    }
    faiss.setInlineSearchBudget(budget);
    // Three selected vectors, far from the queries' neighbourhoods: the walk meets few of them, the row is
    // short, and the inline attempt declines; the pooled search answers all three (short_answers.h).
    const few = new faiss.IDSelectorBatch(BigInt64Array.of(3n, 1500n, 1999n));
    const short = await counted(async () => {
      const out = [];
      for (let i = 0; i < 10; i++) out.push(await index.search(query(i), 5, { sel: few }));
      return out;
    });
    assert.equal(short.inline, 0);
    assert.equal(short.pooled, 10);
    for (const r of short.result) assert.deepEqual(Array.from(r.labels).filter((l) => l >= 0n).sort(), [1500n, 1999n, 3n].sort());
    index.dispose();
  });


  it('an exact search over a subset runs inline by the same rule: once subsets at least as large have shown their cost, with the pool\'s exact answers', async () => {
    const index = await hnsw();
    const labelsOf = (from: number, count: number, step: number): BigInt64Array => BigInt64Array.from({ length: count }, (_, i) => BigInt(from + step * i));
    const small = labelsOf(0, 100, 3);
    const large = labelsOf(1, 600, 3);
    // A k-NN search's cost says nothing of a subset search's: the first one is pooled and timed there.
    await index.search(query(0), 5);
    await nextTurn();
    const first = await counted(() => index.searchSubset(query(0), 5, large));
    assert.deepEqual([first.inline, first.pooled], [0, 1]);
    // The same size runs inline, and so does a smaller subset (it costs no more); a batch goes to the pool.
    const inline = await counted(async () => {
      const out = [];
      for (let i = 0; i < 20; i++) out.push(await index.searchSubset(query(i), 5, i % 2 === 0 ? large : small));
      return out;
    });
    assert.deepEqual([inline.inline, inline.pooled], [20, 0]);
    await nextTurn();
    const batch = await counted(() => index.searchSubset(xq, 5, small));
    assert.deepEqual([batch.inline, batch.pooled], [0, 1], 'a batch');
    // A subset more than twice as large as any timed is timed on the pool first.
    await nextTurn();
    const larger = await counted(() => index.searchSubset(query(1), 5, labelsOf(2, 1500, 1)));
    assert.deepEqual([larger.inline, larger.pooled], [0, 1], '1,500 labels, above any timed');
    faiss.setInlineSearchBudget(0);
    for (let i = 0; i < 20; i++) {
      const pooled = await index.searchSubset(query(i), 5, i % 2 === 0 ? large : small);
      assert.deepEqual(inline.result[i].labels, pooled.labels, `query ${i}`);
      assert.deepEqual(inline.result[i].distances, pooled.distances, `query ${i}`);
    }
    faiss.setInlineSearchBudget(budget);
    // Its errors are the pool's: a label with no vector, once subsets run inline.
    await nextTurn();
    await assert.rejects(index.searchSubset(query(0), 5, BigInt64Array.of(1n, 5000n)), (e: faiss.FaissError) => e.code === 'ERR_INVALID_ARGUMENT');
    index.dispose();
  });

  it('never waits for a writer: while an add holds the index, the search is queued behind it', async () => {
    const index = await hnsw();
    await index.search(query(0), 5);
    await nextTurn();
    const more = randomVectors(30_000, d, 73);
    const adding = index.add(more);
    // The add holds the exclusive lock from before its FAISS call counts as running.
    while (faiss.poolStats().running === 0) await nextTurn();
    const search = await counted(() => {
      const pending = index.search(row(more, d, 29_999), 1);
      assert.ok(faiss.poolStats().running > 0, 'search() returned while the add was still running');
      return pending;
    });
    await adding;
    assert.deepEqual([search.inline, search.pooled], [0, 1]);
    // Queued behind the add, it saw the add's vectors.
    assert.equal(search.result.distances[0], 0);
    index.dispose();
  });

  it('errors are the same as on the pool', async () => {
    const index = await hnsw();
    await index.search(query(0), 5);
    await nextTurn();
    const bad = query(1).slice();
    bad[3] = NaN;
    const stats = faiss.poolStats();
    await assert.rejects(index.search(bad, 5), { code: 'ERR_INVALID_ARGUMENT', message: /x\[3\]|NaN|finite/ });
    assert.equal(faiss.poolStats().tasks, stats.tasks, 'checked inline, not queued');
    await nextTurn();
    await assert.rejects(index.search(query(1).subarray(0, 15), 5), { code: 'ERR_DIMENSION' });
    index.dispose();
    await assert.rejects(index.search(query(1), 5), { code: 'ERR_DISPOSED' });
  });

  it('setInlineSearchBudget takes whole microseconds from 0 to 1,000,000', () => {
    for (const bad of [-1, 1.5, NaN, 1_000_001, '5' as unknown as number]) {
      assert.throws(() => faiss.setInlineSearchBudget(bad), { code: 'ERR_INVALID_ARGUMENT' }, String(bad));
    }
    faiss.setInlineSearchBudget(123);
    assert.equal(faiss.getInlineSearchBudget(), 123);
  });
});

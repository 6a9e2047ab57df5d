// The planner's over-fetch (lib/collections/planner.ts): a filter most points pass is first answered by the
// unfiltered search for 2k / share neighbours, kept when they pass. A query whose neighbourhood fails the
// filter (though most points pass it) is searched again through the evaluated filter, so it still has k
// hits, and on Flat the exact ones; the same with the filter's answer kept (warm) or estimated (cold). And
// labels as int64s up to 2^53 (sorted-labels.ts).
import { strict as assert } from 'node:assert';
import { CollectionState } from '../../lib/collections/collection-state';
import { parseFilter } from '../../lib/collections/filter';
import { OVER_FETCH_AT, OVER_FETCH_EXHAUSTIVE_AT, OVER_FETCH_IVF_EVALUATED_AT, OVER_FETCH_MAX, overFetchOf, type IndexFamily } from '../../lib/collections/planner';
import { toInt64 } from '../../lib/collections/sorted-labels';
import { randomVectors, rng } from '../support/data';

const read = { withPayload: true, withVector: false };

describe('collections planner: over-fetch for filters most points pass', () => {
  it('asks for 2k / share neighbours at OVER_FETCH_AT and above (exhaustive: OVER_FETCH_EXHAUSTIVE_AT), at most the collection and OVER_FETCH_MAX', () => {
    const at = (share: number, k = 10, total = 200_000, family: IndexFamily = 'ivf') => overFetchOf({ share, total, k, family });
    assert.equal(at(0.5), 40);
    assert.equal(at(OVER_FETCH_AT), Math.ceil(20 / OVER_FETCH_AT));
    assert.equal(at(OVER_FETCH_AT * 0.99), undefined);
    assert.equal(at(OVER_FETCH_AT, 10, 200_000, 'ivf'), Math.ceil(20 / OVER_FETCH_AT));
    assert.equal(at(OVER_FETCH_EXHAUSTIVE_AT, 10, 200_000, 'exhaustive'), Math.ceil(20 / OVER_FETCH_EXHAUSTIVE_AT));
    assert.equal(at(OVER_FETCH_EXHAUSTIVE_AT * 0.99, 10, 200_000, 'exhaustive'), undefined);
    assert.equal(at(1, 10, 15), 15);
    assert.equal(at(0.5, 10, 0), undefined);
    assert.equal(at(0.5, OVER_FETCH_MAX / 4), OVER_FETCH_MAX);
    assert.equal(at(0.5, OVER_FETCH_MAX / 4 + 1), undefined);
    assert.equal(at(1, 2000, 3000), undefined);
    // HNSW: within its efSearch, evaluated or not (beyond it, the evaluation and the selector search cost less).
    assert.equal(overFetchOf({ share: 0.5, total: 200_000, k: 10, family: 'hnsw', efSearch: 64 }), 40);
    assert.equal(overFetchOf({ share: 0.1, total: 200_000, k: 10, family: 'hnsw', efSearch: 64 }), undefined);
    assert.equal(overFetchOf({ share: 0.1, total: 200_000, k: 10, family: 'hnsw', efSearch: 64, evaluated: true }), undefined);
    assert.equal(overFetchOf({ share: 0.5, total: 200_000, k: 10, family: 'hnsw', efSearch: 64, evaluated: true }), 40);
    assert.equal(overFetchOf({ share: 0.1, total: 200_000, k: 10, family: 'hnsw', efSearch: 200 }), 200);
    assert.equal(overFetchOf({ share: 0.1, total: 200_000, k: 10, family: 'hnsw', efSearch: 199 }), undefined);
    // IVF: an evaluated filter below OVER_FETCH_IVF_EVALUATED_AT goes the selector way, one not yet evaluated over-fetches.
    assert.equal(overFetchOf({ share: 0.1, total: 200_000, k: 10, family: 'ivf', evaluated: true }), undefined);
    assert.equal(overFetchOf({ share: 0.1, total: 200_000, k: 10, family: 'ivf' }), 200);
    assert.equal(overFetchOf({ share: OVER_FETCH_IVF_EVALUATED_AT, total: 200_000, k: 10, family: 'ivf', evaluated: true }), 80);
    assert.equal(overFetchOf({ share: OVER_FETCH_IVF_EVALUATED_AT * 0.99, total: 200_000, k: 10, family: 'ivf', evaluated: true }), undefined);
    assert.equal(overFetchOf({ share: 0.5, total: 200_000, k: 16, family: 'hnsw', efSearch: 64 }), 64);
    assert.equal(overFetchOf({ share: 0.5, total: 200_000, k: 17, family: 'hnsw', efSearch: 64 }), undefined);
  });

  it('HNSW: a filter passing 10% (2k / share beyond efSearch) is evaluated at its first search, and kept at its second (searched again soon)', async () => {
    const n = 3000;
    const d = 8;
    const x = randomVectors(n, d, 31);
    const s = CollectionState.create({ name: 'c', dimension: d, factory: 'HNSW32', payloadIndexes: { b: 'integer' } });
    await s.apply({ type: 'upsert', ids: Array.from({ length: n }, (_, i) => `p${i}`), x, payloads: Array.from({ length: n }, (_, i) => ({ b: i % 10 })) });
    const indexes = (s as unknown as { payloadIndexes: { evaluate: (f: unknown) => unknown } }).payloadIndexes;
    const evaluate = indexes.evaluate.bind(indexes);
    let evaluated = 0;
    indexes.evaluate = (f: unknown) => {
      evaluated++;
      return evaluate(f);
    };
    const filter = parseFilter({ must: [{ key: 'b', match: { value: 3 } }] });
    const searches: number[] = [];
    for (let i = 0; i < 4; i++) {
      const [hits] = await s.search(x.subarray(i * d, (i + 1) * d), 1, 10, { ...read, efSearch: 64, filter });
      assert.equal(hits.length, 10);
      for (const h of hits) assert.equal((h.payload as { b: number }).b, 3);
      searches.push(evaluated);
    }
    assert.deepEqual(searches, [1, 2, 2, 2]);
    s.dispose();
  });

  // 95% of the points pass `side: b`; the 100 points around the query are all side a.
  const n = 2000;
  const d = 8;
  const x = randomVectors(n, d, 21);
  const query = new Float32Array(d).fill(0.5);
  const next = rng(22);
  for (let i = 0; i < 100; i++) for (let j = 0; j < d; j++) x[i * d + j] = 0.5 + (next() - 0.5) * 0.01;
  const ids = Array.from({ length: n }, (_, i) => `p${i}`);
  const payloads = ids.map((_, i) => ({ side: i < 100 ? 'a' : 'b' }));
  const exact = (k: number) => {
    const scored = [];
    for (let i = 100; i < n; i++) {
      let s = 0;
      for (let j = 0; j < d; j++) s += (x[i * d + j] - query[j]) ** 2;
      scored.push({ id: ids[i], s });
    }
    return scored.sort((a, b) => a.s - b.s).slice(0, k).map((e) => e.id);
  };

  for (const factory of ['Flat', 'HNSW32', 'IVF8,Flat', 'PQ4x4']) {
    it(`${factory}: a query whose over-fetched neighbours all fail still has k passing hits (Flat: the exact ones), cold and warm`, async () => {
      const s = CollectionState.create({ name: 'c', dimension: d, factory, payloadIndexes: { side: 'keyword' } });
      if (!s.info().isTrained) await s.apply({ type: 'train', x });
      await s.apply({ type: 'upsert', ids, x, payloads });
      const filter = parseFilter({ must: [{ key: 'side', match: { value: 'b' } }] });
      const queries = new Float32Array(2 * d);
      queries.set(query);
      queries.set(x.subarray(1500 * d, 1501 * d), d); // a query among side-b points: answered by the over-fetch
      const knobs = factory.startsWith('IVF') ? { nprobe: 2 } : {};
      for (const pass of ['cold', 'warm']) {
        const [near, far] = await s.search(queries, 2, 10, { ...read, ...knobs, filter });
        assert.equal(near.length, 10, `${pass}: ${near.length} hits`);
        assert.equal(far.length, 10, `${pass}: ${far.length} hits`);
        for (const h of [...near, ...far]) assert.equal((h.payload as { side: string }).side, 'b', `${pass}: ${h.id}`);
        if (factory === 'Flat') assert.deepEqual(near.map((h) => h.id), exact(10), pass);
      }
      s.dispose();
    });
  }
});

describe('collections: the planner\'s estimate of a filter\'s share', () => {
  const n = 1000;
  const ids = Array.from({ length: n }, (_, i) => `p${i}`);
  const payloads = ids.map((_, i) => ({ bucket: i % 100, kind: ['a', 'b', 'c', 'd'][i % 4], free: i % 10 }));
  let s: CollectionState;
  before(async () => {
    s = CollectionState.create({ name: 'e', dimension: 2, payloadIndexes: { bucket: 'integer', kind: 'keyword' } });
    await s.apply({ type: 'upsert', ids, x: randomVectors(n, 2, 41), payloads });
  });
  after(() => s.dispose());
  // The payload indexes of the state (private: the estimate is an internal of the planner).
  const estimate = (filter: unknown) => (s as unknown as { payloadIndexes: { estimateShare(f: unknown): number } }).payloadIndexes.estimateShare(parseFilter(filter));

  it('a condition the payload indexes answer: its exact share, from their counts', () => {
    const cases: [unknown, number][] = [
      [{ must: [{ key: 'bucket', match: { value: 7 } }] }, 0.01],
      [{ must: [{ key: 'bucket', range: { gte: 10, lt: 30 } }] }, 0.2],
      [{ must: [{ key: 'kind', match: { any: ['a', 'c'] } }] }, 0.5],
      [{ must: [{ key: 'kind', match: { except: ['a'] } }] }, 0.75],
      [{ must_not: [{ key: 'kind', match: { value: 'a' } }] }, 0.75],
      [{ should: [{ key: 'kind', match: { value: 'a' } }, { key: 'kind', match: { value: 'b' } }] }, 1 - 0.75 * 0.75],
      [{ must: [{ has_id: ['p1', 'p2', 'nobody'] }] }, 0.003],
      [{ must: [{ key: 'bucket', range: { lt: 50 } }, { key: 'kind', match: { value: 'a' } }] }, 0.5 * 0.25],
    ];
    for (const [filter, share] of cases) assert.ok(Math.abs(estimate(filter) - share) < 1e-9, `${JSON.stringify(filter)}: ${estimate(filter)} vs ${share}`);
  });

  it('a condition on a field without an index: the share of a sample', () => {
    for (const [lt, share] of [[1, 0.1], [5, 0.5], [10, 1]] as const) {
      const got = estimate({ must: [{ key: 'free', range: { lt } }] });
      assert.ok(Math.abs(got - share) <= 0.1, `free < ${lt}: ${got} vs ${share}`);
    }
    assert.equal(estimate({ must: [{ key: 'free', range: { lt: 0 } }] }), 0);
  });
});

describe('collections: sorted label sets', () => {
  it('toInt64 gives each label as a bigint, up to 2^53 - 1', () => {
    const labels = Float64Array.of(0, 1, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1, 2 ** 32, 2 ** 32 + 5, 2 ** 40 + 3, Number.MAX_SAFE_INTEGER);
    assert.deepEqual([...toInt64(labels)], [...labels].map((l) => BigInt(l)));
    assert.deepEqual([...toInt64([7, 9])], [7n, 9n]);
  });
});

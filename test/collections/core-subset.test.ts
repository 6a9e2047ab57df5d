// The exact search over a subset of stored vectors (Index.searchSubset, native/workers/search_subset.cc),
// which the collections' query planner uses for filters that keep few points: it equals brute force over
// the subset on Flat (L2, inner product), HNSW, IVF-Flat and through an IndexIDMap2; bad labels are
// ERR_INVALID_ARGUMENT, index types without a distance to one stored vector ERR_UNSUPPORTED; and the
// planner chooses it by the matching count.
import { strict as assert } from 'node:assert';
import { FaissError, IndexFlatL2, IndexIDMap, IndexIDMap2, METRIC_INNER_PRODUCT, METRIC_L2, indexFactory, setNumThreads, type Index, type MetricType } from '../../lib';
import { CollectionState } from '../../lib/collections/collection-state';
import { parseFilter } from '../../lib/collections/filter';
import { EXACT_SUBSET_AT_MOST, exactSubsetAtMost, HNSW_EF_GROWTH_MAX, IVF_SELECTOR_FROM, planSearch, type PlanInput } from '../../lib/collections/planner';
import { randomVectors, rng } from '../support/data';

const code = (c: string) => (e: unknown) => e instanceof FaissError && e.code === c;

function distance(q: Float32Array, v: Float32Array, ip: boolean): number {
  let s = 0;
  for (let j = 0; j < q.length; j++) s += ip ? q[j] * v[j] : (q[j] - v[j]) * (q[j] - v[j]);
  return s;
}

/** The exact k nearest among `labels` (label i holds row i of x), -1 padded. */
function bruteForce(x: Float32Array, d: number, q: Float32Array, labels: number[], k: number, ip: boolean): { label: number; score: number }[] {
  const scored = labels.map((label) => ({ label, score: distance(q, x.subarray(label * d, (label + 1) * d), ip) }));
  scored.sort((a, b) => (ip ? b.score - a.score : a.score - b.score));
  return scored.slice(0, k);
}

const n = 3000;
const d = 16;
const x = randomVectors(n, d, 11);
const queries = randomVectors(4, d, 12);
const allLabels = BigInt64Array.from({ length: n }, (_, i) => BigInt(i));

async function check(index: Index, ip: boolean, name: string): Promise<void> {
  for (const every of [1000, 97, 7, 1]) {
    const labels = Array.from({ length: Math.ceil(n / every) }, (_, i) => i * every);
    for (const k of [1, 10, 20]) {
      const { distances, labels: got } = await index.searchSubset(queries, k, BigInt64Array.from(labels, BigInt));
      for (let qi = 0; qi < 4; qi++) {
        const expected = bruteForce(x, d, queries.subarray(qi * d, (qi + 1) * d), labels, k, ip);
        const row = Array.from(got.subarray(qi * k, (qi + 1) * k), Number);
        assert.deepEqual(row, [...expected.map((e) => e.label), ...Array(k - expected.length).fill(-1)], `${name} every ${every} k ${k} query ${qi}`);
        expected.forEach((e, j) => assert.ok(Math.abs(distances[qi * k + j] - e.score) < 1e-3, `${name}: ${distances[qi * k + j]} vs ${e.score}`));
      }
    }
  }
}

describe('Index.searchSubset: the exact search over a subset of stored vectors', () => {
  it('Flat (L2 and inner product) equals brute force over the subset, -1 where fewer than k', async () => {
    for (const metric of [METRIC_L2, METRIC_INNER_PRODUCT] as MetricType[]) {
      const index = indexFactory(d, 'Flat', metric);
      await index.add(x);
      await check(index, metric === METRIC_INNER_PRODUCT, `Flat ${metric}`);
      index.dispose();
    }
  });

  it('HNSW32 and Flat under an IndexIDMap2 (labels translated to positions) equal brute force over the subset', async () => {
    for (const factory of ['HNSW32', 'Flat']) {
      for (const metric of [METRIC_L2, METRIC_INNER_PRODUCT] as MetricType[]) {
        const inner = indexFactory(d, factory, metric);
        const index = new IndexIDMap2(inner);
        inner.dispose();
        // Labels far from positions: label i is stored at position n - 1 - i.
        const order = Array.from({ length: n }, (_, i) => n - 1 - i);
        const xs = new Float32Array(n * d);
        order.forEach((label, pos) => xs.set(x.subarray(label * d, (label + 1) * d), pos * d));
        await index.addWithIds(xs, BigInt64Array.from(order, BigInt));
        await check(index, metric === METRIC_INNER_PRODUCT, `IDMap2,${factory} ${metric}`);
        index.dispose();
      }
    }
  });

  it('through an IndexIDMap2 of labels in order, with removed ones shifting the positions, and of an id held twice, equals brute force over the subset', async () => {
    // Labels 0..n-1 in order (the collections' own case: found in the id table at an offset), then the first
    // 300 and every 50th removed, so that the offset changes along the way.
    const gone = Array.from({ length: n }, (_, i) => i).filter((i) => i < 300 || i % 50 === 0);
    const kept = Array.from({ length: n }, (_, i) => i).filter((i) => !gone.includes(i));
    for (const metric of [METRIC_L2, METRIC_INNER_PRODUCT] as MetricType[]) {
      const ip = metric === METRIC_INNER_PRODUCT;
      const flat = indexFactory(d, 'Flat', metric);
      const mapped = new IndexIDMap2(flat);
      flat.dispose();
      await mapped.addWithIds(x, allLabels);
      await mapped.removeIds(BigInt64Array.from(gone, BigInt));
      for (const labels of [kept, kept.filter((l) => l % 7 === 0), kept.slice(-5)]) {
        for (let qi = 0; qi < 4; qi++) {
          const q = queries.subarray(qi * d, (qi + 1) * d);
          const { labels: got } = await mapped.searchSubset(q, 10, BigInt64Array.from(labels, BigInt));
          assert.deepEqual(Array.from(got, Number), bruteForce(x, d, q, labels, 10, ip).map((e) => e.label).concat(Array(Math.max(0, 10 - labels.length)).fill(-1)));
        }
      }
      mapped.dispose();
    }
    // An id added twice: its later vector, as IndexIDMap2's reverse map has it (not the first one found in order).
    const flat = new IndexFlatL2(d);
    const twice = new IndexIDMap2(flat);
    flat.dispose();
    const later = randomVectors(n, d, 13);
    await twice.addWithIds(x, allLabels);
    await twice.addWithIds(later, allLabels);
    const labels = Array.from({ length: 100 }, (_, i) => i * 30);
    for (let qi = 0; qi < 4; qi++) {
      const q = queries.subarray(qi * d, (qi + 1) * d);
      const { labels: got, distances } = await twice.searchSubset(q, 10, BigInt64Array.from(labels, BigInt));
      const expected = bruteForce(later, d, q, labels, 10, false);
      assert.deepEqual(Array.from(got, Number), expected.map((e) => e.label));
      expected.forEach((e, j) => assert.ok(Math.abs(distances[j] - e.score) < 1e-3));
    }
    twice.dispose();
  });

  it('one query over thousands of labels (its chunks shared with the helper thread): the answer of the same search on one thread, exact ties included, HNSW and Flat, L2 and inner product', async () => {
    // Integer coordinates in -2..2: sums are exact and many distances tie, so that the heap's order of arrival
    // decides which tied labels are kept (native/workers/search_subset.cc: the helper's chunks enter it last).
    // 20,000 points: a query over all of them makes 313 chunks, of which the helper takes some.
    const points = 20_000;
    const next = rng(5);
    const xi = Float32Array.from({ length: points * d }, () => Math.floor(next() * 5) - 2);
    const qs = Float32Array.from({ length: 8 * d }, () => Math.floor(next() * 5) - 2);
    const every = Array.from({ length: points }, (_, i) => i);
    const sets = [every, every.filter((l) => l % 3 !== 0), every.slice(0, 130)];
    try {
      for (const factory of ['HNSW32', 'Flat']) {
        for (const metric of [METRIC_L2, METRIC_INNER_PRODUCT] as MetricType[]) {
          const ip = metric === METRIC_INNER_PRODUCT;
          const inner = indexFactory(d, factory, metric);
          const index = new IndexIDMap2(inner);
          inner.dispose();
          await index.addWithIds(xi, BigInt64Array.from(every, BigInt));
          for (const labels of sets) {
            const subset = BigInt64Array.from(labels, BigInt);
            for (const k of [1, 10, 50]) {
              const answers: Record<number, { labels: number[]; distances: number[] }[]> = {};
              for (const threads of [1, 2, 0]) {
                setNumThreads(threads);
                answers[threads] = [];
                // Queries one at a time, several in a row: the helper, awake after the first, takes chunks.
                for (let qi = 0; qi < 8; qi++) {
                  const r = await index.searchSubset(qs.subarray(qi * d, (qi + 1) * d), k, subset);
                  answers[threads].push({ labels: Array.from(r.labels, Number), distances: Array.from(r.distances) });
                }
              }
              const what = `${factory} ${ip ? 'IP' : 'L2'} ${labels.length} labels k ${k}`;
              assert.deepEqual(answers[2], answers[1], `${what}: 2 threads`);
              assert.deepEqual(answers[0], answers[1], `${what}: automatic`);
              for (let qi = 0; qi < 8; qi++) {
                const expected = bruteForce(xi, d, qs.subarray(qi * d, (qi + 1) * d), labels, k, ip);
                expected.forEach((e, j) => assert.equal(answers[1][qi].distances[j], e.score, `${what} query ${qi} rank ${j}`));
              }
            }
          }
          index.dispose();
        }
      }
    } finally {
      setNumThreads(0);
    }
  });

  it('IVF-Flat with a direct map (hashtable, array) equals brute force over the subset', async () => {
    for (const type of ['hashtable', 'array'] as const) {
      const index = indexFactory(d, 'IVF16,Flat');
      await index.train(x);
      await index.makeDirectMap(type);
      if (type === 'hashtable') await index.addWithIds(x, allLabels);
      else await index.add(x);
      await check(index, false, `IVF16,Flat ${type}`);
      index.dispose();
    }
  });

  it('bad labels are ERR_INVALID_ARGUMENT: unknown, negative, past ntotal, out of order, repeated, not a BigInt64Array', async () => {
    const flat = new IndexFlatL2(d);
    await flat.add(x);
    const mapped = new IndexIDMap2(new IndexFlatL2(d));
    await mapped.addWithIds(x, BigInt64Array.from({ length: n }, (_, i) => BigInt(10 * i)));
    const ivf = indexFactory(d, 'IVF16,Flat');
    await ivf.train(x);
    await ivf.makeDirectMap('hashtable');
    await ivf.addWithIds(x, allLabels);
    const q = queries.subarray(0, d);
    for (const index of [flat, mapped, ivf]) {
      for (const labels of [[-1n], [BigInt(100 * n)], [5n, 3n], [3n, 3n], [0n, -(2n ** 63n)], [2n ** 63n - 1n]]) {
        await assert.rejects(index.searchSubset(q, 5, BigInt64Array.from(labels)), code('ERR_INVALID_ARGUMENT'), `${index.typeName} ${labels}`);
      }
      await assert.rejects(index.searchSubset(q, 5, [1, 2] as unknown as BigInt64Array), code('ERR_INVALID_ARGUMENT'));
      await assert.rejects(index.searchSubset(q, 0, BigInt64Array.of(0n)), code('ERR_INVALID_ARGUMENT'));
    }
    // Labels IDMap2 does not hold, though they are positions: 1 (only multiples of 10 are labels).
    await assert.rejects(mapped.searchSubset(q, 5, BigInt64Array.of(0n, 1n)), code('ERR_INVALID_ARGUMENT'));
    // No labels: no results.
    const none = await flat.searchSubset(q, 3, new BigInt64Array(0));
    assert.deepEqual(Array.from(none.labels), [-1n, -1n, -1n]);
    for (const index of [flat, mapped, ivf]) index.dispose();
  });

  it('an index with no distance to one stored vector is ERR_UNSUPPORTED: IndexIDMap (no reverse map), IVF without a direct map', async () => {
    const plain = new IndexIDMap(new IndexFlatL2(d));
    await plain.addWithIds(x, allLabels);
    await assert.rejects(plain.searchSubset(queries, 5, BigInt64Array.of(1n)), code('ERR_UNSUPPORTED'));
    const ivf = indexFactory(d, 'IVF16,Flat');
    await ivf.train(x);
    await ivf.add(x);
    await assert.rejects(ivf.searchSubset(queries, 5, BigInt64Array.of(1n)), code('ERR_UNSUPPORTED'));
    plain.dispose();
    ivf.dispose();
  });
});

describe('collections planner: exact over the subset by the matching count', () => {
  const base: PlanInput = { matching: 0, total: 200_000, family: 'hnsw', filterable: true, subsetSearchable: true, isa: 'avx512', k: 10, efSearch: 64 };
  // An avx512 build's count; each build's own is checked below.
  const AT_MOST = EXACT_SUBSET_AT_MOST.avx512;
  it('IVF above it: nprobe raised by 1 / share^(1/4), at most every list', () => {
    const plan = (matching: number, total = 200_000) => planSearch({ ...base, family: 'ivf', matching, total, nprobe: 16 });
    assert.deepEqual(plan(20_000), { strategy: 'selector', knobs: { nprobe: Math.ceil(16 * 10 ** 0.25), efSearch: 64 } });
    assert.deepEqual(plan(200_000), { strategy: 'selector', knobs: { nprobe: 16, efSearch: 64 } });
    assert.deepEqual(plan(10_000, 10_000_000_000_000_000), { strategy: 'selector', knobs: { nprobe: 16 * 1000, efSearch: 64 } });
  });
  it('IVF from IVF_SELECTOR_FROM of the points: the selector search, below EXACT_SUBSET_AT_MOST matches too', () => {
    const plan = (matching: number, total = 200_000) => planSearch({ ...base, family: 'ivf', matching, total, nprobe: 16 });
    assert.deepEqual(plan(2000), { strategy: 'selector', knobs: { nprobe: Math.ceil(16 * 100 ** 0.25), efSearch: 64 } });
    assert.deepEqual(plan(IVF_SELECTOR_FROM * 200_000), { strategy: 'selector', knobs: { nprobe: Math.ceil(16 * (1 / IVF_SELECTOR_FROM) ** 0.25), efSearch: 64 } });
    assert.deepEqual(plan(IVF_SELECTOR_FROM * 200_000 - 1), { strategy: 'subset' });
    assert.deepEqual(plan(AT_MOST, 10_000_000), { strategy: 'subset' });
    // Where FAISS cannot filter it, the subset search still answers.
    assert.deepEqual(planSearch({ ...base, family: 'ivf', matching: 2000, nprobe: 16, filterable: false }), { strategy: 'subset' });
  });
  it('at EXACT_SUBSET_AT_MOST matches or fewer: the exact search over the subset, whatever the share; on an exhaustive index at any count', () => {
    for (const family of ['hnsw', 'ivf', 'exhaustive'] as const) {
      assert.deepEqual(planSearch({ ...base, family, matching: 1 }), { strategy: 'subset' });
      assert.deepEqual(planSearch({ ...base, family, matching: AT_MOST, total: family === 'ivf' ? AT_MOST / IVF_SELECTOR_FROM + 1 : AT_MOST }), { strategy: 'subset' });
      assert.notEqual(planSearch({ ...base, family, matching: 5, subsetSearchable: false, nprobe: 16 }).strategy, 'subset');
    }
    for (const family of ['hnsw', 'ivf'] as const) assert.notEqual(planSearch({ ...base, family, matching: AT_MOST + 1, nprobe: 16 }).strategy, 'subset');
    assert.deepEqual(planSearch({ ...base, family: 'exhaustive', matching: 150_000 }), { strategy: 'subset' });
    assert.deepEqual(planSearch({ ...base, family: 'exhaustive', matching: 150_000, subsetSearchable: false }), { strategy: 'selector', knobs: { nprobe: undefined, efSearch: 64 } });
    assert.deepEqual(planSearch({ ...base, matching: 0 }), { strategy: 'empty' });
  });
  it('the count is the FAISS build\'s: a generic build\'s scalar distances make the exact search dearer than the selector search from fewer points', () => {
    // avx2 and avx512 builds compute a distance with the same 256-bit code (FAISS 1.7.3 has no avx512 level).
    assert.equal(exactSubsetAtMost('avx2'), exactSubsetAtMost('avx512'));
    assert.ok(exactSubsetAtMost('generic') < exactSubsetAtMost('avx512'));
    // A build the table does not list is costed as a generic one.
    assert.equal(exactSubsetAtMost('riscv-vector'), exactSubsetAtMost('generic'));
    const generic = exactSubsetAtMost('generic');
    for (const family of ['hnsw', 'ivf'] as const) {
      const total = family === 'ivf' ? 10_000_000 : 200_000;
      const plan = (isa: string, matching: number) => planSearch({ ...base, family, isa, matching, total, nprobe: 16 }).strategy;
      assert.equal(plan('generic', generic), 'subset', family);
      for (const matching of [generic + 1, 4000, AT_MOST]) {
        assert.equal(plan('generic', matching), 'selector', `${family} generic ${matching}`);
        assert.equal(plan('avx2', matching), 'subset', `${family} avx2 ${matching}`);
        assert.equal(plan('avx512', matching), 'subset', `${family} avx512 ${matching}`);
      }
    }
    // An exhaustive index's own search costs a distance per stored vector in every build: the subset, at any count.
    assert.equal(planSearch({ ...base, family: 'exhaustive', isa: 'generic', matching: 150_000 }).strategy, 'subset');
  });
  it('HNSW above it: efSearch raised by 1 / share^(1/5), at most HNSW_EF_GROWTH_MAX times; all matching: as asked', () => {
    const ef = (matching: number) => {
      const plan = planSearch({ ...base, matching });
      assert.equal(plan.strategy, 'selector');
      return plan.strategy === 'selector' ? plan.knobs.efSearch : undefined;
    };
    assert.equal(ef(20_000), Math.ceil(64 * 10 ** 0.2));
    assert.equal(ef(100_000), Math.ceil(64 * 2 ** 0.2));
    assert.equal(ef(200_000), 64);
    const far = planSearch({ ...base, total: 10_000_000_000, matching: 10_000 });
    assert.deepEqual(far, { strategy: 'selector', knobs: { nprobe: undefined, efSearch: 64 * HNSW_EF_GROWTH_MAX } });
  });
});

describe('collections: a search planned over the subset on an index that cannot compute it', () => {
  it('LSH, a refine index (under IDMap2): searchSubset refuses, and the search falls back to FAISS\'s own with the filter, k matching hits', async () => {
    for (const factory of ['LSH', 'IVF4,Flat,RFlat']) {
      const s = CollectionState.create({ name: 'c', dimension: d, factory, payloadIndexes: { b: 'integer' } });
      if (!s.info().isTrained) await s.apply({ type: 'train', x: x.subarray(0, 500 * d) });
      await s.apply({ type: 'upsert', ids: Array.from({ length: 500 }, (_, i) => `p${i}`), x: x.subarray(0, 500 * d), payloads: Array.from({ length: 500 }, (_, i) => ({ b: i % 10 })) });
      await assert.rejects(s.index.searchSubset(queries.subarray(0, d), 5, BigInt64Array.of(0n)), code('ERR_UNSUPPORTED'), factory);
      for (let round = 0; round < 2; round++) {
        const [hits] = await s.search(queries.subarray(0, d), 1, 5, { withPayload: true, withVector: false, filter: parseFilter({ must: [{ key: 'b', match: { value: 3 } }] }) });
        assert.equal(hits.length, 5, factory);
        for (const h of hits) assert.equal((h.payload as { b: number }).b, 3);
      }
      s.dispose();
    }
  });
});

// A filter of one range (or one number) on a numeric payload index, searched with HNSW's or IVF's selector before it
// was ever evaluated, is tested label by label as the search meets them (lib/collections/value-column.ts, a valueRange
// selector over the addon's column): not evaluated to a bitmap of every label, with the answers of the evaluated
// filter's search; the column follows upserts, replacements and deletes; a field where some point holds several
// values, a second condition, or a keyword field, is evaluated as before.
import { strict as assert } from 'node:assert';
import { CollectionState } from '../../lib/collections/collection-state';
import { parseFilter, type ParsedFilter } from '../../lib/collections/filter';
import type { LabelBitmap } from '../../lib/collections/label-bitmap';
import type { ColumnAnswer } from '../../lib/collections/payload-index';
import { columnSearched, planSearch } from '../../lib/collections/planner';
import { IDSelector } from '../../lib/selectors';
import { getMemoryLimits, setMemoryLimits } from '../../lib/threads';
import type { Filter, Payload } from '../../lib/collections/types';
import { randomVectors, rng } from '../support/data';

const read = { withPayload: false, withVector: false };

interface Indexes {
  evaluate(f: ParsedFilter): LabelBitmap;
  lazily(f: ParsedFilter): ColumnAnswer | undefined;
}
const indexesOf = (s: CollectionState): Indexes => (s as unknown as { payloadIndexes: Indexes }).payloadIndexes;

/** Counts the state's filter evaluations. */
function countEvaluations(s: CollectionState): { count: number } {
  const indexes = indexesOf(s);
  const evaluate = indexes.evaluate.bind(indexes);
  const counter = { count: 0 };
  indexes.evaluate = (f) => {
    counter.count++;
    return evaluate(f);
  };
  return counter;
}

/** Labels a column selector selects, read from its column as FAISS's is_member reads it. */
function columnMembers(answer: ColumnAnswer, labels: Iterable<number>): Set<number> {
  const t = IDSelector.termOf(answer.selector());
  assert.equal(t.kind, 'valueRange');
  if (t.kind !== 'valueRange') throw new Error('unreachable');
  const out = new Set<number>();
  for (const label of labels) {
    const i = label - t.base;
    const v = i >= 0 && i < t.column.values.length ? t.column.values[i] : NaN;
    if (v > t.gt && v >= t.gte && v < t.lt && v <= t.lte) out.add(label);
  }
  return out;
}

describe('collections: filters tested label by label over a payload column', () => {
  const d = 8;
  const n = 20_000;
  const x = randomVectors(n, d, 41);
  const ids = Array.from({ length: n }, (_, i) => `p${i}`);
  const payloads: Payload[] = ids.map((_, i) => ({ b: i % 100, t: new Date(Date.UTC(2026, 0, 1) + (i % 50) * 86_400_000).toISOString() }));

  // One HNSW collection for the cases below (each filter's text is its own: each is cold at its first search). Each
  // filter passes about half of 20,000 points (over the subset search's count), and 2k / share (40) is beyond
  // efSearch 16: the selector search.
  let shared: CollectionState | undefined;
  after(() => shared?.dispose());
  const hnsw = async (): Promise<CollectionState> => {
    if (!shared) {
      shared = CollectionState.create({ name: 'c', dimension: d, factory: 'HNSW16', payloadIndexes: { b: 'integer', t: 'datetime' } });
      await shared.apply({ type: 'upsert', ids, x, payloads });
    }
    return shared;
  };

  for (const filter of [
    { must: [{ key: 'b', range: { gte: 10, lt: 60 } }] },
    { must: [{ key: 't', range: { lt: '2026-01-26T00:00:00Z' } }] },
    { must: [{ key: 'b', range: { gt: 30, lte: 80 } }] },
  ]) {
    it(`HNSW16 ${JSON.stringify(filter.must[0])}: not evaluated at its first search, the evaluated filter's answers`, async () => {
      const s = await hnsw();
      const evaluations = countEvaluations(s);
      const parsed = parseFilter(filter as Filter);
      const queries = x.subarray(0, 8 * d);
      const cold = await s.search(queries, 8, 10, { ...read, efSearch: 16, filter: parsed });
      assert.equal(evaluations.count, 0);
      // The same filter evaluated (count keeps its answer), then searched with the bitmap of its labels.
      const count = s.count(parsed);
      assert.equal(evaluations.count, 1);
      assert.equal(indexesOf(s).lazily(parsed)?.count, count);
      const warm = await s.search(queries, 8, 10, { ...read, efSearch: 16, filter: parsed });
      assert.deepEqual(cold, warm);
      for (const hits of cold) assert.equal(hits.length, 10);
    });
  }

  it('IVF: not evaluated at its first search either, with the evaluated filter\'s answers', async () => {
    const s = CollectionState.create({ name: 'c', dimension: d, factory: 'IVF64,Flat', payloadIndexes: { b: 'integer' } });
    await s.apply({ type: 'train', x });
    await s.apply({ type: 'upsert', ids, x, payloads });
    const evaluations = countEvaluations(s);
    // 8%: IVF's selector search (from IVF_SELECTOR_FROM, over the subset search's count), no over-fetch below
    // OVER_FETCH_AT; nprobe 1 raised to 2 of 64 lists, about 3% of the points, fewer than match: the column.
    const parsed = parseFilter({ must: [{ key: 'b', range: { gte: 7, lt: 15 } }] });
    const queries = x.subarray(0, 8 * d);
    const cold = await s.search(queries, 8, 10, { ...read, nprobe: 1, filter: parsed });
    assert.equal(evaluations.count, 0);
    s.count(parsed);
    assert.equal(evaluations.count, 1);
    const warm = await s.search(queries, 8, 10, { ...read, nprobe: 1, filter: parsed });
    assert.deepEqual(cold, warm);
    for (const hits of cold) assert.equal(hits.length, 10);
    s.dispose();
  });

  it('IVF: the column while its lists hold no more vectors than match (planner.ts columnSearched), else evaluated', async () => {
    // IVF1024 at nprobe 16 over 200,000 points: at 10% the planner's lists hold ~5,700 vectors for 20,000 matching.
    const at = (matching: number, nlist: number | undefined) =>
      columnSearched({ family: 'ivf', plan: planSearch({ ...ivfPlan, matching }), matching, total: 200_000, nlist });
    const ivfPlan = { total: 200_000, family: 'ivf' as const, filterable: true, subsetSearchable: true, isa: 'avx512', k: 10, nprobe: 16 };
    assert.equal(at(20_000, 1024), true);
    assert.equal(at(10_000, 1024), true);
    assert.equal(at(2_000, 1024), false);
    assert.equal(at(20_000, undefined), false);
    // Every list scanned: the column only when every point matches.
    assert.equal(columnSearched({ family: 'ivf', plan: { strategy: 'selector', knobs: { nprobe: 64 } }, matching: 199_999, total: 200_000, nlist: 64 }), false);
    for (const family of ['hnsw', 'exhaustive'] as const) {
      assert.equal(columnSearched({ family, plan: { strategy: 'selector', knobs: {} }, matching: 10, total: 200_000 }), true);
      assert.equal(columnSearched({ family, plan: { strategy: 'subset' }, matching: 10, total: 200_000 }), false);
    }
    // The collection's own: a 1% filter on IVF16 at nprobe 4 (its lists hold 1/4 of the points) is evaluated.
    const s = CollectionState.create({ name: 'c', dimension: d, factory: 'IVF16,Flat', payloadIndexes: { b: 'integer' } });
    await s.apply({ type: 'train', x });
    await s.apply({ type: 'upsert', ids, x, payloads });
    const evaluations = countEvaluations(s);
    const [hits] = await s.search(x.subarray(0, d), 1, 10, { ...read, nprobe: 4, filter: parseFilter({ must: [{ key: 'b', match: { value: 7 } }] }) });
    assert.equal(hits.length, 10);
    assert.equal(evaluations.count, 1);
    s.dispose();
  });

  it('the over-fetch tests the labels it found against the column, not the points\' payloads', async () => {
    const s = CollectionState.create({ name: 'c', dimension: d, factory: 'IVF16,Flat', payloadIndexes: { b: 'integer' } });
    await s.apply({ type: 'train', x });
    await s.apply({ type: 'upsert', ids, x, payloads });
    const indexes = indexesOf(s) as Indexes & { passes(f: ParsedFilter, label: number): boolean };
    let payloadTests = 0;
    const passes = indexes.passes.bind(indexes);
    indexes.passes = (f, label) => {
      payloadTests++;
      return passes(f, label);
    };
    // 30%: over OVER_FETCH_AT, so the unfiltered search for 2k / share neighbours, kept when they pass.
    const parsed = parseFilter({ must: [{ key: 'b', range: { gte: 20, lt: 50 } }] });
    const queries = x.subarray(0, 8 * d);
    const cold = await s.search(queries, 8, 10, { ...read, nprobe: 4, filter: parsed });
    assert.equal(payloadTests, 0);
    s.count(parsed);
    const warm = await s.search(queries, 8, 10, { ...read, nprobe: 4, filter: parsed });
    assert.deepEqual(cold, warm);
    for (const hits of cold) assert.equal(hits.length, 10);
    s.dispose();
  });

  it('the column follows upserts, replacements and deletes: it selects what the evaluation selects', async () => {
    const s = CollectionState.create({ name: 'c', dimension: d, factory: 'Flat', payloadIndexes: { b: 'float' } });
    const next = rng(43);
    const m = 3000;
    const value = () => (next() < 0.1 ? null : Math.floor(next() * 40) / 4);
    const put = (from: number, count: number) =>
      s.apply({
        type: 'upsert',
        ids: Array.from({ length: count }, (_, i) => `q${(from + i) % m}`),
        x: randomVectors(count, d, from),
        payloads: Array.from({ length: count }, () => ({ b: value() })),
      });
    await put(0, m);
    // Replacing most points moves their labels past the column's room; deleting the oldest moves its start.
    for (let round = 0; round < 4; round++) await put(round * 700, 2500);
    await s.apply({ type: 'delete', ids: Array.from({ length: 400 }, (_, i) => `q${i}`) });
    const indexes = indexesOf(s);
    for (const f of [{ range: { gte: 2.5, lt: 6 } }, { range: { gt: 9 } }, { range: { lte: 0 } }, { match: { value: 4.25 } }, { range: { gt: 100 } }]) {
      const parsed = parseFilter({ must: [{ key: 'b', ...f }] } as Filter);
      const lazy = indexes.lazily(parsed);
      assert.ok(lazy, JSON.stringify(f));
      const evaluated = indexes.evaluate(parsed);
      assert.equal(lazy.count, evaluated.count, JSON.stringify(f));
      const every: number[] = [];
      evaluated.forEach((label) => every.push(label));
      const live = evaluated.frame.base + evaluated.frame.words * 32;
      const all = Array.from({ length: live + 64 }, (_, i) => i);
      assert.deepEqual([...columnMembers(lazy, all)].sort((a, b) => a - b), every, JSON.stringify(f));
      assert.deepEqual(all.filter((label) => lazy.passes(label)), every, JSON.stringify(f));
    }
    s.dispose();
  });

  it('a column the memory limits refuse: the upsert stores every point, and the filter is evaluated', async () => {
    const before = getMemoryLimits();
    const m = 70_000; // a column of 2 x 70,000 values (1.1 MB) over the 1 MiB per-call limit
    const s = CollectionState.create({ name: 'c', dimension: 2, factory: 'Flat', payloadIndexes: { b: 'integer' } });
    try {
      setMemoryLimits({ perCallBytes: 2 ** 20 });
      const ids = Array.from({ length: m }, (_, i) => `r${i}`);
      await s.apply({ type: 'upsert', ids, x: randomVectors(m, 2, 7), payloads: ids.map((_, i) => ({ b: i % 10 })) });
    } finally {
      setMemoryLimits(before);
    }
    const range = parseFilter({ must: [{ key: 'b', range: { lt: 3 } }] });
    assert.equal(indexesOf(s).lazily(range), undefined);
    assert.equal(s.count(range), 21_000);
    s.dispose();
  });

  it('a field where a point holds several values, two conditions, or a keyword: evaluated as before', async () => {
    const s = CollectionState.create({ name: 'c', dimension: d, factory: 'Flat', payloadIndexes: { b: 'integer', k: 'keyword' } });
    await s.apply({ type: 'upsert', ids: ['a', 'b', 'c'], x: randomVectors(3, d, 5), payloads: [{ b: 1, k: 'x' }, { b: [2, 3], k: 'y' }, { b: 3, k: 'x' }] });
    const indexes = indexesOf(s);
    const range = parseFilter({ must: [{ key: 'b', range: { gte: 2 } }] });
    assert.equal(indexes.lazily(range), undefined);
    assert.equal(s.count(range), 2);
    // Once the point of several values is gone, the column answers again.
    await s.apply({ type: 'delete', ids: ['b'] });
    assert.equal(indexes.lazily(range)?.count, 1);
    assert.equal(indexes.lazily(parseFilter({ must: [{ key: 'k', match: { value: 'x' } }] })), undefined);
    assert.equal(indexes.lazily(parseFilter({ must: [{ key: 'b', range: { gte: 2 } }, { key: 'b', range: { lt: 9 } }] })), undefined);
    assert.equal(indexes.lazily(parseFilter({ should: [{ key: 'b', range: { gte: 2 } }] })), undefined);
    s.dispose();
  });
});

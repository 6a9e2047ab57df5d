// The pure parts of sharded indexes (domain/shards.ts): which shard an id goes
// to, where shards are placed as nodes come and go (one index, and many indexes
// balanced over the nodes as a whole), the top-k merge's padding and order, and
// the range search's merge. (Against FAISS itself: test/cluster/shards.test.ts.)
import { strict as assert } from 'node:assert';
import { balancedPlacements, mergeRanges, mergeTopK, pointShardsOf, shardsOf, type PlacedIndex } from '../../service/domain/shards';
import { METRIC_INNER_PRODUCT, METRIC_L2 } from '../../lib';

/** shardsOf of [0, 1, 2, -1, 2^40, 123456789] over 7 shards, as first computed: where stored points live depends on it. */
const PINNED = [6, 5, 5, 1, 5, 4];

const counts = (owners: string[]): Record<string, number> => owners.reduce((c, o) => ({ ...c, [o]: (c[o] ?? 0) + 1 }), {} as Record<string, number>);
const spread = (owners: string[]): number => Math.max(...Object.values(counts(owners))) - Math.min(...Object.values(counts(owners)));
/** One index's placement alone. */
const balancedPlacement = (index: string, shards: number, live: string[], previous: string[] | undefined): string[] =>
  balancedPlacements([{ id: index, shards, owners: previous }], live).get(index)!;
/** Each live node's shards of every index (0 for a node holding none). */
function totals(placed: Map<string, string[]>, live: string[]): Record<string, number> {
  const t = Object.fromEntries(live.map((n) => [n, 0]));
  for (const owners of placed.values()) for (const o of owners) t[o]++;
  return t;
}
const totalSpread = (placed: Map<string, string[]>, live: string[]): number => Math.max(...Object.values(totals(placed, live))) - Math.min(...Object.values(totals(placed, live)));
/** The shards whose owner differs between two placements. */
const moves = (a: Map<string, string[]>, b: Map<string, string[]>): { id: string; shard: number; from: string; to: string }[] =>
  [...b].flatMap(([id, owners]) => owners.flatMap((to, shard) => (a.get(id)?.[shard] !== to ? [{ id, shard, from: a.get(id)?.[shard] ?? '', to }] : [])));
const asInput = (placed: Map<string, string[]>, shards: Record<string, number>): PlacedIndex[] => Object.entries(shards).map(([id, n]) => ({ id, shards: n, owners: placed.get(id) }));
/** Within one for each index over the live nodes (a node holding none of it counts 0). */
function indexSpread(owners: string[], live: string[]): number {
  const c = live.map((n) => owners.filter((o) => o === n).length);
  return Math.max(...c) - Math.min(...c);
}

describe('sharded indexes: placement, ids to shards, the top-k merge', () => {
  it('spreads consecutive and sparse ids evenly, the same way every time', () => {
    for (const ids of [BigInt64Array.from({ length: 40_000 }, (_, i) => BigInt(i)), BigInt64Array.from({ length: 40_000 }, (_, i) => BigInt(i) * 1024n - 5_000_000_000n)]) {
      const of = shardsOf(ids, 4);
      const per = [0, 0, 0, 0];
      for (const s of of) per[s]++;
      for (const n of per) assert.ok(Math.abs(n - 10_000) < 500, per.join());
      assert.deepEqual(shardsOf(ids.slice(0, 100), 4), of.slice(0, 100));
    }
    // Stored data depends on it: the function never changes.
    assert.deepEqual([...shardsOf(BigInt64Array.from([0n, 1n, 2n, -1n, 1n << 40n, 123456789n]), 7)], PINNED);
  });

  it("spreads a collection's string point ids evenly, the same way every time", () => {
    for (const ids of [Array.from({ length: 40_000 }, (_, i) => `p${i}`), Array.from({ length: 40_000 }, (_, i) => `doc-${(i * 7919).toString(36)}-é`)]) {
      const of = pointShardsOf(ids, 4);
      const per = [0, 0, 0, 0];
      for (const s of of) per[s]++;
      for (const n of per) assert.ok(Math.abs(n - 10_000) < 500, per.join());
      assert.deepEqual(pointShardsOf(ids.slice(0, 100), 4), of.slice(0, 100));
    }
    // Stored data depends on it (as first computed): the function never changes.
    assert.deepEqual([...pointShardsOf(['a', 'p0', 'p1', 'doc-42', 'é', 'x'.repeat(256)], 7)], [5, 3, 3, 4, 5, 6]);
  });

  it('places every shard on a live node, balanced within one, moving as few as it can', () => {
    const first = balancedPlacement('ix', 8, ['A', 'B'], undefined);
    assert.equal(first.length, 8);
    assert.deepEqual(counts(first), { A: 4, B: 4 });
    assert.deepEqual(balancedPlacement('ix', 8, ['B', 'A'], undefined), first, 'the same on every node');
    assert.deepEqual(balancedPlacement('ix', 8, ['A', 'B'], first), first, 'nothing moves while nothing changes');
    // C joins: it takes its share, and only those shards move.
    const joined = balancedPlacement('ix', 8, ['A', 'B', 'C'], first);
    assert.ok(spread(joined) <= 1, joined.join());
    assert.ok(counts(joined).C >= 2);
    assert.equal(joined.filter((o, i) => o !== first[i]).length, counts(joined).C);
    // B dies: its shards go to the others; A's and C's stay where they are.
    const left = balancedPlacement('ix', 8, ['A', 'C'], joined);
    assert.ok(!left.includes('B'));
    joined.forEach((o, i) => o !== 'B' && assert.equal(left[i], o));
    assert.ok(spread(left) <= 1);
    // More nodes than shards: one each at most; no live node: left as it was.
    assert.ok(Object.values(counts(balancedPlacement('ix', 2, ['A', 'B', 'C', 'D'], undefined))).every((n) => n === 1));
    assert.deepEqual(balancedPlacement('ix', 8, [], left), left);
  });

  it('balances every index\'s shards over the nodes as a whole, each index spread too, moving as few as it can', () => {
    const five = ['A', 'B', 'C', 'D', 'E'];
    // Twenty 2-shard indexes made one after the other (each placed with the others as they are): 8 shards a node.
    let placed = new Map<string, string[]>();
    const shards: Record<string, number> = {};
    for (let i = 0; i < 20; i++) {
      shards[`ix${i}`] = 2;
      placed = balancedPlacements(asInput(placed, shards), five);
    }
    assert.deepEqual(totals(placed, five), { A: 8, B: 8, C: 8, D: 8, E: 8 });
    for (const owners of placed.values()) assert.equal(new Set(owners).size, 2, owners.join());
    assert.deepEqual(balancedPlacements(asInput(placed, shards).reverse(), [...five].reverse()), placed, 'the same in any order, on every node');
    assert.equal(moves(placed, balancedPlacements(asInput(placed, shards), five)).length, 0, 'nothing moves while nothing changes');
    // Placed index by index (as before): every index on the same two nodes of five. Balanced: 24 moves, the fewest.
    const skewed = new Map(Object.keys(shards).map((id) => [id, ['A', 'B']]));
    const fixed = balancedPlacements(asInput(skewed, shards), five);
    assert.deepEqual(totals(fixed, five), { A: 8, B: 8, C: 8, D: 8, E: 8 });
    assert.equal(moves(skewed, fixed).length, 24);
    for (const owners of fixed.values()) assert.equal(new Set(owners).size, 2, owners.join());
    // F joins: it takes its share (40 / 6: 6 or 7), and only shards that go to F move.
    const six = [...five, 'F'];
    const joined = balancedPlacements(asInput(placed, shards), six);
    assert.ok(totalSpread(joined, six) <= 1, JSON.stringify(totals(joined, six)));
    const toF = moves(placed, joined);
    assert.ok(toF.every((m) => m.to === 'F') && toF.length === totals(joined, six).F && toF.length >= 6, JSON.stringify(toF));
    // C dies: its shards go to the others, each index still on two nodes; totals within one.
    const left = six.filter((n) => n !== 'C');
    const after = balancedPlacements(asInput(joined, shards), left);
    assert.ok(totalSpread(after, left) <= 1, JSON.stringify(totals(after, left)));
    for (const owners of after.values()) assert.ok(!owners.includes('C') && new Set(owners).size === 2, owners.join());
    const gone = moves(joined, after);
    assert.ok(gone.every((m) => m.from === 'C'), JSON.stringify(gone));
    // Indexes of several sizes over three nodes: totals within one, and each index within one.
    const mixed: Record<string, number> = { big: 8, mid: 4, a: 2, b: 2, c: 1 + 2, d: 5 };
    const three = ['A', 'B', 'C'];
    let m = balancedPlacements(asInput(new Map(), mixed), ['A', 'B']);
    m = balancedPlacements(asInput(m, mixed), three);
    assert.ok(totalSpread(m, three) <= 1, JSON.stringify(totals(m, three)));
    for (const owners of m.values()) assert.ok(indexSpread(owners, three) <= 1, owners.join());
    // No live node: every index keeps its owners.
    assert.deepEqual(balancedPlacements(asInput(m, mixed), []), m);
  });

  it('merges range search answers: every shard\'s results of each query, by ascending id', () => {
    const a = { lims: BigUint64Array.from([0n, 2n, 2n, 3n]), distances: Float32Array.from([0.5, 0.1, 0.7]), labels: BigInt64Array.from([8n, 3n, 4n]) };
    const b = { lims: BigUint64Array.from([0n, 1n, 1n, 2n]), distances: Float32Array.from([0.2, 0.3]), labels: BigInt64Array.from([5n, 1n]) };
    const r = mergeRanges([a, b], 3);
    assert.deepEqual([...r.lims], [0n, 3n, 3n, 5n]);
    assert.deepEqual([...r.labels], [3n, 5n, 8n, 1n, 4n]);
    assert.deepEqual([...r.distances], [0.1, 0.2, 0.5, 0.3, 0.7].map(Math.fround));
    const hamming = mergeRanges([{ lims: BigUint64Array.from([0n, 1n]), distances: Int32Array.from([3]), labels: BigInt64Array.from([2n]) }], 1);
    assert.ok(hamming.distances instanceof Int32Array);
  });

  it('merges top-k lists: nearest first, -1 padding with the filler distance, IP largest first', () => {
    const F = 3.4028234663852886e38;
    const a = { distances: Float32Array.from([1, 4, F]), labels: BigInt64Array.from([10n, 11n, -1n]) };
    const b = { distances: Float32Array.from([2, F, F]), labels: BigInt64Array.from([20n, -1n, -1n]) };
    const l2 = mergeTopK([a, b], 1, 3, METRIC_L2);
    assert.deepEqual([...l2.labels], [10n, 20n, 11n]);
    const four = mergeTopK([a, b], 1, 3, METRIC_L2);
    assert.deepEqual([...four.distances], [1, 2, 4]);
    const short = mergeTopK([{ distances: Float32Array.from([1, F]), labels: BigInt64Array.from([3n, -1n]) }, { distances: Float32Array.from([F, F]), labels: BigInt64Array.from([-1n, -1n]) }], 1, 2, METRIC_L2);
    assert.deepEqual([...short.labels], [3n, -1n]);
    assert.deepEqual([...short.distances], [1, Math.fround(F)]);
    const ip = mergeTopK([{ distances: Float32Array.from([9, 5, 1]), labels: BigInt64Array.from([1n, 2n, 5n]) }, { distances: Float32Array.from([9, 7, 6]), labels: BigInt64Array.from([4n, 3n, 6n]) }], 1, 3, METRIC_INNER_PRODUCT);
    assert.deepEqual([...ip.labels], [4n, 1n, 3n], 'equal inner products: the larger label first, as FAISS lists them');
    const hamming = mergeTopK([{ distances: Int32Array.from([3]), labels: BigInt64Array.from([1n]) }, { distances: Int32Array.from([2]), labels: BigInt64Array.from([2n]) }], 1, 1, METRIC_L2);
    assert.ok(hamming.distances instanceof Int32Array);
    assert.deepEqual([...hamming.labels], [2n]);
  });
});

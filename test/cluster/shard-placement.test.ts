// The pure parts of sharded indexes (domain/shards.ts): which shard an id goes
// to, where shards are placed as nodes come and go, and the top-k merge's
// padding and order. (Against FAISS itself: test/cluster/shards.test.ts.)
import { strict as assert } from 'node:assert';
import { balancedPlacement, mergeTopK, pointShardsOf, shardsOf } from '../../service/domain/shards';
import { METRIC_INNER_PRODUCT, METRIC_L2 } from '../../lib';

/** shardsOf of [0, 1, 2, -1, 2^40, 123456789] over 7 shards, as first computed: where stored points live depends on it. */
const PINNED = [6, 5, 5, 1, 5, 4];

const counts = (owners: string[]): Record<string, number> => owners.reduce((c, o) => ({ ...c, [o]: (c[o] ?? 0) + 1 }), {} as Record<string, number>);
const spread = (owners: string[]): number => Math.max(...Object.values(counts(owners))) - Math.min(...Object.values(counts(owners)));

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

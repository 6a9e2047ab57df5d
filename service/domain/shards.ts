// What a sharded index (a cluster's "shards": N, docs/cluster.md) is made of,
// as pure functions: which shard a vector's id belongs to, the storage id of a
// shard (its stream, snapshots and files), which node owns each shard
// (placement: balanced, moving as few shards as it can when nodes join or
// leave), and how the shards' top-k answers merge into the one answer a single
// index would give.
import { METRIC_INNER_PRODUCT } from '../../lib';

/** The most shards an index may have (each is a stream of its own in JetStream). */
export const MAX_SHARDS = 64;

/** murmur3's 32-bit finalizer: every input bit moves every output bit. */
function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * The shard of each id, out of `n`: a hash of the id's 64 bits, so that
 * consecutive ids spread evenly. Stored data depends on it: it never changes.
 */
export function shardsOf(ids: BigInt64Array, n: number): Uint32Array {
  const words = new Uint32Array(ids.buffer, ids.byteOffset, ids.length * 2);
  const out = new Uint32Array(ids.length);
  for (let i = 0; i < ids.length; i++) out[i] = fmix32(words[2 * i] ^ fmix32(words[2 * i + 1] ^ 0x9e3779b9)) % n;
  return out;
}

/**
 * The shard of each point id (a collection's string id), out of `n`: a hash of
 * its UTF-16 code units. Stored data depends on it: it never changes.
 */
export function pointShardsOf(ids: readonly string[], n: number): Uint32Array {
  return Uint32Array.from(ids, (id) => hashOf(`p/${id}`) % n);
}

/** The storage id of shard `i` of the index whose storage id is `id` (its stream is FP_<this>). */
export const shardStorageId = (id: string, i: number): string => `${id}-s${i}`;

/** A string's hash, for ordering nodes differently per index (placement's tie-break). */
function hashOf(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return fmix32(h);
}

/** A sharded index as placement sees it: its storage id, its shard count and its owners so far (undefined: none yet). */
export interface PlacedIndex {
  id: string;
  shards: number;
  owners: readonly string[] | undefined;
}

/**
 * The owner of every shard of every sharded index among the `live` nodes,
 * balanced over the nodes as a whole (not index by index: many 2-shard indexes
 * would otherwise all land on the same two nodes), moving as few shards as it
 * can:
 * 1. every shard keeps its owner while that owner is live;
 * 2. a shard with no live owner goes to the node holding fewest of its index's
 *    shards, of those the one holding fewest shards in all;
 * 3. an index whose shards are spread unevenly (two nodes' counts of it differ
 *    by more than one: a node joined) moves one at a time from the node holding
 *    most of it to the one holding fewest (of equal ones, the node holding most
 *    shards in all gives, the one holding fewest takes);
 * 4. while two nodes' totals differ by more than one, the node holding most
 *    gives the one holding fewest a shard of the index it holds most more of
 *    than the taker does (there is one: it holds more in all), which keeps that
 *    index spread as evenly as it was.
 * Ties go by a hash of the index and node names, so that indexes do not all put
 * their extra shards on the same node. The same inputs (in any order) give the
 * same placement on every node. With no live node, each index keeps its owners.
 */
export function balancedPlacements(indexes: readonly PlacedIndex[], live: readonly string[]): Map<string, string[]> {
  const placed = new Map<string, string[]>();
  if (live.length === 0) {
    for (const ix of indexes) placed.set(ix.id, [...(ix.owners ?? [])]);
    return placed;
  }
  // Nodes by number (in name order), counts in typed arrays: the coordinator runs this every second over every index.
  const names = [...new Set(live)].sort();
  const N = names.length;
  const number = new Map(names.map((n, i) => [n, i]));
  const all = [...indexes].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const total = new Int32Array(N);
  /** count[x * N + n]: index x's shards on node n. */
  const count = new Int32Array(all.length * N);
  /** Each index's owner of each shard, by number (-1: none live). */
  const owners = all.map((ix, x) =>
    Int32Array.from({ length: ix.shards }, (_, i) => {
      const n = ix.owners?.[i] === undefined ? -1 : (number.get(ix.owners[i]) ?? -1);
      if (n >= 0) {
        count[x * N + n]++;
        total[n]++;
      }
      return n;
    }),
  );
  const move = (x: number, shard: number, to: number): void => {
    const from = owners[x][shard];
    if (from >= 0) {
      count[x * N + from]--;
      total[from]--;
    }
    owners[x][shard] = to;
    count[x * N + to]++;
    total[to]++;
  };
  const lastOn = (o: Int32Array, n: number): number => o.lastIndexOf(n);
  for (let x = 0; x < all.length; x++) {
    const o = owners[x];
    const c = (n: number): number => count[x * N + n];
    let lo = c(0);
    let hi = c(0);
    for (let n = 1; n < N; n++) [lo, hi] = [Math.min(lo, c(n)), Math.max(hi, c(n))];
    if (hi - lo <= 1 && !o.includes(-1)) continue; // placed, and spread within one: as it is
    // This index's tie-break order of the nodes.
    const order = [...names.keys()].sort((a, b) => hashOf(`${all[x].id}/${names[a]}`) - hashOf(`${all[x].id}/${names[b]}`) || a - b);
    const fewest = (): number => order.reduce((b, n) => (c(n) < c(b) || (c(n) === c(b) && total[n] < total[b]) ? n : b));
    const most = (): number => order.reduce((b, n) => (c(n) > c(b) || (c(n) === c(b) && total[n] > total[b]) ? n : b));
    // 2: the shards with no live owner.
    for (let i = 0; i < o.length; i++) if (o[i] < 0) move(x, i, fewest());
    // 3: this index spread within one.
    for (;;) {
      const from = most();
      const to = fewest();
      if (c(from) - c(to) <= 1) break;
      move(x, lastOn(o, from), to);
    }
  }
  // 4: the totals within one.
  for (;;) {
    let from = 0;
    let to = 0;
    for (let n = 1; n < N; n++) {
      if (total[n] > total[from]) from = n;
      if (total[n] < total[to]) to = n;
    }
    if (total[from] - total[to] <= 1) break;
    let pick = -1;
    let gain = 0;
    for (let x = 0; x < all.length; x++) {
      const g = count[x * N + from] - count[x * N + to];
      if (g > gain) [pick, gain] = [x, g];
    }
    move(pick, lastOn(owners[pick], from), to);
  }
  all.forEach((ix, x) => placed.set(ix.id, Array.from(owners[x], (n) => names[n])));
  return placed;
}

/** One shard's top-k answer: nq x k, row-major, label -1 where it had fewer than k. */
export interface ShardAnswer {
  distances: Float32Array | Int32Array;
  labels: BigInt64Array;
}

/**
 * The top-k of each query over every shard's top-k, as one index holding every
 * shard's vectors answers: nearest first (IP: largest first), -1 labels (with
 * the shards' own filler distance) where fewer than k exist in all. Of equal
 * distances, what FAISS 1.7.3's heaps keep in one flat index (whose labels are
 * its positions; utils/ordered_key_value.h cmp2): L2 and the other distances,
 * the smallest labels, listed smallest first (its max-heap evicts the largest
 * label of equal ones first, and one met later is not let in); IP, the largest
 * labels, listed largest first (its min-heap evicts the smallest label of equal
 * ones first). For IP that is FAISS's answer when the tied vectors entered its
 * heap before its threshold reached their distance; one met only after keeps
 * the first met instead (docs/cluster.md).
 */
export function mergeTopK(answers: readonly ShardAnswer[], nq: number, k: number, metric: number): ShardAnswer {
  const similarity = metric === METRIC_INNER_PRODUCT;
  const Distances = answers[0].distances instanceof Int32Array ? Int32Array : Float32Array;
  const distances = new Distances(nq * k);
  const labels = new BigInt64Array(nq * k).fill(-1n);
  const order = similarity
    ? (a: Candidate, b: Candidate): number => (a.d !== b.d ? b.d - a.d : a.l < b.l ? 1 : a.l > b.l ? -1 : 0)
    : (a: Candidate, b: Candidate): number => (a.d !== b.d ? a.d - b.d : a.l < b.l ? -1 : a.l > b.l ? 1 : 0);
  const candidates: Candidate[] = [];
  for (let q = 0; q < nq; q++) {
    candidates.length = 0;
    let filler: number | undefined;
    for (const a of answers) {
      for (let j = q * k; j < (q + 1) * k; j++) {
        if (a.labels[j] === -1n) filler ??= a.distances[j];
        else candidates.push({ d: a.distances[j], l: a.labels[j] });
      }
    }
    candidates.sort(order);
    const kept = Math.min(k, candidates.length);
    for (let j = 0; j < kept; j++) {
      distances[q * k + j] = candidates[j].d;
      labels[q * k + j] = candidates[j].l;
    }
    for (let j = kept; j < k; j++) distances[q * k + j] = filler ?? 0;
  }
  return { distances, labels };
}

interface Candidate {
  d: number;
  l: bigint;
}

/** One shard's range search answer: query i's results at [lims[i], lims[i + 1]). */
export interface ShardRanges {
  lims: BigUint64Array;
  distances: Float32Array | Int32Array;
  labels: BigInt64Array;
}

/**
 * Every shard's results of each query, together, listed by ascending id (equal
 * ids: as their shard listed them). One Flat index lists a query's results in
 * the order its vectors were added (FAISS scans them in that order), so this is
 * its answer when they were added by ascending id; no other order can be
 * rebuilt from the shards, which do not know the order of adds across shards.
 */
export function mergeRanges(answers: readonly ShardRanges[], nq: number): ShardRanges {
  const Distances = answers[0].distances instanceof Int32Array ? Int32Array : Float32Array;
  const total = answers.reduce((s, a) => s + a.labels.length, 0);
  const lims = new BigUint64Array(nq + 1);
  const distances = new Distances(total);
  const labels = new BigInt64Array(total);
  let at = 0;
  for (let q = 0; q < nq; q++) {
    const start = at;
    for (const a of answers) {
      const from = Number(a.lims[q]);
      const to = Number(a.lims[q + 1]);
      labels.set(a.labels.subarray(from, to), at);
      distances.set(a.distances.subarray(from, to), at);
      at += to - from;
    }
    const order = Array.from({ length: at - start }, (_, i) => start + i);
    order.sort((i, j) => (labels[i] < labels[j] ? -1 : labels[i] > labels[j] ? 1 : i - j));
    const l = order.map((i) => labels[i]);
    const d = order.map((i) => distances[i]);
    labels.set(l, start);
    distances.set(d, start);
    lims[q + 1] = BigInt(at);
  }
  return { lims, distances, labels };
}

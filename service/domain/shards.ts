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

/**
 * The owner of each of `shards` shards among the `live` nodes: every shard keeps
 * its owner while that owner is live, a shard whose owner is gone (or that has
 * none) goes to the live node owning fewest of this index's shards, and then
 * shards move one at a time from the node owning most to the node owning fewest
 * until they differ by at most one (a node joining takes its share). Ties go by
 * a hash of the index and node names, so that indexes do not all put their extra
 * shards on the same node. The same inputs give the same placement on every node.
 */
export function balancedPlacement(index: string, shards: number, live: readonly string[], previous: readonly string[] | undefined): string[] {
  if (live.length === 0) return previous ? [...previous] : [];
  const order = [...live].sort((a, b) => hashOf(`${index}/${a}`) - hashOf(`${index}/${b}`) || (a < b ? -1 : 1));
  const owners: (string | undefined)[] = Array.from({ length: shards }, (_, i) => (previous?.[i] !== undefined && live.includes(previous[i]) ? previous[i] : undefined));
  const count = new Map(order.map((n) => [n, 0]));
  for (const o of owners) if (o !== undefined) count.set(o, count.get(o)! + 1);
  const fewest = () => order.reduce((best, n) => (count.get(n)! < count.get(best)! ? n : best));
  const most = () => order.reduce((best, n) => (count.get(n)! > count.get(best)! ? n : best));
  for (let i = 0; i < shards; i++) {
    if (owners[i] !== undefined) continue;
    const n = fewest();
    owners[i] = n;
    count.set(n, count.get(n)! + 1);
  }
  for (;;) {
    const from = most();
    const to = fewest();
    if (count.get(from)! - count.get(to)! <= 1) break;
    const i = owners.lastIndexOf(from);
    owners[i] = to;
    count.set(from, count.get(from)! - 1);
    count.set(to, count.get(to)! + 1);
  }
  return owners as string[];
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

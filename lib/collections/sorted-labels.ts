// Sets of labels as sorted Float64Arrays (unique, ascending): a filter's answer
// is built from these with merges, and becomes an IDSelector in one pass.
export type Labels = Float64Array;

export const NO_LABELS: Labels = new Float64Array(0);

/** The labels of a Set whose labels were inserted in increasing order (postings, the live points). */
export const fromOrderedSet = (s: ReadonlySet<number>): Labels => Float64Array.from(s);

export function intersect(a: Labels, b: Labels): Labels {
  const out = new Float64Array(Math.min(a.length, b.length));
  let i = 0;
  let j = 0;
  let n = 0;
  while (i < a.length && j < b.length) {
    if (a[i] < b[j]) i++;
    else if (a[i] > b[j]) j++;
    else {
      out[n++] = a[i];
      i++;
      j++;
    }
  }
  return out.subarray(0, n);
}

/** `a` less the labels of `b`. */
export function difference(a: Labels, b: Labels): Labels {
  const out = new Float64Array(a.length);
  let j = 0;
  let n = 0;
  for (let i = 0; i < a.length; i++) {
    while (j < b.length && b[j] < a[i]) j++;
    if (j < b.length && b[j] === a[i]) continue;
    out[n++] = a[i];
  }
  return out.subarray(0, n);
}

/**
 * The union of any number of label sets. Few labels over a wide span are merged pairwise; otherwise a bit per
 * label of the span is set and read back in order, a byte at a time, so that a sparse span costs a byte check
 * per eight labels (bench:collections, "cold" filters: a range over many values of a numeric field).
 */
export function union(lists: readonly Labels[]): Labels {
  const present = lists.filter((l) => l.length > 0);
  if (present.length <= 1) return present[0] ?? NO_LABELS;
  let total = 0;
  let min = Infinity;
  let max = -Infinity;
  for (const l of present) {
    total += l.length;
    min = Math.min(min, l[0]);
    max = Math.max(max, l[l.length - 1]);
  }
  const span = max - min + 1;
  // A merge reads each label once per level of pairs; the bits cost a byte per eight labels of the span.
  if (total * Math.ceil(Math.log2(present.length)) * MERGE_COST_PER_BYTE < span || span > MAX_BIT_SPAN) {
    let level = present;
    while (level.length > 1) {
      const next: Labels[] = [];
      for (let i = 0; i < level.length; i += 2) next.push(i + 1 < level.length ? mergeTwo(level[i], level[i + 1]) : level[i]);
      level = next;
    }
    return level[0];
  }
  const bits = new Uint8Array((span + 7) >>> 3);
  for (const l of present) {
    for (let i = 0; i < l.length; i++) {
      const at = l[i] - min;
      bits[at >>> 3] |= 1 << (at & 7);
    }
  }
  const out = new Float64Array(total);
  let n = 0;
  for (let b = 0; b < bits.length; b++) {
    let v = bits[b];
    while (v !== 0) {
      const low = v & -v;
      out[n++] = min + b * 8 + (31 - Math.clz32(low));
      v ^= low;
    }
  }
  return out.subarray(0, n);
}

function mergeTwo(a: Labels, b: Labels): Labels {
  const out = new Float64Array(a.length + b.length);
  let i = 0;
  let j = 0;
  let n = 0;
  while (i < a.length && j < b.length) {
    const x = a[i];
    const y = b[j];
    if (x < y) {
      out[n++] = x;
      i++;
    } else if (x > y) {
      out[n++] = y;
      j++;
    } else {
      out[n++] = x;
      i++;
      j++;
    }
  }
  while (i < a.length) out[n++] = a[i++];
  while (j < b.length) out[n++] = b[j++];
  return out.subarray(0, n);
}

// A label merged costs about what this many bytes of a bit span scanned cost (measured in V8: 2,000 labels of 10
// lists over a span of 200,000 cost the same either way).
const MERGE_COST_PER_BYTE = 8;
// Bit offsets stay in 32-bit integer arithmetic.
const MAX_BIT_SPAN = 2 ** 31;

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** The labels as int64s (Index.searchSubset's, IDSelectorBatch's), without a BigInt per label where the platform allows. */
export function toInt64(labels: ArrayLike<number>): BigInt64Array {
  const out = new BigInt64Array(labels.length);
  if (!LITTLE_ENDIAN) {
    for (let i = 0; i < labels.length; i++) out[i] = BigInt(labels[i]);
    return out;
  }
  // Labels are integers in [0, 2^53): the low and the high 32 bits of each, little-endian.
  const words = new Uint32Array(out.buffer);
  for (let i = 0; i < labels.length; i++) {
    const l = labels[i];
    words[2 * i] = l >>> 0;
    words[2 * i + 1] = Math.floor(l / 4294967296);
  }
  return out;
}

/** Whether `label` is in `l` (binary search). */
export function hasLabel(l: Labels, label: number): boolean {
  let lo = 0;
  let hi = l.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (l[mid] < label) lo = mid + 1;
    else hi = mid;
  }
  return lo < l.length && l[lo] === label;
}

// Sets of labels as sorted Float64Arrays (unique, ascending): the postings of a
// payload index's values, the live labels, and labels handed to FAISS as int64s.
export type Labels = Float64Array;

export const NO_LABELS: Labels = new Float64Array(0);

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

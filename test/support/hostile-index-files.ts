// Hostile variants of a valid FAISS Flat file, which an import refuses with 400
// ERR_CORRUPT_INDEX on a single node and in a cluster alike.

/** [what it is, its bytes] for `good` (a Flat file: "IxF2", d, then ntotal as an int64) with a negative ntotal, cut short, and not a FAISS file at all. */
export function hostileFlatFiles(good: Buffer): [string, Buffer][] {
  const negative = Buffer.from(good);
  negative[15] = 0x80; // ntotal's top byte
  return [
    ['a negative ntotal', negative],
    ['a file cut short', good.subarray(0, good.length - 13)],
    ['not a FAISS file', Buffer.from('not an index at all')],
  ];
}

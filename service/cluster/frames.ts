// One message or object of the cluster's own making as bytes: a u32 (LE) length,
// a JSON header that says how long each part is, then the parts. What a shared
// snapshot is in the object store (replicated-log.ts) and what nodes send each
// other for a shard (shard-rpc.ts).

/** `header` (which must say the parts' lengths, for `unpack`'s caller) and the parts, as one buffer. */
export function pack(header: unknown, parts: readonly Uint8Array[]): Buffer {
  const json = Buffer.from(JSON.stringify(header));
  const length = Buffer.alloc(4);
  length.writeUInt32LE(json.length);
  return Buffer.concat([length, json, ...parts]);
}

/** The header of `pack`'s bytes, and the parts cut at the lengths the header gives (`lengthsOf`); a length that does not add up throws. */
export function unpack<H>(data: Uint8Array, lengthsOf: (header: H) => number[], what: string): { header: H; parts: Buffer[] } {
  const b = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const length = b.readUInt32LE(0);
  const header = JSON.parse(b.subarray(4, 4 + length).toString('utf8')) as H;
  let at = 4 + length;
  const parts = lengthsOf(header).map((n) => {
    const part = b.subarray(at, at + n);
    at += n;
    return part;
  });
  if (at !== b.length) throw new Error(`${what} of ${b.length} bytes where its header says ${at}`);
  return { header, parts };
}

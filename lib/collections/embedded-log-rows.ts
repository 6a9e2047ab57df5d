// An op of a collection as a row of the embedded collections' op log
// (embedded-store.ts): a JSON header, the vectors' bytes, and a CRC-32 of both,
// checked when the row is read back, so that a damaged row is reported instead
// of replayed as other data.
import { crc32 } from 'node:zlib';
import { FaissError } from '../errors';
import type { CollectionOp } from './collection-state';

/** An op's log row: a JSON header and the vectors' bytes, and their CRC-32. */
export interface EncodedOp {
  header: string;
  data: Buffer | null;
  crc: number;
  /** The row's size, for the snapshot threshold. */
  bytes: number;
}

export function encodeOp(op: CollectionOp): EncodedOp {
  const { x, ...rest } = op as CollectionOp & { x?: Float32Array };
  let header: string;
  try {
    header = JSON.stringify(rest);
  } catch (e) {
    // Past V8's longest string (about 512 MiB of JSON): nothing was applied yet.
    throw new FaissError(`The op is too large to log (${(e as Error).message}); send it in smaller batches`, 'ERR_RESOURCE_LIMIT');
  }
  const data = x ? Buffer.from(x.buffer, x.byteOffset, x.byteLength) : null;
  return { header, data, crc: rowCrc(header, data), bytes: header.length + (data?.byteLength ?? 0) };
}

function rowCrc(header: string, data: Buffer | null): number {
  const head = crc32(header);
  return data ? crc32(data, head) : head;
}

export function decodeOp(uid: number, seq: number, header: string, data: Buffer | null, crc: number): CollectionOp {
  if (rowCrc(header, data) !== crc) throw corruptLog(uid, seq, 'checksum mismatch');
  const op = JSON.parse(header) as CollectionOp;
  if (data) {
    if (data.byteLength % 4 !== 0) throw corruptLog(uid, seq, `${data.byteLength} bytes of vectors`);
    const x = new Float32Array(data.byteLength / 4);
    new Uint8Array(x.buffer).set(data); // SQLite's buffer need not be 4-byte aligned
    (op as { x?: Float32Array }).x = x;
  }
  return op;
}

export function corruptLog(uid: number, seq: number, why: string): FaissError {
  return new FaissError(`The op log of collection #${uid} is damaged at op ${seq} (${why}); it was not loaded`, 'ERR_CORRUPT_INDEX');
}

// A collection's snapshot in one file: FAISS's serialized index and the points'
// bytes (CollectionState.serializePoints), framed and checksummed, so that
// opening a collection reads it back instead of rebuilding the index from its
// vectors. The file is written beside its final name, fsynced, renamed over it
// and the directory fsynced: a crash leaves the old snapshot or the new one
// whole, never a torn one. The checksum is checked before FAISS reads a byte
// (FAISS's reader trusts its input: a flipped byte would load as wrong vectors).
//
// Layout: "FPCSNAP1" | u32 version | u32 0 | f64 seq | f64 index bytes |
// f64 points bytes | index | points | u32 CRC-32 of everything before it.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { crc32 } from 'node:zlib';
import { FaissError } from '../errors';

const MAGIC = Buffer.from('FPCSNAP1', 'latin1');
const VERSION = 1;
const HEADER_BYTES = 8 + 4 + 4 + 8 * 3;
const TRAILER_BYTES = 4;

export interface SnapshotContents {
  /** The op log position the snapshot includes: every op up to it. */
  seq: number;
  index: Uint8Array;
  points: Uint8Array;
}

/** An I/O failure of the collection store, as the embedded API reports it. */
export function ioError(what: string, e: unknown): FaissError {
  return new FaissError(`${what} failed: ${(e as Error)?.message ?? String(e)}`, 'ERR_IO');
}

function damaged(file: string, why: string): FaissError {
  return new FaissError(`The collection snapshot ${path.basename(file)} is damaged (${why}); it was not loaded`, 'ERR_CORRUPT_INDEX');
}

/** Writes the snapshot to `file` atomically (tmp, fsync, rename, fsync the directory). */
export async function writeSnapshot(file: string, s: SnapshotContents): Promise<void> {
  const header = Buffer.alloc(HEADER_BYTES);
  MAGIC.copy(header, 0);
  header.writeUInt32LE(VERSION, 8);
  header.writeDoubleLE(s.seq, 16);
  header.writeDoubleLE(s.index.byteLength, 24);
  header.writeDoubleLE(s.points.byteLength, 32);
  const trailer = Buffer.alloc(TRAILER_BYTES);
  trailer.writeUInt32LE(crc32(s.points, crc32(s.index, crc32(header))));
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    const handle = await fs.promises.open(tmp, 'w');
    try {
      for (const part of [header, s.index, s.points, trailer]) await writeAll(handle, part);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await fs.promises.rename(tmp, file);
    await syncDirectory(path.dirname(file));
  } catch (e) {
    await fs.promises.rm(tmp, { force: true }).catch(() => undefined);
    throw ioError(`Writing the collection snapshot ${path.basename(file)}`, e);
  }
}

/** Reads and verifies a snapshot; ERR_CORRUPT_INDEX when it is not what was written, ERR_IO when it cannot be read. */
export async function readSnapshot(file: string, expectedSeq: number): Promise<SnapshotContents> {
  let bytes: Buffer;
  try {
    bytes = await fs.promises.readFile(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw damaged(file, 'the file is missing');
    throw ioError(`Reading the collection snapshot ${path.basename(file)}`, e);
  }
  if (bytes.length < HEADER_BYTES + TRAILER_BYTES) throw damaged(file, `${bytes.length} bytes, shorter than its header`);
  if (!bytes.subarray(0, 8).equals(MAGIC)) throw damaged(file, 'not a collection snapshot');
  const version = bytes.readUInt32LE(8);
  if (version !== VERSION) throw damaged(file, `format version ${version}, this library reads ${VERSION}`);
  const seq = bytes.readDoubleLE(16);
  const indexBytes = bytes.readDoubleLE(24);
  const pointsBytes = bytes.readDoubleLE(32);
  const expected = HEADER_BYTES + indexBytes + pointsBytes + TRAILER_BYTES;
  if (!Number.isSafeInteger(indexBytes) || !Number.isSafeInteger(pointsBytes) || expected !== bytes.length) {
    throw damaged(file, `${bytes.length} bytes where its header says ${expected}`);
  }
  const body = bytes.subarray(0, bytes.length - TRAILER_BYTES);
  if (crc32(body) !== bytes.readUInt32LE(bytes.length - TRAILER_BYTES)) throw damaged(file, 'checksum mismatch');
  if (seq !== expectedSeq) throw damaged(file, `it holds the ops up to ${seq}, the catalog says ${expectedSeq}`);
  return {
    seq,
    index: bytes.subarray(HEADER_BYTES, HEADER_BYTES + indexBytes),
    points: bytes.subarray(HEADER_BYTES + indexBytes, HEADER_BYTES + indexBytes + pointsBytes),
  };
}

async function writeAll(handle: fs.promises.FileHandle, bytes: Uint8Array): Promise<void> {
  for (let done = 0; done < bytes.byteLength; ) done += (await handle.write(bytes, done, bytes.byteLength - done)).bytesWritten;
}

/** Makes a rename or an unlink in `dir` durable. */
export async function syncDirectory(dir: string): Promise<void> {
  const handle = await fs.promises.open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

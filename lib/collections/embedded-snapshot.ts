// A collection's snapshot: two files named after the collection and the op log
// position they hold (<uid>.<seq>), so that opening a collection reads them
// back instead of rebuilding the index from its vectors.
//
//   <base>.faissindex  FAISS's own file, written by writeIndex (FAISS writes it
//                      itself, fsynced, renamed into place: no copy of a large
//                      index in JS memory, no 2 GiB limit of a JS read)
//   <base>.points      "FPCPTS01" | u32 version | u32 0 | f64 seq | f64 index
//                      file bytes | u32 index file CRC-32 | u32 0 | f64 points
//                      bytes | points (CollectionState.serializePoints) | u32
//                      CRC-32 of everything before it
//
// The points file is written last (tmp, fsync, rename, fsync the directory):
// it holds the index file's length and checksum, both checked before FAISS
// reads a byte (FAISS's reader trusts its input: a flipped byte would load as
// wrong vectors). A crash leaves files that no collection refers to, which
// the next open removes.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { crc32 } from 'node:zlib';
import { FaissError } from '../errors';
import type { Index } from '../faiss-index';
import { readIndex, writeIndex } from '../io';
import { fileChecksum } from '../file-checksum';

const MAGIC = Buffer.from('FPCPTS01', 'latin1');
const VERSION = 1;
const HEADER_BYTES = 8 + 4 + 4 + 8 + 8 + 4 + 4 + 8;
const TRAILER_BYTES = 4;

export const snapshotFiles = (base: string): { index: string; points: string } => ({ index: `${base}.faissindex`, points: `${base}.points` });

/** Removes a snapshot's files (a failure leaves orphans the next open removes). */
export async function removeSnapshot(base: string): Promise<void> {
  const files = snapshotFiles(base);
  await Promise.all([files.index, files.points].map((f) => fs.promises.rm(f, { force: true }).catch(() => undefined)));
}

/** An I/O failure of the collection store, as the embedded API reports it. */
export function ioError(what: string, e: unknown): FaissError {
  if (e instanceof FaissError && (e.code === 'ERR_IO' || e.code === 'ERR_CORRUPT_INDEX')) return e;
  return new FaissError(`${what} failed: ${(e as Error)?.message ?? String(e)}`, 'ERR_IO');
}

function damaged(file: string, why: string): FaissError {
  return new FaissError(`The collection snapshot ${path.basename(file)} is damaged (${why}); it was not loaded`, 'ERR_CORRUPT_INDEX');
}

/** Writes the snapshot `base` (a path without extension) of `index` and `points` as of op `seq`. */
export async function writeSnapshot(base: string, s: { seq: number; index: Index; points: Uint8Array }): Promise<void> {
  const files = snapshotFiles(base);
  const tmp = `${files.points}.${process.pid}.tmp`;
  try {
    await writeIndex(s.index, files.index);
    const sum = await fileChecksum(files.index);
    const header = Buffer.alloc(HEADER_BYTES);
    MAGIC.copy(header, 0);
    header.writeUInt32LE(VERSION, 8);
    header.writeDoubleLE(s.seq, 16);
    header.writeDoubleLE(sum.bytes, 24);
    header.writeUInt32LE(sum.crc32, 32);
    header.writeDoubleLE(s.points.byteLength, 40);
    const trailer = Buffer.alloc(TRAILER_BYTES);
    trailer.writeUInt32LE(crc32(s.points, crc32(header)));
    const handle = await fs.promises.open(tmp, 'w');
    try {
      for (const part of [header, s.points, trailer]) await writeAll(handle, part);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await fs.promises.rename(tmp, files.points);
    await syncDirectory(path.dirname(base));
  } catch (e) {
    await fs.promises.rm(tmp, { force: true }).catch(() => undefined);
    throw ioError(`Writing the collection snapshot ${path.basename(base)}`, e);
  }
}

/**
 * Reads and verifies the snapshot `base`: the points file whole, the index file's
 * length and checksum, then the index. ERR_CORRUPT_INDEX when it is not what was
 * written, ERR_IO when it cannot be read.
 */
export async function readSnapshot(base: string, expectedSeq: number): Promise<{ index: Index; points: Uint8Array }> {
  const files = snapshotFiles(base);
  const bytes = await readWhole(files.points);
  if (bytes.length < HEADER_BYTES + TRAILER_BYTES) throw damaged(files.points, `${bytes.length} bytes, shorter than its header`);
  if (!bytes.subarray(0, 8).equals(MAGIC)) throw damaged(files.points, 'not a collection snapshot');
  const body = bytes.subarray(0, bytes.length - TRAILER_BYTES);
  if (crc32(body) !== bytes.readUInt32LE(bytes.length - TRAILER_BYTES)) throw damaged(files.points, 'checksum mismatch');
  const version = bytes.readUInt32LE(8);
  if (version !== VERSION) throw damaged(files.points, `format version ${version}, this library reads ${VERSION}`);
  const seq = bytes.readDoubleLE(16);
  const pointsBytes = bytes.readDoubleLE(40);
  if (HEADER_BYTES + pointsBytes + TRAILER_BYTES !== bytes.length) throw damaged(files.points, `${bytes.length} bytes where its header says otherwise`);
  if (seq !== expectedSeq) throw damaged(files.points, `it holds the ops up to ${seq}, the catalog says ${expectedSeq}`);
  const expected = { bytes: bytes.readDoubleLE(24), crc: bytes.readUInt32LE(32) };
  const sum = await fileChecksum(files.index).catch((e: unknown) => {
    throw (e as NodeJS.ErrnoException).code === 'ENOENT' ? damaged(files.index, 'the file is missing') : ioError(`Reading ${path.basename(files.index)}`, e);
  });
  if (sum.bytes !== expected.bytes) throw damaged(files.index, `${sum.bytes} bytes where ${expected.bytes} were written`);
  if (sum.crc32 !== expected.crc) throw damaged(files.index, 'checksum mismatch');
  let index: Index;
  try {
    // Trusted: its checksum has just been verified, and the sandbox's check would cost a process.
    index = await readIndex(files.index, { trusted: true });
  } catch (e) {
    throw damaged(files.index, `FAISS cannot read it: ${(e as Error).message}`);
  }
  return { index, points: bytes.subarray(HEADER_BYTES, HEADER_BYTES + pointsBytes) };
}

async function readWhole(file: string): Promise<Buffer> {
  let handle: fs.promises.FileHandle;
  try {
    handle = await fs.promises.open(file, 'r');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw damaged(file, 'the file is missing');
    throw ioError(`Reading ${path.basename(file)}`, e);
  }
  try {
    // Read in chunks into one buffer: fs.readFile stops at 2 GiB.
    const { size } = await handle.stat();
    const out = Buffer.allocUnsafe(size);
    for (let done = 0; done < size; ) {
      const { bytesRead } = await handle.read(out, done, Math.min(size - done, 1 << 30), done);
      if (bytesRead === 0) throw damaged(file, 'it shrank while being read');
      done += bytesRead;
    }
    return out;
  } catch (e) {
    throw e instanceof FaissError ? e : ioError(`Reading ${path.basename(file)}`, e);
  } finally {
    await handle.close();
  }
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

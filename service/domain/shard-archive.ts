// A sharded index's export when its shards cannot be merged into one FAISS
// index (docs/cluster.md "Export and import of a sharded index"): every shard's
// own FAISS file, whole, behind a manifest with each file's length and SHA-256.
// Import restores it shard for shard into a sharded index of as many shards.
// The layout (little-endian):
//   8 bytes   "FPSHARDS"
//   u32       n: the manifest's length in bytes (at most MAX_MANIFEST_BYTES)
//   n bytes   the manifest, JSON: { "format": 1, "shards": N, "factory": "...",
//             "dimension": d, "metric": "L2", "files": [{ "bytes": b, "sha256": "<hex>" }, ...] }
//   then the N files, shard 0 first, each exactly its `bytes` long; nothing after.
// Pure functions: knows nothing of FAISS, shards' owners or HTTP.
import { createHash } from 'node:crypto';
import { FaissError } from '../../lib';
import { MAX_SHARDS } from './shards';

export const SHARD_ARCHIVE_MAGIC = Buffer.from('FPSHARDS', 'latin1');
/** Far above any real manifest (64 shards' lengths and digests): a larger one is hostile. */
const MAX_MANIFEST_BYTES = 64 * 1024;
/** The manifest's format number: a reader refuses any other. */
const FORMAT = 1;

/** What the manifest says of the index the files came from (checked against the index an archive goes into). */
export interface ShardArchiveIndex {
  factory: string;
  dimension: number;
  /** As docs/http-api.md names metrics: "L2", "IP", ... */
  metric: string;
}

export interface ShardArchive extends ShardArchiveIndex {
  /** Shard i's own FAISS file (unchecked: the sandbox reads it next). */
  files: Uint8Array[];
}

const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

/** Whether `bytes` starts as an archive of shards does (else: one FAISS file). */
export function isShardArchive(bytes: Uint8Array): boolean {
  return bytes.length >= SHARD_ARCHIVE_MAGIC.length && SHARD_ARCHIVE_MAGIC.equals(bytes.subarray(0, SHARD_ARCHIVE_MAGIC.length));
}

/** The archive of `files` (shard 0 first). */
export function encodeShardArchive(index: ShardArchiveIndex, files: readonly Uint8Array[]): Buffer {
  const manifest = Buffer.from(
    JSON.stringify({ format: FORMAT, shards: files.length, factory: index.factory, dimension: index.dimension, metric: index.metric, files: files.map((f) => ({ bytes: f.length, sha256: sha256(f) })) }),
  );
  const length = Buffer.alloc(4);
  length.writeUInt32LE(manifest.length);
  return Buffer.concat([SHARD_ARCHIVE_MAGIC, length, manifest, ...files]);
}

const corrupt = (why: string): FaissError => new FaissError(`Not a sharded index's archive (docs/cluster.md): ${why}`, 'ERR_CORRUPT_INDEX');

/**
 * The files of an archive, each checked against the manifest's length and
 * SHA-256; anything else (truncated, padded, a manifest that lies or is not
 * JSON, a digest that differs) is ERR_CORRUPT_INDEX.
 */
export function decodeShardArchive(bytes: Uint8Array): ShardArchive {
  if (!isShardArchive(bytes)) throw corrupt('it does not start with FPSHARDS');
  const head = SHARD_ARCHIVE_MAGIC.length + 4;
  if (bytes.length < head) throw corrupt('it ends within its header');
  const n = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).readUInt32LE(SHARD_ARCHIVE_MAGIC.length);
  if (n > MAX_MANIFEST_BYTES) throw corrupt(`its manifest of ${n} bytes is over ${MAX_MANIFEST_BYTES}`);
  if (bytes.length < head + n) throw corrupt('it ends within its manifest');
  let m: unknown;
  try {
    m = JSON.parse(Buffer.from(bytes.subarray(head, head + n)).toString('utf8'));
  } catch {
    throw corrupt('its manifest is not JSON');
  }
  const o = m as { format?: unknown; shards?: unknown; factory?: unknown; dimension?: unknown; metric?: unknown; files?: unknown };
  if (typeof o !== 'object' || o === null || Array.isArray(o)) throw corrupt('its manifest is not an object');
  if (o.format !== FORMAT) throw corrupt(`format ${JSON.stringify(o.format)} is not ${FORMAT}`);
  if (!Number.isInteger(o.shards) || (o.shards as number) < 2 || (o.shards as number) > MAX_SHARDS) throw corrupt(`shards ${JSON.stringify(o.shards)} is not an integer from 2 to ${MAX_SHARDS}`);
  if (typeof o.factory !== 'string' || typeof o.metric !== 'string' || !Number.isInteger(o.dimension) || (o.dimension as number) < 1) throw corrupt('its manifest lacks the factory, dimension or metric');
  if (!Array.isArray(o.files) || o.files.length !== o.shards) throw corrupt(`it lists ${Array.isArray(o.files) ? o.files.length : 'no'} files for ${o.shards} shards`);
  const files: Uint8Array[] = [];
  let at = head + n;
  for (const [i, f] of (o.files as unknown[]).entries()) {
    const { bytes: length, sha256: digest } = (f ?? {}) as { bytes?: unknown; sha256?: unknown };
    if (!Number.isSafeInteger(length) || (length as number) < 1 || typeof digest !== 'string' || !/^[0-9a-f]{64}$/.test(digest)) throw corrupt(`file ${i}'s length or SHA-256 is malformed`);
    if (at + (length as number) > bytes.length) throw corrupt(`it ends within file ${i}`);
    const file = bytes.subarray(at, at + (length as number));
    if (sha256(file) !== digest) throw corrupt(`file ${i}'s SHA-256 differs from its manifest's`);
    files.push(file);
    at += length as number;
  }
  if (at !== bytes.length) throw corrupt(`${bytes.length - at} bytes follow its last file`);
  return { factory: o.factory, dimension: o.dimension as number, metric: o.metric, files };
}

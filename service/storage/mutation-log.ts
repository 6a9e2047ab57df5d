// The write-ahead log of one index: every acknowledged mutation, each record with
// a sequence number and a CRC32, flushed to disk (fdatasync) before the request
// is acknowledged. Concurrent writers share flushes (group commit): records that
// arrive while a flush runs go out together in the next one.
//
// Record: magic u32 'FPWL' | body length u32 | seq u64 | crc32(seq, body) u32 | body
// Body:   type u8 | flags u8 | reserved u16 | n u32 | d u32 | float32 n*d | int64 ids
//         | a train's k-means seed (i32) when flags has HAS_SEED
//         | idempotency key (u16 length + utf-8) when flags has HAS_KEY
//         | the request's fingerprint (u16 length + utf-8) when flags has HAS_FINGERPRINT
//           (a remove by filter, logged by its ids: domain/selected-ids.ts)
//         A binary index's rows (flags has CODES) are n codes of d / 8 bytes (d in bits)
//         in place of the float32 rows.
//         A collection's op (type 4): n is the length of a JSON header (the op without
//         its vectors: ids, payloads, ...) and d the count of float32s after it:
//         type u8 | flags u8 | reserved u16 | n u32 | d u32 | JSON n bytes | float32 d | key
//         A cluster's import (type 5): n is the length of a JSON header naming the FAISS
//         file in the object store ({ object, sha256, bytes }), d is 0.
import * as fs from 'node:fs';
import { crc32 } from 'node:zlib';
import type { AppendFile, StorageIO } from './storage-io';

/**
 * `key`: the client's idempotency key, logged so a retry is recognised even after a crash.
 * `x`: float32 vectors of dimension d, or a binary index's codes of d / 8 bytes (d in bits).
 */
export type Mutation = (
  // kmeansSeed: the seed of an IVF index's k-means (the request's; absent: FAISS's
  // default), logged so that every replica and a replay train the same centroids.
  | { type: 'train'; x: Float32Array | Uint8Array; d: number; kmeansSeed?: number }
  | { type: 'add'; x: Float32Array | Uint8Array; d: number; ids?: BigInt64Array }
  // fingerprint: the idempotency fingerprint of the request when it was not this
  // remove of ids but a remove by filter (domain/idempotency.ts), so that a retry
  // after a restart is still told from another request.
  | { type: 'remove'; ids: BigInt64Array; fingerprint?: string }
  | { type: 'reset' }
  /**
   * A collection's op (domain/durable-collection.ts): a JSON header and its
   * vectors (an upsert's or a train's), the state machine's to interpret.
   */
  | { type: 'collection'; header: CollectionRecordHeader; x?: Float32Array }
  /**
   * A cluster's import of a FAISS index file (replicated-log.ts): the file is in
   * the object store under `object` (too large for a message), `bytes` long with
   * SHA-256 `sha256`; applying it replaces the index wholesale. Only a cluster's
   * streams hold it (a single node's import writes a snapshot: durable.ts).
   */
  | ({ type: 'import' } & ImportedFile)
) & { key?: string };

/** Where a cluster's imported FAISS file is, and what it must be. */
export interface ImportedFile {
  object: string;
  sha256: string;
  bytes: number;
}

/** The JSON part of a collection's log record: `op` names the operation; the rest is its arguments. */
export interface CollectionRecordHeader {
  op: string;
  [field: string]: unknown;
}

export interface LogRecord {
  seq: number;
  mutation: Mutation;
}

const MAGIC = 0x4c575046; // "FPWL" little-endian
const HEADER = 20;
const BODY_HEADER = 12;
const TYPES = ['train', 'add', 'remove', 'reset', 'collection', 'import'] as const;
const HAS_IDS = 1;
const HAS_KEY = 2;
const CODES = 4;
const HAS_FINGERPRINT = 8;
const HAS_SEED = 16;

/** Bytes of one row of `x` in a record (flags has CODES: a code of d / 8 bytes; else d float32s). */
const rowBytes = (d: number, flags: number): number => ((flags & CODES) !== 0 ? d / 8 : d * 4);

export class LogCorruptError extends Error {
  constructor(file: string, offset: number, why: string) {
    super(`The log ${file} is corrupt at byte ${offset} (${why}); refusing to guess what it held`);
    this.name = 'LogCorruptError';
  }
}

const bytesOf = (a: ArrayBufferView): Buffer => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

function encode(seq: number, m: Mutation): Buffer[] {
  const bodyHeader = Buffer.alloc(BODY_HEADER);
  bodyHeader.writeUInt8(TYPES.indexOf(m.type), 0);
  const parts: Buffer[] = [bodyHeader];
  if (m.type === 'collection') {
    const header = Buffer.from(JSON.stringify(m.header), 'utf8');
    bodyHeader.writeUInt32LE(header.length, 4);
    bodyHeader.writeUInt32LE(m.x?.length ?? 0, 8);
    parts.push(header);
    if (m.x) parts.push(bytesOf(m.x));
  }
  if (m.type === 'import') {
    const header = Buffer.from(JSON.stringify({ object: m.object, sha256: m.sha256, bytes: m.bytes }), 'utf8');
    bodyHeader.writeUInt32LE(header.length, 4);
    parts.push(header);
  }
  if (m.type === 'train' || m.type === 'add') {
    const codes = m.x instanceof Uint8Array;
    if (codes) bodyHeader.writeUInt8(CODES, 1);
    bodyHeader.writeUInt32LE(m.x.byteLength / rowBytes(m.d, codes ? CODES : 0), 4);
    bodyHeader.writeUInt32LE(m.d, 8);
    parts.push(bytesOf(m.x)); // the request's own memory, not a copy
  }
  if (m.type === 'train' && m.kmeansSeed !== undefined) {
    const seed = Buffer.alloc(4);
    seed.writeInt32LE(m.kmeansSeed);
    bodyHeader.writeUInt8(bodyHeader.readUInt8(1) | HAS_SEED, 1);
    parts.push(seed);
  }
  const ids = m.type === 'add' ? m.ids : m.type === 'remove' ? m.ids : undefined;
  if (ids) {
    bodyHeader.writeUInt8(bodyHeader.readUInt8(1) | HAS_IDS, 1);
    if (m.type === 'remove') bodyHeader.writeUInt32LE(ids.length, 4);
    parts.push(bytesOf(ids));
  }
  if (m.key !== undefined) {
    const key = Buffer.from(m.key, 'utf8');
    const length = Buffer.alloc(2);
    length.writeUInt16LE(key.length);
    bodyHeader.writeUInt8(bodyHeader.readUInt8(1) | HAS_KEY, 1);
    parts.push(length, key);
  }
  if (m.type === 'remove' && m.fingerprint !== undefined) {
    const fingerprint = Buffer.from(m.fingerprint, 'utf8');
    const length = Buffer.alloc(2);
    length.writeUInt16LE(fingerprint.length);
    bodyHeader.writeUInt8(bodyHeader.readUInt8(1) | HAS_FINGERPRINT, 1);
    parts.push(length, fingerprint);
  }
  const bodyLength = parts.reduce((s, p) => s + p.length, 0);
  const header = Buffer.alloc(HEADER);
  header.writeUInt32LE(MAGIC, 0);
  header.writeUInt32LE(bodyLength, 4);
  header.writeBigUInt64LE(BigInt(seq), 8);
  let crc = crc32(header.subarray(8, 16));
  for (const p of parts) crc = crc32(p, crc);
  header.writeUInt32LE(crc, 16);
  return [header, ...parts];
}

/** One mutation as a record's body (no header: a cluster's stream numbers and checks its messages itself; cluster/replicated-log.ts). */
export function mutationBytes(m: Mutation): Buffer {
  return Buffer.concat(encode(0, m).slice(1));
}

/** The mutation a record's body holds (mutationBytes's inverse). */
export function mutationOf(body: Buffer): Mutation {
  return decodeBody(body);
}

function decodeBody(body: Buffer): Mutation {
  const m = decodeMutation(body);
  const flags = body.readUInt8(1);
  // The key, then the fingerprint, follow the vectors and ids.
  const n = body.readUInt32LE(4);
  const d = body.readUInt32LE(8);
  let at = BODY_HEADER;
  if (m.type === 'collection') at += n + d * 4;
  if (m.type === 'import') at += n;
  if (m.type === 'train' || m.type === 'add') at += n * rowBytes(d, flags);
  if ((flags & HAS_IDS) !== 0) at += n * 8;
  if ((flags & HAS_SEED) !== 0) at += 4;
  const text = (): string => {
    const length = body.readUInt16LE(at);
    const value = body.subarray(at + 2, at + 2 + length).toString('utf8');
    at += 2 + length;
    return value;
  };
  if ((flags & HAS_KEY) !== 0) m.key = text();
  if ((flags & HAS_FINGERPRINT) !== 0 && m.type === 'remove') m.fingerprint = text();
  return m;
}

function decodeMutation(body: Buffer): Mutation {
  const type = TYPES[body.readUInt8(0)];
  const hasIds = (body.readUInt8(1) & HAS_IDS) !== 0;
  const n = body.readUInt32LE(4);
  const d = body.readUInt32LE(8);
  // Copies: the file buffer's offsets are not aligned for typed-array views.
  const floats = (count: number, at: number) => new Float32Array(new Uint8Array(body.subarray(at, at + count * 4)).buffer);
  const int64s = (count: number, at: number) => new BigInt64Array(new Uint8Array(body.subarray(at, at + count * 8)).buffer);
  const flags = body.readUInt8(1);
  const rows = (): Float32Array | Uint8Array =>
    (flags & CODES) !== 0 ? new Uint8Array(body.subarray(BODY_HEADER, BODY_HEADER + n * rowBytes(d, flags))) : floats(n * d, BODY_HEADER);
  switch (type) {
    case 'train':
      return (flags & HAS_SEED) !== 0 ? { type, x: rows(), d, kmeansSeed: body.readInt32LE(BODY_HEADER + n * rowBytes(d, flags)) } : { type, x: rows(), d };
    case 'add':
      return hasIds ? { type, x: rows(), d, ids: int64s(n, BODY_HEADER + n * rowBytes(d, flags)) } : { type, x: rows(), d };
    case 'remove':
      return { type, ids: int64s(n, BODY_HEADER) };
    case 'reset':
      return { type };
    case 'collection': {
      const header = JSON.parse(body.subarray(BODY_HEADER, BODY_HEADER + n).toString('utf8')) as CollectionRecordHeader;
      if (typeof header?.op !== 'string') throw new Error('a collection record without its op');
      return d > 0 ? { type, header, x: floats(d, BODY_HEADER + n) } : { type, header };
    }
    case 'import': {
      const file = JSON.parse(body.subarray(BODY_HEADER, BODY_HEADER + n).toString('utf8')) as ImportedFile;
      if (typeof file?.object !== 'string' || typeof file.sha256 !== 'string' || !Number.isSafeInteger(file.bytes)) throw new Error('an import record without its file');
      return { type, object: file.object, sha256: file.sha256, bytes: file.bytes };
    }
  }
  throw new Error(`unknown record type ${body.readUInt8(0)}`);
}

/** What recovery cut off the end of a log, told to operators (log line, metric, index status). */
export interface LogDamage {
  /** Where the valid records end. */
  offset: number;
  /** Bytes dropped from there to the end of the file. */
  bytes: number;
  /** Complete, checksummed records found after the damage (dropped with it: only `repair` does that). */
  recordsAfter: number;
  /** 'torn': the last record was half written (a crash mid-append, never acknowledged); 'damaged': anything else. */
  kind: 'torn' | 'damaged';
  why: string;
}

const MAGIC_BYTES = Buffer.from([0x46, 0x50, 0x57, 0x4c]);

/** Whether a whole, checksummed record starts at `at`; its end if so. */
function recordAt(data: Buffer, at: number): number | undefined {
  if (data.length - at < HEADER || data.readUInt32LE(at) !== MAGIC) return undefined;
  const end = at + HEADER + data.readUInt32LE(at + 4);
  if (end > data.length) return undefined;
  const crc = crc32(data.subarray(at + HEADER, end), crc32(data.subarray(at + 8, at + 16)));
  return crc === data.readUInt32LE(at + 16) ? end : undefined;
}

const TORN = 'a half-written last record';

/** Why no valid record starts at `at`: a torn last record, or damage. */
function damageAt(data: Buffer, at: number): string {
  const rest = data.length - at;
  if (rest < 4) return TORN;
  if (data.readUInt32LE(at) !== MAGIC) return 'bad record marker';
  if (rest < HEADER || at + HEADER + data.readUInt32LE(at + 4) >= data.length) return TORN;
  return 'checksum mismatch';
}

/** Whole, checksummed records anywhere after `from` (acknowledged writes a cut there would lose). */
function recordsAfter(data: Buffer, from: number): number {
  let count = 0;
  for (let at = data.indexOf(MAGIC_BYTES, from + 1); at >= 0; ) {
    const end = recordAt(data, at);
    if (end !== undefined) count++;
    at = data.indexOf(MAGIC_BYTES, end ?? at + 1);
  }
  return count;
}

/**
 * Reads every valid record up to the first damage. Damage with no valid record
 * after it (a torn last record, garbage or zeros a crash left at the end) is cut
 * off: `validBytes` is where the valid records end and `damage` says what was
 * dropped. Damage followed by valid records (acknowledged writes) throws
 * LogCorruptError, unless `dropRecordsAfterDamage` (faiss-proxy repair) says to
 * drop them too.
 */
export function readLog(file: string, options: { dropRecordsAfterDamage?: boolean } = {}): { records: LogRecord[]; validBytes: number; damage?: LogDamage } {
  if (!fs.existsSync(file)) return { records: [], validBytes: 0 };
  const data = fs.readFileSync(file);
  const records: LogRecord[] = [];
  let at = 0;
  let why: string | undefined;
  while (at < data.length) {
    const end = recordAt(data, at);
    if (end === undefined) {
      why = damageAt(data, at);
      break;
    }
    const seq = Number(data.readBigUInt64LE(at + 8));
    if (records.length > 0 && seq <= records[records.length - 1].seq) {
      why = 'sequence numbers go backwards';
      break;
    }
    let mutation: Mutation;
    try {
      mutation = decodeBody(data.subarray(at + HEADER, end));
    } catch (e) {
      // A checksummed record we cannot read was written by something else: never guess.
      throw new LogCorruptError(file, at, `record ${seq} cannot be decoded: ${(e as Error).message}`);
    }
    records.push({ seq, mutation });
    at = end;
  }
  if (why === undefined) return { records, validBytes: at };
  const after = recordsAfter(data, at);
  if (after > 0 && !options.dropRecordsAfterDamage) {
    throw new LogCorruptError(file, at, `${why}, with ${after} valid record(s) after it; faiss-proxy repair drops them`);
  }
  const kind = why === TORN && after === 0 ? 'torn' : 'damaged';
  return { records, validBytes: at, damage: { offset: at, bytes: data.length - at, recordsAfter: after, kind, why } };
}

interface Waiter {
  resolve: () => void;
  reject: (e: unknown) => void;
}

export class MutationLog {
  private pending: Buffer[] = [];
  private waiters: Waiter[] = [];
  private flushing: Promise<void> | null = null;
  /** Set by a failed write: what follows it on disk could not be trusted. */
  private failure: unknown = null;
  private closed = false;
  /** Bytes known to be on disk (where a failed flush is cut back to). */
  private durableSize: number;

  private constructor(
    private readonly file: AppendFile,
    private seq: number,
    private size: number,
    private readonly sync: boolean,
    private readonly onFlush: (seconds: number, records: number) => void,
  ) {
    this.durableSize = size;
  }

  /** Opens for appending after `validBytes` (a damaged tail is cut off first); onFlush hears each flush's duration. */
  static async open(
    io: StorageIO,
    file: string,
    validBytes: number,
    lastSeq: number,
    sync: boolean,
    onFlush: (seconds: number, records: number) => void = () => undefined,
  ): Promise<MutationLog> {
    const handle = await io.openAppend(file, 'log.open');
    try {
      if ((await handle.size()) !== validBytes) {
        await handle.truncate(validBytes, 'log.cut-tail');
        await handle.sync('log.sync-cut-tail');
      }
    } catch (e) {
      await handle.close().catch(() => undefined);
      throw e;
    }
    return new MutationLog(handle, lastSeq, validBytes, sync, onFlush);
  }

  get lastSeq(): number {
    return this.seq;
  }

  /** Bytes in the log (what a snapshot would let us drop). */
  get bytes(): number {
    return this.size;
  }

  /**
   * Appends in call order; the promise resolves once the record is on disk.
   * Callers append in the order they applied the mutations.
   */
  append(m: Mutation): { seq: number; durable: Promise<void> } {
    if (this.closed) return { seq: this.seq, durable: Promise.reject(new Error(`the log ${this.file.file} is closed`)) };
    if (this.failure) return { seq: this.seq, durable: Promise.reject(this.failure) };
    const seq = ++this.seq;
    const parts = encode(seq, m);
    this.pending.push(...parts);
    this.size += parts.reduce((s, p) => s + p.length, 0);
    const durable = new Promise<void>((resolve, reject) => this.waiters.push({ resolve, reject }));
    durable.catch(() => undefined); // the caller hears the failure when it awaits; until then it is not "unhandled"
    this.flushing ??= this.flushAll();
    return { seq, durable };
  }

  /** Waits until everything appended so far is on disk (or failed). */
  async drain(): Promise<void> {
    while (this.flushing) await this.flushing;
  }

  /** Empties the log after a snapshot that holds every record in it. */
  async truncate(): Promise<void> {
    await this.drain();
    if (this.failure) throw this.failure;
    await this.file.truncate(0, 'log.trim');
    await this.file.sync('log.sync-trim');
    this.size = 0;
    this.durableSize = 0;
  }

  async close(): Promise<void> {
    await this.drain();
    if (this.closed) return;
    this.closed = true;
    await this.file.close();
  }

  private async flushAll(): Promise<void> {
    while (this.pending.length > 0) {
      const buffers = this.pending;
      const waiters = this.waiters;
      this.pending = [];
      this.waiters = [];
      try {
        const started = process.hrtime.bigint();
        await this.file.append(buffers, 'log.append');
        if (this.sync) await this.file.sync('log.sync');
        this.durableSize += buffers.reduce((s, b) => s + b.length, 0);
        this.onFlush(Number(process.hrtime.bigint() - started) / 1e9, waiters.length);
        for (const w of waiters) w.resolve();
      } catch (e) {
        // Every write this flush carried, and every one queued behind it, fails
        // with the fault; none was acknowledged, so none may stay: cut the file
        // back to what was durable (best effort: on a dead disk this fails too,
        // and recovery then cuts the torn tail). The writers hear of the failure
        // only after the cut: a writer reloads from disk at once, and a reload
        // that read the file before the cut would apply a write it was told
        // failed (a failed fsync leaves the record whole in the file).
        this.failure = e;
        const failed = [...waiters, ...this.waiters];
        this.pending = [];
        this.waiters = [];
        this.size = this.durableSize;
        await this.file
          .truncate(this.durableSize, 'log.undo-failed-append')
          .then(() => this.file.sync('log.sync-undo'))
          .catch(() => undefined);
        for (const w of failed) w.reject(e);
      }
    }
    this.flushing = null;
  }
}

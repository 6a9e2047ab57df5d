// The write-ahead log of one index: every acknowledged mutation, each record with
// a sequence number and a CRC32, flushed to disk (fdatasync) before the request
// is acknowledged. Concurrent writers share flushes (group commit): records that
// arrive while a flush runs go out together in the next one.
//
// Record: magic u32 'FPWL' | body length u32 | seq u64 | crc32(seq, body) u32 | body
// Body:   type u8 | flags u8 | reserved u16 | n u32 | d u32 | float32 n*d | int64 ids
//         | idempotency key (u16 length + utf-8) when flags has HAS_KEY
import * as fs from 'node:fs';
import { crc32 } from 'node:zlib';

/** `key`: the client's idempotency key, logged so a retry is recognised even after a crash. */
export type Mutation = (
  | { type: 'train'; x: Float32Array; d: number }
  | { type: 'add'; x: Float32Array; d: number; ids?: BigInt64Array }
  | { type: 'remove'; ids: BigInt64Array }
  | { type: 'reset' }
) & { key?: string };

export interface LogRecord {
  seq: number;
  mutation: Mutation;
}

const MAGIC = 0x4c575046; // "FPWL" little-endian
const HEADER = 20;
const BODY_HEADER = 12;
const TYPES = ['train', 'add', 'remove', 'reset'] as const;
const HAS_IDS = 1;
const HAS_KEY = 2;

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
  if (m.type === 'train' || m.type === 'add') {
    bodyHeader.writeUInt32LE(m.x.length / m.d, 4);
    bodyHeader.writeUInt32LE(m.d, 8);
    parts.push(bytesOf(m.x)); // the request's own memory, not a copy
  }
  const ids = m.type === 'add' ? m.ids : m.type === 'remove' ? m.ids : undefined;
  if (ids) {
    bodyHeader.writeUInt8(HAS_IDS, 1);
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

function decodeBody(body: Buffer): Mutation {
  const m = decodeMutation(body);
  if ((body.readUInt8(1) & HAS_KEY) !== 0) {
    // The key is the last field, after the vectors and ids.
    const n = body.readUInt32LE(4);
    const d = body.readUInt32LE(8);
    let at = BODY_HEADER;
    if (m.type === 'train' || m.type === 'add') at += n * d * 4;
    if ((body.readUInt8(1) & HAS_IDS) !== 0) at += n * 8;
    const length = body.readUInt16LE(at);
    m.key = body.subarray(at + 2, at + 2 + length).toString('utf8');
  }
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
  switch (type) {
    case 'train':
      return { type, x: floats(n * d, BODY_HEADER), d };
    case 'add':
      return hasIds
        ? { type, x: floats(n * d, BODY_HEADER), d, ids: int64s(n, BODY_HEADER + n * d * 4) }
        : { type, x: floats(n * d, BODY_HEADER), d };
    case 'remove':
      return { type, ids: int64s(n, BODY_HEADER) };
    case 'reset':
      return { type };
  }
  throw new Error(`unknown record type ${body.readUInt8(0)}`);
}

/**
 * Reads every complete record. A torn last record (a crash mid-append: it was
 * never acknowledged) is dropped and its length returned as `validBytes`; damage
 * anywhere else throws LogCorruptError.
 */
export function readLog(file: string): { records: LogRecord[]; validBytes: number } {
  if (!fs.existsSync(file)) return { records: [], validBytes: 0 };
  const data = fs.readFileSync(file);
  const records: LogRecord[] = [];
  let at = 0;
  while (at < data.length) {
    const rest = data.length - at;
    if (rest < HEADER) break; // torn header at the end
    const magic = data.readUInt32LE(at);
    const length = data.readUInt32LE(at + 4);
    const end = at + HEADER + length;
    if (magic !== MAGIC) throw new LogCorruptError(file, at, 'bad record marker');
    if (end > data.length) break; // torn body at the end
    const seq = Number(data.readBigUInt64LE(at + 8));
    const body = data.subarray(at + HEADER, end);
    const crc = crc32(body, crc32(data.subarray(at + 8, at + 16)));
    if (crc !== data.readUInt32LE(at + 16)) {
      if (end === data.length) break; // the last record, half written
      throw new LogCorruptError(file, at, 'checksum mismatch');
    }
    if (records.length > 0 && seq <= records[records.length - 1].seq) throw new LogCorruptError(file, at, 'sequence numbers go backwards');
    records.push({ seq, mutation: decodeBody(body) });
    at = end;
  }
  return { records, validBytes: at };
}

interface Waiter {
  resolve: () => void;
  reject: (e: unknown) => void;
}

export class MutationLog {
  private pending: Buffer[] = [];
  private waiters: Waiter[] = [];
  private flushing: Promise<void> | null = null;
  private handle: fs.promises.FileHandle;
  /** Set by a failed write: what follows it on disk could not be trusted. */
  private failure: unknown = null;

  private constructor(
    readonly file: string,
    handle: fs.promises.FileHandle,
    private seq: number,
    private size: number,
    private readonly sync: boolean,
    private readonly onFlush: (seconds: number, records: number) => void,
  ) {
    this.handle = handle;
  }

  /** Opens for appending after `validBytes` (a torn tail is cut off first); onFlush hears each flush's duration. */
  static async open(
    file: string,
    validBytes: number,
    lastSeq: number,
    sync: boolean,
    onFlush: (seconds: number, records: number) => void = () => undefined,
  ): Promise<MutationLog> {
    const handle = await fs.promises.open(file, 'a+');
    const { size } = await handle.stat();
    if (size !== validBytes) {
      await handle.truncate(validBytes);
      await handle.sync();
    }
    return new MutationLog(file, handle, lastSeq, validBytes, sync, onFlush);
  }

  get lastSeq(): number {
    return this.seq;
  }

  /** Takes the next sequence number without a record (a change a snapshot will hold). */
  advance(): number {
    return ++this.seq;
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
    if (this.failure) return { seq: this.seq, durable: Promise.reject(this.failure) };
    const seq = ++this.seq;
    const parts = encode(seq, m);
    this.pending.push(...parts);
    this.size += parts.reduce((s, p) => s + p.length, 0);
    const durable = new Promise<void>((resolve, reject) => this.waiters.push({ resolve, reject }));
    this.flushing ??= this.flushAll();
    return { seq, durable };
  }

  /** Waits until everything appended so far is on disk. */
  async drain(): Promise<void> {
    while (this.flushing) await this.flushing;
  }

  /** Empties the log after a snapshot that holds every record in it. */
  async truncate(): Promise<void> {
    await this.drain();
    await this.handle.truncate(0);
    await this.handle.sync();
    this.size = 0;
  }

  async close(): Promise<void> {
    await this.drain();
    await this.handle.close();
  }

  private async flushAll(): Promise<void> {
    while (this.pending.length > 0) {
      const buffers = this.pending;
      const waiters = this.waiters;
      this.pending = [];
      this.waiters = [];
      try {
        const total = buffers.reduce((s, b) => s + b.length, 0);
        const started = process.hrtime.bigint();
        const { bytesWritten } = await this.handle.writev(buffers);
        if (bytesWritten !== total) throw new Error(`short write to ${this.file}: ${bytesWritten} of ${total} bytes`);
        if (this.sync) await this.handle.datasync();
        this.onFlush(Number(process.hrtime.bigint() - started) / 1e9, waiters.length);
        for (const w of waiters) w.resolve();
      } catch (e) {
        this.failure = e;
        for (const w of [...waiters, ...this.waiters]) w.reject(e);
        this.pending = [];
        this.waiters = [];
      }
    }
    this.flushing = null;
  }
}

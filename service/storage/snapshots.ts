// Index snapshots: FAISS's own file format, written to a temporary file, fsynced,
// then atomically renamed into place, so a crash mid-write never leaves a torn
// snapshot. Each snapshot is named after the last log record it contains
// (<id>.<seq>.faissindex), so recovery knows which log records to replay, and has
// a small sidecar (<id>.<seq>.state.json) for what FAISS's file cannot hold
// (ids deleted from index types that cannot remove) and the snapshot's length
// and CRC32, checked before FAISS reads a byte of it: FAISS's reader trusts its
// input, so a flipped byte would otherwise load as wrong vectors. A collection's
// snapshot has a third file, its points (<id>.<seq>.points: string ids, payloads,
// payload indexes, in the bytes CollectionState.serializePoints() gives), whose
// length and CRC32 the state file records too.
//
// Save order (each step through StorageIO): index to .tmp, fsync; points to .tmp,
// fsync; state (with the checksums) to .tmp, fsync, rename; points rename; index
// rename (the snapshot exists from here); fsync the directory; remove the older
// snapshot. A crash anywhere leaves either the old snapshot or the new one
// whole, plus files recovery ignores and removeOrphans() deletes.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { crc32 } from 'node:zlib';
import { readIndex, readIndexBinary, type Index, type IndexBinary } from '../../lib';
import { removeOrphans } from './orphans';
import type { StorageIO } from './storage-io';
import { fileChecksum } from '../../lib/file-checksum';

export interface SnapshotState {
  /** Ids removed from an index type that cannot remove, not yet rebuilt away. */
  tombstones: string[];
  /** Next id to assign when the index maps ids itself (after a rebuild). */
  nextId: number | null;
  /**
   * Idempotency keys of recent mutations with their results and the mutation's
   * fingerprint: [key, removed, firstId, added, fingerprint] (the last two absent
   * in snapshots written before they were kept).
   */
  recentKeys?: [string, number, number | null, number?, string?][];
  /** What the index looked like, for listing it without loading it. */
  summary?: {
    type: string;
    ntotal: number;
    bytes: number;
    isTrained: boolean;
    /** A collection's: its payloads' bytes (counted in `bytes` too) and its payload indexes. */
    payloadBytes?: number;
    payloadIndexes?: Record<string, string>;
  };
  /** The snapshot file's length and CRC32 (absent in snapshots written before checksums). */
  file?: { bytes: number; crc32: number };
  /** A collection's points file's length and CRC32 (absent: the snapshot is an index's). */
  points?: { bytes: number; crc32: number };
}

/** A snapshot that is not what was written: truncated, flipped bits, unreadable. */
export class SnapshotCorruptError extends Error {
  constructor(file: string, why: string) {
    super(`The snapshot ${path.basename(file)} is damaged (${why})`);
    this.name = 'SnapshotCorruptError';
  }
}


export interface Snapshot {
  index: Index | IndexBinary;
  seq: number;
  state: SnapshotState;
  /** A collection's points (checksum verified); absent for an index. */
  points?: Uint8Array;
}

export interface SnapshotStore {
  /** `points`: a collection's points bytes, saved beside the index. */
  save(id: string, index: Index | IndexBinary, seq: number, state: SnapshotState, points?: Uint8Array): Promise<void>;
  /** The latest snapshot, or undefined when the index has none. */
  load(id: string, options?: { mmap?: boolean }): Promise<Snapshot | undefined>;
  /** The sequence number of the latest snapshot (0: none). */
  latestSeq(id: string): number;
  /** The latest snapshot's state, without loading the index. */
  peekState(id: string): SnapshotState | undefined;
  /** Removes the files (snapshots and logs) of storage ids not in `owners`, and leftovers of interrupted saves. */
  removeOrphans(owners: ReadonlySet<string>): Promise<string[]>;
  /** Verifies the latest snapshot's length and checksum without loading it. */
  check(id: string): Promise<{ seq: number; verified: boolean } | undefined>;
  remove(id: string): Promise<void>;
}

const SNAPSHOT = /^(.+)\.(\d+)\.faissindex$/;

export class FileSnapshotStore implements SnapshotStore {
  /** Where snapshots live (logs live beside them, storage.ts). */
  readonly dir: string;

  constructor(
    dataDir: string,
    private readonly io: StorageIO,
  ) {
    this.dir = path.join(dataDir, 'indexes');
    fs.mkdirSync(this.dir, { recursive: true });
  }

  private snapshots(id: string): { seq: number; file: string }[] {
    let names: string[];
    try {
      names = fs.readdirSync(this.dir);
    } catch (e) {
      throw this.io.fault('snapshot.list', this.dir, e); // the data directory is gone
    }
    return names
      .map((f) => SNAPSHOT.exec(f))
      .filter((m): m is RegExpExecArray => m !== null && m[1] === id)
      .map((m) => ({ seq: Number(m[2]), file: path.join(this.dir, m[0]) }))
      .sort((a, b) => b.seq - a.seq);
  }

  private stateFile(id: string, seq: number): string {
    return path.join(this.dir, `${id}.${seq}.state.json`);
  }

  private pointsFile(id: string, seq: number): string {
    return path.join(this.dir, `${id}.${seq}.points`);
  }

  async save(id: string, index: Index | IndexBinary, seq: number, state: SnapshotState, points?: Uint8Array): Promise<void> {
    const { io } = this;
    const target = path.join(this.dir, `${id}.${seq}.faissindex`);
    const tmp = `${target}.${process.pid}.tmp`;
    const stateTmp = `${this.stateFile(id, seq)}.${process.pid}.tmp`;
    const pointsTmp = `${this.pointsFile(id, seq)}.${process.pid}.tmp`;
    const older = this.snapshots(id).filter((s) => s.seq !== seq);
    try {
      await io.writeIndex(index, tmp, 'snapshot.write-index');
      await io.sync(tmp, 'snapshot.sync-index');
      const file = await fileChecksum(tmp);
      if (points) {
        await io.writeFile(pointsTmp, points, 'snapshot.write-points');
        await io.sync(pointsTmp, 'snapshot.sync-points');
      }
      const pointsSum = points && { bytes: points.byteLength, crc32: crc32(points) };
      await io.writeFile(stateTmp, JSON.stringify({ ...state, file, ...(pointsSum && { points: pointsSum }) }), 'snapshot.write-state');
      await io.sync(stateTmp, 'snapshot.sync-state');
      await io.rename(stateTmp, this.stateFile(id, seq), 'snapshot.rename-state');
      if (points) await io.rename(pointsTmp, this.pointsFile(id, seq), 'snapshot.rename-points');
      await io.rename(tmp, target, 'snapshot.rename-index');
      await io.sync(this.dir, 'snapshot.sync-dir'); // make the renames themselves durable
    } catch (e) {
      await io.remove(tmp, 'snapshot.remove-tmp').catch(() => undefined);
      await io.remove(stateTmp, 'snapshot.remove-tmp').catch(() => undefined);
      if (points) await io.remove(pointsTmp, 'snapshot.remove-tmp').catch(() => undefined);
      // The state and points files of a snapshot that never got its index file are orphans.
      if (!fs.existsSync(target)) {
        await io.remove(this.stateFile(id, seq), 'snapshot.remove-orphan-state').catch(() => undefined);
        if (points) await io.remove(this.pointsFile(id, seq), 'snapshot.remove-orphan-state').catch(() => undefined);
      }
      throw e;
    }
    // The new snapshot is durable: the older ones are garbage (removeOrphans() finishes the job after a crash).
    try {
      for (const s of older) {
        await io.remove(s.file, 'snapshot.remove-old');
        await io.remove(this.stateFile(id, s.seq), 'snapshot.remove-old');
        if (fs.existsSync(this.pointsFile(id, s.seq))) await io.remove(this.pointsFile(id, s.seq), 'snapshot.remove-old');
      }
    } catch {
      // The new snapshot stands; recovery reads only the latest, and the rest goes at the next start.
    }
  }

  latestSeq(id: string): number {
    return this.snapshots(id)[0]?.seq ?? 0;
  }

  peekState(id: string): SnapshotState | undefined {
    const latest = this.snapshots(id)[0];
    try {
      return latest && (JSON.parse(fs.readFileSync(this.stateFile(id, latest.seq), 'utf8')) as SnapshotState);
    } catch {
      return undefined; // load() tells what is wrong
    }
  }

  /** The latest snapshot, its length and checksum verified first; SnapshotCorruptError if it is not what was written. */
  async load(id: string, options: { mmap?: boolean } = {}): Promise<Snapshot | undefined> {
    const latest = this.snapshots(id)[0];
    if (!latest) return undefined;
    const state = this.readState(id, latest.seq);
    await verify(latest.file, state);
    const points = state.points && this.readPoints(id, latest.seq, state.points);
    try {
      const index = isBinaryIndexFile(latest.file)
        ? await readIndexBinary(latest.file, { trusted: true })
        : await readIndex(latest.file, { mmap: options.mmap === true, trusted: true });
      return { index, seq: latest.seq, state, ...(points && { points }) };
    } catch (e) {
      throw new SnapshotCorruptError(latest.file, `FAISS cannot read it: ${(e as Error).message}`);
    }
  }

  removeOrphans(owners: ReadonlySet<string>): Promise<string[]> {
    return removeOrphans(this.io, this.dir, owners);
  }

  /**
   * The latest snapshot's files as bytes, by suffix (faissindex, state.json,
   * points), for a cluster's shared snapshot store (cluster/shared-snapshots.ts).
   */
  latestFiles(id: string): { seq: number; files: { suffix: string; bytes: Buffer }[] } | undefined {
    const latest = this.snapshots(id)[0];
    if (!latest) return undefined;
    const files = [{ suffix: 'faissindex', bytes: fs.readFileSync(latest.file) }, { suffix: 'state.json', bytes: fs.readFileSync(this.stateFile(id, latest.seq)) }];
    if (fs.existsSync(this.pointsFile(id, latest.seq))) files.push({ suffix: 'points', bytes: fs.readFileSync(this.pointsFile(id, latest.seq)) });
    return { seq: latest.seq, files };
  }

  /**
   * Installs a snapshot another node made (latestFiles's), in save()'s order: the
   * state and points first, the index file last (the snapshot exists from its
   * rename on); load() checks it as any other. The older snapshots go.
   */
  async install(id: string, seq: number, files: { suffix: string; bytes: Uint8Array }[]): Promise<void> {
    const { io } = this;
    const ordered = [...files].sort((a, b) => Number(a.suffix === 'faissindex') - Number(b.suffix === 'faissindex'));
    for (const f of ordered) {
      if (!['faissindex', 'state.json', 'points'].includes(f.suffix)) throw new SnapshotCorruptError(`${id}.${seq}.${f.suffix}`, 'not a snapshot file');
      const target = path.join(this.dir, `${id}.${seq}.${f.suffix}`);
      const tmp = `${target}.${process.pid}.tmp`;
      await io.writeFile(tmp, f.bytes, 'snapshot.install');
      await io.sync(tmp, 'snapshot.install');
      await io.rename(tmp, target, 'snapshot.install');
    }
    await io.sync(this.dir, 'snapshot.install');
    for (const s of this.snapshots(id).filter((x) => x.seq !== seq)) {
      await io.remove(s.file, 'snapshot.remove-old');
      await io.remove(this.stateFile(id, s.seq), 'snapshot.remove-old');
      if (fs.existsSync(this.pointsFile(id, s.seq))) await io.remove(this.pointsFile(id, s.seq), 'snapshot.remove-old');
    }
  }

  /** Checks the latest snapshot against its recorded length and checksum without loading it (faiss-proxy check). */
  async check(id: string): Promise<{ seq: number; verified: boolean } | undefined> {
    const latest = this.snapshots(id)[0];
    if (!latest) return undefined;
    const state = this.readState(id, latest.seq);
    await verify(latest.file, state);
    if (state.points) this.readPoints(id, latest.seq, state.points);
    return { seq: latest.seq, verified: state.file !== undefined };
  }

  /** A collection's points file, checked against the length and CRC32 its state recorded. */
  private readPoints(id: string, seq: number, expected: { bytes: number; crc32: number }): Uint8Array {
    const file = this.pointsFile(id, seq);
    let bytes: Buffer;
    try {
      bytes = fs.readFileSync(file);
    } catch (e) {
      throw new SnapshotCorruptError(file, `its points file cannot be read: ${(e as Error).message}`);
    }
    if (bytes.length !== expected.bytes) throw new SnapshotCorruptError(file, `${bytes.length} bytes where ${expected.bytes} were written`);
    if (crc32(bytes) !== expected.crc32) throw new SnapshotCorruptError(file, 'checksum mismatch');
    return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  private readState(id: string, seq: number): SnapshotState {
    const file = this.stateFile(id, seq);
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (e) {
      throw new SnapshotCorruptError(file, `its state file cannot be read: ${(e as Error).message}`);
    }
    try {
      return JSON.parse(text) as SnapshotState;
    } catch {
      throw new SnapshotCorruptError(file, 'its state file is not valid JSON');
    }
  }

  async remove(id: string): Promise<void> {
    for (const s of this.snapshots(id)) {
      await this.io.remove(s.file, 'snapshot.remove');
      await this.io.remove(this.stateFile(id, s.seq), 'snapshot.remove');
      if (fs.existsSync(this.pointsFile(id, s.seq))) await this.io.remove(this.pointsFile(id, s.seq), 'snapshot.remove');
    }
    await this.io.sync(this.dir, 'snapshot.sync-dir-remove');
  }
}

/** Whether FAISS's file holds a binary index: their type tags (fourccs) all start with "IB", no float index's does. */
function isBinaryIndexFile(file: string): boolean {
  const fd = fs.openSync(file, 'r');
  try {
    const tag = Buffer.alloc(2);
    return fs.readSync(fd, tag, 0, 2, 0) === 2 && tag.toString('latin1') === 'IB';
  } finally {
    fs.closeSync(fd);
  }
}

async function verify(file: string, state: SnapshotState): Promise<void> {
  if (!state.file) return; // written before snapshots carried a checksum
  const { bytes, crc32: crc } = await fileChecksum(file);
  if (bytes !== state.file.bytes) throw new SnapshotCorruptError(file, `${bytes} bytes where ${state.file.bytes} were written`);
  if (crc !== state.file.crc32) throw new SnapshotCorruptError(file, 'checksum mismatch');
}

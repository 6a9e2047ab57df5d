// Index snapshots: FAISS's own file format, written to a temporary file, fsynced,
// then atomically renamed into place, so a crash mid-write never leaves a torn
// snapshot. Each snapshot is named after the last log record it contains
// (<id>.<seq>.faissindex), so recovery knows which log records to replay, and has
// a small sidecar (<id>.<seq>.state.json) for what FAISS's file cannot hold
// (ids deleted from index types that cannot remove).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readIndex, writeIndex, type Index } from '../../lib';

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
  summary?: { type: string; ntotal: number; bytes: number; isTrained: boolean };
}

export interface Snapshot {
  index: Index;
  seq: number;
  state: SnapshotState;
}

export interface SnapshotStore {
  save(id: string, index: Index, seq: number, state: SnapshotState): Promise<void>;
  /** The latest snapshot, or undefined when the index has none. */
  load(id: string, options?: { mmap?: boolean }): Promise<Snapshot | undefined>;
  /** The sequence number of the latest snapshot (0: none). */
  latestSeq(id: string): number;
  /** The latest snapshot's state, without loading the index. */
  peekState(id: string): SnapshotState | undefined;
  remove(id: string): Promise<void>;
}

export async function fsyncPath(p: string): Promise<void> {
  const handle = await fs.promises.open(p, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

const SNAPSHOT = /^(.+)\.(\d+)\.faissindex$/;

export class FileSnapshotStore implements SnapshotStore {
  /** Where snapshots live (logs live beside them, storage.ts). */
  readonly dir: string;

  constructor(dataDir: string) {
    this.dir = path.join(dataDir, 'indexes');
    fs.mkdirSync(this.dir, { recursive: true });
    // Temporary files left by a crash mid-snapshot are garbage.
    for (const f of fs.readdirSync(this.dir)) if (f.endsWith('.tmp')) fs.rmSync(path.join(this.dir, f), { force: true });
  }

  private snapshots(id: string): { seq: number; file: string }[] {
    return fs
      .readdirSync(this.dir)
      .map((f) => SNAPSHOT.exec(f))
      .filter((m): m is RegExpExecArray => m !== null && m[1] === id)
      .map((m) => ({ seq: Number(m[2]), file: path.join(this.dir, m[0]) }))
      .sort((a, b) => b.seq - a.seq);
  }

  private stateFile(id: string, seq: number): string {
    return path.join(this.dir, `${id}.${seq}.state.json`);
  }

  async save(id: string, index: Index, seq: number, state: SnapshotState): Promise<void> {
    const target = path.join(this.dir, `${id}.${seq}.faissindex`);
    const tmp = `${target}.${process.pid}.tmp`;
    const stateTmp = `${this.stateFile(id, seq)}.${process.pid}.tmp`;
    const older = this.snapshots(id).filter((s) => s.seq !== seq);
    try {
      await fs.promises.writeFile(stateTmp, JSON.stringify(state));
      await fsyncPath(stateTmp);
      await fs.promises.rename(stateTmp, this.stateFile(id, seq));
      await writeIndex(index, tmp);
      await fsyncPath(tmp);
      await fs.promises.rename(tmp, target);
      await fsyncPath(this.dir); // make the renames themselves durable
    } catch (e) {
      await fs.promises.rm(tmp, { force: true });
      await fs.promises.rm(stateTmp, { force: true });
      // The state file of a snapshot that never got its index file is an orphan.
      if (!fs.existsSync(target)) await fs.promises.rm(this.stateFile(id, seq), { force: true });
      throw e;
    }
    for (const s of older) {
      await fs.promises.rm(s.file, { force: true });
      await fs.promises.rm(this.stateFile(id, s.seq), { force: true });
    }
  }

  latestSeq(id: string): number {
    return this.snapshots(id)[0]?.seq ?? 0;
  }

  peekState(id: string): SnapshotState | undefined {
    const latest = this.snapshots(id)[0];
    const file = latest && this.stateFile(id, latest.seq);
    return file && fs.existsSync(file) ? (JSON.parse(fs.readFileSync(file, 'utf8')) as SnapshotState) : undefined;
  }

  async load(id: string, options: { mmap?: boolean } = {}): Promise<Snapshot | undefined> {
    const latest = this.snapshots(id)[0];
    if (!latest) return undefined;
    const stateFile = this.stateFile(id, latest.seq);
    const state: SnapshotState = fs.existsSync(stateFile)
      ? JSON.parse(fs.readFileSync(stateFile, 'utf8'))
      : { tombstones: [], nextId: null };
    return { index: await readIndex(latest.file, { mmap: options.mmap === true }), seq: latest.seq, state };
  }

  async remove(id: string): Promise<void> {
    for (const s of this.snapshots(id)) {
      await fs.promises.rm(s.file, { force: true });
      await fs.promises.rm(this.stateFile(id, s.seq), { force: true });
    }
    await fsyncPath(this.dir);
  }
}

// A StorageIO that fails on purpose, after SQLite's test VFS (src/test6.c,
// test_vfs.c): armed with N and a fault, the Nth eligible durable call
//   - 'crash':       and every call after it do nothing and throw (the process
//                    "died" there: what reached the disk before stays, nothing else does);
//   - 'power-cut':   as 'crash', and then powerCut() loses what was never made
//                    durable: appends and new files not fsynced, renames whose
//                    directory was not fsynced (SQLite's crash mode, test6.c);
//   - 'kill':        SIGKILLs this process (a real crash at that point, for child processes);
//   - 'error':       throws ENOSPC (writes, catalog changes) or EIO (the rest), once;
//   - 'short-write': (writes only) writes half, then throws ENOSPC;
//   - 'fsync':       (syncs only) throws EIO without syncing.
// slowAt(prefix, ms) makes the log file's calls at points starting with prefix
// take ms longer (a slow disk), to widen a race between a writer and a reader.
// `calls` counts eligible calls since arming and `points` names them, so a test
// loops N = 1, 2, 3, ... until an operation completes without meeting the fault.
import * as fs from 'node:fs';
import type { Index, IndexBinary } from '../../lib';
import { FileIO, storageFault, type AppendFile, type FaultListener, type StorageIO } from '../../service/storage/storage-io';

export type Fault = 'crash' | 'power-cut' | 'kill' | 'error' | 'short-write' | 'fsync';
type Call = 'write' | 'sync' | 'other';

const errno = (code: string, message: string): NodeJS.ErrnoException => Object.assign(new Error(message), { code });

export class FaultyIO implements StorageIO {
  private real: StorageIO = new FileIO();
  private onFault: FaultListener = () => undefined;
  private armed: { n: number; fault: Fault; only?: string } | undefined;
  private slow: { prefix: string; ms: number } | undefined;
  private crashed = false;
  private readonly handles = new Set<AppendFile>();
  /** Eligible calls since arming, and their points. */
  calls = 0;
  points: string[] = [];
  /** The point where the fault struck (undefined: not yet). */
  hit: string | undefined;
  /** What a power cut would lose, since arming: appended files (size when last synced), written files, renames. */
  private readonly unsyncedAppends = new Map<string, number>();
  private readonly unsyncedFiles = new Set<string>();
  private unsyncedRenames: { from: string; to: string }[] = [];

  /** For openServices({ io }): the service's fault listener, and the real disk under us. */
  attach(onFault: FaultListener): this {
    this.onFault = onFault;
    this.real = new FileIO(onFault);
    return this;
  }

  /** Fails the nth eligible call from now (only calls whose point starts with `only`, when given). */
  arm(n: number, fault: Fault, only?: string): void {
    this.armed = { n, fault, only };
    this.unsyncedAppends.clear();
    this.unsyncedFiles.clear();
    this.unsyncedRenames = [];
    this.calls = 0;
    this.points = [];
    this.hit = undefined;
  }

  disarm(): void {
    this.armed = undefined;
  }

  /** Log file calls (append, sync, truncate) at points starting with `prefix` take `ms` longer from now. */
  slowAt(prefix: string, ms: number): void {
    this.slow = { prefix, ms };
  }

  /** Waits as slowAt asked for a call at `point`. */
  async delay(point: string): Promise<void> {
    if (this.slow && point.startsWith(this.slow.prefix)) await new Promise((r) => setTimeout(r, this.slow!.ms));
  }

  get isCrashed(): boolean {
    return this.crashed;
  }

  /** Crashes now, between calls (a power cut right after an acknowledgement). */
  crashNow(): void {
    this.crashed = true;
  }

  /** After a simulated crash: closes the files the dead "process" held open. */
  async closeAll(): Promise<void> {
    for (const h of this.handles) await h.close().catch(() => undefined);
    this.handles.clear();
  }

  /** Decides this call's fate: undefined to run it as usual, or the fault to play. */
  private gate(call: Call, point: string, file: string | undefined): Fault | undefined {
    if (this.crashed) throw this.fail(point, file, errno('ECRASH', 'the process crashed before this call (simulated)'), false);
    const a = this.armed;
    if (!a || this.hit) return undefined;
    if (a.only && !point.startsWith(a.only)) return undefined;
    if (a.fault === 'short-write' && call !== 'write') return undefined;
    if (a.fault === 'fsync' && call !== 'sync') return undefined;
    this.calls++;
    this.points.push(point);
    if (this.calls !== a.n) return undefined;
    this.hit = point;
    switch (a.fault) {
      case 'kill':
        process.kill(process.pid, 'SIGKILL');
        break;
      case 'crash':
      case 'power-cut':
        this.crashed = true;
        throw this.fail(point, file, errno('ECRASH', `simulated crash at ${point}`), false);
      case 'error':
        throw this.fail(point, file, call === 'write' ? errno('ENOSPC', 'no space left on device (injected)') : errno('EIO', 'i/o error (injected)'));
      case 'fsync':
        throw this.fail(point, file, errno('EIO', 'fsync failed (injected)'));
    }
    return a.fault;
  }

  /**
   * After a 'power-cut' crash: undoes what the disk never promised to keep.
   * Renames not followed by an fsync of their directory are undone (newest
   * first), then files written and never fsynced are emptied and appends never
   * fsynced are cut back to the size last synced.
   */
  async powerCut(): Promise<void> {
    for (const { from, to } of this.unsyncedRenames.reverse()) {
      if (fs.existsSync(to)) fs.renameSync(to, from);
      if (this.unsyncedFiles.delete(to)) this.unsyncedFiles.add(from);
    }
    for (const f of this.unsyncedFiles) if (fs.existsSync(f)) fs.truncateSync(f, 0);
    for (const [f, size] of this.unsyncedAppends) if (fs.existsSync(f) && fs.statSync(f).size > size) fs.truncateSync(f, size);
  }

  /** Bookkeeping for powerCut(), called once a real call has succeeded. */
  wrote(file: string): void {
    this.unsyncedFiles.add(file);
  }
  appended(file: string, sizeBefore: number): void {
    if (!this.unsyncedAppends.has(file)) this.unsyncedAppends.set(file, sizeBefore);
  }
  synced(file: string): void {
    this.unsyncedFiles.delete(file);
    this.unsyncedAppends.delete(file);
    // An fsync of a directory makes the renames into it durable.
    this.unsyncedRenames = this.unsyncedRenames.filter((r) => !r.to.startsWith(`${file}/`));
  }

  private fail(point: string, file: string | undefined, e: Error, tell = true) {
    const fault = storageFault(point, file, e);
    if (tell) this.onFault(point, fault);
    return fault;
  }

  async openAppend(file: string, point: string): Promise<AppendFile> {
    this.gate('other', point, file);
    const real = await this.real.openAppend(file, point);
    this.handles.add(real);
    return new FaultyAppend(this, real, (call, p) => this.gate(call, p, file), (p, e) => this.fail(p, file, e));
  }

  forget(h: AppendFile): void {
    this.handles.delete(h);
  }

  async writeFile(file: string, data: string | Uint8Array, point: string): Promise<void> {
    if (this.gate('write', point, file) === 'short-write') {
      const bytes = typeof data === 'string' ? Buffer.from(data) : data;
      await fs.promises.writeFile(file, bytes.subarray(0, bytes.length >> 1));
      throw this.fail(point, file, errno('ENOSPC', 'short write (injected)'));
    }
    await this.real.writeFile(file, data, point);
    this.wrote(file);
  }

  async writeIndex(index: Index | IndexBinary, file: string, point: string): Promise<void> {
    const fault = this.gate('write', point, file);
    await this.real.writeIndex(index, file, point);
    this.wrote(file);
    if (fault === 'short-write') {
      await fs.promises.truncate(file, (await fs.promises.stat(file)).size >> 1);
      throw this.fail(point, file, errno('ENOSPC', 'short write (injected)'));
    }
  }

  async sync(file: string, point: string): Promise<void> {
    this.gate('sync', point, file);
    await this.real.sync(file, point);
    this.synced(file);
  }

  async rename(from: string, to: string, point: string): Promise<void> {
    this.gate('other', point, to);
    await this.real.rename(from, to, point);
    this.unsyncedRenames.push({ from, to });
    if (this.unsyncedFiles.delete(from)) this.unsyncedFiles.add(to);
  }

  async remove(file: string, point: string): Promise<void> {
    this.gate('other', point, file);
    return this.real.remove(file, point);
  }

  fault(point: string, file: string | undefined, cause: unknown) {
    return this.real.fault(point, file, cause);
  }

  catalog<T>(point: string, change: () => T): T {
    // A transaction is all or nothing: a short write inside one is SQLite's to roll back, so it fails like ENOSPC.
    if (this.gate('write', point, 'catalog.db') === 'short-write') throw this.fail(point, 'catalog.db', errno('ENOSPC', 'short write (injected)'));
    return this.real.catalog(point, change);
  }
}

class FaultyAppend implements AppendFile {
  constructor(
    private readonly owner: FaultyIO,
    private readonly real: AppendFile,
    private readonly gate: (call: Call, point: string) => Fault | undefined,
    private readonly fail: (point: string, e: Error) => Error,
  ) {}

  get file(): string {
    return this.real.file;
  }

  size(): Promise<number> {
    return this.real.size();
  }

  async append(buffers: Buffer[], point: string): Promise<void> {
    await this.owner.delay(point);
    if (this.gate('write', point) === 'short-write') {
      const all = Buffer.concat(buffers);
      await this.real.append([all.subarray(0, all.length >> 1)], point);
      throw this.fail(point, errno('ENOSPC', 'short write (injected)'));
    }
    const before = await this.real.size();
    await this.real.append(buffers, point);
    this.owner.appended(this.real.file, before);
  }

  async sync(point: string): Promise<void> {
    await this.owner.delay(point);
    this.gate('sync', point);
    await this.real.sync(point);
    this.owner.synced(this.real.file);
  }

  async truncate(size: number, point: string): Promise<void> {
    await this.owner.delay(point);
    this.gate('other', point);
    return this.real.truncate(size, point);
  }

  async close(): Promise<void> {
    this.owner.forget(this.real);
    return this.real.close();
  }
}

// Every durable step the service takes (log append, fsync, snapshot write, rename,
// catalog change, removal) goes through this one small interface, each call named
// by its point ("snapshot.rename-index"). The files and the catalog never touch
// the disk any other way, so a test can wrap it the way SQLite's test VFS wraps
// SQLite's: fail the Nth call (ENOSPC, EIO, a short write, fsync failing) or stop
// the process at a named point, then restart and check what survived
// (test/durability/). Every failure leaves here as a ServiceError
// ERR_STORAGE_FAILED that names the point and the system's error, so no storage
// fault is ever told as a client's mistake or an internal error.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { IndexBinary, writeIndex, writeIndexBinary, type Index } from '../../lib';
import { ServiceError } from '../domain/errors';

/** A file open for appending (an index's log). */
export interface AppendFile {
  readonly file: string;
  /** Bytes in the file now. */
  size(): Promise<number>;
  /** Writes all of `buffers` at the end; a short write is an error. */
  append(buffers: Buffer[], point: string): Promise<void>;
  /** fdatasync; then checks the file is still the one at its path (not deleted under the service). */
  sync(point: string): Promise<void>;
  truncate(size: number, point: string): Promise<void>;
  close(): Promise<void>;
}

export interface StorageIO {
  openAppend(file: string, point: string): Promise<AppendFile>;
  /** Creates or replaces a file's content (not synced). */
  writeFile(file: string, data: string | Uint8Array, point: string): Promise<void>;
  /** FAISS's own writer, into `file` (not synced). */
  /** FAISS's file of a float or a binary index. */
  writeIndex(index: Index | IndexBinary, file: string, point: string): Promise<void>;
  /** fsync of a file or a directory (a directory: makes renames and removals in it durable). */
  sync(file: string, point: string): Promise<void>;
  rename(from: string, to: string, point: string): Promise<void>;
  /** Removes a file; one already gone is not an error. */
  remove(file: string, point: string): Promise<void>;
  /** Runs one catalog change (a SQLite transaction: all of it or none). */
  catalog<T>(point: string, change: () => T): T;
  /** A failure met outside these calls (reading a log, listing snapshots), told like theirs; returns the error to throw. */
  fault(point: string, file: string | undefined, cause: unknown): ServiceError;
}

/** Hears every storage fault (readiness, metrics). */
export type FaultListener = (point: string, error: ServiceError) => void;

/** The error every storage failure becomes: 503 ERR_STORAGE_FAILED, naming where and why. */
export function storageFault(point: string, file: string | undefined, cause: unknown): ServiceError {
  if (cause instanceof ServiceError) return cause;
  const e = cause as NodeJS.ErrnoException;
  const where = file ? ` (${path.basename(file)})` : '';
  const err = new ServiceError('ERR_STORAGE_FAILED', `Storage failed at ${point}${where}: ${e?.code ? `${e.code}: ` : ''}${e?.message ?? String(cause)}`);
  (err as { cause?: unknown }).cause = cause;
  return err;
}

/** The real disk. */
export class FileIO implements StorageIO {
  constructor(private readonly onFault: FaultListener = () => undefined) {}

  private async step<T>(point: string, file: string | undefined, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      const fault = storageFault(point, file, e);
      this.onFault(point, fault);
      throw fault;
    }
  }

  openAppend(file: string, point: string): Promise<AppendFile> {
    return this.step(point, file, async () => new FileAppend(file, await fs.promises.open(file, 'a+'), (p, e) => this.onFault(p, e)));
  }

  writeFile(file: string, data: string | Uint8Array, point: string): Promise<void> {
    return this.step(point, file, () => fs.promises.writeFile(file, data));
  }

  writeIndex(index: Index | IndexBinary, file: string, point: string): Promise<void> {
    // FAISS's writer reports a full disk as a generic FAISS error: here it is what it is, storage.
    return this.step(point, file, () => (index instanceof IndexBinary ? writeIndexBinary(index, file) : writeIndex(index, file)));
  }

  sync(file: string, point: string): Promise<void> {
    return this.step(point, file, async () => {
      const handle = await fs.promises.open(file, 'r');
      try {
        await handle.sync();
      } finally {
        await handle.close();
      }
    });
  }

  rename(from: string, to: string, point: string): Promise<void> {
    return this.step(point, to, () => fs.promises.rename(from, to));
  }

  remove(file: string, point: string): Promise<void> {
    return this.step(point, file, () => fs.promises.rm(file, { force: true }));
  }

  fault(point: string, file: string | undefined, cause: unknown): ServiceError {
    const fault = storageFault(point, file, cause);
    if (!(cause instanceof ServiceError)) this.onFault(point, fault);
    return fault;
  }

  catalog<T>(point: string, change: () => T): T {
    try {
      return change();
    } catch (e) {
      // Constraint violations are the caller's business (a name taken); anything else is the disk's.
      if ((e as { code?: string }).code?.startsWith('SQLITE_CONSTRAINT')) throw e;
      const fault = storageFault(point, 'catalog.db', e);
      this.onFault(point, fault);
      throw fault;
    }
  }
}

class FileAppend implements AppendFile {
  constructor(
    readonly file: string,
    private readonly handle: fs.promises.FileHandle,
    private readonly onFault: FaultListener,
  ) {}

  private async step<T>(point: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      const fault = storageFault(point, this.file, e);
      this.onFault(point, fault);
      throw fault;
    }
  }

  async size(): Promise<number> {
    return (await this.handle.stat()).size;
  }

  append(buffers: Buffer[], point: string): Promise<void> {
    return this.step(point, async () => {
      const total = buffers.reduce((s, b) => s + b.length, 0);
      const { bytesWritten } = await this.handle.writev(buffers);
      if (bytesWritten !== total) throw new Error(`short write: ${bytesWritten} of ${total} bytes`);
    });
  }

  sync(point: string): Promise<void> {
    return this.step(point, async () => {
      await this.handle.datasync();
      // A log deleted under the running service (its data directory removed)
      // still takes writes, into a file nobody will ever read: not durable.
      const [open, named] = await Promise.all([this.handle.stat(), fs.promises.stat(this.file).catch(() => undefined)]);
      if (open.nlink === 0 || !named || named.ino !== open.ino || named.dev !== open.dev) {
        throw new Error(`the file was deleted or replaced under the running service`);
      }
    });
  }

  truncate(size: number, point: string): Promise<void> {
    return this.step(point, () => this.handle.truncate(size));
  }

  close(): Promise<void> {
    return this.handle.close();
  }
}

// The real disk, with a switch that makes it full: while `full`, every write
// the service makes (log appends, snapshot and state files, FAISS's writer,
// catalog transactions) fails with ENOSPC the way a full disk fails it (a log
// append writes half its bytes first, a file write leaves half a file), while
// syncs, renames, removals and truncations still work, as they do on a full
// disk. Used by the soak's server (soak-server.ts) to inject storage faults
// into a real process for a while; failures reach the service's fault listener
// like real ones, so readiness and metrics see them.
import * as fs from 'node:fs';
import type { Index, IndexBinary } from '../../lib';
import type { ServiceError } from '../../service/domain/errors';
import { FileIO, type AppendFile, type FaultListener, type StorageIO } from '../../service/storage/storage-io';

const enospc = (): NodeJS.ErrnoException => Object.assign(new Error('no space left on device (injected)'), { code: 'ENOSPC' });

export class FullDiskIO implements StorageIO {
  /** While true, writes fail with ENOSPC. */
  full = false;
  private readonly real: FileIO;

  constructor(onFault: FaultListener) {
    this.real = new FileIO(onFault);
  }

  /** The fault a write meets on a full disk (told to the service's listener, as FileIO does). */
  fault(point: string, file: string | undefined, cause: unknown = enospc()): ServiceError {
    return this.real.fault(point, file, cause);
  }

  async openAppend(file: string, point: string): Promise<AppendFile> {
    return new FullDiskAppend(this, await this.real.openAppend(file, point));
  }

  async writeFile(file: string, data: string | Uint8Array, point: string): Promise<void> {
    if (!this.full) return this.real.writeFile(file, data, point);
    const bytes = typeof data === 'string' ? Buffer.from(data) : data;
    await fs.promises.writeFile(file, bytes.subarray(0, bytes.length >> 1));
    throw this.fault(point, file);
  }

  async writeIndex(index: Index | IndexBinary, file: string, point: string): Promise<void> {
    if (this.full) throw this.fault(point, file);
    return this.real.writeIndex(index, file, point);
  }

  sync(file: string, point: string): Promise<void> {
    return this.real.sync(file, point);
  }

  rename(from: string, to: string, point: string): Promise<void> {
    return this.real.rename(from, to, point);
  }

  remove(file: string, point: string): Promise<void> {
    return this.real.remove(file, point);
  }

  catalog<T>(point: string, change: () => T): T {
    if (this.full) throw this.fault(point, 'catalog.db');
    return this.real.catalog(point, change);
  }
}

class FullDiskAppend implements AppendFile {
  constructor(
    private readonly disk: FullDiskIO,
    private readonly real: AppendFile,
  ) {}

  get file(): string {
    return this.real.file;
  }

  size(): Promise<number> {
    return this.real.size();
  }

  async append(buffers: Buffer[], point: string): Promise<void> {
    if (!this.disk.full) return this.real.append(buffers, point);
    const all = Buffer.concat(buffers);
    if (all.length > 1) await this.real.append([all.subarray(0, all.length >> 1)], point);
    throw this.disk.fault(point, this.file);
  }

  sync(point: string): Promise<void> {
    return this.real.sync(point);
  }

  truncate(size: number, point: string): Promise<void> {
    return this.real.truncate(size, point);
  }

  close(): Promise<void> {
    return this.real.close();
  }
}

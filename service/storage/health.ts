// Whether the service's storage can take writes now, for readiness (/readyz).
// A storage fault anywhere (StorageIO tells every one) makes it unhealthy; it
// heals when a probe (a small file written, fsynced and removed in the data
// directory, at most once a second, through the same StorageIO) succeeds again,
// e.g. once a full disk has room. A data directory or catalog deleted or
// replaced under the running service never heals: the service writes to files
// nobody will read, so only a restart on the real directory helps.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ServiceError } from '../domain/errors';
import type { StorageIO } from './storage-io';

export interface StorageFaultReport {
  point: string;
  message: string;
  at: string;
}

export class StorageHealth {
  private fault: StorageFaultReport | undefined;
  private lastProbe = 0;
  private probing: Promise<void> | undefined;
  private io: StorageIO | undefined;
  private readonly identities: { dir: string; stat: fs.Stats }[];
  /** Storage faults since start (metrics). */
  faults = 0;

  constructor(
    private readonly dataDir: string,
    dirs: string[],
    private readonly probeEveryMs = 1000,
  ) {
    this.identities = dirs.map((dir) => ({ dir, stat: fs.statSync(dir) }));
  }

  /** The I/O the probe goes through (set once the I/O exists: it reports its faults here). */
  use(io: StorageIO): void {
    this.io = io;
  }

  readonly onFault = (point: string, error: ServiceError): void => {
    this.faults++;
    this.fault = { point, message: error.message, at: new Date().toISOString() };
  };

  /** The fault that made storage unhealthy, while it is (undefined: healthy). */
  get current(): StorageFaultReport | undefined {
    return this.fault;
  }

  /** Healthy now? Checks the directories are still the ones opened, and probes a faulty disk. */
  async healthy(extraCheck: () => void = () => undefined): Promise<boolean> {
    try {
      for (const { dir, stat } of this.identities) {
        const now = fs.statSync(dir);
        if (now.ino !== stat.ino || now.dev !== stat.dev) throw new Error(`${dir} was replaced`);
      }
      extraCheck();
    } catch (e) {
      this.fault = { point: 'health.identity', message: `The data directory was deleted or replaced under the running service (${(e as Error).message}); restart the service`, at: new Date().toISOString() };
      return false;
    }
    if (!this.fault) return true;
    if (Date.now() - this.lastProbe >= this.probeEveryMs) this.probing ??= this.probe().finally(() => (this.probing = undefined));
    await this.probing;
    return this.fault === undefined;
  }

  private async probe(): Promise<void> {
    this.lastProbe = Date.now();
    if (!this.io) return;
    const file = path.join(this.dataDir, `.probe.${process.pid}`);
    try {
      await this.io.writeFile(file, 'probe', 'health.probe-write');
      await this.io.sync(file, 'health.probe-sync');
      await this.io.remove(file, 'health.probe-remove');
      this.fault = undefined;
    } catch {
      // still faulty (the I/O recorded the new fault)
    }
  }
}

// The faults the soak injects into a real server process (soak-server.js) while
// its clients keep going: a SIGKILL at a random moment and a restart on the
// same data directory, or a full disk (ENOSPC on every write) for a while.
// Keeps each process's lifetime (pid, start, RSS samples read from /proc, and
// its live memory as the service reports it: JS heap and C heap in use) so the
// bench can tell whether memory stays flat between restarts, and which grows.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { call, startServer, type ServerProcess } from './server';

const ENTRY = path.join(__dirname, 'soak-server.js');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface Lifetime {
  pid: number;
  startedAt: number;
  /** [ms since this process started, RSS bytes] */
  rss: [number, number][];
  /** [ms since this process started, JS heap used bytes] (GET /v1/admin/overview; none while it does not answer) */
  heap: [number, number][];
  /** [ms, C heap bytes in live allocations] (same source; none where the C library does not report it) */
  nativeHeap: [number, number][];
  /** How it ended: 'SIGKILL' (a fault), 'stopped' (the end of the run), undefined while running. */
  end?: string;
}

/** RSS of a live process, from /proc (works while the server answers nothing). */
export function rssOf(pid: number): number | undefined {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

export class KillableServer {
  private s!: ServerProcess;
  readonly lifetimes: Lifetime[] = [];
  kills = 0;
  diskFullWindows = 0;

  private constructor(
    private readonly firstDataDir: string | undefined,
    private readonly args: string[],
  ) {}

  static async start(args: string[] = ['--log-level', 'silent'], dataDir?: string): Promise<KillableServer> {
    const k = new KillableServer(dataDir, args);
    await k.launch();
    return k;
  }

  private async launch(): Promise<void> {
    this.s = await startServer({ entry: ENTRY, args: this.args, dataDir: this.s?.dataDir ?? this.firstDataDir, adminKey: this.s?.adminKey });
    this.lifetimes.push({ pid: this.s.proc.pid!, startedAt: Date.now(), rss: [], heap: [], nativeHeap: [] });
  }

  get url(): string {
    return this.s.url;
  }

  get adminKey(): string {
    return this.s.adminKey;
  }

  get dataDir(): string {
    return this.s.dataDir;
  }

  get process(): ServerProcess {
    return this.s;
  }

  /** Records the running process's RSS now, and its JS and C heaps once the service answers. */
  async sampleMemory(): Promise<void> {
    const life = this.lifetimes[this.lifetimes.length - 1];
    const rss = rssOf(life.pid);
    if (rss !== undefined) life.rss.push([Date.now() - life.startedAt, rss]);
    const overview = await call(this.url, 'GET', '/v1/admin/overview', { key: this.adminKey }).catch(() => undefined);
    const heap = overview?.json?.process?.heapUsedBytes;
    if (typeof heap === 'number') life.heap.push([Date.now() - life.startedAt, heap]);
    const native = overview?.json?.process?.nativeHeapInUseBytes;
    if (typeof native === 'number') life.nativeHeap.push([Date.now() - life.startedAt, native]);
  }

  /** SIGKILL, then a new process on the same data directory (and admin key), as a supervisor would. */
  async killAndRestart(): Promise<void> {
    this.lifetimes[this.lifetimes.length - 1].end = 'SIGKILL';
    const code = await this.s.stop('SIGKILL');
    if (code !== null) throw new Error(`the server had exited (${code}) before it was killed:\n${this.s.output()}`);
    this.kills++;
    await this.launch();
  }

  /** Fills the disk for `ms` (every write fails with ENOSPC), then frees it. */
  async fillDisk(ms: number): Promise<void> {
    this.diskFullWindows++;
    await this.toggleDisk('full');
    await sleep(ms);
    await this.toggleDisk('free');
  }

  private async toggleDisk(state: 'full' | 'free'): Promise<void> {
    const line = `soak-server: disk ${state}`;
    const before = this.s.output().split(line).length;
    this.s.proc.kill('SIGUSR2');
    for (let waited = 0; this.s.output().split(line).length === before; waited += 10) {
      if (waited > 10_000) throw new Error(`the server did not say "${line}":\n${this.s.output().slice(-2000)}`);
      await sleep(10);
    }
  }

  /** Ends the run: SIGTERM (a clean stop); resolves with the exit code. */
  async stop(): Promise<number | null> {
    this.lifetimes[this.lifetimes.length - 1].end = 'stopped';
    return this.s.stop();
  }
}

// A real faiss-proxy server process for the HTTP benchmark (as test/support/server.ts
// starts one), with its logs going to a file rather than a pipe (the pino request
// log is part of what each request costs, but reading it back must not cost this
// process CPU), and its memory and CPU time read from /proc.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

const CLI = path.resolve(__dirname, '..', '..', 'service', 'cli.js');

export const newKey = (): string => `fp_${randomBytes(8).toString('hex')}_${randomBytes(32).toString('base64url')}`;

export interface BenchServer {
  url: string;
  adminKey: string;
  pid: number;
  proc: ChildProcess;
  logFile: string;
  stop(): Promise<number | null>;
}

/** `cli`: another build's service/cli.js (the harness's --baseline-dist), this build's by default. */
export async function startBenchServer(dataDir: string, args: string[] = [], nodeArgs: string[] = [], cli = CLI): Promise<BenchServer> {
  const adminKey = newKey();
  const logFile = path.join(path.dirname(dataDir), `${path.basename(dataDir)}.log`);
  const started = await spawnListening([...nodeArgs, cli, 'serve', '--port', '0', '--data-dir', dataDir, ...args], logFile, { FAISS_PROXY_ADMIN_KEY: adminKey });
  return { ...started, adminKey, pid: started.proc.pid!, logFile };
}

/**
 * Runs `node <argv>` (or `command <argv>`) with its output going to `logFile`, and resolves once it
 * prints "listening on <url>" (within 30 s, else it is killed and this throws).
 * stop() sends SIGTERM and resolves with the exit code.
 */
export async function spawnListening(
  argv: string[],
  logFile: string,
  env: Record<string, string> = {},
  command: string = process.execPath,
): Promise<{ url: string; proc: ChildProcess; stop(): Promise<number | null> }> {
  const log = fs.openSync(logFile, 'w');
  const proc = spawn(command, argv, { env: { ...process.env, ...env }, stdio: ['ignore', log, log] });
  fs.closeSync(log);
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  let gone = false;
  void exited.then(() => (gone = true));
  const deadline = Date.now() + 30_000;
  let url: string | undefined;
  while (!url) {
    const m = /listening on (http:\/\/\S+)/.exec(fs.readFileSync(logFile, 'utf8'));
    if (m) url = m[1];
    else if (gone || Date.now() > deadline) {
      proc.kill('SIGKILL');
      throw new Error(`${argv.join(' ')} did not start:\n${fs.readFileSync(logFile, 'utf8')}`);
    } else await new Promise((r) => setTimeout(r, 50));
  }
  return {
    url,
    proc,
    stop: async () => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
      return exited;
    },
  };
}

/** Resident set size of a process in bytes (VmRSS of /proc/<pid>/status). */
export function rssBytes(pid: number): number {
  const m = /VmRSS:\s+(\d+)\s+kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : NaN;
}

/** Peak resident set size so far (VmHWM). */
export function peakRssBytes(pid: number): number {
  const m = /VmHWM:\s+(\d+)\s+kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : NaN;
}

/** User + system CPU seconds a process has used (all its threads), or one of its threads. */
export function cpuSeconds(pid: number, tid?: number): number {
  const stat = fs.readFileSync(tid === undefined ? `/proc/${pid}/stat` : `/proc/${pid}/task/${tid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // Fields 14 and 15 of stat (utime, stime) are 11 and 12 after the command name.
  return (Number(fields[11]) + Number(fields[12])) / 100; // USER_HZ is 100 on Linux
}

/** One JSON HTTP call (setup only: the load generator has its own client). */
export async function call(url: string, method: string, key: string, body?: unknown, headers: Record<string, string> = {}): Promise<any> {
  const init: RequestInit = { method, headers: { 'X-API-Key': key, ...headers } };
  if (body instanceof Uint8Array) {
    init.body = body as unknown as BodyInit;
    (init.headers as Record<string, string>)['Content-Type'] ??= 'application/octet-stream';
  } else if (body !== undefined) {
    init.body = JSON.stringify(body);
    (init.headers as Record<string, string>)['Content-Type'] = 'application/json';
  }
  const res = await fetch(url, init);
  const text = await res.text();
  if (res.status >= 300) throw new Error(`${method} ${url}: ${res.status} ${text.slice(0, 500)}`);
  return text ? JSON.parse(text) : undefined;
}

/** Stops the servers, then removes their log files and the data directories. */
export async function stopServers(servers: BenchServer[], dirs: string[]): Promise<void> {
  for (const server of servers) {
    await server.stop();
    fs.rmSync(server.logFile, { force: true });
  }
  for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
}

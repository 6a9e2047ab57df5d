// Runs one hostile case in a node process of its own, so that a crash shows as a
// crash (a signal), a hang as a hang and runaway memory as runaway memory, instead
// of taking the test runner down with it. The crash suite and the fuzzers use it:
// a case passes when it settles with a value or with a coded FaissError.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

const LIB = path.resolve(__dirname, '..', '..', 'lib');
const MARK = '\n@@crash-case@@';

export interface CaseOutcome {
  /**
   * value: the body returned; error: it threw (see name/code/message); signal: the
   * process died of one; hang: it ran past timeoutMs; rss: it grew past maxRssBytes;
   * exit: it exited without reporting (a fatal V8 error, process.exit()).
   */
  status: 'value' | 'error' | 'signal' | 'hang' | 'rss' | 'exit';
  value?: unknown;
  name?: string;
  code?: string;
  message?: string;
  signal?: string;
  exitCode?: number | null;
  /** Peak resident memory seen, in bytes (sampled, and the child's own maxRSS). */
  peakRssBytes: number;
  /** The child's stderr, for the failure message. */
  stderr: string;
}

export interface CaseOptions {
  timeoutMs?: number;
  /** Resident memory above which the case is killed and reported as 'rss'. */
  maxRssBytes?: number;
  env?: NodeJS.ProcessEnv;
  /** Extra node flags (e.g. '--expose-gc'). */
  nodeArgs?: string[];
  /** An address-space limit for the child (ulimit -v), as a container may set one. */
  addressSpaceBytes?: number;
}

function rssOf(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/**
 * Runs `body`, the text of an async function's body, in a fresh node process. In
 * scope: `faiss` (the embedded library, dist/lib) and `require`. What it returns
 * must survive JSON.stringify (BigInts become strings).
 */
export function runCase(body: string, options: CaseOptions = {}): Promise<CaseOutcome> {
  const { timeoutMs = 30_000, maxRssBytes = 2 * 1024 ** 3, env = process.env, nodeArgs = [], addressSpaceBytes } = options;
  const script = `
const faiss = require(${JSON.stringify(LIB)});
const report = (o) => { process.stdout.write(${JSON.stringify(MARK)} + JSON.stringify(o, (k, v) => typeof v === 'bigint' ? v.toString() : v) + '\\n'); };
(async () => { ${body}\n })().then(
  (value) => { report({ status: 'value', value, maxRss: process.resourceUsage().maxRSS * 1024 }); },
  (e) => { report({ status: 'error', name: e && e.name, code: e && e.code, message: String(e && e.message), maxRss: process.resourceUsage().maxRSS * 1024 }); },
).then(() => process.exit(0));
`;
  return new Promise((resolve) => {
    const args = [...nodeArgs, '-e', script];
    const child =
      addressSpaceBytes === undefined
        ? spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] })
        : spawn('/bin/sh', ['-c', `ulimit -v ${Math.ceil(addressSpaceBytes / 1024)} && exec "$0" "$@"`, process.execPath, ...args], {
            env,
            stdio: ['ignore', 'pipe', 'pipe'],
          });
    let stdout = '';
    let stderr = '';
    let peak = 0;
    let verdict: 'hang' | 'rss' | undefined;
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr = (stderr + b.toString()).slice(-4000)));
    const sampler = setInterval(() => {
      peak = Math.max(peak, rssOf(child.pid!));
      if (peak > maxRssBytes && !verdict) {
        verdict = 'rss';
        child.kill('SIGKILL');
      }
    }, 20);
    const timer = setTimeout(() => {
      verdict ??= 'hang';
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('close', (exitCode, signal) => {
      clearInterval(sampler);
      clearTimeout(timer);
      const at = stdout.lastIndexOf(MARK);
      const reported = at >= 0 ? JSON.parse(stdout.slice(at + MARK.length).split('\n')[0]) : undefined;
      if (reported) peak = Math.max(peak, reported.maxRss ?? 0);
      const base = { peakRssBytes: peak, stderr, exitCode };
      if (verdict) return resolve({ ...base, status: verdict });
      if (reported && exitCode === 0) {
        const { maxRss: _, ...rest } = reported;
        return resolve({ ...base, ...rest });
      }
      if (signal) return resolve({ ...base, status: 'signal', signal });
      resolve({ ...base, status: 'exit' });
    });
  });
}

/** Why an outcome breaks the promise "a value or a coded FaissError", or undefined when it keeps it. */
export function brokenPromise(o: CaseOutcome, maxRssBytes?: number): string | undefined {
  if (maxRssBytes !== undefined && o.peakRssBytes > maxRssBytes)
    return `peak RSS ${(o.peakRssBytes / 2 ** 20).toFixed(0)} MiB above ${(maxRssBytes / 2 ** 20).toFixed(0)} MiB`;
  switch (o.status) {
    case 'value':
      return undefined;
    case 'error':
      return o.name === 'FaissError' && typeof o.code === 'string' && o.code.startsWith('ERR_')
        ? undefined
        : `threw an uncoded ${o.name}: ${o.message}`;
    case 'signal':
      return `died of ${o.signal}: ${o.stderr.slice(-500)}`;
    case 'exit':
      return `exited with ${o.exitCode} without settling: ${o.stderr.slice(-500)}`;
    default:
      return `${o.status} (peak RSS ${(o.peakRssBytes / 2 ** 20).toFixed(0)} MiB): ${o.stderr.slice(-500)}`;
  }
}

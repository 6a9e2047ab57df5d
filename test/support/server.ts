// A real faiss-proxy server process on an ephemeral port, and a small HTTP client
// for black-box tests.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const CLI = path.resolve(__dirname, '..', '..', 'service', 'cli.js');

export const newKey = (): string => `fp_${randomBytes(8).toString('hex')}_${randomBytes(32).toString('base64url')}`;

export interface ServerProcess {
  url: string;
  adminKey: string;
  dataDir: string;
  proc: ChildProcess;
  output: () => string;
  /** Sends a signal and resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export interface StartOptions {
  dataDir?: string;
  adminKey?: string;
  args?: string[];
  env?: Record<string, string>;
  /** The script to run instead of the CLI (given the same `serve` arguments), e.g. soak-server.js. */
  entry?: string;
}

export async function startServer(opts: StartOptions = {}): Promise<ServerProcess> {
  const dataDir = opts.dataDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'faiss-proxy-test-'));
  const adminKey = opts.adminKey ?? newKey();
  const proc = spawn(process.execPath, [opts.entry ?? CLI, 'serve', '--port', '0', '--data-dir', dataDir, ...(opts.args ?? [])], {
    env: { ...process.env, FAISS_PROXY_ADMIN_KEY: adminKey, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  proc.stdout!.on('data', (c) => (output += c));
  proc.stderr!.on('data', (c) => (output += c));
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${output}`)), 30_000);
    const check = () => {
      const m = /listening on (http:\/\/\S+)/.exec(output);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    };
    proc.stdout!.on('data', check);
    exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code}:\n${output}`));
    });
  });
  return {
    url,
    adminKey,
    dataDir,
    proc,
    output: () => output,
    stop: async (signal: NodeJS.Signals = 'SIGTERM') => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      return exited;
    },
  };
}

export interface Reply {
  status: number;
  headers: Headers;
  json: any; // eslint-disable-line @typescript-eslint/no-explicit-any
  bytes: Buffer;
}

export interface CallOptions {
  key?: string;
  json?: unknown;
  body?: Uint8Array | string;
  headers?: Record<string, string>;
}

/** One HTTP call; parses a JSON answer when there is one. */
export async function call(base: string, method: string, route: string, o: CallOptions = {}): Promise<Reply> {
  const headers: Record<string, string> = { ...o.headers };
  if (o.key) headers['X-API-Key'] = o.key;
  let body: BodyInit | undefined;
  if (o.json !== undefined) {
    body = JSON.stringify(o.json);
    headers['Content-Type'] ??= 'application/json';
  } else if (o.body !== undefined) {
    body = o.body as BodyInit;
    headers['Content-Type'] ??= 'application/octet-stream';
  }
  const res = await fetch(base + route, { method, headers, body });
  const bytes = Buffer.from(await res.arrayBuffer());
  const type = res.headers.get('content-type') ?? '';
  return { status: res.status, headers: res.headers, json: type.includes('json') ? JSON.parse(bytes.toString('utf8')) : undefined, bytes };
}

/** An API client bound to one server and key. */
export function client(base: string, key?: string) {
  return {
    get: (route: string, o: CallOptions = {}) => call(base, 'GET', route, { key, ...o }),
    post: (route: string, json?: unknown, o: CallOptions = {}) => call(base, 'POST', route, { key, json, ...o }),
    put: (route: string, o: CallOptions = {}) => call(base, 'PUT', route, { key, ...o }),
    patch: (route: string, json?: unknown, o: CallOptions = {}) => call(base, 'PATCH', route, { key, json, ...o }),
    del: (route: string, o: CallOptions = {}) => call(base, 'DELETE', route, { key, ...o }),
  };
}

/** Creates a tenant and a key of each role for it. */
export async function makeTenant(s: ServerProcess, name: string): Promise<{ admin: string; write: string; read: string }> {
  const admin = client(s.url, s.adminKey);
  const created = await admin.post('/v1/admin/tenants', { name });
  if (created.status !== 201) throw new Error(`tenant ${name}: ${created.status} ${JSON.stringify(created.json)}`);
  const keys: Record<string, string> = {};
  for (const role of ['admin', 'write', 'read']) {
    const r = await admin.post(`/v1/admin/tenants/${name}/keys`, { role });
    if (r.status !== 201) throw new Error(`key ${role}: ${r.status}`);
    keys[role] = r.json.key;
  }
  return keys as { admin: string; write: string; read: string };
}

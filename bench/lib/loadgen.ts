// A closed-loop HTTP load generator: C clients, each with its own keep-alive
// connection, send a request, wait for the whole answer, check it, and send the
// next, until the cell's time or request count runs out. Two clients: node:http's
// (http.Agent, maxSockets = C), what a Node caller would use, and a lean one
// (raw-http.ts: prebuilt request bytes, minimal parsing), which leaves more of the
// shared cores to the server under test. Latency is from the request being issued
// to the last byte of the answer. Bodies are built before the run so that building
// them costs nothing during it; checking an answer (JSON.parse, or a length check
// for binary) is part of a real client's work and stays in.
import * as http from 'node:http';
import { performance } from 'node:perf_hooks';
import { argOption, percentile } from './common';
import { RawHttpConnection, requestBytes } from './raw-http';

export type ClientKind = 'node-http' | 'raw';

/** --client raw|node-http (or --client=...) from the command line; the lean client by default. */
export function clientFromArgv(argv: string[] = process.argv): ClientKind {
  const v = argOption('--client', argv);
  if (v === undefined) return 'raw';
  if (v !== 'raw' && v !== 'node-http') throw new Error(`--client takes raw or node-http, got ${JSON.stringify(v)}`);
  return v;
}

export interface RequestSpec {
  path: string;
  headers: Record<string, string>;
  bodies: Buffer[];
  /** Whether an answer's bytes are a valid search result. */
  check: (body: Buffer) => boolean;
}

export interface CellOptions {
  url: string;
  concurrency: number;
  durationS: number;
  maxRequests: number;
  warmupS: number;
  /** node:http's client (default) or the lean raw-socket one. */
  client?: ClientKind;
  /** Called once the warm-up is over, as the measured run starts (e.g. to read the server's CPU time). */
  onMeasuredStart?: () => void;
}

export interface CellResult {
  concurrency: number;
  requests: number;
  errors: number;
  firstError: string | null;
  elapsedS: number;
  qps: number;
  p50Ms: number;
  p99Ms: number;
  p999Ms: number;
  maxMs: number;
}

const maxOf = (xs: Float64Array): number => xs.reduce((m, v) => (v > m ? v : m), xs.length ? -Infinity : NaN);

interface Phase {
  until: number;
  maxRequests: number;
  latencies: Float64Array;
  count: number;
  errors: number;
  firstError: string | null;
  issued: number;
}

type Send = (i: number) => Promise<{ status: number; body: Buffer }>;

function send(agent: http.Agent, base: URL, spec: RequestSpec, body: Buffer): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        agent,
        hostname: base.hostname,
        port: base.port,
        method: 'POST',
        path: spec.path,
        headers: { ...spec.headers, 'Content-Length': String(body.length) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: chunks.length === 1 ? chunks[0] : Buffer.concat(chunks) }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

async function client(sendOne: Send, spec: RequestSpec, phase: Phase, offset: number): Promise<void> {
  let i = offset;
  while (performance.now() < phase.until && phase.issued < phase.maxRequests) {
    phase.issued++;
    const t0 = performance.now();
    try {
      const res = await sendOne(i++ % spec.bodies.length);
      const ms = performance.now() - t0;
      if (res.status === 200 && spec.check(res.body)) {
        if (phase.count < phase.latencies.length) phase.latencies[phase.count] = ms;
        phase.count++;
      } else {
        phase.errors++;
        phase.firstError ??= `HTTP ${res.status}: ${res.body.subarray(0, 200).toString('utf8')}`;
      }
    } catch (e) {
      phase.errors++;
      phase.firstError ??= e instanceof Error ? e.message : String(e);
    }
  }
}

async function runPhase(senders: Send[], spec: RequestSpec, durationS: number, maxRequests: number): Promise<Phase & { elapsedS: number }> {
  const started = performance.now();
  const phase: Phase = {
    until: started + durationS * 1e3,
    maxRequests,
    latencies: new Float64Array(maxRequests),
    count: 0,
    errors: 0,
    firstError: null,
    issued: 0,
  };
  // Clients start at different queries so that they do not ask the same thing in step.
  await Promise.all(senders.map((sendOne, c) => client(sendOne, spec, phase, (c * 997) % spec.bodies.length)));
  return { ...phase, elapsedS: (performance.now() - started) / 1e3 };
}

/** One (request kind, concurrency) cell: a short untimed warm-up on the same connections, then the measured run. */
export async function runCell(spec: RequestSpec, o: CellOptions): Promise<CellResult> {
  const base = new URL(o.url);
  let senders: Send[];
  let close: () => void;
  if (o.client === 'raw') {
    const bytes = spec.bodies.map((b) => requestBytes(base.host, spec.path, spec.headers, b));
    const connections = await Promise.all(Array.from({ length: o.concurrency }, () => RawHttpConnection.open(base.hostname, Number(base.port))));
    senders = connections.map((c) => (i: number) => c.send(bytes[i]));
    close = () => connections.forEach((c) => c.close());
  } else {
    const agent = new http.Agent({ keepAlive: true, maxSockets: o.concurrency, maxFreeSockets: o.concurrency });
    senders = Array.from({ length: o.concurrency }, () => (i: number) => send(agent, base, spec, spec.bodies[i]));
    close = () => agent.destroy();
  }
  try {
    if (o.warmupS > 0) await runPhase(senders, spec, o.warmupS, o.maxRequests);
    o.onMeasuredStart?.();
    const p = await runPhase(senders, spec, o.durationS, o.maxRequests);
    const lat = p.latencies.subarray(0, Math.min(p.count, p.latencies.length));
    return {
      concurrency: o.concurrency,
      requests: p.count,
      errors: p.errors,
      firstError: p.firstError,
      elapsedS: p.elapsedS,
      qps: p.count / p.elapsedS,
      p50Ms: percentile(lat, 50),
      p99Ms: percentile(lat, 99),
      p999Ms: percentile(lat, 99.9),
      maxMs: maxOf(lat),
    };
  } finally {
    close();
  }
}

/** The same closed loop against the embedded API: C concurrent searches in this process. */
export async function runInProcess(
  search: (i: number) => Promise<unknown>,
  concurrency: number,
  durationS: number,
  maxRequests: number,
  warmupS: number,
): Promise<CellResult> {
  const loop = async (until: number, max: number, latencies: Float64Array | null, state: { issued: number; count: number }, offset: number): Promise<void> => {
    let i = offset;
    while (performance.now() < until && state.issued < max) {
      state.issued++;
      const t0 = performance.now();
      await search(i++);
      if (latencies && state.count < latencies.length) latencies[state.count] = performance.now() - t0;
      state.count++;
    }
  };
  const w = { issued: 0, count: 0 };
  const wUntil = performance.now() + warmupS * 1e3;
  await Promise.all(Array.from({ length: concurrency }, (_, c) => loop(wUntil, maxRequests, null, w, c * 997)));
  const latencies = new Float64Array(maxRequests);
  const s = { issued: 0, count: 0 };
  const started = performance.now();
  await Promise.all(Array.from({ length: concurrency }, (_, c) => loop(started + durationS * 1e3, maxRequests, latencies, s, c * 997)));
  const elapsedS = (performance.now() - started) / 1e3;
  const lat = latencies.subarray(0, Math.min(s.count, latencies.length));
  return {
    concurrency,
    requests: s.count,
    errors: 0,
    firstError: null,
    elapsedS,
    qps: s.count / elapsedS,
    p50Ms: percentile(lat, 50),
    p99Ms: percentile(lat, 99),
    p999Ms: percentile(lat, 99.9),
    maxMs: maxOf(lat),
  };
}

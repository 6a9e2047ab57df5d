// npm run bench: the benchmark harness.
//
// 1. In process: for n in {10k, 100k} (and 1M with --full), d in {128, 768}, and
//    Flat, IVF-Flat, IVF-PQ and HNSW32: build time, 1-query latency p50/p99 and
//    the time of a 1,000-query batch, for this binding and for Debian's
//    python3-faiss, built from the same float32 file. Each side runs a case in its
//    own child process (bench/lib/case-worker.ts, bench/harness_python.py) so that
//    a build that overruns the per-case budget can be stopped: it is reported as
//    "skipped: budget", and so is every larger case of the same kind.
// 2. Over HTTP: a real server process on loopback; closed-loop clients (1, 8, 32,
//    64) send single-query searches, JSON and binary, to a flat index (200k x 128)
//    and to an HNSW32 index; per cell QPS, p50/p99/p99.9 latency, errors and the
//    server's CPU; the server's RSS before and after. The same HNSW and flat
//    indexes are searched in this process by 8 concurrent callers of the embedded
//    API, measured just before each format's sweep (for reference: the earlier
//    target on HTTP over in-process QPS is retired, issue 15, for the targets of
//    part 3, which measure the proxy rather than the machine). The load generator's client is
//    the lean raw-socket one (--client); the 8-client HNSW cells are also run with
//    node:http's client.
// 3. The HTTP targets (bench/lib/http-targets.ts): an HNSW32 index file served in
//    turn by the proxy, by node:http alone doing the same FAISS search
//    (bench/lib/bare-http-server.ts), by the same handler as the one route of an
//    Express app (what Express itself costs), and by the seed's FastAPI + faiss design
//    (bench/fastapi/server.py), at 1 and 8 clients, JSON and binary, efSearch 64
//    per request, rounds alternating the servers; with --baseline-dist DIR also an
//    earlier build of the proxy (a copy of its dist/), for before/after figures.
// Output: tables on stdout, bench/results/harness.json and bench/results/harness.svg.
// Nothing asserts on time: the machine may be shared; targets are reported.
//
// Flags: --full (adds n = 1M), --budget S (per-case build budget of one side, s),
//        --cell-seconds S, --hnsw-n N (vectors in the HTTP HNSW index), --hnsw-budget S
//        (its build budget, 45 s by default),
//        --only inprocess|http|targets (http: the sweeps and the targets),
//        --server-log-level L, --server-arg=--flag=value,
//        --baseline-dist DIR, --targets-rounds N, --targets-client raw|node-http
//        (node-http by default: the issue's figures were taken with it),
//        --client raw|node-http (the load generator's client; raw by default),
//        (repeatable), --profile-server (V8 CPU profile of the server, summarised
//        for the 8-client HNSW cells; with --only targets, the proxy's 8-client cells).
import { ompWaitPolicyDefaulted } from './lib/omp-env'; // first: before the addon loads libgomp
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { buildInfo, getNumThreads, IndexFlatL2, IndexHNSWFlat, serializeIndex, type Index } from '../lib';
import { KINDS, label, nlistFor, ntrainFor, pqMFor, type CaseConfig, type Kind, type SideResult } from './lib/cases';
import { argOption, fmtMs, formatTable, percentile, positiveNumberOption, randomMatrix, serverArgsFromArgv, writeF32, type SearchSchedule } from './lib/common';
import { summarise, type ProfileSummary } from './lib/cpuprofile';
import { clientFromArgv, runCell, runInProcess, type CellResult, type ClientKind, type RequestSpec } from './lib/loadgen';
import { searchRequests, type Format } from './lib/search-requests';
import { call, cpuSeconds, peakRssBytes, rssBytes, spawnListening, startBenchServer } from './lib/server';
import { cpuTable, runTargets, targetsTable } from './lib/http-targets';
import { compact, renderChart, type Series } from './lib/svg';

// ---------------------------------------------------------------- configuration

function flag(name: string): boolean {
  return process.argv.includes(name);
}

const FULL = flag('--full');
const ONLY = argOption('--only');
if (ONLY !== undefined && ONLY !== 'inprocess' && ONLY !== 'http' && ONLY !== 'targets') throw new Error('--only takes inprocess, http or targets');
const BASELINE_DIST = argOption('--baseline-dist');
const TARGETS_ROUNDS = Math.round(positiveNumberOption('--targets-rounds', 3));
const TARGETS_CLIENT: ClientKind = (argOption('--targets-client') as ClientKind | undefined) ?? 'node-http';
if (TARGETS_CLIENT !== 'raw' && TARGETS_CLIENT !== 'node-http') throw new Error('--targets-client takes raw or node-http');
const TARGETS_EF_SEARCH = 64;
const TARGETS_CLIENTS = [1, 8];

const K = 10;
const NQ = 1_000;
const SIZES = FULL ? [10_000, 100_000, 1_000_000] : [10_000, 100_000];
const DIMS = [128, 768];
/** Build budget of one side of one case, seconds. */
const BUDGET_S = positiveNumberOption('--budget', FULL ? 90 : 20);
const NPROBE = 16;
const EF_CONSTRUCTION = 40; // FAISS's default, set on both sides
const EF_SEARCH = 16; // FAISS's default, set on both sides and over HTTP
/** What each side times per case (bench/harness_python.py follows the same schedule). */
const SCHEDULE: SearchSchedule = { warmup: 5, singleQueries: 200, singleBudgetS: 3, batchRepeats: 3, batchBudgetS: 8 };
/** After its build, a side has this long to do its searches before it is stopped. */
const SEARCH_LIMIT_S = 120;

const HTTP_D = 128;
const FLAT_N = 200_000;
const HNSW_N = Math.round(positiveNumberOption('--hnsw-n', 30_000));
/**
 * The HTTP HNSW index is built here once, with a smaller efConstruction than the
 * in-process cases (it only shapes the graph, which both HTTP and in-process
 * callers then search as is; 40 takes ~2 s per 1,000 vectors on this 2-core
 * machine). Should the machine be too busy, it holds what was added in time.
 */
const HNSW_HTTP_EF_CONSTRUCTION = 16;
const HNSW_HTTP_BUDGET_S = positiveNumberOption('--hnsw-budget', 45);
const CONCURRENCY = [1, 8, 32, 64];
const CELL_S = positiveNumberOption('--cell-seconds', 4);
const CELL_MAX_REQUESTS = 100_000;
const WARMUP_S = 0.5;
const OVERHEAD_CLIENTS = 8;
const SERVER_LOG_LEVEL = argOption('--server-log-level') ?? 'info';
const PROFILE = flag('--profile-server');
/** Extra server flags, for diagnosis (e.g. --server-arg=--batch-max-wait-ms=0); repeatable. */
const SERVER_ARGS = serverArgsFromArgv();
/**
 * The load generator's client (bench/lib/loadgen.ts). The lean one by default: it
 * shares the 2 cores with the server under test, and node:http's client costs
 * about twice as much per request. The 8-client HNSW cells and the node:http
 * ceiling are also run with the other client, so both figures are printed.
 */
const CLIENT = clientFromArgv();
const OTHER_CLIENT: ClientKind = CLIENT === 'raw' ? 'node-http' : 'raw';

const PYTHON = process.env.FAISS_PROXY_PYTHON ?? '/usr/bin/python3';
const ROOT = path.resolve(__dirname, '..', '..');
const PY_SCRIPT = path.join(ROOT, 'bench', 'harness_python.py');
const WORKER = path.join(__dirname, 'lib', 'case-worker.js');
const RESULTS_DIR = path.join(ROOT, 'bench', 'results');

const log = (s = ''): void => console.log(s);
const elapsedSince = (t: number): string => `${((performance.now() - t) / 1e3).toFixed(1)} s`;

// ---------------------------------------------------------------- in process

/** Rows written in chunks (each its own seed) so that 1M x 768 never sits in this process. */
function writeRandomFile(file: string, rows: number, d: number, seed: number): void {
  const fd = fs.openSync(file, 'w');
  try {
    const chunk = 10_000;
    for (let r = 0, c = 0; r < rows; r += chunk, c++) {
      const x = randomMatrix(Math.min(chunk, rows - r), d, seed * 1_000_003 + c);
      fs.writeSync(fd, new Uint8Array(x.buffer, x.byteOffset, x.byteLength));
    }
  } finally {
    fs.closeSync(fd);
  }
}

/** Runs one side of a case in a child process; kills it when its build passes the budget. */
function runSide(side: 'binding' | 'python', c: CaseConfig): Promise<SideResult> {
  const [cmd, args] = side === 'binding' ? [process.execPath, [WORKER, JSON.stringify(c)]] : [PYTHON, [PY_SCRIPT, JSON.stringify(c)]];
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let outcome: SideResult | null = null;
    let timer: NodeJS.Timeout | undefined;
    const limit = (seconds: number, onExpiry: () => SideResult): void => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        outcome ??= onExpiry();
        child.kill('SIGKILL');
      }, seconds * 1e3);
    };
    limit(120, () => ({ status: 'error', reason: 'loading the data took over 120 s' }));
    const started = performance.now();
    let loadedAt = started;
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString('utf8');
      let nl: number;
      while ((nl = stdout.indexOf('\n')) >= 0) {
        const line = stdout.slice(0, nl).trim();
        stdout = stdout.slice(nl + 1);
        if (!line.startsWith('{')) continue;
        const ev = JSON.parse(line) as { event: string } & Record<string, any>;
        if (ev.event === 'loaded') {
          loadedAt = performance.now();
          limit(c.budgetS, () => ({ status: 'skipped', reason: 'budget', elapsedS: (performance.now() - loadedAt) / 1e3 }));
        } else if (ev.event === 'built') {
          limit(SEARCH_LIMIT_S, () => ({ status: 'error', reason: `searches took over ${SEARCH_LIMIT_S} s` }));
        } else if (ev.event === 'skipped') {
          outcome ??= { status: 'skipped', reason: ev.reason, projectedS: ev.projectedS, elapsedS: ev.elapsedS };
        } else if (ev.event === 'result') {
          outcome ??= {
            status: 'ok',
            buildS: ev.buildS,
            trainS: ev.trainS ?? null,
            singleMs: ev.singleMs,
            batchMs: ev.batchMs,
            ntotal: ev.ntotal,
            threads: ev.threads,
            faissVersion: ev.faissVersion,
            defaultThreads: ev.defaultThreads,
          };
        }
      }
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      const noise = stderr.split('\n').filter((l) => l.trim() && !/^WARNING clustering/.test(l) && !/^Sampling a subset/.test(l));
      resolve(outcome ?? { status: 'error', reason: `exit ${code}: ${noise.slice(-5).join(' / ') || '(no output)'}` });
    });
  });
}

interface CaseResult {
  case: string;
  kind: Kind;
  n: number;
  d: number;
  nlist: number | null;
  ntrain: number | null;
  pqM: number | null;
  order: string;
  binding: SideResult;
  python: SideResult;
  /** Why a side has no figures ('' when both have). */
  note: string;
}

async function inProcess(tmp: string, threads: number): Promise<{ results: CaseResult[]; files: Record<number, string> }> {
  log(`== in process: binding vs python3-faiss (per-case build budget ${BUDGET_S} s per side) ==`);
  const files: Record<number, string> = {};
  const t = performance.now();
  const maxN = Math.max(...SIZES);
  for (const d of DIMS) {
    const base = path.join(tmp, `base-${d}.f32`);
    const queries = path.join(tmp, `queries-${d}.f32`);
    writeRandomFile(base, maxN, d, 1000 + d);
    writeF32(queries, randomMatrix(NQ, d, 2000 + d));
    files[d] = base;
  }
  log(`data: ${SIZES.map((n) => n.toLocaleString('en')).join(', ')} rows x d ${DIMS.join(', ')} written once (${elapsedSince(t)})`);

  const results: CaseResult[] = [];
  const overBudget: { kind: Kind; n: number; d: number }[] = [];
  let caseNo = 0;
  for (const n of SIZES) {
    for (const d of DIMS) {
      for (const kind of KINDS) {
        const isIvf = kind === 'IVFFlat' || kind === 'IVFPQ';
        const c: CaseConfig = {
          kind,
          n,
          d,
          nq: NQ,
          k: K,
          basePath: files[d],
          queryPath: path.join(tmp, `queries-${d}.f32`),
          nlist: nlistFor(n),
          ntrain: ntrainFor(n),
          nprobe: NPROBE,
          pqM: pqMFor(d),
          efConstruction: EF_CONSTRUCTION,
          efSearch: EF_SEARCH,
          hnswChunk: Math.max(500, Math.round(n / 20)),
          budgetS: BUDGET_S,
          threads,
          schedule: SCHEDULE,
        };
        const name = label(c);
        const r: CaseResult = {
          case: name,
          kind,
          n,
          d,
          nlist: isIvf ? c.nlist : null,
          ntrain: isIvf ? c.ntrain : null,
          pqM: kind === 'IVFPQ' ? c.pqM : null,
          order: '-',
          binding: { status: 'skipped', reason: 'budget' },
          python: { status: 'skipped', reason: 'budget' },
          note: '',
        };
        results.push(r);
        const smaller = overBudget.find((o) => o.kind === kind && o.n <= n && o.d <= d);
        if (smaller) {
          const why = `budget (${label(smaller)} was over it)`;
          r.binding = r.python = { status: 'skipped', reason: why };
          r.note = `skipped: ${why}`;
          log(`${name}: skipped: ${why}`);
          continue;
        }
        // Alternate which side goes first, so that load from other tenants of the
        // machine falls on both alike. When the first side's build overruns the
        // budget, the other side is not run.
        const order: ('binding' | 'python')[] = caseNo++ % 2 === 0 ? ['binding', 'python'] : ['python', 'binding'];
        r.order = order.join(',');
        const t0 = performance.now();
        const first = await runSide(order[0], c);
        r[order[0]] = first;
        if (first.status === 'skipped') {
          overBudget.push({ kind, n, d });
          r[order[1]] = { status: 'skipped', reason: `budget (${order[0]} was over it)` };
        } else {
          r[order[1]] = await runSide(order[1], c);
          if (r[order[1]].status === 'skipped') overBudget.push({ kind, n, d });
        }
        const over = (side: 'binding' | 'python'): string => {
          const s = r[side];
          if (s.status === 'error') return `${side} error: ${s.reason}`;
          if (s.status !== 'skipped') return '';
          const projected = s.projectedS ? `, projected ${s.projectedS.toFixed(0)} s` : '';
          return `skipped: budget (${side} build over ${BUDGET_S} s${projected})`;
        };
        r.note = first.status === 'skipped' ? over(order[0]) : [over(order[0]), over(order[1])].filter(Boolean).join('; ');
        const show = (s: SideResult): string =>
          s.status === 'ok' ? `build ${s.buildS.toFixed(2)} s` : s.status === 'skipped' ? `skipped: ${s.reason}${s.projectedS ? ` (projected ${s.projectedS.toFixed(0)} s)` : ''}` : `error: ${s.reason}`;
        log(`${name}: binding ${show(r.binding)}; python ${show(r.python)} (${elapsedSince(t0)})`);
      }
    }
  }
  return { results, files };
}

function inProcessTable(results: CaseResult[]): string {
  const fmt = (v: number): string => (v >= 1000 ? `${(v / 1e3).toFixed(2)} s` : fmtMs(v));
  const ms = (s: SideResult, f: (s: Extract<SideResult, { status: 'ok' }>) => number): string => (s.status === 'ok' ? fmt(f(s)) : '-');
  const pair = (r: CaseResult, f: (s: Extract<SideResult, { status: 'ok' }>) => number): string => `${ms(r.binding, f)} / ${ms(r.python, f)}`;
  const ratio = (r: CaseResult, f: (s: Extract<SideResult, { status: 'ok' }>) => number): string =>
    r.binding.status === 'ok' && r.python.status === 'ok' ? (f(r.binding) / f(r.python)).toFixed(2) : '-';
  const build = (s: Extract<SideResult, { status: 'ok' }>) => s.buildS * 1e3;
  const p50 = (s: Extract<SideResult, { status: 'ok' }>) => percentile(s.singleMs, 50);
  const p99 = (s: Extract<SideResult, { status: 'ok' }>) => percentile(s.singleMs, 99);
  const batch = (s: Extract<SideResult, { status: 'ok' }>) => Math.min(...s.batchMs);
  const rows = results.map((r) => {
    const note = r.note;
    if (r.binding.status !== 'ok' && r.python.status !== 'ok') return [r.case, '-', '', '-', '', '-', '-', '', '', note];
    return [
      r.case,
      pair(r, build),
      ratio(r, build),
      pair(r, p50),
      ratio(r, p50),
      pair(r, p99),
      pair(r, batch),
      ratio(r, batch),
      `${r.binding.status === 'ok' ? r.binding.singleMs.length : 0}/${r.python.status === 'ok' ? r.python.singleMs.length : 0}`,
      note,
    ];
  });
  return formatTable(
    ['case', 'build (binding / python)', 'ratio', '1-query p50 (b / py)', 'ratio', '1-query p99 (b / py)', `${NQ}-query batch, best (b / py)`, 'ratio', '1-q samples', 'note'],
    rows,
    [9],
  );
}

// ---------------------------------------------------------------- over HTTP

interface HttpCell extends CellResult {
  index: string;
  format: Format;
  /** CPU time of the server (all threads) and of its main (event-loop) thread, per second of the cell. */
  serverCpuCores: number;
  serverMainThreadCores: number;
  clientCpuCores: number;
  client: ClientKind;
}
interface InProcessRun extends CellResult {
  index: string;
  before: Format;
}

function requestSpec(format: Format, name: string, xq: Float32Array, d: number, key: string): RequestSpec {
  return searchRequests(format, name, xq, d, K, key);
}

/** The HTTP HNSW index, from the first rows of `xb`, within its build budget. */
async function buildHttpHnsw(xb: Float32Array): Promise<IndexHNSWFlat> {
  const hnsw = new IndexHNSWFlat(HTTP_D, 32);
  hnsw.efConstruction = HNSW_HTTP_EF_CONSTRUCTION;
  const hnswEnd = performance.now() + HNSW_HTTP_BUDGET_S * 1e3;
  for (let i = 0; i < HNSW_N && performance.now() < hnswEnd; i += 5_000) {
    await hnsw.add(xb.subarray(i * HTTP_D, Math.min(HNSW_N, i + 5_000) * HTTP_D));
  }
  hnsw.efSearch = EF_SEARCH;
  return hnsw;
}

function targetOptions(hnsw: Index, xq: Float32Array, tmp: string): Parameters<typeof runTargets>[0] {
  return {
    hnsw,
    xq,
    d: HTTP_D,
    k: K,
    efSearch: TARGETS_EF_SEARCH,
    clients: TARGETS_CLIENTS,
    rounds: TARGETS_ROUNDS,
    cellS: CELL_S,
    maxRequests: CELL_MAX_REQUESTS,
    warmupS: WARMUP_S,
    client: TARGETS_CLIENT,
    serverArgs: SERVER_ARGS,
    baselineDist: BASELINE_DIST && path.resolve(BASELINE_DIST),
    python: PYTHON,
    // The sweep's server is profiled instead when both run.
    profile: PROFILE && ONLY === 'targets',
    root: ROOT,
    tmp,
    log,
  };
}

/** --only targets: the HNSW index and the targets, without the sweeps. */
async function targetsOnly(tmp: string) {
  log(`== HTTP targets: loopback, single-query searches, k=${K} ==`);
  const t = performance.now();
  const hnsw = await buildHttpHnsw(randomMatrix(HNSW_N, HTTP_D, 31));
  log(`index: HNSW32 ${hnsw.ntotal} x ${HTTP_D} (efConstruction ${HNSW_HTTP_EF_CONSTRUCTION}; built here in ${elapsedSince(t)})`);
  try {
    return { hnswN: hnsw.ntotal, targets: await runTargets(targetOptions(hnsw, randomMatrix(NQ, HTTP_D, 32), tmp)) };
  } finally {
    hnsw.dispose();
  }
}

async function http(tmp: string) {
  log(`== over HTTP: loopback, real server process, single-query searches, k=${K} ==`);
  const t = performance.now();
  const xb = randomMatrix(FLAT_N, HTTP_D, 31);
  const xq = randomMatrix(NQ, HTTP_D, 32);
  const flat = new IndexFlatL2(HTTP_D);
  await flat.add(xb);
  const hnsw = await buildHttpHnsw(xb);
  const hnswBuildS = (performance.now() - t) / 1e3;
  log(
    `indexes: Flat ${FLAT_N} x ${HTTP_D}; HNSW32 ${hnsw.ntotal} x ${HTTP_D} (efConstruction ${HNSW_HTTP_EF_CONSTRUCTION}, efSearch ${EF_SEARCH}; built here in ${hnswBuildS.toFixed(1)} s` +
      (hnsw.ntotal < HNSW_N ? `, build budget of ${HNSW_HTTP_BUDGET_S} s ran out before ${HNSW_N}` : '') +
      ')',
  );

  const dataDir = path.join(tmp, 'server-data');
  const nodeArgs = PROFILE ? ['--cpu-prof', '--cpu-prof-dir', path.join(tmp, 'profile')] : [];
  const server = await startBenchServer(dataDir, ['--fsync', 'false', '--log-level', SERVER_LOG_LEVEL, ...SERVER_ARGS], nodeArgs);
  const cells: HttpCell[] = [];
  /** The 8-client HNSW cells again, with the other client. */
  const otherClientCells: HttpCell[] = [];
  const inProcessRuns: InProcessRun[] = [];
  const profileWindows: { index: string; format: Format; fromUs: number; toUs: number }[] = [];
  let rss!: { startedBytes: number; beforeBytes: number; afterBytes: number; peakBytes: number };
  try {
    const startedBytes = rssBytes(server.pid);
    await call(`${server.url}/v1/admin/tenants`, 'POST', server.adminKey, { name: 'bench' });
    const writeKey = (await call(`${server.url}/v1/admin/tenants/bench/keys`, 'POST', server.adminKey, { role: 'write' })).key as string;
    const readKey = (await call(`${server.url}/v1/admin/tenants/bench/keys`, 'POST', server.adminKey, { role: 'read' })).key as string;
    await call(`${server.url}/v1/indexes`, 'POST', writeKey, { name: 'flat', dimension: HTTP_D, type: 'IndexFlatL2' });
    for (let i = 0; i < FLAT_N; i += 50_000) {
      const rows = xb.subarray(i * HTTP_D, Math.min(FLAT_N, i + 50_000) * HTTP_D);
      await call(`${server.url}/v1/indexes/flat/add`, 'POST', writeKey, new Uint8Array(rows.buffer, rows.byteOffset, rows.byteLength));
    }
    await call(`${server.url}/v1/indexes/hnsw/import`, 'PUT', writeKey, new Uint8Array(await serializeIndex(hnsw)));
    const described = await call(`${server.url}/v1/indexes/hnsw`, 'GET', readKey);
    log(`server pid ${server.pid} at ${server.url}: flat and hnsw loaded (hnsw ntotal ${described.ntotal}, efSearch ${described.efSearch ?? '?'}); setup ${elapsedSince(t)}`);
    const beforeBytes = rssBytes(server.pid);

    const indexes: { name: string; index: Index }[] = [
      { name: 'flat', index: flat },
      { name: 'hnsw', index: hnsw },
    ];
    for (const { name, index } of indexes) {
      for (const format of ['binary', 'json'] as const) {
        // In-process reference right before this sweep: same index, same queries, 8 callers.
        const local = await runInProcess((i) => index.search(xq.subarray((i % NQ) * HTTP_D, ((i % NQ) + 1) * HTTP_D), K), OVERHEAD_CLIENTS, CELL_S, CELL_MAX_REQUESTS, WARMUP_S);
        inProcessRuns.push({ ...local, index: name, before: format });
        log(`${name} in process, ${OVERHEAD_CLIENTS} concurrent: ${local.qps.toFixed(0)} QPS, p50 ${fmtMs(local.p50Ms)}, p99 ${fmtMs(local.p99Ms)}`);
        const spec = requestSpec(format, name, xq, HTTP_D, readKey);
        const measure = async (concurrency: number, client: ClientKind): Promise<HttpCell> => {
          const cpu0 = cpuSeconds(server.pid);
          const main0 = cpuSeconds(server.pid, server.pid);
          const client0 = process.cpuUsage();
          const from = process.hrtime.bigint();
          const r = await runCell(spec, { url: server.url, concurrency, durationS: CELL_S, maxRequests: CELL_MAX_REQUESTS, warmupS: WARMUP_S, client });
          const to = process.hrtime.bigint();
          const clientCpu = process.cpuUsage(client0);
          const wallS = Number(to - from) / 1e9;
          const cell: HttpCell = {
            ...r,
            index: name,
            format,
            client,
            serverCpuCores: (cpuSeconds(server.pid) - cpu0) / wallS,
            serverMainThreadCores: (cpuSeconds(server.pid, server.pid) - main0) / wallS,
            clientCpuCores: (clientCpu.user + clientCpu.system) / 1e6 / wallS,
          };
          if (concurrency === OVERHEAD_CLIENTS && name === 'hnsw' && client === CLIENT) {
            // The measured part of the cell: after its warm-up.
            profileWindows.push({ index: name, format, fromUs: Number(to) / 1e3 - r.elapsedS * 1e6, toUs: Number(to) / 1e3 });
          }
          log(
            `${name} ${format.padEnd(6)} ${String(concurrency).padStart(2)} clients${client === CLIENT ? '' : ` (${client} client)`}: ${r.qps.toFixed(0).padStart(5)} QPS, p50 ${fmtMs(r.p50Ms)}, p99 ${fmtMs(r.p99Ms)}, ` +
              `p99.9 ${fmtMs(r.p999Ms)}, ${r.errors} errors${r.firstError ? ` (first: ${r.firstError})` : ''}; server CPU ${cell.serverCpuCores.toFixed(2)} cores (main thread ${cell.serverMainThreadCores.toFixed(2)})`,
          );
          return cell;
        };
        for (const concurrency of CONCURRENCY) {
          cells.push(await measure(concurrency, CLIENT));
          if (concurrency === OVERHEAD_CLIENTS && name === 'hnsw') otherClientCells.push(await measure(concurrency, OTHER_CLIENT));
        }
      }
    }
    rss = { startedBytes, beforeBytes, afterBytes: rssBytes(server.pid), peakBytes: peakRssBytes(server.pid) };
  } finally {
    await server.stop();
  }
  let profile: { format: Format; summary: ProfileSummary }[] = [];
  if (PROFILE) {
    const dir = path.join(tmp, 'profile');
    const file = fs.readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
    if (file) {
      profile = profileWindows.map((w) => ({ format: w.format, summary: summarise(path.join(dir, file), w.fromUs, w.toUs) }));
      fs.mkdirSync(RESULTS_DIR, { recursive: true });
      fs.copyFileSync(path.join(dir, file), path.join(RESULTS_DIR, 'harness-server.cpuprofile'));
    }
  }
  const hnswN = hnsw.ntotal;
  flat.dispose();
  const targets = await runTargets(targetOptions(hnsw, xq, tmp));
  hnsw.dispose();
  return { cells, otherClientCells, inProcessRuns, rss, hnswN, hnswBuildS, profile, targets, client: CLIENT };
}

function reportTargets(hnswN: number, targets: Awaited<ReturnType<typeof runTargets>>): void {
  log();
  log(
    `HTTP targets: median QPS of ${TARGETS_ROUNDS} alternating rounds per server (${TARGETS_CLIENT} client; HNSW32 ${hnswN} x ${HTTP_D}, k ${K}, efSearch ${TARGETS_EF_SEARCH}; ` +
      `bare node:http: the same FAISS search and nothing else; FastAPI: the seed's design, one uvicorn worker${targets.fastApi === 'run' ? '' : `, not run: ${targets.fastApi}`}; ` +
      `"paired rounds": the median of each round's proxy / bare, for information)`,
  );
  log(targetsTable(targets.rows, BASELINE_DIST !== undefined));
  log('Server CPU time per request (all threads; median of the rounds):');
  log(cpuTable(targets.rows));
  log("Server main thread's CPU time per request (the Node servers' JS thread; median of the rounds):");
  log(cpuTable(targets.rows, true));
  for (const p of targets.profile) {
    log();
    log(`Proxy CPU profile, ${p.format} at ${OVERHEAD_CLIENTS} clients, the rounds' cells (${p.summary.samples} samples, ${p.summary.sampledMs.toFixed(0)} ms, main thread):`);
    log(formatTable(['inclusive by area (on the stack)', 'share'], p.summary.inclusiveByArea.slice(0, 25).map((a) => [a.area, `${(a.share * 100).toFixed(1)}%`])));
    log(formatTable(['self time by function', 'share'], p.summary.selfTop.map((a) => [a.name, `${(a.share * 100).toFixed(1)}%`])));
  }
}

const mib = (b: number): string => `${(b / 1024 ** 2).toFixed(0)} MiB`;

// ---------------------------------------------------------------- main

async function main(): Promise<void> {
  const started = performance.now();
  const info = buildInfo();
  const threads = getNumThreads();
  log(
    `faiss-proxy harness: faiss ${info.faissVersion} (addon), ${info.cores} cores, node ${process.version}, load ${os.loadavg()[0].toFixed(2)}, ` +
      `OMP_WAIT_POLICY=${process.env.OMP_WAIT_POLICY}${ompWaitPolicyDefaulted ? ' (harness default)' : ''}, OpenMP threads ${threads}${FULL ? ', --full' : ''}`,
  );
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'faiss-harness-'));
  const out: Record<string, unknown> = {
    generatedAt: new Date().toISOString(),
    environment: {
      node: process.version,
      faiss: info.faissVersion,
      cores: info.cores,
      loadavgStart: os.loadavg(),
      ompWaitPolicy: process.env.OMP_WAIT_POLICY,
      ompWaitPolicyDefaulted,
      threads,
      full: FULL,
    },
    config: {
      k: K,
      nq: NQ,
      sizes: SIZES,
      dims: DIMS,
      budgetS: BUDGET_S,
      nprobe: NPROBE,
      efConstruction: EF_CONSTRUCTION,
      efSearch: EF_SEARCH,
      schedule: SCHEDULE,
      http: { d: HTTP_D, flatN: FLAT_N, hnswN: HNSW_N, hnswEfConstruction: HNSW_HTTP_EF_CONSTRUCTION, hnswBuildBudgetS: HNSW_HTTP_BUDGET_S, concurrency: CONCURRENCY, cellS: CELL_S, cellMaxRequests: CELL_MAX_REQUESTS, warmupS: WARMUP_S, serverLogLevel: SERVER_LOG_LEVEL, serverArgs: SERVER_ARGS },
    },
  };
  try {
    let caseResults: CaseResult[] | null = null;
    if (ONLY === undefined || ONLY === 'inprocess') {
      caseResults = (await inProcess(tmp, threads)).results;
      const py = caseResults.map((r) => r.python).find((s): s is Extract<SideResult, { status: 'ok' }> => s.status === 'ok');
      out.inProcess = {
        pythonFaiss: py?.faissVersion ?? null,
        pythonThreads: py ? { used: py.threads, default: py.defaultThreads } : null,
        cases: caseResults.map((r) => ({
          ...r,
          summary: Object.fromEntries(
            (['binding', 'python'] as const).map((side) => {
              const s = r[side];
              return [
                side,
                s.status === 'ok'
                  ? { buildS: s.buildS, trainS: s.trainS, singleP50Ms: percentile(s.singleMs, 50), singleP99Ms: percentile(s.singleMs, 99), batchBestMs: Math.min(...s.batchMs) }
                  : null,
              ];
            }),
          ),
        })),
      };
      log();
    }

    let httpOut: Awaited<ReturnType<typeof http>> | null = null;
    let targetsOut: Awaited<ReturnType<typeof targetsOnly>> | null = null;
    if (ONLY === undefined || ONLY === 'http') {
      httpOut = await http(tmp);
      log();
    } else if (ONLY === 'targets') {
      targetsOut = await targetsOnly(tmp);
      out.targets = targetsOut.targets;
      log();
    }

    // ------------------------------------------------------------ report
    log('================================================================ results');
    log(`faiss ${info.faissVersion}; ${info.cores} cores; node ${process.version}; OMP_WAIT_POLICY=${process.env.OMP_WAIT_POLICY}; load now ${os.loadavg()[0].toFixed(2)}`);
    if (targetsOut) reportTargets(targetsOut.hnswN, targetsOut.targets);
    if (caseResults) {
      const py = (out.inProcess as { pythonFaiss: string | null; pythonThreads: { used: number; default: number } | null });
      log();
      log(
        `In process (binding in a child node process vs python3-faiss ${py.pythonFaiss ?? '?'}; OpenMP threads ${threads} / ${py.pythonThreads?.used ?? '?'}): ` +
          `${NQ} queries, k=${K}, IVF nprobe=${NPROBE} trained on 40 x nlist rows, HNSW efConstruction=${EF_CONSTRUCTION} efSearch=${EF_SEARCH}; ` +
          `build budget ${BUDGET_S} s per side; ratio = binding / python (lower is better for the binding)`,
      );
      log(inProcessTable(caseResults));
    }
    if (httpOut) {
      const { cells, inProcessRuns, rss } = httpOut;
      log();
      log(
        `Over HTTP (loopback, keep-alive, closed loop, ${CLIENT} client, ${CELL_S} s or ${CELL_MAX_REQUESTS} requests per cell after ${WARMUP_S} s warm-up; ` +
          `Flat ${FLAT_N} x ${HTTP_D}, HNSW32 ${httpOut.hnswN} x ${HTTP_D} efSearch ${EF_SEARCH}; server log level ${SERVER_LOG_LEVEL}, fsync off${SERVER_ARGS.length ? `, ${SERVER_ARGS.join(' ')}` : ''})`,
      );
      log(
        formatTable(
          ['index', 'format', 'clients', 'QPS', 'p50', 'p99', 'p99.9', 'errors', 'requests', 'server CPU', 'server main thread', 'load gen CPU'],
          cells.map((c) => [
            c.index,
            c.format,
            String(c.concurrency),
            c.qps.toFixed(0),
            fmtMs(c.p50Ms),
            fmtMs(c.p99Ms),
            fmtMs(c.p999Ms),
            String(c.errors),
            String(c.requests),
            `${c.serverCpuCores.toFixed(2)} cores`,
            `${c.serverMainThreadCores.toFixed(2)} cores`,
            `${c.clientCpuCores.toFixed(2)} cores`,
          ]),
        ),
      );
      log();
      log(`In process (embedded API, this process, ${OVERHEAD_CLIENTS} concurrent searches, measured right before each HTTP sweep):`);
      log(
        formatTable(
          ['index', 'before sweep', 'QPS', 'p50', 'p99', 'p99.9', 'searches'],
          inProcessRuns.map((r) => [r.index, r.before, r.qps.toFixed(0), fmtMs(r.p50Ms), fmtMs(r.p99Ms), fmtMs(r.p999Ms), String(r.requests)]),
        ),
      );
      log();
      // For information: each 8-client cell over its sweep's in-process figure.
      const ratioRows: string[][] = [];
      for (const cell of [...cells.filter((c) => c.concurrency === OVERHEAD_CLIENTS), ...httpOut.otherClientCells]) {
        const local = inProcessRuns.find((r) => r.index === cell.index && r.before === cell.format);
        if (local) ratioRows.push([`${cell.index} ${cell.format}, ${cell.client} client`, cell.qps.toFixed(0), local.qps.toFixed(0), `${((cell.qps / local.qps) * 100).toFixed(1)}%`]);
      }
      log(`HTTP QPS over in-process QPS at ${OVERHEAD_CLIENTS} clients (information; no target: see the HTTP targets below)`);
      log(formatTable(['index format', 'HTTP QPS', 'in-process QPS', 'ratio'], ratioRows));
      reportTargets(httpOut.hnswN, httpOut.targets);
      log();
      log(
        `Server RSS: ${mib(rss.startedBytes)} at start, ${mib(rss.beforeBytes)} with indexes loaded (before load), ${mib(rss.afterBytes)} after all cells ` +
          `(${rss.afterBytes >= rss.beforeBytes ? '+' : ''}${mib(rss.afterBytes - rss.beforeBytes)}); peak ${mib(rss.peakBytes)}`,
      );
      for (const p of httpOut.profile) {
        log();
        log(`Server CPU profile, hnsw ${p.format} at ${OVERHEAD_CLIENTS} clients (${p.summary.samples} samples, ${p.summary.sampledMs.toFixed(0)} ms, main thread):`);
        // Inclusive: a sample counts for every area on its stack, so a middleware that calls next() includes what runs after it.
        log(formatTable(['inclusive by area (on the stack)', 'share'], p.summary.inclusiveByArea.map((a) => [a.area, `${(a.share * 100).toFixed(1)}%`])));
        log(formatTable(['self time by function', 'share'], p.summary.selfTop.map((a) => [a.name, `${(a.share * 100).toFixed(1)}%`])));
      }
      out.http = httpOut;
      writeChart(httpOut.cells, inProcessRuns, httpOut.hnswN);
    }
    const totalS = (performance.now() - started) / 1e3;
    out.totalS = totalS;
    (out.environment as Record<string, unknown>).loadavgEnd = os.loadavg();
    fs.mkdirSync(RESULTS_DIR, { recursive: true });
    fs.writeFileSync(path.join(RESULTS_DIR, 'harness.json'), JSON.stringify(out, null, 2) + '\n');
    log();
    log(`total ${totalS.toFixed(0)} s; figures in bench/results/harness.json${httpOut ? ', chart in bench/results/harness.svg' : ''}`);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

function writeChart(cells: HttpCell[], local: InProcessRun[], hnswN: number): void {
  const style: Record<string, { color: string; dash?: string }> = {
    'flat binary': { color: '#1f77b4' },
    'flat json': { color: '#1f77b4', dash: '7,5' },
    'hnsw binary': { color: '#d62728' },
    'hnsw json': { color: '#d62728', dash: '7,5' },
  };
  const series = (pick: (c: HttpCell) => number): Series[] =>
    Object.entries(style).map(([key, s]) => {
      const [index, format] = key.split(' ');
      return {
        name: `${index === 'flat' ? `Flat ${FLAT_N / 1000}k` : `HNSW32 ${Math.round(hnswN / 1000)}k`}, ${format.toUpperCase()}`,
        ...s,
        labelsBelow: format === 'json',
        values: CONCURRENCY.map((c) => {
          const cell = cells.find((x) => x.index === index && x.format === format && x.concurrency === c);
          return cell ? pick(cell) : null;
        }),
      };
    });
  const mean = (index: string): number => {
    const xs = local.filter((r) => r.index === index).map((r) => r.qps);
    return xs.reduce((a, b) => a + b, 0) / xs.length;
  };
  const svg = renderChart({
    title: 'faiss-proxy over HTTP: single-query search, loopback',
    subtitle: `d=${HTTP_D}, k=${K}, ${CELL_S} s per point; ${os.cpus().length} cores shared by server and load generator; ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC`,
    xLabel: 'concurrent clients',
    categories: CONCURRENCY.map(String),
    panels: [
      {
        title: 'Throughput (QPS, higher is better)',
        yLabel: 'queries per second',
        series: series((c) => c.qps),
        references: [
          { label: `HNSW in process, ${OVERHEAD_CLIENTS} callers`, value: mean('hnsw'), color: '#8c1a1a' },
          { label: `Flat in process, ${OVERHEAD_CLIENTS} callers`, value: mean('flat'), color: '#174a73' },
        ],
      },
      {
        title: 'p99 latency (ms, lower is better)',
        yLabel: 'milliseconds',
        series: series((c) => c.p99Ms),
        format: (v) => (v < 1 ? v.toPrecision(2) : compact(v)),
      },
    ],
  });
  fs.mkdirSync(RESULTS_DIR, { recursive: true });
  fs.writeFileSync(path.join(RESULTS_DIR, 'harness.svg'), svg);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});

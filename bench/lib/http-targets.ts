// The harness's HTTP targets (issue 15), measured in one run with one load
// generator, on one HNSW index file served by each server in turn:
// - the proxy against a bare node:http server doing the same FAISS search
//   (bare-http-server.ts): >= 85% of its QPS at 8 clients, binary and JSON; and
//   beside it the same handler as the one route of an Express app, which shows
//   what Express itself costs;
// - the proxy against the seed's design, a FastAPI + faiss server with one
//   uvicorn worker (bench/fastapi/server.py): with JSON, >= 3x its QPS at 8
//   clients and >= 2x at 1;
// - optionally an earlier build of the proxy (--baseline-dist DIR: a copy of
//   that build's dist/), for before/after figures side by side.
// On a shared machine any one cell drifts with the load, so the servers take
// turns, cell by cell, in a rotating order, for several rounds, and the report
// is the median of each server's cells. Each cell also records the server's CPU
// time per answered request (all its threads, from /proc), which the machine's
// load moves far less than QPS, and its main thread's (the JS thread of the Node
// servers: where the proxy's own per-request work runs).
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeIndex, type Index } from '../../lib';
import { fmtMs, formatTable, percentile } from './common';
import { summarise, type ProfileSummary } from './cpuprofile';
import { runCell, type CellResult, type ClientKind } from './loadgen';
import { searchRequests, type Format } from './search-requests';
import { call, cpuSeconds, newKey, spawnListening, startBenchServer } from './server';

export interface TargetOptions {
  hnsw: Index;
  xq: Float32Array;
  d: number;
  k: number;
  efSearch: number;
  clients: number[];
  rounds: number;
  cellS: number;
  maxRequests: number;
  warmupS: number;
  client: ClientKind;
  serverArgs: string[];
  /** dist/ of an earlier build to measure beside this one. */
  baselineDist?: string;
  python: string;
  /** Profile the proxy's main thread (node --cpu-prof) and summarise its 8-client cells. */
  profile: boolean;
  root: string;
  tmp: string;
  log: (s?: string) => void;
}

type ServerName = 'proxy' | 'baseline proxy' | 'bare node:http' | 'bare Express' | 'FastAPI';

interface Running {
  name: ServerName;
  url: string;
  key: string;
  pid: number;
  stop(): Promise<unknown>;
}

export interface TargetCell extends CellResult {
  server: ServerName;
  format: Format;
  round: number;
  /** The server's CPU time (all threads) per answered request, milliseconds. */
  serverCpuMsPerRequest: number;
  /** Its main thread's CPU time per answered request, milliseconds. */
  mainThreadCpuMsPerRequest: number;
}

export interface TargetRow {
  format: Format;
  clients: number;
  medianQps: Partial<Record<ServerName, number>>;
  medianCpuMsPerRequest: Partial<Record<ServerName, number>>;
  medianMainThreadCpuMsPerRequest: Partial<Record<ServerName, number>>;
  proxyOverBare: number | null;
  /**
   * The median over rounds of the proxy's QPS over bare node:http's in the same
   * round: on a shared machine whose load drifts between rounds, each round's
   * pair shares its load (for information; the target is judged on proxyOverBare).
   */
  proxyOverBarePaired: number | null;
  baselineOverBarePaired: number | null;
  proxyOverFastApi: number | null;
  baselineOverBare: number | null;
  baselineOverFastApi: number | null;
}

/** Why the FastAPI reference cannot run here, or null when it can. */
function fastApiMissing(python: string): string | null {
  const r = spawnSync(python, ['-c', 'import fastapi, uvicorn, faiss, numpy'], { encoding: 'utf8' });
  if (r.status === 0) return null;
  return `${python} lacks ${/No module named '([^']+)'/.exec(r.stderr)?.[1] ?? 'a module'} (Debian: apt-get install python3-fastapi python3-uvicorn python3-faiss)`;
}

async function startProxy(name: ServerName, o: TargetOptions, indexBytes: Buffer, cli?: string, nodeArgs: string[] = []): Promise<Running> {
  const dataDir = path.join(o.tmp, `targets-${name.replace(/\W+/g, '-')}`);
  const server = await startBenchServer(dataDir, ['--fsync', 'false', '--log-level', 'info', ...o.serverArgs], nodeArgs, cli);
  await call(`${server.url}/v1/admin/tenants`, 'POST', server.adminKey, { name: 'bench' });
  const writeKey = (await call(`${server.url}/v1/admin/tenants/bench/keys`, 'POST', server.adminKey, { role: 'write' })).key as string;
  const readKey = (await call(`${server.url}/v1/admin/tenants/bench/keys`, 'POST', server.adminKey, { role: 'read' })).key as string;
  await call(`${server.url}/v1/indexes/hnsw/import`, 'PUT', writeKey, new Uint8Array(indexBytes));
  return { name, url: server.url, key: readKey, pid: server.pid, stop: () => server.stop() };
}

export async function runTargets(o: TargetOptions): Promise<{ cells: TargetCell[]; rows: TargetRow[]; fastApi: string; profile: { format: Format; summary: ProfileSummary }[] }> {
  const file = path.join(o.tmp, 'targets-hnsw.faissindex');
  await writeIndex(o.hnsw, file);
  const bytes = fs.readFileSync(file);
  const servers: Running[] = [];
  const missing = fastApiMissing(o.python);
  const profileDir = path.join(o.tmp, 'targets-profile');
  const windows: { format: Format; fromUs: number; toUs: number }[] = [];
  const cells: TargetCell[] = [];
  try {
    servers.push(await startProxy('proxy', o, bytes, undefined, o.profile ? ['--cpu-prof', '--cpu-prof-dir', profileDir] : []));
    if (o.baselineDist) servers.push(await startProxy('baseline proxy', o, bytes, path.join(o.baselineDist, 'service', 'cli.js')));
    const bare = await spawnListening([path.join(__dirname, 'bare-http-server.js'), file], path.join(o.tmp, 'bare-http-server.log'));
    servers.push({ name: 'bare node:http', url: bare.url, key: 'unused', pid: bare.proc.pid!, stop: bare.stop });
    const bareExpress = await spawnListening([path.join(__dirname, 'bare-http-server.js'), file, '--express'], path.join(o.tmp, 'bare-express-server.log'));
    servers.push({ name: 'bare Express', url: bareExpress.url, key: 'unused', pid: bareExpress.proc.pid!, stop: bareExpress.stop });
    if (!missing) {
      const key = newKey();
      const py = await spawnListening([path.join(o.root, 'bench', 'fastapi', 'server.py'), file, key], path.join(o.tmp, 'fastapi.log'), {}, o.python);
      servers.push({ name: 'FastAPI', url: py.url, key, pid: py.proc.pid!, stop: py.stop });
    }
    o.log(`targets: HNSW32 ${o.hnsw.ntotal} x ${o.d}, k ${o.k}, efSearch ${o.efSearch} per request, ${o.client} client; servers: ${servers.map((s) => s.name).join(', ')}${missing ? `; FastAPI not run: ${missing}` : ''}`);

    let turn = 0;
    for (const clients of o.clients) {
      for (const format of ['json', 'binary'] as const) {
        const taking = servers.filter((s) => format === 'json' || s.name !== 'FastAPI');
        for (let round = 1; round <= o.rounds; round++) {
          // A rotating order, so that no server always follows the same one.
          const order = taking.map((_, i) => taking[(i + turn) % taking.length]);
          turn++;
          for (const s of order) {
            const spec = searchRequests(format, 'hnsw', o.xq, o.d, o.k, s.key, { efSearch: o.efSearch });
            let cpu0 = 0;
            let main0 = 0;
            const onMeasuredStart = (): void => {
              cpu0 = cpuSeconds(s.pid);
              main0 = cpuSeconds(s.pid, s.pid);
            };
            const r = await runCell(spec, { url: s.url, concurrency: clients, durationS: o.cellS, maxRequests: o.maxRequests, warmupS: o.warmupS, client: o.client, onMeasuredStart });
            const serverCpuMsPerRequest = ((cpuSeconds(s.pid) - cpu0) * 1e3) / r.requests;
            const mainThreadCpuMsPerRequest = ((cpuSeconds(s.pid, s.pid) - main0) * 1e3) / r.requests;
            const toUs = Number(process.hrtime.bigint()) / 1e3;
            if (s.name === 'proxy' && clients === 8) windows.push({ format, fromUs: toUs - r.elapsedS * 1e6, toUs });
            cells.push({ ...r, server: s.name, format, round, serverCpuMsPerRequest, mainThreadCpuMsPerRequest });
            o.log(
              `targets ${format.padEnd(6)} ${String(clients).padStart(2)} clients, round ${round}, ${s.name.padEnd(14)}: ${r.qps.toFixed(0).padStart(5)} QPS, p50 ${fmtMs(r.p50Ms)}, p99 ${fmtMs(r.p99Ms)}, server CPU ${fmtMs(serverCpuMsPerRequest)} per request (main thread ${fmtMs(mainThreadCpuMsPerRequest)}), ${r.errors} errors${r.firstError ? ` (first: ${r.firstError})` : ''}`,
            );
          }
        }
      }
    }
  } finally {
    for (const s of servers) await s.stop();
  }
  const profile: { format: Format; summary: ProfileSummary }[] = [];
  const profileFile = o.profile ? fs.readdirSync(profileDir).find((f) => f.endsWith('.cpuprofile')) : undefined;
  if (profileFile) {
    for (const format of ['json', 'binary'] as const) {
      const own = windows.filter((w) => w.format === format);
      // The rounds' windows, summarised together: one window from the first's start to the last's end would include other servers' cells.
      const parts = own.map((w) => summarise(path.join(profileDir, profileFile), w.fromUs, w.toUs, 40));
      if (parts.length) profile.push({ format, summary: mergeSummaries(parts) });
    }
  }
    const median = (xs: number[]): number => percentile(Float64Array.from(xs), 50);
  const rows: TargetRow[] = [];
  for (const clients of o.clients) {
    for (const format of ['json', 'binary'] as const) {
      const medianQps: TargetRow['medianQps'] = {};
      const medianCpuMsPerRequest: TargetRow['medianCpuMsPerRequest'] = {};
      const medianMainThreadCpuMsPerRequest: TargetRow['medianMainThreadCpuMsPerRequest'] = {};
      for (const s of servers) {
        const own = cells.filter((c) => c.server === s.name && c.format === format && c.concurrency === clients);
        if (own.length === 0) continue;
        medianQps[s.name] = median(own.map((c) => c.qps));
        medianCpuMsPerRequest[s.name] = median(own.map((c) => c.serverCpuMsPerRequest));
        medianMainThreadCpuMsPerRequest[s.name] = median(own.map((c) => c.mainThreadCpuMsPerRequest));
      }
      const over = (a: ServerName, b: ServerName): number | null => (medianQps[a] !== undefined && medianQps[b] ? medianQps[a]! / medianQps[b]! : null);
      const paired = (a: ServerName, b: ServerName): number | null => {
        const ratios: number[] = [];
        for (let round = 1; round <= o.rounds; round++) {
          const cell = (name: ServerName) => cells.find((c) => c.server === name && c.format === format && c.concurrency === clients && c.round === round);
          const x = cell(a);
          const y = cell(b);
          if (x && y && y.qps > 0) ratios.push(x.qps / y.qps);
        }
        return ratios.length ? median(ratios) : null;
      };
      rows.push({
        format,
        clients,
        medianQps,
        medianCpuMsPerRequest,
        medianMainThreadCpuMsPerRequest,
        proxyOverBare: over('proxy', 'bare node:http'),
        proxyOverFastApi: over('proxy', 'FastAPI'),
        baselineOverBare: over('baseline proxy', 'bare node:http'),
        proxyOverBarePaired: paired('proxy', 'bare node:http'),
        baselineOverBarePaired: paired('baseline proxy', 'bare node:http'),
        baselineOverFastApi: over('baseline proxy', 'FastAPI'),
      });
    }
  }
  return { cells, rows, fastApi: missing ?? 'run', profile };
}

/** Profile summaries of several windows as one (shares by time). */
function mergeSummaries(parts: ProfileSummary[]): ProfileSummary {
  const sampledMs = parts.reduce((t, p) => t + p.sampledMs, 0);
  const add = (pick: (p: ProfileSummary) => { name?: string; area?: string; ms: number }[]) => {
    const m = new Map<string, number>();
    for (const p of parts) for (const e of pick(p)) m.set((e.name ?? e.area)!, (m.get((e.name ?? e.area)!) ?? 0) + e.ms);
    return [...m].sort((a, b) => b[1] - a[1]).map(([key, ms]) => ({ key, ms, share: ms / sampledMs }));
  };
  return {
    sampledMs,
    samples: parts.reduce((t, p) => t + p.samples, 0),
    selfTop: add((p) => p.selfTop).slice(0, 15).map(({ key, ms, share }) => ({ name: key, ms, share })),
    inclusiveByArea: add((p) => p.inclusiveByArea).map(({ key, ms, share }) => ({ area: key, ms, share })),
  };
}

/** The report: median QPS per server, and the targets' ratios. */
export function targetsTable(rows: TargetRow[], baseline: boolean): string {
  const qps = (v: number | undefined): string => (v === undefined ? '-' : v.toFixed(0));
  const ratio = (v: number | null, target: number | null, asTimes: boolean): string => {
    if (v === null) return '-';
    const shown = asTimes ? `${v.toFixed(2)}x` : `${(v * 100).toFixed(1)}%`;
    return target === null ? shown : `${shown} (${v >= target ? 'met' : 'NOT met'}: >= ${asTimes ? `${target}x` : `${target * 100}%`})`;
  };
  const header = ['format', 'clients', 'proxy', ...(baseline ? ['baseline proxy'] : []), 'bare node:http', 'bare Express', 'FastAPI', 'proxy / bare', 'proxy / bare, paired rounds', 'proxy / FastAPI'];
  if (baseline) header.push('baseline / bare', 'baseline / bare, paired rounds', 'baseline / FastAPI');
  return formatTable(
    header,
    rows.map((r) => {
      const bareTarget = r.clients === 8 ? 0.85 : null;
      const fastTarget = r.format === 'json' ? (r.clients === 8 ? 3 : r.clients === 1 ? 2 : null) : null;
      const cols = [
        r.format,
        String(r.clients),
        qps(r.medianQps.proxy),
        ...(baseline ? [qps(r.medianQps['baseline proxy'])] : []),
        qps(r.medianQps['bare node:http']),
        qps(r.medianQps['bare Express']),
        qps(r.medianQps.FastAPI),
        ratio(r.proxyOverBare, bareTarget, false),
        ratio(r.proxyOverBarePaired, null, false),
        ratio(r.proxyOverFastApi, fastTarget, true),
      ];
      if (baseline) cols.push(ratio(r.baselineOverBare, null, false), ratio(r.baselineOverBarePaired, null, false), ratio(r.baselineOverFastApi, null, true));
      return cols;
    }),
  );
}

/**
 * The servers' CPU time per request (median of their cells, milliseconds): what
 * each costs, whatever the load; all threads, or (`mainThread`) the main thread's.
 */
export function cpuTable(rows: TargetRow[], mainThread = false): string {
  const of = (r: TargetRow) => (mainThread ? r.medianMainThreadCpuMsPerRequest : r.medianCpuMsPerRequest);
  const names = [...new Set(rows.flatMap((r) => Object.keys(of(r))))] as ServerName[];
  return formatTable(
    ['format', 'clients', ...names.map((n) => `${n} ${mainThread ? 'main thread ' : ''}CPU/request`)],
    rows.map((r) => [r.format, String(r.clients), ...names.map((n) => (of(r)[n] === undefined ? '-' : fmtMs(of(r)[n]!)))]),
  );
}

// npm run bench:lanes: what the search lanes (native/search_lanes.cc) buy over HTTP.
// Two servers on the same HNSW32 index (30,000 x 128, efSearch 16, as in the
// harness), one sending searches to the libuv pool (--search-threads 0) and one on
// its defaults (search lanes), measured in alternating cells of the same run: 1 and
// 8 concurrent clients, binary and JSON, one-query searches. Each round starts with
// the in-process cell (8 concurrent callers) the harness compares HTTP with. Prints
// the mean of the rounds per cell and the lanes' own counters (searches that had to
// wake a lane, CPU spent awake waiting). Options: --rounds N (4), --cell-seconds S
// (3), --client node-http, --server-arg=<flag> (both servers; repeatable).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { IndexHNSWFlat, serializeIndex } from '../lib';
import { formatTable, positiveNumberOption, randomMatrix, serverArgsFromArgv, writeResults } from './lib/common';
import { clientFromArgv, runCell, runInProcess, type CellResult } from './lib/loadgen';
import { searchRequests, type Format } from './lib/search-requests';
import { call, cpuSeconds, startBenchServer, stopServers, type BenchServer } from './lib/server';

const d = 128;
const n = 30_000;
const k = 10;
const nq = 1_000;
const rounds = positiveNumberOption('--rounds', 4);
const cellS = positiveNumberOption('--cell-seconds', 3);
const warmupS = 0.5;
const client = clientFromArgv();
const serverArgs = serverArgsFromArgv();
const RESULTS = path.join(__dirname, '..', '..', 'bench', 'results', 'search-lanes.json');

const configs = { pool: ['--search-threads', '0'], lanes: [] as string[] } as const;
type Name = keyof typeof configs;
const NAMES = Object.keys(configs) as Name[];
const CLIENTS = [1, 8];
const FORMATS: Format[] = ['binary', 'json'];

interface Cell extends CellResult {
  server: Name;
  format: Format;
  round: number;
  serverCores: number;
}

const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;

async function metric(server: BenchServer, name: string): Promise<number> {
  const res = await fetch(`${server.url}/metrics`, { headers: { 'X-API-Key': server.adminKey } });
  const m = new RegExp(`^${name} ([\\d.e+-]+)$`, 'm').exec(await res.text());
  return m ? Number(m[1]) : NaN;
}

async function main(): Promise<void> {
  const xb = randomMatrix(n, d, 31);
  const xq = randomMatrix(nq, d, 32);
  const hnsw = new IndexHNSWFlat(d, 32);
  hnsw.efConstruction = 16;
  for (let i = 0; i < n; i += 5_000) await hnsw.add(xb.subarray(i * d, Math.min(n, i + 5_000) * d));
  hnsw.efSearch = 16;
  const bytes = new Uint8Array(await serializeIndex(hnsw));

  const dirs: string[] = [];
  const servers = {} as Record<Name, { server: BenchServer; key: string }>;
  try {
    for (const name of NAMES) {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-lanes-'));
      dirs.push(dir);
      const server = await startBenchServer(dir, ['--fsync', 'false', '--log-level', 'info', ...configs[name], ...serverArgs]);
      await call(`${server.url}/v1/admin/tenants`, 'POST', server.adminKey, { name: 'bench' });
      const write = (await call(`${server.url}/v1/admin/tenants/bench/keys`, 'POST', server.adminKey, { role: 'write' })).key as string;
      const read = (await call(`${server.url}/v1/admin/tenants/bench/keys`, 'POST', server.adminKey, { role: 'read' })).key as string;
      await call(`${server.url}/v1/indexes/hnsw/import`, 'PUT', write, bytes);
      servers[name] = { server, key: read };
    }
    const lanes = servers.lanes.server;
    const before = { jobs: await metric(lanes, 'faiss_proxy_search_lane_jobs_total'), wakes: await metric(lanes, 'faiss_proxy_search_lane_wakes_total'), spin: await metric(lanes, 'faiss_proxy_search_lane_spin_seconds_total') };

    const cells: Cell[] = [];
    const inProcess: number[] = [];
    for (let round = 0; round < rounds; round++) {
      const local = await runInProcess((i) => hnsw.search(xq.subarray((i % nq) * d, ((i % nq) + 1) * d), k), 8, cellS, 100_000, warmupS);
      inProcess.push(local.qps);
      console.log(`round ${round + 1}/${rounds}: in process, 8 callers: ${local.qps.toFixed(0)} QPS`);
      for (const clients of CLIENTS) {
        for (const format of FORMATS) {
          // Alternate the order so drift on a shared machine hits both alike.
          for (const name of round % 2 === 0 ? NAMES : [...NAMES].reverse()) {
            const { server, key } = servers[name];
            const cpu0 = cpuSeconds(server.pid);
            const r = await runCell(searchRequests(format, 'hnsw', xq, d, k, key), { url: server.url, concurrency: clients, durationS: cellS, maxRequests: 100_000, warmupS, client });
            const serverCores = (cpuSeconds(server.pid) - cpu0) / (cellS + warmupS);
            cells.push({ ...r, server: name, format, round, serverCores });
            console.log(`  ${name.padEnd(5)} ${format.padEnd(6)} ${String(clients).padStart(2)} clients: ${r.qps.toFixed(0)} QPS, p50 ${r.p50Ms.toFixed(3)} ms, p99 ${r.p99Ms.toFixed(3)} ms, ${r.errors} errors, server ${serverCores.toFixed(2)} cores`);
          }
        }
      }
    }
    const after = { jobs: await metric(lanes, 'faiss_proxy_search_lane_jobs_total'), wakes: await metric(lanes, 'faiss_proxy_search_lane_wakes_total'), spin: await metric(lanes, 'faiss_proxy_search_lane_spin_seconds_total') };

    const local = mean(inProcess);
    console.log(`\nHNSW32 ${n} x ${d}, k=${k}, ${rounds} rounds of ${cellS} s per cell, ${client} client; means over the rounds; in process (8 callers) ${local.toFixed(0)} QPS`);
    const rows: string[][] = [];
    const summary: Record<string, unknown>[] = [];
    for (const clients of CLIENTS) {
      for (const format of FORMATS) {
        const of = (name: Name): Cell[] => cells.filter((c) => c.server === name && c.format === format && c.concurrency === clients);
        const qps = (name: Name): number => mean(of(name).map((c) => c.qps));
        const p50 = (name: Name): number => mean(of(name).map((c) => c.p50Ms));
        const gain = qps('lanes') / qps('pool');
        rows.push([
          `${format}, ${clients} clients`,
          qps('pool').toFixed(0),
          qps('lanes').toFixed(0),
          `${((gain - 1) * 100).toFixed(0)}%`,
          `${p50('pool').toFixed(3)} / ${p50('lanes').toFixed(3)}`,
          clients === 8 ? `${((qps('pool') / local) * 100).toFixed(1)}% / ${((qps('lanes') / local) * 100).toFixed(1)}%` : '-',
        ]);
        summary.push({ format, clients, poolQps: qps('pool'), lanesQps: qps('lanes'), gain, poolP50Ms: p50('pool'), lanesP50Ms: p50('lanes') });
      }
    }
    console.log(formatTable(['cell', 'pool QPS', 'lanes QPS', 'gain', 'p50 ms pool / lanes', 'of in process pool / lanes'], rows, [0]));
    const jobs = after.jobs - before.jobs;
    console.log(
      `lanes: ${jobs} searches, ${(((after.wakes - before.wakes) / jobs) * 100).toFixed(1)}% of them had to wake a sleeping lane; ` +
        `${(after.spin - before.spin).toFixed(1)} s awake waiting for work (${(((after.spin - before.spin) / jobs) * 1e6).toFixed(0)} us per search)`,
    );
    const errors = cells.reduce((a, c) => a + c.errors, 0);
    if (errors > 0) console.log(`ERRORS: ${errors}, first: ${cells.find((c) => c.firstError)?.firstError}`);
    writeResults(RESULTS, { n, d, k, rounds, cellS, client, serverArgs, inProcess, summary, cells, lanes: { before, after } });
  } finally {
    await stopServers(Object.values(servers).map((s) => s.server), dirs);
  }
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});

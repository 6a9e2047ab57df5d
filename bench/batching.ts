// npm run bench:batching: flat 200,000 x 128 over HTTP (binary wire), single-query
// searches from 32 concurrent clients, against one server with dynamic batching
// and one without, in alternating rounds of the same run. Target: batching gives
// >= 5x the throughput, with p99 latency no worse. --client node-http runs the
// load generator on node:http's client instead of the lean one (bench/lib/loadgen.ts).
// For each server it also prints, over its best round, the searches per FAISS call
// (from its /metrics), its CPU time per search (/proc) and the load generator's (this
// process, on the same cores): where a batching server spends what the batches save.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { formatTable, randomMatrix, serverArgsFromArgv, writeResults } from './lib/common';
import { clientFromArgv, runCell, type CellResult, type RequestSpec } from './lib/loadgen';
import { call, cpuSeconds, startBenchServer, stopServers, type BenchServer } from './lib/server';

const d = 128;
const k = 10;
const n = Number(process.env.BENCH_N ?? 200_000);
const clients = 32;
const roundS = 5;
const warmupS = 0.5;
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
/** Extra flags for both servers, e.g. --server-arg=--batch-max-wait-ms=20 (repeatable). */
const serverArgs = serverArgsFromArgv();
const client = clientFromArgv();
const RESULTS = path.join(__dirname, '..', '..', 'bench', 'results', 'batching.json');

const configs = { batching: 'true', 'no batching': 'false' } as const;
type Name = keyof typeof configs;

async function start(name: Name, dirs: string[]): Promise<{ server: BenchServer; key: string }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-batching-'));
  dirs.push(dir);
  const server = await startBenchServer(dir, ['--batching', configs[name], '--log-level', 'silent', ...serverArgs]);
  return { server, key: server.adminKey };
}

/** The server's search counters (/metrics) and CPU seconds so far. */
async function counters(s: { server: BenchServer; key: string }): Promise<{ searches: number; calls: number; cpuS: number }> {
  const res = await fetch(`${s.server.url}/metrics`, { headers: { 'X-API-Key': s.key } });
  const text = await res.text();
  const read = (name: string): number => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
  return { searches: read('faiss_proxy_search_requests_total'), calls: read('faiss_proxy_search_batches_total'), cpuS: cpuSeconds(s.server.pid) };
}

type Round = CellResult & { perCall: number; cpuMsPerSearch: number; clientCpuMsPerSearch: number };

async function main(): Promise<void> {
  const data = randomMatrix(n, d, 1);
  const queries = randomMatrix(1000, d, 2);
  const dirs: string[] = [];
  const servers = {} as Record<Name, { server: BenchServer; key: string }>;
  try {
    for (const name of Object.keys(configs) as Name[]) {
      const s = (servers[name] = await start(name, dirs));
      await call(`${s.server.url}/v1/indexes`, 'POST', s.key, { name: 'flat', dimension: d, type: 'IndexFlatL2' });
      for (let i = 0; i < n; i += 50_000) {
        const part = data.subarray(i * d, Math.min(n, i + 50_000) * d);
        await call(`${s.server.url}/v1/indexes/flat/add`, 'POST', s.key, new Uint8Array(part.buffer, part.byteOffset, part.byteLength));
      }
    }
    const spec = (key: string): RequestSpec => ({
      path: `/v1/indexes/flat/search?k=${k}`,
      headers: { 'X-API-Key': key, 'Content-Type': 'application/octet-stream', Accept: 'application/octet-stream' },
      bodies: Array.from({ length: 1000 }, (_, i) => Buffer.from(queries.slice(i * d, (i + 1) * d).buffer)),
      check: (b) => b.length === k * 12, // k float32 distances + k int64 labels
    });
    const results: Record<Name, Round[]> = { batching: [], 'no batching': [] };
    for (let r = 0; r < rounds; r++) {
      // Alternate the order so drift on a shared machine hits both alike.
      const order: Name[] = r % 2 === 0 ? ['batching', 'no batching'] : ['no batching', 'batching'];
      for (const name of order) {
        const { server, key } = servers[name];
        const before = await counters(servers[name]);
        const clientBefore = process.cpuUsage();
        const cell = await runCell(spec(key), { url: server.url, concurrency: clients, durationS: roundS, maxRequests: 1_000_000, warmupS, client });
        const clientCpu = process.cpuUsage(clientBefore);
        const after = await counters(servers[name]);
        const searches = after.searches - before.searches;
        results[name].push({
          ...cell,
          perCall: searches / (after.calls - before.calls),
          cpuMsPerSearch: (1000 * (after.cpuS - before.cpuS)) / searches,
          clientCpuMsPerSearch: (clientCpu.user + clientCpu.system) / 1000 / searches,
        });
      }
    }
    const best = (xs: Round[]): Round => xs.reduce((a, b) => (b.qps > a.qps ? b : a));
    const on = best(results.batching);
    const off = best(results['no batching']);
    console.log(`flat ${n} x ${d}, ${clients} concurrent clients, single-query binary searches, k=${k}, ${rounds} rounds of ${roundS} s each (after ${warmupS} s of warm-up), best round, ${client} client`);
    console.log(
      formatTable(
        ['server', 'QPS', 'p50 ms', 'p99 ms', 'errors', 'searches per FAISS call', 'server CPU ms per search', 'client CPU ms per search'],
        ([['batching', on], ['no batching', off]] as const).map(([name, x]) => [
          name,
          x.qps.toFixed(0),
          x.p50Ms.toFixed(1),
          x.p99Ms.toFixed(1),
          String(x.errors),
          x.perCall.toFixed(1),
          x.cpuMsPerSearch.toFixed(2),
          x.clientCpuMsPerSearch.toFixed(2),
        ]),
      ),
    );
    const ratio = on.qps / off.qps;
    console.log(`throughput ratio: ${ratio.toFixed(2)}x (target >= 5x): ${ratio >= 5 ? 'met' : 'MISSED'}; p99 ${on.p99Ms <= off.p99Ms ? 'no worse' : 'WORSE'} (${on.p99Ms.toFixed(1)} vs ${off.p99Ms.toFixed(1)} ms)`);
    if (on.errors + off.errors > 0) console.log(`errors: ${on.firstError ?? off.firstError}`);
    writeResults(RESULTS, { n, d, k, clients, client, roundS, serverArgs, results, ratio });
  } finally {
    await stopServers(Object.values(servers).map((s) => s.server), dirs);
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});

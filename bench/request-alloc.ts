// JS heap allocated per request by the proxy's search path, beside bare node:http
// doing the same search (bench/lib/bare-http-server.ts) and, with --baseline-dist,
// an earlier build of the proxy: V8's sampling heap profiler in each server
// (bench/lib/heap-sampling.ts) over a fixed number of one-query HNSW searches at
// 8 node:http clients, after a warm-up. Every byte allocated per request is work
// for the JS thread and the garbage collector's threads; unlike CPU time or QPS,
// the figure does not move with the machine's load, so before/after comparisons
// hold on a busy machine. Prints, per server and round, the bytes per request and
// the functions that allocate most.
// Usage: npm run bench:request-alloc [-- --format binary|json --requests 3000 --rounds 2 --baseline-dist DIR]
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { IndexHNSWFlat, writeIndex } from '../lib';
import { argOption, formatTable, positiveNumberOption, randomMatrix } from './lib/common';
import { runCell } from './lib/loadgen';
import { searchRequests, type Format } from './lib/search-requests';
import { call, spawnListening, startBenchServer } from './lib/server';

const D = 128;
const N = 5_000;
const K = 10;
const CLIENTS = 8;
const format = (argOption('--format') ?? 'binary') as Format;
if (format !== 'binary' && format !== 'json') throw new Error('--format takes binary or json');
const requests = Math.round(positiveNumberOption('--requests', 3_000));
const rounds = Math.round(positiveNumberOption('--rounds', 2));
const baselineDist = argOption('--baseline-dist');
const PRELOAD = path.join(__dirname, 'lib', 'heap-sampling.js');

interface ProfileNode {
  callFrame: { functionName: string; url: string; lineNumber: number };
  selfSize: number;
  children: ProfileNode[];
}

interface Server {
  name: string;
  url: string;
  key: string;
  pid: number;
  samples: string;
  stop(): Promise<unknown>;
}

/** Bytes allocated in all, and by function (self), from a sampling heap profile. */
function allocations(file: string): { total: number; bySite: Map<string, number> } {
  const head = (JSON.parse(fs.readFileSync(file, 'utf8')) as { head: ProfileNode }).head;
  const bySite = new Map<string, number>();
  let total = 0;
  const walk = (n: ProfileNode): void => {
    total += n.selfSize;
    const where = n.callFrame.url.replace(/^.*\/(dist|node_modules)\//, '$1/').replace(/^file:\/\//, '');
    const site = `${n.callFrame.functionName || '(anonymous)'} ${where}${where ? `:${n.callFrame.lineNumber + 1}` : ''}`;
    bySite.set(site, (bySite.get(site) ?? 0) + n.selfSize);
    n.children.forEach(walk);
  };
  walk(head);
  return { total, bySite };
}

async function startProxy(name: string, tmp: string, indexBytes: Buffer, cli?: string): Promise<Server> {
  const samples = path.join(tmp, `${name.replace(/\W+/g, '-')}.heapprofile`);
  process.env.FAISS_PROXY_HEAP_SAMPLES = samples;
  const server = await startBenchServer(path.join(tmp, name.replace(/\W+/g, '-')), ['--fsync', 'false', '--log-level', 'info'], ['-r', PRELOAD], cli);
  await call(`${server.url}/v1/admin/tenants`, 'POST', server.adminKey, { name: 'bench' });
  const writeKey = (await call(`${server.url}/v1/admin/tenants/bench/keys`, 'POST', server.adminKey, { role: 'write' })).key as string;
  const readKey = (await call(`${server.url}/v1/admin/tenants/bench/keys`, 'POST', server.adminKey, { role: 'read' })).key as string;
  await call(`${server.url}/v1/indexes/hnsw/import`, 'PUT', writeKey, new Uint8Array(indexBytes));
  return { name, url: server.url, key: readKey, pid: server.pid, samples, stop: () => server.stop() };
}

async function main(): Promise<void> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'faiss-request-alloc-'));
  const servers: Server[] = [];
  try {
    const index = new IndexHNSWFlat(D, 32);
    await index.add(randomMatrix(N, D, 31));
    const file = path.join(tmp, 'hnsw.faissindex');
    await writeIndex(index, file);
    index.dispose();
    const bytes = fs.readFileSync(file);
    servers.push(await startProxy('proxy', tmp, bytes));
    if (baselineDist) servers.push(await startProxy('baseline proxy', tmp, bytes, path.join(path.resolve(baselineDist), 'service', 'cli.js')));
    const bareSamples = path.join(tmp, 'bare.heapprofile');
    process.env.FAISS_PROXY_HEAP_SAMPLES = bareSamples;
    const bare = await spawnListening(['-r', PRELOAD, path.join(__dirname, 'lib', 'bare-http-server.js'), file], path.join(tmp, 'bare.log'));
    servers.push({ name: 'bare node:http', url: bare.url, key: 'unused', pid: bare.proc.pid!, samples: bareSamples, stop: bare.stop });

    const xq = randomMatrix(1_000, D, 32);
    const rows: string[][] = [];
    const perServer = new Map<string, number[]>();
    for (let round = 1; round <= rounds; round++) {
      for (const s of round % 2 ? servers : [...servers].reverse()) {
        const spec = searchRequests(format, 'hnsw', xq, D, K, s.key, { efSearch: 64 });
        const cell = { url: s.url, concurrency: CLIENTS, warmupS: 0, client: 'node-http' as const };
        await runCell(spec, { ...cell, durationS: 1, maxRequests: requests });
        fs.rmSync(s.samples, { force: true });
        process.kill(s.pid, 'SIGUSR2');
        await new Promise((r) => setTimeout(r, 100));
        const r = await runCell(spec, { ...cell, durationS: 600, maxRequests: requests });
        process.kill(s.pid, 'SIGUSR2');
        for (let waited = 0; !fs.existsSync(s.samples) && waited < 30_000; waited += 100) await new Promise((done) => setTimeout(done, 100));
        const a = allocations(s.samples);
        // The 100 ms before and after the cell are idle; what a server allocates idle is its own timers' (a few KB).
        const perRequest = a.total / r.requests;
        (perServer.get(s.name) ?? perServer.set(s.name, []).get(s.name)!).push(perRequest);
        const top = [...a.bySite].sort((x, y) => y[1] - x[1]).slice(0, 6).map(([site, b]) => `${(b / r.requests).toFixed(0)} B ${site}`);
        rows.push([String(round), s.name, String(r.requests), String(r.errors), (perRequest / 1024).toFixed(1), top.join('; ')]);
        console.log(`round ${round}, ${s.name}: ${(perRequest / 1024).toFixed(1)} KiB per request (${r.requests} requests, ${r.errors} errors)`);
      }
    }
    console.log();
    console.log(`JS heap allocated per request (sampled), ${format}, HNSW32 ${N} x ${D}, k ${K}, efSearch 64, ${CLIENTS} node:http clients, ${requests} requests per cell:`);
    console.log(formatTable(['round', 'server', 'requests', 'errors', 'KiB / request', 'most allocated by (bytes per request)'], rows));
    for (const [name, xs] of perServer) console.log(`${name}: ${xs.map((x) => (x / 1024).toFixed(1)).join(', ')} KiB per request`);
  } finally {
    for (const s of servers) await s.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});

// npm run bench:gpu: FAISS's GPU indexes against this project's CPU build, on the same
// data in the same run, the two sides alternating round by round (issue 16):
//   - flat 1M x 128, one batch of 1,000 queries, k = 10 (target: the GPU >= 50x the CPU);
//   - IVF4096,Flat at nprobe 32, the same batch;
//   - recall@10 of every side against exact neighbours (the CPU flat index's answers);
//   - over HTTP, flat, single-query binary searches from 32 clients against a GPU-backed
//     and a CPU-backed server, both batching (target: the GPU server >= 10x the CPU's).
// Where the addon has no CUDA or CUDA sees no GPU it says why and exits 0, measuring
// nothing: GPU figures come only from a GPU host (scripts/gpu-check.sh runs this there).
// --cpu-only runs the CPU side alone, and --n, --nq, --nlist, ... shrink it, so that its
// code runs anywhere (test/gpu/bench-gpu.test.ts runs it small).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import * as faiss from '../lib';
import { formatTable, writeResults } from './lib/common';
import { gaussianMixture, type Mixture } from './lib/gaussian-mixture';
import { runCell, type CellResult, type RequestSpec } from './lib/loadgen';
import { call, startBenchServer, stopServers, type BenchServer } from './lib/server';
import { gpuAvailability } from '../test/gpu/support';

const RESULTS = path.join(__dirname, '..', '..', 'bench', 'results', 'gpu.json');
const d = 128;
const k = 10;

interface Options {
  cpuOnly: boolean;
  n: number;
  nq: number;
  nlist: number;
  nprobe: number;
  rounds: number;
  clients: number;
  httpSeconds: number;
  http: boolean;
  /** Where the figures go as JSON. */
  results: string;
}

const USAGE =
  'usage: node dist/bench/gpu.js [--cpu-only] [--n=1000000] [--nq=1000] [--nlist=4096] [--nprobe=32] [--rounds=3] [--clients=32] [--http-seconds=5] [--no-http] [--results=bench/results/gpu.json]';

class UsageError extends Error {}

function parseOptions(argv: string[]): Options {
  const o: Options = { cpuOnly: false, n: 1_000_000, nq: 1000, nlist: 4096, nprobe: 32, rounds: 3, clients: 32, httpSeconds: 5, http: true, results: RESULTS };
  const integers: Record<string, keyof Options> = {
    '--n': 'n',
    '--nq': 'nq',
    '--nlist': 'nlist',
    '--nprobe': 'nprobe',
    '--rounds': 'rounds',
    '--clients': 'clients',
    '--http-seconds': 'httpSeconds',
  };
  for (const arg of argv) {
    const eq = arg.indexOf('=');
    const flag = eq < 0 ? arg : arg.slice(0, eq);
    const value = eq < 0 ? undefined : arg.slice(eq + 1);
    if (arg === '--cpu-only') o.cpuOnly = true;
    else if (arg === '--no-http') o.http = false;
    else if (flag === '--results' && value) o.results = path.resolve(value);
    else if (flag in integers && value !== undefined && /^[1-9][0-9]{0,8}$/.test(value)) (o as unknown as Record<string, number>)[integers[flag]] = Number(value);
    else throw new UsageError(`bad argument ${JSON.stringify(arg)}\n${USAGE}`);
  }
  // FAISS's k-means wants at least 39 training points per list, and nprobe cannot exceed nlist.
  if (o.n < 39 * o.nlist) throw new UsageError(`--n=${o.n} is under 39 x --nlist=${o.nlist}: too few points to train the IVF`);
  if (o.nprobe > o.nlist) throw new UsageError(`--nprobe=${o.nprobe} is over --nlist=${o.nlist}`);
  return o;
}

function recallAt10(result: faiss.SearchResult, truth: faiss.SearchResult, nq: number): number {
  let hits = 0;
  for (let q = 0; q < nq; q++) {
    const want = new Set(truth.labels.subarray(q * k, (q + 1) * k));
    for (const l of result.labels.subarray(q * k, (q + 1) * k)) if (want.has(l)) hits++;
  }
  return hits / (nq * k);
}

type Side = 'cpu' | 'gpu';

interface Timed {
  /** Wall milliseconds of each round's batch. */
  wallMs: number[];
  /** This process's CPU milliseconds of each round's batch. */
  cpuMs: number[];
  result?: faiss.SearchResult;
}

/** Each side's batch search, `rounds` times, the order of the sides alternating; one untimed search each first. */
async function timeBatches(indexes: Partial<Record<Side, faiss.Index>>, xq: Float32Array, rounds: number): Promise<Partial<Record<Side, Timed>>> {
  const sides = (Object.keys(indexes) as Side[]).filter((s) => indexes[s]);
  const out: Partial<Record<Side, Timed>> = {};
  for (const side of sides) {
    await indexes[side]!.search(xq.subarray(0, d * Math.min(10, xq.length / d)), k);
    out[side] = { wallMs: [], cpuMs: [] };
  }
  for (let r = 0; r < rounds; r++) {
    for (const side of r % 2 === 0 ? sides : [...sides].reverse()) {
      const cpu = process.cpuUsage();
      const t0 = performance.now();
      const result = await indexes[side]!.search(xq, k);
      const wall = performance.now() - t0;
      const used = process.cpuUsage(cpu);
      out[side]!.wallMs.push(wall);
      out[side]!.cpuMs.push((used.user + used.system) / 1000);
      out[side]!.result = result;
    }
  }
  return out;
}

const best = (xs: number[]): number => Math.min(...xs);

/** A server with one flat index holding `data`, on the GPU where `gpu`. */
async function flatServer(side: Side, data: Float32Array, n: number, dirs: string[], servers: BenchServer[]): Promise<BenchServer> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `bench-gpu-${side}-`));
  dirs.push(dir);
  const server = await startBenchServer(dir, ['--batching', 'true', '--log-level', 'silent', ...(side === 'gpu' ? ['--gpu', '0'] : [])]);
  servers.push(server);
  await call(`${server.url}/v1/indexes`, 'POST', server.adminKey, { name: 'flat', dimension: d, type: 'IndexFlatL2', device: side });
  for (let i = 0; i < n; i += 50_000) {
    const part = data.subarray(i * d, Math.min(n, i + 50_000) * d);
    await call(`${server.url}/v1/indexes/flat/add`, 'POST', server.adminKey, new Uint8Array(part.buffer, part.byteOffset, part.byteLength));
  }
  return server;
}

async function main(): Promise<void> {
  const o = parseOptions(process.argv.slice(2));
  const { why } = gpuAvailability();
  if (why && !o.cpuOnly) {
    console.log(`bench:gpu: no GPU to measure here: ${why}. Nothing was measured; the GPU figures come only from a GPU host (scripts/gpu-check.sh). --cpu-only runs the CPU side alone.`);
    return;
  }
  const sides: Side[] = o.cpuOnly ? ['cpu'] : ['cpu', 'gpu'];
  const info = faiss.buildInfo();
  console.log(
    `bench:gpu: ${o.cpuOnly ? 'CPU side only (--cpu-only)' : `${faiss.getNumGpus()} GPU(s), CUDA ${info.cudaVersion}, archs ${info.cudaArchs}`}; ` +
      `CPU: ${os.cpus()[0]?.model ?? '?'} x ${os.cpus().length}, FAISS ${info.faissVersion} ${info.isa}; load average ${os.loadavg().map((v) => v.toFixed(1)).join(' ')}`,
  );

  const mixture: Mixture = { d, clusters: 32, seed: 1234 };
  const xb = gaussianMixture(mixture, o.n, mixture.seed + 1);
  const xq = gaussianMixture(mixture, o.nq, mixture.seed + 2);
  const res = sides.includes('gpu') ? new faiss.StandardGpuResources() : undefined;
  const rows: string[][] = [];
  const figures: Record<string, unknown> = { options: o, sides, load: os.loadavg() };
  const ratioCell = (cpu: number, gpu: number | undefined): string => (gpu === undefined ? '-' : `${(cpu / gpu).toFixed(1)}x`);

  // Flat: the CPU's answers are the exact neighbours every recall is measured against.
  const flat: Partial<Record<Side, faiss.Index>> = { cpu: new faiss.IndexFlatL2(d) };
  await flat.cpu!.add(xb);
  if (res) {
    flat.gpu = new faiss.GpuIndexFlatL2(res, d);
    await flat.gpu.add(xb);
  }
  const flatTimes = await timeBatches(flat, xq, o.rounds);
  const exact = flatTimes.cpu!.result!;
  const flatCpu = best(flatTimes.cpu!.wallMs);
  const flatGpu = flatTimes.gpu && best(flatTimes.gpu.wallMs);
  const flatRatio = flatGpu === undefined ? undefined : flatCpu / flatGpu;
  rows.push([
    `Flat ${o.n} x ${d}, ${o.nq} queries`,
    `${flatCpu.toFixed(1)} ms (CPU time ${best(flatTimes.cpu!.cpuMs).toFixed(0)} ms)`,
    flatGpu === undefined ? '-' : `${flatGpu.toFixed(2)} ms`,
    ratioCell(flatCpu, flatGpu),
    '>= 50x' + (flatRatio === undefined ? '' : flatRatio >= 50 ? ': met' : ': MISSED'),
    `1 (exact) / ${flatTimes.gpu ? recallAt10(flatTimes.gpu.result!, exact, o.nq).toFixed(4) : '-'}`,
  ]);
  figures.flat = { cpuWallMs: flatTimes.cpu!.wallMs, cpuCpuMs: flatTimes.cpu!.cpuMs, gpuWallMs: flatTimes.gpu?.wallMs, ratio: flatRatio };
  for (const side of sides) flat[side]!.dispose();

  // IVF: trained once (on the GPU where there is one, which is quicker), then the same
  // centroids and lists on both sides (indexGpuToCpu), so only the search differs.
  const ivf: Partial<Record<Side, faiss.Index>> = {};
  const trainRows = Math.min(o.n, 64 * o.nlist);
  const t0 = performance.now();
  if (res) {
    ivf.gpu = new faiss.GpuIndexIVFFlat(res, d, o.nlist);
    await ivf.gpu.train(xb.subarray(0, trainRows * d));
    await ivf.gpu.add(xb);
    ivf.cpu = await faiss.indexGpuToCpu(ivf.gpu);
  } else {
    ivf.cpu = faiss.indexFactory(d, `IVF${o.nlist},Flat`);
    await ivf.cpu.train(xb.subarray(0, trainRows * d));
    await ivf.cpu.add(xb);
  }
  const buildS = (performance.now() - t0) / 1000;
  for (const side of sides) ivf[side]!.nprobe = o.nprobe;
  const ivfTimes = await timeBatches(ivf, xq, o.rounds);
  const ivfCpu = best(ivfTimes.cpu!.wallMs);
  const ivfGpu = ivfTimes.gpu && best(ivfTimes.gpu.wallMs);
  const ivfRecall = { cpu: recallAt10(ivfTimes.cpu!.result!, exact, o.nq), gpu: ivfTimes.gpu && recallAt10(ivfTimes.gpu.result!, exact, o.nq) };
  rows.push([
    `IVF${o.nlist},Flat nprobe ${o.nprobe}, ${o.nq} queries`,
    `${ivfCpu.toFixed(1)} ms (CPU time ${best(ivfTimes.cpu!.cpuMs).toFixed(0)} ms)`,
    ivfGpu === undefined ? '-' : `${ivfGpu.toFixed(2)} ms`,
    ratioCell(ivfCpu, ivfGpu),
    '-',
    `${ivfRecall.cpu.toFixed(4)} / ${ivfRecall.gpu === undefined ? '-' : ivfRecall.gpu.toFixed(4)}`,
  ]);
  figures.ivf = { trainRows, buildS, trainedOn: res ? 'gpu' : 'cpu', cpuWallMs: ivfTimes.cpu!.wallMs, gpuWallMs: ivfTimes.gpu?.wallMs, recall: ivfRecall };
  for (const side of sides) ivf[side]!.dispose();

  if (o.http) {
    const dirs: string[] = [];
    const servers: BenchServer[] = [];
    try {
      const bySide: Partial<Record<Side, BenchServer>> = {};
      for (const side of sides) bySide[side] = await flatServer(side, xb, o.n, dirs, servers);
      const bodies = Array.from({ length: o.nq }, (_, i) => Buffer.from(xq.slice(i * d, (i + 1) * d).buffer));
      const spec = (key: string): RequestSpec => ({
        path: `/v1/indexes/flat/search?k=${k}`,
        headers: { 'X-API-Key': key, 'Content-Type': 'application/octet-stream', Accept: 'application/octet-stream' },
        bodies,
        check: (b) => b.length === k * 12, // k float32 distances + k int64 labels
      });
      const cells: Partial<Record<Side, CellResult[]>> = {};
      for (let r = 0; r < o.rounds; r++) {
        for (const side of r % 2 === 0 ? sides : [...sides].reverse()) {
          const server = bySide[side]!;
          const cell = await runCell(spec(server.adminKey), { url: server.url, concurrency: o.clients, durationS: o.httpSeconds, maxRequests: 1_000_000, warmupS: 0.5 });
          (cells[side] ??= []).push(cell);
        }
      }
      const top = (xs: CellResult[]): CellResult => xs.reduce((a, b) => (b.qps > a.qps ? b : a));
      const cpu = top(cells.cpu!);
      const gpu = cells.gpu && top(cells.gpu);
      const httpRatio = gpu && gpu.qps / cpu.qps;
      const cellText = (c: CellResult): string => `${c.qps.toFixed(0)} QPS, p50 ${c.p50Ms.toFixed(1)} ms, p99 ${c.p99Ms.toFixed(1)} ms, ${c.errors} errors`;
      rows.push([
        `HTTP flat ${o.n} x ${d}, ${o.clients} clients, batching`,
        cellText(cpu),
        gpu ? cellText(gpu) : '-',
        httpRatio === undefined ? '-' : `${httpRatio.toFixed(1)}x`,
        '>= 10x' + (httpRatio === undefined ? '' : httpRatio >= 10 ? ': met' : ': MISSED'),
        '-',
      ]);
      figures.http = { cells, ratio: httpRatio };
      const firstError = cpu.firstError ?? gpu?.firstError;
      if (firstError) console.log(`HTTP errors: ${firstError}`);
    } finally {
      await stopServers(servers, dirs);
    }
  }

  console.log(`k=${k}, best of ${o.rounds} rounds per side, sides alternating; IVF built in ${buildS.toFixed(1)} s (trained on ${trainRows} rows on the ${res ? 'GPU' : 'CPU'})`);
  console.log(formatTable(['case', 'CPU', 'GPU', 'GPU speed-up', 'target', 'recall@10 CPU / GPU'], rows));
  writeResults(o.results, figures);
}

main().catch((e) => {
  console.error(e instanceof UsageError ? e.message : e);
  process.exit(e instanceof UsageError ? 2 : 1);
});

// npm run bench:kernel-flat: the flat kernels (native/kernels/flat_scan.h, up to
// 19 queries; flat_batch.h, batches) against FAISS's own code, each kernel's
// switch off and on in alternation, in this process. Rows: one query and 8
// queries on a 200,000 x 128 flat L2 index (clustered: a Gaussian mixture), one
// query on the same data as inner product (flatScan); batches of 20 to 4,096
// queries, L2 with k = 10 and k = 1 and inner product (flatBatch, against FAISS's
// BLAS path). For one query it prints the bytes scanned per second
// (the index's 102 MB over the median time) as a share of this machine's memory
// read bandwidth, measured in the same run by bench/read-bandwidth.c (compiled
// here with the system's cc; OpenMP threads, one per core, summing a 1 GiB
// buffer). The machine is shared: medians of alternating runs, under `nice`
// where the caller wants. Options: --runs N (31; fewer for batches over 64
// queries), --threads N (0: automatic), --only TEXT (rows whose name or kernel
// contains it, e.g. --only flatBatch).
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { IndexFlatIP, IndexFlatL2, buildInfo, getKernels, setKernels, setNumThreads, type Index } from '../lib';
import { rng } from '../test/support/data';
import { formatTable, positiveNumberOption } from './lib/common';

const d = 128;
const n = 200_000;
const k = 10;
const runs = positiveNumberOption('--runs', 31);
const threadsArg = process.argv.indexOf('--threads');
const threads = threadsArg > 0 ? Number(process.argv[threadsArg + 1]) : 0;

function clustered(rows: number, seed: number): Float32Array {
  const next = rng(seed);
  const centres = Array.from({ length: 64 }, () => Float32Array.from({ length: d }, () => next() * 4 - 2));
  const x = new Float32Array(rows * d);
  for (let i = 0; i < rows; i++) {
    const c = centres[Math.floor(next() * centres.length)];
    for (let j = 0; j < d; j++) x[i * d + j] = c[j] + (next() + next() + next() - 1.5) * 0.5;
  }
  return x;
}

function readBandwidth(): { bytesPerSecond: number; threads: number } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'read-bandwidth-'));
  try {
    const exe = path.join(dir, 'read-bandwidth');
    const source = path.join(__dirname, '..', '..', 'bench', 'read-bandwidth.c');
    execFileSync('cc', ['-O2', '-march=native', '-fopenmp', source, '-o', exe], { stdio: 'inherit' });
    return JSON.parse(execFileSync(exe, ['1024', String(os.availableParallelism()), '7'], { encoding: 'utf8' }));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const median = (v: number[]): number => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];

type FlatKernel = 'flatScan' | 'flatBatch';

/** Median milliseconds of `runs` searches with the kernel off and on, alternating. */
async function offOn(index: Index, xq: Float32Array, kernel: FlatKernel, searchK: number, rowsRuns: number): Promise<{ off: number; on: number }> {
  const times = { off: [] as number[], on: [] as number[] };
  for (let r = 0; r < rowsRuns + 2; r++) {
    for (const on of r % 2 ? [true, false] : [false, true]) {
      setKernels({ [kernel]: on });
      const t0 = process.hrtime.bigint();
      await index.search(xq, searchK);
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      if (r >= 2) times[on ? 'on' : 'off'].push(ms); // two warm-up rounds
    }
  }
  setKernels({ [kernel]: true });
  return { off: median(times.off), on: median(times.on) };
}

async function main(): Promise<void> {
  if (threads > 0) setNumThreads(threads);
  const bandwidth = readBandwidth();
  const xb = clustered(n, 1);
  const xq = clustered(4096, 2);
  const l2 = new IndexFlatL2(d);
  await l2.add(xb);
  const ip = new IndexFlatIP(d);
  await ip.add(xb);
  const bytes = n * d * 4;
  const rows: string[][] = [];
  const gbs = (ms: number) => `${(bytes / (ms / 1e3) / 1e9).toFixed(2)} GB/s (${((100 * bytes) / (ms / 1e3) / bandwidth.bytesPerSecond).toFixed(0)}%)`;
  // [row, index, kernel, queries, k, runs]; fewer runs for the larger batches.
  const batchRuns = (nq: number) => Math.max(3, Math.ceil(runs / Math.max(1, nq / 64)));
  const cases: [string, Index, FlatKernel, number, number, number][] = [
    ['flat L2 200k x 128, 1 query', l2, 'flatScan', 1, k, runs],
    ['flat IP 200k x 128, 1 query', ip, 'flatScan', 1, k, runs],
    ['flat L2 200k x 128, 8 queries', l2, 'flatScan', 8, k, Math.ceil(runs / 2)],
    ...[20, 32, 64, 256, 1000, 4096].map((nq): [string, Index, FlatKernel, number, number, number] => [
      `flat L2 200k x 128, ${nq.toLocaleString('en-US')} queries`, l2, 'flatBatch', nq, k, batchRuns(nq)]),
    ['flat L2 200k x 128, 32 queries, k = 1', l2, 'flatBatch', 32, 1, batchRuns(32)],
    ['flat IP 200k x 128, 32 queries', ip, 'flatBatch', 32, k, batchRuns(32)],
    ['flat IP 200k x 128, 1,000 queries', ip, 'flatBatch', 1000, k, batchRuns(1000)],
  ];
  const only = process.argv.indexOf('--only');
  const pattern = only > 0 ? process.argv[only + 1] : undefined;
  for (const [name, index, kernel, nq, searchK, caseRuns] of cases) {
    if (pattern && !name.includes(pattern) && kernel !== pattern) continue;
    const { off, on } = await offOn(index, xq.subarray(0, nq * d), kernel, searchK, caseRuns);
    rows.push([name, kernel, off.toFixed(2), on.toFixed(2), (off / on).toFixed(2), nq === 1 ? gbs(off) : '', nq === 1 ? gbs(on) : '']);
  }
  const info = buildInfo();
  console.log(`isa ${info.isa}, ${info.cores} cores, threads ${threads || 'automatic'}, kernels ${JSON.stringify(getKernels())}`);
  console.log(`memory read bandwidth (bench/read-bandwidth.c, ${bandwidth.threads} threads, 1 GiB): ${(bandwidth.bytesPerSecond / 1e9).toFixed(2)} GB/s`);
  console.log(`median of ${runs} alternating runs (ms); scanned = 102.4 MB of vectors per query over the median time, and its share of the bandwidth`);
  console.log(formatTable(['row', 'kernel', 'FAISS (off)', 'kernel (on)', 'speed-up', 'scanned, off', 'scanned, on'], rows, [0, 1]));
  l2.dispose();
  ip.dispose();
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});

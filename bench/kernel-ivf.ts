// npm run bench:kernel-ivf: the IVFFlat batch kernel (native/kernels/ivf_scan.h)
// against FAISS's own code, switch off and on in alternation, in this process.
// IVF1024,Flat on 200,000 x 128 clustered vectors (a Gaussian mixture), trained on
// the first 50,000, nprobe 16, k 10: a 1,000-query batch and a 32-query batch
// (what dynamic batching sends), and one query at a time (`await index.search` of
// one vector, as bench:faiss's one-query row: --single N queries per run, 200),
// and the answers compared (identical labels and distances, or it says so). Wall time and the process's CPU time of each search:
// the machine is shared, and CPU time is what load from other tenants inflates
// least. Options: --runs N (7), --nb N (200000), --threads N (0: automatic).
import * as os from 'node:os';
import { IndexFlatL2, IndexIVFFlat, buildInfo, setKernels, setNumThreads, type Index, type SearchResult } from '../lib';
import { rng } from '../test/support/data';
import { formatTable, positiveNumberOption } from './lib/common';

const d = 128;
const nb = positiveNumberOption('--nb', 200_000);
const runs = positiveNumberOption('--runs', 7);
const singles = positiveNumberOption('--single', 200);
const threadsArg = process.argv.indexOf('--threads');
const threads = threadsArg > 0 ? Number(process.argv[threadsArg + 1]) : 0;
const nlist = 1024;
const nprobe = 16;
const k = 10;

function clustered(rows: number, seed: number): Float32Array {
  const next = rng(seed);
  const gauss = (): number => Math.sqrt(-2 * Math.log(1 - next())) * Math.cos(2 * Math.PI * next());
  const centres = Array.from({ length: 200 }, () => Float32Array.from({ length: d }, () => 4 * gauss()));
  const x = new Float32Array(rows * d);
  for (let i = 0; i < rows; i++) {
    const c = centres[Math.floor(next() * centres.length)];
    for (let j = 0; j < d; j++) x[i * d + j] = c[j] + gauss();
  }
  return x;
}

const median = (v: number[]): number => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];
const cpuMs = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

function same(a: SearchResult, b: SearchResult): boolean {
  const bits = (r: SearchResult) => new Uint32Array(r.distances.buffer, r.distances.byteOffset, r.distances.length);
  const da = bits(a);
  const db = bits(b);
  return a.labels.every((l, i) => l === b.labels[i]) && da.every((v, i) => v === db[i]);
}

async function offOn(index: Index, xq: Float32Array) {
  const wall = { off: [] as number[], on: [] as number[] };
  const cpu = { off: [] as number[], on: [] as number[] };
  const answers: Partial<Record<'off' | 'on', SearchResult>> = {};
  for (let r = 0; r < runs; r++) {
    for (const on of r % 2 ? [true, false] : [false, true]) {
      const side = on ? 'on' : 'off';
      setKernels({ ivfScan: on });
      const c0 = cpuMs();
      const t0 = process.hrtime.bigint();
      answers[side] = await index.search(xq, k, { nprobe });
      wall[side].push(Number(process.hrtime.bigint() - t0) / 1e6);
      cpu[side].push(cpuMs() - c0);
    }
  }
  setKernels({ ivfScan: true });
  return { wall, cpu, identical: same(answers.off!, answers.on!) };
}

/** Per-query wall µs (median) and CPU µs (mean) of one-query searches, off and on alternating per run. */
async function oneAtATime(index: Index, xq: Float32Array) {
  const wall = { off: [] as number[], on: [] as number[] };
  const cpu = { off: [] as number[], on: [] as number[] };
  const labels: Partial<Record<'off' | 'on', bigint[]>> = {};
  const n = Math.min(singles, xq.length / d);
  for (let r = 0; r < runs; r++) {
    for (const on of r % 2 ? [true, false] : [false, true]) {
      const side = on ? 'on' : 'off';
      setKernels({ ivfScan: on });
      const got: bigint[] = [];
      const c0 = cpuMs();
      for (let i = 0; i < n; i++) {
        const t0 = process.hrtime.bigint();
        const res = await index.search(xq.subarray(i * d, (i + 1) * d), k, { nprobe });
        wall[side].push(Number(process.hrtime.bigint() - t0) / 1e3);
        got.push(...res.labels);
      }
      cpu[side].push(((cpuMs() - c0) * 1e3) / n);
      labels[side] = got;
    }
  }
  setKernels({ ivfScan: true });
  return { wall, cpu, identical: labels.off!.every((l, i) => l === labels.on![i]) };
}

type OffOn = { off: number[]; on: number[] };

/** A table row: the medians off and on, wall then CPU (with `digits` decimals), each with its ratio off / on. */
function row(label: string, r: { wall: OffOn; cpu: OffOn }, digits: number, answers: string): string[] {
  const sides = (t: OffOn) => [median(t.off).toFixed(digits), median(t.on).toFixed(digits), (median(t.off) / median(t.on)).toFixed(2)];
  return [label, ...sides(r.wall), ...sides(r.cpu), answers];
}

async function main(): Promise<void> {
  if (threads > 0) setNumThreads(threads);
  const xb = clustered(nb, 1);
  const xq = clustered(1000, 2);
  const quantizer = new IndexFlatL2(d);
  const index = new IndexIVFFlat(quantizer, d, nlist);
  quantizer.dispose();
  await index.train(xb.subarray(0, Math.min(nb, 50_000) * d));
  await index.add(xb);
  const rows: string[][] = [];
  for (const nq of [1000, 32]) {
    const r = await offOn(index, xq.subarray(0, nq * d));
    rows.push(row(`${nq} queries`, r, 1, r.identical ? 'identical' : 'DIFFERENT'));
  }
  const one = await oneAtATime(index, xq);
  index.dispose();
  const singleRow = row(`1 query x ${Math.min(singles, 1000)} (µs)`, one, 0, one.identical ? 'identical labels' : 'DIFFERENT');
  console.log(`IVF${nlist},Flat ${nb} x ${d} clustered, nprobe ${nprobe}, k ${k}; ${runs} runs each, alternating; FAISS ${buildInfo().faissVersion} (${buildInfo().isa}); threads ${threads || 'automatic'}; load average ${os.loadavg().map((v) => v.toFixed(1)).join(' ')}`);
  console.log(
    formatTable(
      ['batch', 'FAISS (off) wall ms', 'ivfScan (on) wall ms', 'wall speed-up', 'off CPU ms', 'on CPU ms', 'CPU ratio', 'answers'],
      [...rows, singleRow],
    ),
  );
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});

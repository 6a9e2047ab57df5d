// npm run bench:kernel-hnsw: the addon's own HNSW search (native/kernels/hnsw_search.h)
// and construction (native/kernels/hnsw_build.h) against FAISS 1.7.3's own code,
// switch off vs on, in one process, on issue 14's HNSW rows: HNSW32 over 50k x 128
// clustered vectors (a seeded Gaussian mixture of 100 clusters), efConstruction 40,
// efSearch 64, k 10; the build (add), one query at a time, and a 1,000-query batch.
// The two settings alternate (off, on, then on, off...) so that other tenants' load
// falls on both alike; the figures are medians over the rounds. Both search answers
// are compared (identical labels and distances) and their 10-recall@10 against the
// exact neighbours is printed; for the builds, the recall of each graph (searched
// with the search kernel) and the process's CPU time per build beside the wall time.
// Nothing asserts on time.
//
// Options: --rounds N (default 20), --build-rounds N (default 3; 0 skips the build
// row), --scale F (F x 50k vectors, for a smoke run), --threads N (default: the
// addon's automatic setting).
import * as os from 'node:os';
import { performance } from 'node:perf_hooks';
import * as faiss from '../lib';
import { percentile } from './lib/common';
import { gaussianMixture } from './lib/gaussian-mixture';

function option(name: string, fallback: number, zeroAllowed = false): number {
  const at = process.argv.indexOf(name);
  if (at < 0) return fallback;
  const v = Number(process.argv[at + 1]);
  if (!(v > 0 || (zeroAllowed && v === 0))) throw new Error(`${name} takes a positive number${zeroAllowed ? ' or 0' : ''}`);
  return v;
}

const ROUNDS = Math.round(option('--rounds', 20));
const BUILD_ROUNDS = Math.round(option('--build-rounds', 3, true));
const N = Math.max(1000, Math.round(50_000 * option('--scale', 1)));
const THREADS = Math.round(option('--threads', 0) || 0);
const D = 128;
const NQ = 1000;
const K = 10;
const EF_SEARCH = 64;
const SINGLE_PER_ROUND = 50;

/** 100 clusters, the same for base and queries (bench/lib/gaussian-mixture.ts, as bench:faiss draws). */
const MIXTURE = { d: D, clusters: 100, seed: 1234 };
const mixture = (n: number, seed: number): Float32Array => gaussianMixture(MIXTURE, n, seed);

function recallAt10(labels: BigInt64Array, exact: BigInt64Array): number {
  let hits = 0;
  for (let q = 0; q < NQ; q++) {
    const truth = new Set(Array.from(exact.subarray(q * K, q * K + K)));
    for (let i = 0; i < K; i++) if (truth.has(labels[q * K + i])) hits++;
  }
  return hits / (NQ * K);
}

function sameAnswers(a: faiss.SearchResult, b: faiss.SearchResult): boolean {
  if (a.labels.length !== b.labels.length) return false;
  const da = new Uint32Array(a.distances.buffer, a.distances.byteOffset, a.distances.length);
  const db = new Uint32Array(b.distances.buffer, b.distances.byteOffset, b.distances.length);
  for (let i = 0; i < a.labels.length; i++) if (a.labels[i] !== b.labels[i] || da[i] !== db[i]) return false;
  return true;
}

const fmt = (ms: number): string => (ms < 1 ? `${(ms * 1000).toFixed(0)} us` : `${ms.toFixed(2)} ms`);

async function main(): Promise<void> {
  if (THREADS) faiss.setNumThreads(THREADS);
  const xb = mixture(N, 1);
  const xq = mixture(NQ, 2);
  console.log(`HNSW32 over ${N} x ${D} (mixture of 100 Gaussians), efConstruction 40, efSearch ${EF_SEARCH}, k ${K}; ` +
    `threads ${faiss.getNumThreads()}, FAISS ${faiss.buildInfo().faissVersion} (${faiss.buildInfo().isa})`);

  const exactIndex = new faiss.IndexFlatL2(D);
  await exactIndex.add(xb);
  const exact = (await exactIndex.search(xq, K)).labels;
  exactIndex.dispose();

  // The build: FAISS's add (hnswBuild off) against the kernel's, alternating.
  const buildWall: Record<string, number[]> = { false: [], true: [] };
  const buildCpu: Record<string, number[]> = { false: [], true: [] };
  const buildRecall: Record<string, number[]> = { false: [], true: [] };
  for (let round = 0; round < BUILD_ROUNDS; round++) {
    for (const on of round % 2 === 0 ? [false, true] : [true, false]) {
      faiss.setKernels({ hnswBuild: on });
      const built = new faiss.IndexHNSWFlat(D, 32, faiss.METRIC_L2);
      built.efConstruction = 40;
      const cpu0 = process.cpuUsage();
      const s = performance.now();
      await built.add(xb);
      buildWall[String(on)].push(performance.now() - s);
      const cpu = process.cpuUsage(cpu0);
      buildCpu[String(on)].push((cpu.user + cpu.system) / 1e3);
      built.efSearch = EF_SEARCH;
      buildRecall[String(on)].push(recallAt10((await built.search(xq, K)).labels, exact));
      built.dispose();
    }
  }
  faiss.setKernels({ hnswBuild: true });

  const t0 = performance.now();
  const index = new faiss.IndexHNSWFlat(D, 32, faiss.METRIC_L2);
  index.efConstruction = 40;
  await index.add(xb);
  index.efSearch = EF_SEARCH;
  console.log(`built in ${((performance.now() - t0) / 1e3).toFixed(1)} s (the graph the search rows use: kernels on)`);

  const settings = [false, true];
  // One-query searches: each timed on its own, with a turn of the event loop
  // before it, so that each can run inline on this thread (lib/inline-search.ts
  // runs one per turn; the others would go to a search lane and back).
  const single: Record<string, number[]> = { false: [], true: [] };
  const batch: Record<string, number[]> = { false: [], true: [] };
  const answers: Record<string, faiss.SearchResult> = {};
  for (const on of settings) {
    faiss.setKernels({ hnswSearch: on });
    answers[String(on)] = await index.search(xq, K); // also the warm-up
  }
  for (let round = 0; round < ROUNDS; round++) {
    const order = round % 2 === 0 ? settings : [...settings].reverse();
    for (const on of order) {
      faiss.setKernels({ hnswSearch: on });
      for (let i = 0; i < SINGLE_PER_ROUND; i++) {
        const q = ((round * SINGLE_PER_ROUND + i) % NQ) * D;
        await new Promise((resolve) => setImmediate(resolve));
        const s = performance.now();
        await index.search(xq.subarray(q, q + D), K);
        single[String(on)].push(performance.now() - s);
      }
    }
    for (const on of order) {
      faiss.setKernels({ hnswSearch: on });
      const s = performance.now();
      await index.search(xq, K);
      batch[String(on)].push(performance.now() - s);
    }
  }
  faiss.setKernels({ hnswSearch: true });
  index.dispose();

  const row = (what: string, samples: Record<string, number[]>): string => {
    const off = percentile(samples.false, 50);
    const on = percentile(samples.true, 50);
    return `${what.padEnd(26)} FAISS ${fmt(off).padStart(9)}  kernel ${fmt(on).padStart(9)}  speed-up ${(off / on).toFixed(2)}x` +
      `  (p25 ${fmt(percentile(samples.false, 25))} / ${fmt(percentile(samples.true, 25))})`;
  };
  if (BUILD_ROUNDS > 0) {
    const secs = (ms: number): string => `${(ms / 1e3).toFixed(2)} s`;
    const wallOff = percentile(buildWall.false, 50);
    const wallOn = percentile(buildWall.true, 50);
    const cpuOff = percentile(buildCpu.false, 50);
    const cpuOn = percentile(buildCpu.true, 50);
    console.log(`${'build (median)'.padEnd(26)} FAISS ${secs(wallOff).padStart(9)}  kernel ${secs(wallOn).padStart(9)}  speed-up ${(wallOff / wallOn).toFixed(2)}x` +
      `  (CPU ${secs(cpuOff)} / ${secs(cpuOn)}, ${(cpuOff / cpuOn).toFixed(2)}x)`);
    console.log(`${''.padEnd(26)} 10-recall@10 of each graph: FAISS ${buildRecall.false.map((r) => r.toFixed(4)).join(' ')}; kernel ${buildRecall.true.map((r) => r.toFixed(4)).join(' ')}`);
  }
  console.log(row('1 query (median)', single));
  console.log(row(`${NQ}-query batch (median)`, batch));
  console.log(`10-recall@10: FAISS ${recallAt10(answers.false.labels, exact).toFixed(4)}, kernel ${recallAt10(answers.true.labels, exact).toFixed(4)}; ` +
    `answers ${sameAnswers(answers.false, answers.true) ? 'identical (labels and distances)' : 'DIFFER'}`);
  console.log(`${BUILD_ROUNDS} build rounds; ${ROUNDS} rounds, each ${SINGLE_PER_ROUND} one-query searches and one batch per setting; inline searches: ${faiss.poolStats().inlineSearches}`);
  console.log(`load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')} at the end`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});

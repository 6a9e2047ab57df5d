// npm run bench:filtered: filtered search (search(x, k, { sel })) against the
// unfiltered search of the same index, in process, at 1%, 10% and 50%
// selectivity, for Flat, HNSW and IVF (issue 17). The selection is an
// IDSelectorBatch of random ids (seeded), built once and reused, as a user
// would. Latency: one query at a time (median over the round's queries) and
// the whole query set as one batch; the unfiltered and filtered searches
// alternate, round by round, so that other load falls on both alike; medians
// over the rounds. Recall: 10-recall@10 against the exact filtered answer (a
// flat search with the same selector, which the tests hold to brute force);
// "filled" is the share of the k slots holding a result. Nothing asserts on time.
//
// Options: --rounds N (default 3), --scale F (F x 20k vectors), --threads N.
import { performance } from 'node:perf_hooks';
import * as faiss from '../lib';
import { formatTable, percentile, positiveNumberOption } from './lib/common';
import { gaussianMixture } from './lib/gaussian-mixture';

const ROUNDS = Math.round(positiveNumberOption('--rounds', 3));
const N = Math.max(2000, Math.round(20_000 * positiveNumberOption('--scale', 1)));
const THREADS = Math.round(positiveNumberOption('--threads', 1e9));
const D = 64;
const NQ = 200;
const K = 10;
const SELECTIVITIES = [0.01, 0.1, 0.5];
const MIXTURE = { d: D, clusters: 100, seed: 4321 };

interface Target {
  name: string;
  index: faiss.Index;
  params: faiss.SearchParams;
}

/** `fraction` of 0..n-1, drawn without replacement (a seeded shuffle). */
function randomSubset(n: number, fraction: number, seed: number): number[] {
  let a = seed >>> 0;
  const next = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const ids = Array.from({ length: n }, (_, i) => i);
  const take = Math.round(n * fraction);
  for (let i = 0; i < take; i++) {
    const j = i + Math.floor(next() * (n - i));
    [ids[i], ids[j]] = [ids[j], ids[i]];
  }
  return ids.slice(0, take).sort((x, y) => x - y);
}

function recall(labels: BigInt64Array, exact: BigInt64Array): { recall: number; filled: number } {
  let hits = 0;
  let filled = 0;
  let possible = 0;
  for (let q = 0; q < NQ; q++) {
    const truth = new Set(Array.from(exact.subarray(q * K, q * K + K)).filter((l) => l >= 0n));
    possible += truth.size;
    for (let i = 0; i < K; i++) {
      const l = labels[q * K + i];
      if (l >= 0n) filled++;
      if (truth.has(l)) hits++;
    }
  }
  return { recall: hits / possible, filled: filled / (NQ * K) };
}

async function singleQueries(t: Target, xq: Float32Array, params: faiss.SearchParams): Promise<number> {
  const ms: number[] = [];
  for (let q = 0; q < NQ; q++) {
    const t0 = performance.now();
    await t.index.search(xq.subarray(q * D, (q + 1) * D), K, params);
    ms.push(performance.now() - t0);
  }
  return percentile(ms, 50);
}

async function batch(t: Target, xq: Float32Array, params: faiss.SearchParams): Promise<number> {
  const t0 = performance.now();
  await t.index.search(xq, K, params);
  return performance.now() - t0;
}

const median = (v: number[]): number => percentile(v, 50);
const fmt = (ms: number): string => (ms < 1 ? `${(ms * 1000).toFixed(0)} µs` : `${ms.toFixed(2)} ms`);

async function main(): Promise<void> {
  if (THREADS < 1e9) faiss.setNumThreads(THREADS);
  const xb = gaussianMixture(MIXTURE, N, 1);
  const xq = gaussianMixture(MIXTURE, NQ, 2);
  const built = performance.now();
  const flat = new faiss.IndexFlatL2(D);
  await flat.add(xb);
  const hnsw = new faiss.IndexHNSWFlat(D, 32);
  hnsw.efConstruction = 40;
  await hnsw.add(xb);
  const ivf = faiss.indexFactory(D, 'IVF256,Flat');
  await ivf.train(xb);
  await ivf.add(xb);
  console.log(`bench:filtered: ${N} x ${D} vectors (100-cluster Gaussian mixture), ${NQ} queries, k ${K}, ${ROUNDS} rounds; built in ${((performance.now() - built) / 1e3).toFixed(1)} s`);
  const targets: Target[] = [
    { name: 'Flat', index: flat, params: {} },
    { name: 'HNSW32 efSearch 64', index: hnsw, params: { efSearch: 64 } },
    { name: 'IVF256,Flat nprobe 16', index: ivf, params: { nprobe: 16 } },
  ];
  const rows: string[][] = [];
  for (const fraction of SELECTIVITIES) {
    const sel = new faiss.IDSelectorBatch(randomSubset(N, fraction, 7 + fraction * 100));
    const exact = (await flat.search(xq, K, { sel })).labels;
    for (const t of targets) {
      const filteredParams = { ...t.params, sel };
      const single: [number[], number[]] = [[], []];
      const batches: [number[], number[]] = [[], []];
      for (let r = 0; r < ROUNDS; r++) {
        const order: [faiss.SearchParams, 0 | 1][] = r % 2 === 0 ? [[t.params, 0], [filteredParams, 1]] : [[filteredParams, 1], [t.params, 0]];
        for (const [params, side] of order) {
          single[side].push(await singleQueries(t, xq, params));
          batches[side].push(await batch(t, xq, params));
        }
      }
      const got = recall((await t.index.search(xq, K, filteredParams)).labels, exact);
      rows.push([
        t.name,
        `${fraction * 100}%`,
        fmt(median(single[0])),
        fmt(median(single[1])),
        `${(median(single[1]) / median(single[0])).toFixed(2)}x`,
        fmt(median(batches[0])),
        fmt(median(batches[1])),
        `${(median(batches[1]) / median(batches[0])).toFixed(2)}x`,
        got.recall.toFixed(4),
        `${(got.filled * 100).toFixed(1)}%`,
      ]);
    }
  }
  console.log(
    formatTable(
      ['Index', 'Kept', '1 query: unfiltered', 'filtered', 'ratio', `${NQ}-query batch: unfiltered`, 'filtered', 'ratio', '10-recall@10 (filtered)', 'filled'],
      rows,
    ),
  );
  for (const t of targets) t.index.dispose();
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});

// npm run bench:filtered: filtered search (search(x, k, { sel })) against the
// unfiltered search of the same index, at 1%, 10% and 50% selectivity, for Flat,
// HNSW and IVF (issue 17), in process and over HTTP. The selection is an
// IDSelectorBatch of random ids (seeded), built once and reused, as a user
// would. Over HTTP, one server started here holds the same three indexes (each
// imported from the in-process one's bytes, so both answer from the same graph
// and the same lists), searched with the remote client (binary wire: the
// selector goes as lib/wire.ts's filter part) and with a plain JSON client
// (`filter: { ids }` in the body, docs/http-api.md "Filters"). Latency: one query
// at a time (median over the round's queries) and the whole query set as one
// batch; the unfiltered and filtered searches alternate, round by round, so
// that other load falls on both alike; medians over the rounds. Recall:
// 10-recall@10 against the exact filtered answer (an in-process flat search
// with the same selector, which the tests hold to brute force); "filled" is the
// share of the k slots holding a result. Nothing asserts on time.
//
// Options: --rounds N (default 3), --scale F (F x 20k vectors), --threads N (in
// process only: the server's FAISS calls split its cores as it does by default).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import * as faiss from '../lib';
import { connect } from '../lib/client';
import { formatTable, percentile, positiveNumberOption } from './lib/common';
import { gaussianMixture } from './lib/gaussian-mixture';
import { startBenchServer, stopServers } from './lib/server';

const ROUNDS = Math.round(positiveNumberOption('--rounds', 3));
const N = Math.max(2000, Math.round(20_000 * positiveNumberOption('--scale', 1)));
const THREADS = Math.round(positiveNumberOption('--threads', 1e9));
const D = 64;
const NQ = 200;
const K = 10;
const SELECTIVITIES = [0.01, 0.1, 0.5];
const MIXTURE = { d: D, clusters: 100, seed: 4321 };

/** A selection, as the selector object (embedded, remote client) and as its ids (JSON). */
interface Filter {
  sel: faiss.IDSelector;
  ids: number[];
}

/** The per-call settings of a target (besides the filter). */
type Tunables = { nprobe?: number; efSearch?: number };

interface Target {
  name: string;
  path: string;
  params: Tunables;
  /** The labels of a search of `x` (rows of D), filtered by `filter` if given. */
  search(x: Float32Array, filter?: Filter): Promise<BigInt64Array>;
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

async function singleQueries(t: Target, xq: Float32Array, filter?: Filter): Promise<number> {
  const ms: number[] = [];
  for (let q = 0; q < NQ; q++) {
    const t0 = performance.now();
    await t.search(xq.subarray(q * D, (q + 1) * D), filter);
    ms.push(performance.now() - t0);
  }
  return percentile(ms, 50);
}

async function batch(t: Target, xq: Float32Array, filter?: Filter): Promise<number> {
  const t0 = performance.now();
  await t.search(xq, filter);
  return performance.now() - t0;
}

/** A search with nothing but fetch and JSON, as a client in another language would send it. */
async function jsonSearch(url: string, apiKey: string, name: string, x: Float32Array, params: Tunables, filter?: Filter): Promise<BigInt64Array> {
  const vectors: number[][] = [];
  for (let q = 0; q < x.length / D; q++) vectors.push(Array.from(x.subarray(q * D, (q + 1) * D)));
  const res = await fetch(`${url}/v1/indexes/${name}/search`, {
    method: 'POST',
    headers: { 'X-API-Key': apiKey, 'Content-Type': 'application/json' },
    body: JSON.stringify({ vectors, k: K, ...params, ...(filter ? { filter: { ids: filter.ids } } : {}) }),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`JSON search on ${name}: ${res.status} ${text.slice(0, 300)}`);
  const labels = (JSON.parse(text) as { labels: (number | string)[][] }).labels.flat();
  return BigInt64Array.from(labels, (l) => BigInt(l));
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
  const indexes: [string, string, faiss.Index, Tunables][] = [
    ['flat', 'Flat', flat, {}],
    ['hnsw', 'HNSW32 efSearch 64', hnsw, { efSearch: 64 }],
    ['ivf', 'IVF256,Flat nprobe 16', ivf, { nprobe: 16 }],
  ];

  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-filtered-'));
  const server = await startBenchServer(dataDir);
  try {
    const remote = connect({ url: server.url, apiKey: server.adminKey });
    const targets: Target[] = [];
    for (const [, name, index, params] of indexes) {
      targets.push({ name, path: 'in process', params, search: async (x, f) => (await index.search(x, K, f ? { ...params, sel: f.sel } : params)).labels });
    }
    for (const [key, name, index, params] of indexes) {
      const copy = await remote.deserializeIndex(await faiss.serializeIndex(index), { name: key });
      targets.push({ name, path: 'HTTP binary', params, search: async (x, f) => (await copy.search(x, K, f ? { ...params, sel: f.sel } : params)).labels });
    }
    for (const [key, name, , params] of indexes) {
      targets.push({ name, path: 'HTTP JSON', params, search: (x, f) => jsonSearch(server.url, server.adminKey, key, x, params, f) });
    }
    console.log(
      `bench:filtered: ${N} x ${D} vectors (100-cluster Gaussian mixture), ${NQ} queries, k ${K}, ${ROUNDS} rounds; built in ${((performance.now() - built) / 1e3).toFixed(1)} s; ` +
        `HTTP: one local server (${server.url}), the indexes imported from these`,
    );
    const rows: string[][] = [];
    for (const fraction of SELECTIVITIES) {
      const ids = randomSubset(N, fraction, 7 + fraction * 100);
      const filter: Filter = { sel: new faiss.IDSelectorBatch(ids), ids };
      const exact = (await flat.search(xq, K, { sel: filter.sel })).labels;
      for (const t of targets) {
        const single: [number[], number[]] = [[], []];
        const batches: [number[], number[]] = [[], []];
        for (let r = 0; r < ROUNDS; r++) {
          const order: [Filter | undefined, 0 | 1][] = r % 2 === 0 ? [[undefined, 0], [filter, 1]] : [[filter, 1], [undefined, 0]];
          for (const [f, side] of order) {
            single[side].push(await singleQueries(t, xq, f));
            batches[side].push(await batch(t, xq, f));
          }
        }
        const got = recall(await t.search(xq, filter), exact);
        rows.push([
          t.name,
          t.path,
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
        ['Index', 'Path', 'Kept', '1 query: unfiltered', 'filtered', 'ratio', `${NQ}-query batch: unfiltered`, 'filtered', 'ratio', '10-recall@10 (filtered)', 'filled'],
        rows,
      ),
    );
  } finally {
    await stopServers([server], [dataDir]);
    for (const [, , index] of indexes) index.dispose();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});

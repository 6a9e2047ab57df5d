// npm run bench:collections: filtered search of collections (issue 18), in
// process. Points are bench:faiss's clustered vectors (its Gaussian mixture,
// d 128, 32 clusters), each with a payload { bucket } drawn uniformly from
// 0..999 (seeded), so a filter on bucket keeps 0.1%, 1%, 10% or 50% of the
// points whatever their cluster. For Flat, HNSW32 and IVF1024,Flat collections:
//
// 0. HNSW only: the recall of the graph alone (graphRows), a plain index of the
//    same points built with one thread by one add and by the collections' adds.
//    On these points the adds' size moves HNSW32's recall more than anything
//    else here (bench/RESULTS.md, recall18), and a build with several threads
//    is a different graph each time; both paths fill their collection by the
//    same upserts (FILL_BATCH), and each filtered row is compared with its own
//    path's unfiltered row.
// 1. Filtered search against the unfiltered search of the same collection:
//    latency of one query at a time (the rows take turns query by query, in an
//    order drawn anew each turn, so that other load falls on every row alike; median
//    over the queries of a round, then over the rounds, after an untimed
//    round), and
//    10-recall@10 against the exact filtered answer (lib's knn over the
//    matching vectors). "warm": the same filter for every query (a user
//    filtering by one source; the state keeps its answer until the next op);
//    "cold": a different filter of the same selectivity for each query (parsed
//    and evaluated each time). Target (issue 18): recall@10 >= 0.95 x the
//    unfiltered recall, latency <= 2x the unfiltered search.
// 2. The planner's choices (lib/collections/planner.ts), each tried on the same
//    index and selector: IVF with the caller's nprobe, nprobe / share^(1/4), nprobe / sqrt(share),
//    nprobe / share, or every list; HNSW with the caller's efSearch, raised by 1 / share^(1/5), 1 / share^(1/4) or by
//    1 / sqrt(share) (at most x4), or 256; Flat with the selector; and on each the exact search over the
//    matching subset (Index.searchSubset); at 10% and 50%, the unfiltered search for
//    2k / share neighbours kept when they match (the over-fetch). Its rules are read from here.
// 2b. HNSW: the exact search over m points against the planner's selector search over them, m from 1,000 to 16,000
//    (subsetRows): the exact-versus-ANN threshold of the FAISS build it runs on (planner.ts EXACT_SUBSET_AT_MOST).
// 3. Upserts per second (batches of 1,000 points with payloads) against plain
//    addWithIds of the same vectors into the same index type.
//
// Targets are functions (CollectionTarget), and every row is measured the same
// way for each: "in process" searches the CollectionState; "HTTP" searches a
// collection of the same points on a real server through the remote client (JSON,
// one request per query; bench/lib/collections-http.ts).
//
// Options: --n N points (default 200,000), --queries N (default 100), --rounds N
// (default 3), --types flat,hnsw,ivf, --upserts N (points for part 3, default 20,000),
// --paths in-process,http (default both).
import * as os from 'node:os';
import { performance } from 'node:perf_hooks';
import * as faiss from '../lib';
import { CollectionState } from '../lib/collections/collection-state';
import { parseFilter } from '../lib/collections/filter';
import { pointsInput } from '../lib/collections/input';
import { LabelBitmap, frameOf } from '../lib/collections/label-bitmap';
import { defaultCollectionLimits } from '../lib/collections/limits';
import { planSearch, selectorOf } from '../lib/collections/planner';
import type { Collection, Filter, Payload } from '../lib/collections/types';
import { argOption, formatTable, percentile, positiveNumberOption } from './lib/common';
import { gaussianMixture, type Mixture } from './lib/gaussian-mixture';
import { httpCollection } from './lib/collections-http';

const N = Math.round(positiveNumberOption('--n', 200_000));
const NQ = Math.round(positiveNumberOption('--queries', 100));
const ROUNDS = Math.round(positiveNumberOption('--rounds', 3));
const UPSERTS = Math.min(N, Math.round(positiveNumberOption('--upserts', 20_000)));
const TYPES = (argOption('--types') ?? 'flat,hnsw,ivf').split(',');
const PATHS = (argOption('--paths') ?? 'in-process,http').split(',');
const D = 128;
const K = 10;
// bench:faiss's mixture (bench/faiss.ts MIXTURE): clustered like embeddings, hard enough for IVF and HNSW.
const MIXTURE: Mixture = { d: D, clusters: 32, seed: 1234 };
const BATCH = 1000;
// Points per upsert when a collection is filled, on both paths: the HTTP path's request size (about 13 MB of JSON at
// d 128, under the default body limit). An HNSW graph depends on how its points were batched (FAISS builds each add's
// upper levels before its level 0), so the two paths fill theirs with the same adds.
const FILL_BATCH = 5000;

/** A collection under test: what it is, and one search through it (ids of the k hits). */
export interface CollectionTarget {
  /** How the search travels: "in process", "HTTP", ... */
  path: string;
  search(query: Float32Array, k: number, filter?: Filter): Promise<string[]>;
}

interface IndexKind {
  key: string;
  factory: string;
  label: string;
  knobs: { nprobe?: number; efSearch?: number };
}
const KINDS: IndexKind[] = [
  { key: 'flat', factory: 'Flat', label: 'Flat', knobs: {} },
  { key: 'hnsw', factory: 'HNSW32', label: 'HNSW32 efSearch 64', knobs: { efSearch: 64 } },
  { key: 'ivf', factory: 'IVF1024,Flat', label: 'IVF1024,Flat nprobe 16', knobs: { nprobe: 16 } },
];

/** Selectivities: the share of points kept, and the filter keeping the buckets [from, from + width). */
const SHARES = [0.001, 0.01, 0.1, 0.5];
const bucketFilter = (from: number, width: number): Filter =>
  width === 1 ? { must: [{ key: 'bucket', match: { value: from } }] } : { must: [{ key: 'bucket', range: { gte: from, lt: from + width } }] };

function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const fmt = (ms: number): string => (!Number.isFinite(ms) ? '-' : ms < 1 ? `${(ms * 1000).toFixed(0)} µs` : `${ms.toFixed(2)} ms`);
const median = (v: number[]): number => percentile(v, 50);
const row = (x: Float32Array, i: number): Float32Array => x.subarray(i * D, (i + 1) * D);

/** The exact k nearest (ids) of each query among the points `keep` selects. */
async function exactAnswers(xb: Float32Array, xq: Float32Array, keep: (i: number) => boolean, queries: number[]): Promise<string[][]> {
  const members: number[] = [];
  for (let i = 0; i < xb.length / D; i++) if (keep(i)) members.push(i);
  const sub = new Float32Array(members.length * D);
  members.forEach((m, j) => sub.set(row(xb, m), j * D));
  const q = new Float32Array(queries.length * D);
  queries.forEach((qi, j) => q.set(row(xq, qi), j * D));
  const { labels } = await faiss.knn(q, sub, Math.min(K, members.length), faiss.METRIC_L2, { d: D });
  const k = Math.min(K, members.length);
  return queries.map((_, j) => Array.from(labels.subarray(j * k, (j + 1) * k), (l) => `p${members[Number(l)]}`));
}

function recallOf(found: string[][], truth: string[][]): number {
  let hit = 0;
  let possible = 0;
  found.forEach((ids, q) => {
    const t = new Set(truth[q]);
    possible += t.size;
    hit += ids.filter((id) => t.has(id)).length;
  });
  return hit / possible;
}

interface Row {
  name: string;
  /** One query (its number): the ids found. */
  search: (q: number) => Promise<string[]>;
  truth: string[][];
  /** The median latency of each round. */
  ms: number[];
  recall: number;
}

/**
 * Rows measured after one untimed round (the first searches of an index just built move its arrays onto huge pages,
 * docs/api.md hnswSearch, and time each setting for the inline searches: in a first timed round the unfiltered row
 * ran on the search lanes and 10% warm mostly inline, bench/RESULTS.md, seventh session). In each round the rows take
 * turns query by query, so that a burst of other load falls on every row alike: rows timed one after the other, each
 * over all its queries, moved a row's ratio by 0.3-0.7x from run to run on a shared machine (bench/RESULTS.md, ninth
 * session, hnswcold18). Each turn takes the rows in its own order (seeded): in one order rotated from turn to turn,
 * each row always came right after the same row, and HNSW 10% warm, the one graph search that always followed the
 * 1% cold row's exact search over 2,000 vectors read from anywhere, ran 1.2-1.3x slower than 10% cold, which does more;
 * after another row, faster than it (bench/RESULTS.md, tenth session, planner18).
 */
/** The rows' order in turn `turn`: a permutation drawn from a generator seeded with the turn's number. */
function turnOrder(count: number, turn: number): number[] {
  const next = seeded(0x5eed + turn);
  const order = Array.from({ length: count }, (_, i) => i);
  for (let i = count - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  return order;
}

async function measureRows(rows: Row[]): Promise<void> {
  for (const x of rows) for (let q = 0; q < NQ; q++) await x.search(q);
  for (let r = 0; r < ROUNDS; r++) {
    const ms = rows.map(() => [] as number[]);
    const found = rows.map(() => [] as string[][]);
    for (let q = 0; q < NQ; q++) {
      for (const i of turnOrder(rows.length, r * NQ + q)) {
        const t0 = performance.now();
        found[i].push(await rows[i].search(q));
        ms[i].push(performance.now() - t0);
      }
    }
    rows.forEach((x, i) => {
      x.ms.push(median(ms[i]));
      x.recall = recallOf(found[i], x.truth);
    });
  }
}

/** Part 1 for one target: unfiltered, then each selectivity warm and cold. */
export async function filteredSearchRows(target: CollectionTarget, xb: Float32Array, xq: Float32Array, bucketOf: Int32Array): Promise<string[][]> {
  const queries = Array.from({ length: NQ }, (_, q) => q);
  const rows: Row[] = [
    { name: 'unfiltered', search: (q) => target.search(row(xq, q), K), truth: await exactAnswers(xb, xq, () => true, queries), ms: [], recall: 0 },
  ];
  for (const share of SHARES) {
    const width = Math.round(share * 1000);
    const warm = bucketFilter(0, width);
    rows.push({
      name: `${share * 100}% warm`,
      search: (q) => target.search(row(xq, q), K, warm),
      truth: await exactAnswers(xb, xq, (i) => bucketOf[i] < width, queries),
      ms: [],
      recall: 0,
    });
    // A different window of buckets for each query (same width): nothing cached.
    const from = (q: number) => (q * 37) % (1000 - width + 1);
    const truth: string[][] = [];
    for (const q of queries) truth.push((await exactAnswers(xb, xq, (i) => bucketOf[i] >= from(q) && bucketOf[i] < from(q) + width, [q]))[0]);
    rows.push({ name: `${share * 100}% cold`, search: (q) => target.search(row(xq, q), K, bucketFilter(from(q), width)), truth, ms: [], recall: 0 });
  }
  await measureRows(rows);
  const base = rows[0];
  return rows.map((x) => [
    target.path,
    x.name,
    fmt(median(x.ms)),
    `${(median(x.ms) / median(base.ms)).toFixed(2)}x`,
    x.recall.toFixed(4),
    `${(x.recall / base.recall).toFixed(3)}`,
  ]);
}

/**
 * Part 0, HNSW only: what the graph itself gives. The same points in a plain index of the same factory, built with
 * one thread, where the addon's graph is FAISS's bit for bit and the same on every run (test/native/kernels-hnsw-build),
 * by one add of every point and by the collections' adds of FILL_BATCH; searched at the collections' efSearch.
 * The collections' own graphs are built with every core, and no two such builds make the same graph: the two paths'
 * unfiltered recalls differ by that chance, and both sit below one add's.
 */
async function graphRows(kind: IndexKind, xb: Float32Array, xq: Float32Array): Promise<string[][]> {
  const truth = await exactAnswers(xb, xq, () => true, Array.from({ length: NQ }, (_, q) => q));
  const out: string[][] = [];
  for (const batch of [N, FILL_BATCH]) {
    const index = faiss.indexFactory(D, kind.factory);
    faiss.setNumThreads(1);
    const t0 = performance.now();
    try {
      for (let i = 0; i < N; i += batch) await index.add(xb.subarray(i * D, Math.min(N, i + batch) * D));
    } finally {
      faiss.setNumThreads(0);
    }
    const seconds = (performance.now() - t0) / 1000;
    const { labels } = await index.search(xq, K, kind.knobs);
    index.dispose();
    const found = Array.from({ length: NQ }, (_, q) => Array.from(labels.subarray(q * K, (q + 1) * K), (l) => `p${l}`));
    const adds = batch >= N ? `one add of ${N.toLocaleString('en-US')}` : `adds of ${batch.toLocaleString('en-US')}`;
    out.push([kind.label, adds, '1', `${seconds.toFixed(1)} s`, recallOf(found, truth).toFixed(4)]);
  }
  return out;
}

function inProcess(state: CollectionState, knobs: IndexKind['knobs']): CollectionTarget {
  const read = { withPayload: true, withVector: false, ...knobs };
  return {
    path: 'in process',
    async search(query, k, filter) {
      const [hits] = await state.search(query, 1, k, { ...read, ...(filter ? { filter: parseFilter(filter) } : {}) });
      return hits.map((h) => h.id);
    },
  };
}

function overHttp(collection: Collection, knobs: IndexKind['knobs']): CollectionTarget {
  return {
    path: 'HTTP',
    async search(query, k, filter) {
      const hits = await collection.search(query, k, { withPayload: true, ...knobs, ...(filter ? { filter } : {}) });
      return hits.map((h) => h.id);
    },
  };
}

/** Part 2: the planner's alternatives on the collection's own index, with a selector of the matching labels. */
async function plannerRows(kind: IndexKind, state: CollectionState, xb: Float32Array, xq: Float32Array, bucketOf: Int32Array): Promise<string[][]> {
  const index = state.index;
  const out: string[][] = [];
  const queries = Array.from({ length: NQ }, (_, q) => q);
  for (const share of SHARES) {
    const width = Math.round(share * 1000);
    const members: number[] = [];
    for (let i = 0; i < bucketOf.length; i++) if (bucketOf[i] < width) members.push(i);
    // Points were upserted in order into an empty collection: point i has label i.
    const sel = selectorOf(new LabelBitmap(frameOf(0, bucketOf.length - 1)).addAll(members));
    const subset = BigInt64Array.from(members, (l) => BigInt(l));
    const truth = await exactAnswers(xb, xq, (i) => bucketOf[i] < width, queries);
    const choices: [string, faiss.SearchParams][] =
      kind.key === 'ivf'
        ? [
            ['nprobe 16', { nprobe: 16 }],
            ['nprobe 16 / share^(1/4)', { nprobe: Math.min(1024, Math.ceil(16 * share ** -0.25)) }],
            ['nprobe 16 / sqrt(share)', { nprobe: Math.min(1024, Math.ceil(16 / Math.sqrt(share))) }],
            ['nprobe 16 / share', { nprobe: Math.min(1024, Math.ceil(16 / share)) }],
            ['every list', { nprobe: 1024 }],
          ]
        : kind.key === 'hnsw'
          ? [
              ['efSearch 64', { efSearch: 64 }],
              ['efSearch 64 / share^(1/5), at most x4', { efSearch: Math.ceil(64 * Math.min(4, share ** -0.2)) }],
              ['efSearch 64 / share^(1/4), at most x4', { efSearch: Math.ceil(64 * Math.min(4, share ** -0.25)) }],
              ['efSearch 64 / sqrt(share), at most x4', { efSearch: Math.ceil(64 * Math.min(4, 1 / Math.sqrt(share))) }],
              ['efSearch 256', { efSearch: 256 }],
            ]
          : [['selector', {}]];
    const rows: Row[] = choices.map(([name, params]) => ({
      name,
      truth,
      ms: [],
      recall: 0,
      search: async (q) => {
        const { labels } = await index.search(row(xq, q), K, { ...params, sel });
        return Array.from(labels, (l) => `p${l}`).filter((id) => id !== 'p-1');
      },
    }));
    // The over-fetch (planner.ts OVER_FETCH_AT): the unfiltered search for 2k / share, kept when they match.
    if (share >= 0.1) {
      const fetch = Math.ceil((2 * K) / share);
      rows.push({
        name: `unfiltered for 2k / share (${fetch}), kept when they match`,
        truth,
        ms: [],
        recall: 0,
        search: async (q) => {
          const { labels } = await index.search(row(xq, q), fetch, kind.knobs);
          const kept: string[] = [];
          for (const l of labels) if (l >= 0n && bucketOf[Number(l)] < width && kept.length < K) kept.push(`p${l}`);
          return kept;
        },
      });
    }
    // The exact search over the matching subset (Index.searchSubset): a distance per match.
    rows.push({
      name: 'exact over the subset',
      truth,
      ms: [],
      recall: 0,
      search: async (q) => {
        const { labels } = await index.searchSubset(row(xq, q), K, subset);
        return Array.from(labels, (l) => `p${l}`).filter((id) => id !== 'p-1');
      },
    });
    await measureRows(rows);
    for (const x of rows) out.push([kind.label, `${share * 100}%`, x.name, fmt(median(x.ms)), x.recall.toFixed(4)]);
  }
  return out;
}

/** Subset sizes for part 2b, around the planner's EXACT_SUBSET_AT_MOST of each build. */
const SUBSET_SIZES = [1000, 2000, 2500, 3000, 4000, 8000, 16000];

/**
 * Part 2b, HNSW: the exact search over m points against the selector search the planner would make at their share
 * (its efSearch raised by 1 / share^(1/5)), and the unfiltered search, on the collection's index. Each query gets m
 * points of its own drawn at random (a new filter's: its vectors come from memory), the same for both searches. The
 * exact search's cost per point is a distance in the FAISS build's own code (a scalar loop in a generic build, 256-bit
 * in avx2 and avx512 ones) and a read from memory; the selector search's is its walk's: planner.ts's
 * EXACT_SUBSET_AT_MOST for a build is the largest m at which the exact search costs no more than the selector search.
 */
async function subsetRows(kind: IndexKind, state: CollectionState, xq: Float32Array): Promise<string[][]> {
  const index = state.index;
  const total = index.ntotal;
  const next = seeded(1818);
  const draw = (m: number): number[] => {
    const picked = new Set<number>();
    while (picked.size < m) picked.add(Math.floor(next() * total));
    return [...picked].sort((a, b) => a - b);
  };
  const out: string[][] = [];
  for (const m of SUBSET_SIZES.filter((size) => size < total)) {
    const draws = Array.from({ length: NQ }, () => draw(m));
    // Points were upserted in order into an empty collection: point i has label i.
    const subsets = draws.map((labels) => BigInt64Array.from(labels, (l) => BigInt(l)));
    const selectors = draws.map((labels) => selectorOf(new LabelBitmap(frameOf(0, total - 1)).addAll(labels)));
    const plan = planSearch({ matching: m, total, family: 'hnsw', filterable: true, subsetSearchable: false, isa: faiss.buildInfo().isa, k: K, efSearch: kind.knobs.efSearch });
    const efSearch = plan.strategy === 'selector' ? plan.knobs.efSearch : kind.knobs.efSearch;
    const rows: Row[] = [
      { name: 'unfiltered', truth: [], ms: [], recall: 0, search: async (q) => labelIds(await index.search(row(xq, q), K, kind.knobs)) },
      { name: 'exact', truth: [], ms: [], recall: 0, search: async (q) => labelIds(await index.searchSubset(row(xq, q), K, subsets[q])) },
      { name: 'selector', truth: [], ms: [], recall: 0, search: async (q) => labelIds(await index.search(row(xq, q), K, { efSearch, sel: selectors[q] })) },
    ];
    await measureRows(rows);
    const [unfiltered, exact, selector] = rows.map((x) => median(x.ms));
    out.push([kind.label, m.toLocaleString('en-US'), `${((100 * m) / total).toFixed(2)}%`, fmt(exact), `${fmt(selector)} (efSearch ${efSearch})`, fmt(unfiltered), `${(exact / unfiltered).toFixed(2)}x`, `${(selector / unfiltered).toFixed(2)}x`]);
  }
  return out;
}

const labelIds = (r: faiss.SearchResult): string[] => Array.from(r.labels, (l) => `p${l}`).filter((id) => id !== 'p-1');

/** Part 3: upserts per second against addWithIds, same vectors, same index type. */
async function upsertRows(kind: IndexKind, xb: Float32Array, payloads: Payload[], train: Float32Array): Promise<string[]> {
  const n = UPSERTS;
  const points = Array.from({ length: n }, (_, i) => ({ id: `p${i}`, vector: row(xb, i), payload: payloads[i] }));
  const state = CollectionState.create({ name: 'up', dimension: D, factory: kind.factory, payloadIndexes: { bucket: 'integer' } });
  const plain = faiss.indexFactory(D, kind.factory);
  const bare = plain.nprobe === undefined ? new faiss.IndexIDMap2(plain) : plain;
  if (!state.info().isTrained) {
    await state.apply({ type: 'train', x: train });
    await bare.train(train);
  }
  let t0 = performance.now();
  for (let i = 0; i < n; i += BATCH) await bare.addWithIds(xb.subarray(i * D, Math.min(n, i + BATCH) * D), BigInt64Array.from({ length: Math.min(BATCH, n - i) }, (_, j) => BigInt(i + j)));
  const addS = (performance.now() - t0) / 1000;
  t0 = performance.now();
  for (let i = 0; i < n; i += BATCH) await state.apply({ type: 'upsert', ...pointsInput(points.slice(i, i + BATCH), D, defaultCollectionLimits()) });
  const upsertS = (performance.now() - t0) / 1000;
  // Replacing every point again: each old label is removed (or hidden) as the new one is added.
  t0 = performance.now();
  for (let i = 0; i < n; i += BATCH) await state.apply({ type: 'upsert', ...pointsInput(points.slice(i, i + BATCH), D, defaultCollectionLimits()) });
  const replaceS = (performance.now() - t0) / 1000;
  state.dispose();
  bare.dispose();
  const rate = (s: number) => `${Math.round(n / s).toLocaleString('en-US')}/s`;
  return [kind.label, n.toLocaleString('en-US'), rate(addS), rate(upsertS), `${(addS / upsertS).toFixed(2)}x`, rate(replaceS)];
}

async function main(): Promise<void> {
  const loadBefore = os.loadavg();
  const started = performance.now();
  console.log(`bench:collections: ${N.toLocaleString('en-US')} points of d ${D}, ${NQ} queries one at a time, k ${K}, ${ROUNDS} rounds (medians)`);
  console.log(`load average ${loadBefore.map((l) => l.toFixed(1)).join(' ')} at the start; ${os.cpus().length} cores\n`);
  const xb = gaussianMixture(MIXTURE, N, 1);
  const xq = gaussianMixture(MIXTURE, NQ, 2);
  const next = seeded(18);
  const bucketOf = Int32Array.from({ length: N }, () => Math.floor(next() * 1000));
  const payloads: Payload[] = Array.from(bucketOf, (bucket) => ({ bucket }));
  const train = xb.subarray(0, Math.min(N, 50_000) * D);
  // Each collection's tables are printed as soon as they are measured: a later failure loses none of them.
  for (const kind of KINDS.filter((k) => TYPES.includes(k.key))) {
    const searchRows: string[][] = [];
    if (kind.knobs.efSearch !== undefined) {
      console.log(`${kind.label}: the graph alone (plain ${kind.factory}, unfiltered; graphRows)`);
      console.log(formatTable(['Index', 'Built by', 'Threads', 'Build', '10-recall@10'], await graphRows(kind, xb, xq), [1]));
      console.log('');
    }
    const t0 = performance.now();
    const state = CollectionState.create({ name: kind.key, dimension: D, factory: kind.factory, payloadIndexes: { bucket: 'integer' } });
    if (!state.info().isTrained) await state.apply({ type: 'train', x: train });
    for (let i = 0; i < N; i += FILL_BATCH) {
      const end = Math.min(N, i + FILL_BATCH);
      const ids = Array.from({ length: end - i }, (_, j) => `p${i + j}`);
      await state.apply({ type: 'upsert', ids, x: xb.subarray(i * D, end * D), payloads: payloads.slice(i, end) });
    }
    console.log(`${kind.label}: ${N.toLocaleString('en-US')} points upserted in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    if (PATHS.includes('in-process')) for (const r of await filteredSearchRows(inProcess(state, kind.knobs), xb, xq, bucketOf)) searchRows.push([kind.label, ...r]);
    if (PATHS.includes('http')) {
      const t1 = performance.now();
      const remote = await httpCollection({ name: kind.key, dimension: D, factory: kind.factory, payloadIndexes: { bucket: 'integer' } }, xb, payloads, train, FILL_BATCH);
      console.log(`${kind.label} over HTTP: ${N.toLocaleString('en-US')} points upserted in ${((performance.now() - t1) / 1000).toFixed(1)} s`);
      try {
        for (const r of await filteredSearchRows(overHttp(remote.collection, kind.knobs), xb, xq, bucketOf)) searchRows.push([kind.label, ...r]);
      } finally {
        await remote.close();
      }
    }
    console.log(`\nFiltered search against the unfiltered search of the same collection (load average ${os.loadavg()[0].toFixed(1)})`);
    console.log(`Both paths filled their collection by the same upserts of ${FILL_BATCH.toLocaleString('en-US')} points, built with every core.`);
    if (kind.knobs.efSearch !== undefined) console.log("Two such HNSW builds never make the same graph: compare each path's rows with its own unfiltered row.");
    console.log(formatTable(['Collection', 'Path', 'Filter', '1 query', 'vs unfiltered', '10-recall@10', 'vs unfiltered'], searchRows, [1, 2]));
    const planRows = await plannerRows(kind, state, xb, xq, bucketOf);
    console.log("\nThe planner's alternatives (the collection's index searched with a selector of the matching labels)");
    console.log(formatTable(['Index', 'Kept', 'Search', '1 query', '10-recall@10'], planRows, [1, 2]));
    if (kind.knobs.efSearch !== undefined) {
      const sizeRows = await subsetRows(kind, state, xq);
      console.log(`\nThe exact search over m points drawn at random against the planner's selector search over them (FAISS build: ${faiss.buildInfo().isa})`);
      console.log(formatTable(['Index', 'm', 'Share', 'Exact', 'Selector', 'Unfiltered', 'Exact / unfiltered', 'Selector / unfiltered'], sizeRows));
    }
    state.dispose();
    const upRow = await upsertRows(kind, xb, payloads, train);
    console.log('\nUpserts (batches of 1,000 with payloads) against addWithIds of the same vectors');
    console.log(formatTable(['Index', 'Points', 'addWithIds', 'upsert (new ids)', 'upsert / add', 'upsert (replacing)'], [upRow]));
    console.log('');
  }
  console.log(`load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')} at the end; ${((performance.now() - started) / 1000).toFixed(0)} s`);
}

if (require.main === module) {
  main().catch((e) => {
    console.error(e);
    process.exit(1);
  });
}

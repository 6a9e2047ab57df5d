// The FAISS API extras (metrics, knn, pairwiseDistances, normalizeL2, Kmeans,
// vector transforms, IndexPreTransform, IndexRefineFlat, assign,
// searchAndReconstruct) against Debian's python3-faiss 1.7.3 on the same data
// (test/support/api_oracle.py). Both sides run one OpenMP thread, so FAISS's
// sums happen in the same order; what is left are the last-bit differences of
// two builds (oracle.ts). Trained indexes are compared through files: Python
// reads what JS trained (and JS what Python built), so the answers compare the
// same state.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import * as faiss from '../../../lib';
import { rng } from '../../support/data';
import { PYTHON, closeTo, sameKnn } from '../../support/oracle';

const d = 16;
const k = 5;

// Uniform in [0, 1) (positive: JensenShannon and the other divergences need it),
// each dimension scaled differently so that PCA's eigenvalues are distinct.
function data(n: number, seed: number): Float32Array {
  const next = rng(seed);
  const out = new Float32Array(n * d);
  for (let i = 0; i < out.length; i++) out[i] = next() * (1 + (i % d) * 0.25);
  return out;
}
// Eight well-separated clusters, for k-means.
function clusters(n: number, seed: number): Float32Array {
  const next = rng(seed);
  const centres = Array.from({ length: 8 }, () => Array.from({ length: d }, () => next() * 20));
  const out = new Float32Array(n * d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) out[i * d + j] = centres[i % 8][j] + (next() - 0.5);
  return out;
}

const arrays: Record<string, Float32Array> = {
  xb: data(500, 1),
  xq: data(20, 2),
  xs: data(7, 3),
  xc: clusters(2000, 4),
};
const num = (a: ArrayLike<number | bigint>): number[] => Array.from(a, Number);

const METRICS: [string, faiss.MetricType, number?][] = [
  ['L2', faiss.METRIC_L2],
  ['IP', faiss.METRIC_INNER_PRODUCT],
  ['L1', faiss.METRIC_L1],
  ['Linf', faiss.METRIC_Linf],
  ['Lp', faiss.METRIC_Lp, 3],
  ['Canberra', faiss.METRIC_Canberra],
  ['BrayCurtis', faiss.METRIC_BrayCurtis],
  ['JensenShannon', faiss.METRIC_JensenShannon],
];

// Index types FAISS builds with any metric but whose search throws inside a
// parallel region (an abort) with one beyond L2 and IP.
const REFUSED: [string, number][] = [
  ['IVF4,Flat', faiss.METRIC_L1],
  ['HNSW8,SQ8', faiss.METRIC_Canberra],
  ['PQ4', faiss.METRIC_Linf],
];

interface Task {
  kind: string;
  name: string;
  [key: string]: unknown;
}

describe('faiss-api: the FAISS API extras give python3-faiss 1.7.3 answers', function () {
  this.timeout(300_000);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'faiss-api-oracle-'));
  const tasks: Task[] = [];
  let answers: Record<string, any> = {};
  const file = (name: string): string => path.join(tmp, name);
  // Indexes JS built and wrote for Python, kept for the JS side of the comparison.
  const built: Record<string, faiss.Index> = {};

  before(async () => {
    faiss.setNumThreads(1);
    for (const [name, a] of Object.entries(arrays)) fs.writeFileSync(file(`${name}.f32`), Buffer.from(a.buffer, a.byteOffset, a.byteLength));
    for (const [name, metric, p] of METRICS) {
      for (const type of ['flat', 'hnsw']) {
        tasks.push({ kind: 'flat-metric', name: `${type}-${name}`, type, M: 16, metric, xb: 'xb', xq: 'xq', k, ...(p ? { metricArg: p } : {}), write: `py-${type}-${name}.index` });
      }
      // JS's HNSW graph, searched by Python: the same graph gives the same answer.
      const hnsw = new faiss.IndexHNSWFlat(d, 16, metric);
      if (p) hnsw.metricArg = p;
      await hnsw.add(arrays.xb);
      await faiss.writeIndex(hnsw, file(`js-hnsw-${name}.index`));
      built[`hnsw-${name}`] = hnsw;
      tasks.push({ kind: 'read-search', name: `js-hnsw-${name}`, file: `js-hnsw-${name}.index`, xq: 'xq', k });
    }
    for (const [name, metric] of [['L2', faiss.METRIC_L2], ['IP', faiss.METRIC_INNER_PRODUCT]] as const) {
      tasks.push({ kind: 'knn', name: `knn-${name}`, metric, xq: 'xq', xb: 'xb', k });
    }
    for (const [name, metric, p] of METRICS) tasks.push({ kind: 'pairwise', name: `pairwise-${name}`, metric, xq: 'xs', xb: 'xq', ...(p ? { metricArg: p } : {}) });
    tasks.push({ kind: 'normalize', name: 'normalize', x: 'xq' });
    // Seed 6 starts one centroid in each of the eight clusters. From a start that
    // puts two in one cluster, the boundary between them runs through that
    // cluster's points, where the two builds' last-bit differences flip
    // assignments (seed 123 ends 0.04% apart): no single answer to compare.
    tasks.push({ kind: 'kmeans', name: 'kmeans', k: 8, x: 'xc', xq: 'xq', params: { niter: 20, seed: 6 } });
    tasks.push({ kind: 'kmeans', name: 'kmeans-spherical', k: 8, x: 'xc', xq: 'xq', params: { niter: 10, seed: 7, spherical: true, nredo: 2 } });
    tasks.push({ kind: 'transform', name: 'pca', cls: 'PCAMatrix', args: [d, 4], train: 'xb', x: 'xq', reverse: true });
    tasks.push({ kind: 'transform', name: 'pca-white', cls: 'PCAMatrix', args: [d, 6, -0.5], train: 'xb', x: 'xq' });
    tasks.push({ kind: 'transform', name: 'rr', cls: 'RandomRotationMatrix', args: [d, 8], seed: 7, x: 'xq', reverse: true });
    tasks.push({ kind: 'transform', name: 'rr-up', cls: 'RandomRotationMatrix', args: [d, 24], seed: 11, x: 'xq', reverse: true });
    tasks.push({ kind: 'transform', name: 'norm', cls: 'NormalizationTransform', args: [d], train: 'xb', x: 'xq', reverse: true });

    // Trained by JS, read by Python: searchAndReconstruct, assign, the typed wrappers.
    const ivf = new faiss.IndexIVFFlat(new faiss.IndexFlatL2(d), d, 8);
    await ivf.train(arrays.xb);
    await ivf.add(arrays.xb);
    ivf.nprobe = 3;
    const pq = faiss.indexFactory(d, 'PQ4x4');
    await pq.train(arrays.xb);
    await pq.add(arrays.xb);
    const idmap2 = new faiss.IndexIDMap2(new faiss.IndexFlatL2(d));
    await idmap2.addWithIds(arrays.xb, Array.from({ length: 500 }, (_, i) => 1000 + 3 * i));
    const pca = new faiss.PCAMatrix(d, 8);
    await pca.train(arrays.xb);
    const pre = new faiss.IndexPreTransform(pca, new faiss.IndexIVFFlat(new faiss.IndexFlatL2(8), 8, 4));
    await pre.train(arrays.xb);
    await pre.add(arrays.xb);
    pre.nprobe = 2;
    const refine = new faiss.IndexRefineFlat(faiss.indexFactory(d, 'PQ4x4'));
    await refine.train(arrays.xb);
    await refine.add(arrays.xb);
    refine.kFactor = 4;
    const small = new faiss.IndexFlatL2(d);
    await small.add(arrays.xs.subarray(0, 3 * d));
    Object.assign(built, { ivf, pq, idmap2, pre, refine, small, hnsw: built['hnsw-L2'] });
    for (const name of ['ivf', 'pq', 'idmap2', 'pre', 'refine', 'small', 'hnsw']) {
      await faiss.writeIndex(built[name], file(`js-${name}.index`));
      tasks.push({ kind: 'search-and-reconstruct', name: `sr-${name}`, file: `js-${name}.index`, xq: 'xq', k });
      tasks.push({ kind: 'assign', name: `assign-${name}`, file: `js-${name}.index`, xq: 'xq', k: 3 });
    }
    tasks.push({ kind: 'read-search', name: 'read-refine', file: 'js-refine.index', xq: 'xq', k, kFactor: true });
    tasks.push({ kind: 'read-search', name: 'read-pre', file: 'js-pre.index', xq: 'xq', k });
    for (const [factory, metric] of REFUSED) tasks.push({ kind: 'write-factory', name: factory, factory, metric, write: `py-${factory}-${metric}.index` });

    fs.writeFileSync(file('job.json'), JSON.stringify({ d, tasks }));
    const script = path.resolve(__dirname, '..', '..', '..', '..', 'test', 'support', 'api_oracle.py');
    execFileSync(PYTHON, [script, tmp], { stdio: ['ignore', 'ignore', 'inherit'], timeout: 240_000 });
    answers = JSON.parse(fs.readFileSync(file('answers.json'), 'utf8'));
  });

  after(() => {
    faiss.setNumThreads(0);
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  const knnOf = (r: { distances: Float32Array; labels: BigInt64Array }) => ({ distances: r.distances, labels: num(r.labels) });
  const same = (got: { distances: Float32Array; labels: BigInt64Array }, want: any, kk = k): void => {
    const diff = sameKnn(knnOf(got), want, kk);
    assert.equal(diff, null, diff ?? '');
  };

  for (const [name, metric, p] of METRICS) {
    it(`IndexFlat(d, METRIC_${name}) searches as Python's`, async () => {
      const index = new faiss.IndexFlat(d, metric);
      if (p) index.metricArg = p;
      await index.add(arrays.xb);
      same(await index.search(arrays.xq, k), answers[`flat-${name}`]);
      // The factory's flat index is the same index.
      const fromFactory = faiss.indexFactory(d, 'Flat', metric);
      if (p) fromFactory.metricArg = p;
      await fromFactory.add(arrays.xb);
      same(await fromFactory.search(arrays.xq, k), answers[`flat-${name}`]);
    });

    it(`IndexHNSWFlat(d, 16, METRIC_${name}): Python answers the same on JS's graph, and JS on Python's`, async () => {
      same(await built[`hnsw-${name}`].search(arrays.xq, k), answers[`js-hnsw-${name}`]);
      const theirs = await faiss.readIndex(file(`py-hnsw-${name}.index`));
      assert.equal(theirs.metricType, metric);
      if (p) assert.equal(theirs.metricArg, p);
      same(await theirs.search(arrays.xq, k), answers[`hnsw-${name}`]);
    });

    it(`a flat METRIC_${name} file written by Python reads and searches the same`, async () => {
      const theirs = await faiss.readIndex(file(`py-flat-${name}.index`));
      same(await theirs.search(arrays.xq, k), answers[`flat-${name}`]);
    });

    it(`pairwiseDistances(xq, xb, METRIC_${name}) is faiss.pairwise_distances`, async () => {
      const got = await faiss.pairwiseDistances(arrays.xs, arrays.xq, metric, { d, ...(p ? { metricArg: p } : {}) });
      assert.equal(got.length, 7 * 20);
      assert.equal(closeTo(got, answers[`pairwise-${name}`], 1e-4), null);
    });

    it(`knn(xq, xb, k, METRIC_${name}) is the exact answer (faiss.knn; the flat index's for the other metrics)`, async () => {
      const got = await faiss.knn(arrays.xq, arrays.xb, k, metric, { d, ...(p ? { metricArg: p } : {}) });
      same(got, answers[metric === faiss.METRIC_L2 || metric === faiss.METRIC_INNER_PRODUCT ? `knn-${name}` : `flat-${name}`]);
    });
  }

  it('normalizeL2 scales the rows in place as faiss.normalize_L2', async () => {
    const x = arrays.xq.slice();
    assert.equal(await faiss.normalizeL2(x, d), undefined);
    assert.equal(closeTo(x, answers.normalize), null);
  });

  for (const [name, params] of [
    ['kmeans', { niter: 20, seed: 6 }],
    ['kmeans-spherical', { niter: 10, seed: 7, spherical: true, nredo: 2 }],
  ] as const) {
    it(`Kmeans(d, 8, ${JSON.stringify(params)}) with one thread: Python's centroids, obj and assignment`, async () => {
      const km = new faiss.Kmeans(d, 8, params);
      const last = await km.train(arrays.xc);
      const want = answers[name];
      assert.equal(closeTo(km.centroids!, want.centroids, 1e-4), null);
      assert.equal(closeTo(km.obj!, want.obj, 1e-4), null);
      assert.equal(last, km.obj![km.obj!.length - 1]);
      assert.equal(km.index!.ntotal, 8);
      assert.equal(km.index!.typeName, 'spherical' in params ? 'IndexFlatIP' : 'IndexFlatL2');
      assert.deepEqual(num(await km.index!.assign(arrays.xq, 1)), want.assign);
    });
  }

  // PCA's eigenvectors are defined up to their sign: each output column is Python's or its negation.
  const sameUpToSign = (got: Float32Array, want: number[], dOut: number): void => {
    for (let j = 0; j < dOut; j++) {
      const col = (a: ArrayLike<number>) => Array.from({ length: a.length / dOut }, (_, i) => a[i * dOut + j]);
      const g = col(got);
      const w = col(want);
      const flipped = w.map((v) => -v);
      assert.ok(closeTo(g, w, 1e-3) === null || closeTo(g, flipped, 1e-3) === null, `column ${j}: ${closeTo(g, w, 1e-3)}`);
    }
  };

  it('PCAMatrix: apply as Python (up to each component\'s sign), reverseTransform as Python', async () => {
    const pca = new faiss.PCAMatrix(d, 4);
    assert.equal(pca.isTrained, false);
    await pca.train(arrays.xb);
    assert.equal(pca.isTrained, true);
    const y = await pca.apply(arrays.xq);
    sameUpToSign(y, answers.pca.apply, 4);
    assert.equal(closeTo(await pca.reverseTransform(y), answers.pca.reverse, 1e-3), null);
    const white = new faiss.PCAMatrix(d, 6, -0.5);
    await white.train(arrays.xb);
    sameUpToSign(await white.apply(arrays.xq), answers['pca-white'].apply, 6);
  });

  it('RandomRotationMatrix.init(seed): the same rotation as Python, both ways', async () => {
    for (const [name, dOut, seed] of [['rr', 8, 7], ['rr-up', 24, 11]] as const) {
      const rr = new faiss.RandomRotationMatrix(d, dOut);
      assert.equal(rr.isTrained, false);
      await rr.init(seed);
      const y = await rr.apply(arrays.xq);
      assert.equal(closeTo(y, answers[name].apply, 1e-4), null, name);
      assert.equal(closeTo(await rr.reverseTransform(y), answers[name].reverse, 1e-4), null, name);
    }
  });

  it('NormalizationTransform: apply and reverseTransform as Python', async () => {
    const n = new faiss.NormalizationTransform(d);
    assert.equal(n.isTrained, true);
    const y = await n.apply(arrays.xq);
    assert.equal(closeTo(y, answers.norm.apply), null);
    assert.equal(closeTo(await n.reverseTransform(y), answers.norm.reverse), null);
  });

  for (const name of ['ivf', 'pq', 'idmap2', 'pre', 'refine', 'small', 'hnsw']) {
    it(`searchAndReconstruct and assign on ${name}: Python's search_and_reconstruct and assign on the same index`, async () => {
      const index = built[name];
      const want = answers[`sr-${name}`];
      const got = await index.searchAndReconstruct(arrays.xq, k);
      same(got, want);
      assert.equal(got.vectors.length, 20 * k * d);
      const vectors = Array.from(got.vectors, (v) => (Number.isNaN(v) ? null : v));
      assert.deepEqual(vectors.map((v) => v === null), want.vectors.map((v: number | null) => v === null), 'NaN rows where there is no result');
      assert.equal(closeTo(vectors.map((v) => v ?? 0), want.vectors.map((v: number | null) => v ?? 0), 1e-4), null);
      assert.deepEqual(num(await index.assign(arrays.xq, 3)), answers[`assign-${name}`]);
    });
  }

  it('IndexRefineFlat: kFactor is written with the index and Python searches it as JS does', async () => {
    assert.equal(answers['read-refine:kFactor'], 4);
    same(await built.refine.search(arrays.xq, k), answers['read-refine']);
    assert.equal(built.refine.typeName, 'IndexRefineFlat');
    assert.ok(built.refine instanceof faiss.IndexRefineFlat);
  });

  it('files Python wrote of types that abort FAISS 1.7.3 with a metric beyond L2 and IP are refused (ERR_UNSUPPORTED), not loaded', async () => {
    for (const [factory, metric] of REFUSED) {
      const bytes = fs.readFileSync(file(`py-${factory}-${metric}.index`));
      await assert.rejects(faiss.deserializeIndex(bytes), (e: faiss.FaissError) => e.code === 'ERR_UNSUPPORTED' && /aborts/.test(e.message), factory);
    }
    // The same types with L2 load.
    const fine = await faiss.indexFactory(d, 'IVF4,Flat');
    assert.equal((await faiss.deserializeIndex(await faiss.serializeIndex(fine))).typeName, 'IndexIVFFlat');
  });

  it('IndexPreTransform(PCAMatrix, IndexIVFFlat): Python searches JS\'s file as JS does', async () => {
    same(await built.pre.search(arrays.xq, k), answers['read-pre']);
    assert.ok(built.pre instanceof faiss.IndexPreTransform);
    assert.equal(built.pre.nprobe, 2);
  });
});

// Hostile and careless uses of the FAISS API extras, each in a node process of
// its own (test/support/crash-case.ts), so that a crash shows as a crash and
// runaway memory as such: what would allocate past the per-call memory limit is
// refused before it allocates, a transform or index disposed while another
// object (or an operation in flight) still uses it is never freed under it, and
// values written while searches run never race them.
import { strict as assert } from 'node:assert';
import { brokenPromise, runCase } from '../../support/crash-case';

const MAX_RSS = 640 * 2 ** 20;

async function settle(body: string, options: { nodeArgs?: string[] } = {}) {
  const outcome = await runCase(body, { maxRssBytes: MAX_RSS, timeoutMs: 60_000, ...options });
  const broken = brokenPromise(outcome, MAX_RSS);
  assert.equal(broken, undefined, broken);
  return outcome;
}

async function expectCode(body: string, code: string): Promise<void> {
  const outcome = await settle(body);
  assert.equal(outcome.code, code, `${outcome.status}: ${outcome.message}`);
  if (code === 'ERR_RESOURCE_LIMIT') assert.match(outcome.message!, /perCallBytes/);
}

async function expectValue(body: string, options: { nodeArgs?: string[] } = {}): Promise<unknown> {
  const outcome = await settle(body, options);
  assert.equal(outcome.status, 'value', `${outcome.code}: ${outcome.message}\n${outcome.stderr}`);
  return outcome.value;
}

const data = (n: number, d: number, seed = 0.37) => `Float32Array.from({ length: ${n * d} }, (_, i) => Math.abs(Math.sin(i * ${seed})))`;

describe('faiss-api: hostile inputs are refused or answered, never a crash', function () {
  this.timeout(120_000);

  it('knn with k = 2^20 for 300 queries (3.6 GiB of results): ERR_RESOURCE_LIMIT before allocating', async () => {
    await expectCode(`await faiss.knn(${data(300, 4)}, ${data(10, 4)}, 2 ** 20, faiss.METRIC_L2, { d: 4 });`, 'ERR_RESOURCE_LIMIT');
  });

  it('pairwiseDistances of 20,000 x 20,000 (1.5 GiB matrix): ERR_RESOURCE_LIMIT before allocating', async () => {
    await expectCode(`await faiss.pairwiseDistances(${data(20000, 1)}, ${data(20000, 1)}, faiss.METRIC_L1, { d: 1 });`, 'ERR_RESOURCE_LIMIT');
  });

  it('knn with k far above the number of vectors: the extra slots are label -1', async () => {
    const value = await expectValue(`const r = await faiss.knn(${data(3, 4)}, ${data(2, 4)}, 1000, faiss.METRIC_L1, { d: 4 });
      return [r.labels.length, r.labels.filter((l) => l === -1n).length];`);
    assert.deepEqual(value, [3000, 2994]);
  });

  it('RandomRotationMatrix(1024, 2^20).init(): a 4 TiB matrix, ERR_RESOURCE_LIMIT', async () => {
    await expectCode(`await new faiss.RandomRotationMatrix(1024, 2 ** 20).init(1);`, 'ERR_RESOURCE_LIMIT');
  });

  it('PCAMatrix(2^20, 2).train(): 2^40 covariance entries, ERR_RESOURCE_LIMIT', async () => {
    await expectCode(`await new faiss.PCAMatrix(2 ** 20, 2).train(new Float32Array(2 ** 20));`, 'ERR_RESOURCE_LIMIT');
  });

  it('Kmeans under a 1 MiB limit: ERR_RESOURCE_LIMIT before FAISS allocates', async () => {
    await expectCode(`faiss.setMemoryLimits({ perCallBytes: 2 ** 20 }); await new faiss.Kmeans(8, 100).train(${data(5000, 8)});`, 'ERR_RESOURCE_LIMIT');
  });

  // FAISS 1.7.3 re-seeds an empty cluster by splitting one drawn at random among those
  // holding more than 1 (in weight), and draws until it finds one: with none, forever.
  const twoPoints = (n: number) => `Float32Array.from({ length: ${n * 2} }, (_, i) => (i % 2 === 0 && (i >> 1) % 2 === 0 ? 100 : 0))`;
  it('Kmeans with every weight 0: ERR_INVALID_ARGUMENT, not a thread drawing forever', async () => {
    await expectCode(`await new faiss.Kmeans(2, 5, { niter: 2 }).train(${twoPoints(100)}, { weights: new Float32Array(100) });`, 'ERR_INVALID_ARGUMENT');
  });

  it('Kmeans of two distinct points with weights of 0.001 (no cluster above 1 to split): ERR_INVALID_ARGUMENT', async () => {
    await expectCode(`await new faiss.Kmeans(2, 4, { niter: 3 }).train(${twoPoints(200)}, { weights: new Float32Array(200).fill(0.001) });`, 'ERR_INVALID_ARGUMENT');
  });

  it('Kmeans with frozen centroids that take every point: ERR_INVALID_ARGUMENT', async () => {
    await expectCode(`await new faiss.Kmeans(2, 4, { niter: 3, frozenCentroids: true }).train(${twoPoints(200)}, { initCentroids: new Float32Array([0, 0, 100, 0]) });`, 'ERR_INVALID_ARGUMENT');
  });

  it('Kmeans with weights on a subsample (more points than k * maxPointsPerCentroid) and empty clusters to split: trains', async () => {
    const value = await expectValue(`const km = new faiss.Kmeans(2, 4, { niter: 3, maxPointsPerCentroid: 50 });
      await km.train(${twoPoints(1000)}, { weights: new Float32Array(1000).fill(2) });
      return km.iterationStats.reduce((s, it) => s + it.nsplit, 0);`);
    assert.ok((value as number) > 0, `no split: ${value}`);
  });

  // FAISS's brute-force k-NN keeps a reservoir of 2k results per query for k >= 100
  // (a block of queries on its BLAS path): 720 MiB on top of these 360 MiB of results.
  it('IndexFlatIP search of 30 queries with k = 2^20 under a 400 MiB limit: ERR_RESOURCE_LIMIT (1.1 GiB with the reservoirs)', async () => {
    await expectCode(`faiss.setMemoryLimits({ perCallBytes: 400 * 2 ** 20 }); const i = new faiss.IndexFlatIP(8); await i.add(${data(10, 8)});
      await i.search(${data(30, 8)}, 2 ** 20);`, 'ERR_RESOURCE_LIMIT');
  });

  it('knn of 30 queries with k = 2^20 under a 400 MiB limit: ERR_RESOURCE_LIMIT', async () => {
    await expectCode(`faiss.setMemoryLimits({ perCallBytes: 400 * 2 ** 20 }); await faiss.knn(${data(30, 8)}, ${data(10, 8)}, 2 ** 20, faiss.METRIC_L2, { d: 8 });`, 'ERR_RESOURCE_LIMIT');
  });

  it('searchAndReconstruct with k = 2^20 on d = 1024 (4 GiB of vectors): ERR_RESOURCE_LIMIT', async () => {
    await expectCode(`const i = new faiss.IndexFlatL2(1024); await i.add(new Float32Array(1024));
      await i.searchAndReconstruct(new Float32Array(1024), 2 ** 20);`, 'ERR_RESOURCE_LIMIT');
  });

  it('IndexRefineFlat with kFactor 1024 and k = 2^20 (the base index asked for 2^30 results): ERR_RESOURCE_LIMIT', async () => {
    await expectCode(`const r = new faiss.IndexRefineFlat(new faiss.IndexFlatL2(4)); await r.add(${data(50, 4)});
      r.kFactor = 1024; await r.search(new Float32Array(4), 2 ** 20);`, 'ERR_RESOURCE_LIMIT');
  });

  it('a transform disposed, and the index it was given disposed, after building an IndexPreTransform: the index works, GC frees all', async () => {
    const value = await expectValue(
      `const x = ${data(300, 8)};
       const out = [];
       for (let round = 0; round < 20; round++) {
         const pca = new faiss.PCAMatrix(8, 4);
         await pca.train(x);
         const inner = new faiss.IndexFlatL2(4);
         const pre = new faiss.IndexPreTransform([pca, new faiss.NormalizationTransform(4)], inner);
         pca.dispose();
         inner.dispose();
         await pre.add(x);
         const pending = pre.search(x.subarray(0, 8), 1);
         pre.dispose();
         out.push(Number((await pending).labels[0]));
         global.gc();
       }
       return out.every((l) => l === 0);`,
      { nodeArgs: ['--expose-gc'] },
    );
    assert.equal(value, true);
  });

  it('a transform disposed while its training and applications are in flight: they complete, later calls are ERR_DISPOSED', async () => {
    const value = await expectValue(
      `const x = ${data(500, 16)};
       const t = new faiss.PCAMatrix(16, 4);
       const training = t.train(x);
       t.dispose();
       await training;
       const n = new faiss.NormalizationTransform(16);
       const applying = Array.from({ length: 8 }, () => n.apply(x));
       n.dispose();
       const lengths = (await Promise.all(applying)).map((y) => y.length);
       const after = await n.apply(x).then(() => 'resolved', (e) => e.code);
       global.gc();
       return [lengths.every((l) => l === 500 * 16), after, t.disposed];`,
      { nodeArgs: ['--expose-gc'] },
    );
    assert.deepEqual(value, [true, 'ERR_DISPOSED', true]);
  });

  it('a transform being trained while an IndexPreTransform copies it: ERR_BUSY or a copy, never a half-trained one', async () => {
    const value = await expectValue(
      `const x = ${data(100000, 64)};
       const results = [];
       for (let i = 0; i < 5; i++) {
         const t = new faiss.PCAMatrix(64, 8);
         const training = t.train(x);
         await new Promise((r) => setTimeout(r, i));
         try {
           const pre = new faiss.IndexPreTransform(t, new faiss.IndexFlatL2(8));
           results.push(pre.isTrained === t.isTrained ? 'copy' : 'mismatch');
         } catch (e) {
           results.push(e.code);
         }
         await training;
       }
       return results;`,
    );
    for (const r of value as string[]) assert.ok(r === 'ERR_BUSY' || r === 'copy', r);
  });

  it('metricArg and kFactor set again and again while searches run: every search answers, nothing races', async () => {
    const value = await expectValue(
      `const x = ${data(2000, 8)};
       const h = new faiss.IndexHNSWFlat(8, 8, faiss.METRIC_Lp);
       h.metricArg = 2;
       await h.add(x);
       const r = new faiss.IndexRefineFlat(faiss.indexFactory(8, 'HNSW8'));
       await r.add(x);
       const searches = [];
       for (let i = 0; i < 200; i++) {
         h.metricArg = 1 + (i % 4);
         r.kFactor = 1 + (i % 8);
         searches.push(h.search(x.subarray(0, 8 * 20), 3), r.search(x.subarray(0, 8 * 20), 3));
       }
       const all = await Promise.all(searches);
       return all.every((s) => s.labels[0] === 0n);`,
    );
    assert.equal(value, true);
  });

  it('Kmeans.train twice at once: the second is ERR_BUSY, the first completes', async () => {
    const value = await expectValue(
      `const km = new faiss.Kmeans(8, 4, { niter: 5 });
       const x = ${data(1000, 8)};
       const first = km.train(x);
       const second = await km.train(x).then(() => 'resolved', (e) => e.code);
       await first;
       return [second, km.centroids.length];`,
    );
    assert.deepEqual(value, ['ERR_BUSY', 32]);
  });
});

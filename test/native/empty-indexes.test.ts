// Searches of indexes that hold no vectors: never built up, emptied by reset() or
// removeIds, or untrained. FAISS 1.7.3's brute-force k-NN leaves its result
// arrays unwritten when there are no vectors (20+ queries) and answers label 0 for
// k = 1, which crashed IDMaps (SIGSEGV), untrained IVFs (SIGABRT) and NSG, and made
// flat indexes answer label 0 and emptied IDMaps their old ids. Each case runs in
// a process of its own so that a crash shows as one; the answer must be FAISS's
// own for an empty index where it defines one (an empty HNSW: every label -1, the
// worst distance), checked against python3-faiss.
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import * as faiss from '../../lib';
import { brokenPromise, runCase } from '../support/crash-case';
import { PYTHON } from '../support/oracle';
import { call, client, makeTenant, startServer, type ServerProcess } from '../support/server';

const d = 8;
const FLT_MAX = 3.4028234663852886e38;

/** What python3-faiss answers for nq queries and k on an empty HNSW index (where FAISS defines the answer). */
function faissEmptyAnswer(nq: number, k: number, metric: number): { labels: string[]; distances: number[] } {
  const script = `
import faiss, numpy as np, json
index = faiss.IndexHNSWFlat(${d}, 16, ${metric})
D, I = index.search(np.zeros((${nq}, ${d}), dtype='float32'), ${k})
print(json.dumps({'labels': [str(v) for v in I.ravel().tolist()], 'distances': D.ravel().tolist()}))
`;
  return JSON.parse(execFileSync(PYTHON, ['-c', script], { encoding: 'utf8' }));
}

// Each body builds an index with no vectors in `index` and leaves nq, k and metric set.
const cases: { name: string; metric?: number; nq: number; k: number; build: string }[] = [
  { name: 'a new IndexFlatL2, 1 query, k = 1 (FAISS: label 0 at +inf)', nq: 1, k: 1, build: `index = new faiss.IndexFlatL2(${d});` },
  { name: 'a new IndexFlatL2, 20 queries (FAISS: results unwritten)', nq: 20, k: 3, build: `index = new faiss.IndexFlatL2(${d});` },
  { name: 'a new IndexFlatIP, 25 queries', metric: 0, nq: 25, k: 2, build: `index = new faiss.IndexFlatIP(${d});` },
  { name: 'a new IndexIDMap, 20 queries (was SIGSEGV)', nq: 20, k: 2, build: `index = new faiss.IndexIDMap(new faiss.IndexFlatL2(${d}));` },
  { name: 'a new IndexIDMap2, 64 queries', nq: 64, k: 5, build: `index = new faiss.IndexIDMap2(new faiss.IndexFlatL2(${d}));` },
  {
    name: 'an IndexIDMap emptied by reset() (answered its old ids)',
    nq: 20,
    k: 2,
    build: `index = new faiss.IndexIDMap(new faiss.IndexFlatL2(${d}));
      await index.addWithIds(new Float32Array(8 * ${d}).fill(0.5), BigInt64Array.from({ length: 8 }, (_, i) => 1000n + BigInt(i)));
      await index.reset();`,
  },
  {
    name: 'an IndexIDMap2 emptied by removeIds',
    nq: 30,
    k: 1,
    build: `index = new faiss.IndexIDMap2(new faiss.IndexFlatL2(${d}));
      const ids = BigInt64Array.from({ length: 50 }, (_, i) => 7n + BigInt(i));
      await index.addWithIds(new Float32Array(50 * ${d}).fill(0.25), ids);
      await index.removeIds(ids);`,
  },
  {
    name: 'an IndexFlatL2 emptied by removeIds, 1 query, k = 1',
    nq: 1,
    k: 1,
    build: `index = new faiss.IndexFlatL2(${d});
      await index.add(new Float32Array(200 * ${d}).fill(1));
      await index.removeIds(BigInt64Array.from({ length: 200 }, (_, i) => BigInt(i)));`,
  },
  { name: 'an untrained IVF, 20 queries (was SIGABRT)', nq: 20, k: 4, build: `index = faiss.indexFactory(${d}, 'IVF4,Flat');` },
  { name: 'an untrained IVF under an IDMap, 40 queries', nq: 40, k: 2, build: `index = faiss.indexFactory(${d}, 'IDMap,IVF4,PQ2');` },
  { name: 'an untrained PCA + IVF, 20 queries', nq: 20, k: 2, build: `index = faiss.indexFactory(${d}, 'PCA4,IVF4,SQ8');` },
  {
    name: 'a trained IndexPQ emptied by reset(), 20 queries',
    nq: 20,
    k: 3,
    build: `index = new faiss.IndexPQ(${d}, 2, 4);
      const x = Float32Array.from({ length: 400 * ${d} }, (_, i) => Math.sin(i));
      await index.train(x); await index.add(x); await index.reset();`,
  },
  { name: 'a new HNSW', nq: 20, k: 2, build: `index = new faiss.IndexHNSWFlat(${d}, 16);` },
];

describe('native: searching empty, emptied and untrained indexes', function () {
  this.timeout(120_000);

  for (const c of cases) {
    it(`${c.name}: every label -1, as python3-faiss answers for an empty index`, async () => {
      const outcome = await runCase(`
        let index;
        ${c.build}
        const { labels, distances } = await index.search(new Float32Array(${c.nq * d}).fill(0.5), ${c.k});
        return { labels: Array.from(labels, String), distances: Array.from(distances), ntotal: index.ntotal };
      `);
      assert.equal(brokenPromise(outcome), undefined, brokenPromise(outcome));
      assert.equal(outcome.status, 'value', `${outcome.code}: ${outcome.message}`);
      const got = outcome.value as { labels: string[]; distances: number[]; ntotal: number };
      assert.equal(got.ntotal, 0);
      const want = faissEmptyAnswer(c.nq, c.k, c.metric ?? faiss.METRIC_L2);
      assert.deepEqual(got.labels, want.labels);
      assert.deepEqual(got.distances, want.distances);
      assert.equal(got.distances[0], c.metric === 0 ? -FLT_MAX : FLT_MAX);
    });
  }

  it('range search of emptied and untrained indexes: no results for any query', async () => {
    const outcome = await runCase(`
      const flat = new faiss.IndexIDMap(new faiss.IndexFlatL2(${d}));
      await flat.addWithIds(new Float32Array(30 * ${d}), BigInt64Array.from({ length: 30 }, (_, i) => BigInt(i)));
      await flat.reset();
      const ivf = faiss.indexFactory(${d}, 'IVF4,Flat');
      const out = [];
      for (const index of [flat, ivf]) {
        const r = await index.rangeSearch(new Float32Array(25 * ${d}), 1e30);
        out.push({ lims: Array.from(r.lims, String), n: r.labels.length });
      }
      return out;
    `);
    assert.equal(brokenPromise(outcome), undefined, brokenPromise(outcome));
    for (const r of outcome.value as { lims: string[]; n: number }[]) {
      assert.deepEqual(r.lims, Array(26).fill('0'));
      assert.equal(r.n, 0);
    }
  });

  it('an index that is partly filled still answers as FAISS does (fewer vectors than k)', async () => {
    const index = new faiss.IndexFlatL2(d);
    const x = Float32Array.from({ length: 2 * d }, (_, i) => i / 10);
    await index.add(x);
    const q = Float32Array.from({ length: 20 * d }, (_, i) => Math.cos(i));
    const got = await index.search(q, 4);
    const script = `
import faiss, numpy as np, json, sys
x = np.array(json.loads(sys.argv[1]), dtype='float32').reshape(-1, ${d})
q = np.array(json.loads(sys.argv[2]), dtype='float32').reshape(-1, ${d})
index = faiss.IndexFlatL2(${d}); index.add(x)
D, I = index.search(q, 4)
print(json.dumps({'labels': [str(v) for v in I.ravel().tolist()], 'distances': D.ravel().tolist()}))
`;
    const want = JSON.parse(execFileSync(PYTHON, ['-c', script, JSON.stringify(Array.from(x)), JSON.stringify(Array.from(q))], { encoding: 'utf8' }));
    assert.deepEqual(Array.from(got.labels, String), want.labels);
    Array.from(got.distances).forEach((v, i) => assert.ok(Math.abs(v - want.distances[i]) <= 1e-5 * Math.max(1, Math.abs(v)), `distance ${i}`));
  });

  describe('over HTTP', () => {
    let server: ServerProcess;
    before(async () => {
      server = await startServer();
    });
    after(async () => {
      await server?.stop();
    });

    it('create IndexFlatL2, add 200, remove all 200, wait for the rebuild, search k=1: -1, and the server lives (was SIGSEGV)', async () => {
      const keys = await makeTenant(server, 'emptied');
      const api = client(server.url, keys.write);
      assert.equal((await api.post('/v1/indexes', { name: 'f', dimension: 4, type: 'IndexFlatL2' })).status, 201);
      const vectors = Array.from({ length: 200 }, (_, i) => [i, i, i, i]);
      assert.equal((await api.post('/v1/indexes/f/add', { vectors })).status, 200);
      const removed = await api.post('/v1/indexes/f/remove', { ids: Array.from({ length: 200 }, (_, i) => i) });
      assert.equal(removed.status, 200, JSON.stringify(removed.json));
      await new Promise((r) => setTimeout(r, 2000));
      for (let i = 0; i < 3; i++) {
        const r = await api.post('/v1/indexes/f/search', { vectors: [[1, 1, 1, 1]], k: 1 });
        assert.equal(r.status, 200, JSON.stringify(r.json));
        assert.deepEqual(r.json.labels, [[-1]]);
      }
      const many = await api.post('/v1/indexes/f/search', { vectors: Array.from({ length: 32 }, () => [1, 1, 1, 1]), k: 2 });
      assert.equal(many.status, 200, JSON.stringify(many.json));
      assert.ok(many.json.labels.flat().every((l: number) => l === -1));
      assert.equal((await call(server.url, 'GET', '/healthz')).status, 200);
      assert.equal(server.proc.exitCode, null);
      assert.equal(server.proc.signalCode, null);
    });
  });
});

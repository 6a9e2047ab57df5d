// Every argument position of the embedded API, given every kind of hostile JS value:
// each call settles with a value or a FaissError that has a code. Bounded: about
// 40 values x 50 positions, all in one child process (test/support/crash-case.ts),
// so a crash or a hang fails the whole sweep and the list of uncoded errors names
// each offending call.
import { strict as assert } from 'node:assert';
import { brokenPromise, runCase } from '../support/crash-case';

const body = `
  const os = require('node:os');
  const path = require('node:path');
  const d = 4;
  const x = new Float32Array(10 * d).map((_, i) => i / 7);
  const flat = new faiss.IndexFlatL2(d);
  await flat.add(x);
  const idmap = new faiss.IndexIDMap2(new faiss.IndexFlatL2(d));
  await idmap.addWithIds(x, new BigInt64Array(10).map((_, i) => BigInt(i)));
  const ivf = new faiss.IndexIVFFlat(new faiss.IndexFlatL2(d), d, 2);
  await ivf.train(x);
  const hnsw = new faiss.IndexHNSWFlat(d, 4);
  const file = path.join(os.tmpdir(), 'faiss-sweep-' + process.pid + '.index');
  const lp = new faiss.IndexFlat(d, faiss.METRIC_Lp);
  const refine = new faiss.IndexRefineFlat(new faiss.IndexFlatL2(d));
  const pca = new faiss.PCAMatrix(d, 2);
  const norm = new faiss.NormalizationTransform(d);
  const rr = new faiss.RandomRotationMatrix(d, d);
  const km = new faiss.Kmeans(d, 2, { niter: 2 });

  const throwing = () => new Proxy({}, new Proxy({}, { get: () => () => { throw new Error('trap'); } }));
  const revoked = () => { const r = Proxy.revocable([], {}); r.revoke(); return r.proxy; };
  const detached = () => { const a = new Float32Array(8); structuredClone(a.buffer, { transfer: [a.buffer] }); return a; };
  // A getter of Index, wherever it is on its prototype chain (some are the base class's, lib/index-base.ts).
  const getter = (name) => { for (let p = faiss.Index.prototype; p; p = Object.getPrototypeOf(p)) { const g = Object.getOwnPropertyDescriptor(p, name)?.get; if (g) return g; } };
  const resizable = () => new Float32Array(new ArrayBuffer(16 * 4, { maxByteLength: 64 * 4 }));
  const huge = () => { const a = []; a.length = 2 ** 32 - 1; return a; };
  const values = {
    undefined: () => undefined, null: () => null, true: () => true, zero: () => 0, minusZero: () => -0, NaN: () => NaN,
    Infinity: () => Infinity, minusOne: () => -1, twoTo53: () => 2 ** 53, fraction: () => 1.5, string: () => 'Flat',
    emptyString: () => '', symbol: () => Symbol('s'), bigint: () => 10n, bigNegative: () => -1n, bigHuge: () => 2n ** 64n,
    object: () => ({}), array: () => [], nestedEmpty: () => [[]], nanRow: () => [[NaN, 0, 0, 0]], fn: () => () => 1,
    throwingProxy: throwing, revokedProxy: revoked, proxyOfVectors: () => new Proxy(x, {}),
    proxyOfIndex: () => new Proxy(flat, {}), fakeIndex: () => Object.create(faiss.Index.prototype),
    fakeFloat32Array: () => Object.create(Float32Array.prototype), float64Array: () => new Float64Array(d),
    emptyFloat32Array: () => new Float32Array(0), detached, resizable, sharedBytes: () => new Uint8Array(new SharedArrayBuffer(8)),
    bigUint64Array: () => new BigUint64Array(1), huge, sparse: () => { const a = []; a.length = 2 ** 29; return a; },
    throwingGetter: () => ({ get nprobe() { throw new Error('getter'); }, get mmap() { throw new Error('getter'); }, get threads() { throw new Error('getter'); }, get length() { throw new Error('getter'); } }),
    buffer: () => Buffer.from('xyz'), arrayBuffer: () => new ArrayBuffer(3), dataView: () => new DataView(new ArrayBuffer(8)),
  };

  const positions = {
    'new IndexFlatL2(v)': (v) => new faiss.IndexFlatL2(v),
    'new IndexFlat(d, v)': (v) => new faiss.IndexFlat(d, v),
    'new IndexIVFFlat(v, d, 2)': (v) => new faiss.IndexIVFFlat(v, d, 2),
    'new IndexIVFFlat(q, v, 2)': (v) => new faiss.IndexIVFFlat(new faiss.IndexFlatL2(d), v, 2),
    'new IndexIVFFlat(q, d, v)': (v) => new faiss.IndexIVFFlat(new faiss.IndexFlatL2(d), d, v),
    'new IndexIVFPQ(v, d, 2, 2, 4)': (v) => new faiss.IndexIVFPQ(v, d, 2, 2, 4),
    'new IndexIVFPQ(q, d, 2, v, 4)': (v) => new faiss.IndexIVFPQ(new faiss.IndexFlatL2(d), d, 2, v, 4),
    'new IndexHNSWFlat(d, v)': (v) => new faiss.IndexHNSWFlat(d, v),
    'new IndexPQ(d, v, 4)': (v) => new faiss.IndexPQ(d, v, 4),
    'new IndexScalarQuantizer(d, v)': (v) => new faiss.IndexScalarQuantizer(d, v),
    'new IndexIDMap(v)': (v) => new faiss.IndexIDMap(v),
    'new IndexIDMap2(v)': (v) => new faiss.IndexIDMap2(v),
    'new Index(v)': (v) => new faiss.Index(v),
    'indexFactory(d, v)': (v) => faiss.indexFactory(d, v),
    'indexFactory(v, "Flat")': (v) => faiss.indexFactory(v, 'Flat'),
    'indexFactory(d, "Flat", v)': (v) => faiss.indexFactory(d, 'Flat', v),
    'add(v)': (v) => flat.add(v),
    'train(v)': (v) => ivf.train(v),
    'addWithIds(v, ids)': (v) => idmap.addWithIds(v, [100n]),
    'addWithIds(x, v)': (v) => idmap.addWithIds(x.subarray(0, d), v),
    'search(v, 1)': (v) => flat.search(v, 1),
    'search(x, v)': (v) => flat.search(x, v),
    'search(x, 1, v)': (v) => ivf.search(x, 1, v),
    'rangeSearch(v, 1)': (v) => flat.rangeSearch(v, 1),
    'rangeSearch(x, v)': (v) => flat.rangeSearch(x, v),
    'rangeSearch(x, 1, v)': (v) => ivf.rangeSearch(x, 1, v),
    'removeIds(v)': (v) => idmap.removeIds(v),
    'reconstruct(v)': (v) => idmap.reconstruct(v),
    'reconstructN(v, 1)': (v) => flat.reconstructN(v, 1),
    'reconstructN(0, v)': (v) => flat.reconstructN(0, v),
    'mergeFrom(v)': (v) => flat.mergeFrom(v),
    'mergeFrom(empty, v)': (v) => flat.mergeFrom(new faiss.IndexFlatL2(d), v),
    'makeDirectMap(v)': (v) => faiss.indexFactory(d, 'IVF2,Flat').makeDirectMap(v),
    'nprobe = v': (v) => { ivf.nprobe = v; },
    'efSearch = v': (v) => { hnsw.efSearch = v; },
    'kmeansSeed = v': (v) => { ivf.kmeansSeed = v; },
    'search.call(v, x, 1)': (v) => faiss.Index.prototype.search.call(v, x, 1),
    'ntotal read on v': (v) => getter('ntotal').call(v),
    'd read on v': (v) => getter('d').call(v),
    'dispose.call(v)': (v) => faiss.Index.prototype.dispose.call(v),
    'serializeIndex(v)': (v) => faiss.serializeIndex(v),
    'deserializeIndex(v)': (v) => faiss.deserializeIndex(v),
    'writeIndex(v, file)': (v) => faiss.writeIndex(v, file),
    'writeIndex(flat, v) (no strings: they name files)': (v) => (typeof v === 'string' ? undefined : faiss.writeIndex(flat, v)),
    'readIndex(v)': (v) => (typeof v === 'string' && v !== '' ? undefined : faiss.readIndex(v)),
    'readIndex(file, v)': (v) => faiss.readIndex(file, v),
    'metricArg = v': (v) => { lp.metricArg = v; },
    'kFactor = v': (v) => { refine.kFactor = v; },
    'assign(v, 1)': (v) => flat.assign(v, 1),
    'searchAndReconstruct(v, 1)': (v) => flat.searchAndReconstruct(v, 1),
    'searchAndReconstruct(x, v)': (v) => flat.searchAndReconstruct(x, v),
    'searchAndReconstruct(x, 1, v)': (v) => ivf.searchAndReconstruct(x, 1, v),
    'searchSubset(v, 1, labels)': (v) => flat.searchSubset(v, 1, new BigInt64Array([0n, 3n])),
    'searchSubset(x, v, labels)': (v) => idmap.searchSubset(x, v, new BigInt64Array([0n, 3n])),
    'searchSubset(x, 1, v) (flat)': (v) => flat.searchSubset(x, 1, v),
    'searchSubset(x, 1, v) (IDMap2)': (v) => idmap.searchSubset(x, 1, v),
    'new IndexPreTransform(v, flat)': (v) => new faiss.IndexPreTransform(v, new faiss.IndexFlatL2(d)),
    'new IndexPreTransform(norm, v)': (v) => new faiss.IndexPreTransform(norm, v),
    'new IndexRefineFlat(v)': (v) => new faiss.IndexRefineFlat(v),
    'new PCAMatrix(v, 2)': (v) => new faiss.PCAMatrix(v, 2),
    'new PCAMatrix(d, v)': (v) => new faiss.PCAMatrix(d, v),
    'new PCAMatrix(d, 2, v)': (v) => new faiss.PCAMatrix(d, 2, v),
    'new PCAMatrix(d, 2, 0, v)': (v) => new faiss.PCAMatrix(d, 2, 0, v),
    'new OPQMatrix(d, v)': (v) => new faiss.OPQMatrix(d, v),
    'new OPQMatrix(d, 2, v)': (v) => new faiss.OPQMatrix(d, 2, v),
    'new ITQTransform(d, v, true)': (v) => new faiss.ITQTransform(d, v, true),
    'new RandomRotationMatrix(d, v)': (v) => new faiss.RandomRotationMatrix(d, v),
    'new NormalizationTransform(d, v)': (v) => new faiss.NormalizationTransform(d, v),
    'init(v)': (v) => rr.init(v),
    'transform train(v)': (v) => pca.train(v),
    'apply(v)': (v) => norm.apply(v),
    'reverseTransform(v)': (v) => norm.reverseTransform(v),
    'apply.call(v, x)': (v) => faiss.VectorTransform.prototype.apply.call(v, x),
    'new IndexPreTransform([v], flat)': (v) => new faiss.IndexPreTransform([v], new faiss.IndexFlatL2(d)),
    'new Kmeans(d, v)': (v) => new faiss.Kmeans(d, v),
    'new Kmeans(d, 2, v)': (v) => new faiss.Kmeans(d, 2, v),
    'Kmeans train(v)': (v) => km.train(v),
    'Kmeans train(x, v)': (v) => km.train(x, v),
    'Kmeans assign(v)': (v) => km.assign(v),
    'knn(v, x, 1)': (v) => faiss.knn(v, x, 1, faiss.METRIC_L2, { d }),
    'knn(x, x, v)': (v) => faiss.knn(x, x, v, faiss.METRIC_L2, { d }),
    'knn(x, x, 1, v)': (v) => faiss.knn(x, x, 1, v, { d }),
    'knn(x, x, 1, L2, v)': (v) => faiss.knn(x, x, 1, faiss.METRIC_L2, v),
    'pairwiseDistances(x, v)': (v) => faiss.pairwiseDistances(x, v, faiss.METRIC_L1, { d }),
    'pairwiseDistances(x, x, Lp, v)': (v) => faiss.pairwiseDistances(x, x, faiss.METRIC_Lp, v),
    'normalizeL2(v, d)': (v) => faiss.normalizeL2(v, d),
    'normalizeL2(copy, v)': (v) => faiss.normalizeL2(x.slice(), v),
    'setNumThreads(v)': (v) => faiss.setNumThreads(v),
    'setInlineSearchBudget(v)': (v) => faiss.setInlineSearchBudget(v),
    'setSearchLanes(v)': (v) => faiss.setSearchLanes(v),
    'new IDSelectorBatch(v)': (v) => new faiss.IDSelectorBatch(v),
    'new IDSelectorArray(v)': (v) => new faiss.IDSelectorArray(v),
    'new IDSelectorRange(v, 10)': (v) => new faiss.IDSelectorRange(v, 10),
    'new IDSelectorRange(0, v)': (v) => new faiss.IDSelectorRange(0, v),
    'new IDSelectorBitmap(v)': (v) => new faiss.IDSelectorBitmap(v),
    'new IDSelectorNot(v)': (v) => new faiss.IDSelectorNot(v),
    'new IDSelectorXOr(sel, v)': (v) => new faiss.IDSelectorXOr(new faiss.IDSelectorRange(0, 1), v),
    'search(x, 1, { sel: v })': (v) => idmap.search(x, 1, { sel: v }),
    'rangeSearch(x, 1, { sel: v })': (v) => flat.rangeSearch(x, 1, { sel: v }),
  };

  await faiss.writeIndex(flat, file);
  const uncoded = [];
  let calls = 0;
  for (const [position, call] of Object.entries(positions)) {
    for (const [name, make] of Object.entries(values)) {
      calls++;
      try {
        await call(make());
      } catch (e) {
        let coded = false;
        try { coded = e instanceof faiss.FaissError && typeof e.code === 'string' && e.code.startsWith('ERR_'); } catch {}
        if (!coded) {
          let what = 'a value that cannot be shown';
          try { what = String(e && e.name) + ': ' + String(e && e.message); } catch {}
          uncoded.push(position + ' with ' + name + ' -> ' + what);
        }
      }
    }
  }
  faiss.setNumThreads(0);
  require('node:fs').rmSync(file, { force: true });
  return { calls, uncoded };
`;

describe('native: a sweep of hostile JS values over every argument position', function () {
  this.timeout(120_000);

  it('gives a value or a coded FaissError for every call', async () => {
    const o = await runCase(body, { maxRssBytes: 1024 ** 3, timeoutMs: 100_000 });
    assert.equal(brokenPromise(o, 1024 ** 3), undefined, brokenPromise(o, 1024 ** 3));
    const { calls, uncoded } = o.value as { calls: number; uncoded: string[] };
    assert.ok(calls > 1500, `only ${calls} calls`);
    assert.deepEqual(uncoded, []);
  });
});

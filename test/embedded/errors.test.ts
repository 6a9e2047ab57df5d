// Bad input of every kind must become a FaissError with a stable code: never an
// abort, a segfault or an untyped exception. Plain-JavaScript callers are covered
// too (wrong types reach the addon when they bypass the TypeScript layer).
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as faiss from '../../lib';
import { native } from '../../lib/native';
import { randomVectors } from '../support/data';
import { indexFixtures, itRejectsEach, type ErrorCase } from '../support/error-cases';
import { newerFaiss } from '../support/fixtures';

/* eslint-disable @typescript-eslint/no-explicit-any */
const d = 8;
const x = randomVectors(300, d, 3);
const q = x.subarray(0, d);
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'faiss-errors-'));

const { flat, hnsw, untrainedIvf, trainedIvf } = indexFixtures<faiss.Index, Float32Array>(
  { flat: () => new faiss.IndexFlatL2(d), hnsw: () => new faiss.IndexHNSWFlat(d, 8), ivf: () => new faiss.IndexIVFFlat(new faiss.IndexFlatL2(d), d, 4) },
  x,
);
async function serialized(): Promise<Buffer> {
  return faiss.serializeIndex(await flat());
}
function withNaN(): Float32Array {
  const v = new Float32Array(q);
  v[3] = NaN;
  return v;
}

const cases: ErrorCase[] = [
  // vectors
  { name: 'search: length not a multiple of d', code: 'ERR_DIMENSION', run: async () => (await flat()).search(new Float32Array(d + 1), 1) },
  { name: 'add: number[][] row of the wrong length', code: 'ERR_DIMENSION', run: async () => (await flat()).add([[1, 2, 3]]) },
  { name: 'add: empty Float32Array', code: 'ERR_INVALID_ARGUMENT', run: async () => (await flat()).add(new Float32Array(0)) },
  { name: 'add: empty array', code: 'ERR_INVALID_ARGUMENT', run: async () => (await flat()).add([]) },
  { name: 'add: Float64Array', code: 'ERR_INVALID_ARGUMENT', run: async () => (await flat()).add(new Float64Array(d) as any) },
  { name: 'add: a string', code: 'ERR_INVALID_ARGUMENT', run: async () => (await flat()).add('vectors' as any) },
  { name: 'add: null', code: 'ERR_INVALID_ARGUMENT', run: async () => (await flat()).add(null as any) },
  { name: 'add: NaN in a Float32Array', code: 'ERR_INVALID_ARGUMENT', run: async () => (await flat()).add(withNaN()) },
  { name: 'add: Infinity in number[][]', code: 'ERR_INVALID_ARGUMENT', run: async () => (await flat()).add([[...Array(d - 1).fill(0), Infinity]]) },
  { name: 'add: a string inside number[][]', code: 'ERR_INVALID_ARGUMENT', run: async () => (await flat()).add([[...Array(d - 1).fill(0), '1']] as any) },
  { name: 'search: NaN in the query', code: 'ERR_INVALID_ARGUMENT', run: async () => (await flat()).search(withNaN(), 1) },
  { name: 'train: Infinity in training data', code: 'ERR_INVALID_ARGUMENT', run: async () => untrainedIvf().train(new Float32Array(x).fill(Infinity, 5, 6)) },
  // k
  { name: 'search: k = 0', code: 'ERR_INVALID_ARGUMENT', run: async () => (await flat()).search(q, 0) },
  { name: 'search: k < 0', code: 'ERR_INVALID_ARGUMENT', run: async () => (await flat()).search(q, -3) },
  { name: 'search: k not an integer', code: 'ERR_INVALID_ARGUMENT', run: async () => (await flat()).search(q, 1.5) },
  { name: 'search: absurdly large k', code: 'ERR_INVALID_ARGUMENT', run: async () => (await flat()).search(q, 2 ** 40) },
  { name: 'search: k as a string', code: 'ERR_INVALID_ARGUMENT', run: async () => (await flat()).search(q, '10' as any) },
  { name: 'rangeSearch: radius NaN', code: 'ERR_INVALID_ARGUMENT', run: async () => (await flat()).rangeSearch(q, NaN) },
  // ids
  { name: 'addWithIds: ids of the wrong length', code: 'ERR_INVALID_ARGUMENT', run: async () => new faiss.IndexIDMap(new faiss.IndexFlatL2(d)).addWithIds(x, new BigInt64Array(3)) },
  { name: 'addWithIds: ids as Int32Array', code: 'ERR_INVALID_ARGUMENT', run: async () => new faiss.IndexIDMap(new faiss.IndexFlatL2(d)).addWithIds(q, new Int32Array(1) as any) },
  { name: 'addWithIds: a fractional id', code: 'ERR_INVALID_ARGUMENT', run: async () => new faiss.IndexIDMap(new faiss.IndexFlatL2(d)).addWithIds(q, [1.5]) },
  { name: 'addWithIds: an id beyond int64', code: 'ERR_INVALID_ARGUMENT', run: async () => new faiss.IndexIDMap(new faiss.IndexFlatL2(d)).addWithIds(q, [2n ** 64n]) },
  { name: 'addWithIds on a flat index', code: 'ERR_UNSUPPORTED', run: async () => (await flat()).addWithIds(q, [7]) },
  { name: 'removeIds: not an id array', code: 'ERR_INVALID_ARGUMENT', run: async () => (await flat()).removeIds('1' as any) },
  // state and capability
  { name: 'add before train', code: 'ERR_NOT_TRAINED', run: async () => untrainedIvf().add(x) },
  { name: 'removeIds on HNSW', code: 'ERR_UNSUPPORTED', run: async () => (await hnsw()).removeIds([1]) },
  { name: 'rangeSearch on HNSW', code: 'ERR_UNSUPPORTED', run: async () => (await hnsw()).rangeSearch(q, 1) },
  { name: 'reconstruct: id out of range', code: 'ERR_NOT_FOUND', run: async () => (await flat()).reconstruct(300) },
  { name: 'reconstruct: negative id', code: 'ERR_NOT_FOUND', run: async () => (await flat()).reconstruct(-1) },
  { name: 'reconstruct on IVF without a direct map', code: 'ERR_UNSUPPORTED', run: async () => (await trainedIvf()).reconstruct(1) },
  { name: 'reconstruct on IndexIDMap', code: 'ERR_UNSUPPORTED', run: async () => {
    const m = new faiss.IndexIDMap(new faiss.IndexFlatL2(d));
    await m.addWithIds(q, [5]);
    return m.reconstruct(5);
  } },
  { name: 'reconstruct on IndexIDMap2: unknown id', code: 'ERR_NOT_FOUND', run: async () => {
    const m = new faiss.IndexIDMap2(new faiss.IndexFlatL2(d));
    await m.addWithIds(q, [5]);
    return m.reconstruct(6);
  } },
  { name: 'reconstructN past ntotal', code: 'ERR_INVALID_ARGUMENT', run: async () => (await flat()).reconstructN(250, 100) },
  { name: 'makeDirectMap on a flat index', code: 'ERR_UNSUPPORTED', run: async () => (await flat()).makeDirectMap() },
  { name: 'makeDirectMap: unknown type', code: 'ERR_INVALID_ARGUMENT', run: async () => (await trainedIvf()).makeDirectMap('tree' as any) },
  // tunables
  { name: 'setting nprobe on a flat index', code: 'ERR_UNSUPPORTED', run: () => { new faiss.IndexFlatL2(d).nprobe = 4; } },
  { name: 'setting nprobe to 0', code: 'ERR_INVALID_ARGUMENT', run: () => { untrainedIvf().nprobe = 0; } },
  { name: 'setting efSearch on IVF', code: 'ERR_UNSUPPORTED', run: () => { untrainedIvf().efSearch = 10; } },
  { name: 'search: nprobe on HNSW', code: 'ERR_UNSUPPORTED', run: async () => (await hnsw()).search(q, 1, { nprobe: 2 }) },
  { name: 'search: unknown parameter', code: 'ERR_INVALID_ARGUMENT', run: async () => (await flat()).search(q, 1, { nprob: 2 } as any) },
  { name: 'search: efSearch = -1', code: 'ERR_INVALID_ARGUMENT', run: async () => (await hnsw()).search(q, 1, { efSearch: -1 }) },
  // construction
  { name: 'IndexFlatL2(0)', code: 'ERR_INVALID_ARGUMENT', run: () => new faiss.IndexFlatL2(0) },
  { name: 'IndexFlatL2("abc")', code: 'ERR_INVALID_ARGUMENT', run: () => new faiss.IndexFlatL2('abc' as any) },
  { name: 'IndexPQ: M does not divide d', code: 'ERR_INVALID_ARGUMENT', run: () => new faiss.IndexPQ(10, 3, 8) },
  { name: 'IndexIVFFlat: quantizer of another dimension', code: 'ERR_DIMENSION', run: () => new faiss.IndexIVFFlat(new faiss.IndexFlatL2(4), d, 4) },
  { name: 'IndexIVFFlat: quantizer not an index', code: 'ERR_INVALID_ARGUMENT', run: () => new faiss.IndexIVFFlat({} as any, d, 4) },
  { name: 'IndexScalarQuantizer: unknown qtype', code: 'ERR_INVALID_ARGUMENT', run: () => new faiss.IndexScalarQuantizer(d, 99 as any) },
  { name: 'unknown metric', code: 'ERR_INVALID_ARGUMENT', run: () => new faiss.IndexFlat(d, 7 as any) },
  { name: 'IndexIDMap around a non-empty index', code: 'ERR_INVALID_ARGUMENT', run: async () => new faiss.IndexIDMap(await flat()) },
  { name: 'indexFactory: unparsable description', code: 'ERR_INVALID_ARGUMENT', run: () => faiss.indexFactory(d, 'IVF,nonsense') },
  { name: 'indexFactory: PQ that does not divide d', code: 'ERR_INVALID_ARGUMENT', run: () => faiss.indexFactory(d, 'PQ3') },
  { name: 'indexFactory: fast-scan PQ with a block size other than 32', code: 'ERR_INVALID_ARGUMENT', run: () => faiss.indexFactory(d, 'IVF4,PQ4x4fs_64') },
  { name: 'indexFactory: NSG (outside the allow-list)', code: 'ERR_UNSUPPORTED', run: () => faiss.indexFactory(d, 'NSG32,Flat') },
  { name: 'search: efSearch on a fast-scan IVF', code: 'ERR_UNSUPPORTED', run: () => faiss.indexFactory(d, 'IVF4,PQ4x4fs').search(q, 1, { efSearch: 8 }) },
  { name: 'rangeSearch on a fast-scan IVF', code: 'ERR_UNSUPPORTED', run: async () => { const i = faiss.indexFactory(d, 'IVF4,PQ4x4fs'); await i.train(x); await i.add(x); return i.rangeSearch(q, 1); } },
  // merge
  { name: 'mergeFrom itself', code: 'ERR_INVALID_ARGUMENT', run: async () => { const i = await flat(); return i.mergeFrom(i); } },
  { name: 'mergeFrom another dimension', code: 'ERR_DIMENSION', run: async () => (await flat()).mergeFrom(new faiss.IndexFlatL2(4)) },
  // serialization and files
  { name: 'deserializeIndex: truncated buffer', code: 'ERR_CORRUPT_INDEX', run: async () => faiss.deserializeIndex((await serialized()).subarray(0, 60)) },
  { name: 'deserializeIndex: random bytes', code: 'ERR_CORRUPT_INDEX', run: () => faiss.deserializeIndex(Buffer.from(randomVectors(64, 1, 9).buffer)) },
  { name: 'deserializeIndex: empty buffer', code: 'ERR_CORRUPT_INDEX', run: () => faiss.deserializeIndex(Buffer.alloc(0)) },
  { name: 'deserializeIndex: trailing garbage', code: 'ERR_CORRUPT_INDEX', run: async () => faiss.deserializeIndex(Buffer.concat([await serialized(), Buffer.from('xyz')])) },
  { name: 'deserializeIndex: unknown type tag', code: 'ERR_CORRUPT_INDEX', run: async () => { const b = Buffer.from(await serialized()); b.write('Zzzz', 0); return faiss.deserializeIndex(b); } },
  { name: 'deserializeIndex: a string', code: 'ERR_INVALID_ARGUMENT', run: () => faiss.deserializeIndex('index' as any) },
  { name: 'deserializeIndex: a file written by a newer FAISS (IndexIVFRaBitQ)', code: 'ERR_UNSUPPORTED', run: () => faiss.deserializeIndex(fs.readFileSync(newerFaiss().file('ivf-rabitq'))) },
  { name: 'readIndex trusted: a file written by a newer FAISS (IndexHNSWCagra)', code: 'ERR_UNSUPPORTED', run: () => faiss.readIndex(newerFaiss().file('hnsw-cagra'), { trusted: true }) },
  { name: 'deserializeIndex: a fast-scan PQ with a block size of 64', code: 'ERR_UNSUPPORTED', run: async () => {
    // An empty PQ2x4fs ends with implem, bbs, qbs (int32), ntotal2, M2 and the codes' length (64-bit).
    const b = Buffer.from(await faiss.serializeIndex(faiss.indexFactory(d, 'PQ2x4fs')));
    assert.equal(b.readInt32LE(b.length - 32), 32);
    b.writeInt32LE(64, b.length - 32);
    return faiss.deserializeIndex(b);
  } },
  { name: 'readIndex: missing file', code: 'ERR_NOT_FOUND', run: () => faiss.readIndex(path.join(tmp, 'missing.index')) },
  { name: 'readIndex: a directory', code: 'ERR_IO', run: () => faiss.readIndex(tmp) },
  { name: 'readIndex: a file of garbage', code: 'ERR_CORRUPT_INDEX', run: () => { const p = path.join(tmp, 'garbage.index'); fs.writeFileSync(p, 'not an index at all'); return faiss.readIndex(p); } },
  { name: 'writeIndex: into a missing directory', code: 'ERR_IO', run: async () => faiss.writeIndex(await flat(), path.join(tmp, 'no', 'such', 'dir.index')) },
  { name: 'writeIndex: not an index', code: 'ERR_INVALID_ARGUMENT', run: () => faiss.writeIndex({} as any, path.join(tmp, 'x.index')) },
  // disposal
  { name: 'search after dispose', code: 'ERR_DISPOSED', run: async () => { const i = await flat(); i.dispose(); return i.search(q, 1); } },
  { name: 'ntotal after dispose', code: 'ERR_DISPOSED', run: async () => { const i = await flat(); i.dispose(); return i.ntotal; } },
  // metrics, transforms, clustering and the index-free functions
  { name: 'METRIC_L1 on IndexIVFFlat', code: 'ERR_UNSUPPORTED', run: () => new faiss.IndexIVFFlat(new faiss.IndexFlatL2(d), d, 4, faiss.METRIC_L1) },
  { name: 'METRIC_Canberra on IndexPQ', code: 'ERR_UNSUPPORTED', run: () => new faiss.IndexPQ(d, 2, 4, faiss.METRIC_Canberra) },
  { name: 'indexFactory "IVF4,Flat" with METRIC_L1', code: 'ERR_UNSUPPORTED', run: () => faiss.indexFactory(d, 'IVF4,Flat', faiss.METRIC_L1) },
  { name: 'indexFactory "HNSW8,SQ8" with METRIC_Linf', code: 'ERR_UNSUPPORTED', run: () => faiss.indexFactory(d, 'HNSW8,SQ8', faiss.METRIC_Linf) },
  { name: 'metric 5 (between FAISS\'s metrics)', code: 'ERR_INVALID_ARGUMENT', run: () => new faiss.IndexFlat(d, 5 as any) },
  { name: 'metricArg on an L2 index', code: 'ERR_UNSUPPORTED', run: () => { new faiss.IndexFlatL2(d).metricArg = 3; } },
  { name: 'metricArg 0 on an Lp index', code: 'ERR_INVALID_ARGUMENT', run: () => { new faiss.IndexFlat(d, faiss.METRIC_Lp).metricArg = 0; } },
  { name: 'metricArg NaN on an Lp index', code: 'ERR_INVALID_ARGUMENT', run: () => { new faiss.IndexFlat(d, faiss.METRIC_Lp).metricArg = NaN; } },
  { name: 'range search with METRIC_L1', code: 'ERR_UNSUPPORTED', run: async () => { const i = new faiss.IndexFlat(d, faiss.METRIC_L1); await i.add(x); return i.rangeSearch(q, 1); } },
  { name: 'kFactor on a flat index', code: 'ERR_UNSUPPORTED', run: () => { new faiss.IndexFlatL2(d).kFactor = 2; } },
  { name: 'kFactor 0.5', code: 'ERR_INVALID_ARGUMENT', run: () => { new faiss.IndexRefineFlat(new faiss.IndexFlatL2(d)).kFactor = 0.5; } },
  { name: 'IndexRefineFlat around a non-empty index', code: 'ERR_INVALID_ARGUMENT', run: async () => new faiss.IndexRefineFlat(await flat()) },
  { name: 'IndexRefineFlat around an L1 index', code: 'ERR_UNSUPPORTED', run: () => new faiss.IndexRefineFlat(new faiss.IndexFlat(d, faiss.METRIC_L1)) },
  { name: 'IndexPreTransform: transform output of another dimension', code: 'ERR_DIMENSION', run: () => new faiss.IndexPreTransform(new faiss.PCAMatrix(d, 4), new faiss.IndexFlatL2(d)) },
  { name: 'IndexPreTransform: chained transforms that do not follow on', code: 'ERR_DIMENSION', run: () => new faiss.IndexPreTransform([new faiss.PCAMatrix(d, 4), new faiss.PCAMatrix(d, 2)], new faiss.IndexFlatL2(2)) },
  { name: 'IndexPreTransform: no transform', code: 'ERR_INVALID_ARGUMENT', run: () => new faiss.IndexPreTransform([], new faiss.IndexFlatL2(d)) },
  { name: 'IndexPreTransform: an index as the transform', code: 'ERR_INVALID_ARGUMENT', run: () => new faiss.IndexPreTransform(new faiss.IndexFlatL2(d) as any, new faiss.IndexFlatL2(d)) },
  { name: 'IndexPreTransform: a disposed transform', code: 'ERR_DISPOSED', run: () => { const t = new faiss.NormalizationTransform(d); t.dispose(); return new faiss.IndexPreTransform(t, new faiss.IndexFlatL2(d)); } },
  { name: 'PCAMatrix: dOut > dIn', code: 'ERR_INVALID_ARGUMENT', run: () => new faiss.PCAMatrix(d, d + 1) },
  { name: 'ITQTransform without PCA: dOut != dIn', code: 'ERR_INVALID_ARGUMENT', run: () => new faiss.ITQTransform(d, 4) },
  { name: 'OPQMatrix: M does not divide d', code: 'ERR_INVALID_ARGUMENT', run: () => new faiss.OPQMatrix(d, 3) },
  { name: 'PCAMatrix.apply before training', code: 'ERR_NOT_TRAINED', run: () => new faiss.PCAMatrix(d, 4).apply(q) },
  { name: 'RandomRotationMatrix.reverseTransform before init', code: 'ERR_NOT_TRAINED', run: () => new faiss.RandomRotationMatrix(d, 4).reverseTransform(new Float32Array(4)) },
  { name: 'PCAMatrix.apply: rows of the wrong dimension', code: 'ERR_DIMENSION', run: async () => { const t = new faiss.PCAMatrix(d, 4); await t.train(x); return t.apply(new Float32Array(d + 1)); } },
  { name: 'apply on a disposed transform', code: 'ERR_DISPOSED', run: () => { const t = new faiss.NormalizationTransform(d); t.dispose(); return t.apply(q); } },
  { name: 'ITQTransform.reverseTransform (FAISS has none)', code: 'ERR_UNSUPPORTED', run: async () => { const t = new faiss.ITQTransform(d, d); await t.train(x); return t.reverseTransform(q); } },
  { name: 'ITQTransform trained twice', code: 'ERR_UNSUPPORTED', run: async () => { const t = new faiss.ITQTransform(d, d); await t.train(x); return t.train(x); } },
  { name: 'PCAMatrix whitened: reverseTransform', code: 'ERR_UNSUPPORTED', run: async () => { const t = new faiss.PCAMatrix(d, 4, -0.5); await t.train(x); return t.reverseTransform(new Float32Array(4)); } },
  // Over an IVF base nprobe reaches the IVF, as ParameterSpace does (test/embedded/factory-table.test.ts); over a flat base there is none.
  { name: 'search with nprobe on IndexRefineFlat over a flat index', code: 'ERR_UNSUPPORTED', run: async () => { const r = new faiss.IndexRefineFlat(new faiss.IndexFlatL2(d)); await r.add(x); return r.search(q, 1, { nprobe: 2 }); } },
  { name: 'NormalizationTransform(d, 1).apply (FAISS 1.7.3 has norm 2 only)', code: 'ERR_UNSUPPORTED', run: () => new faiss.NormalizationTransform(d, 1).apply(q) },
  { name: 'init(seed) on a PCAMatrix', code: 'ERR_UNSUPPORTED', run: () => (faiss.VectorTransform.nativeOf(new faiss.PCAMatrix(d, 4), 't') as any).init(1) },
  { name: 'OPQMatrix.train on fewer than 256 vectors', code: 'ERR_FAISS', run: () => new faiss.OPQMatrix(d, 2).train(x.subarray(0, 100 * d)) },
  { name: 'Kmeans: k above the number of points', code: 'ERR_INVALID_ARGUMENT', run: () => new faiss.Kmeans(d, 301).train(x) },
  { name: 'Kmeans: k = 0', code: 'ERR_INVALID_ARGUMENT', run: () => new faiss.Kmeans(d, 0) },
  { name: 'Kmeans: unknown parameter', code: 'ERR_INVALID_ARGUMENT', run: () => new faiss.Kmeans(d, 4, { niters: 3 } as any) },
  { name: 'Kmeans: nredo 0', code: 'ERR_INVALID_ARGUMENT', run: () => new faiss.Kmeans(d, 4, { nredo: 0 }) },
  { name: 'Kmeans: NaN in x', code: 'ERR_INVALID_ARGUMENT', run: () => { const v = new Float32Array(x); v[5] = NaN; return new faiss.Kmeans(d, 4).train(v); } },
  { name: 'Kmeans: weights of the wrong length', code: 'ERR_INVALID_ARGUMENT', run: () => new faiss.Kmeans(d, 4).train(x, { weights: new Float32Array(299) }) },
  { name: 'Kmeans: more initial centroids than k', code: 'ERR_INVALID_ARGUMENT', run: () => new faiss.Kmeans(d, 2).train(x, { initCentroids: x.subarray(0, 3 * d) }) },
  { name: 'Kmeans.assign before train', code: 'ERR_NOT_TRAINED', run: () => new faiss.Kmeans(d, 4).assign(q) },
  { name: 'knn: xq and xb of different dimensions', code: 'ERR_DIMENSION', run: () => faiss.knn([[1, 2]], [[1, 2, 3]], 1) },
  { name: 'knn: two Float32Arrays without d', code: 'ERR_INVALID_ARGUMENT', run: () => faiss.knn(q, x, 1) },
  { name: 'knn: METRIC_Lp without metricArg', code: 'ERR_INVALID_ARGUMENT', run: () => faiss.knn(q, x, 1, faiss.METRIC_Lp, { d }) },
  { name: 'knn: metricArg with METRIC_L2', code: 'ERR_INVALID_ARGUMENT', run: () => faiss.knn(q, x, 1, faiss.METRIC_L2, { d, metricArg: 3 }) },
  { name: 'knn: k = 0', code: 'ERR_INVALID_ARGUMENT', run: () => faiss.knn(q, x, 0, faiss.METRIC_L2, { d }) },
  { name: 'pairwiseDistances: metric 9', code: 'ERR_INVALID_ARGUMENT', run: () => faiss.pairwiseDistances(q, x, 9 as any, { d }) },
  { name: 'normalizeL2: number[][] (not normalisable in place)', code: 'ERR_INVALID_ARGUMENT', run: () => faiss.normalizeL2([[1, 2]] as any, 2) },
  { name: 'normalizeL2: length not a multiple of d', code: 'ERR_DIMENSION', run: () => faiss.normalizeL2(new Float32Array(5), 2) },
  { name: 'searchAndReconstruct on IndexIVFFlat without a direct map is fine, k = 0 is not', code: 'ERR_INVALID_ARGUMENT', run: async () => (await trainedIvf()).searchAndReconstruct(q, 0) },
  { name: 'addon: NativeTransform constructed directly', code: 'ERR_INVALID_ARGUMENT', run: () => new (native as any).NativeTransform() },
  { name: 'VectorTransform.apply called on an index', code: 'ERR_INVALID_ARGUMENT', run: () => faiss.VectorTransform.prototype.apply.call(new faiss.IndexFlatL2(d) as any, q) },
  { name: 'Index.search called on a transform', code: 'ERR_INVALID_ARGUMENT', run: () => faiss.Index.prototype.search.call(new faiss.PCAMatrix(d, 4) as any, q, 1) },
  { name: 'addon: knn with a plain array', code: 'ERR_INVALID_ARGUMENT', run: () => (native as any).knn([1, 2], q, d, 1, 1) },
  { name: 'addon: kmeansTrain with no arguments', code: 'ERR_INVALID_ARGUMENT', run: () => (native as any).kmeansTrain() },
  { name: 'addon: newPreTransform with a non-array', code: 'ERR_INVALID_ARGUMENT', run: () => (native as any).newPreTransform({}, {}) },
  // plain JavaScript reaching the addon directly
  { name: 'addon: NativeIndex constructed directly', code: 'ERR_INVALID_ARGUMENT', run: () => new (native as any).NativeIndex() },
  { name: 'addon: search with no arguments', code: 'ERR_INVALID_ARGUMENT', run: async () => (faiss.Index.prototype.native.call(await flat()) as any).search() },
  { name: 'addon: add with a plain array', code: 'ERR_INVALID_ARGUMENT', run: async () => (faiss.Index.prototype.native.call(await flat()) as any).add([1, 2]) },
  { name: 'addon: search with k = NaN', code: 'ERR_INVALID_ARGUMENT', run: async () => (faiss.Index.prototype.native.call(await flat()) as any).search(q, NaN) },
  { name: 'addon: method called on a foreign object', code: 'ERR_INVALID_ARGUMENT', run: async () => native.newIDMap({} as any) },
  { name: 'addon: setNumThreads("x")', code: 'ERR_INVALID_ARGUMENT', run: () => native.setNumThreads('x' as any) },
];

describe('errors: every bad input is a FaissError with a stable code', () => {
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it(`covers at least 30 inputs (${cases.length})`, () => assert.ok(cases.length >= 30));

  itRejectsEach(cases);
});

// Bad input to the binary indexes: each a FaissError with a stable code, never an
// abort or an untyped exception. Plain-JavaScript callers that reach the addon
// directly are covered too. (Hostile index files: test/binary/unsafe-files.test.ts.)
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as faiss from '../../lib';
import { native } from '../../lib/native';
import { rng } from '../support/data';
import { indexFixtures, itRejectsEach, type ErrorCase } from '../support/error-cases';

/* eslint-disable @typescript-eslint/no-explicit-any */
const d = 64;
const codeSize = d / 8;
const next = rng(5);
const xb = Uint8Array.from({ length: 200 * codeSize }, () => Math.floor(next() * 256));
const q = xb.subarray(0, codeSize);
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'faiss-binary-errors-'));

const { flat, hnsw, untrainedIvf, trainedIvf } = indexFixtures<faiss.IndexBinary, Uint8Array>(
  { flat: () => new faiss.IndexBinaryFlat(d), hnsw: () => new faiss.IndexBinaryHNSW(d, 8), ivf: () => new faiss.IndexBinaryIVF(new faiss.IndexBinaryFlat(d), d, 4) },
  xb,
);
const nativeOf = (i: faiss.IndexBinary): any => faiss.IndexBinary.nativeOf(i, 'index');

const cases: ErrorCase[] = [
  // codes
  { name: 'add: codes not a multiple of d / 8', code: 'ERR_DIMENSION', run: async () => (await flat()).add(new Uint8Array(codeSize + 3)) },
  { name: 'search: codes not a multiple of d / 8', code: 'ERR_DIMENSION', run: async () => (await flat()).search(new Uint8Array(codeSize - 1), 1) },
  { name: 'add: a row of the wrong length', code: 'ERR_DIMENSION', run: async () => (await flat()).add([[1, 2, 3]]) },
  { name: 'add: empty Uint8Array', code: 'ERR_INVALID_ARGUMENT', run: async () => (await flat()).add(new Uint8Array(0)) },
  { name: 'add: a Float32Array given to a binary index', code: 'ERR_INVALID_ARGUMENT', run: async () => (await flat()).add(new Float32Array(codeSize) as any) },
  { name: 'search: a Float32Array given to a binary index', code: 'ERR_INVALID_ARGUMENT', run: async () => (await flat()).search(new Float32Array(codeSize) as any, 1) },
  { name: 'add: a Uint8ClampedArray', code: 'ERR_INVALID_ARGUMENT', run: async () => (await flat()).add(new Uint8ClampedArray(codeSize) as any) },
  { name: 'add: a byte of 256 in a row', code: 'ERR_INVALID_ARGUMENT', run: async () => (await flat()).add([[...Array(codeSize - 1).fill(0), 256]]) },
  { name: 'add: a negative byte', code: 'ERR_INVALID_ARGUMENT', run: async () => (await flat()).add([[...Array(codeSize - 1).fill(0), -1]]) },
  { name: 'add: a fractional byte', code: 'ERR_INVALID_ARGUMENT', run: async () => (await flat()).add([[...Array(codeSize - 1).fill(0), 1.5]]) },
  { name: 'add: a Uint8Array given to a float index', code: 'ERR_INVALID_ARGUMENT', run: async () => new faiss.IndexFlatL2(8).add(new Uint8Array(32) as any) },
  { name: 'search: a float index searched with binary codes', code: 'ERR_INVALID_ARGUMENT', run: async () => new faiss.IndexFlatL2(8).search(new Uint8Array(32) as any, 1) },
  // k and radius
  { name: 'search: k = 0', code: 'ERR_INVALID_ARGUMENT', run: async () => (await flat()).search(q, 0) },
  { name: 'search: k > 2^20', code: 'ERR_INVALID_ARGUMENT', run: async () => (await flat()).search(q, 2 ** 20 + 1) },
  { name: 'search: k fractional', code: 'ERR_INVALID_ARGUMENT', run: async () => (await flat()).search(q, 2.5) },
  { name: 'rangeSearch: radius fractional', code: 'ERR_INVALID_ARGUMENT', run: async () => (await flat()).rangeSearch(q, 1.5) },
  { name: 'rangeSearch: radius beyond int32', code: 'ERR_INVALID_ARGUMENT', run: async () => (await flat()).rangeSearch(q, 2 ** 31) },
  { name: 'rangeSearch on HNSW', code: 'ERR_UNSUPPORTED', run: async () => (await hnsw()).rangeSearch(q, 10) },
  // state and capability
  { name: 'add to an untrained IVF', code: 'ERR_NOT_TRAINED', run: async () => untrainedIvf().add(xb) },
  { name: 'train an IVF on fewer codes than lists', code: 'ERR_FAISS', run: async () => untrainedIvf().train(xb.subarray(0, 2 * codeSize)) },
  { name: 'addWithIds on a flat index', code: 'ERR_UNSUPPORTED', run: async () => (await flat()).addWithIds(q, [7]) },
  { name: 'addWithIds: id -1', code: 'ERR_INVALID_ARGUMENT', run: async () => (await trainedIvf()).addWithIds(q, [-1]) },
  { name: 'addWithIds: ids of the wrong length', code: 'ERR_INVALID_ARGUMENT', run: async () => (await trainedIvf()).addWithIds(q, [1, 2]) },
  { name: 'removeIds on HNSW', code: 'ERR_UNSUPPORTED', run: async () => (await hnsw()).removeIds([1]) },
  { name: 'reconstruct: id out of range', code: 'ERR_NOT_FOUND', run: async () => (await flat()).reconstruct(200) },
  { name: 'reconstruct: negative id on HNSW', code: 'ERR_NOT_FOUND', run: async () => (await hnsw()).reconstruct(-1) },
  { name: 'reconstruct on IVF (no direct map)', code: 'ERR_UNSUPPORTED', run: async () => (await trainedIvf()).reconstruct(1) },
  // tunables
  { name: 'setting nprobe on a binary flat index', code: 'ERR_UNSUPPORTED', run: () => { new faiss.IndexBinaryFlat(d).nprobe = 4; } },
  { name: 'setting efSearch on a binary IVF', code: 'ERR_UNSUPPORTED', run: () => { untrainedIvf().efSearch = 4; } },
  { name: 'setting nprobe to 0', code: 'ERR_INVALID_ARGUMENT', run: () => { untrainedIvf().nprobe = 0; } },
  { name: 'search: nprobe on HNSW', code: 'ERR_UNSUPPORTED', run: async () => (await hnsw()).search(q, 1, { nprobe: 2 }) },
  { name: 'search: efSearch on IVF', code: 'ERR_UNSUPPORTED', run: async () => (await trainedIvf()).search(q, 1, { efSearch: 2 }) },
  { name: 'search: unknown parameter', code: 'ERR_INVALID_ARGUMENT', run: async () => (await flat()).search(q, 1, { nprob: 2 } as any) },
  // construction
  { name: 'IndexBinaryFlat(0)', code: 'ERR_INVALID_ARGUMENT', run: () => new faiss.IndexBinaryFlat(0) },
  { name: 'IndexBinaryFlat(12): not a multiple of 8', code: 'ERR_INVALID_ARGUMENT', run: () => new faiss.IndexBinaryFlat(12) },
  { name: 'IndexBinaryFlat(2^21): huge', code: 'ERR_INVALID_ARGUMENT', run: () => new faiss.IndexBinaryFlat(2 ** 21) },
  { name: 'IndexBinaryFlat("64")', code: 'ERR_INVALID_ARGUMENT', run: () => new faiss.IndexBinaryFlat('64' as any) },
  { name: 'IndexBinaryHNSW: M = 1', code: 'ERR_INVALID_ARGUMENT', run: () => new faiss.IndexBinaryHNSW(d, 1) },
  { name: 'IndexBinaryIVF: quantizer of another dimension', code: 'ERR_DIMENSION', run: () => new faiss.IndexBinaryIVF(new faiss.IndexBinaryFlat(32), d, 4) },
  { name: 'IndexBinaryIVF: a float quantizer', code: 'ERR_INVALID_ARGUMENT', run: () => new faiss.IndexBinaryIVF(new faiss.IndexFlatL2(d) as any, d, 4) },
  { name: 'IndexBinaryIVF: an IVF as quantizer', code: 'ERR_INVALID_ARGUMENT', run: () => new faiss.IndexBinaryIVF(untrainedIvf(), d, 4) },
  { name: 'IndexBinaryIVF: nlist = 0', code: 'ERR_INVALID_ARGUMENT', run: () => new faiss.IndexBinaryIVF(new faiss.IndexBinaryFlat(d), d, 0) },
  { name: 'IndexBinaryIVF: centroids past the memory limit', code: 'ERR_RESOURCE_LIMIT', run: () => new faiss.IndexBinaryIVF(new faiss.IndexBinaryFlat(2 ** 20), 2 ** 20, 2 ** 20) },
  { name: 'IndexIVFFlat: a binary quantizer', code: 'ERR_INVALID_ARGUMENT', run: () => new faiss.IndexIVFFlat(new faiss.IndexBinaryFlat(d) as any, d, 4) },
  // the factory
  { name: 'indexBinaryFactory: BHash (unchecked)', code: 'ERR_UNSUPPORTED', run: () => faiss.indexBinaryFactory(d, 'BHash8') },
  { name: 'indexBinaryFactory: BHash2x8 (unchecked)', code: 'ERR_UNSUPPORTED', run: () => faiss.indexBinaryFactory(d, 'BHash2x8') },
  { name: 'indexBinaryFactory: trailing garbage', code: 'ERR_INVALID_ARGUMENT', run: () => faiss.indexBinaryFactory(d, 'BIVF16garbage') },
  { name: 'indexBinaryFactory: BHNSW0', code: 'ERR_INVALID_ARGUMENT', run: () => faiss.indexBinaryFactory(d, 'BHNSW0') },
  { name: 'indexBinaryFactory: BHNSW1', code: 'ERR_INVALID_ARGUMENT', run: () => faiss.indexBinaryFactory(d, 'BHNSW1') },
  { name: 'indexBinaryFactory: BIVF0', code: 'ERR_INVALID_ARGUMENT', run: () => faiss.indexBinaryFactory(d, 'BIVF0') },
  { name: 'indexBinaryFactory: BIVF2000000000', code: 'ERR_INVALID_ARGUMENT', run: () => faiss.indexBinaryFactory(d, 'BIVF2000000000') },
  { name: 'indexBinaryFactory: BIVF16777216 with d = 2^20', code: 'ERR_RESOURCE_LIMIT', run: () => faiss.indexBinaryFactory(2 ** 20, 'BIVF16777216') },
  { name: 'indexBinaryFactory: a float description', code: 'ERR_INVALID_ARGUMENT', run: () => faiss.indexBinaryFactory(d, 'Flat') },
  { name: 'indexBinaryFactory: d = 7', code: 'ERR_INVALID_ARGUMENT', run: () => faiss.indexBinaryFactory(7, 'BFlat') },
  // serialization and files
  { name: 'deserializeIndexBinary: truncated', code: 'ERR_CORRUPT_INDEX', run: async () => faiss.deserializeIndexBinary((await faiss.serializeIndexBinary(await flat())).subarray(0, 40)) },
  { name: 'deserializeIndexBinary: trailing bytes', code: 'ERR_CORRUPT_INDEX', run: async () => faiss.deserializeIndexBinary(Buffer.concat([await faiss.serializeIndexBinary(await flat()), Buffer.from('xyz')])) },
  { name: 'deserializeIndexBinary: empty', code: 'ERR_CORRUPT_INDEX', run: () => faiss.deserializeIndexBinary(Buffer.alloc(0)) },
  { name: 'deserializeIndexBinary: a float index file', code: 'ERR_CORRUPT_INDEX', run: async () => faiss.deserializeIndexBinary(await faiss.serializeIndex(new faiss.IndexFlatL2(8))) },
  { name: 'deserializeIndex: a binary index file', code: 'ERR_CORRUPT_INDEX', run: async () => faiss.deserializeIndex(await faiss.serializeIndexBinary(await flat())) },
  { name: 'deserializeIndexBinary: trusted, a float index file', code: 'ERR_CORRUPT_INDEX', run: async () => faiss.deserializeIndexBinary(await faiss.serializeIndex(new faiss.IndexFlatL2(8)), { trusted: true }) },
  { name: 'deserializeIndexBinary: trusted not a boolean', code: 'ERR_INVALID_ARGUMENT', run: async () => faiss.deserializeIndexBinary(Buffer.alloc(8), { trusted: 1 } as any) },
  { name: 'serializeIndexBinary: a float index', code: 'ERR_INVALID_ARGUMENT', run: () => faiss.serializeIndexBinary(new faiss.IndexFlatL2(8) as any) },
  { name: 'serializeIndex: a binary index', code: 'ERR_INVALID_ARGUMENT', run: async () => faiss.serializeIndex((await flat()) as any) },
  { name: 'readIndexBinary: missing file', code: 'ERR_NOT_FOUND', run: () => faiss.readIndexBinary(path.join(tmp, 'missing.index')) },
  { name: 'readIndexBinary: trusted, missing file', code: 'ERR_NOT_FOUND', run: () => faiss.readIndexBinary(path.join(tmp, 'missing.index'), { trusted: true }) },
  { name: 'readIndexBinary: a directory', code: 'ERR_IO', run: () => faiss.readIndexBinary(tmp) },
  { name: 'writeIndexBinary: into a missing directory', code: 'ERR_IO', run: async () => faiss.writeIndexBinary(await flat(), path.join(tmp, 'no', 'such.index')) },
  // disposal
  { name: 'search after dispose', code: 'ERR_DISPOSED', run: async () => { const i = await flat(); i.dispose(); return i.search(q, 1); } },
  { name: 'ntotal after dispose', code: 'ERR_DISPOSED', run: async () => { const i = await flat(); i.dispose(); return i.ntotal; } },
  // memory limits hold for binary searches too
  { name: 'search: results past the per-call memory limit', code: 'ERR_RESOURCE_LIMIT', run: async () => {
    const i = await flat();
    faiss.setMemoryLimits({ perCallBytes: 2 ** 20 });
    try {
      return await i.search(xb, 2 ** 12);
    } finally {
      faiss.setMemoryLimits({ perCallBytes: 2 ** 30 });
    }
  } },
  { name: 'rangeSearch: results past the per-call memory limit', code: 'ERR_RESOURCE_LIMIT', run: async () => {
    const big = new faiss.IndexBinaryFlat(d);
    await big.add(new Uint8Array(20_000 * codeSize));
    faiss.setMemoryLimits({ perCallBytes: 2 ** 20 });
    try {
      return await big.rangeSearch(new Uint8Array(200 * codeSize), 1);
    } finally {
      faiss.setMemoryLimits({ perCallBytes: 2 ** 30 });
    }
  } },
  { name: 'search: HNSW efSearch past the per-call memory limit', code: 'ERR_RESOURCE_LIMIT', run: async () => (await hnsw()).search(q, 1, { efSearch: 2 ** 30 }) },
  // plain JavaScript reaching the addon directly
  { name: 'addon: NativeBinaryIndex constructed directly', code: 'ERR_INVALID_ARGUMENT', run: () => new (native as any).NativeBinaryIndex() },
  { name: 'addon: newBinaryFlat(12)', code: 'ERR_INVALID_ARGUMENT', run: () => native.newBinaryFlat(12) },
  { name: 'addon: search with a Float32Array', code: 'ERR_INVALID_ARGUMENT', run: async () => nativeOf(await flat()).search(new Float32Array(codeSize), 1) },
  { name: 'addon: search with codes of the wrong length', code: 'ERR_DIMENSION', run: async () => nativeOf(await flat()).search(new Uint8Array(3), 1) },
  { name: 'addon: search with k = NaN', code: 'ERR_INVALID_ARGUMENT', run: async () => nativeOf(await flat()).search(q, NaN) },
  { name: 'addon: rangeSearch with radius 1.5', code: 'ERR_INVALID_ARGUMENT', run: async () => nativeOf(await flat()).rangeSearch(q, 1.5) },
  { name: 'a float index method called on a binary index', code: 'ERR_INVALID_ARGUMENT', run: async () => faiss.Index.prototype.search.call(await flat(), new Float32Array(8), 1) },
  { name: 'a binary index method called on a float index', code: 'ERR_INVALID_ARGUMENT', run: async () => faiss.IndexBinary.prototype.search.call(new faiss.IndexFlatL2(8), q, 1) },
  { name: 'a binary index method called on an object made from its prototype', code: 'ERR_INVALID_ARGUMENT', run: async () =>
    faiss.IndexBinary.prototype.add.call(Object.create(faiss.IndexBinaryFlat.prototype), q) },
  { name: 'addon: newBinaryIVF with a float quantizer', code: 'ERR_INVALID_ARGUMENT', run: () => native.newBinaryIVF(faiss.Index.prototype.native.call(new faiss.IndexFlatL2(d)) as any, d, 4) },
];

describe('binary indexes: every bad input is a FaissError with a stable code', function () {
  this.timeout(60_000);
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  itRejectsEach(cases);
});

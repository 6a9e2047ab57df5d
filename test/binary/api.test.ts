// The embedded binary index API: classes, properties, tunables, empty and
// untrained indexes, removal, reset, disposal and round trips, with a brute-force
// Hamming search in JavaScript as the reference for exact answers.
import { strict as assert } from 'node:assert';
import * as faiss from '../../lib';
import { rng } from '../support/data';

const d = 128;
const codeSize = d / 8;

function randomCodes(n: number, seed: number): Uint8Array {
  const next = rng(seed);
  return Uint8Array.from({ length: n * codeSize }, () => Math.floor(next() * 256));
}

function hamming(a: Uint8Array, b: Uint8Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) {
    let v = a[i] ^ b[i];
    while (v) {
      s += v & 1;
      v >>= 1;
    }
  }
  return s;
}

const row = (x: Uint8Array, i: number): Uint8Array => x.subarray(i * codeSize, (i + 1) * codeSize);

describe('binary indexes: the embedded API', function () {
  this.timeout(60_000);
  const xb = randomCodes(500, 1);
  const xq = randomCodes(5, 2);

  it('classes, typeName and properties', async () => {
    const flat = new faiss.IndexBinaryFlat(d);
    assert.ok(flat instanceof faiss.IndexBinary && flat instanceof faiss.IndexBinaryFlat);
    assert.ok(!(flat instanceof faiss.Index));
    assert.deepEqual([flat.typeName, flat.d, flat.codeSize, flat.ntotal, flat.isTrained, flat.version], ['IndexBinaryFlat', d, codeSize, 0, true, 0]);
    assert.equal(flat.nprobe, undefined);
    assert.equal(flat.efSearch, undefined);
    await flat.add(xb);
    assert.equal(flat.ntotal, 500);
    assert.equal(flat.version, 1);
    assert.ok(flat.bytes >= 500 * codeSize);

    const ivf = faiss.indexBinaryFactory(d, 'BIVF8');
    assert.ok(ivf instanceof faiss.IndexBinaryIVF);
    assert.deepEqual([ivf.isTrained, ivf.nprobe, ivf.efSearch], [false, 1, undefined]);
    const hnsw = faiss.indexBinaryFactory(d, 'BHNSW16');
    assert.ok(hnsw instanceof faiss.IndexBinaryHNSW);
    assert.deepEqual([hnsw.efSearch, hnsw.efConstruction, hnsw.nprobe], [16, 40, undefined]);
    const ivfHnsw = faiss.indexBinaryFactory(d, 'BIVF8_HNSW16');
    assert.equal(ivfHnsw.typeName, 'IndexBinaryIVF');
    assert.equal(faiss.indexBinaryFactory(d, 'BFlat').typeName, 'IndexBinaryFlat');
  });

  it('IndexBinaryFlat gives the exact Hamming k-NN (brute force in JS)', async () => {
    const flat = new faiss.IndexBinaryFlat(d);
    await flat.add(xb);
    const k = 5;
    const { distances, labels } = await flat.search(xq, k);
    assert.ok(distances instanceof Int32Array && labels instanceof BigInt64Array);
    for (let i = 0; i < 5; i++) {
      const all = Array.from({ length: 500 }, (_, j) => hamming(row(xq, i), row(xb, j))).sort((a, b) => a - b);
      assert.deepEqual(Array.from(distances.subarray(i * k, (i + 1) * k)), all.slice(0, k));
      for (let r = 0; r < k; r++) assert.equal(hamming(row(xq, i), row(xb, Number(labels[i * k + r]))), distances[i * k + r]);
    }
    // rangeSearch: strictly below the radius, as FAISS's convention.
    const radius = distances[2] + 1;
    const range = await flat.rangeSearch(xq.subarray(0, codeSize), radius);
    const expected = Array.from({ length: 500 }, (_, j) => j).filter((j) => hamming(row(xq, 0), row(xb, j)) < radius);
    assert.deepEqual(Array.from(range.labels, Number).sort((a, b) => a - b), expected);
    assert.ok(range.distances instanceof Int32Array);
    assert.equal(Number(range.lims[1]), expected.length);
  });

  it('number[][] codes are copied and give the same answers', async () => {
    const flat = new faiss.IndexBinaryFlat(d);
    await flat.add(Array.from({ length: 500 }, (_, i) => Array.from(row(xb, i))));
    const a = await flat.search(xq, 3);
    const b = await flat.search([Array.from(row(xq, 0)), Array.from(row(xq, 1)), Array.from(row(xq, 2)), Array.from(row(xq, 3)), Array.from(row(xq, 4))], 3);
    assert.deepEqual(a, b);
  });

  it('an empty index, and an untrained IVF, answer label -1 at INT32_MAX', async () => {
    for (const index of [new faiss.IndexBinaryFlat(d), new faiss.IndexBinaryHNSW(d, 8), faiss.indexBinaryFactory(d, 'BIVF4')]) {
      const { distances, labels } = await index.search(xq, 2);
      assert.deepEqual(Array.from(labels), Array(10).fill(-1n), index.typeName);
      assert.deepEqual(Array.from(distances), Array(10).fill(2147483647), index.typeName);
    }
    const range = await new faiss.IndexBinaryFlat(d).rangeSearch(xq, 100);
    assert.deepEqual(Array.from(range.lims), Array(6).fill(0n));
  });

  it('IVF: train, add with ids, per-call nprobe leaves the property alone, removeIds', async () => {
    const ivf = new faiss.IndexBinaryIVF(new faiss.IndexBinaryFlat(d), d, 8);
    await ivf.train(xb);
    assert.equal(ivf.isTrained, true);
    await ivf.addWithIds(xb, BigInt64Array.from({ length: 500 }, (_, i) => BigInt(1000 + i)));
    const all = await ivf.search(xq, 4, { nprobe: 8 });
    const exact = await (async () => {
      const f = new faiss.IndexBinaryFlat(d);
      await f.add(xb);
      return f.search(xq, 4);
    })();
    assert.deepEqual(Array.from(all.distances), Array.from(exact.distances), 'nprobe = nlist is exhaustive');
    assert.equal(ivf.nprobe, 1);
    ivf.nprobe = 8;
    assert.deepEqual(await ivf.search(xq, 4), all);
    const first = all.labels[0];
    assert.equal(await ivf.removeIds([first, 99n]), 1);
    assert.equal(ivf.ntotal, 499);
    assert.ok(!(await ivf.search(xq, 4)).labels.includes(first));
  });

  it('flat: removeIds renumbers; reconstruct; reset keeps nothing', async () => {
    const flat = new faiss.IndexBinaryFlat(d);
    await flat.add(xb);
    assert.equal(await flat.removeIds([0, 1]), 2);
    assert.deepEqual(await flat.reconstruct(0), row(xb, 2));
    await flat.reset();
    assert.equal(flat.ntotal, 0);
  });

  it('HNSW: efSearch per call or as a property; a round trip keeps the property', async () => {
    const hnsw = new faiss.IndexBinaryHNSW(d, 16);
    await hnsw.add(xb);
    const a = await hnsw.search(xq, 5, { efSearch: 64 });
    assert.equal(hnsw.efSearch, 16);
    hnsw.efSearch = 64;
    assert.deepEqual(await hnsw.search(xq, 5), a);
    const copy = await faiss.deserializeIndexBinary(await faiss.serializeIndexBinary(hnsw));
    assert.ok(copy instanceof faiss.IndexBinaryHNSW);
    assert.equal(copy.efSearch, 64);
    assert.deepEqual(await copy.search(xq, 5), a);
    const trusted = await faiss.deserializeIndexBinary(await faiss.serializeIndexBinary(hnsw), { trusted: true });
    assert.deepEqual(await trusted.search(xq, 5), a);
  });

  it('searches with different nprobe at once each get their own', async () => {
    const ivf = new faiss.IndexBinaryIVF(new faiss.IndexBinaryFlat(d), d, 8);
    await ivf.train(xb);
    await ivf.add(xb);
    const one = await ivf.search(xq, 10, { nprobe: 1 });
    const all = await ivf.search(xq, 10, { nprobe: 8 });
    const mixed = await Promise.all(Array.from({ length: 12 }, (_, i) => ivf.search(xq, 10, { nprobe: i % 2 ? 8 : 1 })));
    mixed.forEach((r, i) => assert.deepEqual(r, i % 2 ? all : one));
  });

  it('dispose: an operation in flight completes, later calls are ERR_DISPOSED', async () => {
    const flat = new faiss.IndexBinaryFlat(d);
    await flat.add(xb);
    const pending = flat.search(xq, 1);
    flat.dispose();
    flat.dispose();
    assert.equal((await pending).labels.length, 5);
    assert.equal(flat.disposed, true);
    assert.equal(flat.d, d);
    await assert.rejects(flat.search(xq, 1), { code: 'ERR_DISPOSED' });
  });
});

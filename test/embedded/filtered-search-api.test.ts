// Selectors as values (validated once, immutable, reusable), what each index
// type does with one, removeIds(selector), and a filter that keeps 1% of an
// HNSW index still answering k results.
import { strict as assert } from 'node:assert';
import * as faiss from '../../lib';
import { searchParams } from '../../lib/limits';
import { randomVectors } from '../support/data';
import { sameKnn } from '../support/oracle';
import { bruteForce, type Term } from '../support/selector-terms';

const d = 8;

async function rejectsWith(p: Promise<unknown> | (() => unknown), code: string, message?: RegExp): Promise<void> {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    assert.ok(e instanceof faiss.FaissError, `not a FaissError: ${e}`);
    assert.equal(e.code, code, e.message);
    if (message) assert.match(e.message, message);
    return;
  }
  assert.fail(`expected ${code}`);
}

describe('IDSelector values', () => {
  const bad: [string, () => unknown][] = [
    ['Batch of strings', () => new faiss.IDSelectorBatch(['1'] as never)],
    ['Batch of fractions', () => new faiss.IDSelectorBatch([1.5])],
    ['Batch of a Float64Array', () => new faiss.IDSelectorBatch(new Float64Array(2) as never)],
    ['Array of a bigint past int64', () => new faiss.IDSelectorArray([2n ** 63n])],
    ['Array of undefined', () => new faiss.IDSelectorArray(undefined as never)],
    ['Range with min > max', () => new faiss.IDSelectorRange(5, 4)],
    ['Range of a string', () => new faiss.IDSelectorRange('0' as never, 4)],
    ['Range of NaN', () => new faiss.IDSelectorRange(0, NaN)],
    ['Bitmap of a number[]', () => new faiss.IDSelectorBitmap([1, 2] as never)],
    ['Bitmap of an Int8Array', () => new faiss.IDSelectorBitmap(new Int8Array(2) as never)],
    ['Bitmap of a Proxy', () => new faiss.IDSelectorBitmap(new Proxy(new Uint8Array(2), {}))],
    ['Not of an object', () => new faiss.IDSelectorNot({} as never)],
    ['And with a missing operand', () => new faiss.IDSelectorAnd(new faiss.IDSelectorRange(0, 1), undefined as never)],
    ['Or of an object made from the prototype', () => new faiss.IDSelectorOr(Object.create(faiss.IDSelectorRange.prototype), new faiss.IDSelectorRange(0, 1))],
    ['XOr of ids', () => new faiss.IDSelectorXOr([1] as never, new faiss.IDSelectorRange(0, 1))],
    ['the base class', () => new (faiss.IDSelector as unknown as new (...a: unknown[]) => unknown)(Symbol('x'), { kind: 'batch', ids: new BigInt64Array(1) })],
  ];
  for (const [name, make] of bad) {
    it(`refuses ${name} with ERR_INVALID_ARGUMENT`, () => rejectsWith(make, 'ERR_INVALID_ARGUMENT'));
  }

  it('refuses a selector of more terms than the limit (XOr(s, s) nested: 2^n lookups per id)', async () => {
    let s: faiss.IDSelector = new faiss.IDSelectorRange(0, 10);
    for (let i = 0; i < 8; i++) s = new faiss.IDSelectorXOr(s, s); // 511 terms
    await rejectsWith(() => new faiss.IDSelectorXOr(s, s), 'ERR_INVALID_ARGUMENT', /at most 1000 terms/);
  });

  it('holds its own copy of the ids: changing the caller\'s array later changes nothing', async () => {
    const ids = BigInt64Array.from([1n, 2n]);
    const bits = Uint8Array.from([0b10]);
    const batch = new faiss.IDSelectorBatch(ids);
    const bitmap = new faiss.IDSelectorBitmap(bits);
    ids[0] = 7n;
    bits[0] = 0;
    assert.deepEqual(Array.from(batch.ids), [1n, 2n]);
    batch.ids[0] = 9n; // a copy
    assert.deepEqual(Array.from(batch.ids), [1n, 2n]);
    assert.deepEqual(Array.from(bitmap.bits), [0b10]);
    assert.ok(Object.isFrozen(batch));
    const index = new faiss.IndexFlatL2(d);
    await index.add(randomVectors(4, d));
    const r = await index.search(randomVectors(1, d, 2), 4, { sel: bitmap });
    assert.deepEqual(Array.from(r.labels), [1n, -1n, -1n, -1n]);
    index.dispose();
  });

  it('is a plain value: the module that defines it loads no native code', () => {
    const { execFileSync } = require('node:child_process') as typeof import('node:child_process');
    const path = require('node:path') as typeof import('node:path');
    const root = path.resolve(__dirname, '..', '..', '..');
    const out = execFileSync(
      process.execPath,
      ['-r', path.join(root, 'test', 'support', 'no-native.js'), '-e', `const s = require(${JSON.stringify(path.join(root, 'dist', 'lib', 'selectors'))}); const x = new s.IDSelectorAnd(new s.IDSelectorBatch([1, 2n]), new s.IDSelectorNot(new s.IDSelectorRange(0, 5))); console.log(x instanceof s.IDSelector)`],
      { encoding: 'utf8' },
    );
    assert.equal(out.trim(), 'true');
  });
});

describe('filtered search by index type', function () {
  this.timeout(120_000);
  const xb = randomVectors(500, d, 3);
  const xq = randomVectors(5, d, 4);
  const sel = new faiss.IDSelectorRange(100, 200);

  it('IndexPQ: ERR_UNSUPPORTED naming the type, never an unfiltered answer', async () => {
    const index = new faiss.IndexPQ(d, 4, 4);
    await index.train(xb);
    await index.add(xb);
    await rejectsWith(index.search(xq, 5, { sel }), 'ERR_UNSUPPORTED', /IndexPQ/);
    await rejectsWith(index.rangeSearch(xq, 1, { sel }), 'ERR_UNSUPPORTED', /IndexPQ/);
    index.dispose();
  });

  for (const factory of ['LSH', 'HNSW8,PQ4', 'HNSW8,SQ8', 'IVF8,Flat,RFlat', 'PCA4,IVF8,Flat']) {
    it(`${factory}: ERR_UNSUPPORTED, or filtered`, async () => {
      const index = faiss.indexFactory(d, factory);
      if (!index.isTrained) await index.train(xb);
      await index.add(xb);
      try {
        const r = await index.search(xq, 5, { sel });
        for (const l of r.labels) assert.ok(l === -1n || (l >= 100n && l < 200n), `${factory} answered ${l}`);
      } catch (e) {
        assert.ok(e instanceof faiss.FaissError && e.code === 'ERR_UNSUPPORTED', String(e));
        assert.match(e.message, /cannot filter with an IDSelector/);
      } finally {
        index.dispose();
      }
    });
  }

  it('rangeSearch of an HNSW index with a selector: ERR_UNSUPPORTED (1.7.3 has no HNSW range search)', async () => {
    const index = new faiss.IndexHNSWFlat(d, 8);
    await index.add(xb);
    await rejectsWith(index.rangeSearch(xq, 1, { sel }), 'ERR_UNSUPPORTED');
    index.dispose();
  });

  it('k past the selection gives -1 padding, as FAISS does', async () => {
    const index = new faiss.IndexFlatL2(d);
    await index.add(xb);
    const r = await index.search(xq, 8, { sel: new faiss.IDSelectorBatch([3, 4, 5]) });
    for (let q = 0; q < 5; q++) {
      const row = Array.from(r.labels.subarray(q * 8, q * 8 + 8));
      assert.deepEqual(row.slice(0, 3).sort(), [3n, 4n, 5n]);
      assert.deepEqual(row.slice(3), [-1n, -1n, -1n, -1n, -1n]);
      assert.equal(r.distances[q * 8 + 7], 3.4028234663852886e38);
    }
    index.dispose();
  });

  it('an empty selection, a selection of absent ids and a bitmap of no bytes find nothing', async () => {
    const index = new faiss.IndexHNSWFlat(d, 8);
    await index.add(xb);
    for (const s of [new faiss.IDSelectorRange(7, 7), new faiss.IDSelectorBatch([-3, 100000]), new faiss.IDSelectorBitmap(new Uint8Array(0)), new faiss.IDSelectorArray([])]) {
      const r = await index.search(xq, 3, { sel: s });
      assert.ok(r.labels.every((l) => l === -1n));
    }
    index.dispose();
  });

  it('a selector is reused across searches, indexes and concurrent calls', async () => {
    const flat = new faiss.IndexFlatL2(d);
    const hnsw = new faiss.IndexHNSWFlat(d, 8);
    await flat.add(xb);
    await hnsw.add(xb);
    const term: Term = { kind: 'and', a: { kind: 'range', min: 50, max: 450 }, b: { kind: 'not', sel: { kind: 'range', min: 100, max: 400 } } };
    const s = new faiss.IDSelectorAnd(new faiss.IDSelectorRange(50, 450), new faiss.IDSelectorNot(new faiss.IDSelectorRange(100, 400)));
    const exact = bruteForce(xb, Array.from({ length: 500 }, (_, i) => i), xq, d, 5, term, faiss.METRIC_L2);
    const answers = await Promise.all(
      Array.from({ length: 12 }, (_, i) => (i % 2 ? flat : hnsw).search(xq, 5, { sel: s, ...(i % 2 ? {} : { efSearch: 16 + i }) })),
    );
    for (const r of answers) {
      for (const l of r.labels) assert.ok((l >= 50n && l < 100n) || (l >= 400n && l < 450n));
    }
    assert.equal(sameKnn({ labels: Array.from(answers[1].labels, Number), distances: answers[1].distances }, exact, 5), null);
    flat.dispose();
    hnsw.dispose();
  });

  it('a selector outlives its last JS reference while a search that uses it runs', async () => {
    const index = new faiss.IndexFlatL2(d);
    await index.add(xb);
    const pending = Array.from({ length: 20 }, () => index.search(xq, 5, { sel: new faiss.IDSelectorBatch(Array.from({ length: 300 }, (_, i) => i)) }));
    (globalThis as { gc?: () => void }).gc?.();
    for (const r of await Promise.all(pending)) assert.ok(r.labels.every((l) => l >= 0n && l < 300n));
    index.dispose();
  });

  it('params.sel that is not a selector: ERR_INVALID_ARGUMENT', async () => {
    const index = new faiss.IndexFlatL2(d);
    await index.add(xb);
    await rejectsWith(index.search(xq, 5, { sel: [1, 2] as never }), 'ERR_INVALID_ARGUMENT', /params\.sel/);
    await rejectsWith(index.search(xq, 5, { sel: {} as never }), 'ERR_INVALID_ARGUMENT');
    await rejectsWith(index.rangeSearch(xq, 1, { sel: null as never }), 'ERR_INVALID_ARGUMENT');
    index.dispose();
  });
});

describe('filtered search at low selectivity', function () {
  this.timeout(120_000);

  it('a filter that keeps 1% of an HNSW index still returns k results, the exact ones', async () => {
    const n = 20_000;
    const dd = 16;
    const xb = randomVectors(n, dd, 21);
    const xq = randomVectors(30, dd, 22);
    const index = new faiss.IndexHNSWFlat(dd, 16);
    await index.add(xb);
    const kept = Array.from({ length: n / 100 }, (_, i) => i * 100 + 37);
    const term: Term = { kind: 'batch', ids: kept };
    for (const k of [10, 50]) {
      const r = await index.search(xq, k, { sel: new faiss.IDSelectorBatch(kept), efSearch: 16 });
      assert.ok(r.labels.every((l) => l >= 0n && Number(l) % 100 === 37), `k=${k}: every one of the k results exists and is selected`);
      const exact = bruteForce(xb, Array.from({ length: n }, (_, i) => i), xq, dd, k, term, faiss.METRIC_L2);
      assert.equal(sameKnn({ labels: Array.from(r.labels, Number), distances: r.distances }, exact, k), null);
    }
    index.dispose();
  });

  it('an IVFFlat index whose probed lists hold fewer than k selected vectors answers from every list, exactly', async () => {
    const n = 5000;
    const xb = randomVectors(n, d, 41);
    const xq = randomVectors(20, d, 42);
    const index = new faiss.IndexIVFFlat(new faiss.IndexFlatL2(d), d, 64);
    await index.train(xb);
    await index.add(xb);
    const kept = Array.from({ length: 50 }, (_, i) => i * 100 + 1);
    const term: Term = { kind: 'array', ids: kept };
    const r = await index.search(xq, 10, { sel: new faiss.IDSelectorArray(kept), nprobe: 2 });
    const exact = bruteForce(xb, Array.from({ length: n }, (_, i) => i), xq, d, 10, term, faiss.METRIC_L2);
    assert.equal(sameKnn({ labels: Array.from(r.labels, Number), distances: r.distances }, exact, 10), null);
    index.dispose();
  });

  it('an IVF index behind a PCA (IndexPreTransform) completes its short answers too', async () => {
    const n = 4000;
    const xb = randomVectors(n, d, 51);
    const xq = randomVectors(10, d, 52);
    const index = faiss.indexFactory(d, 'PCA8,IVF32,Flat');
    await index.train(xb);
    await index.add(xb);
    const kept = Array.from({ length: 40 }, (_, i) => i * 100 + 7);
    const r = await index.search(xq, 10, { sel: new faiss.IDSelectorArray(kept), nprobe: 1 });
    assert.ok(r.labels.every((l) => l >= 0n && Number(l) % 100 === 7), 'k results, all selected');
    index.dispose();
  });

  it('an inner-product HNSW index under IndexIDMap2 completes with similarities, largest first', async () => {
    const n = 5000;
    const xb = randomVectors(n, d, 31);
    const xq = randomVectors(10, d, 32);
    const ids = Array.from({ length: n }, (_, i) => 10 * i + 3);
    const index = new faiss.IndexIDMap2(new faiss.IndexHNSWFlat(d, 16, faiss.METRIC_INNER_PRODUCT));
    await index.addWithIds(xb, ids);
    const term: Term = { kind: 'range', min: 3, max: 503 }; // 50 of 5000 ids
    const r = await index.search(xq, 10, { sel: new faiss.IDSelectorRange(3, 503) });
    const exact = bruteForce(xb, ids, xq, d, 10, term, faiss.METRIC_INNER_PRODUCT);
    assert.equal(sameKnn({ labels: Array.from(r.labels, Number), distances: r.distances }, exact, 10), null);
    index.dispose();
  });
});

describe('removeIds(selector)', function () {
  this.timeout(120_000);
  const xb = randomVectors(400, d, 5);
  const makers: [string, () => Promise<faiss.Index>, number[]][] = [
    ['IndexFlatL2', async () => new faiss.IndexFlatL2(d), []],
    ['IndexIDMap2(Flat)', async () => new faiss.IndexIDMap2(new faiss.IndexFlatL2(d)), Array.from({ length: 400 }, (_, i) => 5 * i)],
    ['IndexIVFFlat with a hashtable direct map', async () => {
      const index = new faiss.IndexIVFFlat(new faiss.IndexFlatL2(d), d, 4);
      await index.train(xb);
      await index.makeDirectMap('hashtable');
      return index;
    }, Array.from({ length: 400 }, (_, i) => 3 * i + 1)],
    ['IndexScalarQuantizer', async () => {
      const index = new faiss.IndexScalarQuantizer(d, faiss.ScalarQuantizer.QT_8bit);
      await index.train(xb);
      return index;
    }, []],
  ];
  for (const [name, make, ids] of makers) {
    for (const [what, sel, test] of [
      ['a range', () => new faiss.IDSelectorRange(30, 300), (id: number) => id >= 30 && id < 300],
      ['Not(Batch)', () => new faiss.IDSelectorNot(new faiss.IDSelectorBatch([1, 4, 10, 16, 301])), (id: number) => ![1, 4, 10, 16, 301].includes(id)],
      ['an Array', () => new faiss.IDSelectorArray([1, 4, 10, 16, 301, 77777]), (id: number) => [1, 4, 10, 16, 301].includes(id)],
    ] as [string, () => faiss.IDSelector, (id: number) => boolean][]) {
      it(`${name}: removes exactly what ${what} selects`, async () => {
        const index = await make();
        const stored = ids.length ? ids : Array.from({ length: 400 }, (_, i) => i);
        if (ids.length) await index.addWithIds(xb, ids);
        else await index.add(xb);
        const before = ids.length ? undefined : await index.reconstructN(0, 400);
        const removed = await index.removeIds(sel());
        const expected = stored.filter(test);
        assert.equal(removed, expected.length);
        assert.equal(index.ntotal, 400 - expected.length);
        if (before) {
          // FAISS renumbers what is left, in order: the kept vectors, and only them.
          const kept = stored.filter((id) => !test(id));
          const want = new Float32Array(kept.length * d);
          kept.forEach((id, i) => want.set(before.subarray(id * d, (id + 1) * d), i * d));
          assert.deepEqual(await index.reconstructN(0, kept.length), want);
        } else {
          const r = await index.search(xb, 1, index.nprobe === undefined ? {} : { nprobe: 4 });
          const left = new Set(stored.filter((id) => !test(id)));
          for (const l of r.labels) assert.ok(l === -1n || left.has(Number(l)), `${l} should have been removed`);
          assert.equal(new Set(r.labels).size, left.size, 'every kept vector is still found');
        }
        index.dispose();
      });
    }
  }

  it('HNSW: ERR_UNSUPPORTED (FAISS cannot remove from a graph)', async () => {
    const index = new faiss.IndexHNSWFlat(d, 8);
    await index.add(xb);
    await rejectsWith(index.removeIds(new faiss.IDSelectorRange(0, 10)), 'ERR_UNSUPPORTED');
    index.dispose();
  });

  it('removeIds of something that is neither ids nor a selector: ERR_INVALID_ARGUMENT', async () => {
    const index = new faiss.IndexFlatL2(d);
    await rejectsWith(index.removeIds({} as never), 'ERR_INVALID_ARGUMENT');
    index.dispose();
  });
});

// mergeFrom checks that the two indexes are compatible before FAISS moves a single
// vector: FAISS 1.7.3 crashes on some pairs (IndexIDMap2 from IndexIDMap), leaves
// others broken (IndexIDMap from IndexIDMap2: the emptied index still maps its old
// ids) and silently mixes codes made differently (another metric, other
// codebooks). Each case runs in a process of its own (test/support/crash-case.ts).
import { strict as assert } from 'node:assert';
import { brokenPromise, runCase } from '../support/crash-case';

// In scope: rows(n, seed) of d = 8, and trained(make, seed), an index trained on 2000 rows.
const prelude = `
  const d = 8;
  const rows = (n, seed) => { let s = seed; return new Float32Array(n * d).map(() => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648)); };
  const trained = async (make, seed) => { const index = make(); await index.train(rows(2000, seed)); return index; };
  const ids = (n, from) => new BigInt64Array(n).map((_, i) => BigInt(from + i));
`;

interface Case {
  name: string;
  body: string;
  code: string;
}

const incompatible: Case[] = [
  {
    name: 'IndexIDMap2 from an IndexIDMap, then a search (FAISS casts one to the other)',
    body: `
      const a = new faiss.IndexIDMap2(new faiss.IndexFlatL2(d));
      const b = new faiss.IndexIDMap(new faiss.IndexFlatL2(d));
      await a.addWithIds(rows(500, 1), ids(500, 0));
      await b.addWithIds(rows(500, 2), ids(500, 1000));
      await a.mergeFrom(b);
      await a.search(rows(50, 3), 5);
      return a.ntotal;`,
    code: 'ERR_INVALID_ARGUMENT',
  },
  {
    name: 'IndexIDMap from an IndexIDMap2 (the emptied IDMap2 would still map its ids)',
    body: `
      const a = new faiss.IndexIDMap(new faiss.IndexFlatL2(d));
      const b = new faiss.IndexIDMap2(new faiss.IndexFlatL2(d));
      await b.addWithIds(rows(500, 2), ids(500, 1000));
      await a.mergeFrom(b);
      return b.ntotal;`,
    code: 'ERR_INVALID_ARGUMENT',
  },
  {
    name: 'IndexFlatL2 from an IndexFlatIP (another metric)',
    body: `
      const a = new faiss.IndexFlatL2(d);
      const b = new faiss.IndexFlatIP(d);
      await b.add(rows(100, 2));
      await a.mergeFrom(b);
      return a.ntotal;`,
    code: 'ERR_INVALID_ARGUMENT',
  },
  {
    name: 'IndexIDMap of an L2 flat from an IndexIDMap of an IP flat',
    body: `
      const a = new faiss.IndexIDMap(new faiss.IndexFlatL2(d));
      const b = new faiss.IndexIDMap(new faiss.IndexFlatIP(d));
      await b.addWithIds(rows(100, 2), ids(100, 0));
      await a.mergeFrom(b);
      return a.ntotal;`,
    code: 'ERR_INVALID_ARGUMENT',
  },
  {
    name: 'IndexPQ from an IndexPQ trained on other data (other codebooks)',
    body: `
      const a = await trained(() => new faiss.IndexPQ(d, 2, 4), 1);
      const b = await trained(() => new faiss.IndexPQ(d, 2, 4), 2);
      await b.add(rows(100, 3));
      await a.mergeFrom(b);
      return a.ntotal;`,
    code: 'ERR_INVALID_ARGUMENT',
  },
  {
    name: 'IndexScalarQuantizer from one trained on other data',
    body: `
      const a = await trained(() => new faiss.IndexScalarQuantizer(d, faiss.ScalarQuantizer.QT_8bit), 1);
      const b = await trained(() => new faiss.IndexScalarQuantizer(d, faiss.ScalarQuantizer.QT_8bit), 2);
      await b.add(rows(100, 3));
      await a.mergeFrom(b);
      return a.ntotal;`,
    code: 'ERR_INVALID_ARGUMENT',
  },
  {
    name: 'IVF-PQ from one with the same quantizer but other PQ codebooks',
    body: `
      const q = new faiss.IndexFlatL2(d);
      await q.add(rows(4, 9)); // 4 centroids: training leaves this quantizer as it is
      const make = () => new faiss.IndexIVFPQ(q, d, 4, 2, 4);
      const a = await trained(make, 1);
      const b = await trained(make, 2);
      await b.add(rows(100, 3));
      await a.mergeFrom(b);
      return a.ntotal;`,
    code: 'ERR_INVALID_ARGUMENT',
  },
  {
    name: 'a trained IndexPQ from an untrained one',
    body: `
      const a = await trained(() => new faiss.IndexPQ(d, 2, 4), 1);
      const b = new faiss.IndexPQ(d, 2, 4);
      await a.mergeFrom(b);
      return a.ntotal;`,
    code: 'ERR_INVALID_ARGUMENT',
  },
  {
    name: 'PCA pre-transforms trained on other data',
    body: `
      const a = await trained(() => faiss.indexFactory(d, 'PCA4,Flat'), 1);
      const b = await trained(() => faiss.indexFactory(d, 'PCA4,Flat'), 2);
      await b.add(rows(100, 3));
      await a.mergeFrom(b);
      return a.ntotal;`,
    code: 'ERR_INVALID_ARGUMENT',
  },
];

describe('native: mergeFrom checks that the two indexes are compatible', function () {
  this.timeout(60_000);

  for (const c of incompatible) {
    it(`refuses ${c.name}`, async () => {
      const o = await runCase(prelude + c.body);
      assert.equal(brokenPromise(o), undefined, brokenPromise(o));
      assert.equal(o.status, 'error', `expected ${c.code}, got the value ${JSON.stringify(o.value)}`);
      assert.equal(o.code, c.code, o.message);
    });
  }

  it('still merges compatible indexes, and leaves the other one empty and sound', async () => {
    const o = await runCase(`${prelude}
      const make = () => faiss.indexFactory(d, 'IVF4,PQ2x4');
      const a = await trained(make, 1);
      const b = await faiss.deserializeIndex(await faiss.serializeIndex(a));
      await a.add(rows(100, 2));
      await b.add(rows(100, 3));
      const m2a = new faiss.IndexIDMap2(new faiss.IndexFlatL2(d));
      const m2b = new faiss.IndexIDMap2(new faiss.IndexFlatL2(d));
      const xb = rows(10, 4);
      await m2a.addWithIds(rows(10, 5), ids(10, 0));
      await m2b.addWithIds(xb, ids(10, 100));
      await a.mergeFrom(b);
      await m2a.mergeFrom(m2b);
      const back = await m2a.reconstruct(103n);
      const gone = await m2b.reconstruct(103n).then(() => 'found', (e) => e.code);
      return [a.ntotal, b.ntotal, m2a.ntotal, m2b.ntotal, back.every((v, i) => v === xb[3 * d + i]), gone];`);
    assert.equal(brokenPromise(o), undefined, brokenPromise(o));
    assert.deepEqual(o.value, [200, 0, 20, 0, true, 'ERR_NOT_FOUND']);
  });
});

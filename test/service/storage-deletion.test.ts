// Deletion works for every index type: removed ids never come back from search or
// range search from the moment the removal is acknowledged, ntotal counts live
// vectors only, and past a threshold the index is rebuilt without them (ids kept).
import { strict as assert } from 'node:assert';
import { randomVectors, row } from '../support/data';
import { openTestServices, type TestServices } from '../support/services';

const d = 8;
const n = 600;
const xb = randomVectors(n, d, 301);

interface Kind {
  name: string;
  spec: Record<string, unknown>;
  range: boolean;
  ids?: boolean;
}

const kinds: Kind[] = [
  { name: 'IndexHNSWFlat (cannot remove in FAISS)', spec: { type: 'IndexHNSWFlat', params: { M: 8, efSearch: 64 } }, range: false },
  { name: 'IDMap2 over HNSW (cannot remove in FAISS)', spec: { factory: 'IDMap2,HNSW8' }, range: false, ids: true },
  { name: 'IndexFlatL2', spec: { type: 'IndexFlatL2', params: { idMap: true } }, range: true, ids: true },
  { name: 'IndexIVFFlat', spec: { type: 'IndexIVFFlat', params: { nlist: 4, nprobe: 4 } }, range: true },
  { name: 'IndexPQ', spec: { type: 'IndexPQ', params: { m: 4, nbits: 4 } }, range: false },
  { name: 'IndexScalarQuantizer', spec: { type: 'IndexScalarQuantizer' }, range: false },
];

describe('storage: deletion for every index type', function () {
  this.timeout(120_000);
  let s: TestServices;

  beforeEach(async () => {
    s = await openTestServices({ rebuildThreshold: 0.2 });
  });
  afterEach(async () => s.cleanup());

  for (const kind of kinds) {
    it(`${kind.name}: removed ids are gone from search, range search and ntotal; a rebuild keeps the rest and their ids`, async () => {
      const { indexes } = s;
      await indexes.create('t', { name: 'x', dimension: d, ...kind.spec });
      const info = await indexes.describe('t', 'x');
      if (!info.isTrained) await indexes.train('t', 'x', xb);
      const ids = kind.ids ? BigInt64Array.from({ length: n }, (_, i) => BigInt(1000 + i)) : undefined;
      const idOf = (i: number) => (ids ? ids[i] : BigInt(i));
      await indexes.add('t', 'x', xb, ids);

      // Below the rebuild threshold: hidden, not rebuilt.
      const gone = [3, 4, 5, 50].map(idOf);
      assert.equal((await indexes.remove('t', 'x', BigInt64Array.from([...gone, 99999n]))).removed, 4);
      const check = async (removed: bigint[]) => {
        assert.equal((await indexes.describe('t', 'x')).ntotal, n - removed.length);
        for (const id of removed.slice(0, 20)) {
          const i = Number(ids ? id - 1000n : id);
          const r = await indexes.search('t', 'x', row(xb, d, i), 10);
          assert.ok(!Array.from(r.labels).includes(id), `removed ${id} returned by search`);
          assert.equal(r.labels.filter((l) => l >= 0n).length, 10, 'k results still come back');
          if (kind.range) {
            const rr = await indexes.rangeSearch('t', 'x', row(xb, d, i), 1e9);
            assert.ok(!Array.from(rr.labels).includes(id), `removed ${id} returned by range search`);
            assert.equal(rr.labels.length, n - removed.length);
          }
        }
      };
      await check(gone);

      // Past the threshold (20%): the remove rebuilds the index before it answers.
      const many = Array.from({ length: 150 }, (_, i) => idOf(100 + i));
      await indexes.remove('t', 'x', BigInt64Array.from(many));
      const removed = [...gone, ...many];
      await check(removed);
      await s.indexes.snapshotAll(); // saves the rebuilt index
      await check(removed);
      // A survivor still has its id.
      const survivor = 400;
      const hit = await indexes.search('t', 'x', row(xb, d, survivor), 1);
      assert.equal(hit.labels[0], idOf(survivor));
      // Adds after a rebuild continue the ids as FAISS would have given them.
      if (!kind.ids) {
        const fresh = randomVectors(1, d, 999);
        assert.equal((await indexes.add('t', 'x', fresh)).firstId, n, 'the new vector gets the next id');
        assert.equal((await indexes.search('t', 'x', fresh, 1)).labels[0], BigInt(n));
      }

      // And all of it survives a restart.
      const expected = (await indexes.describe('t', 'x')).ntotal;
      s = await s.reopen();
      assert.equal((await s.indexes.describe('t', 'x')).ntotal, expected);
      const r = await s.indexes.search('t', 'x', row(xb, d, 4), 10);
      assert.ok(!Array.from(r.labels).includes(idOf(4)));
    });
  }
});

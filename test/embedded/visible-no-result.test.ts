// A search with nothing to answer, through the id policy (lib/id-policy.ts
// searchVisible: the service's indexes and the collections). FAISS 1.7.3's k = 1
// L2 search over flat vectors answers +inf and label 0 for a query no row is
// selected for (python3-faiss below), label 0 being a row nobody asked for: a
// deleted one, or one a filter excluded (under an IDMap, its first id). Its heap
// (k > 1, inner product) answers label -1 at the worst distance. The visible
// answer is the heap's for every k: an index whose ids are all hidden answers as
// the same index rebuilt without them (a replica answers the same whether it
// rebuilt yet or not: test/cluster/replicas), and never a hidden id.
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import * as faiss from '../../lib';
import { emptyIdState, rebuiltWithoutDeleted, removeIds, searchVisible } from '../../lib/id-policy';
import type { SearchResult } from '../../lib/types';
import { PYTHON } from '../support/oracle';

const D = 8;
const N = 40;
const FLT_MAX = 3.4028234663852886e38;
const rows = Float32Array.from({ length: N * D }, (_, i) => ((i * 7919) % 101) / 101);
const queries = Float32Array.from({ length: 3 * D }, (_, i) => ((i * 31) % 17) / 17);

async function filled(factory: string, metric: faiss.MetricType): Promise<faiss.Index> {
  const index = faiss.indexFactory(D, factory, metric);
  if (factory.startsWith('IDMap')) await index.addWithIds(rows, BigInt64Array.from({ length: N }, (_, i) => BigInt(100 + i)));
  else await index.add(rows);
  return index;
}

const plain = (r: { distances: Float32Array; labels: BigInt64Array }) => ({ distances: Array.from(r.distances), labels: Array.from(r.labels, Number) });

describe('embedded: a search with no row to answer, through the id policy', () => {
  for (const factory of ['Flat', 'IDMap2,Flat']) {
    for (const [metricName, metric] of [
      ['L2', faiss.METRIC_L2],
      ['IP', faiss.METRIC_INNER_PRODUCT],
    ] as const) {
      const worst = metric === faiss.METRIC_L2 ? FLT_MAX : -FLT_MAX;
      it(`${factory} ${metricName}: every id hidden answers as the index rebuilt without them (label -1, the worst distance) at k = 1 and 3`, async () => {
        const index = await filled(factory, metric);
        const ids = emptyIdState();
        const all = factory === 'Flat' ? BigInt64Array.from({ length: N }, (_, i) => BigInt(i)) : BigInt64Array.from({ length: N }, (_, i) => BigInt(100 + i));
        await removeIds(index, ids, all);
        assert.equal(ids.deleted.size, factory === 'Flat' ? N : 0, 'a positional index hides, an IDMap removes');
        const rebuilt = ids.deleted.size > 0 ? await rebuiltWithoutDeleted(index, { ...ids, deleted: new Set(ids.deleted) }) : index;
        assert.equal(rebuilt.ntotal, 0);
        for (const k of [1, 3]) {
          const hidden = plain((await searchVisible(index, ids, queries, k)) as SearchResult);
          const removed = plain((await searchVisible(rebuilt, emptyIdState(), queries, k)) as SearchResult);
          assert.deepEqual(hidden, removed, `k=${k}`);
          assert.deepEqual(hidden, { distances: Array(3 * k).fill(worst), labels: Array(3 * k).fill(-1) }, `k=${k}`);
        }
      });

      it(`${factory} ${metricName}: a filter that selects none answers label -1 at the worst distance at k = 1 and 3`, async () => {
        const index = await filled(factory, metric);
        for (const sel of [new faiss.IDSelectorBatch(BigInt64Array.of(5000n)), new faiss.IDSelectorRange(1000n, 2000n)]) {
          for (const k of [1, 3]) {
            const r = plain((await searchVisible(index, emptyIdState(), queries, k, { sel })) as SearchResult);
            assert.deepEqual(r, { distances: Array(3 * k).fill(worst), labels: Array(3 * k).fill(-1) }, `${sel.constructor.name} k=${k}`);
          }
        }
      });
    }
  }

  it('embedded IDMap L2, k = 1: a selector that selects no stored id answers label -1 at FLT_MAX, never the first id (FAISS 1.7.3 refuses search parameters on an IDMap)', async () => {
    for (const factory of ['IDMap,Flat', 'IDMap2,Flat', 'IDMap2,HNSW8', 'IDMap2,IVF2,Flat']) {
      const index = faiss.indexFactory(D, factory, faiss.METRIC_L2);
      if (factory.includes('IVF')) await index.train(rows);
      await index.addWithIds(rows, BigInt64Array.from({ length: N }, (_, i) => BigInt(100 + i)));
      for (const sel of [new faiss.IDSelectorBatch(BigInt64Array.of(5000n)), new faiss.IDSelectorRange(1000n, 2000n), new faiss.IDSelectorNot(new faiss.IDSelectorRange(0n, 1000n))]) {
        const r = plain(await index.search(queries, 1, { sel }));
        assert.deepEqual(r, { distances: Array(3).fill(FLT_MAX), labels: Array(3).fill(-1) }, `${factory} ${sel.constructor.name}`);
      }
      // One selected id: that id at k = 1, the rest of k = 3 filled.
      const one = plain(await index.search(queries, 3, { sel: new faiss.IDSelectorBatch(BigInt64Array.of(107n)) }));
      for (let q = 0; q < 3; q++) {
        assert.deepEqual(one.labels.slice(3 * q, 3 * q + 3), [107, -1, -1], factory);
        assert.ok(one.distances[3 * q] < FLT_MAX);
      }
    }
  });

  it('some ids hidden: the answers are those of the index rebuilt without them, with no hidden id (flat L2, k = 1 and 5)', async () => {
    const index = await filled('Flat', faiss.METRIC_L2);
    const ids = emptyIdState();
    await removeIds(index, ids, BigInt64Array.from({ length: N / 2 }, (_, i) => BigInt(2 * i)));
    const rebuilt = await rebuiltWithoutDeleted(index, { ...ids, deleted: new Set(ids.deleted) });
    for (const k of [1, 5]) {
      const hidden = plain((await searchVisible(index, ids, queries, k)) as SearchResult);
      assert.deepEqual(hidden, plain((await searchVisible(rebuilt, emptyIdState(), queries, k)) as SearchResult));
      assert.ok(hidden.labels.every((l) => l % 2 === 1));
    }
  });

  it("python3-faiss: k = 1 L2 over flat vectors answers +inf, label 0 when no row is selected (the case above); k = 3 and inner product answer -1 at the worst distance, as the id policy does", () => {
    const script = `
import faiss, numpy as np
xb = np.array([[((i * ${D} + j) * 7919 % 101) / 101 for j in range(${D})] for i in range(${N})], dtype='float32')
q = np.array([[((i * ${D} + j) * 31 % 17) / 17 for j in range(${D})] for i in range(3)], dtype='float32')
out = []
for metric in (faiss.METRIC_L2, faiss.METRIC_INNER_PRODUCT):
    for k in (1, 3):
        ix = faiss.IndexFlat(${D}, metric); ix.add(xb)
        ix.remove_ids(np.arange(${N}, dtype='int64'))
        D, I = ix.search(q, k)
        out.append([D.ravel().tolist(), I.ravel().tolist()])
        ix = faiss.IndexFlat(${D}, metric); ix.add(xb)
        p = faiss.SearchParameters(); sel = faiss.IDSelectorBatch(1, faiss.swig_ptr(np.array([5000], dtype='int64'))); p.sel = sel
        D, I = ix.search(q, k, params=p)
        out.append([D.ravel().tolist(), I.ravel().tolist()])
print(repr(out))
`;
    const text = execFileSync(PYTHON, ['-c', script], { encoding: 'utf8', timeout: 60_000 }).trim();
    const out = JSON.parse(text.replace(/inf/g, '"inf"')) as [(number | string)[], number[]][];
    const [l2k1Removed, l2k1Filtered, l2k3Removed, l2k3Filtered, ipk1Removed, ipk1Filtered, ipk3Removed, ipk3Filtered] = out;
    for (const r of [l2k1Removed, l2k1Filtered]) assert.deepEqual(r, [Array(3).fill('inf'), Array(3).fill(0)], "FAISS's SingleBestResultHandler");
    for (const r of [l2k3Removed, l2k3Filtered]) assert.deepEqual(r, [Array(9).fill(FLT_MAX), Array(9).fill(-1)]);
    for (const r of [ipk1Removed, ipk1Filtered]) assert.deepEqual(r, [Array(3).fill(-FLT_MAX), Array(3).fill(-1)]);
    for (const r of [ipk3Removed, ipk3Filtered]) assert.deepEqual(r, [Array(9).fill(-FLT_MAX), Array(9).fill(-1)]);
  });
});

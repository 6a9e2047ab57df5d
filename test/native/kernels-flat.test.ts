// The flat scan kernel (native/kernels/flat_scan.h): fewer than 20 queries on a
// flat index split across the cores by stored vectors. Its answers must be FAISS's
// own, bit for bit: the same labels in the same order and the same float
// distances, ties included, against FAISS's own code in this process (the switch
// off) and against python3-faiss on an index file written here (Debian's generic
// build, whose distances may differ from our AVX-512 build's in the last bits, so
// that near-ties may come in another order: there each label is python's at that
// rank, or one python gives at a distance within 1e-5). setNumThreads(8)
// splits the larger indexes into up to 8 blocks, so the merge of the blocks'
// candidates is what is tested; the smaller ones run in one block. Each search
// also checks, by kernelStats, that the kernel answered it (or counted why not).
import { strict as assert } from 'node:assert';
import * as faiss from '../../lib';
import {
  assertAsPython,
  assertConcurrentSame,
  assertIdMapsSame,
  assertSame,
  newFlat,
  type Pattern,
  type PythonCase,
  queries,
  searchWith as searchWithKernels,
  vectors,
} from '../support/flat-answers';
import { expectKernel } from '../support/kernel-stats';

/**
 * The search with the switch on or off. On, the kernel must answer (kernelStats)
 * each search of 1 to 19 queries with k < 100, and count one of k >= 100 as left
 * to FAISS; off, it does nothing.
 */
function searchWith(index: faiss.Index, x: Float32Array, k: number, flatScan: boolean): Promise<faiss.SearchResult> {
  const nq = x.length / index.d;
  const its = flatScan && nq < 20;
  const expected = { searches: its && k < 100 ? 1 : 0, fallbacks: { largeK: its && k >= 100 ? 1 : 0 } };
  return expectKernel('flatScan', expected, () => searchWithKernels(index, x, k, { flatScan }), `switch ${flatScan ? 'on' : 'off'}, nq ${nq} k ${k}`);
}

describe('flat scan kernel (own search kernels)', function () {
  this.timeout(120_000);

  before(() => faiss.setNumThreads(8));
  after(() => {
    faiss.setNumThreads(0);
    faiss.setKernels({ flatScan: true });
  });

  describe('identical to FAISS (switch off) in this process', () => {
    // [pattern, n, d]: the larger ones hold 4 MB or more, which splits them.
    const datasets: [Pattern, number, number][] = [
      ['uniform', 3000, 37],
      ['clustered', 40_000, 128],
      ['levels', 300_000, 4],
      ['lateWinners', 600_000, 3],
      ['uniform', 70_000, 17],
      ['clustered', 200, 8],
      ['levels', 1500, 1],
    ];
    for (const [pattern, n, d] of datasets) {
      for (const [metric, cls] of [
        [faiss.METRIC_L2, 'IndexFlatL2'],
        [faiss.METRIC_INNER_PRODUCT, 'IndexFlatIP'],
        [faiss.METRIC_L2, 'factory'],
        [faiss.METRIC_INNER_PRODUCT, 'factory'],
      ] as const) {
        it(`${cls} ${metric === faiss.METRIC_L2 ? 'L2' : 'IP'}, ${pattern} ${n} x ${d}`, async () => {
          const index = newFlat(metric, d, cls);
          await index.add(vectors(pattern, n, d, n + d));
          for (const [nq, k] of [[1, 1], [1, 10], [3, 2], [19, 50], [7, 99], [2, 100], [20, 10], [1, n + 5]]) {
            if (k > 1024 * 1024) continue;
            const x = queries(pattern, nq, d, 7 * nq + k);
            assertSame(await searchWith(index, x, k, true), await searchWith(index, x, k, false), `nq ${nq} k ${k}`);
          }
          index.dispose();
        });
      }
    }

    it('IDMap and IDMap2 over a flat index translate the same labels', async () => {
      await assertIdMapsSame(100_000, [[1, 1], [4, 30], [1, 99]], searchWith);
    });

    it('concurrent one-query searches each give their own answer', async () => {
      const d = 64;
      const index = new faiss.IndexFlatL2(d);
      await index.add(vectors('clustered', 50_000, d, 3));
      await assertConcurrentSame('flatScan', index, Array.from({ length: 12 }, (_, i) => queries('clustered', 1, d, 100 + i)), searchWith);
      index.dispose();
    });
  });

  describe('left to FAISS, and counted as such', () => {
    it('an IndexFlat of another metric (L1): the flatScan fallback for 1..19 queries, flatBatch\'s for more', async () => {
      const index = new faiss.IndexFlat(8, faiss.METRIC_L1);
      await index.add(vectors('uniform', 5000, 8, 1));
      await expectKernel('flatScan', { searches: 0, fallbacks: { metric: 1 } }, () => index.search(queries('uniform', 3, 8, 2), 5), 'L1, 3 queries');
      await expectKernel('flatBatch', { searches: 0, fallbacks: { metric: 1 } }, () => index.search(queries('uniform', 20, 8, 3), 5), 'L1, 20 queries');
      index.dispose();
    });
  });

  describe('bad calls are still coded errors', () => {
    it('k = 0, a wrong query length, NaN in a query', async () => {
      const index = new faiss.IndexFlatL2(4);
      await index.add(vectors('uniform', 5000, 4, 1));
      const code = (c: string) => (e: unknown) => faiss.isFaissError(e) && e.code === c;
      await assert.rejects(index.search(new Float32Array(4), 0), code('ERR_INVALID_ARGUMENT'));
      await assert.rejects(index.search(new Float32Array(5), 1), code('ERR_DIMENSION'));
      await assert.rejects(index.search(Float32Array.of(0, NaN, 0, 0), 1), code('ERR_INVALID_ARGUMENT'));
      index.dispose();
    });
  });

  describe('identical to python3-faiss (the oracle) on an index file written here', () => {
    it('L2 and IP, IDMap, 1..19 queries, k = 1 .. 99 and k > ntotal, ties', async () => {
      // Small integers: every distance exact in any order of the sum, so each build
      // gives the same floats and the ties must come out as python's, label for label.
      const builds: PythonCase[] = [
        ['l2', () => new faiss.IndexFlatL2(32), 'clustered', 50_000, 32],
        ['ip', () => new faiss.IndexFlatIP(32), 'clustered', 50_000, 32],
        ['l2-ties', () => new faiss.IndexFlatL2(5), 'levels', 300_000, 5],
        ['ip-ties', () => new faiss.IndexFlatIP(3), 'lateWinners', 600_000, 3],
        ['idmap-ip', () => new faiss.IndexIDMap(new faiss.IndexFlatIP(6)), 'levels', 200_000, 6],
        ['small-l2', () => new faiss.IndexFlatL2(7), 'uniform', 40, 7],
      ];
      const batches: [number, number][] = [[1, 1], [1, 10], [19, 99], [5, 45]];
      await assertAsPython(builds, batches, (index, q, k, what) => expectKernel('flatScan', { searches: 1 }, () => index.search(q, k), what));
    });
  });
});

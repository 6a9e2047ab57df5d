// The flat batch kernel (native/kernels/flat_batch.h): 20 or more queries on a
// flat index in one pass, products in registers. Its answers must be what FAISS
// answers for the same batch (its BLAS path), bit for bit: the same labels in the
// same order and the same float distances, ties included, against FAISS's own
// code in this process (the switch off). Against python3-faiss (Debian's generic
// build: the same OpenBLAS products, but norms summed in another order, and no
// AVX2 override for k = 1) on an index file written here: identical where every
// distance is exact (small integers), and otherwise python's answer up to
// near-ties. The kernel takes indexes of at least one block of FAISS's BLAS path
// (4,096 stored vectors), and smaller ones for one nearest neighbour by L2 (k = 1,
// the queries split); setNumThreads(8) splits the larger ones into several
// shares, so that the merge of the shares' candidates is what is tested. Each
// search also checks, by kernelStats, that the kernel answered it, or the reason
// it left it to FAISS (a small index, the probe of d = 330, an overflow).
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
 * The search with the switch on or off, and what the kernel must have done
 * (kernelStats): by default, with the switch on, answer each batch of 20 or more
 * queries with k < 100 and count one with k >= 100 as left to FAISS; off, nothing.
 * The cases it must leave to FAISS say why (`fallback`).
 */
function searchWith(index: faiss.Index, x: Float32Array, k: number, flatBatch: boolean, fallback?: 'indexSize' | 'probeFailed' | 'overflow'): Promise<faiss.SearchResult> {
  const nq = x.length / index.d;
  const its = flatBatch && nq >= 20;
  const expected =
    its && fallback !== undefined
      ? { searches: 0, fallbacks: { [fallback]: 1 } }
      : { searches: its && k < 100 ? 1 : 0, fallbacks: { largeK: its && k >= 100 ? 1 : 0 } };
  return expectKernel('flatBatch', expected, () => searchWithKernels(index, x, k, { flatBatch }), `switch ${flatBatch ? 'on' : 'off'}, nq ${nq} k ${k}`);
}

/** Kernel on against FAISS (off), for each [queries, k]. */
async function assertSameBatches(index: faiss.Index, pattern: Pattern, d: number, batches: [number, number][], what: string, fallback?: 'probeFailed'): Promise<void> {
  for (const [nq, k] of batches) {
    const x = queries(pattern, nq, d, 7 * nq + k);
    assertSame(await searchWith(index, x, k, true, fallback), await searchWith(index, x, k, false), `${what}, nq ${nq} k ${k}`);
  }
}

// Both sides of the kernel's bounds: 19 (the flatScan kernel), 20 (FAISS's BLAS
// threshold), one and more groups of 32 queries, FAISS's block of 256 queries
// and two of them, k = 1 (FAISS's AVX2 override), k up to 99 and k = 100 (FAISS's
// reservoir, left to FAISS).
const BATCHES: [number, number][] = [
  [19, 10],
  [20, 1],
  [20, 10],
  [32, 1],
  [32, 99],
  [33, 5],
  [255, 1],
  [256, 17],
  [257, 2],
  [300, 99],
  [40, 100],
];

describe('flat batch kernel (own search kernels)', function () {
  this.timeout(300_000);

  before(() => faiss.setNumThreads(8));
  after(() => {
    faiss.setNumThreads(0);
    faiss.setKernels({ flatBatch: true });
  });

  describe('identical to FAISS (switch off) in this process', () => {
    // [pattern, n, d]. 8,242 x 37: a last block of 50 vectors, which a batch of 20
    // has OpenBLAS multiply on its small-matrix path; 8,192 x 16: no partial block.
    const datasets: [Pattern, number, number][] = [
      ['uniform', 8242, 37],
      ['clustered', 20_000, 64],
      ['levels', 13_000, 5],
      ['lateWinners', 9000, 3],
      ['uniform', 8192, 16],
    ];
    for (const [pattern, n, d] of datasets) {
      for (const [metric, cls] of [
        [faiss.METRIC_L2, 'IndexFlatL2'],
        [faiss.METRIC_INNER_PRODUCT, 'IndexFlatIP'],
      ] as const) {
        it(`${cls} ${metric === faiss.METRIC_L2 ? 'L2' : 'IP'}, ${pattern} ${n} x ${d}`, async () => {
          const index = newFlat(metric, d, cls);
          await index.add(vectors(pattern, n, d, n + d));
          await assertSameBatches(index, pattern, d, BATCHES, cls);
          index.dispose();
        });
      }
    }

    it('one nearest neighbour (L2, k = 1) on fewer full blocks than threads: the queries split, the partial block in registers', async () => {
      // [pattern, n, d]: 1 and 13 vectors (no lanes, leftovers only), 100 x 37
      // (20 queries: a partial block OpenBLAS may multiply on its small-matrix path,
      // which sgemm_ then does; 300: in registers), 1,031 x 8 (an IVF quantizer's
      // size, 7 leftovers), one full block and 50 more.
      const datasets: [Pattern, number, number][] = [
        ['uniform', 1, 16],
        ['levels', 13, 5],
        ['uniform', 100, 37],
        ['clustered', 1031, 8],
        ['levels', 1024, 5],
        ['clustered', 4146, 24],
        ['uniform', 2000, 32],
      ];
      // 1,024 and 1,100 queries: with 2 threads, whole blocks of 256 queries per
      // thread (where every block's partial block is multiplied in registers:
      // 2,000 x 32, 4,146 x 24 with 1,024), the rest within each block.
      const batches: [number, number][] = [[20, 1], [32, 1], [33, 1], [255, 1], [256, 1], [257, 1], [600, 1], [1024, 1], [1100, 1]];
      for (const threads of [8, 2, 1]) {
        faiss.setNumThreads(threads);
        for (const [pattern, n, d] of datasets) {
          const index = new faiss.IndexFlatL2(d);
          await index.add(vectors(pattern, n, d, n + d));
          await assertSameBatches(index, pattern, d, batches, `${threads} threads, ${pattern} ${n} x ${d}`);
          index.dispose();
        }
      }
      faiss.setNumThreads(8);
    });

    it("'Flat' from the factory, L2 and inner product", async () => {
      for (const metric of [faiss.METRIC_L2, faiss.METRIC_INNER_PRODUCT]) {
        const index = newFlat(metric, 24, 'factory');
        await index.add(vectors('clustered', 12_000, 24, 3));
        await assertSameBatches(index, 'clustered', 24, [[20, 1], [64, 10], [256, 99]], `factory metric ${metric}`);
        index.dispose();
      }
    });

    it('IDMap and IDMap2 over a flat index translate the same labels', async () => {
      await assertIdMapsSame(10_000, [[20, 1], [32, 30], [100, 99]], searchWith);
    });

    it('concurrent batches each give their own answer', async () => {
      const d = 32;
      const index = new faiss.IndexFlatL2(d);
      await index.add(vectors('clustered', 12_000, d, 3));
      await assertConcurrentSame('flatBatch', index, Array.from({ length: 6 }, (_, i) => queries('clustered', 20 + 7 * i, d, 100 + i)), searchWith);
      index.dispose();
    });
  });

  describe('left to FAISS, with the same answers', () => {
    it('an index of less than one block: k > ntotal pads with -1', async () => {
      for (const index of [new faiss.IndexFlatL2(7), new faiss.IndexFlatIP(7)]) {
        await index.add(vectors('uniform', 40, 7, 1));
        const x = queries('uniform', 32, 7, 2);
        const ours = await searchWith(index, x, 50, true, 'indexSize');
        assertSame(ours, await searchWith(index, x, 50, false), `${index.metricType}`);
        for (let q = 0; q < 32; q++) assert.deepEqual(Array.from(ours.labels.subarray(q * 50 + 40, q * 50 + 50)), Array(10).fill(-1n));
        index.dispose();
      }
    });

    it('NaN stored vectors below one block, k = 1: FAISS searches again from the start', async () => {
      // 300 queries: FAISS's first block of 256 has its products in registers, the
      // last of 44 from sgemm_ (its small-matrix bound); the NaNs reach both.
      const d = 8;
      const n = 1000;
      const original = new faiss.IndexFlatL2(d);
      await original.add(vectors('uniform', n, d, 9));
      const bytes = Buffer.from(await faiss.serializeIndex(original));
      original.dispose();
      const storedAt = bytes.length - n * d * 4;
      for (let i = 5; i < n; i += 11) bytes.writeFloatLE(NaN, storedAt + i * d * 4);
      const index = await faiss.deserializeIndex(bytes);
      for (const nq of [64, 300]) {
        const x = queries('uniform', nq, d, 10 + nq);
        assertSame(await searchWith(index, x, 1, true, 'overflow'), await searchWith(index, x, 1, false), `nq ${nq}`);
      }
      index.dispose();
    });

    it('d = 330: OpenBLAS sums products longer than 320 in pieces', async () => {
      const index = new faiss.IndexFlatL2(330);
      await index.add(vectors('clustered', 4200, 330, 4));
      await assertSameBatches(index, 'clustered', 330, [[20, 1], [32, 10]], 'd 330', 'probeFailed');
      index.dispose();
    });

    it('NaN stored vectors (read from a file): FAISS searches again from the start', async () => {
      // FAISS's comparisons treat a NaN distance in their own ways: its k = 1
      // override lets a NaN replace a lane's minimum (and the next vector replace
      // the NaN), so a vector right after the nearest one in the same lane hides it.
      // Two full blocks, no partial one (whose products sgemm_ gives): the NaNs are
      // in the kernel's products.
      const d = 8;
      const n = 8192;
      for (const build of [() => new faiss.IndexFlatL2(d), () => new faiss.IndexFlatIP(d)]) {
        const original = build();
        await original.add(vectors('uniform', n, d, 9));
        const bytes = Buffer.from(await faiss.serializeIndex(original));
        original.dispose();
        // The stored vectors are the file's last n * d floats.
        const storedAt = bytes.length - n * d * 4;
        for (let i = 5; i < n; i += 11) bytes.writeFloatLE(NaN, storedAt + i * d * 4);
        const index = await faiss.deserializeIndex(bytes);
        for (const k of [1, 10]) {
          const x = queries('uniform', 64, d, 10 + k);
          assertSame(await searchWith(index, x, k, true, 'overflow'), await searchWith(index, x, k, false), `metric ${index.metricType} k ${k}`);
        }
        index.dispose();
      }
    });

    it('products beyond 2^127 in magnitude: FAISS searches again from the start', async () => {
      // Finite norms (2^127.2 < FLT_MAX), but 2 <x, y> overflows: FAISS's distance
      // depends on whether its compiler fused the multiply into the subtraction.
      const d = 8;
      const n = 8192;
      const huge = 2 ** 63.6;
      for (const index of [new faiss.IndexFlatL2(d), new faiss.IndexFlatIP(d)]) {
        const x = vectors('uniform', n, d, 9);
        for (let i = 3; i < n; i += 97) x[i * d] = huge;
        await index.add(x);
        const xq = queries('uniform', 24, d, 10);
        xq[0] = huge;
        xq[5 * d] = -huge;
        for (const k of [1, 10]) assertSame(await searchWith(index, xq, k, true, 'overflow'), await searchWith(index, xq, k, false), `metric ${index.metricType} k ${k}`);
        index.dispose();
      }
    });
  });

  describe('python3-faiss (the oracle) on an index file written here', () => {
    it('L2 and IP, IDMap, 20..300 queries, k = 1 .. 99, ties', async () => {
      const builds: PythonCase[] = [
        ['l2', () => new faiss.IndexFlatL2(32), 'clustered', 20_000, 32],
        ['ip', () => new faiss.IndexFlatIP(32), 'uniform', 20_000, 32],
        ['l2-ties', () => new faiss.IndexFlatL2(5), 'levels', 13_000, 5],
        ['ip-ties', () => new faiss.IndexFlatIP(3), 'lateWinners', 9000, 3],
        ['idmap-l2', () => new faiss.IndexIDMap(new faiss.IndexFlatL2(6)), 'levels', 10_000, 6],
      ];
      const batches: [number, number][] = [[20, 1], [32, 10], [255, 99], [300, 1]];
      await assertAsPython(builds, batches, (index, q, k, what) => expectKernel('flatBatch', { searches: 1 }, () => index.search(q, k), what));
      // Below one block, k = 1 (the queries split; an IVF quantizer's shape).
      const small: PythonCase[] = [
        ['l2-small', () => new faiss.IndexFlatL2(16), 'clustered', 1031, 16],
        ['l2-small-ties', () => new faiss.IndexFlatL2(5), 'levels', 1000, 5],
      ];
      await assertAsPython(small, [[20, 1], [300, 1]], (index, q, k, what) => expectKernel('flatBatch', { searches: 1 }, () => index.search(q, k), what));
    });
  });
});

// The coarse assignments of an IVFFlat's train and add by the flat batch kernel
// (native/kernels/ivf_build.h): the index it builds must be FAISS's, bit for bit
// (the same k-means centroids, the same lists in the same order), against FAISS's
// own code in this process (the flatBatch switch off): the serialized bytes are
// compared. Against python3-faiss (Debian's generic build, the oracle): the lists
// an add makes on centroids written here, identical where every distance is exact
// (small integers); and the centroids its own k-means finds on the same data, the
// same up to the float rounding of two builds (well-separated clusters: no
// near-tie moves a training vector). kernelStats says which searches the kernel
// answered: one per k-means iteration (FAISS's IVF trains 10) and one per add.
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as faiss from '../../lib';
import { type Pattern, vectors } from '../support/flat-answers';
import { expectKernel } from '../support/kernel-stats';
import { PYTHON } from '../support/oracle';

const KMEANS_ITERATIONS = 10; // FAISS's IndexIVF: cp.niter

interface Build {
  make: () => faiss.Index;
  train: Float32Array;
  add: Float32Array;
  ids?: BigInt64Array;
}

/** Trains and adds with the flatBatch switch as given; returns the index's bytes. */
async function buildWith(b: Build, on: boolean, expected: { train: number; add: number }, what: string): Promise<Buffer> {
  faiss.setKernels({ flatBatch: on });
  try {
    const index = b.make();
    const searches = (n: number) => ({ searches: on ? n : 0 });
    await expectKernel('flatBatch', searches(expected.train), () => index.train(b.train), `${what}: train`);
    await expectKernel('flatBatch', searches(expected.add), () => (b.ids ? index.addWithIds(b.add, b.ids) : index.add(b.add)), `${what}: add`);
    const bytes = Buffer.from(await faiss.serializeIndex(index));
    index.dispose();
    return bytes;
  } finally {
    faiss.setKernels({ flatBatch: true });
  }
}

async function assertSameIndex(b: Build, expected: { train: number; add: number }, what: string): Promise<void> {
  const ours = await buildWith(b, true, expected, what);
  const theirs = await buildWith(b, false, { train: 0, add: 0 }, what);
  assert.ok(ours.equals(theirs), `${what}: the index built with the kernel is FAISS's, byte for byte`);
}

const data = (pattern: Pattern, n: number, d: number, seed: number): Float32Array => vectors(pattern, n, d, seed);

describe('IVFFlat build through the flat batch kernel (own kernels)', function () {
  this.timeout(300_000);

  after(() => {
    faiss.setNumThreads(0);
    faiss.setKernels({ flatBatch: true });
  });

  describe('identical to FAISS (switch off) in this process', () => {
    for (const threads of [2, 8, 1]) {
      it(`k-means and add, ${threads} threads: IVF64,Flat from the factory, IndexIVFFlat, addWithIds`, async () => {
        faiss.setNumThreads(threads);
        const d = 16;
        await assertSameIndex(
          { make: () => faiss.indexFactory(d, 'IVF64,Flat'), train: data('clustered', 3000, d, 1), add: data('clustered', 5000, d, 2) },
          { train: KMEANS_ITERATIONS, add: 1 },
          'factory, clustered',
        );
        await assertSameIndex(
          { make: () => new faiss.IndexIVFFlat(new faiss.IndexFlatL2(d), d, 37), train: data('uniform', 2000, d, 3), add: data('uniform', 777, d, 4) },
          { train: KMEANS_ITERATIONS, add: 1 },
          'IndexIVFFlat, uniform, 37 lists',
        );
        // 256 lists of d = 32: blocks of 256 queries whose products the kernel makes
        // in registers (more than 10^6 multiply-adds each), whole blocks per thread.
        await assertSameIndex(
          { make: () => faiss.indexFactory(32, 'IVF256,Flat'), train: data('clustered', 6144, 32, 17), add: data('clustered', 5000, 32, 18) },
          { train: KMEANS_ITERATIONS, add: 1 },
          '256 lists, d 32',
        );
        // Small integers: many equal distances, which FAISS breaks by the lowest centroid.
        await assertSameIndex(
          {
            make: () => faiss.indexFactory(5, 'IVF20,Flat'),
            train: data('levels', 1500, 5, 5),
            add: data('levels', 600, 5, 6),
            ids: BigInt64Array.from({ length: 600 }, (_, i) => BigInt(i) * 7n + 3n),
          },
          { train: KMEANS_ITERATIONS, add: 1 },
          'levels, addWithIds',
        );
      });
    }

    it('FAISS subsamples the training set (more than 256 points per centroid): the kernel searches the sample', async () => {
      faiss.setNumThreads(2);
      await assertSameIndex(
        { make: () => faiss.indexFactory(8, 'IVF16,Flat'), train: data('clustered', 6000, 8, 7), add: data('clustered', 100, 8, 8) },
        { train: KMEANS_ITERATIONS, add: 1 },
        'subsampled',
      );
    });
  });

  describe('left to FAISS, with the same index', () => {
    it('an add of fewer than 20 vectors (FAISS searches them one by one), inner product, IVFPQ, training points = lists', async () => {
      faiss.setNumThreads(2);
      const d = 8;
      await assertSameIndex(
        { make: () => faiss.indexFactory(d, 'IVF16,Flat'), train: data('clustered', 1000, d, 9), add: data('clustered', 19, d, 10) },
        { train: KMEANS_ITERATIONS, add: 0 },
        '19 added',
      );
      await assertSameIndex(
        { make: () => faiss.indexFactory(d, 'IVF16,Flat', faiss.METRIC_INNER_PRODUCT), train: data('clustered', 1000, d, 11), add: data('clustered', 300, d, 12) },
        { train: 0, add: 0 },
        'inner product',
      );
      await assertSameIndex(
        { make: () => faiss.indexFactory(d, 'IVF16,PQ4'), train: data('clustered', 1000, d, 13), add: data('clustered', 300, d, 14) },
        { train: 0, add: 0 },
        'IVFPQ',
      );
      // As many training points as lists: FAISS takes them as the centroids, no k-means.
      await assertSameIndex(
        { make: () => faiss.indexFactory(d, 'IVF16,Flat'), train: data('levels', 16, d, 15), add: data('levels', 200, d, 16) },
        { train: 0, add: 1 },
        'no k-means',
      );
    });
  });

  describe('python3-faiss (the oracle)', () => {
    it('the lists of an add on centroids written here (exact distances), and the k-means centroids of the same data', async () => {
      faiss.setNumThreads(2);
      const work = fs.mkdtempSync(path.join(os.tmpdir(), 'kernels-ivf-build-'));
      try {
        // Lists: 64 integer centroids (as many training points as lists: taken as
        // they are), 3,000 integer vectors added by the kernel.
        const d = 6;
        const exact = faiss.indexFactory(d, 'IVF64,Flat');
        const centroids = data('levels', 64, d, 21);
        await exact.train(centroids);
        await faiss.writeIndex(exact, path.join(work, 'trained.index'));
        const added = data('levels', 3000, d, 22);
        await expectKernel('flatBatch', { searches: 1 }, () => exact.add(added), 'exact add');
        await faiss.writeIndex(exact, path.join(work, 'ours.index'));
        fs.writeFileSync(path.join(work, 'added.f32'), Buffer.from(added.buffer, added.byteOffset, added.byteLength));
        exact.dispose();

        // Centroids: k-means on well-separated clusters (8 lists for 16 clusters: no
        // training vector near two centroids; with 32 lists some are, and the two
        // builds' k-means part ways by up to 0.016 there).
        const kd = 16;
        const train = data('clustered', 2000, kd, 23);
        const kmeans = faiss.indexFactory(kd, 'IVF8,Flat');
        await expectKernel('flatBatch', { searches: KMEANS_ITERATIONS }, () => kmeans.train(train), 'k-means');
        await faiss.writeIndex(kmeans, path.join(work, 'kmeans.index'));
        fs.writeFileSync(path.join(work, 'train.f32'), Buffer.from(train.buffer, train.byteOffset, train.byteLength));
        kmeans.dispose();

        const script = `
import faiss, numpy as np, json, sys
w = sys.argv[1]
def lists(ivf):
    inv = ivf.invlists
    return [faiss.rev_swig_ptr(inv.get_ids(l), inv.list_size(l)).tolist() for l in range(ivf.nlist)]
ours = faiss.read_index(w + '/ours.index')
theirs = faiss.read_index(w + '/trained.index')
theirs.add(np.fromfile(w + '/added.f32', dtype='float32').reshape(-1, ${d}))
k = faiss.read_index(w + '/kmeans.index')
py = faiss.index_factory(${kd}, 'IVF8,Flat')
py.train(np.fromfile(w + '/train.f32', dtype='float32').reshape(-1, ${kd}))
c_ours = k.quantizer.reconstruct_n(0, k.nlist)
c_py = faiss.downcast_index(py).quantizer.reconstruct_n(0, k.nlist)
json.dump({'ours': lists(ours), 'theirs': lists(theirs),
           'centroidDiff': float(np.abs(c_ours - c_py).max()), 'centroidScale': float(np.abs(c_py).max())}, open(w + '/python.json', 'w'))
`;
        execFileSync(PYTHON, ['-c', script, work], { stdio: ['ignore', 'ignore', 'inherit'], timeout: 300_000 });
        const py: { ours: number[][]; theirs: number[][]; centroidDiff: number; centroidScale: number } = JSON.parse(fs.readFileSync(path.join(work, 'python.json'), 'utf8'));
        assert.deepEqual(py.ours, py.theirs, 'the lists python3-faiss makes of the same add');
        assert.ok(py.ours.filter((l) => l.length > 0).length > 10, 'the vectors spread over many lists');
        assert.ok(py.centroidDiff <= 1e-5 * py.centroidScale, `k-means centroids: largest difference ${py.centroidDiff} (scale ${py.centroidScale})`);
      } finally {
        fs.rmSync(work, { recursive: true, force: true });
      }
    });
  });
});

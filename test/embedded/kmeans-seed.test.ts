// kmeansSeed: the seed of an IVF index's k-means in train (Python's
// `index.cp.seed`, FAISS's ClusteringParameters, 1234 by default). With the same
// seed on the same data the addon's centroids are python3-faiss's, bit for bit;
// with another seed they differ. The data (test/support/kmeans-clusters.ts) are
// clusters of small integers, on which both builds run the same k-means. Over
// HTTP and after a restart: test/service/kmeans-seed-http.
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as faiss from '../../lib';
import { connect } from '../../lib/client';
import { CLUSTER_D as d, clusterCodes, clusterVectors } from '../support/kmeans-clusters';
import { PYTHON } from '../support/oracle';

const bytesOf = (a: ArrayBufferView): Buffer => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

describe('kmeansSeed: the seed of an IVF index k-means (Python index.cp.seed)', function () {
  this.timeout(120_000);

  it('reads 1234 on IVF indexes (FAISS default), also through IDMap2 / PreTransform / binary IVF; undefined elsewhere', () => {
    const made = [
      new faiss.IndexIVFFlat(new faiss.IndexFlatL2(d), d, 4),
      faiss.indexFactory(d, 'IDMap2,IVF4,Flat'),
      faiss.indexFactory(d, 'PCA4,IVF4,PQ2'),
      new faiss.IndexBinaryIVF(new faiss.IndexBinaryFlat(16), 16, 4),
    ];
    for (const index of made) assert.equal(index.kmeansSeed, 1234, index.typeName);
    for (const index of [new faiss.IndexFlatL2(d), new faiss.IndexHNSWFlat(d, 8), new faiss.IndexBinaryFlat(16)]) {
      assert.equal(index.kmeansSeed, undefined, index.typeName);
      assert.throws(() => (index.kmeansSeed = 7), (e: faiss.FaissError) => e.code === 'ERR_UNSUPPORTED' && /kmeansSeed/.test(e.message));
      index.dispose();
    }
    made[0].kmeansSeed = -(2 ** 31);
    assert.equal(made[0].kmeansSeed, -(2 ** 31));
    made[0].kmeansSeed = 2 ** 31 - 1;
    assert.equal(made[0].kmeansSeed, 2 ** 31 - 1);
    for (const bad of [2 ** 31, -(2 ** 31) - 1, 1.5, NaN, Infinity, '7', 7n, undefined, null, {}]) {
      assert.throws(() => ((made[0] as { kmeansSeed: unknown }).kmeansSeed = bad), (e: faiss.FaissError) => e.code === 'ERR_INVALID_ARGUMENT', String(bad));
    }
    assert.equal(made[0].kmeansSeed, 2 ** 31 - 1, 'a refused value leaves the seed as it was');
    // FAISS's file format has no place for it: a copy has the default again.
    const wrapped = new faiss.IndexIDMap2(made[0] as faiss.Index);
    assert.equal(wrapped.kmeansSeed, 1234, 'new IndexIDMap2(ivf) wraps a copy, without the seed');
    wrapped.dispose();
    for (const index of made) index.dispose();
    assert.throws(() => made[0].kmeansSeed, (e: faiss.FaissError) => e.code === 'ERR_DISPOSED');
  });

  it('a remote index: the client setting, sent with every train, checked as the embedded setter checks it', () => {
    const api = connect({ url: 'http://127.0.0.1:9', apiKey: 'unused' });
    const index = new api.IndexIVFFlat(new api.IndexFlatL2(d), d, 4);
    assert.equal(index.kmeansSeed, undefined, 'unset: the server trains with 1234');
    index.kmeansSeed = -(2 ** 31);
    assert.equal(index.kmeansSeed, -(2 ** 31));
    for (const bad of [2 ** 31, 1.5, NaN, '7', 7n, undefined, null]) {
      assert.throws(() => ((index as { kmeansSeed: unknown }).kmeansSeed = bad), (e: faiss.FaissError) => e.code === 'ERR_INVALID_ARGUMENT', String(bad));
    }
    assert.equal(index.kmeansSeed, -(2 ** 31), 'a refused value leaves the seed as it was');
    index.dispose();
    assert.throws(() => index.kmeansSeed, (e: faiss.FaissError) => e.code === 'ERR_DISPOSED');
  });

  it('the same seed gives python3-faiss centroids bit for bit; another seed other centroids (float and binary IVF)', async () => {
    const work = fs.mkdtempSync(path.join(os.tmpdir(), 'kmeans-seed-'));
    try {
      faiss.setNumThreads(2);
      const x = clusterVectors(1500, 5);
      fs.writeFileSync(path.join(work, 'x.f32'), bytesOf(x));
      const codes = clusterCodes(x, 32);
      fs.writeFileSync(path.join(work, 'codes.u8'), bytesOf(codes));
      // nlist 8: every point is a training point; nlist 4: FAISS samples 1,024 of
      // the 1,500 (256 per centroid), with the seed too. undefined: left at 1234.
      const cases: { nlist: number; seed: number | undefined }[] = [
        { nlist: 8, seed: undefined },
        { nlist: 8, seed: 1234 },
        { nlist: 8, seed: 7 },
        { nlist: 8, seed: -5 },
        { nlist: 8, seed: 2 ** 31 - 1 },
        { nlist: 4, seed: 1234 },
        { nlist: 4, seed: 99 },
      ];
      const oursBinary: Buffer[] = [];
      for (const [i, c] of cases.entries()) {
        const index = faiss.indexFactory(d, `IVF${c.nlist},Flat`);
        if (c.seed !== undefined) index.kmeansSeed = c.seed;
        await index.train(x);
        await faiss.writeIndex(index, path.join(work, `ours${i}.index`));
        index.dispose();
        const binary = new faiss.IndexBinaryIVF(new faiss.IndexBinaryFlat(32), 32, c.nlist);
        if (c.seed !== undefined) binary.kmeansSeed = c.seed;
        await binary.train(codes);
        oursBinary.push(Buffer.from(await faiss.serializeIndexBinary(binary)));
        binary.dispose();
      }
      fs.writeFileSync(path.join(work, 'cases.json'), JSON.stringify(cases));
      const script = `
import faiss, numpy as np, json, sys
w = sys.argv[1]
x = np.fromfile(w + '/x.f32', dtype='float32').reshape(-1, ${d})
codes = np.fromfile(w + '/codes.u8', dtype='uint8').reshape(-1, 4)
faiss.omp_set_num_threads(2)
for i, c in enumerate(json.load(open(w + '/cases.json'))):
    ours = faiss.read_index(w + '/ours%d.index' % i)
    ours.quantizer.reconstruct_n(0, c['nlist']).astype('float32').tofile(w + '/ours%d.f32' % i)
    made = faiss.index_factory(${d}, 'IVF%d,Flat' % c['nlist'])
    index = faiss.downcast_index(made)
    if c.get('seed') is not None: index.cp.seed = c['seed']
    index.train(x)
    index.quantizer.reconstruct_n(0, c['nlist']).astype('float32').tofile(w + '/py%d.f32' % i)
    q = faiss.IndexBinaryFlat(32)
    b = faiss.IndexBinaryIVF(q, 32, c['nlist'])
    if c.get('seed') is not None: b.cp.seed = c['seed']
    b.train(codes)
    faiss.serialize_index_binary(b).tofile(w + '/py%d.bin' % i)
`;
      execFileSync(PYTHON, ['-c', script, work], { stdio: ['ignore', 'ignore', 'inherit'], timeout: 120_000 });
      const ours = cases.map((_, i) => fs.readFileSync(path.join(work, `ours${i}.f32`)));
      cases.forEach((c, i) => {
        const what = `IVF${c.nlist}, seed ${c.seed ?? '(default)'}`;
        assert.ok(ours[i].equals(fs.readFileSync(path.join(work, `py${i}.f32`))), `${what}: python3-faiss's centroids, bit for bit`);
        assert.ok(oursBinary[i].equals(fs.readFileSync(path.join(work, `py${i}.bin`))), `${what}: python3-faiss's binary IVF, byte for byte`);
      });
      // The default is 1234; every other seed gives other centroids.
      assert.ok(ours[0].equals(ours[1]) && oursBinary[0].equals(oursBinary[1]), 'unset is seed 1234');
      const distinct = (list: Buffer[], idx: number[]) => new Set(idx.map((i) => list[i].toString('hex'))).size;
      assert.equal(distinct(ours, [1, 2, 3, 4]), 4, 'seeds 1234, 7, -5, 2^31-1: four sets of centroids');
      assert.equal(distinct(ours, [5, 6]), 2, 'sampled: seeds 1234 and 99 differ');
      assert.ok(distinct(oursBinary, [1, 2, 3, 4]) >= 2, 'binary: another seed, other centroids');
    } finally {
      faiss.setNumThreads(0);
      if (!process.env.KEEP_WORK) fs.rmSync(work, { recursive: true, force: true });
    }
  });
});

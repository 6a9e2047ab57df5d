// The embedded API as a user meets it: every index class through its lifecycle,
// properties, tunables, ids, merge, files and the shape of results.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as faiss from '../../lib';
import { bruteForceNearest, randomVectors, row } from '../support/data';

const d = 16;
const xb = randomVectors(2000, d, 21);
const xq = randomVectors(10, d, 22);

interface Kind {
  name: string;
  make: () => faiss.Index;
  typeName: string;
  exact: boolean; // returns the exact nearest neighbour on this data
}

const kinds: Kind[] = [
  { name: 'IndexFlatL2', make: () => new faiss.IndexFlatL2(d), typeName: 'IndexFlatL2', exact: true },
  { name: 'IndexFlatIP', make: () => new faiss.IndexFlatIP(d), typeName: 'IndexFlatIP', exact: false },
  { name: 'IndexIVFFlat', make: () => new faiss.IndexIVFFlat(new faiss.IndexFlatL2(d), d, 8), typeName: 'IndexIVFFlat', exact: false },
  { name: 'IndexIVFPQ', make: () => new faiss.IndexIVFPQ(new faiss.IndexFlatL2(d), d, 8, 4, 4), typeName: 'IndexIVFPQ', exact: false },
  { name: 'IndexHNSWFlat', make: () => new faiss.IndexHNSWFlat(d, 16), typeName: 'IndexHNSWFlat', exact: false },
  { name: 'IndexPQ', make: () => new faiss.IndexPQ(d, 4, 4), typeName: 'IndexPQ', exact: false },
  { name: 'IndexScalarQuantizer', make: () => new faiss.IndexScalarQuantizer(d, faiss.ScalarQuantizer.QT_8bit), typeName: 'IndexScalarQuantizer', exact: false },
  { name: 'indexFactory("IVF8,PQ4x4")', make: () => faiss.indexFactory(d, 'IVF8,PQ4x4'), typeName: 'IndexIVFPQ', exact: false },
  { name: 'indexFactory("HNSW8,Flat")', make: () => faiss.indexFactory(d, 'HNSW8,Flat'), typeName: 'IndexHNSWFlat', exact: false },
];

describe('embedded API', () => {
  for (const kind of kinds) {
    it(`${kind.name}: train, add, search, reset`, async () => {
      const index = kind.make();
      try {
        assert.equal(index.d, d);
        assert.equal(index.typeName, kind.typeName);
        assert.equal(index.ntotal, 0);
        if (!index.isTrained) await index.train(xb);
        assert.equal(index.isTrained, true);
        await index.add(xb);
        assert.equal(index.ntotal, 2000);
        assert.ok(index.bytes > 0);
        const { distances, labels } = await index.search(xq, 5);
        assert.ok(distances instanceof Float32Array && labels instanceof BigInt64Array);
        assert.equal(labels.length, 50);
        // Results own exactly their memory: FAISS wrote into these buffers.
        assert.equal(distances.buffer.byteLength, 50 * 4);
        assert.equal(labels.buffer.byteLength, 50 * 8);
        for (const l of labels) assert.ok(l >= 0n && l < 2000n);
        if (kind.exact) {
          for (let i = 0; i < 10; i++) assert.equal(Number(labels[i * 5]), bruteForceNearest(xb, d, row(xq, d, i)));
        }
        await index.reset();
        assert.equal(index.ntotal, 0);
      } finally {
        index.dispose();
      }
    });
  }

  it('metricType and the METRIC_* constants', () => {
    assert.equal(new faiss.IndexFlatL2(d).metricType, faiss.METRIC_L2);
    assert.equal(new faiss.IndexFlatIP(d).metricType, faiss.METRIC_INNER_PRODUCT);
    assert.equal(faiss.indexFactory(d, 'Flat', faiss.METRIC_INNER_PRODUCT).metricType, faiss.METRIC_INNER_PRODUCT);
  });

  it('fills missing results with label -1 when k > ntotal', async () => {
    const index = new faiss.IndexFlatL2(d);
    await index.add(xb.subarray(0, 3 * d));
    const { labels, distances } = await index.search(xq.subarray(0, d), 5);
    assert.deepEqual(Array.from(labels.subarray(3)), [-1n, -1n]);
    assert.equal(distances.length, 5);
  });

  it('accepts number[][] (copied) and gives the same answers as a Float32Array', async () => {
    const index = new faiss.IndexFlatL2(d);
    await index.add(xb);
    const rows = [Array.from(row(xq, d, 0)), Array.from(row(xq, d, 1))];
    const a = await index.search(rows, 3);
    const b = await index.search(xq.subarray(0, 2 * d), 3);
    assert.deepEqual(a.labels, b.labels);
    assert.deepEqual(a.distances, b.distances);
  });

  it('nprobe: per index and per call; a per-call value leaves the index unchanged', async () => {
    const index = new faiss.IndexIVFFlat(new faiss.IndexFlatL2(d), d, 16);
    await index.train(xb);
    await index.add(xb);
    assert.equal(index.nprobe, 1);
    const all = await index.search(xq, 1, { nprobe: 16 });
    assert.equal(index.nprobe, 1);
    for (let i = 0; i < 10; i++) assert.equal(Number(all.labels[i]), bruteForceNearest(xb, d, row(xq, d, i)));
    index.nprobe = 16;
    assert.equal(index.nprobe, 16);
    assert.deepEqual((await index.search(xq, 1)).labels, all.labels);
    // The setting travels with the index, as in Python.
    const copy = await faiss.deserializeIndex(await faiss.serializeIndex(index));
    assert.equal(copy.nprobe, 16);
    assert.equal(new faiss.IndexFlatL2(d).nprobe, undefined);
  });

  it('efSearch and efConstruction on HNSW; a per-call efSearch leaves the index unchanged', async () => {
    const index = new faiss.IndexHNSWFlat(d, 8);
    assert.equal(index.efSearch, 16);
    assert.equal(index.efConstruction, 40);
    index.efConstruction = 64;
    await index.add(xb);
    const wide = await index.search(xq, 10, { efSearch: 256 });
    assert.equal(index.efSearch, 16);
    index.efSearch = 256;
    assert.deepEqual((await index.search(xq, 10)).labels, wide.labels);
    const copy = await faiss.deserializeIndex(await faiss.serializeIndex(index));
    assert.equal(copy.efSearch, 256);
    assert.equal(copy.efConstruction, 64);
  });

  it('the native index tells an IVF\'s number of lists (the collections\' planner reads it), through wrappers and from a file', async () => {
    const native = (index: faiss.Index) => faiss.Index.nativeOf(index, 'index');
    assert.equal(native(faiss.indexFactory(d, 'IVF32,Flat')).nlist, 32);
    assert.equal(native(faiss.indexFactory(d, 'IDMap2,IVF16,PQ4')).nlist, 16);
    assert.equal(native(faiss.indexFactory(d, 'PCA8,IVF8_HNSW16,Flat')).nlist, 8);
    assert.equal(native(faiss.indexFactory(d, 'HNSW16')).nlist, undefined);
    assert.equal(native(new faiss.IndexFlatL2(d)).nlist, undefined);
    const ivf = faiss.indexFactory(d, 'IVF4,Flat');
    await ivf.train(xb);
    assert.equal(native(await faiss.deserializeIndex(await faiss.serializeIndex(ivf))).nlist, 4);
  });

  it('IndexIDMap / IndexIDMap2: caller ids in results, removal and reconstruct by id', async () => {
    const ids = BigInt64Array.from({ length: 2000 }, (_, i) => BigInt(i) * 1_000_000_007n);
    const index = new faiss.IndexIDMap2(new faiss.IndexFlatL2(d));
    await index.addWithIds(xb, ids);
    const { labels } = await index.search(row(xb, d, 42), 1);
    assert.equal(labels[0], ids[42]);
    assert.deepEqual(await index.reconstruct(ids[42]), row(xb, d, 42));
    assert.equal(await index.removeIds([ids[42], ids[43], 5n]), 2);
    assert.equal(index.ntotal, 1998);
    const after = await index.search(row(xb, d, 42), 1);
    assert.notEqual(after.labels[0], ids[42]);
    const plain = new faiss.IndexIDMap(new faiss.IndexFlatL2(d));
    await plain.addWithIds(xb.subarray(0, 2 * d), [7, 9]);
    assert.deepEqual(Array.from((await plain.search(row(xb, d, 1), 2)).labels), [9n, 7n]);
  });

  it('rangeSearch returns lims / distances / labels with every neighbour within the radius', async () => {
    const index = new faiss.IndexFlatL2(d);
    await index.add(xb);
    const r = await index.rangeSearch(xq, 1.0);
    assert.equal(r.lims.length, 11);
    assert.equal(Number(r.lims[10]), r.labels.length);
    for (const dist of r.distances) assert.ok(dist < 1.0);
    const flatK = await index.search(xq.subarray(0, d), 2000);
    const within = Array.from(flatK.distances).filter((v) => v < 1.0).length;
    assert.equal(Number(r.lims[1] - r.lims[0]), within);
  });

  it('reconstruct and reconstructN return the stored vectors', async () => {
    const index = new faiss.IndexFlatL2(d);
    await index.add(xb);
    assert.deepEqual(await index.reconstruct(7), row(xb, d, 7));
    assert.deepEqual(await index.reconstructN(10, 3), xb.subarray(10 * d, 13 * d));
    assert.equal((await index.reconstructN(0, 0)).length, 0);
    const ivf = new faiss.IndexIVFFlat(new faiss.IndexFlatL2(d), d, 8);
    await ivf.train(xb);
    await ivf.addWithIds(xb.subarray(0, 10 * d), BigInt64Array.from({ length: 10 }, (_, i) => BigInt(100 + i)));
    await ivf.makeDirectMap('hashtable');
    assert.deepEqual(await ivf.reconstruct(103), row(xb, d, 3));
  });

  it('mergeFrom moves the other index into this one (with an id offset)', async () => {
    const quantizer = new faiss.IndexFlatL2(d);
    const a = new faiss.IndexIVFFlat(quantizer, d, 8);
    await a.train(xb);
    const b = await faiss.deserializeIndex(await faiss.serializeIndex(a));
    await a.add(xb.subarray(0, 1000 * d));
    await b.add(xb.subarray(1000 * d));
    await a.mergeFrom(b, 1000);
    assert.equal(a.ntotal, 2000);
    assert.equal(b.ntotal, 0);
    const { labels } = await a.search(row(xb, d, 1500), 1, { nprobe: 8 });
    assert.equal(labels[0], 1500n);
  });

  it('writeIndex / readIndex, also memory-mapped (IVF)', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'faiss-api-'));
    try {
      const ivf = faiss.indexFactory(d, 'IVF8,Flat');
      await ivf.train(xb);
      await ivf.add(xb);
      const file = path.join(dir, 'ivf.index');
      await faiss.writeIndex(ivf, file);
      const expected = await ivf.search(xq, 5, { nprobe: 4 });
      for (const mmap of [false, true]) {
        const loaded = await faiss.readIndex(file, { mmap });
        assert.ok(loaded instanceof faiss.Index);
        assert.equal(loaded.ntotal, 2000);
        assert.deepEqual((await loaded.search(xq, 5, { nprobe: 4 })).labels, expected.labels);
        loaded.dispose();
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('deserializeIndex gives the class Python would (IndexIVFPQ, IndexIDMap2, ...)', async () => {
    for (const [desc, cls] of [
      ['IVF4,PQ4x4', faiss.IndexIVFPQ],
      ['IDMap2,Flat', faiss.IndexIDMap2],
      ['HNSW8', faiss.IndexHNSWFlat],
      ['SQ8', faiss.IndexScalarQuantizer],
    ] as const) {
      const copy = await faiss.deserializeIndex(await faiss.serializeIndex(faiss.indexFactory(d, desc)));
      assert.ok(copy instanceof cls, `${desc} -> ${copy.constructor.name}`);
    }
  });

  it('version grows with every mutation', async () => {
    const index = new faiss.IndexFlatL2(d);
    const v0 = index.version;
    await index.add(xb.subarray(0, d));
    await index.removeIds([0]);
    assert.equal(index.version, v0 + 2);
  });

  it('setNumThreads / getNumThreads / buildInfo', () => {
    const cores = faiss.buildInfo().cores;
    assert.equal(faiss.getNumThreads(), cores);
    faiss.setNumThreads(3);
    assert.equal(faiss.getNumThreads(), 3);
    faiss.setNumThreads(0);
    assert.equal(faiss.getNumThreads(), cores);
    assert.equal(faiss.buildInfo().faissVersion, '1.7.3');
  });
});

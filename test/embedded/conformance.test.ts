// The same index on the same data, here and in Debian's python3-faiss, must give
// the same answers: identical labels (ties aside), distances within 1e-5, for
// search, rangeSearch, reconstruct, after removeIds, after a serialize round trip,
// and when an index file written by one side is read by the other.
//
// Training (k-means, PQ codebooks, PCA) and HNSW's graph depend on floating-point
// rounding, which differs between the addon's FAISS (compiled for this CPU: FMA,
// vector sums) and Debian's (x86-64 baseline): near-tie assignments flip and the two
// trainings end in different, equally good states. So for those cases Python works
// on the state JS trained (test/support/oracle.py): it answers from the index JS
// built, its add to the index JS trained must store what JS's add stored, and JS's
// training is judged by its quality against Python's own training of the same data.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as faiss from '../../lib';
import { randomVectors } from '../support/data';
import { closeTo, runOracle, sameKnn, sameRange } from '../support/oracle';

const d = 32;
const k = 10;
const nq = 20;

interface Build {
  cls?: string;
  factory?: string;
  metric?: number;
  nlist?: number;
  m?: number;
  M?: number;
  nbits?: number;
  qtype?: number;
  inner?: Build;
}

interface Case {
  name: string;
  build: Build;
  k: number;
  tunables?: faiss.SearchParams;
  withIds?: boolean;
  directMap?: boolean;
  reconstructIds: number[];
  removeIds: number[];
  /** An HNSW: no training, but a graph built from distance comparisons. */
  graph?: boolean;
}

const ids = Array.from({ length: 2000 }, (_, i) => 1000 + i * 7);
const plain = { reconstructIds: [0, 5, 17], removeIds: [0, 1, 2, 5, 99999] };
const mapped = { withIds: true, reconstructIds: [ids[0], ids[5]], removeIds: [ids[0], ids[1], ids[3], 42] };

const cases: Case[] = [
  { name: 'flat-l2', build: { cls: 'IndexFlatL2' }, k, ...plain },
  { name: 'flat-ip', build: { cls: 'IndexFlatIP' }, k, ...plain },
  { name: 'ivfflat', build: { cls: 'IndexIVFFlat', nlist: 16 }, k, tunables: { nprobe: 4 }, directMap: true, ...plain },
  { name: 'ivfflat-ip', build: { cls: 'IndexIVFFlat', nlist: 16, metric: 0 }, k, tunables: { nprobe: 3 }, ...plain },
  { name: 'ivfpq', build: { cls: 'IndexIVFPQ', nlist: 16, m: 8, nbits: 6 }, k, tunables: { nprobe: 4 }, directMap: true, ...plain },
  { name: 'hnsw', build: { cls: 'IndexHNSWFlat', M: 16 }, k, tunables: { efSearch: 32 }, graph: true, ...plain },
  { name: 'pq', build: { cls: 'IndexPQ', M: 8, nbits: 6 }, k, ...plain },
  { name: 'sq8', build: { cls: 'IndexScalarQuantizer', qtype: 0 }, k, ...plain },
  { name: 'idmap', build: { cls: 'IndexIDMap', inner: { cls: 'IndexFlatL2' } }, k, ...mapped },
  { name: 'idmap2', build: { cls: 'IndexIDMap2', inner: { cls: 'IndexFlatL2' } }, k, ...mapped },
  { name: 'factory-pca-ivf-sq', build: { factory: 'PCA16,IVF16,SQ8' }, k, tunables: { nprobe: 4 }, ...plain },
  { name: 'factory-idmap-ivf', build: { factory: 'IDMap,IVF16,Flat' }, k, tunables: { nprobe: 5 }, ...mapped },
];

/** Cases compared on the state JS trained (or, for an HNSW, built): see the top. */
const shared = new Set(
  cases
    .filter((c) => {
      const index = build(c.build);
      try {
        return c.graph || !index.isTrained;
      } finally {
        index.dispose();
      }
    })
    .map((c) => c.name),
);

function build(b: Build): faiss.Index {
  const metric = (b.metric ?? faiss.METRIC_L2) as faiss.MetricType;
  if (b.factory) return faiss.indexFactory(d, b.factory, metric);
  switch (b.cls) {
    case 'IndexFlatL2':
      return new faiss.IndexFlatL2(d);
    case 'IndexFlatIP':
      return new faiss.IndexFlatIP(d);
    case 'IndexIVFFlat':
      return new faiss.IndexIVFFlat(new faiss.IndexFlat(d, metric), d, b.nlist!, metric);
    case 'IndexIVFPQ':
      return new faiss.IndexIVFPQ(new faiss.IndexFlat(d, metric), d, b.nlist!, b.m!, b.nbits!, metric);
    case 'IndexHNSWFlat':
      return new faiss.IndexHNSWFlat(d, b.M!, metric);
    case 'IndexPQ':
      return new faiss.IndexPQ(d, b.M!, b.nbits!, metric);
    case 'IndexScalarQuantizer':
      return new faiss.IndexScalarQuantizer(d, b.qtype as faiss.QuantizerType, metric);
    case 'IndexIDMap':
      return new faiss.IndexIDMap(build(b.inner!));
    case 'IndexIDMap2':
      return new faiss.IndexIDMap2(build(b.inner!));
  }
  throw new Error(`unknown build ${JSON.stringify(b)}`);
}

type Outcome<T> = T | { error: string };
const failed = (o: unknown): o is { error: string } => typeof o === 'object' && o !== null && 'error' in o;
async function attempt<T>(fn: () => Promise<T>): Promise<Outcome<T>> {
  try {
    return await fn();
  } catch (e) {
    if (!(e instanceof faiss.FaissError)) throw e;
    return { error: `${e.code}: ${e.message}` };
  }
}

interface PySearch {
  distances: number[];
  labels: number[];
}
interface Quality {
  /** recall@10 against the exact neighbours, over the 200 queries of xq-quality. */
  recall: number;
  /** Mean squared distance of a vector to what the index stores for it (trained indexes). */
  reconstructionError?: number;
  /** Mean distance (L2) or inner product (IP) of a vector to its nearest IVF centroid. */
  kmeansObjective?: number;
}
interface PyCase {
  /** Cases on the state JS trained: where Python's add differs from JS's (ties aside). */
  addDifferences?: string[];
  quality?: { js: Quality; python: Quality };
  ntotal: number;
  search: PySearch;
  radius: number;
  range: Outcome<{ lims: number[]; distances: number[]; labels: number[] }>;
  reconstruct: Outcome<number[][]>;
  readJsFile: PySearch;
  serializedRoundTrip: PySearch;
  removed: Outcome<number>;
  ntotalAfterRemove?: number;
  searchAfterRemove?: PySearch;
}

function assertSameSearch(js: faiss.SearchResult, py: PySearch, k: number, what: string): void {
  const diff = sameKnn({ distances: js.distances, labels: Array.from(js.labels, Number) }, py, k);
  assert.equal(diff, null, `${what}: ${diff}`);
}

// How far JS's training may be from Python's own on the same data (recall@10: absolute,
// over 2,000 neighbours; the others: relative): two k-means (or PQ, PCA) runs whose
// rounding differs end in different local optima of about the same quality. With the
// avx512 and avx2 builds only PQ's codebooks came out otherwise (reconstruction error
// 0.35644 against 0.35642, recall 0.528 against 0.527) and IVF-IP's objective in its
// 8th digit; the generic build trains as Debian's does. Training on 400 of the 3,000
// vectors instead is 2% (IVF k-means) to 110% (PCA,IVF,SQ8) worse: it fails every
// trained case but IVF-IP's.
const QUALITY_TOLERANCE = { recall: 0.05, reconstructionError: 0.02, kmeansObjective: 0.02 };

describe('conformance with python3-faiss', function () {
  this.timeout(600_000);
  const workdir = fs.mkdtempSync(path.join(os.tmpdir(), 'faiss-conformance-'));
  const xt = randomVectors(3000, d, 11);
  const xb = randomVectors(2000, d, 12);
  const xq = randomVectors(nq, d, 13);
  const xqQuality = randomVectors(200, d, 14);
  const built = new Map<string, faiss.Index>();
  let py: Record<string, PyCase>;

  before(async () => {
    faiss.setNumThreads(1); // HNSW construction is only deterministic on one thread
    try {
      for (const c of cases) {
        const index = build(c.build);
        if (!index.isTrained) {
          await index.train(xt);
          await faiss.writeIndex(index, path.join(workdir, `js-trained-${c.name}.index`));
        }
        if (c.withIds) await index.addWithIds(xb, ids);
        else await index.add(xb);
        if (c.directMap) await index.makeDirectMap();
        await faiss.writeIndex(index, path.join(workdir, `js-${c.name}.index`));
        built.set(c.name, index);
      }
    } finally {
      faiss.setNumThreads(0);
    }
    fs.writeFileSync(path.join(workdir, 'xt.f32'), xt);
    fs.writeFileSync(path.join(workdir, 'xb.f32'), xb);
    fs.writeFileSync(path.join(workdir, 'xq.f32'), xq);
    fs.writeFileSync(path.join(workdir, 'xq-quality.f32'), xqQuality);
    const spec = cases.map((c) => ({ ...c, shared: shared.has(c.name) }));
    fs.writeFileSync(path.join(workdir, 'spec.json'), JSON.stringify({ d, ids, cases: spec }));
    runOracle(workdir);
    py = JSON.parse(fs.readFileSync(path.join(workdir, 'python.json'), 'utf8'));
  });

  after(() => {
    for (const index of built.values()) index.dispose();
    fs.rmSync(workdir, { recursive: true, force: true });
  });

  for (const c of cases) {
    describe(c.name, () => {
      if (shared.has(c.name)) {
        it(`${c.graph ? 'builds its graph' : 'trains'} as well as python3-faiss does (recall@10${c.graph ? '' : ', reconstruction error, k-means objective'})`, () => {
          const { js, python } = py[c.name].quality!;
          for (const [measure, tolerance] of Object.entries(QUALITY_TOLERANCE) as [keyof Quality, number][]) {
            if (python[measure] === undefined) continue;
            const a = js[measure]!;
            const b = python[measure]!;
            const allowed = measure === 'recall' ? tolerance : tolerance * Math.abs(b);
            assert.ok(Math.abs(a - b) <= allowed + 1e-9, `${measure}: JS's training ${a}, Python's ${b} (allowed difference ${allowed})`);
          }
        });
      }
      if (shared.has(c.name) && !c.graph) {
        it('stores what JS stores when Python adds the same vectors to the index JS trained (ties aside)', () => {
          assert.deepEqual(py[c.name].addDifferences, []);
        });
      }

      it('has the same ntotal and search results', async () => {
        const index = built.get(c.name)!;
        assert.equal(index.ntotal, py[c.name].ntotal);
        assertSameSearch(await index.search(xq, c.k, c.tunables), py[c.name].search, c.k, 'search');
      });

      it('has the same range search results (or both refuse)', async () => {
        const expected = py[c.name].range;
        const got = await attempt(() => built.get(c.name)!.rangeSearch(xq, py[c.name].radius, c.tunables));
        assert.equal(failed(got), failed(expected), `JS: ${JSON.stringify(failed(got) ? got : 'ok')}, Python: ${JSON.stringify(failed(expected) ? expected : 'ok')}`);
        if (failed(got) || failed(expected)) {
          assert.match((got as { error: string }).error, /^ERR_UNSUPPORTED/);
          return;
        }
        // Within one query FAISS returns range results in an order that depends only
        // on the index; compare as given.
        const diff = sameRange({ lims: Array.from(got.lims, Number), distances: got.distances, labels: Array.from(got.labels, Number) }, expected, py[c.name].radius);
        assert.equal(diff, null, diff ?? '');
      });

      it('reconstructs the same vectors (or both refuse)', async () => {
        const expected = py[c.name].reconstruct;
        const got = await attempt(() => Promise.all(c.reconstructIds.map((id) => built.get(c.name)!.reconstruct(id))));
        assert.equal(failed(got), failed(expected), `JS: ${JSON.stringify(failed(got) ? got : 'ok')}, Python: ${JSON.stringify(failed(expected) ? expected : 'ok')}`);
        if (failed(got) || failed(expected)) {
          assert.match((got as { error: string }).error, /^ERR_(UNSUPPORTED|NOT_FOUND)/);
          return;
        }
        got.forEach((v, i) => assert.equal(closeTo(v, expected[i]), null, `vector ${c.reconstructIds[i]}`));
      });

      it('reads the index file Python wrote, and Python reads ours', async () => {
        const fromPython = await faiss.readIndex(path.join(workdir, `py-${c.name}.index`));
        try {
          assertSameSearch(await fromPython.search(xq, c.k, c.tunables), py[c.name].search, c.k, 'python file read by JS');
        } finally {
          fromPython.dispose();
        }
        assertSameSearch(await built.get(c.name)!.search(xq, c.k, c.tunables), py[c.name].readJsFile, c.k, 'JS file read by python');
      });

      it('survives a serialize / deserialize round trip', async () => {
        const copy = await faiss.deserializeIndex(await faiss.serializeIndex(built.get(c.name)!));
        try {
          assert.equal(copy.typeName, built.get(c.name)!.typeName);
          assertSameSearch(await copy.search(xq, c.k, c.tunables), py[c.name].serializedRoundTrip, c.k, 'round trip');
        } finally {
          copy.dispose();
        }
      });

      it('removes the same ids (or both refuse)', async () => {
        const index = built.get(c.name)!;
        const expected = py[c.name].removed;
        const got = await attempt(() => index.removeIds(c.removeIds));
        assert.equal(failed(got), failed(expected), `JS: ${JSON.stringify(got)}, Python: ${JSON.stringify(expected)}`);
        if (failed(got) || failed(expected)) {
          assert.match((got as { error: string }).error, /^ERR_UNSUPPORTED/);
          return;
        }
        assert.equal(got, expected);
        assert.equal(index.ntotal, py[c.name].ntotalAfterRemove);
        assertSameSearch(await index.search(xq, c.k, c.tunables), py[c.name].searchAfterRemove!, c.k, 'after remove');
      });
    });
  }
});

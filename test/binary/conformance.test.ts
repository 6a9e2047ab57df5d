// The binary indexes against Debian's python3-faiss on the same codes: Hamming
// distances are integers, so labels and distances must be identical. Flat and
// HNSW (built on one thread on both sides) are built by each side; an IVF's
// k-means runs on floats, which the two FAISS builds round differently, so Python
// adds to and searches the index JS trained (test/support/binary_oracle.py).
// Files go both ways: each side answers from the file the other wrote.
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as faiss from '../../lib';
import { rng } from '../support/data';
import { PYTHON } from '../support/oracle';

const d = 256;
const k = 10;
const radius = 118;
const nb = 1500;
const nq = 20;

interface Case {
  name: string;
  cls?: string;
  factory?: string;
  M?: number;
  efConstruction?: number;
  nlist?: number;
  tunables?: faiss.SearchParams;
  /** Needs training: Python adds to the state JS trained (js-trained-<name>.index). */
  trained?: boolean;
  range?: boolean;
  reconstruct?: number[];
}

const cases: Case[] = [
  { name: 'flat', cls: 'IndexBinaryFlat', range: true, reconstruct: [0, 7, nb - 1] },
  { name: 'ivf', cls: 'IndexBinaryIVF', nlist: 16, tunables: { nprobe: 4 }, range: true },
  { name: 'ivf-nprobe1', cls: 'IndexBinaryIVF', nlist: 8 },
  { name: 'hnsw', cls: 'IndexBinaryHNSW', M: 16, efConstruction: 40, tunables: { efSearch: 32 }, reconstruct: [3] },
  { name: 'factory-bflat', factory: 'BFlat', range: true },
  { name: 'factory-bhnsw', factory: 'BHNSW8', tunables: { efSearch: 24 } },
  // An IVF whose quantizer is an HNSW graph over the centroids.
  { name: 'factory-bivf-hnsw', factory: 'BIVF8_HNSW8', trained: true, tunables: { nprobe: 3 }, range: true },
];

// Codes clustered around a few centres (random bits flipped), so that IVF lists
// and HNSW neighbourhoods mean something and many distances tie.
function clusteredCodes(n: number, seed: number): Uint8Array {
  const next = rng(seed);
  const centres = Array.from({ length: 12 }, () => Uint8Array.from({ length: d / 8 }, () => Math.floor(next() * 256)));
  const out = new Uint8Array(n * (d / 8));
  for (let i = 0; i < n; i++) {
    const c = centres[Math.floor(next() * centres.length)];
    for (let j = 0; j < d / 8; j++) {
      let flips = 0;
      for (let b = 0; b < 8; b++) if (next() < 0.2) flips |= 1 << b;
      out[i * (d / 8) + j] = c[j] ^ flips;
    }
  }
  return out;
}

const xb = clusteredCodes(nb, 11);
const xq = clusteredCodes(nq, 12);
const xt = clusteredCodes(800, 13);

interface Knn {
  distances: number[];
  labels: number[];
}
interface Range {
  lims: number[];
  distances: number[];
  labels: number[];
}
interface PythonResult {
  ntotal: number;
  search: Knn;
  range?: Range;
  reconstruct: number[][];
  jsFile: { typeName: string; search: Knn };
}

const knnOf = (r: faiss.BinarySearchResult): Knn => ({ distances: Array.from(r.distances), labels: Array.from(r.labels, Number) });
const rangeOf = (r: faiss.BinaryRangeSearchResult): Range => ({
  lims: Array.from(r.lims, Number),
  distances: Array.from(r.distances),
  labels: Array.from(r.labels, Number),
});

function build(c: Case): faiss.IndexBinary {
  if (c.factory) return faiss.indexBinaryFactory(d, c.factory);
  if (c.cls === 'IndexBinaryFlat') return new faiss.IndexBinaryFlat(d);
  if (c.cls === 'IndexBinaryHNSW') return new faiss.IndexBinaryHNSW(d, c.M);
  return new faiss.IndexBinaryIVF(new faiss.IndexBinaryFlat(d), d, c.nlist!);
}

describe('binary indexes: the same answers as python3-faiss', function () {
  this.timeout(300_000);
  let dir: string;
  let python: Record<string, PythonResult>;
  const ours: Record<string, { search: Knn; range?: Range; reconstruct: number[][]; index: faiss.IndexBinary }> = {};

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'binary-oracle-'));
    fs.writeFileSync(path.join(dir, 'xb.u8'), xb);
    fs.writeFileSync(path.join(dir, 'xq.u8'), xq);
    // HNSW's graph depends on the order threads insert nodes: one thread on both sides.
    faiss.setNumThreads(1);
    try {
      for (const c of cases) {
        const index = build(c);
        if (c.efConstruction !== undefined) index.efConstruction = c.efConstruction;
        if (c.cls === 'IndexBinaryIVF' || c.trained) {
          await index.train(xt);
          await faiss.writeIndexBinary(index, path.join(dir, `js-trained-${c.name}.index`));
        }
        await index.add(xb);
        const search = knnOf(await index.search(xq, k, c.tunables));
        const range = c.range ? rangeOf(await index.rangeSearch(xq, radius, c.tunables)) : undefined;
        const reconstruct = await Promise.all((c.reconstruct ?? []).map(async (i) => Array.from(await index.reconstruct(i))));
        await faiss.writeIndexBinary(index, path.join(dir, `js-${c.name}.index`));
        ours[c.name] = { search, range, reconstruct, index };
      }
    } finally {
      faiss.setNumThreads(0);
    }
    fs.writeFileSync(path.join(dir, 'spec.json'), JSON.stringify({ d, k, radius, cases }));
    const script = path.resolve(__dirname, '..', '..', '..', 'test', 'support', 'binary_oracle.py');
    execFileSync(PYTHON, [script, dir], { stdio: ['ignore', 'ignore', 'inherit'], timeout: 240_000 });
    python = JSON.parse(fs.readFileSync(path.join(dir, 'python.json'), 'utf8'));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  for (const c of cases) {
    describe(c.name, () => {
      it('search: identical labels and Hamming distances', () => {
        assert.equal(python[c.name].ntotal, nb);
        assert.deepEqual(ours[c.name].search, python[c.name].search);
        // Not a vacuous comparison: every query found k codes.
        assert.ok(!ours[c.name].search.labels.includes(-1));
      });
      if (c.range) {
        it('rangeSearch: identical results', () => {
          assert.deepEqual(ours[c.name].range, python[c.name].range);
          assert.ok(ours[c.name].range!.labels.length > 0, 'the radius finds something');
        });
      }
      if (c.reconstruct) {
        it('reconstruct: the stored codes', () => {
          assert.deepEqual(ours[c.name].reconstruct, python[c.name].reconstruct);
          assert.deepEqual(ours[c.name].reconstruct[0], Array.from(xb.subarray(c.reconstruct![0] * (d / 8), (c.reconstruct![0] + 1) * (d / 8))));
        });
      }
      it('our file, read by Python, answers as our index', () => {
        assert.equal(python[c.name].jsFile.typeName, ours[c.name].index.typeName);
        assert.deepEqual(python[c.name].jsFile.search, ours[c.name].search);
      });
      it("Python's file, read here (through the sandbox), answers as Python's index", async () => {
        const theirs = await faiss.readIndexBinary(path.join(dir, `py-${c.name}.index`));
        assert.equal(theirs.typeName, ours[c.name].index.typeName);
        assert.ok(theirs instanceof faiss.IndexBinary);
        assert.deepEqual(knnOf(await theirs.search(xq, k, c.tunables)), python[c.name].search);
      });
    });
  }
});

// Filtered search: the same selector gives the same labels here and in Debian's
// python3-faiss 1.7.3 (searching the same index file), for every index type that
// filters, except where FAISS comes back with fewer than k results although k
// are selected (native/short_answers.h): there HNSW answers the exact filtered
// search and IVF the one with every list probed; a flat index's filtered answer is exactly a brute-force search of the
// selected vectors; a range search filters the same way.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as faiss from '../../lib';
import { randomVectors } from '../support/data';
import { runFilteredOracle, sameKnn, sameRange } from '../support/oracle';
import { bitmapOf, bruteForce, selectorOf, selects, type Term } from '../support/selector-terms';

const d = 16;
const nb = 2000;
const nq = 20;
const k = 10;
const xb = randomVectors(nb, d, 11);
const xq = randomVectors(nq, d, 12);
const mappedIds = Array.from({ length: nb }, (_, i) => 1000 + 7 * i);
const positions = Array.from({ length: nb }, (_, i) => i);

interface Case {
  name: string;
  make: () => faiss.Index;
  train?: boolean;
  ids?: number[];
  params?: { nprobe?: number; efSearch?: number };
  /** A range search too (types whose FAISS 1.7.3 range search filters). */
  radius?: number;
  /** FAISS's graph search may come back short; the addon then answers exactly. */
  graph?: boolean;
  /** FAISS's IVF search may come back short; the addon then probes every list. */
  ivf?: boolean;
}

const cases: Case[] = [
  { name: 'flat-l2', make: () => new faiss.IndexFlatL2(d), radius: 1.2 },
  { name: 'flat-ip', make: () => new faiss.IndexFlatIP(d), radius: 5.5 },
  { name: 'ivfflat', make: () => new faiss.IndexIVFFlat(new faiss.IndexFlatL2(d), d, 16), train: true, params: { nprobe: 4 }, radius: 1.2, ivf: true },
  { name: 'ivfpq', make: () => new faiss.IndexIVFPQ(new faiss.IndexFlatL2(d), d, 16, 4, 6), train: true, params: { nprobe: 5 }, radius: 1.2, ivf: true },
  { name: 'ivfsq8', make: () => faiss.indexFactory(d, 'IVF16,SQ8'), train: true, params: { nprobe: 4 }, radius: 1.2, ivf: true },
  { name: 'hnsw', make: () => new faiss.IndexHNSWFlat(d, 16), params: { efSearch: 40 }, graph: true },
  { name: 'sq8', make: () => new faiss.IndexScalarQuantizer(d, faiss.ScalarQuantizer.QT_8bit), train: true },
  { name: 'idmap-flat', make: () => new faiss.IndexIDMap(new faiss.IndexFlatL2(d)), ids: mappedIds, radius: 1.2 },
  { name: 'idmap2-hnsw', make: () => new faiss.IndexIDMap2(new faiss.IndexHNSWFlat(d, 16)), ids: mappedIds, params: { efSearch: 40 }, graph: true },
];

/** Selectors over the stored ids (0..nb-1, or an IDMap's ids). */
function termsFor(stored: number[]): Record<string, Term> {
  const every = (step: number, from = 0) => stored.filter((_, i) => i % step === from);
  const range: Term = { kind: 'range', min: stored[300], max: stored[1500] };
  const batch: Term = { kind: 'batch', ids: [...every(3), 99_999_999, -5] };
  const array: Term = { kind: 'array', ids: every(5, 2) };
  const maxId = stored[stored.length - 1];
  const bitmap = bitmapOf(stored.filter((id) => (id * 2654435761) % 10 < 4), (maxId >> 3) + 1);
  return {
    batch,
    array,
    range,
    bitmap,
    // Covers the first half of the ids only: the rest is not selected.
    shortBitmap: bitmapOf(stored, (stored[nb / 2] >> 3) + 1),
    not: { kind: 'not', sel: range },
    and: { kind: 'and', a: batch, b: range },
    or: { kind: 'or', a: array, b: bitmap },
    xor: { kind: 'xor', a: range, b: bitmap },
    // Fewer than k selected: -1 padding.
    few: { kind: 'batch', ids: stored.slice(40, 44) },
  };
}

const asNumbers = (labels: BigInt64Array): number[] => Array.from(labels, Number);
const rowsOf = (a: ArrayLike<number>, q: number) => Array.from({ length: k }, (_, j) => a[q * k + j]);

describe('filtered search', function () {
  this.timeout(300_000);
  const workdir = fs.mkdtempSync(path.join(os.tmpdir(), 'faiss-filtered-'));
  const indexes = new Map<string, faiss.Index>();
  let python: Record<string, Record<string, { labels: number[]; distances: number[]; allLists?: { labels: number[]; distances: number[] }; range?: { lims: number[]; labels: number[]; distances: number[] } }>>;

  before(async () => {
    const spec = { d, k, queries: 'xq.f32', cases: [] as object[] };
    fs.writeFileSync(path.join(workdir, 'xq.f32'), xq);
    for (const c of cases) {
      const index = c.make();
      if (c.train) await index.train(xb);
      if (c.ids) await index.addWithIds(xb, c.ids);
      else await index.add(xb);
      indexes.set(c.name, index);
      await faiss.writeIndex(index, path.join(workdir, `${c.name}.index`));
      spec.cases.push({ name: c.name, file: `${c.name}.index`, ...c.params, radius: c.radius, selectors: termsFor(c.ids ?? positions) });
    }
    fs.writeFileSync(path.join(workdir, 'spec.json'), JSON.stringify(spec));
    runFilteredOracle(workdir);
    python = JSON.parse(fs.readFileSync(path.join(workdir, 'python.json'), 'utf8'));
  });

  after(() => {
    for (const index of indexes.values()) index.dispose();
    fs.rmSync(workdir, { recursive: true, force: true });
  });

  for (const c of cases) {
    for (const name of Object.keys(termsFor(positions))) {
      it(`${c.name}, ${name}: the labels python3-faiss gives with the same selector`, async () => {
        const index = indexes.get(c.name)!;
        const stored = c.ids ?? positions;
        const term = termsFor(stored)[name];
        const got = await index.search(xq, k, { ...c.params, sel: selectorOf(term) });
        const labels = asNumbers(got.labels);
        for (const l of labels) assert.ok(l === -1 || selects(term, l), `label ${l} is not selected`);
        const want = python[c.name][name];
        for (let q = 0; q < nq; q++) {
          const wantRow = { labels: rowsOf(want.labels, q), distances: rowsOf(want.distances, q) };
          const gotRow = { labels: rowsOf(labels, q), distances: rowsOf(got.distances, q) };
          if (c.graph && wantRow.labels.includes(-1)) {
            // FAISS's graph search came back short; the addon answers exactly.
            const exact = bruteForce(xb, stored, xq.subarray(q * d, (q + 1) * d), d, k, term, index.metricType);
            assert.equal(sameKnn(gotRow, exact, k), null, `query ${q} (short in python3-faiss)`);
          } else if (c.ivf && wantRow.labels.includes(-1)) {
            // FAISS's nprobe lists held fewer than k selected vectors; the addon probes every list.
            const all = want.allLists!;
            assert.equal(sameKnn(gotRow, { labels: rowsOf(all.labels, q), distances: rowsOf(all.distances, q) }, k), null, `query ${q} (short in python3-faiss)`);
          } else {
            assert.equal(sameKnn(gotRow, wantRow, k), null, `query ${q}`);
          }
        }
      });
    }
    if (c.radius !== undefined) {
      it(`${c.name}: rangeSearch with a selector gives python3-faiss's results`, async () => {
        const index = indexes.get(c.name)!;
        const term = termsFor(c.ids ?? positions).or;
        const got = await index.rangeSearch(xq, c.radius!, { ...c.params, sel: selectorOf(term) });
        for (const l of got.labels) assert.ok(selects(term, Number(l)));
        const want = python[c.name].or.range!;
        const r = { lims: Array.from(got.lims, Number), labels: asNumbers(got.labels), distances: Array.from(got.distances) };
        assert.ok(want.labels.length > 0, 'the radius finds something');
        assert.equal(sameRange(r, want, c.radius!, true), null);
      });
    }
  }

  for (const c of cases.filter((x) => x.name.startsWith('flat') || x.name === 'idmap-flat')) {
    it(`${c.name}: a filtered search is a brute-force search of exactly the selected vectors`, async () => {
      const index = indexes.get(c.name)!;
      const stored = c.ids ?? positions;
      for (const [name, term] of Object.entries(termsFor(stored))) {
        const got = await index.search(xq, k, { sel: selectorOf(term) });
        const exact = bruteForce(xb, stored, xq, d, k, term, index.metricType);
        assert.equal(sameKnn({ labels: asNumbers(got.labels), distances: got.distances }, exact, k), null, name);
      }
    });
  }
});

// The HNSW search kernel (native/kernels/hnsw_search.h): an IndexHNSWFlat searched
// by the addon's own code over FAISS's graph. Its answers must be FAISS's own, bit
// for bit: the same labels in the same order and the same float distances, ties
// included, against FAISS's own code in this process (the switch off), and against
// python3-faiss on an index file written here. Debian's python3-faiss is a generic
// build whose float sums may differ from our AVX-512 build's in the last bit, which
// can reorder near-ties or steer the graph walk elsewhere at one; so the oracle
// compares exactly on vectors of small integers (every distance exact whatever the
// order of the sum, so every step of the walk must be FAISS's), and within 1e-5 on
// clustered floats. Indexes the kernel does not cover (a graph searched with
// upper_beam 2, HNSW over SQ codes) must still give FAISS's answers. Each search
// also checks, by kernelStats, that the kernel answered it (or counted why not).
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as faiss from '../../lib';
import { graphVectors as vectors, type GraphPattern as Pattern } from '../support/data';
import { assertCloseAnswer } from '../support/flat-answers';
import { expectKernel } from '../support/kernel-stats';
import { PYTHON } from '../support/oracle';


const bits = (a: Float32Array): number[] => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));

function assertSame(ours: faiss.SearchResult, theirs: { labels: ArrayLike<bigint | number>; distances: Float32Array }, what: string): void {
  assert.deepEqual(Array.from(ours.labels, Number), Array.from(theirs.labels, Number), `${what}: labels`);
  assert.deepEqual(bits(ours.distances), bits(theirs.distances), `${what}: distances (bits)`);
}

// On the pool only: a filtered row that comes back short from an inline attempt is searched again there
// (docs/api.md, inline searches), which would count two kernel searches for one call; the answers are the same
// on either thread (test/embedded/inline-search.test.ts).
async function searchSwitched(index: faiss.Index, x: Float32Array, k: number, hnswSearch: boolean, params?: faiss.SearchParams): Promise<faiss.SearchResult> {
  const budget = faiss.getInlineSearchBudget();
  faiss.setKernels({ hnswSearch });
  faiss.setInlineSearchBudget(0);
  try {
    return await index.search(x, k, params);
  } finally {
    faiss.setKernels({ hnswSearch: true });
    faiss.setInlineSearchBudget(budget);
  }
}

/** The search with the switch on or off; on an index the kernel covers, it must have answered it with the switch on (kernelStats), and nothing off. */
function searchWith(index: faiss.Index, x: Float32Array, k: number, hnswSearch: boolean, params?: faiss.SearchParams): Promise<faiss.SearchResult> {
  const what = `switch ${hnswSearch ? 'on' : 'off'}, nq ${x.length / index.d} k ${k}`;
  return expectKernel('hnswSearch', { searches: hnswSearch ? 1 : 0 }, () => searchSwitched(index, x, k, hnswSearch, params), what);
}

/** Switch on and off give the same bits for each (nq, k, efSearch). */
async function assertKernelIsFaiss(index: faiss.Index, pattern: Pattern, cases: [number, number, number | undefined][], what: string): Promise<void> {
  for (const [nq, k, efSearch] of cases) {
    const x = vectors(pattern, nq, index.d, 1000 + nq * 7 + k);
    const params = efSearch === undefined ? undefined : { efSearch };
    const on = await searchWith(index, x, k, true, params);
    const off = await searchWith(index, x, k, false, params);
    assertSame(on, off, `${what} nq ${nq} k ${k} efSearch ${efSearch ?? 'default'}`);
  }
}

async function hnsw(pattern: Pattern, n: number, d: number, M: number, metric: faiss.MetricType): Promise<faiss.Index> {
  const index = new faiss.IndexHNSWFlat(d, M, metric);
  index.efConstruction = 40;
  await index.add(vectors(pattern, n, d, n + d + M));
  return index;
}

const METRICS: [string, faiss.MetricType][] = [
  ['L2', faiss.METRIC_L2],
  ['IP', faiss.METRIC_INNER_PRODUCT],
];

describe('HNSW search kernel (own search kernels)', function () {
  this.timeout(300_000);

  after(() => {
    faiss.setNumThreads(0);
    faiss.setKernels({ hnswSearch: true });
  });

  describe('identical to FAISS (switch off) in this process', () => {
    // [pattern, n, d, M]: d = 128 and 24 take only blocks of 8; 7, 13 and 1 the
    // 4-float and partial tails; integers make many exact ties.
    const datasets: [Pattern, number, number, number][] = [
      ['clustered', 6000, 128, 32],
      ['uniform', 4000, 13, 8],
      ['integers', 5000, 16, 16],
      ['clustered', 3000, 24, 4],
      ['uniform', 2000, 7, 12],
      ['integers', 800, 1, 6],
    ];
    // [nq, k, efSearch]: one query and batches, k = 1, k > efSearch, a k that
    // makes the candidate queue larger than efSearch, efSearch 1.
    const cases: [number, number, number | undefined][] = [
      [1, 1, undefined],
      [1, 10, 64],
      [1, 100, 16],
      [5, 10, 1],
      [40, 5, 200],
      [300, 10, 64],
      [3, 50, 2],
    ];
    for (const [pattern, n, d, M] of datasets) {
      for (const [name, metric] of METRICS) {
        it(`${name}, ${pattern} ${n} x ${d}, M ${M}`, async () => {
          const index = await hnsw(pattern, n, d, M, metric);
          await assertKernelIsFaiss(index, pattern, cases, `${name} ${pattern} ${d}`);
          index.dispose();
        });
      }
    }

    it('k > ntotal pads with label -1 and FAISS\'s distance, for L2 and IP', async () => {
      for (const [name, metric] of METRICS) {
        const index = await hnsw('uniform', 30, 8, 4, metric);
        await assertKernelIsFaiss(index, 'uniform', [[1, 31, undefined], [4, 45, 8], [2, 300, 300]], name);
        const r = await index.search(vectors('uniform', 1, 8, 9), 45);
        // At least the 15 slots past ntotal are empty (the walk may not reach all 30), all at the end.
        const firstEmpty = r.labels.indexOf(-1n);
        assert.ok(firstEmpty >= 0 && firstEmpty <= 30, `${name}: empty slots from ${firstEmpty}`);
        assert.ok(r.labels.subarray(firstEmpty).every((l) => l === -1n), `${name}: only empty slots after the first`);
        const worst = metric === faiss.METRIC_L2 ? 3.4028234663852886e38 : -3.4028234663852886e38;
        assert.ok(r.distances.subarray(firstEmpty).every((v) => v === worst), `${name}: empty slots hold FAISS's worst distance`);
        index.dispose();
      }
    });

    it('a one-vector index and a one-level graph', async () => {
      for (const [, metric] of METRICS) {
        for (const n of [1, 2, 9]) {
          const index = await hnsw('clustered', n, 5, 64, metric);
          await assertKernelIsFaiss(index, 'clustered', [[1, 1, undefined], [3, 4, 1], [2, 10, 16]], `n ${n}`);
          index.dispose();
        }
      }
    });

    it('the default efSearch, the index property and the per-call one', async () => {
      const index = await hnsw('clustered', 4000, 32, 16, faiss.METRIC_L2);
      const x = vectors('clustered', 20, 32, 77);
      for (const ef of [1, 7, 40, 512]) {
        index.efSearch = ef;
        assertSame(await searchWith(index, x, 10, true), await searchWith(index, x, 10, false), `property ${ef}`);
        assertSame(await searchWith(index, x, 10, true, { efSearch: 3 }), await searchWith(index, x, 10, false, { efSearch: 3 }), `per call over ${ef}`);
      }
      index.dispose();
    });

    it('one thread and eight threads give the same answers', async () => {
      const index = await hnsw('clustered', 5000, 32, 16, faiss.METRIC_INNER_PRODUCT);
      const x = vectors('clustered', 257, 32, 5);
      const reference = await searchWith(index, x, 20, false);
      for (const threads of [1, 8, 0]) {
        faiss.setNumThreads(threads);
        assertSame(await searchWith(index, x, 20, true), reference, `${threads} threads`);
      }
      index.dispose();
    });

    it('an index of several MiB: the kernel moves its arrays onto huge pages, with the same answers before, during and after', async function () {
      // native/kernels/huge_pages.h: each search collapses at most one huge page of
      // the stored vectors and one of the neighbour lists, so the answers are
      // compared while that is under way and after; then an add moves the arrays.
      const anonHugeKiB = (): number => Number(/AnonHugePages:\s+(\d+)/.exec(fs.readFileSync('/proc/self/smaps_rollup', 'utf8'))?.[1] ?? 0);
      // Built by FAISS's add: the addon's own build (hnswBuild) would move the arrays itself.
      faiss.setKernels({ hnswBuild: false });
      const index = await hnsw('clustered', 12_000, 128, 16, faiss.METRIC_L2); // 6 MiB of vectors (the lists, 1.6 MiB, stay)
      faiss.setKernels({ hnswBuild: true });
      const x = vectors('clustered', 3, 128, 17);
      const hugeBefore = anonHugeKiB();
      const first = await searchWith(index, x, 10, false);
      for (let i = 0; i < 12; i++) assertSame(await searchWith(index, x, 10, true), first, `search ${i}`);
      const hugeAfter = anonHugeKiB();
      await index.add(vectors('clustered', 6000, 128, 18));
      await assertKernelIsFaiss(index, 'clustered', [[1, 10, undefined], [1, 5, 16], [1, 1, undefined], [1, 20, 64], [1, 10, undefined], [1, 10, 32], [40, 10, 64]], 'after add');
      index.dispose();
      // Where the system grants huge pages on request (THP "madvise" or "always",
      // Linux 6.1 for MADV_COLLAPSE), some must have appeared.
      const thp = fs.existsSync('/sys/kernel/mm/transparent_hugepage/enabled') ? fs.readFileSync('/sys/kernel/mm/transparent_hugepage/enabled', 'utf8') : '[never]';
      const [major, minor] = os.release().split('.').map(Number);
      if (thp.includes('[never]') || major < 6 || (major === 6 && minor < 1)) return;
      assert.ok(hugeAfter >= hugeBefore + 2048, `AnonHugePages ${hugeBefore} kB before the searches, ${hugeAfter} kB after`);
    });

    it('IndexIDMap and IndexIDMap2 over an IndexHNSWFlat translate the same labels', async () => {
      for (const wrap of [faiss.IndexIDMap, faiss.IndexIDMap2]) {
        for (const [name, metric] of METRICS) {
          const inner = new faiss.IndexHNSWFlat(12, 8, metric);
          const index = new wrap(inner);
          const n = 3000;
          await index.addWithIds(vectors('clustered', n, 12, 3), BigInt64Array.from({ length: n }, (_, i) => BigInt(n - i) * 3n));
          for (const [nq, k] of [[1, 1], [6, 30], [1, n + 7]]) {
            const x = vectors('clustered', nq, 12, nq + k);
            const ours = await searchWith(index, x, k, true);
            assertSame(ours, await searchWith(index, x, k, false), `${wrap.name} ${name} nq ${nq} k ${k}`);
            assert.ok(Array.from(ours.labels).every((l) => l === -1n || (l % 3n === 0n && l > 0n)), 'labels are the ids added');
          }
          index.dispose();
        }
      }
    });

    it('concurrent searches with different efSearch each give their own answer', async () => {
      const index = await hnsw('clustered', 5000, 24, 16, faiss.METRIC_L2);
      const calls = Array.from({ length: 16 }, (_, i) => ({ x: vectors('clustered', 1 + (i % 3) * 20, 24, 200 + i), efSearch: [4, 64, 300][i % 3] }));
      const expected: faiss.SearchResult[] = [];
      for (const c of calls) expected.push(await searchWith(index, c.x, 8, false, { efSearch: c.efSearch }));
      const got = await expectKernel('hnswSearch', { searches: calls.length }, () => Promise.all(calls.map((c) => index.search(c.x, 8, { efSearch: c.efSearch }))), 'concurrent');
      got.forEach((g, i) => assertSame(g, expected[i], `call ${i}`));
      index.dispose();
    });

    it('searches after more vectors are added, and after a serialize round trip', async () => {
      const index = await hnsw('clustered', 2000, 16, 8, faiss.METRIC_L2);
      await assertKernelIsFaiss(index, 'clustered', [[10, 10, undefined]], 'before');
      await index.add(vectors('clustered', 3000, 16, 99));
      await assertKernelIsFaiss(index, 'clustered', [[10, 10, undefined], [1, 5, 2]], 'after add');
      const copy = await faiss.deserializeIndex(await faiss.serializeIndex(index));
      const x = vectors('clustered', 30, 16, 4);
      assertSame(await searchWith(copy, x, 10, true), await searchWith(index, x, 10, false), 'round trip');
      copy.dispose();
      index.dispose();
    });
  });

  describe('with an IDSelector: FAISS\'s filtered search, identical (switch off)', () => {
    // FAISS 1.7.3 filters an HNSW search in search_from_candidates: the walk is the
    // unfiltered one, and only the selected vectors it meets enter the results.
    // Shares from 1% (most rows come back short; both are then completed exactly,
    // short_answers.h) to 90%, through every selector kind's is_member.
    const picked = (n: number, percent: number, salt: number): bigint[] => {
      const out: bigint[] = [];
      for (let i = 0; i < n; i++) if ((Math.imul(i + salt, 2654435761) >>> 0) % 100 < percent) out.push(BigInt(i));
      return out;
    };
    function bitmapOf(ids: bigint[], n: number): faiss.IDSelectorBitmap {
      const bits = new Uint8Array(Math.ceil(n / 8));
      for (const id of ids) bits[Number(id) >> 3] |= 1 << (Number(id) & 7);
      return new faiss.IDSelectorBitmap(bits);
    }
    function selectors(n: number): [string, faiss.IDSelector][] {
      return [
        ['batch 1%', new faiss.IDSelectorBatch(BigInt64Array.from(picked(n, 1, 1)))],
        ['bitmap 10%', bitmapOf(picked(n, 10, 2), n)],
        ['range 50%', new faiss.IDSelectorRange(Math.floor(n / 4), Math.floor((3 * n) / 4))],
        ['not 90%', new faiss.IDSelectorNot(new faiss.IDSelectorArray(BigInt64Array.from(picked(n, 10, 3))))],
        ['none', new faiss.IDSelectorRange(n, n + 5)],
      ];
    }
    const datasets: [Pattern, number, number, number][] = [
      ['clustered', 6000, 128, 32],
      ['integers', 5000, 16, 16],
      ['uniform', 2000, 7, 12],
    ];
    // [nq, k, efSearch]
    const cases: [number, number, number][] = [
      [1, 10, 64],
      [1, 10, 16],
      [1, 1, 1],
      [20, 10, 200],
      [5, 50, 32],
    ];
    for (const [pattern, n, d, M] of datasets) {
      for (const [name, metric] of METRICS) {
        it(`${name}, ${pattern} ${n} x ${d}, M ${M}`, async () => {
          const index = await hnsw(pattern, n, d, M, metric);
          for (const [selName, sel] of selectors(n)) {
            for (const [nq, k, efSearch] of cases) {
              const x = vectors(pattern, nq, d, 500 + nq * 7 + k);
              const on = await searchWith(index, x, k, true, { efSearch, sel });
              const off = await searchWith(index, x, k, false, { efSearch, sel });
              assertSame(on, off, `${name} ${pattern} ${selName} nq ${nq} k ${k} efSearch ${efSearch}`);
            }
          }
          index.dispose();
        });
      }
    }

    it('under an IndexIDMap2 (a collection\'s index), the selector asked about the ids', async () => {
      for (const [name, metric] of METRICS) {
        const index = new faiss.IndexIDMap2(new faiss.IndexHNSWFlat(32, 16, metric));
        const n = 4000;
        await index.addWithIds(vectors('clustered', n, 32, 5), BigInt64Array.from({ length: n }, (_, i) => BigInt(i) * 7n + 3n));
        const sel = new faiss.IDSelectorBatch(BigInt64Array.from(picked(n, 20, 4), (i) => i * 7n + 3n));
        for (const [nq, k, efSearch] of cases) {
          const x = vectors('clustered', nq, 32, nq + k);
          const on = await searchWith(index, x, k, true, { efSearch, sel });
          assertSame(on, await searchWith(index, x, k, false, { efSearch, sel }), `${name} nq ${nq} k ${k}`);
          assert.ok(Array.from(on.labels).every((l) => l === -1n || ((l - 3n) % 7n === 0n && picked(n, 20, 4).includes((l - 3n) / 7n))), 'only selected ids');
        }
        index.dispose();
      }
    });
  });

  describe('bad calls are still coded errors', () => {
    it('k = 0, a wrong query length, NaN in a query, efSearch 0', async () => {
      const index = await hnsw('uniform', 500, 4, 8, faiss.METRIC_L2);
      const code = (c: string) => (e: unknown) => faiss.isFaissError(e) && e.code === c;
      await assert.rejects(index.search(new Float32Array(4), 0), code('ERR_INVALID_ARGUMENT'));
      await assert.rejects(index.search(new Float32Array(5), 1), code('ERR_DIMENSION'));
      await assert.rejects(index.search(Float32Array.of(0, NaN, 0, 0), 1), code('ERR_INVALID_ARGUMENT'));
      await assert.rejects(index.search(new Float32Array(4), 1, { efSearch: 0 }), code('ERR_INVALID_ARGUMENT'));
      index.dispose();
    });
  });

  describe('python3-faiss (the oracle) on index files written here', () => {
    // For each case: python reads the file, optionally sets upper_beam (not a
    // setting of ours: FAISS's search takes another path, which the kernel leaves
    // to FAISS) and writes the file back for us, then searches.
    const script = `
import faiss, numpy as np, json, sys
work = sys.argv[1]
spec = json.load(open(work + '/spec.json'))
def hnsw_of(index):
    index = faiss.downcast_index(index)
    if isinstance(index, (faiss.IndexIDMap, faiss.IndexIDMap2)):
        index = faiss.downcast_index(index.index)
    return index.hnsw
out = []
for case in spec:
    index = faiss.read_index(work + '/' + case['file'])
    if case.get('upperBeam'):
        hnsw_of(index).upper_beam = case['upperBeam']
        faiss.write_index(index, work + '/' + case['file'])
    hnsw_of(index).efSearch = case['efSearch']
    x = np.fromfile(work + '/' + case['queries'], dtype='float32').reshape(-1, index.d)
    if 'sel' in case:
        params = faiss.SearchParametersHNSW()
        params.efSearch = case['efSearch']
        sel = faiss.IDSelectorBatch(np.array(case['sel'], dtype='int64'))
        params.sel = sel
        D, I = index.search(x, case['k'], params=params)
    else:
        D, I = index.search(x, case['k'])
    out.append({'labels': I.ravel().tolist(), 'distances': D.ravel().tolist()})
json.dump(out, open(work + '/python.json', 'w'))
`;
    interface Case {
      file: string;
      queries: string;
      k: number;
      efSearch: number;
      upperBeam?: number;
      exact: boolean;
      /** The ids of an IDSelectorBatch, passed in SearchParametersHNSW. */
      sel?: number[];
    }
    type Answer = { labels: number[]; distances: number[] };

    function runPython(work: string, spec: Case[]): Answer[] {
      fs.writeFileSync(path.join(work, 'spec.json'), JSON.stringify(spec));
      execFileSync(PYTHON, ['-c', script, work], { stdio: ['ignore', 'ignore', 'inherit'], timeout: 300_000 });
      return JSON.parse(fs.readFileSync(path.join(work, 'python.json'), 'utf8'));
    }

    function writeQueries(work: string, name: string, x: Float32Array): string {
      fs.writeFileSync(path.join(work, name), Buffer.from(x.buffer, x.byteOffset, x.byteLength));
      return name;
    }

    it('L2 and IP, IDMap, 1 to 200 queries, k = 1 to 100 and k > ntotal: exact on integer vectors, close on floats', async () => {
      const work = fs.mkdtempSync(path.join(os.tmpdir(), 'kernels-hnsw-'));
      try {
        const spec: Case[] = [];
        const ours: faiss.SearchResult[] = [];
        const builds: [string, () => faiss.Index, Pattern, number, number][] = [
          ['int-l2', () => new faiss.IndexHNSWFlat(16, 16, faiss.METRIC_L2), 'integers', 4000, 16],
          ['int-ip', () => new faiss.IndexHNSWFlat(12, 8, faiss.METRIC_INNER_PRODUCT), 'integers', 3000, 12],
          ['int-idmap', () => new faiss.IndexIDMap(new faiss.IndexHNSWFlat(7, 8, faiss.METRIC_L2)), 'integers', 2000, 7],
          ['float-l2', () => new faiss.IndexHNSWFlat(64, 32, faiss.METRIC_L2), 'clustered', 5000, 64],
          ['float-ip', () => new faiss.IndexHNSWFlat(21, 16, faiss.METRIC_INNER_PRODUCT), 'clustered', 3000, 21],
          ['tiny-ip', () => new faiss.IndexHNSWFlat(5, 4, faiss.METRIC_INNER_PRODUCT), 'integers', 20, 5],
        ];
        for (const [name, build, pattern, n, d] of builds) {
          const index = build();
          const x = vectors(pattern, n, d, n + 1);
          if (name.includes('idmap')) await index.addWithIds(x, BigInt64Array.from({ length: n }, (_, i) => BigInt(i) * 5n + 1n));
          else await index.add(x);
          await faiss.writeIndex(index, path.join(work, `${name}.index`));
          for (const [nq, k, efSearch] of [[1, 1, 16], [1, 10, 64], [200, 10, 32], [7, 100, 8], [3, 25, 1]]) {
            const file = writeQueries(work, `${name}-${nq}-${k}.f32`, vectors(pattern, nq, d, nq * k + efSearch));
            const q = vectors(pattern, nq, d, nq * k + efSearch);
            spec.push({ file: `${name}.index`, queries: file, k, efSearch, exact: pattern === 'integers' });
            ours.push(await expectKernel('hnswSearch', { searches: 1 }, () => index.search(q, k, { efSearch }), file));
          }
          index.dispose();
        }
        const python = runPython(work, spec);
        python.forEach((p, i) => {
          const what = spec[i].queries;
          if (spec[i].exact) {
            assertSame(ours[i], { labels: p.labels, distances: Float32Array.from(p.distances) }, what);
          } else {
            assertCloseAnswer(ours[i], p, spec[i].k, what);
          }
        });
      } finally {
        fs.rmSync(work, { recursive: true, force: true });
      }
    });

    it('with an IDSelectorBatch in SearchParametersHNSW: L2 and IP, 2% to 60% selected, exact on integer vectors', async () => {
      // Python's search does not complete short rows (ours does: short_answers.h), so
      // rows python answers in full are compared; most of them are.
      const work = fs.mkdtempSync(path.join(os.tmpdir(), 'kernels-hnsw-sel-'));
      try {
        const spec: Case[] = [];
        const ours: faiss.SearchResult[] = [];
        const builds: [string, faiss.MetricType, Pattern, number, number, number][] = [
          ['int-l2', faiss.METRIC_L2, 'integers', 4000, 16, 16],
          ['int-ip', faiss.METRIC_INNER_PRODUCT, 'integers', 3000, 12, 8],
          ['float-l2', faiss.METRIC_L2, 'clustered', 5000, 64, 32],
        ];
        for (const [name, metric, pattern, n, d, M] of builds) {
          const index = new faiss.IndexHNSWFlat(d, M, metric);
          await index.add(vectors(pattern, n, d, n + 2));
          await faiss.writeIndex(index, path.join(work, `${name}.index`));
          for (const [nq, k, efSearch, percent] of [[1, 10, 64, 60], [50, 10, 32, 10], [20, 10, 200, 2], [7, 30, 16, 30]]) {
            const ids: number[] = [];
            for (let i = 0; i < n; i++) if ((Math.imul(i + efSearch, 2654435761) >>> 0) % 100 < percent) ids.push(i);
            const file = writeQueries(work, `${name}-sel-${nq}-${k}.f32`, vectors(pattern, nq, d, nq * k + efSearch + 1));
            const sel = new faiss.IDSelectorBatch(BigInt64Array.from(ids, BigInt));
            const q = vectors(pattern, nq, d, nq * k + efSearch + 1);
            spec.push({ file: `${name}.index`, queries: file, k, efSearch, exact: pattern === 'integers', sel: ids });
            ours.push(await expectKernel('hnswSearch', { searches: 1 }, () => index.search(q, k, { efSearch, sel }), file));
          }
          index.dispose();
        }
        const python = runPython(work, spec);
        let compared = 0;
        let rows = 0;
        python.forEach((p, i) => {
          const k = spec[i].k;
          for (let q = 0; q < p.labels.length / k; q++) {
            rows++;
            const theirs = p.labels.slice(q * k, (q + 1) * k);
            if (theirs.includes(-1)) continue; // short in python: ours completed it
            compared++;
            const mine = { labels: ours[i].labels.subarray(q * k, (q + 1) * k), distances: ours[i].distances.subarray(q * k, (q + 1) * k) } as faiss.SearchResult;
            const answer = { labels: theirs, distances: p.distances.slice(q * k, (q + 1) * k) };
            if (spec[i].exact) assertSame(mine, { labels: answer.labels, distances: Float32Array.from(answer.distances) }, `${spec[i].queries} query ${q}`);
            else assertCloseAnswer(mine, answer, k, `${spec[i].queries} query ${q}`);
          }
        });
        assert.ok(compared >= rows * 0.75, `${compared} of ${rows} rows full in python`);
      } finally {
        fs.rmSync(work, { recursive: true, force: true });
      }
    });

    it('what the kernel leaves to FAISS still gives FAISS\'s answers: upper_beam 2, HNSW over SQ codes', async () => {
      const work = fs.mkdtempSync(path.join(os.tmpdir(), 'kernels-hnsw-fallback-'));
      try {
        const d = 16;
        const spec: Case[] = [];
        const names: string[] = [];
        const beam = await hnsw('integers', 2000, d, 16, faiss.METRIC_L2);
        await faiss.writeIndex(beam, path.join(work, 'beam.index'));
        beam.dispose();
        const x = vectors('integers', 12, d, 3);
        const queries = writeQueries(work, 'q.f32', x);
        spec.push({ file: 'beam.index', queries, k: 10, efSearch: 32, upperBeam: 2, exact: true });
        names.push('beam.index');
        for (const [name, description] of [['sq', 'HNSW16_SQ8']]) {
          const index = faiss.indexFactory(d, description, faiss.METRIC_L2);
          await index.train(vectors('integers', 3000, d, 8));
          await index.add(vectors('integers', 2000, d, 9));
          await faiss.writeIndex(index, path.join(work, `${name}.index`));
          index.dispose();
          spec.push({ file: `${name}.index`, queries, k: 10, efSearch: 32, exact: false });
          names.push(`${name}.index`);
        }
        // Python first: it sets upper_beam in the beam file.
        const python = runPython(work, spec);
        for (let i = 0; i < spec.length; i++) {
          const index = await faiss.readIndex(path.join(work, names[i]));
          // upper_beam 2 is an IndexHNSWFlat the kernel leaves to FAISS (counted); HNSW over SQ is not its index.
          const expected = names[i] === 'beam.index' ? { searches: 0, fallbacks: { settings: 1 } } : { searches: 0 };
          const on = await expectKernel('hnswSearch', expected, () => searchSwitched(index, x, 10, true, { efSearch: 32 }), names[i]);
          assertSame(on, await searchWith(index, x, 10, false, { efSearch: 32 }), `${names[i]}: switch on and off`);
          if (spec[i].exact) assertSame(on, { labels: python[i].labels, distances: Float32Array.from(python[i].distances) }, names[i]);
          else assertCloseAnswer(on, python[i], 10, names[i]);
          index.dispose();
        }
      } finally {
        fs.rmSync(work, { recursive: true, force: true });
      }
    });
  });
});

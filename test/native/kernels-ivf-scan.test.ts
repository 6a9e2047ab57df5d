// The IVFFlat batch kernel (native/kernels/ivf_scan.h, switch ivfScan) answers
// exactly what FAISS's own code answers: identical labels and identical distances
// (bit for bit) with the switch off and on in the same process, for L2 and inner
// product, k = 1 .. k > ntotal (-1 padding), nprobe 1 .. nlist, clustered and
// uniform data, dimensions with and without FAISS's tail blocks, IDMap wrapping,
// memory-mapped lists; and the same labels as python3-faiss on the same index file.
// Everything the kernel does not take (small batches, IVFPQ, SQ, a PreTransform)
// still answers as before. Each search with the switch on also checks, by
// kernelStats, that the kernel answered it when the batch is large enough
// (n / threads * nprobe >= 2 * nlist), and counted it as too small otherwise. One
// query takes the kernel's one-query search (its lists' distances shared with the
// helper thread, then FAISS's heap order): the second describe below.
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as faiss from '../../lib';
import { ValueColumn } from '../../lib/collections/value-column';
import { randomVectors, rng } from '../support/data';
import { expectKernel, type KernelExpectation } from '../support/kernel-stats';
import { closeTo, PYTHON } from '../support/oracle';

/** n x d from a Gaussian mixture of `clusters` centres (Box-Muller), seeded. */
function clustered(n: number, d: number, clusters: number, seed: number): Float32Array {
  const next = rng(seed);
  const gauss = (): number => Math.sqrt(-2 * Math.log(1 - next())) * Math.cos(2 * Math.PI * next());
  const centres = Array.from({ length: clusters }, () => Float32Array.from({ length: d }, () => 4 * gauss()));
  const out = new Float32Array(n * d);
  for (let i = 0; i < n; i++) {
    const c = centres[Math.floor(next() * clusters)];
    for (let j = 0; j < d; j++) out[i * d + j] = c[j] + gauss();
  }
  return out;
}

/**
 * What the kernel does with n queries on an IVFFlat of nlist lists (ivf_scan.h):
 * it answers one query, and a batch where each thread's slice probes every list
 * twice on average, and otherwise counts the batch as too small. One search on an
 * idle process gets getNumThreads() threads, at most one per query.
 */
function ivfScanDoes(n: number, nprobe: number, nlist: number): KernelExpectation {
  const threads = Math.min(faiss.getNumThreads(), n);
  const answers = n === 1 || Math.floor(n / threads) * Math.min(nprobe, nlist) >= 2 * nlist;
  return answers ? { searches: 1 } : { searches: 0, fallbacks: { smallBatch: 1 } };
}

/**
 * The search with the switch off and on. `kernel`: the nlist of an IVFFlat the
 * kernel takes (then it must do what ivfScanDoes says), or what it must do with
 * the switch on (kernelStats); off, it does nothing.
 */
async function searchBoth(index: faiss.Index, x: Float32Array, k: number, params: faiss.SearchParams & { nprobe: number }, kernel: number | KernelExpectation) {
  const n = x.length / index.d;
  const what = `n ${n} k ${k} nprobe ${params.nprobe}`;
  try {
    faiss.setKernels({ ivfScan: false });
    const off = await expectKernel('ivfScan', { searches: 0 }, () => index.search(x, k, params), `switch off, ${what}`);
    faiss.setKernels({ ivfScan: true });
    const on = await expectKernel('ivfScan', typeof kernel === 'number' ? ivfScanDoes(n, params.nprobe, kernel) : kernel, () => index.search(x, k, params), `switch on, ${what}`);
    return { off, on };
  } finally {
    faiss.setKernels({ ivfScan: true });
  }
}

function assertIdentical(a: faiss.SearchResult, b: faiss.SearchResult, what: string): void {
  assert.deepEqual(Array.from(b.labels), Array.from(a.labels), `${what}: labels`);
  const bits = (r: faiss.SearchResult) => Array.from(new Uint32Array(r.distances.buffer, r.distances.byteOffset, r.distances.length));
  assert.deepEqual(bits(b), bits(a), `${what}: distances`);
}

async function ivf(d: number, nlist: number, metric: faiss.MetricType, xb: Float32Array): Promise<faiss.Index> {
  const quantizer = new faiss.IndexFlat(d, metric);
  const index = new faiss.IndexIVFFlat(quantizer, d, nlist, metric);
  quantizer.dispose();
  await index.train(xb);
  await index.add(xb);
  return index;
}

describe('native: the IVFFlat batch kernel (ivfScan)', function () {
  this.timeout(120_000);
  let dir: string;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kernel-ivf-'));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  const shapes = [
    { name: 'clustered, d 32', d: 32, data: (n: number, d: number, s: number) => clustered(n, d, 12, s) },
    { name: 'uniform, d 20 (FAISS tail of 4)', d: 20, data: (n: number, d: number, s: number) => randomVectors(n, d, s) },
    { name: 'clustered, d 13 (tails of 4 and 1)', d: 13, data: (n: number, d: number, s: number) => clustered(n, d, 6, s) },
  ];
  for (const shape of shapes) {
    for (const metric of [faiss.METRIC_L2, faiss.METRIC_INNER_PRODUCT] as faiss.MetricType[]) {
      it(`${shape.name}, ${metric === faiss.METRIC_L2 ? 'L2' : 'inner product'}: identical to FAISS's own code for k, nprobe and batch sizes`, async () => {
        const xb = shape.data(3000, shape.d, 7);
        const xq = shape.data(300, shape.d, 8);
        const index = await ivf(shape.d, 32, metric, xb);
        try {
          for (const k of [1, 10, 3100]) {
            for (const nprobe of [1, 5, 32]) {
              for (const n of k > 100 ? [67] : [2, 67, 300]) {
                const { off, on } = await searchBoth(index, xq.subarray(0, n * shape.d), k, { nprobe }, 32);
                assertIdentical(off, on, `k ${k} nprobe ${nprobe} n ${n}`);
                if (k === 3100) assert.ok(Array.from(on.labels).includes(-1n), 'k > ntotal: -1 padding');
              }
            }
          }
          // (2 queries and the smaller batches at nprobe 1 are FAISS's own search: below
          // two probes per list per thread.)
        } finally {
          index.dispose();
        }
      });
    }
  }

  it('exact ties across lists (x and -x, searched from 0) keep FAISS\'s labels; setNumThreads 1, 2 and automatic', async () => {
    const d = 16;
    const base = clustered(400, d, 4, 3);
    const xb = new Float32Array(base.length * 2);
    xb.set(base, 0);
    xb.set(base.map((v) => -v), base.length); // |0 - x| = |0 + x|, computed alike: ties in opposite lists
    const xq = new Float32Array(40 * d);
    xq.set(base.subarray(0, 20 * d), 20 * d); // 20 zero queries, then 20 stored vectors
    const index = await ivf(d, 8, faiss.METRIC_L2, xb);
    try {
      for (const threads of [1, 2, 0]) {
        faiss.setNumThreads(threads);
        for (const [k, nprobe] of [[1, 8], [5, 8], [5, 3], [801, 8]]) {
          const { off, on } = await searchBoth(index, xq, k, { nprobe }, 8);
          assertIdentical(off, on, `threads ${threads} k ${k} nprobe ${nprobe}`);
        }
      }
    } finally {
      faiss.setNumThreads(0);
      index.dispose();
    }
  });

  it('under an IDMap (indexFactory IDMap,IVF16,Flat), read memory-mapped, and against python3-faiss on the same file', async () => {
    const d = 24;
    const xb = clustered(2500, d, 10, 11);
    const xq = clustered(30, d, 10, 12);
    const ids = BigInt64Array.from({ length: 2500 }, (_, i) => BigInt(1_000_000 + 7 * i));
    const mapped = faiss.indexFactory(d, 'IDMap,IVF16,Flat');
    await mapped.train(xb);
    await mapped.addWithIds(xb, ids);
    const plain = await ivf(d, 16, faiss.METRIC_L2, xb);
    try {
      const idm = await searchBoth(mapped, xq, 10, { nprobe: 4 }, 16);
      assertIdentical(idm.off, idm.on, 'IDMap');
      assert.ok(Array.from(idm.on.labels).every((l) => l >= 1_000_000n), 'ids translated');

      const file = path.join(dir, 'ivf.index');
      await faiss.writeIndex(plain, file);
      const mm = await faiss.readIndex(file, { mmap: true });
      try {
        const m = await searchBoth(mm, xq, 10, { nprobe: 4 }, 16);
        assertIdentical(m.off, m.on, 'memory-mapped');
        const inMemory = await plain.search(xq, 10, { nprobe: 4 });
        assertIdentical(inMemory, m.on, 'mapped against in memory');
      } finally {
        mm.dispose();
      }

      const queries = path.join(dir, 'xq.f32');
      fs.writeFileSync(queries, new Uint8Array(xq.buffer, xq.byteOffset, xq.byteLength));
      for (const threads of [1, 2]) {
        const out = path.join(dir, `python-${threads}.json`);
        const spec = path.join(dir, 'spec.json');
        fs.writeFileSync(spec, JSON.stringify({ index: file, queries, d, k: 10, nprobe: 4, threads, out }));
        execFileSync(PYTHON, [path.resolve(__dirname, '..', '..', '..', 'test', 'support', 'search_file_oracle.py'), spec], {
          stdio: ['ignore', 'ignore', 'inherit'],
          timeout: 60_000,
        });
        const py = JSON.parse(fs.readFileSync(out, 'utf8')) as { distances: number[]; labels: number[] };
        faiss.setNumThreads(threads);
        const ours = await plain.search(xq, 10, { nprobe: 4 });
        faiss.setNumThreads(0);
        assert.deepEqual(Array.from(ours.labels, Number), py.labels, `python3-faiss, ${threads} threads: labels`);
        assert.equal(closeTo(ours.distances, py.distances), null);
      }
    } finally {
      faiss.setNumThreads(0);
      mapped.dispose();
      plain.dispose();
    }
  });

  it('falls back to FAISS for IVFPQ (4 x 4 bits), IVF with SQ8, a PCA transform, and an untrained or empty index', async () => {
    const d = 16;
    const xb = clustered(2000, d, 8, 21);
    const xq = clustered(25, d, 8, 22);
    for (const description of ['IVF16,PQ4x4', 'IVF16,SQ8', 'PCA8,IVF16,Flat']) {
      const index = faiss.indexFactory(d, description);
      try {
        await index.train(xb);
        await index.add(xb);
        const { off, on } = await searchBoth(index, xq, 5, { nprobe: 4 }, { searches: 0 });
        assertIdentical(off, on, description);
      } finally {
        index.dispose();
      }
    }
    const empty = await ivf(d, 8, faiss.METRIC_L2, xb);
    try {
      await empty.reset();
      const { off, on } = await searchBoth(empty, xq, 3, { nprobe: 2 }, { searches: 0 });
      assertIdentical(off, on, 'emptied');
      assert.ok(Array.from(on.labels).every((l) => l === -1n));
    } finally {
      empty.dispose();
    }
  });

  it('bad calls on an IVFFlat index are still coded errors with the kernel on', async () => {
    const d = 8;
    const index = await ivf(d, 4, faiss.METRIC_L2, clustered(300, d, 3, 31));
    try {
      const cases: [() => Promise<unknown>, string][] = [
        [() => index.search(new Float32Array(2 * d), 0), 'ERR_INVALID_ARGUMENT'],
        [() => index.search(new Float32Array(2 * d + 1), 3), 'ERR_DIMENSION'],
        [() => index.search(new Float32Array(2 * d).fill(NaN), 3), 'ERR_INVALID_ARGUMENT'],
        [() => index.search(new Float32Array(2 * d), 3, { nprobe: 0 }), 'ERR_INVALID_ARGUMENT'],
        [() => index.search(new Float32Array(2 * d), 3, { efSearch: 4 }), 'ERR_UNSUPPORTED'],
      ];
      for (const [call, code] of cases) await assert.rejects(call(), (e: faiss.FaissError) => e.code === code, code);
      // nprobe beyond nlist is FAISS's min(nlist, nprobe), as without the kernel.
      const { off, on } = await searchBoth(index, clustered(5, d, 3, 32), 3, { nprobe: 1000 }, 4);
      assertIdentical(off, on, 'nprobe > nlist');
    } finally {
      index.dispose();
    }
  });
});

/** Each query of xq searched alone, kernel off then on; both answers concatenated. */
async function oneByOne(index: faiss.Index, xq: Float32Array, d: number, k: number, params?: faiss.SearchParams) {
  const n = xq.length / d;
  const join = (parts: faiss.SearchResult[]): faiss.SearchResult => {
    const distances = new Float32Array(n * k);
    const labels = new BigInt64Array(n * k);
    parts.forEach((p, i) => {
      distances.set(p.distances, i * k);
      labels.set(p.labels, i * k);
    });
    return { distances, labels } as faiss.SearchResult;
  };
  const off: faiss.SearchResult[] = [];
  const on: faiss.SearchResult[] = [];
  try {
    faiss.setKernels({ ivfScan: false });
    await expectKernel('ivfScan', { searches: 0 }, async () => {
      for (let i = 0; i < n; i++) off.push(await index.search(xq.subarray(i * d, (i + 1) * d), k, params));
    }, 'one by one, switch off');
    faiss.setKernels({ ivfScan: true });
    // Every one-query search is the kernel's (kernelStats).
    await expectKernel('ivfScan', { searches: n }, async () => {
      for (let i = 0; i < n; i++) on.push(await index.search(xq.subarray(i * d, (i + 1) * d), k, params));
    }, 'one by one, switch on');
  } finally {
    faiss.setKernels({ ivfScan: true });
  }
  return { off: join(off), on: join(on) };
}

// One query: the coarse step (a flat quantizer's distances in chunks, then FAISS's
// result handler) and the lists' distances in chunks of 128 rows, shared with the
// kernels' helper thread, then pushed in FAISS's probe order. The lists here hold
// hundreds of vectors, so a query's rows make many chunks, and each case runs
// dozens of queries in a row (the helper, awake after the first, takes chunks).
describe('native: the IVFFlat one-query kernel (ivfScan, n = 1)', function () {
  this.timeout(180_000);
  let dir: string;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kernel-ivf-one-'));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  const shapes = [
    { name: 'clustered, d 32', d: 32, data: (n: number, d: number, s: number) => clustered(n, d, 12, s) },
    { name: 'uniform, d 20', d: 20, data: (n: number, d: number, s: number) => randomVectors(n, d, s) },
    { name: 'clustered, d 13', d: 13, data: (n: number, d: number, s: number) => clustered(n, d, 6, s) },
  ];
  for (const shape of shapes) {
    for (const metric of [faiss.METRIC_L2, faiss.METRIC_INNER_PRODUCT] as faiss.MetricType[]) {
      it(`${shape.name}, ${metric === faiss.METRIC_L2 ? 'L2' : 'inner product'}: identical to FAISS's own code; nprobe 1, 5, nlist and beyond; k 1, 10 and > ntotal`, async () => {
        const xb = shape.data(4000, shape.d, 41);
        const xq = shape.data(24, shape.d, 42);
        const index = await ivf(shape.d, 16, metric, xb);
        try {
          for (const [k, nprobe] of [[10, 5], [1, 1], [1, 5], [10, 1], [10, 16], [4100, 16], [7, 40]]) {
            const { off, on } = await oneByOne(index, xq, shape.d, k, { nprobe });
            assertIdentical(off, on, `k ${k} nprobe ${nprobe}`);
            if (k === 4100) assert.ok(Array.from(on.labels).includes(-1n), 'k > ntotal: -1 padding');
          }
        } finally {
          index.dispose();
        }
      });
    }
  }

  it('exact ties across lists (x and -x, searched from 0); setNumThreads 1 (no helper), 2 and automatic', async () => {
    const d = 16;
    const base = clustered(600, d, 4, 3);
    const xb = new Float32Array(base.length * 2);
    xb.set(base, 0);
    xb.set(base.map((v) => -v), base.length);
    const xq = new Float32Array(20 * d);
    xq.set(base.subarray(0, 10 * d), 10 * d); // 10 zero queries, then 10 stored vectors
    const index = await ivf(d, 8, faiss.METRIC_L2, xb);
    try {
      for (const threads of [1, 2, 0]) {
        faiss.setNumThreads(threads);
        for (const [k, nprobe] of [[1, 8], [5, 8], [5, 3], [1201, 8]]) {
          const { off, on } = await oneByOne(index, xq, d, k, { nprobe });
          assertIdentical(off, on, `threads ${threads} k ${k} nprobe ${nprobe}`);
        }
      }
    } finally {
      faiss.setNumThreads(0);
      index.dispose();
    }
  });

  it('exact ties everywhere (integer vectors, mirrored and permuted centroids): the coarse step and the lists keep FAISS\'s labels, L2 and inner product', async () => {
    const d = 8;
    const next = rng(71);
    const int = (): number => Math.floor(next() * 5) - 2; // -2 .. 2: sums are exact, distances tie
    const base = Float32Array.from({ length: 4 * d }, int);
    // 16 centroids: 4 vectors, their mirrors, and both reversed (same norms, same
    // inner products with symmetric queries): whole groups at one coarse distance.
    const centroids = new Float32Array(16 * d);
    for (let c = 0; c < 4; c++) {
      for (let j = 0; j < d; j++) {
        const v = base[c * d + j];
        centroids[c * d + j] = v;
        centroids[(c + 4) * d + j] = -v;
        centroids[(c + 8) * d + (d - 1 - j)] = v;
        centroids[(c + 12) * d + (d - 1 - j)] = -v;
      }
    }
    const xb = Float32Array.from({ length: 3000 * d }, int);
    const xq = new Float32Array(16 * d);
    xq.set(Float32Array.from({ length: 12 * d }, int), 4 * d); // 4 zero queries, then 12 integer ones
    for (const metric of [faiss.METRIC_L2, faiss.METRIC_INNER_PRODUCT] as faiss.MetricType[]) {
      const quantizer = new faiss.IndexFlat(d, metric);
      await quantizer.add(centroids);
      const index = new faiss.IndexIVFFlat(quantizer, d, 16, metric);
      quantizer.dispose();
      try {
        await index.add(xb);
        for (const [k, nprobe] of [[1, 1], [5, 1], [5, 3], [10, 6], [40, 16]]) {
          const { off, on } = await oneByOne(index, xq, d, k, { nprobe });
          assertIdentical(off, on, `metric ${metric} k ${k} nprobe ${nprobe}`);
        }
      } finally {
        index.dispose();
      }
    }
  });

  it('a quantizer FAISS answers with a reservoir (nprobe >= 100), a non-flat quantizer (IVF32_HNSW8), and more rows than one pass holds', async () => {
    const d = 8;
    const xb = clustered(9000, d, 20, 51);
    const xq = clustered(12, d, 20, 52);
    const wide = await ivf(d, 128, faiss.METRIC_L2, xb);
    const hnswQuantized = faiss.indexFactory(d, 'IVF32_HNSW8,Flat');
    try {
      for (const nprobe of [99, 100, 128]) {
        const { off, on } = await oneByOne(wide, xq, d, 10, { nprobe });
        assertIdentical(off, on, `nprobe ${nprobe}`);
      }
      await hnswQuantized.train(xb);
      await hnswQuantized.add(xb);
      const h = await oneByOne(hnswQuantized, xq, d, 10, { nprobe: 6 });
      assertIdentical(h.off, h.on, 'IVF32_HNSW8,Flat');
    } finally {
      wide.dispose();
      hnswQuantized.dispose();
    }
    // 70,000 rows in two lists: more than the 65,536 distances one pass holds.
    const big = clustered(70_000, 4, 2, 53);
    const two = await ivf(4, 2, faiss.METRIC_INNER_PRODUCT, big);
    try {
      const { off, on } = await oneByOne(two, clustered(3, 4, 2, 54), 4, 20, { nprobe: 2 });
      assertIdentical(off, on, 'two passes');
    } finally {
      two.dispose();
    }
  });

  it('filtered (a selector): FAISS\'s scan with the selector, identical: bitmap, batch, range, not, a payload column, under an IDMap, exact ties; a filtered batch is FAISS\'s own', async () => {
    const n = 40_000;
    const column = new ValueColumn();
    for (let l = 0; l < n; l++) column.set(l, l % 10 === 3 ? NaN : (l * 7919) % 1000);
    const bits = new Uint8Array(n / 8);
    for (let l = 0; l < n; l++) if ((l * 2654435761) % 97 < 30) bits[l >> 3] |= 1 << (l & 7);
    const selectors: [string, faiss.IDSelector][] = [
      ['bitmap', new faiss.IDSelectorBitmap(bits)],
      ['batch', new faiss.IDSelectorBatch(BigInt64Array.from({ length: 300 }, (_, i) => BigInt(i * 13)))],
      ['range', new faiss.IDSelectorRange(1000, 2500)],
      ['not', new faiss.IDSelectorNot(new faiss.IDSelectorRange(0, 3000))],
      ['payload column, 10%', column.selector({ gte: 100, lt: 200 })],
      ['payload column, one value', column.selector({ gte: 500, lte: 500 })],
    ];
    // 40,000 rows: a query probing every list makes 160 chunks, of which the helper takes some.
    // A filtered search run on the JS thread that comes back short of k is run again on a search lane, where the
    // short answer is completed from the selection (native/workers/search_inline.cc): the kernel would count it
    // twice. Off, each query is one search.
    const budget = faiss.getInlineSearchBudget();
    faiss.setInlineSearchBudget(0);
    try {
      await filteredCases(selectors);
    } finally {
      faiss.setInlineSearchBudget(budget);
    }
  });

  // The cases of the test above: each selector over an IVF16 of 4,000 integer vectors, L2 and inner product.
  async function filteredCases(selectors: [string, faiss.IDSelector][]): Promise<void> {
    const d = 8;
    const next = rng(81);
    const int = (): number => Math.floor(next() * 5) - 2; // -2 .. 2: distances tie
    const n = 40_000;
    const xb = Float32Array.from({ length: n * d }, int);
    const xq = new Float32Array(14 * d);
    xq.set(Float32Array.from({ length: 12 * d }, int), 2 * d); // 2 zero queries, then 12 integer ones
    for (const metric of [faiss.METRIC_L2, faiss.METRIC_INNER_PRODUCT] as faiss.MetricType[]) {
      const index = await ivf(d, 16, metric, xb);
      try {
        for (const [name, sel] of selectors) {
          for (const [k, nprobe] of [[1, 1], [10, 4], [10, 16], [4100, 16]]) {
            const { off, on } = await oneByOne(index, xq, d, k, { nprobe, sel });
            assertIdentical(off, on, `metric ${metric} ${name} k ${k} nprobe ${nprobe}`);
          }
        }
        // A batch with a selector: FAISS's scan, the kernel not asked (nothing counted).
        const batch = xq.subarray(0, 6 * d);
        faiss.setKernels({ ivfScan: false });
        const off = await index.search(batch, 10, { nprobe: 4, sel: selectors[0][1] });
        faiss.setKernels({ ivfScan: true });
        const on = await expectKernel('ivfScan', { searches: 0 }, () => index.search(batch, 10, { nprobe: 4, sel: selectors[0][1] }), 'filtered batch');
        assertIdentical(off, on, 'filtered batch');
      } finally {
        faiss.setKernels({ ivfScan: true });
        index.dispose();
      }
    }
    // Under an IDMap: the selector is asked about ids, the lists hold positions (an IDMap's selector in between).
    const ids = BigInt64Array.from({ length: n }, (_, i) => BigInt(7_000_000 + 5 * i));
    const mapped = faiss.indexFactory(d, 'IDMap2,IVF16,Flat');
    try {
      await mapped.train(xb);
      await mapped.addWithIds(xb, ids);
      const sel = new faiss.IDSelectorBatch(ids.filter((_, i) => i % 4 === 1));
      const { off, on } = await oneByOne(mapped, xq, d, 10, { nprobe: 6, sel });
      assertIdentical(off, on, 'IDMap2');
      assert.ok(Array.from(on.labels).every((l) => l === -1n || (l - 7_000_000n) % 20n === 5n), 'only selected ids');
    } finally {
      mapped.dispose();
    }
  }

  it('under an IDMap, memory-mapped, and against python3-faiss searching the same file one query at a time', async () => {
    const d = 24;
    const xb = clustered(3000, d, 10, 61);
    const xq = clustered(20, d, 10, 62);
    const ids = BigInt64Array.from({ length: 3000 }, (_, i) => BigInt(5_000_000 + 3 * i));
    const mapped = faiss.indexFactory(d, 'IDMap,IVF16,Flat');
    const plain = await ivf(d, 16, faiss.METRIC_L2, xb);
    try {
      await mapped.train(xb);
      await mapped.addWithIds(xb, ids);
      const idm = await oneByOne(mapped, xq, d, 10, { nprobe: 4 });
      assertIdentical(idm.off, idm.on, 'IDMap');
      assert.ok(Array.from(idm.on.labels).every((l) => l >= 5_000_000n), 'ids translated');

      const file = path.join(dir, 'ivf.index');
      await faiss.writeIndex(plain, file);
      const mm = await faiss.readIndex(file, { mmap: true });
      try {
        const m = await oneByOne(mm, xq, d, 10, { nprobe: 4 });
        assertIdentical(m.off, m.on, 'memory-mapped');
      } finally {
        mm.dispose();
      }

      const queries = path.join(dir, 'xq.f32');
      fs.writeFileSync(queries, new Uint8Array(xq.buffer, xq.byteOffset, xq.byteLength));
      const out = path.join(dir, 'python.json');
      const spec = path.join(dir, 'spec.json');
      fs.writeFileSync(spec, JSON.stringify({ index: file, queries, d, k: 10, nprobe: 4, threads: 1, out, oneByOne: true }));
      execFileSync(PYTHON, [path.resolve(__dirname, '..', '..', '..', 'test', 'support', 'search_file_oracle.py'), spec], {
        stdio: ['ignore', 'ignore', 'inherit'],
        timeout: 60_000,
      });
      const py = JSON.parse(fs.readFileSync(out, 'utf8')) as { distances: number[]; labels: number[] };
      const ours = (await oneByOne(plain, xq, d, 10, { nprobe: 4 })).on;
      assert.deepEqual(Array.from(ours.labels, Number), py.labels, 'python3-faiss: labels');
      assert.equal(closeTo(ours.distances, py.distances), null);
    } finally {
      mapped.dispose();
      plain.dispose();
    }
  });
});

// The IVFFlat batch kernel (native/kernels/ivf_scan.h, switch ivfScan) answers
// exactly what FAISS's own code answers: identical labels and identical distances
// (bit for bit) with the switch off and on in the same process, for L2 and inner
// product, k = 1 .. k > ntotal (-1 padding), nprobe 1 .. nlist, clustered and
// uniform data, dimensions with and without FAISS's tail blocks, IDMap wrapping,
// memory-mapped lists; and the same labels as python3-faiss on the same index file.
// Everything the kernel does not take (small batches, IVFPQ, SQ, a PreTransform)
// still answers as before. The batches here are large enough for the kernel to
// run (n / threads * nprobe >= 2 * nlist) unless a case says otherwise.
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as faiss from '../../lib';
import { randomVectors, rng } from '../support/data';
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

async function searchBoth(index: faiss.Index, x: Float32Array, k: number, params?: faiss.SearchParams) {
  try {
    faiss.setKernels({ ivfScan: false });
    const off = await index.search(x, k, params);
    faiss.setKernels({ ivfScan: true });
    const on = await index.search(x, k, params);
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
                const { off, on } = await searchBoth(index, xq.subarray(0, n * shape.d), k, { nprobe });
                assertIdentical(off, on, `k ${k} nprobe ${nprobe} n ${n}`);
                if (k === 3100) assert.ok(Array.from(on.labels).includes(-1n), 'k > ntotal: -1 padding');
              }
            }
          }
          // One query is FAISS's own search (nothing to share), and still right. (2 queries
          // and the smaller batches at nprobe 1 are too: below two probes per list per thread.)
          const single = await searchBoth(index, xq.subarray(0, shape.d), 10, { nprobe: 5 });
          assertIdentical(single.off, single.on, 'one query');
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
          const { off, on } = await searchBoth(index, xq, k, { nprobe });
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
      const idm = await searchBoth(mapped, xq, 10, { nprobe: 4 });
      assertIdentical(idm.off, idm.on, 'IDMap');
      assert.ok(Array.from(idm.on.labels).every((l) => l >= 1_000_000n), 'ids translated');

      const file = path.join(dir, 'ivf.index');
      await faiss.writeIndex(plain, file);
      const mm = await faiss.readIndex(file, { mmap: true });
      try {
        const m = await searchBoth(mm, xq, 10, { nprobe: 4 });
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
        const { off, on } = await searchBoth(index, xq, 5, { nprobe: 4 });
        assertIdentical(off, on, description);
      } finally {
        index.dispose();
      }
    }
    const empty = await ivf(d, 8, faiss.METRIC_L2, xb);
    try {
      await empty.reset();
      const { off, on } = await searchBoth(empty, xq, 3, { nprobe: 2 });
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
      const { off, on } = await searchBoth(index, clustered(5, d, 3, 32), 3, { nprobe: 1000 });
      assertIdentical(off, on, 'nprobe > nlist');
    } finally {
      index.dispose();
    }
  });
});

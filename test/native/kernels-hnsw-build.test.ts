// The HNSW construction kernel (native/kernels/hnsw_build.h): IndexHNSWFlat.add
// and IndexIDMap(2).addWithIds over one, by the addon's own code on FAISS's graph.
// With one thread its graph must be FAISS's bit for bit: the index file written
// after a build with the switch on is byte for byte the one written with it off,
// and the one python3-faiss writes after building the same data with one thread.
// Debian's python3-faiss is a generic build whose float sums may differ from ours
// in the last bit, which can change a pruning decision; so that comparison uses
// vectors of small integers (every distance exact whatever the order of the sum).
// With several threads neither FAISS's build nor the kernel's is deterministic:
// there the graph must search as well as FAISS's own (recall@10 against exact
// search) and python3-faiss must read and search the file.
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as faiss from '../../lib';
import { graphVectors as vectors, type GraphPattern as Pattern } from '../support/data';
import { PYTHON } from '../support/oracle';


const METRICS: [string, faiss.MetricType][] = [
  ['L2', faiss.METRIC_L2],
  ['IP', faiss.METRIC_INNER_PRODUCT],
];

interface Build {
  d: number;
  M: number;
  metric: faiss.MetricType;
  efConstruction: number;
  /** The adds, in order; with ids, the index is an IndexIDMap (or IndexIDMap2 with idMap2). */
  parts: { x: Float32Array; ids?: BigInt64Array }[];
  idMap2?: boolean;
}

async function build(b: Build, hnswBuild: boolean): Promise<faiss.Index> {
  const inner = new faiss.IndexHNSWFlat(b.d, b.M, b.metric);
  const withIds = b.parts.some((p) => p.ids);
  const index = !withIds ? inner : b.idMap2 ? new faiss.IndexIDMap2(inner) : new faiss.IndexIDMap(inner);
  if (index !== inner) inner.dispose(); // the wrapper holds its own copy
  index.efConstruction = b.efConstruction; // (set on the inner index before wrapping, the copy would not keep it)
  faiss.setKernels({ hnswBuild });
  try {
    for (const p of b.parts) {
      if (p.ids) await index.addWithIds(p.x, p.ids);
      else await index.add(p.x);
    }
  } finally {
    faiss.setKernels({ hnswBuild: true });
  }
  return index;
}

/** The file written after a build with the switch off and on: byte for byte the same. */
async function assertSameGraph(b: Build, what: string): Promise<Buffer> {
  const off = await build(b, false);
  const on = await build(b, true);
  const fileOff = await faiss.serializeIndex(off);
  const fileOn = await faiss.serializeIndex(on);
  assert.equal(on.ntotal, off.ntotal, `${what}: ntotal`);
  assert.ok(fileOn.equals(fileOff), `${what}: the index files differ (${fileOn.length} and ${fileOff.length} bytes)`);
  off.dispose();
  on.dispose();
  return fileOn;
}

async function recallAt10(index: faiss.Index, xb: Float32Array, xq: Float32Array, metric: faiss.MetricType, d: number): Promise<number> {
  const exact = metric === faiss.METRIC_L2 ? new faiss.IndexFlatL2(d) : new faiss.IndexFlatIP(d);
  await exact.add(xb);
  const truth = (await exact.search(xq, 10)).labels;
  exact.dispose();
  const got = (await index.search(xq, 10)).labels;
  let hits = 0;
  for (let q = 0; q < got.length / 10; q++) {
    const row = new Set(truth.subarray(q * 10, q * 10 + 10));
    for (let i = 0; i < 10; i++) if (row.has(got[q * 10 + i])) hits++;
  }
  return hits / got.length;
}

describe('HNSW construction kernel (own kernels: hnswBuild)', function () {
  this.timeout(600_000);

  before(() => faiss.setNumThreads(1));
  after(() => {
    faiss.setNumThreads(0);
    faiss.setKernels({ hnswBuild: true });
  });

  describe('one thread: the same graph as FAISS (switch off), byte for byte', () => {
    // [pattern, n, d, M, efConstruction]: d = 128 and 32 take blocks of 8 only,
    // 13 and 7 the partial tails, 1 a single float; M 2 to 64 (M 64 with 40
    // candidates leaves the upper lists unpruned); integers make many ties.
    const datasets: [Pattern, number, number, number, number][] = [
      ['clustered', 3000, 128, 32, 40],
      ['uniform', 3000, 13, 8, 40],
      ['integers', 3000, 16, 16, 40],
      ['clustered', 2500, 32, 4, 16],
      ['uniform', 1500, 7, 2, 8],
      ['clustered', 1200, 24, 64, 40],
      ['integers', 600, 1, 6, 40],
    ];
    for (const [pattern, n, d, M, efConstruction] of datasets) {
      for (const [name, metric] of METRICS) {
        it(`${name}, ${pattern} ${n} x ${d}, M ${M}, efConstruction ${efConstruction}`, async () => {
          await assertSameGraph({ d, M, metric, efConstruction, parts: [{ x: vectors(pattern, n, d, n + d + M) }] }, `${name} ${pattern}`);
        });
      }
    }

    it('efConstruction 1 and 300', async () => {
      for (const efConstruction of [1, 300]) {
        await assertSameGraph({ d: 16, M: 8, metric: faiss.METRIC_L2, efConstruction, parts: [{ x: vectors('clustered', 1500, 16, 5) }] }, `efConstruction ${efConstruction}`);
      }
    });

    it('adds in several calls, of 1, 2 and many vectors, to an empty and a non-empty graph', async () => {
      for (const [name, metric] of METRICS) {
        const x = vectors('clustered', 2600, 20, 11);
        const cuts = [0, 1, 3, 700, 701, 2600];
        const parts = cuts.slice(1).map((end, i) => ({ x: x.subarray(cuts[i] * 20, end * 20) }));
        await assertSameGraph({ d: 20, M: 12, metric, efConstruction: 40, parts }, `${name} in ${parts.length} adds`);
      }
    });

    it('efConstruction changed between adds', async () => {
      const off = await build({ d: 12, M: 8, metric: faiss.METRIC_L2, efConstruction: 40, parts: [{ x: vectors('uniform', 1000, 12, 1) }] }, false);
      const on = await build({ d: 12, M: 8, metric: faiss.METRIC_L2, efConstruction: 40, parts: [{ x: vectors('uniform', 1000, 12, 1) }] }, true);
      for (const [index, hnswBuild] of [[off, false], [on, true]] as const) {
        index.efConstruction = 7;
        faiss.setKernels({ hnswBuild });
        await index.add(vectors('uniform', 800, 12, 2));
        index.efConstruction = 120;
        await index.add(vectors('uniform', 600, 12, 3));
        faiss.setKernels({ hnswBuild: true });
      }
      assert.ok((await faiss.serializeIndex(on)).equals(await faiss.serializeIndex(off)));
      off.dispose();
      on.dispose();
    });

    it('an add to an index read from a file', async () => {
      const first = await build({ d: 24, M: 16, metric: faiss.METRIC_INNER_PRODUCT, efConstruction: 40, parts: [{ x: vectors('clustered', 1500, 24, 7) }] }, false);
      const file = await faiss.serializeIndex(first);
      first.dispose();
      const more = vectors('clustered', 1500, 24, 8);
      const results: Buffer[] = [];
      for (const hnswBuild of [false, true]) {
        const index = await faiss.deserializeIndex(file);
        faiss.setKernels({ hnswBuild });
        await index.add(more);
        faiss.setKernels({ hnswBuild: true });
        results.push(await faiss.serializeIndex(index));
        index.dispose();
      }
      assert.ok(results[0].equals(results[1]));
    });

    it('IndexIDMap and IndexIDMap2 over an IndexHNSWFlat: the same graph and ids; IDMap2 reconstructs by id', async () => {
      for (const idMap2 of [false, true]) {
        for (const [name, metric] of METRICS) {
          const x = vectors('clustered', 2000, 10, 3);
          const ids = BigInt64Array.from({ length: 2000 }, (_, i) => BigInt(2000 - i) * 7n);
          const parts = [
            { x: x.subarray(0, 1200 * 10), ids: ids.subarray(0, 1200) },
            { x: x.subarray(1200 * 10), ids: ids.subarray(1200) },
          ];
          await assertSameGraph({ d: 10, M: 8, metric, efConstruction: 40, parts, idMap2 }, `${idMap2 ? 'IDMap2' : 'IDMap'} ${name}`);
          const index = await build({ d: 10, M: 8, metric, efConstruction: 40, parts, idMap2 }, true);
          assert.equal(index.ntotal, 2000);
          if (metric === faiss.METRIC_L2) {
            const r = await index.search(x.subarray(5 * 10, 6 * 10), 1);
            assert.equal(r.labels[0], ids[5], `${name}: a stored vector finds its own id`);
          }
          if (idMap2) {
            for (const i of [0, 1199, 1200, 1999]) assert.deepEqual(Array.from(await index.reconstruct(ids[i])), Array.from(x.subarray(i * 10, i * 10 + 10)));
          }
          index.dispose();
        }
      }
    });

    it('a build of several MiB moves the vectors onto huge pages (where the system grants them)', () => {
      // In a child process: memory moved onto huge pages and freed stays with
      // malloc, and a later index of this process (the search kernel's huge-page
      // test) would start on it.
      const script = `
const faiss = require(${JSON.stringify(path.resolve(__dirname, '..', '..', 'lib'))});
const fs = require('node:fs');
const anonHugeKiB = () => Number(/AnonHugePages:\\s+(\\d+)/.exec(fs.readFileSync('/proc/self/smaps_rollup', 'utf8'))[1]);
(async () => {
  faiss.setNumThreads(1);
  const x = new Float32Array(12000 * 128); // 6 MiB of vectors
  for (let i = 0; i < x.length; i++) x[i] = (i * 7919 % 1000) / 1000;
  const before = anonHugeKiB();
  const index = new faiss.IndexHNSWFlat(128, 16);
  await index.add(x);
  console.log(JSON.stringify({ before, after: anonHugeKiB() }));
})();`;
      const { before, after } = JSON.parse(execFileSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 300_000 })) as { before: number; after: number };
      // Where the system grants huge pages on request (THP "madvise" or "always",
      // Linux 6.1 for MADV_COLLAPSE), some must have appeared under the index.
      const thp = fs.existsSync('/sys/kernel/mm/transparent_hugepage/enabled') ? fs.readFileSync('/sys/kernel/mm/transparent_hugepage/enabled', 'utf8') : '[never]';
      const [major, minor] = os.release().split('.').map(Number);
      if (thp.includes('[never]') || major < 6 || (major === 6 && minor < 1)) return;
      assert.ok(after >= before + 2048, `AnonHugePages ${before} kB before, ${after} kB with the index built`);
    });

    it('FAISS_PROXY_HNSW_BUILD_PROFILE: one line per build, every node inserted once, shared out among the threads', () => {
      // In a child process: the variable is read by the addon at each build.
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hnsw-profile-'));
      const file = path.join(dir, 'profile.jsonl');
      try {
        const script = `
const faiss = require(${JSON.stringify(path.resolve(__dirname, '..', '..', 'lib'))});
(async () => {
  faiss.setNumThreads(2);
  const x = new Float32Array(3000 * 16);
  for (let i = 0; i < x.length; i++) x[i] = (i * 7919 % 1000) / 1000;
  const index = new faiss.IndexHNSWFlat(16, 8);
  await index.add(x.subarray(0, 2000 * 16));
  await index.add(x.subarray(2000 * 16));
  faiss.setKernels({ hnswBuild: false });
  await index.add(x.subarray(0, 500 * 16)); // FAISS's add: no line
})();`;
        execFileSync(process.execPath, ['-e', script], { env: { ...process.env, FAISS_PROXY_HNSW_BUILD_PROFILE: file }, timeout: 120_000 });
        const lines = fs.readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
        assert.deepEqual(lines.map((p) => [p.n, p.ntotalBefore, p.team]), [[2000, 0, 2], [1000, 2000, 2]]);
        for (const p of lines) {
          assert.deepEqual(Object.keys(p.phases), ['buffers', 'storageAdd', 'levelsAndHugePages']);
          assert.equal(p.levels.reduce((a: number, l: { nodes: number }) => a + l.nodes, 0), p.n, 'every new node on one level');
          for (const l of p.levels) {
            assert.equal(l.team, l.nodes > 100 ? 2 : 1, `level ${l.level}: ${l.nodes} nodes`);
            assert.equal(l.threads.length, l.team);
            assert.equal(l.threads.reduce((a: number, t: { nodes: number }) => a + t.nodes, 0), l.nodes, `level ${l.level}: each node inserted once`);
            for (const t of l.threads) assert.ok(t.busyMs <= l.wallMs + 1e-3 && t.cpuMs >= 0 && t.idleAtEndMs >= -1e-3, JSON.stringify(t));
          }
        }
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });

    it('what the kernel leaves to FAISS still builds as before: HNSW over SQ codes, HNSW under a PCA', async () => {
      for (const description of ['HNSW16_SQ8', 'PCA8,HNSW16']) {
        const files: Buffer[] = [];
        for (const hnswBuild of [false, true]) {
          const index = faiss.indexFactory(16, description, faiss.METRIC_L2);
          await index.train(vectors('clustered', 2000, 16, 1));
          faiss.setKernels({ hnswBuild });
          await index.add(vectors('clustered', 1500, 16, 2));
          faiss.setKernels({ hnswBuild: true });
          files.push(await faiss.serializeIndex(index));
          index.dispose();
        }
        assert.ok(files[0].equals(files[1]), description);
      }

    });
  });

  describe('python3-faiss (the oracle)', () => {
    const script = `
import faiss, numpy as np, json, sys
work = sys.argv[1]
spec = json.load(open(work + '/spec.json'))
faiss.omp_set_num_threads(1)
for case in spec:
    if 'build' in case:
        b = case['build']
        metric = faiss.METRIC_L2 if b['metric'] == 'L2' else faiss.METRIC_INNER_PRODUCT
        inner = faiss.IndexHNSWFlat(b['d'], b['M'], metric)
        inner.hnsw.efConstruction = b['efConstruction']
        index = faiss.IndexIDMap(inner) if b['idMap'] else inner
        for part in b['parts']:
            x = np.fromfile(work + '/' + part['x'], dtype='float32').reshape(-1, b['d'])
            if 'ids' in part:
                index.add_with_ids(x, np.fromfile(work + '/' + part['ids'], dtype='int64'))
            else:
                index.add(x)
        faiss.write_index(index, work + '/' + case['out'])
    else:
        index = faiss.read_index(work + '/' + case['file'])
        faiss.downcast_index(index).hnsw.efSearch = 64
        x = np.fromfile(work + '/' + case['queries'], dtype='float32').reshape(-1, index.d)
        D, I = index.search(x, 10)
        json.dump({'labels': I.ravel().tolist(), 'distances': D.ravel().tolist()}, open(work + '/' + case['out'], 'w'))
`;
    const save = (work: string, name: string, a: Float32Array | BigInt64Array): string => {
      fs.writeFileSync(path.join(work, name), Buffer.from(a.buffer, a.byteOffset, a.byteLength));
      return name;
    };
    const runPython = (work: string, spec: unknown[]): void => {
      fs.writeFileSync(path.join(work, 'spec.json'), JSON.stringify(spec));
      execFileSync(PYTHON, ['-c', script, work], { stdio: ['ignore', 'ignore', 'inherit'], timeout: 300_000 });
    };

    it('one thread, integer vectors: python3-faiss builds the same file (L2, IP, two adds, IDMap, M 4 to 32)', async () => {
      const work = fs.mkdtempSync(path.join(os.tmpdir(), 'kernels-hnsw-build-'));
      try {
        const cases: [string, Build][] = [
          ['l2', { d: 16, M: 16, metric: faiss.METRIC_L2, efConstruction: 40, parts: [{ x: vectors('integers', 3000, 16, 1) }] }],
          ['ip', { d: 12, M: 8, metric: faiss.METRIC_INNER_PRODUCT, efConstruction: 40, parts: [{ x: vectors('integers', 2500, 12, 2) }] }],
          ['two-adds', { d: 9, M: 4, metric: faiss.METRIC_L2, efConstruction: 20, parts: [{ x: vectors('integers', 900, 9, 3) }, { x: vectors('integers', 1100, 9, 4) }] }],
          ['idmap', { d: 32, M: 32, metric: faiss.METRIC_L2, efConstruction: 64, parts: [{ x: vectors('integers', 2000, 32, 5), ids: BigInt64Array.from({ length: 2000 }, (_, i) => BigInt(i) * 3n + 1n) }] }],
        ];
        const spec: unknown[] = [];
        const ours: Buffer[] = [];
        for (const [name, b] of cases) {
          const index = await build(b, true);
          ours.push(await faiss.serializeIndex(index));
          index.dispose();
          spec.push({
            out: `${name}.index`,
            build: {
              d: b.d, M: b.M, efConstruction: b.efConstruction, metric: b.metric === faiss.METRIC_L2 ? 'L2' : 'IP', idMap: b.parts.some((p) => p.ids),
              parts: b.parts.map((p, i) => ({ x: save(work, `${name}-${i}.f32`, p.x), ...(p.ids ? { ids: save(work, `${name}-${i}.i64`, p.ids) } : {}) })),
            },
          });
        }
        runPython(work, spec);
        cases.forEach(([name], i) => {
          const theirs = fs.readFileSync(path.join(work, `${name}.index`));
          assert.ok(ours[i].equals(theirs), `${name}: our file (${ours[i].length} bytes) is not python's (${theirs.length})`);
        });
      } finally {
        fs.rmSync(work, { recursive: true, force: true });
      }
    });

    it('several threads: recall@10 as FAISS\'s own builds, and python3-faiss searches the file as we do', async () => {
      const work = fs.mkdtempSync(path.join(os.tmpdir(), 'kernels-hnsw-build-mt-'));
      try {
        const spec: unknown[] = [];
        const ours: faiss.SearchResult[] = [];
        const d = 32;
        for (const threads of [2, 0]) {
          faiss.setNumThreads(threads);
          for (const pattern of ['clustered', 'uniform', 'integers'] as Pattern[]) {
            for (const [name, metric] of METRICS) {
              // (Inner products of these unnormalised clusters are a search HNSW does
              // poorly, recall 0.4 +- 0.05 from build to build: too loose to compare.)
              if (pattern === 'clustered' && metric === faiss.METRIC_INNER_PRODUCT) continue;
              const xb = vectors(pattern, 4000, d, 21);
              const xq = vectors(pattern, 200, d, 22);
              // Several builds each, alternating: a build with several threads
              // differs from the next (FAISS's own, recall@10 by up to a few
              // hundredths on the clustered data), so each side's mean is compared:
              // after 3 builds each, and when those differ by more than the margin
              // (a busy machine interleaves the threads differently from build to
              // build), after 9, which a kernel that builds worse graphs still fails.
              const recall: Record<string, number[]> = { false: [], true: [] };
              const mean = (a: number[]) => a.reduce((x, y) => x + y, 0) / a.length;
              const close = () => mean(recall.true) >= mean(recall.false) - 0.015;
              for (let round = 0; round < 9 && (round < 3 || !close()); round++) {
                for (const hnswBuild of round % 2 ? [true, false] : [false, true]) {
                  const index = await build({ d, M: 16, metric, efConstruction: 40, parts: [{ x: xb }] }, hnswBuild);
                  index.efSearch = 128;
                  recall[String(hnswBuild)].push(await recallAt10(index, xb, xq, metric, d));
                  if (hnswBuild && round === 0 && pattern === 'integers') {
                    const file = `${name}-${threads}.index`;
                    await faiss.writeIndex(index, path.join(work, file));
                    spec.push({ file, queries: save(work, `${name}-${threads}.q`, xq), out: `${name}-${threads}.json` });
                    ours.push(await index.search(xq, 10, { efSearch: 64 }));
                  }
                  index.dispose();
                }
              }
              assert.ok(close(),
                `${threads} threads, ${pattern} ${name}: recall@10 ${recall.true} (kernel) against ${recall.false} (FAISS)`);
            }
          }
        }
        runPython(work, spec);
        spec.forEach((c, i) => {
          const theirs = JSON.parse(fs.readFileSync(path.join(work, (c as { out: string }).out), 'utf8')) as { labels: number[]; distances: number[] };
          assert.deepEqual(Array.from(ours[i].labels, Number), theirs.labels, `case ${i}: labels`);
          assert.deepEqual(Array.from(ours[i].distances), theirs.distances, `case ${i}: distances`);
        });
      } finally {
        faiss.setNumThreads(1);
        fs.rmSync(work, { recursive: true, force: true });
      }
    });
  });

  describe('bad calls are still coded errors', () => {
    const code = (c: string) => (e: unknown) => faiss.isFaissError(e) && e.code === c;

    it('a wrong vector length, NaN, ids on a bare HNSW, add without ids on an IDMap', async () => {
      const index = new faiss.IndexHNSWFlat(4, 8);
      await assert.rejects(index.add(new Float32Array(5)), code('ERR_DIMENSION'));
      await assert.rejects(index.add(Float32Array.of(0, NaN, 0, 0)), code('ERR_INVALID_ARGUMENT'));
      await assert.rejects(index.addWithIds(new Float32Array(4), BigInt64Array.of(1n)), (e: unknown) => faiss.isFaissError(e));
      assert.equal(index.ntotal, 0);
      const mapped = new faiss.IndexIDMap(index);
      await assert.rejects(mapped.add(new Float32Array(4)), (e: unknown) => faiss.isFaissError(e));
      assert.equal(mapped.ntotal, 0);
      mapped.dispose();
      index.dispose();
    });

    it('the per-call memory limit covers the kernel\'s buffers: ERR_RESOURCE_LIMIT, the index unchanged', async () => {
      // 300,000 one-float vectors: FAISS's own estimate (a visited byte per
      // vector and thread) passes 1 MiB; the kernel's (also a lock byte per
      // vector and the insertion order, 4 bytes a vector) does not.
      const index = new faiss.IndexHNSWFlat(1, 4);
      const x = vectors('uniform', 300_000, 1, 1);
      faiss.setMemoryLimits({ perCallBytes: 2 ** 20 });
      try {
        await assert.rejects(index.add(x), code('ERR_RESOURCE_LIMIT'));
        assert.equal(index.ntotal, 0);
        faiss.setKernels({ hnswBuild: false });
        await index.add(x.subarray(0, 1000));
        assert.equal(index.ntotal, 1000);
      } finally {
        faiss.setKernels({ hnswBuild: true });
        faiss.setMemoryLimits({ perCallBytes: 2 ** 30 });
        index.dispose();
      }
    });
  });
});

// The addon's side of npm run bench:faiss: one round in a child process, the addon
// chosen by FAISS_PROXY_ADDON (the parent sets it per side). bench/faiss_python.py
// does the same with a Python FAISS, step for step.
//   node dist/bench/lib/faiss-addon-side.js '<SideConfig json>'
import { performance } from 'node:perf_hooks';
import * as lib from '../../lib';
import { readF32Prefix, writeI64 } from './common';
import { INDEXES, labelsFile, type IndexKind, type SearchSchedule, type SearchTimes, type SideConfig, type SideResult } from './faiss-rows';

type Switches = Record<string, boolean>;
/**
 * The addon's own search kernels have one switch each (docs/api.md, "Own search
 * kernels"). Older builds have none, and a build may have only some of them:
 * detect, and only ever set the switches getKernels() lists.
 */
const kernelApi = lib as unknown as { getKernels?: () => Switches; setKernels?: (s: Switches) => void };

function setAllKernels(on: boolean): void {
  const current = kernelApi.getKernels?.();
  if (current && kernelApi.setKernels) kernelApi.setKernels(Object.fromEntries(Object.keys(current).map((name) => [name, on])));
}

async function timeSearches(index: lib.Index, xq: Float32Array, c: SideConfig, kind: IndexKind, s: SearchSchedule, off: boolean): Promise<SearchTimes> {
  const { d, k, nq } = c.shape;
  const query = (i: number): Float32Array => xq.subarray(i * d, (i + 1) * d);
  for (let i = 0; i < s.warmup; i++) await index.search(query(nq - 1 - (i % nq)), k);

  const singleMs: number[] = [];
  const singleLabels = new BigInt64Array(Math.min(s.singleQueries, nq) * k);
  const singleEnd = performance.now() + s.singleBudgetS * 1e3;
  for (let i = 0; i < s.singleQueries && performance.now() < singleEnd; i++) {
    const q = query(i % nq);
    const t0 = performance.now();
    const { labels } = await index.search(q, k);
    singleMs.push(performance.now() - t0);
    if (i < nq) singleLabels.set(labels, i * k);
  }
  writeI64(labelsFile(c.labelsPrefix, kind, 'single', off), singleLabels.subarray(0, Math.min(singleMs.length, nq) * k));

  const batchMs: number[] = [];
  const batchEnd = performance.now() + s.batchBudgetS * 1e3;
  for (let r = 0; r < s.batchRepeats && performance.now() < batchEnd; r++) {
    const t0 = performance.now();
    const { labels } = await index.search(xq, k);
    batchMs.push(performance.now() - t0);
    if (r === 0) writeI64(labelsFile(c.labelsPrefix, kind, 'batch', off), labels);
  }
  return { singleMs, batchMs };
}

async function main(): Promise<void> {
  const c = JSON.parse(process.argv[2]) as SideConfig;
  const { d, nb, nq, hnswN, ivfTrainN } = c.shape;
  if (c.fixThreads) lib.setNumThreads(c.threads);
  const xb = readF32Prefix(c.basePath, nb * d);
  const xq = readF32Prefix(c.queryPath, nq * d);
  const kernels = kernelApi.getKernels?.();
  const measureOff = c.kernelsOff && kernels !== undefined && Object.keys(kernels).length > 0;

  const search = {} as Record<IndexKind, SearchTimes>;
  const searchOff = {} as Record<IndexKind, SearchTimes>;
  const timeBoth = async (index: lib.Index, kind: IndexKind): Promise<void> => {
    const passes = !measureOff ? [false] : c.offFirst ? [true, false] : [false, true];
    for (const off of passes) {
      setAllKernels(!off);
      const times = await timeSearches(index, xq, c, kind, c.schedules[kind], off);
      if (off) searchOff[kind] = times;
      else search[kind] = times;
    }
    setAllKernels(true);
  };

  // An index left out (--only) has no samples.
  for (const kind of INDEXES) search[kind] = searchOff[kind] = { singleMs: [], batchMs: [] };
  if (c.only.includes('flat')) {
    const flat = new lib.IndexFlatL2(d);
    await flat.add(xb);
    await timeBoth(flat, 'flat');
    flat.dispose();
  }

  /**
   * Builds an index with the kernels on (the one searched) and, where the
   * kernels-off figures are measured, once more with them off (disposed), in the
   * round's order.
   */
  const buildBoth = async (build: () => Promise<lib.Index>): Promise<{ index: lib.Index; ms: number; cpuMs: number; offMs: number }> => {
    let index: lib.Index | undefined;
    let ms = NaN;
    let cpuMs = NaN;
    let offMs = NaN;
    for (const off of !measureOff ? [false] : c.offFirst ? [true, false] : [false, true]) {
      setAllKernels(!off);
      const t0 = performance.now();
      const cpu0 = process.cpuUsage();
      const built = await build();
      if (off) {
        offMs = performance.now() - t0;
        built.dispose();
      } else {
        ms = performance.now() - t0;
        const cpu = process.cpuUsage(cpu0);
        cpuMs = (cpu.user + cpu.system) / 1e3;
        index = built;
      }
    }
    setAllKernels(true);
    return { index: index as lib.Index, ms, cpuMs, offMs };
  };

  const buildMs = { hnsw: NaN, ivf: NaN };
  const buildCpuMs: { hnsw: number | null; ivf: number | null } = { hnsw: null, ivf: null };
  const buildMsOff = { hnsw: NaN, ivf: NaN };
  if (c.only.includes('hnsw')) {
    const built = await buildBoth(async () => {
      const hnsw = new lib.IndexHNSWFlat(d, c.shape.hnswM);
      hnsw.efConstruction = c.shape.efConstruction;
      await hnsw.add(xb.subarray(0, hnswN * d));
      return hnsw;
    });
    [buildMs.hnsw, buildMsOff.hnsw, buildCpuMs.hnsw] = [built.ms, built.offMs, built.cpuMs];
    const hnsw = built.index as lib.IndexHNSWFlat;
    hnsw.efSearch = c.shape.efSearch;
    await timeBoth(hnsw, 'hnsw');
    hnsw.dispose();
  }

  if (c.only.includes('ivf')) {
    const built = await buildBoth(async () => {
      const ivf = lib.indexFactory(d, `IVF${c.shape.ivfNlist},Flat`);
      // An addon older than kmeansSeed (--addon) has none to read: it would train with 1234 whatever the round's seed.
      if (ivf.kmeansSeed === undefined) throw new Error('this addon has no kmeansSeed: it cannot train IVF with the round\'s k-means seed (use --only flat,hnsw)');
      ivf.kmeansSeed = c.ivfSeed;
      await ivf.train(xb.subarray(0, ivfTrainN * d));
      await ivf.add(xb);
      return ivf;
    });
    [buildMs.ivf, buildMsOff.ivf, buildCpuMs.ivf] = [built.ms, built.offMs, built.cpuMs];
    const ivf = built.index;
    ivf.nprobe = c.shape.nprobe;
    await timeBoth(ivf, 'ivf');
    ivf.dispose();
  }

  const info = lib.buildInfo();
  const result: SideResult = {
    faissVersion: info.faissVersion,
    build: `${info.isa} (${info.compileOptions.trim()})`,
    threads: lib.getNumThreads(),
    buildMs,
    buildCpuMs,
    search,
    ...(measureOff ? { searchOff, buildMsOff } : {}),
    ...(kernels ? { kernels } : {}),
  };
  process.stdout.write(JSON.stringify(result) + '\n');
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});

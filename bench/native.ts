// Embedded binding vs Debian's python3-faiss on the same bytes: search latency
// (single query and 1,000-query batch) for Flat L2 and HNSW, and how much a big
// batch search delays the event loop. Run with `npm run bench:native`; the figures
// go to stdout as a table and to bench/results/native.json. Nothing here asserts
// on time: the machine may be shared, so targets are reported, not enforced.
// Both sides inherit the environment the run started with, so e.g. OMP_WAIT_POLICY=passive
// set for the run applies to both (it matters on a busy machine: see the report).
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { callerEnv } from './lib/caller-env'; // first: before '../lib' changes process.env
import { buildInfo, getInlineSearchBudget, getNumThreads, Index, poolStats, IndexFlatL2, IndexHNSWFlat, readIndex, writeIndex } from '../lib';
import { fmtMs, formatTable, measureSearch, percentile, randomMatrix as randomRows, writeF32 } from './lib/common';

const D = 128;
const NB = 200_000;
const NQ = 1_000;
const K = 10;
const SEED = 1234;
const HNSW_M = 32;
const EF_SEARCH = 16; // FAISS's default, set explicitly on both sides
// FAISS's default efConstruction (40) makes this build take 10+ minutes on 2 cores;
// 16 is ~3x faster. It only shapes the graph, which both sides then search as is.
const HNSW_EF_CONSTRUCTION = 16;
// Should the machine be too busy to finish, the graph holds the vectors added in
// time (reported); both sides still search the same file.
const HNSW_BUILD_BUDGET_S = 180;
const HNSW_CHUNK = 10_000;

// The same schedule runs on both sides, once per round. Every loop stops at its
// count or its time budget, whichever comes first, so a busy machine still finishes.
const schedule = {
  warmup: 10,
  singleQueries: 100,
  singleBudgetS: 15,
  batchRepeats: 3,
  batchBudgetS: 30,
};
// Binding and Python alternate (B,P then P,B, ...) so that load from other tenants
// of the machine falls on both sides alike: single-query samples are pooled over
// the rounds, and a batch figure is the best of all its repeats.
const ROUNDS = 4;
const ELD_RESOLUTION_MS = 1; // fine enough to see a few-ms stall; ~1,000 samples per second
const ELD_BATCHES = 5;
const ELD_BUDGET_S = 30;

const TARGET_RATIO = 1.05;
const TARGET_ELD_MS = 5;

const PYTHON = process.env.FAISS_PROXY_PYTHON ?? '/usr/bin/python3';
const ROOT = path.resolve(__dirname, '..', '..');
const PY_SCRIPT = path.join(ROOT, 'bench', 'native_python.py');
const RESULTS = path.join(ROOT, 'bench', 'results', 'native.json');

type Kind = 'flat' | 'hnsw';
interface Measured {
  singleMs: number[];
  batchMs: number[];
}
type Round = Record<Kind, Measured>;
interface PythonRound extends Round {
  hnswOneThreadSingleMs: number[];
  faissVersion: string;
  defaultThreads: number;
  threads: number;
}

// Seeded rows (mulberry32, shared with bench/harness.ts); written to disk for Python.
const randomMatrix = (rows: number, seed: number): Float32Array => randomRows(rows, D, seed);

const measure = (index: Index, xq: Float32Array): ReturnType<typeof measureSearch> => measureSearch(index, xq, D, K, schedule);

function runPython(config: object & { order: Kind[] }): PythonRound {
  const stdout = execFileSync(PYTHON, [PY_SCRIPT, JSON.stringify(config)], {
    env: callerEnv,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    timeout: 300_000,
  });
  return JSON.parse(stdout) as PythonRound;
}

const pooled = (rounds: Round[], kind: Kind, key: keyof Measured): number[] => rounds.flatMap((r) => r[kind][key]);

function mismatches(ours: BigInt64Array, theirsFile: string): number {
  const buf = fs.readFileSync(theirsFile);
  const theirs = new BigInt64Array(buf.buffer, buf.byteOffset, buf.byteLength / 8);
  if (theirs.length !== ours.length) return Math.max(theirs.length, ours.length);
  let n = 0;
  for (let i = 0; i < ours.length; i++) if (ours[i] !== theirs[i]) n++;
  return n;
}

interface Eld {
  p99Ms: number;
  rawP99Ms: number;
  maxMs: number;
  ticks: number;
}

/** Runs `work` with a fine-grained event-loop monitor on. */
async function eventLoopDelay(work: () => Promise<unknown>): Promise<Eld> {
  const h = monitorEventLoopDelay({ resolution: ELD_RESOLUTION_MS });
  h.enable();
  await work();
  h.disable();
  // The histogram records the interval between timer ticks, which includes the
  // tick period itself; what exceeds the period is the delay.
  const rawP99Ms = h.percentile(99) / 1e6;
  return { p99Ms: Math.max(0, rawP99Ms - ELD_RESOLUTION_MS), rawP99Ms, maxMs: h.max / 1e6, ticks: h.count };
}

interface Row {
  operation: string;
  binding: number;
  python: number | null;
  target: string;
  ok: boolean | null;
}

function printTable(rows: Row[]): void {
  console.log(
    formatTable(
      ['operation', 'binding', 'python', 'ratio', 'target', 'ok?'],
      rows.map((r) => [
        r.operation,
        fmtMs(r.binding),
        r.python === null ? '-' : fmtMs(r.python),
        r.python === null ? '-' : (r.binding / r.python).toFixed(3),
        r.target,
        r.ok === null ? '-' : r.ok ? 'yes' : 'NO',
      ]),
    ),
  );
}

async function main(): Promise<void> {
  const started = performance.now();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'faiss-bench-'));
  try {
    const xb = randomMatrix(NB, SEED);
    const xq = randomMatrix(NQ, SEED + 1);
    const basePath = path.join(dir, 'base.f32');
    const queryPath = path.join(dir, 'queries.f32');
    const hnswPath = path.join(dir, 'hnsw.index');
    writeF32(basePath, xb);
    writeF32(queryPath, xq);

    const flat = new IndexFlatL2(D);
    await flat.add(xb);

    // Built once here and read back by both sides, so both search the same graph
    // (an HNSW build depends on thread timing and would differ between builds).
    console.log(`building HNSW${HNSW_M} over ${NB} x ${D} (once, at most ${HNSW_BUILD_BUDGET_S} s) ...`);
    const tBuild = performance.now();
    const built = new IndexHNSWFlat(D, HNSW_M);
    built.efConstruction = HNSW_EF_CONSTRUCTION;
    const buildEnd = tBuild + HNSW_BUILD_BUDGET_S * 1e3;
    for (let i = 0; i < NB && performance.now() < buildEnd; i += HNSW_CHUNK) {
      await built.add(xb.subarray(i * D, Math.min(NB, i + HNSW_CHUNK) * D));
    }
    const hnswBuildS = (performance.now() - tBuild) / 1e3;
    const hnswN = built.ntotal;
    await writeIndex(built, hnswPath);
    built.dispose();
    const hnsw = await readIndex(hnswPath);
    hnsw.efSearch = EF_SEARCH;

    // The addon's automatic count gives one lone call every core; Python gets
    // OpenMP's default. The helper reports both and aligns to ours if they differ.
    const threads = getNumThreads();
    const pyConfig = { ...schedule, d: D, k: K, efSearch: EF_SEARCH, threads, dir, basePath, queryPath, hnswPath };

    const ours: Round[] = [];
    const theirs: PythonRound[] = [];
    let lastLabels: Record<Kind, BigInt64Array> = { flat: new BigInt64Array(0), hnsw: new BigInt64Array(0) };
    // How many of the binding's searches ran inline on the JS thread (docs/api.md#inline-searches).
    const inlineCount: Record<Kind, number> = { flat: 0, hnsw: 0 };
    const counted = async (kind: Kind, index: Index): ReturnType<typeof measure> => {
      const before = poolStats().inlineSearches;
      const m = await measure(index, xq);
      inlineCount[kind] += poolStats().inlineSearches - before;
      return m;
    };
    const warmHnswMs: number[] = [];
    const runBinding = async (order: Kind[]): Promise<void> => {
      const m = {} as Record<Kind, Awaited<ReturnType<typeof measure>>>;
      for (const kind of order) {
        m[kind] = await counted(kind, kind === 'flat' ? flat : hnsw);
        // The counterpart of Python's one-thread pass: more single queries right after HNSW's batches.
        if (kind === 'hnsw') warmHnswMs.push(...(await measureSearch(hnsw, xq, D, K, { ...schedule, batchRepeats: 0 })).singleMs);
      }
      ours.push({ flat: { singleMs: m.flat.singleMs, batchMs: m.flat.batchMs }, hnsw: { singleMs: m.hnsw.singleMs, batchMs: m.hnsw.batchMs } });
      lastLabels = { flat: m.flat.labels, hnsw: m.hnsw.labels };
    };
    const orders: Kind[][] = [];
    for (let round = 0; round < ROUNDS; round++) {
      // Both sides search the two indexes in the same order, flat first in the first
      // half of the rounds and HNSW first in the second: an HNSW query right after a
      // 100 MB flat scan is several times slower than on pages just touched, so each
      // kind is measured as often in either position on both sides.
      const order: Kind[] = round < ROUNDS / 2 ? ['flat', 'hnsw'] : ['hnsw', 'flat'];
      orders.push(order);
      console.log(`round ${round + 1}/${ROUNDS} (${round % 2 === 0 ? 'binding, python' : 'python, binding'}; ${order.join(' then ')}) ...`);
      if (round % 2 === 0) {
        await runBinding(order);
        theirs.push(runPython({ ...pyConfig, order }));
      } else {
        theirs.push(runPython({ ...pyConfig, order }));
        await runBinding(order);
      }
    }
    // Each Python run leaves its batch labels behind; all runs searched the same indexes.
    const sameResults = {
      flatMismatches: mismatches(lastLabels.flat, path.join(dir, 'python-flat.i64')),
      hnswMismatches: mismatches(lastLabels.hnsw, path.join(dir, 'python-hnsw.i64')),
    };

    const idle = await eventLoopDelay(() => new Promise((r) => setTimeout(r, 1000)));
    const eldEnd = performance.now() + ELD_BUDGET_S * 1e3;
    let eldBatches = 0;
    const busy = await eventLoopDelay(async () => {
      for (; eldBatches < ELD_BATCHES && performance.now() < eldEnd; eldBatches++) await flat.search(xq, K);
    });

    const rows: Row[] = [];
    const ratioRow = (operation: string, b: number, p: number, enforced: boolean): void => {
      rows.push({
        operation,
        binding: b,
        python: p,
        target: enforced ? `<= ${TARGET_RATIO}` : '(info)',
        ok: enforced ? b / p <= TARGET_RATIO : null,
      });
    };
    for (const kind of ['flat', 'hnsw'] as const) {
      const label = kind === 'flat' ? 'Flat L2' : `HNSW${HNSW_M} ef=${EF_SEARCH}`;
      const [bs, ps] = [pooled(ours, kind, 'singleMs'), pooled(theirs, kind, 'singleMs')];
      ratioRow(`${label}: 1-query search, median`, percentile(bs, 50), percentile(ps, 50), true);
      // A p99 of a few hundred samples is the few slowest queries: mostly scheduler noise here.
      ratioRow(`${label}: 1-query search, p99`, percentile(bs, 99), percentile(ps, 99), false);
      const [bb, pb] = [pooled(ours, kind, 'batchMs'), pooled(theirs, kind, 'batchMs')];
      ratioRow(`${label}: ${NQ}-query batch, best of ${bb.length}/${pb.length}`, Math.min(...bb), Math.min(...pb), true);
    }
    const oneThread = theirs.flatMap((r) => r.hnswOneThreadSingleMs);
    ratioRow(`HNSW${HNSW_M} ef=${EF_SEARCH}: 1-query median after HNSW batches, python omp_set_num_threads(1)`, percentile(warmHnswMs, 50), percentile(oneThread, 50), false);
    rows.push({
      operation: `event-loop delay p99 during ${eldBatches} flat batches`,
      binding: busy.p99Ms,
      python: null,
      target: `< ${TARGET_ELD_MS} ms`,
      ok: busy.p99Ms < TARGET_ELD_MS,
    });

    const info = buildInfo();
    const py = theirs[theirs.length - 1];
    const samples = (rounds: Round[]): string => `${pooled(rounds, 'flat', 'singleMs').length}/${pooled(rounds, 'hnsw', 'singleMs').length}`;
    console.log();
    console.log(`faiss ${info.faissVersion} (addon) / ${py.faissVersion} (python3-faiss); ${info.cores} cores; node ${process.version}; load ${os.loadavg()[0].toFixed(2)}`);
    console.log(`data: ${NB} x ${D} float32 base, ${NQ} queries, k=${K}`);
    console.log(
      `HNSW build (binding, once, efConstruction=${HNSW_EF_CONSTRUCTION}): ${hnswBuildS.toFixed(1)} s, ${hnswN} vectors` +
        (hnswN < NB ? ` (build budget ran out: HNSW figures are over the first ${hnswN})` : ''),
    );
    const env = (name: string): string => `${name}=${process.env[name] ?? '(unset)'}`;
    const pyEnv = (name: string): string => `${callerEnv[name] ?? '(unset)'}`;
    console.log(`OpenMP threads: binding ${threads}, python ${py.threads} (python default ${py.defaultThreads}); ${env('OMP_WAIT_POLICY')}, ${env('OPENBLAS_NUM_THREADS')}, ` +
      `${env('OPENBLAS_THREAD_TIMEOUT')} (python: ${pyEnv('OPENBLAS_THREAD_TIMEOUT')}, its own default unless given; lib/native.ts sets 4)`);
    console.log(`${ROUNDS} alternating rounds; 1-query samples (flat/hnsw): binding ${samples(ours)}, python ${samples(theirs)}`);
    // The same medians split by what ran just before (rounds with that kind first / second).
    const byPosition = (kind: Kind, first: boolean): string => {
      const pick = (rounds: Round[]): number[] => rounds.filter((_, i) => (orders[i][0] === kind) === first).flatMap((r) => r[kind].singleMs);
      return `${fmtMs(percentile(pick(ours), 50))} vs ${fmtMs(percentile(pick(theirs), 50))}`;
    };
    for (const kind of ['flat', 'hnsw'] as const) {
      console.log(`1-query median, binding vs python, ${kind}: searched first ${byPosition(kind, true)}; after the other index's searches ${byPosition(kind, false)}`);
    }
    console.log(
      `binding searches run inline (budget ${getInlineSearchBudget()} us; warm-ups included): flat ${inlineCount.flat}, hnsw ${inlineCount.hnsw} ` +
        `of ${ROUNDS * (schedule.warmup + schedule.singleQueries)} one-query searches each`,
    );
    console.log();
    printTable(rows);
    console.log();
    console.log(
      `event loop (${ELD_RESOLUTION_MS} ms timer; delay = tick interval - ${ELD_RESOLUTION_MS} ms): busy p99 ${busy.p99Ms.toFixed(3)} ms ` +
        `(interval p99 ${busy.rawP99Ms.toFixed(3)} ms, max ${busy.maxMs.toFixed(1)} ms, ${busy.ticks} ticks); idle p99 ${idle.p99Ms.toFixed(3)} ms`,
    );
    console.log(`batch labels differing from python: flat ${sameResults.flatMismatches}/${NQ * K}, hnsw ${sameResults.hnswMismatches}/${NQ * K}`);
    const totalS = (performance.now() - started) / 1e3;
    console.log(`total ${totalS.toFixed(0)} s`);

    fs.mkdirSync(path.dirname(RESULTS), { recursive: true });
    const json = {
      generatedAt: new Date().toISOString(),
      environment: {
        node: process.version, faiss: info.faissVersion, cores: info.cores, loadavg: os.loadavg(),
        ompWaitPolicy: process.env.OMP_WAIT_POLICY ?? null, openblasNumThreads: process.env.OPENBLAS_NUM_THREADS ?? null,
        openblasThreadTimeout: process.env.OPENBLAS_THREAD_TIMEOUT ?? null,
      },
      config: {
        d: D, nb: NB, nq: NQ, k: K, seed: SEED, hnswM: HNSW_M, hnswEfConstruction: HNSW_EF_CONSTRUCTION,
        hnswVectors: hnswN, efSearch: EF_SEARCH, rounds: ROUNDS, ...schedule,
      },
      threads: { binding: threads, python: py.threads, pythonDefault: py.defaultThreads },
      inlineSearches: { budgetUs: getInlineSearchBudget(), ...inlineCount },
      hnswBuildS,
      rows: rows.map((r) => ({ ...r, ratio: r.python === null ? null : r.binding / r.python })),
      orders,
      warmHnswSingleMs: warmHnswMs,
      samples: { binding: ours, python: theirs.map(({ flat: f, hnsw: h, hnswOneThreadSingleMs }) => ({ flat: f, hnsw: h, hnswOneThreadSingleMs })) },
      eventLoop: { resolutionMs: ELD_RESOLUTION_MS, batches: eldBatches, busy, idle },
      sameResults,
      totalS,
    };
    fs.writeFileSync(RESULTS, JSON.stringify(json, null, 2) + '\n');
    console.log(`figures written to ${path.relative(process.cwd(), RESULTS)}`);
    flat.dispose();
    hnsw.dispose();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});

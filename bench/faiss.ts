// npm run bench:faiss: this addon against a current FAISS from pip (faiss-cpu, in a
// venv the bench makes itself: bench/lib/python-faiss.ts), in the same run, on the
// same clustered data (a seeded Gaussian mixture), over issue 14's eight rows:
//   flat 200k x 128: 1 query; 1,000-query batch
//   HNSW32 over the first 50k: build (efConstruction 40); 1 query; batch (efSearch 64)
//   IVF1024,Flat over 200k: build (train on the first 50k, add all); 1 query; batch (nprobe 16)
// Per row: the medians of each side, the ratio addon / pip (target <= 1.0), and each
// side's 10-recall@10 against the exact answer (float64, numpy; target: the addon's no
// lower than FAISS's own). Recall is compared as a measurement: every round builds
// each index anew on both sides (IVF with the round's k-means seed, 1234 + round, the
// same on both sides; HNSW another graph each time), each build's recall over the
// 1,000-query batch is one sample, paired by round, and the verdict is on the mean
// paired difference: "not lower" when it is >= -2 standard errors (bench/lib/paired-recall.ts). Where the addon has its own kernels (getKernels), the
// same searches and builds also with them off (each build twice per round, in the
// order the round's searches take: kernels off first every other round). And the
// flat single query's scan rate against this machine's measured memory bandwidth
// (target >= 40%).
//
// Two FAISS builds cannot share a process: each side runs each round in a child
// process (bench/lib/faiss-addon-side.ts, bench/faiss_python.py), the sides in the
// order A B then B A, so that other tenants' load falls on both alike; single-query
// and batch samples are pooled over the rounds, builds are one sample per round.
// No new round starts once the time budget is spent (at least 2 rounds run).
// Nothing asserts on time: the figures go to stdout and bench/results/faiss.json.
//
// Options: --addon <path> (repeatable: compare builds, e.g. avx2 against avx512, in
// one run; default: the addon the library loads), --python <path> (a Python with
// faiss and numpy, instead of pip's), --threads N (both sides; default: every core,
// the addon on its automatic setting), --rounds N (at most; default 6),
// --budget-s S (default 420), --scale F (smaller data for a smoke run: F x the rows),
// --only flat,hnsw,ivf (some indexes only: their rows; default all three),
// --recall-samples N (builds per index and side the recall comparison pairs, at least;
// default 6: where the time budget stopped the rounds earlier, recall-only rounds
// follow, which build HNSW and IVF and search the batch once, untimed),
// --profile-build (where the addon's own HNSW construction spends its wall time:
// per build, its serial phases and per level each thread's work, CPU time, wait at
// the level's end and lock waits; bench/lib/hnsw-build-profile.ts).
import { ompWaitPolicyDefaulted } from './lib/omp-env'; // first: sets what every child's libgomp reads
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { readAddonBuildInfo } from '../lib/addon-cpu'; // reads a JSON file: loads no addon
import { argOption, benchCacheDir, fmtMs, formatTable, positiveNumberOption, readI64, writeF32 } from './lib/common';
import { addRound, emptyPooled, figure, median, recordRecall, type Pooled } from './lib/faiss-pooled';
import { ROWS, INDEXES, labelsFile, recallAtK, type BenchShape, type IndexKind, type Row, type SearchSchedule, type SideConfig, type SideResult } from './lib/faiss-rows';
import { gaussianMixture, MIXTURE_VERSION, type Mixture } from './lib/gaussian-mixture';
import { formatBuildProfiles, PROFILE_ENV, readBuildProfiles } from './lib/hnsw-build-profile';
import { measureMemoryBandwidth, type MemoryBandwidth } from './lib/memory-bandwidth';
import { NOT_LOWER_SE, pairedRecall, type PairedRecall } from './lib/paired-recall';
import { pythonFaiss, type PythonFaiss } from './lib/python-faiss';

const ROOT = path.resolve(__dirname, '..', '..');
const ADDON_SIDE = path.join(__dirname, 'lib', 'faiss-addon-side.js');
const PY_SIDE = path.join(ROOT, 'bench', 'faiss_python.py');
const RESULTS = path.join(ROOT, 'bench', 'results', 'faiss.json');

const SCALE = positiveNumberOption('--scale', 1);
const scaled = (n: number): number => Math.max(1_000, Math.round(n * SCALE));
const SHAPE: BenchShape = {
  d: 128,
  k: 10,
  nb: scaled(200_000),
  nq: 1_000,
  hnswN: scaled(50_000),
  hnswM: 32,
  efConstruction: 40,
  efSearch: 64,
  ivfNlist: 1024,
  ivfTrainN: scaled(50_000),
  nprobe: 16,
};
// 32 clusters: with 100, every cluster fits in the 16 lists an IVF query probes and
// IVF recall is 1.0 on both sides, which says nothing; with 20 it was 0.72 (pip's, 200k).
const MIXTURE: Mixture = { d: SHAPE.d, clusters: 32, seed: 1234 };
const SCHEDULES: Record<IndexKind, SearchSchedule> = {
  flat: { warmup: 5, singleQueries: 60, singleBudgetS: 6, batchRepeats: 3, batchBudgetS: 12 },
  hnsw: { warmup: 20, singleQueries: 400, singleBudgetS: 3, batchRepeats: 5, batchBudgetS: 6 },
  ivf: { warmup: 20, singleQueries: 400, singleBudgetS: 3, batchRepeats: 5, batchBudgetS: 6 },
};
// A recall-only round: the builds and one batch (its labels), nothing timed that counts.
const RECALL_ONLY: SearchSchedule = { warmup: 0, singleQueries: 0, singleBudgetS: 0, batchRepeats: 1, batchBudgetS: 1e6 };
const RECALL_SAMPLES = positiveNumberOption('--recall-samples', 6);
/** Round r's IVF k-means seed on both sides: FAISS's default (1234) first. */
const ivfSeedOf = (round: number): number => 1234 + round;
const MAX_ROUNDS = positiveNumberOption('--rounds', 6);
const MIN_ROUNDS = Math.min(2, MAX_ROUNDS);
const BUDGET_S = positiveNumberOption('--budget-s', 420);
const CHILD_TIMEOUT_MS = 300_000;
const THREADS = positiveNumberOption('--threads', os.cpus().length);
const FIX_THREADS = argOption('--threads') !== undefined;
const ONLY: IndexKind[] = (() => {
  const v = argOption('--only');
  if (v === undefined) return [...INDEXES];
  const kinds = v.split(',');
  const bad = kinds.filter((k) => !(INDEXES as readonly string[]).includes(k));
  if (bad.length > 0 || kinds.length === 0) throw new Error(`--only takes a comma-separated list of ${INDEXES.join(', ')}; got ${v}`);
  return kinds as IndexKind[];
})();
const SHOWN_ROWS = ROWS.filter((row) => ONLY.includes(row.kind));
const PROFILE_BUILD = process.argv.includes('--profile-build');
const ADDONS = process.argv.flatMap((a, i) => (a === '--addon' ? [path.resolve(process.argv[i + 1])] : a.startsWith('--addon=') ? [path.resolve(a.slice(8))] : []));

const TARGET_RATIO = 1.0;
const TARGET_BANDWIDTH_SHARE = 0.4;

type SideName = string;
interface Side {
  name: SideName;
  /** Where the addon side's HNSW builds write their profiles (--profile-build). */
  profileFile?: string;
  run: (config: SideConfig) => SideResult;
  isAddon: boolean;
}
function lastJsonLine<T>(stdout: string): T {
  return JSON.parse(stdout.trim().split('\n').pop() as string) as T;
}

function runChild<T>(cmd: string, args: string[], env: NodeJS.ProcessEnv): T {
  const r = spawnSync(cmd, args, { encoding: 'utf8', env, stdio: ['ignore', 'pipe', 'inherit'], timeout: CHILD_TIMEOUT_MS, maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`${path.basename(cmd)} ${path.basename(args[0])} failed: ${r.error?.message ?? `exit ${r.status}, signal ${r.signal}`}`);
  return lastJsonLine<T>(r.stdout);
}

/** One addon side; `addon` undefined: the one the library loads. Named by the instruction set it was built for. */
function addonSide(addon: string | undefined, taken: Set<string>, dir: string): Side {
  const profileFile = PROFILE_BUILD ? path.join(dir, `hnsw-build-profile-${taken.size}.jsonl`) : undefined;
  const env = { ...process.env, ...(addon ? { FAISS_PROXY_ADDON: addon } : {}), ...(profileFile ? { [PROFILE_ENV]: profileFile } : {}) };
  let name = addon ? `addon ${readAddonBuildInfo(addon)?.isa ?? path.basename(path.dirname(path.dirname(addon)))}` : 'addon';
  for (let n = 2; taken.has(name); n++) name = `${name.replace(/ #\d+$/, '')} #${n}`;
  taken.add(name);
  return { name, isAddon: true, profileFile, run: (c) => runChild<SideResult>(process.execPath, [ADDON_SIDE, JSON.stringify(c)], env) };
}

function pythonSide(p: PythonFaiss): Side {
  return { name: p.name, isAddon: false, run: (c) => runChild<SideResult>(p.python, [PY_SIDE, 'run', JSON.stringify(c)], process.env) };
}

function gitCommit(): string {
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: ROOT, encoding: 'utf8' }).trim() !== '';
    return dirty ? `${head} (with uncommitted changes)` : head;
  } catch {
    return 'unknown';
  }
}

function cpuModel(): string {
  try {
    const line = execFileSync('lscpu', { encoding: 'utf8' }).split('\n').find((l) => l.startsWith('Model name:'));
    if (line) return line.slice('Model name:'.length).trim();
  } catch {
    // lscpu is in util-linux; fall back to what Node sees
  }
  return os.cpus()[0]?.model ?? 'unknown';
}

/**
 * The exact k nearest neighbours of the queries in the full base and in HNSW's
 * part of it (float64, numpy), cached: the data are a function of MIXTURE and SHAPE.
 */
function exactNeighbours(py: PythonFaiss, basePath: string, queryPath: string, log: (line: string) => void): Record<IndexKind, BigInt64Array> {
  const key = createHash('sha256').update(JSON.stringify({ MIXTURE_VERSION, MIXTURE, SHAPE })).digest('hex').slice(0, 16);
  const cache = benchCacheDir('bench-groundtruth');
  const [full, hnsw] = [path.join(cache, `${key}-full.i64`), path.join(cache, `${key}-hnsw.i64`)];
  if (!fs.existsSync(full) || !fs.existsSync(hnsw)) {
    log('exact neighbours (float64, numpy; cached for later runs) ...');
    fs.mkdirSync(cache, { recursive: true });
    const config = { d: SHAPE.d, k: SHAPE.k, nq: SHAPE.nq, basePath, queryPath, bases: [{ n: SHAPE.nb, out: `${full}.tmp` }, { n: SHAPE.hnswN, out: `${hnsw}.tmp` }] };
    execFileSync(py.python, [PY_SIDE, 'groundtruth', JSON.stringify(config)], { stdio: ['ignore', 'inherit', 'inherit'], timeout: CHILD_TIMEOUT_MS });
    fs.renameSync(`${hnsw}.tmp`, hnsw);
    fs.renameSync(`${full}.tmp`, full);
  }
  return { flat: readI64(full), hnsw: readI64(hnsw), ivf: readI64(full) };
}

const ROW_LABEL: Record<Row['id'], string> = {
  'flat-1': `flat ${SHAPE.nb / 1000}k x ${SHAPE.d}, 1 query`,
  'flat-batch': `flat, ${SHAPE.nq}-query batch`,
  'hnsw-build': `HNSW${SHAPE.hnswM} ${SHAPE.hnswN / 1000}k, build (efConstruction ${SHAPE.efConstruction})`,
  'hnsw-1': `HNSW${SHAPE.hnswM}, 1 query (efSearch ${SHAPE.efSearch})`,
  'hnsw-batch': `HNSW${SHAPE.hnswM}, ${SHAPE.nq}-query batch`,
  'ivf-build': `IVF${SHAPE.ivfNlist},Flat ${SHAPE.nb / 1000}k, build (train ${SHAPE.ivfTrainN / 1000}k + add)`,
  'ivf-1': `IVF${SHAPE.ivfNlist},Flat, 1 query (nprobe ${SHAPE.nprobe})`,
  'ivf-batch': `IVF${SHAPE.ivfNlist},Flat, ${SHAPE.nq}-query batch`,
};

const fmtRecall = (r: number): string => (Number.isFinite(r) ? r.toFixed(4) : '-');

/** Per side, per index: the recall of each round's build (its 1,000-query batch), NaN where it has none; index = round. */
type BuildRecall = Record<IndexKind, number[]>;

function recordBuildRecall(into: BuildRecall, prefix: string, exact: Record<IndexKind, BigInt64Array>): void {
  for (const kind of INDEXES) {
    const file = labelsFile(prefix, kind, 'batch', false);
    into[kind].push(ONLY.includes(kind) && fs.existsSync(file) ? recallAtK(readI64(file), exact[kind], SHAPE.k) : NaN);
  }
}

const pairedByIndex = (ours: BuildRecall, theirs: BuildRecall): Record<IndexKind, PairedRecall> =>
  Object.fromEntries(INDEXES.map((kind) => [kind, pairedRecall(ours[kind], theirs[kind])])) as Record<IndexKind, PairedRecall>;

const fmtDiff = (x: number): string => (Number.isFinite(x) ? `${x >= 0 ? '+' : ''}${x.toFixed(5)}` : '-');

function recallTable(paired: Record<IndexKind, PairedRecall>, ourName: string, theirName: string): string {
  return formatTable(
    ['index', 'builds', `${ourName} mean`, `${theirName} mean`, 'mean difference', 'standard error', 'verdict'],
    ONLY.map((kind) => {
      const p = paired[kind];
      return [kind, String(p.n), fmtRecall(p.meanOurs), fmtRecall(p.meanTheirs), fmtDiff(p.meanDiff), Number.isFinite(p.seDiff) ? p.seDiff.toFixed(5) : '-', p.verdict];
    }),
  );
}

function comparisonTable(ours: Pooled, off: Pooled | undefined, theirs: Pooled, theirName: string, paired: Record<IndexKind, PairedRecall>): string {
  const header = ['row', 'addon', theirName, 'ratio', 'recall@10 addon', theirName, 'ok?'];
  if (off) header.push('addon, kernels off', 'ratio', 'recall@10');
  const rows = SHOWN_ROWS.map((row) => {
    const [a, b] = [figure(ours, row), figure(theirs, row)];
    const ratio = a.ms / b.ms;
    // Recall is the index's, judged over its builds (recallTable), not this row's one mean.
    const recall = row.what === 'build' ? 'not lower' : paired[row.kind].verdict;
    const ok = ratio > TARGET_RATIO ? 'NO' : recall === 'lower' ? 'NO (recall lower)' : recall === 'too few' ? 'time yes; recall: too few builds' : 'yes';
    const cells = [ROW_LABEL[row.id], fmtMs(a.ms), fmtMs(b.ms), ratio.toFixed(2), fmtRecall(a.recall), fmtRecall(b.recall), ok];
    if (off) {
      const o = row.what === 'build' && off.buildMs[row.kind as 'hnsw' | 'ivf'].length === 0 ? undefined : figure(off, row);
      cells.push(o ? fmtMs(o.ms) : '-', o ? (o.ms / b.ms).toFixed(2) : '-', o ? fmtRecall(o.recall) : '-');
    }
    return cells;
  });
  return formatTable(header, rows);
}

function samplesLine(name: string, p: Pooled): string {
  return `${name}: 1-query samples flat/hnsw/ivf ${INDEXES.map((k) => p.singleMs[k].length).join('/')}, batches ${INDEXES.map((k) => p.batchMs[k].length).join('/')}, builds ${p.buildMs.hnsw.length}`;
}

async function main(): Promise<void> {
  const started = performance.now();
  const loadBefore = os.loadavg();
  const log = (line: string): void => console.log(line);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'faiss-bench-'));
  try {
    const py = pythonFaiss(PY_SIDE, log, argOption('--python'));
    const names = new Set<string>();
    const sides: Side[] = [...(ADDONS.length > 0 ? ADDONS.map((a) => addonSide(a, names, dir)) : [addonSide(undefined, names, dir)]), pythonSide(py)];
    for (const [i, a] of ADDONS.entries()) log(`${sides[i].name}: ${a}`);

    const basePath = path.join(dir, 'base.f32');
    const queryPath = path.join(dir, 'queries.f32');
    log(`data: a Gaussian mixture of ${MIXTURE.clusters} clusters, ${SHAPE.nb} x ${SHAPE.d} base, ${SHAPE.nq} queries (seed ${MIXTURE.seed}) ...`);
    writeF32(basePath, gaussianMixture(MIXTURE, SHAPE.nb, MIXTURE.seed + 1));
    writeF32(queryPath, gaussianMixture(MIXTURE, SHAPE.nq, MIXTURE.seed + 2));
    const exact = exactNeighbours(py, basePath, queryPath, log);

    // Measured before and after the rounds; the better of the two counts (other
    // tenants' load only ever lowers it).
    let bandwidth: MemoryBandwidth | undefined;
    let bandwidthError: string | undefined;
    const probeBandwidth = (): void => {
      try {
        const b = measureMemoryBandwidth(dir);
        log(`memory read bandwidth: ${b.allThreadsGBs.toFixed(1)} GB/s with ${b.threads} threads, ${b.oneThreadGBs.toFixed(1)} GB/s with 1`);
        if (!bandwidth || Math.max(b.allThreadsGBs, b.oneThreadGBs) > Math.max(bandwidth.allThreadsGBs, bandwidth.oneThreadGBs)) bandwidth = b;
      } catch (e) {
        bandwidthError = (e as Error).message.split('\n')[0];
        log(`memory bandwidth not measured: ${bandwidthError}`);
      }
    };
    if (ONLY.includes('flat')) probeBandwidth();

    const pools = new Map<SideName, Pooled>(sides.map((s) => [s.name, emptyPooled()]));
    const buildRecalls = new Map<SideName, BuildRecall>(sides.map((s) => [s.name, { flat: [], hnsw: [], ivf: [] }]));
    const offPools = new Map<SideName, Pooled>();
    let rounds = 0;
    for (let round = 0; round < MAX_ROUNDS; round++) {
      if (round >= MIN_ROUNDS && performance.now() - started > BUDGET_S * 1e3) {
        log(`time budget (${BUDGET_S} s) spent: stopping after ${round} rounds`);
        break;
      }
      const order = round % 2 === 0 ? sides : [...sides].reverse();
      for (const side of order) {
        const prefix = path.join(dir, `labels-${sides.indexOf(side)}-`);
        const config: SideConfig = {
          shape: SHAPE, schedules: SCHEDULES, basePath, queryPath, labelsPrefix: prefix,
          threads: THREADS, fixThreads: FIX_THREADS, kernelsOff: side.isAddon, offFirst: round % 2 === 1, only: ONLY,
          ivfSeed: ivfSeedOf(round),
        };
        const t0 = performance.now();
        const r = side.run(config);
        const pool = pools.get(side.name) as Pooled;
        addRound(pool, r, r.search, r.buildMs);
        recordBuildRecall(buildRecalls.get(side.name) as BuildRecall, prefix, exact);
        recordRecall(pool, prefix, exact, SHAPE.k, false);
        if (r.searchOff) {
          if (!offPools.has(side.name)) offPools.set(side.name, emptyPooled());
          const off = offPools.get(side.name) as Pooled;
          addRound(off, r, r.searchOff, r.buildMsOff);
          recordRecall(off, prefix, exact, SHAPE.k, true);
        }
        const medians = ONLY.map((k) => `${k} ${fmtMs(median(r.search[k].singleMs))}`).join(', ');
        const offBuilds = r.buildMsOff ? ` (kernels off ${fmtMs(r.buildMsOff.hnsw)}, ${fmtMs(r.buildMsOff.ivf)})` : '';
        log(`round ${round + 1} ${side.name}: builds HNSW ${fmtMs(r.buildMs.hnsw)}, IVF ${fmtMs(r.buildMs.ivf)}${offBuilds}; 1-query medians ${medians} (${((performance.now() - t0) / 1e3).toFixed(0)} s)`);
      }
      rounds++;
    }

    // Builds for the recall comparison beyond the timed rounds' (HNSW and IVF: flat's is exact).
    const rebuilt = ONLY.filter((k) => k !== 'flat');
    for (let round = rounds; round < RECALL_SAMPLES && rebuilt.length > 0; round++) {
      const order = round % 2 === 0 ? sides : [...sides].reverse();
      for (const side of order) {
        const prefix = path.join(dir, `labels-${sides.indexOf(side)}-`);
        const config: SideConfig = {
          shape: SHAPE, schedules: { flat: RECALL_ONLY, hnsw: RECALL_ONLY, ivf: RECALL_ONLY }, basePath, queryPath, labelsPrefix: prefix,
          threads: THREADS, fixThreads: FIX_THREADS, kernelsOff: false, offFirst: false, only: rebuilt, ivfSeed: ivfSeedOf(round),
        };
        const t0 = performance.now();
        side.run(config);
        const recalls = buildRecalls.get(side.name) as BuildRecall;
        recordBuildRecall(recalls, prefix, exact);
        for (const kind of INDEXES) for (const what of ['single', 'batch'] as const) fs.rmSync(labelsFile(prefix, kind, what, false), { force: true });
        log(`recall round ${round + 1} ${side.name} (builds only, untimed; IVF seed ${ivfSeedOf(round)}): ${rebuilt.map((k) => `${k} ${fmtRecall(recalls[k][round])}`).join(', ')} (${((performance.now() - t0) / 1e3).toFixed(0)} s)`);
      }
    }

    if (bandwidth) probeBandwidth();

    const theirs = pools.get(sides[sides.length - 1].name) as Pooled;
    const theirResult = theirs.results[0];
    const addonSides = sides.filter((s) => s.isAddon);
    const flatBytes = SHAPE.nb * SHAPE.d * 4;
    const peakGBs = bandwidth ? Math.max(bandwidth.allThreadsGBs, bandwidth.oneThreadGBs) : NaN;
    const scanRate = (ms: number): string => {
      const gbs = flatBytes / (ms / 1e3) / 1e9;
      const share = gbs / peakGBs;
      return `${gbs.toFixed(1)} GB/s, ${(share * 100).toFixed(0)}%${share >= TARGET_BANDWIDTH_SHARE ? '' : ' (below target)'}`;
    };

    console.log();
    console.log(`npm run bench:faiss, ${new Date().toISOString()}; commit ${gitCommit()}`);
    console.log(`machine: ${cpuModel()}, ${os.cpus().length} cores, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB; load average ${loadBefore.map((l) => l.toFixed(1)).join(' ')} at start, ${os.loadavg().map((l) => l.toFixed(1)).join(' ')} at the end`);
    for (const s of addonSides) {
      const r = (pools.get(s.name) as Pooled).results[0];
      console.log(`${s.name}: FAISS ${r.faissVersion}, ${r.build}; ${r.threads} OpenMP threads${r.kernels ? `; own kernels ${JSON.stringify(r.kernels)}` : '; no own-kernel switches (getKernels) in this addon'}`);
    }
    console.log(`${py.name}: ${py.python}, ${theirResult.build}; ${theirResult.threads} OpenMP threads`);
    if (py.fallbackReason) console.log(`NOTE: not pip's faiss-cpu: ${py.fallbackReason}`);
    console.log(`data: Gaussian mixture (${MIXTURE.clusters} clusters, centres N(0,1), spreads 0.5-1), base seed ${MIXTURE.seed + 1}, queries ${MIXTURE.seed + 2}, k = ${SHAPE.k}${SCALE !== 1 ? `; SCALED by ${SCALE}: not the issue's rows` : ''}`);
    console.log(`${rounds} rounds, sides alternating (A B, B A, ...); OMP_WAIT_POLICY=${process.env.OMP_WAIT_POLICY}${ompWaitPolicyDefaulted ? ' (set by the bench)' : ''}; medians of pooled samples; recall = mean 10-recall@10 against the exact neighbours`);
    for (const s of sides) console.log(samplesLine(s.name, pools.get(s.name) as Pooled));

    const theirRecalls = buildRecalls.get(py.name) as BuildRecall;
    const pairedOf = new Map(addonSides.map((s) => [s.name, pairedByIndex(buildRecalls.get(s.name) as BuildRecall, theirRecalls)]));
    for (const s of addonSides) {
      console.log();
      console.log(`${s.name} against ${py.name} (ratio = addon / ${py.name}; target <= ${TARGET_RATIO.toFixed(1)}, recall no lower: the verdict of the table below; the recall cells are each row's mean):`);
      console.log(comparisonTable(pools.get(s.name) as Pooled, offPools.get(s.name), theirs, py.name, pairedOf.get(s.name) as Record<IndexKind, PairedRecall>));
      console.log();
      const builds: Record<IndexKind, string> = {
        flat: 'flat: exact, the same each round',
        hnsw: 'HNSW: a new graph each build',
        ivf: `IVF: k-means seeds ${ivfSeedOf(0)}..${ivfSeedOf(Math.max(rounds, RECALL_SAMPLES) - 1)}, the same on both sides each round`,
      };
      console.log(
        `${s.name} against ${py.name}, recall@10 as a measurement: one sample per build and side (the 1,000-query batch), paired by round; ` +
          `${ONLY.map((k) => builds[k]).join('; ')}. Verdict "not lower": mean difference (addon - ${py.name}) >= -${NOT_LOWER_SE} standard errors; "lower" otherwise (it cannot tell a difference smaller than that noise):`,
      );
      console.log(recallTable(pairedOf.get(s.name) as Record<IndexKind, PairedRecall>, s.name, py.name));
    }
    if (INDEXES.some((k) => theirs.singleOneThreadMs[k].length > 0)) {
      console.log();
      console.log(`1-query rows against ${py.name} with omp_set_num_threads(1) (pip's FAISS splits one flat query over its whole OpenMP team, which a busy machine can make slower than one thread; the addon gives a one-query search one thread):`);
      console.log(
        formatTable(
          ['row', ...addonSides.map((s) => s.name), `${py.name}, 1 thread`, ...addonSides.map((s) => `ratio, ${s.name}`)],
          SHOWN_ROWS.filter((row) => row.what === 'single').map((row) => {
            const one = median(theirs.singleOneThreadMs[row.kind]);
            const ours = addonSides.map((s) => figure(pools.get(s.name) as Pooled, row).ms);
            return [ROW_LABEL[row.id], ...ours.map(fmtMs), fmtMs(one), ...ours.map((ms) => (ms / one).toFixed(2))];
          }),
        ),
      );
    }
    if (addonSides.length > 1) {
      const [a, b] = addonSides.map((s) => pools.get(s.name) as Pooled);
      console.log();
      console.log(`${addonSides[0].name} / ${addonSides[1].name} (below 1: the first is faster):`);
      console.log(formatTable(['row', 'ratio'], SHOWN_ROWS.map((row) => [ROW_LABEL[row.id], (figure(a, row).ms / figure(b, row).ms).toFixed(2)])));
    }

    // Wall time alone cannot tell a build that works longer from one whose threads
    // wait: the process's CPU time over each build, beside it.
    const buildRows = SHOWN_ROWS.filter((row) => row.what === 'build');
    if (buildRows.length > 0) {
      const cpu = (s: Side, kind: 'hnsw' | 'ivf'): number =>
        median((pools.get(s.name) as Pooled).results.map((r) => r.buildCpuMs?.[kind]).filter((v): v is number => typeof v === 'number'));
      const pySide = sides[sides.length - 1];
      console.log();
      console.log(`builds: the process's CPU time (user + system, every thread; medians), against ${py.name}'s:`);
      console.log(
        formatTable(
          ['row', ...addonSides.map((s) => `${s.name} CPU`), `${py.name} CPU`, ...addonSides.map((s) => `CPU ratio, ${s.name}`)],
          buildRows.map((row) => {
            const kind = row.kind as 'hnsw' | 'ivf';
            const theirsCpu = cpu(pySide, kind);
            const ours = addonSides.map((s) => cpu(s, kind));
            return [ROW_LABEL[row.id], ...ours.map(fmtMs), fmtMs(theirsCpu), ...ours.map((ms) => (ms / theirsCpu).toFixed(2))];
          }),
        ),
      );
    }

    for (const s of addonSides.filter((x) => x.profileFile)) {
      console.log();
      console.log(`${s.name}: where its own HNSW builds (hnswBuild) spent their wall time (--profile-build; per build, a row with its whole wall time and its serial phases' wall and CPU time, then per level and thread: busy = from the level's start to the thread's last node, idle at end = waiting for the other threads):`);
      console.log(formatBuildProfiles(readBuildProfiles(s.profileFile as string)));
    }

    console.log();
    if (bandwidth) {
      const parts = [...addonSides.map((s) => [s.name, pools.get(s.name)] as const), ...addonSides.filter((s) => offPools.has(s.name)).map((s) => [`${s.name}, kernels off`, offPools.get(s.name)] as const), [py.name, theirs] as const];
      console.log(
        `flat 1-query scan (${(flatBytes / 1e6).toFixed(1)} MB) against the memory's read bandwidth, ${peakGBs.toFixed(1)} GB/s ` +
          `(fastest ${(bandwidth.chunkBytes / 2 ** 20).toFixed(0)} MiB chunk: ${bandwidth.oneThreadGBs.toFixed(1)} GB/s with 1 thread, ${bandwidth.allThreadsGBs.toFixed(1)} with ${bandwidth.threads}), target >= ${TARGET_BANDWIDTH_SHARE * 100}%:`,
      );
      for (const [name, pool] of parts) {
        const times = (pool as Pooled).singleMs.flat;
        console.log(`  ${name}: median query ${scanRate(median(times))}; fastest query ${scanRate(Math.min(...times))}`);
      }
      if (loadBefore[0] > os.cpus().length) {
        console.log(`  (load average ${loadBefore[0].toFixed(1)} on ${os.cpus().length} cores: the median query shares its core; the fastest is the fairer comparison with the fastest chunk)`);
      }
    } else if (ONLY.includes('flat')) {
      console.log(`flat 1-query scan against memory bandwidth: not measured (${bandwidthError})`);
    }
    const totalS = (performance.now() - started) / 1e3;
    console.log(`total ${totalS.toFixed(0)} s`);

    fs.mkdirSync(path.dirname(RESULTS), { recursive: true });
    const summary = (pool: Pooled): Record<string, unknown> =>
      Object.fromEntries(SHOWN_ROWS.map((row) => [row.id, figure(pool, row)]));
    const json = {
      generatedAt: new Date().toISOString(),
      commit: gitCommit(),
      machine: { cpu: cpuModel(), cores: os.cpus().length, loadBefore, loadAfter: os.loadavg() },
      shape: SHAPE, mixture: MIXTURE, schedules: SCHEDULES, rounds, threads: THREADS, ompWaitPolicy: process.env.OMP_WAIT_POLICY,
      memoryBandwidth: bandwidth ?? null,
      python: py,
      sides: Object.fromEntries(sides.map((s) => [s.name, { info: (pools.get(s.name) as Pooled).results[0], rows: summary(pools.get(s.name) as Pooled) }])),
      kernelsOff: Object.fromEntries([...offPools].map(([name, pool]) => [name, summary(pool)])),
      recallPerBuild: Object.fromEntries(buildRecalls),
      recallPaired: Object.fromEntries(pairedOf),
      samples: Object.fromEntries(sides.map((s) => [s.name, (pools.get(s.name) as Pooled).results])),
      totalS,
    };
    fs.writeFileSync(RESULTS, JSON.stringify(json, null, 2) + '\n');
    console.log(`figures written to ${path.relative(process.cwd(), RESULTS)}`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});

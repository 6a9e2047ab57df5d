// The addon built against Debian's libfaiss (build-cmake/) against the same addon
// built against FAISS compiled for this CPU by scripts/build-faiss-optimized.sh
// (build-avx2/), on the same data: flat L2 over 200,000 x 128, single-query latency
// (the target: Debian / optimised >= 2.5 on the median) and a 1,000-query batch (info).
// Run with `npm run bench:optimized`; the figures go to stdout as a table and to
// bench/results/optimized.json. Nothing asserts on time: the machine may be shared.
//
// Two copies of the addon (and of FAISS) cannot share a process, so each build runs
// in a child process of this script (FAISS_PROXY_ADDON points it at its .node file).
// The builds alternate over the rounds, A B then B A, so that load from other
// tenants of the machine falls on both alike; samples are pooled over the rounds.
// Addons: FAISS_BENCH_BASELINE_ADDON / FAISS_BENCH_OPTIMIZED_ADDON override the paths.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { randomMatrix } from './lib/common';

const D = 128;
const NB = 200_000;
const NQ = 1_000;
const K = 10;
const SEED = 1234;
const ROUNDS = 4;
const TARGET_RATIO = 2.5;
// Per child run; every loop stops at its count or its budget, whichever comes first.
const schedule = {
  warmup: 10,
  singleQueries: 75, // x ROUNDS = 300 per build
  singleBudgetS: 25,
  batchRepeats: 2,
  batchBudgetS: 25,
};
// No new round starts after this (a round that has started finishes: both builds).
const TOTAL_BUDGET_S = 240;
const CHILD_TIMEOUT_MS = 150_000;

const ROOT = path.resolve(__dirname, '..', '..');
const RESULTS = path.join(ROOT, 'bench', 'results', 'optimized.json');
const BUILDS = [
  {
    name: 'debian',
    addon: process.env.FAISS_BENCH_BASELINE_ADDON ?? path.join(ROOT, 'build-cmake', 'Release', 'faiss_node.node'),
    hint: 'npm run build:native',
  },
  {
    name: 'optimized',
    addon: process.env.FAISS_BENCH_OPTIMIZED_ADDON ?? path.join(ROOT, 'build-avx2', 'Release', 'faiss_node.node'),
    hint: 'npm run build:faiss-optimized && npm run build:native-optimized',
  },
] as const;
type BuildName = (typeof BUILDS)[number]['name'];

interface ChildConfig {
  basePath: string;
  queryPath: string;
  labelsPath: string;
  queryOffset: number;
  d: number;
  k: number;
  nq: number;
  schedule: typeof schedule;
}
interface ChildResult {
  addon: string;
  faissVersion: string;
  compileOptions: string;
  threads: number;
  addMs: number;
  singleMs: number[];
  batchMs: number[];
}

const randomRows = (rows: number, seed: number): Float32Array => randomMatrix(rows, D, seed);

function readF32(file: string): Float32Array {
  const buf = fs.readFileSync(file);
  return new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4);
}

/** The child: one build, one round. Prints a ChildResult as JSON on stdout. */
async function child(config: ChildConfig): Promise<void> {
  // Loaded here, after FAISS_PROXY_ADDON is set: the parent never loads an addon.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const lib = require('../lib') as typeof import('../lib');
  const { d, k, nq, schedule: s } = config;
  const xb = readF32(config.basePath);
  const xq = readF32(config.queryPath);
  const index = new lib.IndexFlatL2(d);
  const t0 = performance.now();
  await index.add(xb);
  const addMs = performance.now() - t0;
  const query = (i: number): Float32Array => xq.subarray((i % nq) * d, ((i % nq) + 1) * d);

  for (let i = 0; i < s.warmup; i++) await index.search(query(nq - 1 - i), k);
  const singleMs: number[] = [];
  const singleEnd = performance.now() + s.singleBudgetS * 1e3;
  for (let i = 0; i < s.singleQueries && performance.now() < singleEnd; i++) {
    const q = query(config.queryOffset + i);
    const t = performance.now();
    await index.search(q, k);
    singleMs.push(performance.now() - t);
  }
  const batchMs: number[] = [];
  let labels: BigInt64Array = new BigInt64Array(0);
  const batchEnd = performance.now() + s.batchBudgetS * 1e3;
  for (let r = 0; r < s.batchRepeats && performance.now() < batchEnd; r++) {
    const t = performance.now();
    labels = (await index.search(xq, k)).labels;
    batchMs.push(performance.now() - t);
  }
  fs.writeFileSync(config.labelsPath, new Uint8Array(labels.buffer, labels.byteOffset, labels.byteLength));
  index.dispose();
  const info = lib.buildInfo();
  const result: ChildResult = {
    addon: process.env.FAISS_PROXY_ADDON ?? '',
    faissVersion: info.faissVersion,
    compileOptions: info.compileOptions.trim(),
    threads: lib.getNumThreads(),
    addMs,
    singleMs,
    batchMs,
  };
  process.stdout.write(JSON.stringify(result) + '\n');
}

function runChild(addon: string, config: ChildConfig): ChildResult {
  const stdout = execFileSync(process.execPath, [__filename, '--child', JSON.stringify(config)], {
    encoding: 'utf8',
    env: { ...process.env, FAISS_PROXY_ADDON: addon },
    stdio: ['ignore', 'pipe', 'inherit'],
    timeout: CHILD_TIMEOUT_MS,
  });
  return JSON.parse(stdout.trim().split('\n').pop() as string) as ChildResult;
}

/** Nearest-rank percentile. */
function percentile(samples: number[], p: number): number {
  const s = [...samples].sort((a, b) => a - b);
  return s[Math.max(0, Math.ceil((p / 100) * s.length) - 1)];
}

function readLabels(file: string): BigInt64Array {
  const buf = fs.readFileSync(file);
  return new BigInt64Array(buf.buffer, buf.byteOffset, buf.byteLength / 8);
}

function printTable(cells: string[][]): void {
  const widths = cells[0].map((_, c) => Math.max(...cells.map((row) => row[c].length)));
  const line = (row: string[]): string =>
    row.map((cell, c) => (c <= 1 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join(' | ');
  console.log(line(cells[0]));
  console.log(widths.map((w) => '-'.repeat(w)).join('-|-'));
  for (const row of cells.slice(1)) console.log(line(row));
}

async function main(): Promise<void> {
  for (const b of BUILDS) {
    if (!fs.existsSync(b.addon)) throw new Error(`${b.name} addon not found at ${b.addon}: run "${b.hint}"`);
  }
  const started = performance.now();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'faiss-bench-opt-'));
  try {
    const basePath = path.join(dir, 'base.f32');
    const queryPath = path.join(dir, 'queries.f32');
    for (const [file, x] of [
      [basePath, randomRows(NB, SEED)],
      [queryPath, randomRows(NQ, SEED + 1)],
    ] as const) {
      fs.writeFileSync(file, new Uint8Array(x.buffer, x.byteOffset, x.byteLength));
    }

    const runs: Record<BuildName, ChildResult[]> = { debian: [], optimized: [] };
    let rounds = 0;
    for (let round = 0; round < ROUNDS; round++) {
      if (round > 0 && performance.now() - started > TOTAL_BUDGET_S * 1e3) {
        console.log(`time budget (${TOTAL_BUDGET_S} s) spent: stopping after ${round} rounds`);
        break;
      }
      const order = round % 2 === 0 ? BUILDS : [...BUILDS].reverse();
      for (const b of order) {
        const config: ChildConfig = {
          basePath,
          queryPath,
          labelsPath: path.join(dir, `${b.name}.i64`),
          queryOffset: round * schedule.singleQueries,
          d: D,
          k: K,
          nq: NQ,
          schedule,
        };
        const r = runChild(b.addon, config);
        runs[b.name].push(r);
        console.log(
          `round ${round + 1}/${ROUNDS} ${b.name.padEnd(9)}: 1-query median ${percentile(r.singleMs, 50).toFixed(3)} ms ` +
            `(${r.singleMs.length}), batch ${r.batchMs.map((v) => v.toFixed(0)).join('/')} ms`,
        );
      }
      rounds++;
    }

    const [dl, ol] = [readLabels(path.join(dir, 'debian.i64')), readLabels(path.join(dir, 'optimized.i64'))];
    let labelMismatches = Math.abs(dl.length - ol.length);
    for (let i = 0; i < Math.min(dl.length, ol.length); i++) if (dl[i] !== ol[i]) labelMismatches++;

    const summary = Object.fromEntries(
      BUILDS.map((b) => {
        const rs = runs[b.name];
        const single = rs.flatMap((r) => r.singleMs);
        const batch = rs.flatMap((r) => r.batchMs);
        return [
          b.name,
          {
            addon: b.addon,
            faissVersion: rs[0].faissVersion,
            compileOptions: rs[0].compileOptions,
            threads: rs[0].threads,
            singleSamples: single.length,
            singleMedianMs: percentile(single, 50),
            singleP90Ms: percentile(single, 90),
            batchBestMs: Math.min(...batch),
            batchMedianMs: percentile(batch, 50),
            batchRepeats: batch.length,
            addMedianMs: percentile(
              rs.map((r) => r.addMs),
              50,
            ),
          },
        ];
      }),
    ) as Record<BuildName, {
      addon: string; faissVersion: string; compileOptions: string; threads: number; singleSamples: number;
      singleMedianMs: number; singleP90Ms: number; batchBestMs: number; batchMedianMs: number; batchRepeats: number;
      addMedianMs: number;
    }>;
    const deb = summary.debian;
    const opt = summary.optimized;
    const singleRatio = deb.singleMedianMs / opt.singleMedianMs;
    const batchRatio = deb.batchBestMs / opt.batchBestMs;

    console.log();
    console.log(`faiss ${deb.faissVersion} (debian) / ${opt.faissVersion} (optimized); ${os.cpus().length} cores; node ${process.version}; load ${os.loadavg()[0].toFixed(2)}`);
    console.log(`data: flat L2, ${NB} x ${D} float32, k=${K}; ${rounds} alternating rounds (A B, B A, ...), ${schedule.warmup} warm-up queries per run`);
    console.log(`OpenMP threads: debian ${deb.threads}, optimized ${opt.threads}; OMP_WAIT_POLICY=${process.env.OMP_WAIT_POLICY ?? '(unset)'}`);
    console.log();
    printTable([
      ['build', 'compile options', '1-query median', 'p90', 'ratio (debian/this)', `${NQ}-query batch, best (info)`, 'batch ratio'],
      ...(['debian', 'optimized'] as const).map((name) => {
        const s = summary[name];
        return [
          name,
          s.compileOptions,
          `${s.singleMedianMs.toFixed(3)} ms`,
          `${s.singleP90Ms.toFixed(3)} ms`,
          (deb.singleMedianMs / s.singleMedianMs).toFixed(2),
          `${s.batchBestMs.toFixed(0)} ms`,
          (deb.batchBestMs / s.batchBestMs).toFixed(2),
        ];
      }),
    ]);
    console.log();
    console.log(
      `target: 1-query median debian/optimized >= ${TARGET_RATIO}: ${singleRatio.toFixed(2)} -> ${singleRatio >= TARGET_RATIO ? 'met' : 'NOT met'}`,
    );
    console.log(`samples: ${deb.singleSamples}/${opt.singleSamples} single queries, ${deb.batchRepeats}/${opt.batchRepeats} batches`);
    console.log(`batch labels differing between the builds: ${labelMismatches}/${NQ * K} (near-ties may swap: FMA rounds differently)`);
    const totalS = (performance.now() - started) / 1e3;
    console.log(`total ${totalS.toFixed(0)} s`);

    fs.mkdirSync(path.dirname(RESULTS), { recursive: true });
    const json = {
      generatedAt: new Date().toISOString(),
      environment: {
        node: process.version, cores: os.cpus().length, cpu: os.cpus()[0]?.model ?? null, loadavg: os.loadavg(),
        ompWaitPolicy: process.env.OMP_WAIT_POLICY ?? null, openblasNumThreads: process.env.OPENBLAS_NUM_THREADS ?? null,
      },
      config: { d: D, nb: NB, nq: NQ, k: K, seed: SEED, rounds, ...schedule },
      builds: summary,
      singleRatio,
      batchRatio,
      target: { singleRatioAtLeast: TARGET_RATIO, met: singleRatio >= TARGET_RATIO },
      labelMismatches,
      samples: runs,
      totalS,
    };
    fs.writeFileSync(RESULTS, JSON.stringify(json, null, 2) + '\n');
    console.log(`figures written to ${path.relative(process.cwd(), RESULTS)}`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const run = process.argv[2] === '--child' ? child(JSON.parse(process.argv[3]) as ChildConfig) : main();
run.catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});

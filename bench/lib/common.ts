// Helpers shared by the benchmarks (bench/faiss.ts, bench/harness.ts): seeded
// data, float32 and int64 files that Python reads with np.fromfile, percentiles,
// the timed search schedule, and plain-text tables.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Index } from '../../lib';

/**
 * rows x d floats in [0, 1) from mulberry32: tiny, seedable, and the bytes are
 * written to disk anyway, so Python never needs to reproduce the generator.
 */
export function randomMatrix(rows: number, d: number, seed: number): Float32Array {
  let a = seed >>> 0;
  const out = new Float32Array(rows * d);
  for (let i = 0; i < out.length; i++) {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  return out;
}

/** x86 and arm64 are little-endian, which is what Python reads ('<f4'). */
export function writeF32(file: string, x: Float32Array): void {
  fs.writeFileSync(file, new Uint8Array(x.buffer, x.byteOffset, x.byteLength));
}

/** int64 labels, as Python writes them with ndarray.astype('<i8').tofile(). */
export function writeI64(file: string, x: BigInt64Array): void {
  fs.writeFileSync(file, new Uint8Array(x.buffer, x.byteOffset, x.byteLength));
}

export function readI64(file: string): BigInt64Array {
  const buf = fs.readFileSync(file);
  return new BigInt64Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
}

/** The first `count` float32 values of a file, without reading the rest. */
export function readF32Prefix(file: string, count: number): Float32Array {
  const out = new Float32Array(count);
  const bytes = new Uint8Array(out.buffer);
  const fd = fs.openSync(file, 'r');
  try {
    let at = 0;
    while (at < bytes.length) {
      const n = fs.readSync(fd, bytes, at, bytes.length - at, at);
      if (n === 0) throw new Error(`${file} holds fewer than ${count} float32 values`);
      at += n;
    }
  } finally {
    fs.closeSync(fd);
  }
  return out;
}

/** Nearest-rank percentile (NaN for no samples). */
export function percentile(samples: ArrayLike<number>, p: number): number {
  if (samples.length === 0) return NaN;
  const s = Float64Array.from(samples).sort();
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
}

export const fmtMs = (v: number): string =>
  !Number.isFinite(v) ? '-' : (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(3)) + ' ms';

/**
 * How a side times its searches; Python (bench/harness_python.py) follows the
 * same schedule. Every loop stops at its count or its time budget, whichever
 * comes first, so a busy machine still finishes.
 */
export interface SearchSchedule {
  /** Untimed one-query searches first (other queries than the timed ones). */
  warmup: number;
  /** Timed one-query searches, queries 0, 1, 2, ... one at a time; stops at the count or the budget. */
  singleQueries: number;
  singleBudgetS: number;
  /** Timed searches of the whole query set; stops at the count or the budget. */
  batchRepeats: number;
  batchBudgetS: number;
}

export interface SearchTimes {
  singleMs: number[];
  batchMs: number[];
  labels: BigInt64Array;
}

/** Untimed warm-up, 1-query searches one at a time (views, no copies), then whole-batch searches. */
export async function measureSearch(index: Index, xq: Float32Array, d: number, k: number, schedule: SearchSchedule): Promise<SearchTimes> {
  const nq = xq.length / d;
  const query = (i: number): Float32Array => xq.subarray((i % nq) * d, ((i % nq) + 1) * d);
  for (let i = 0; i < schedule.warmup; i++) await index.search(query(i), k);
  const singleMs: number[] = [];
  const singleEnd = performance.now() + schedule.singleBudgetS * 1e3;
  for (let i = 0; i < schedule.singleQueries && performance.now() < singleEnd; i++) {
    const q = query(i);
    const t0 = performance.now();
    await index.search(q, k);
    singleMs.push(performance.now() - t0);
  }
  // No separate warm-up: the best of the repeats leaves out a cold first one.
  const batchMs: number[] = [];
  let labels: BigInt64Array = new BigInt64Array(0);
  const batchEnd = performance.now() + schedule.batchBudgetS * 1e3;
  for (let r = 0; r < schedule.batchRepeats && performance.now() < batchEnd; r++) {
    const t0 = performance.now();
    labels = (await index.search(xq, k)).labels;
    batchMs.push(performance.now() - t0);
  }
  return { singleMs, batchMs, labels };
}

/** A plain-text table: the first column (and those in `left`) left-aligned, the others right-aligned. */
export function formatTable(header: string[], rows: string[][], left: number[] = []): string {
  const cells = [header, ...rows];
  const widths = header.map((_, c) => Math.max(...cells.map((row) => (row[c] ?? '').length)));
  const line = (row: string[]): string =>
    header
      .map((_, c) => (c === 0 || left.includes(c) ? (row[c] ?? '').padEnd(widths[c]) : (row[c] ?? '').padStart(widths[c])))
      .join(' | ')
      .trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('-|-'), ...rows.map(line)].join('\n');
}

/** A folder of the benchmarks' own under the user's cache (~/.cache/faiss-proxy/<name>), outside the clone. */
export function benchCacheDir(name: string): string {
  return path.join(process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache'), 'faiss-proxy', name);
}

/** The value of `--name value` or `--name=value` on the command line, if given. */
export function argOption(name: string, argv: string[] = process.argv): string | undefined {
  const i = argv.indexOf(name);
  if (i >= 0) return argv[i + 1];
  return argv.find((a) => a.startsWith(`${name}=`))?.slice(name.length + 1);
}

/** A positive number option (argOption), or `fallback` when not given. */
export function positiveNumberOption(name: string, fallback: number, argv: string[] = process.argv): number {
  const v = argOption(name, argv);
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!(n > 0)) throw new Error(`${name} needs a positive number, got ${JSON.stringify(v)}`);
  return n;
}

/** Extra flags for the faiss-proxy servers a benchmark starts: every --server-arg=<flag> given (repeatable). */
export function serverArgsFromArgv(argv: string[] = process.argv): string[] {
  return argv.filter((a) => a.startsWith('--server-arg=')).map((a) => a.slice('--server-arg='.length));
}

/** Writes a benchmark's figures as JSON, stamped with the time. */
export function writeResults(file: string, figures: Record<string, unknown>): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, JSON.stringify({ generatedAt: new Date().toISOString(), ...figures }, null, 2) + '\n');
}

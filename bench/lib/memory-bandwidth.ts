// Measures this machine's memory read bandwidth (bench/lib/memory_bandwidth.c,
// compiled here with the system's C compiler), so that npm run bench:faiss can say
// what share of it one flat query's scan reaches (issue 14's target: >= 40%).
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';

export interface MemoryBandwidth {
  /** Buffer read, bytes: far larger than the caches (16x the 32 MiB L3 of the project's machine). */
  bytes: number;
  /** Each chunk is timed alone; the fastest counts. */
  chunkBytes: number;
  oneThreadGBs: number;
  allThreadsGBs: number;
  threads: number;
}

const SOURCE = path.resolve(__dirname, '..', '..', '..', 'bench', 'lib', 'memory_bandwidth.c');

/** Compiles the probe into `dir` and runs it; throws if no C compiler with OpenMP is at hand. */
export function measureMemoryBandwidth(dir: string, mebibytes = 512, chunkMebibytes = 32, passes = 8): MemoryBandwidth {
  const exe = path.join(dir, 'memory_bandwidth');
  // -ffast-math lets the compiler sum in several vector registers at once, so one
  // core is bound by memory, not by the latency of one chain of additions.
  execFileSync('cc', ['-O3', '-march=native', '-ffast-math', '-funroll-loops', '-fopenmp', '-o', exe, SOURCE], { stdio: ['ignore', 'ignore', 'pipe'] });
  const out = execFileSync(exe, [String(mebibytes), String(chunkMebibytes), String(passes)], { encoding: 'utf8', timeout: 120_000 });
  const r = JSON.parse(out) as MemoryBandwidth & { sink: number };
  return { bytes: r.bytes, chunkBytes: r.chunkBytes, oneThreadGBs: r.oneThreadGBs, allThreadsGBs: r.allThreadsGBs, threads: r.threads };
}

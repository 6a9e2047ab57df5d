// npm run bench:read: what the safe path costs. Reads index files of a few sizes
// (flat, IVF-flat, HNSW) with deserializeIndex and readIndex, safe (the default:
// the sandbox process reads, checks and tries the index, then the addon reads
// its canonical bytes) and trusted ({ trusted: true }: read in process), side by
// side and interleaved so a noisy neighbour hits both alike; prints the median of
// each. Nothing asserts on time.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { deserializeIndex, indexFactory, readIndex, serializeIndex, type Index } from '../lib';
import { randomMatrix } from './lib/common';

const D = 64;
const ROUNDS = 5;
const SIZES: Array<{ factory: string; n: number }> = [
  { factory: 'Flat', n: 4_000 },
  { factory: 'Flat', n: 40_000 },
  { factory: 'Flat', n: 400_000 },
  { factory: 'IVF256,Flat', n: 400_000 },
  { factory: 'HNSW16', n: 40_000 },
];

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return (s[(s.length - 1) >> 1] + s[s.length >> 1]) / 2;
};

async function timed(read: () => Promise<Index>): Promise<number> {
  const t = performance.now();
  const index = await read();
  const ms = performance.now() - t;
  index.dispose();
  return ms;
}

// CPU time of this process and of its reaped children (the sandboxes), in ms:
// unlike wall time, it does not grow when the machine is loaded. Children's
// times come from /proc/self/stat (cutime, cstime: clock ticks of 10 ms).
function cpuMs(): number {
  const own = process.cpuUsage();
  const fields = fs.readFileSync('/proc/self/stat', 'utf8').split(') ')[1].split(' ');
  const childTicks = Number(fields[13]) + Number(fields[14]);
  return (own.user + own.system) / 1000 + childTicks * 10;
}

async function cpuPerRead(read: () => Promise<Index>, n: number): Promise<number> {
  const before = cpuMs();
  for (let i = 0; i < n; i++) (await read()).dispose();
  return (cpuMs() - before) / n;
}

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'read-cost-'));
  try {
    console.log(`d=${D}, median of ${ROUNDS}; times in ms`);
    console.log(`${'index'.padEnd(22)} ${'MB'.padStart(7)} | ${'buffer safe'.padStart(11)} ${'trusted'.padStart(8)} | ${'file safe'.padStart(9)} ${'trusted'.padStart(8)} | ${'mmap safe'.padStart(9)} ${'trusted'.padStart(8)} | ${'CPU buffer safe'.padStart(15)} ${'trusted'.padStart(8)}`);
    for (const { factory, n } of SIZES) {
      const index = indexFactory(D, factory);
      const x = randomMatrix(n, D, 7);
      if (!index.isTrained) await index.train(x.subarray(0, Math.min(n, 20_000) * D));
      await index.add(x);
      const bytes = await serializeIndex(index);
      index.dispose();
      const file = path.join(dir, 'x.index');
      fs.writeFileSync(file, bytes);
      const mmap = factory.startsWith('IVF');
      const t: Record<string, number[]> = {};
      const add = (k: string, ms: number) => (t[k] ??= []).push(ms);
      for (let r = 0; r < ROUNDS; r++) {
        add('bufSafe', await timed(() => deserializeIndex(bytes)));
        add('bufTrusted', await timed(() => deserializeIndex(bytes, { trusted: true })));
        add('fileSafe', await timed(() => readIndex(file)));
        add('fileTrusted', await timed(() => readIndex(file, { trusted: true })));
        if (mmap) {
          add('mmapSafe', await timed(() => readIndex(file, { mmap: true })));
          add('mmapTrusted', await timed(() => readIndex(file, { mmap: true, trusted: true })));
        }
      }
      const cpuSafe = await cpuPerRead(() => deserializeIndex(bytes), ROUNDS);
      const cpuTrusted = await cpuPerRead(() => deserializeIndex(bytes, { trusted: true }), ROUNDS);
      const m = (k: string, w: number) => (t[k] ? median(t[k]).toFixed(1) : '-').padStart(w);
      console.log(`${`${factory} n=${n}`.padEnd(22)} ${(bytes.length / 1e6).toFixed(1).padStart(7)} | ${m('bufSafe', 11)} ${m('bufTrusted', 8)} | ${m('fileSafe', 9)} ${m('fileTrusted', 8)} | ${m('mmapSafe', 9)} ${m('mmapTrusted', 8)} | ${cpuSafe.toFixed(0).padStart(15)} ${cpuTrusted.toFixed(0).padStart(8)}`);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});

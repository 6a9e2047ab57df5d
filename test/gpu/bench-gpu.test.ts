// npm run bench:gpu (bench/gpu.ts) without a GPU: it says so and exits cleanly, measuring
// nothing; its CPU side runs small with --cpu-only, so its code is exercised here (the GPU
// side runs only on a GPU host, through scripts/gpu-check.sh). Each run in its own process.
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { gpuAvailability } from './support';

const BENCH = path.resolve(__dirname, '..', '..', 'bench', 'gpu.js');
const SMALL = ['--n=4000', '--nq=40', '--nlist=32', '--nprobe=4', '--rounds=2', '--clients=4', '--http-seconds=1'];

function bench(args: string[]): { status: number | null; out: string; err: string } {
  const r = spawnSync(process.execPath, [BENCH, ...args], { encoding: 'utf8', timeout: 120_000 });
  return { status: r.status, out: r.stdout, err: r.stderr };
}

describe('GPU benchmark (bench/gpu.ts) where no GPU is', function () {
  this.timeout(150_000);
  let dir: string;

  before(function () {
    if (!gpuAvailability().why) {
      console.log('      [skipped: GPU benchmark where no GPU is: this machine has a GPU]');
      this.skip();
    }
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-gpu-test-'));
  });
  after(() => dir && fs.rmSync(dir, { recursive: true, force: true }));

  it('says there is no GPU and why, exits 0 and writes no figures', () => {
    const results = path.join(dir, 'none.json');
    const r = bench([...SMALL, `--results=${results}`]);
    assert.equal(r.status, 0, r.err);
    assert.match(r.out, /no GPU to measure here: (the addon was built without CUDA|CUDA sees no GPU|CUDA cannot list the GPUs)/);
    assert.match(r.out, /Nothing was measured/);
    assert.doesNotMatch(r.out, /QPS|recall/);
    assert.equal(fs.existsSync(results), false);
  });

  it('--cpu-only runs the CPU side small: flat, IVF and HTTP rows, recall against exact, no GPU figure', () => {
    const results = path.join(dir, 'cpu.json');
    const r = bench(['--cpu-only', ...SMALL, `--results=${results}`]);
    assert.equal(r.status, 0, r.out + r.err);
    const row = (name: RegExp): string[] => {
      const line = r.out.split('\n').find((l) => name.test(l));
      assert.ok(line, `no row ${name} in:\n${r.out}`);
      return line.split('|').map((c) => c.trim());
    };
    const flat = row(/^Flat 4000 x 128, 40 queries/);
    assert.match(flat[1], /^\d+\.\d ms \(CPU time \d+ ms\)$/);
    assert.deepEqual(flat.slice(2, 4), ['-', '-']);
    const ivf = row(/^IVF32,Flat nprobe 4, 40 queries/);
    assert.equal(ivf[2], '-');
    const recall = Number(/^([01]\.\d{4}) \/ -$/.exec(ivf[5])?.[1]);
    assert.ok(recall > 0.5 && recall <= 1, ivf[5]);
    const http = row(/^HTTP flat 4000 x 128, 4 clients, batching/);
    assert.match(http[1], /^[1-9]\d* QPS, p50 [\d.]+ ms, p99 [\d.]+ ms, 0 errors$/);
    assert.equal(http[2], '-');
    const figures = JSON.parse(fs.readFileSync(results, 'utf8'));
    assert.deepEqual(figures.sides, ['cpu']);
    assert.equal(figures.flat.cpuWallMs.length, 2);
    assert.equal(figures.flat.gpuWallMs, undefined);
    assert.equal(figures.ivf.recall.cpu, recall);
    assert.equal(figures.http.cells.cpu.length, 2);
    assert.equal(figures.http.cells.gpu, undefined);
  });

  it('refuses a bad option with its usage, exit 2', () => {
    for (const args of [['--n=abc'], ['--rounds=0'], ['--frobnicate'], ['--n=1000', '--nlist=64'], ['--nlist=8', '--nprobe=9']]) {
      const r = bench(args);
      assert.equal(r.status, 2, `${args.join(' ')}: ${r.out}${r.err}`);
      assert.match(r.err, /bad argument|too few points|is over --nlist/);
    }
  });
});

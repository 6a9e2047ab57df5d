// CI has no GPU, no CUDA toolkit and no GPU build of FAISS; scripts/gpu-compile-check.sh
// still compiles the addon's GPU code (-DFAISS_PROXY_GPU, syntax only) against FAISS's
// GPU headers and CUDA's, so that code cannot rot unnoticed. docs/gpu.md.
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const SCRIPT = path.join(ROOT, 'scripts', 'gpu-compile-check.sh');

function check(...files: string[]): { status: number | null; stderr: string } {
  const r = spawnSync('bash', [SCRIPT, ...files], { cwd: ROOT, encoding: 'utf8' });
  return { status: r.status, stderr: r.stderr };
}

// A GPU source of the shape of the addon's: FAISS's GPU classes, CUDA's runtime, N-API.
const GOOD = `#include <napi.h>
#include <cuda_runtime.h>
#include <faiss/gpu/GpuCloner.h>
#include <faiss/gpu/GpuIndexFlat.h>
#include <faiss/gpu/GpuIndexIVFPQ.h>
#include <faiss/gpu/StandardGpuResources.h>
#ifndef FAISS_PROXY_GPU
#error "compiled without FAISS_PROXY_GPU"
#endif
int gpuProbe() {
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess) return 0;
  faiss::gpu::StandardGpuResources res;
  res.setTempMemory(1 << 20);
  faiss::gpu::GpuIndexFlatConfig config;
  config.device = 0;
  faiss::gpu::GpuIndexFlatL2 index(&res, 8, config);
  return n + static_cast<int>(index.d);
}
`;

describe('the GPU compile check (scripts/gpu-compile-check.sh)', function () {
  this.timeout(600_000);
  let dir: string;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gpu-compile-'));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("compiles native/'s GPU sources with -DFAISS_PROXY_GPU against FAISS's and CUDA's headers", () => {
    const r = check();
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /all \d+ compile with -DFAISS_PROXY_GPU/);
  });

  it('fails on a GPU source that does not compile, naming it, and passes the one that does', () => {
    const good = path.join(dir, 'gpu_good.cc');
    const bad = path.join(dir, 'gpu_bad.cc');
    fs.writeFileSync(good, GOOD);
    fs.writeFileSync(bad, GOOD.replace('config.device = 0;', 'config.device = 0;\n  config.noSuchOption = true;'));
    const r = check(good, bad);
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /noSuchOption/);
    const failing = r.stderr.slice(r.stderr.indexOf('do not compile'));
    assert.ok(failing.includes(bad), r.stderr);
    assert.ok(!failing.includes(good), r.stderr);
  });
});

// native/cublas11-shim: libcublas.so.11 over CUDA 13's cuBLAS, for a GPU host without
// cuBLAS 11 (scripts/gpu-check.sh packs it). Here, where it is compiled (not in test/gpu/,
// which gpu-check.sh runs on the GPU host, which has no compiler), with no GPU and no cuBLAS 13, a stand-in
// libcublas.so.13 prints every argument it receives: the shim must hand each of the
// eight functions' arguments through unchanged and return the callee's status, and
// without a (whole) libcublas.so.13 answer CUBLAS_STATUS_NOT_INITIALIZED, saying why.
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const GPU_CHECK = path.join(ROOT, 'scripts', 'gpu-check.sh');

const ALL = ['cublasCreate_v2', 'cublasDestroy_v2', 'cublasSetStream_v2', 'cublasGetMathMode', 'cublasSetMathMode', 'cublasSgemmEx', 'cublasGemmEx', 'cublasGemmStridedBatchedEx'];

/** A libcublas.so.13 whose functions print what they get and return 100 + their place. */
function standIn(leaveOut?: string): string {
  const body: Record<string, string> = {
    cublasCreate_v2: `cublasStatus_t cublasCreate_v2(cublasHandle_t *h) { *h = (cublasHandle_t)0x5eed; printf("create\\n"); return 100; }`,
    cublasDestroy_v2: `cublasStatus_t cublasDestroy_v2(cublasHandle_t h) { printf("destroy %p\\n", (void *)h); return 101; }`,
    cublasSetStream_v2: `cublasStatus_t cublasSetStream_v2(cublasHandle_t h, cudaStream_t s) { printf("setStream %p %p\\n", (void *)h, (void *)s); return 102; }`,
    cublasGetMathMode: `cublasStatus_t cublasGetMathMode(cublasHandle_t h, cublasMath_t *m) { *m = CUBLAS_TF32_TENSOR_OP_MATH; printf("getMathMode %p\\n", (void *)h); return 103; }`,
    cublasSetMathMode: `cublasStatus_t cublasSetMathMode(cublasHandle_t h, cublasMath_t m) { printf("setMathMode %p %d\\n", (void *)h, (int)m); return 104; }`,
    cublasSgemmEx: `cublasStatus_t cublasSgemmEx(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k, const float *alpha, const void *A, cudaDataType at, int lda, const void *B, cudaDataType bt, int ldb, const float *beta, void *C, cudaDataType ct, int ldc) {
      printf("sgemmEx %p %d %d %d %d %d %g %p %d %d %p %d %d %g %p %d %d\\n", (void *)h, ta, tb, m, n, k, *alpha, A, at, lda, B, bt, ldb, *beta, C, ct, ldc); return 105; }`,
    cublasGemmEx: `cublasStatus_t cublasGemmEx(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k, const void *alpha, const void *A, cudaDataType at, int lda, const void *B, cudaDataType bt, int ldb, const void *beta, void *C, cudaDataType ct, int ldc, cublasComputeType_t comp, cublasGemmAlgo_t algo) {
      printf("gemmEx %p %d %d %d %d %d %g %p %d %d %p %d %d %g %p %d %d %d %d\\n", (void *)h, ta, tb, m, n, k, *(const float *)alpha, A, at, lda, B, bt, ldb, *(const float *)beta, C, ct, ldc, comp, algo); return 106; }`,
    cublasGemmStridedBatchedEx: `cublasStatus_t cublasGemmStridedBatchedEx(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k, const void *alpha, const void *A, cudaDataType at, int lda, long long sa, const void *B, cudaDataType bt, int ldb, long long sb, const void *beta, void *C, cudaDataType ct, int ldc, long long sc, int batch, cublasComputeType_t comp, cublasGemmAlgo_t algo) {
      printf("gemmStridedBatchedEx %p %d %d %d %d %d %g %p %d %d %lld %p %d %d %lld %g %p %d %d %lld %d %d %d\\n", (void *)h, ta, tb, m, n, k, *(const float *)alpha, A, at, lda, sa, B, bt, ldb, sb, *(const float *)beta, C, ct, ldc, sc, batch, comp, algo); return 107; }`,
  };
  return ['#include <cublas_v2.h>', '#include <stdio.h>', ...ALL.filter((f) => f !== leaveOut).map((f) => body[f])].join('\n');
}

// Calls each function through libcublas.so.11 as the addon does, with arguments of every kind.
const CALLER = `#include <cublas_v2.h>
#include <stdio.h>
int main(void) {
  cublasHandle_t h = 0;
  cublasMath_t mode = CUBLAS_DEFAULT_MATH;
  float alpha = 1.5f, beta = -2.25f;
  void *A = (void *)0xa0, *B = (void *)0xb0, *C = (void *)0xc0;
  printf("-> %d\\n", (int)cublasCreate_v2(&h));
  printf("-> %d\\n", (int)cublasSetStream_v2(h, (cudaStream_t)0x57));
  int status = (int)cublasGetMathMode(h, &mode); // before mode is read: argument order is unspecified
  printf("-> %d mode %d\\n", status, (int)mode);
  printf("-> %d\\n", (int)cublasSetMathMode(h, CUBLAS_MATH_DISALLOW_REDUCED_PRECISION_REDUCTION));
  printf("-> %d\\n", (int)cublasSgemmEx(h, CUBLAS_OP_T, CUBLAS_OP_N, 3, 5, 7, &alpha, A, CUDA_R_16F, 11, B, CUDA_R_32F, 13, &beta, C, CUDA_R_32F, 17));
  printf("-> %d\\n", (int)cublasGemmEx(h, CUBLAS_OP_N, CUBLAS_OP_T, 19, 23, 29, &alpha, A, CUDA_R_16F, 31, B, CUDA_R_16F, 37, &beta, C, CUDA_R_32F, 41, CUBLAS_COMPUTE_32F_PEDANTIC, CUBLAS_GEMM_DEFAULT));
  printf("-> %d\\n", (int)cublasGemmStridedBatchedEx(h, CUBLAS_OP_T, CUBLAS_OP_T, 43, 47, 53, &alpha, A, CUDA_R_32F, 59, 5000000000LL, B, CUDA_R_32F, 61, -3LL, &beta, C, CUDA_R_32F, 67, 6000000000LL, 71, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT_TENSOR_OP));
  printf("-> %d\\n", (int)cublasDestroy_v2(h));
  return 0;
}
`;

const EXPECTED = `create
-> 100
setStream 0x5eed 0x57
-> 102
getMathMode 0x5eed
-> 103 mode 3
setMathMode 0x5eed 16
-> 104
sgemmEx 0x5eed 1 0 3 5 7 1.5 0xa0 2 11 0xb0 0 13 -2.25 0xc0 0 17
-> 105
gemmEx 0x5eed 0 1 19 23 29 1.5 0xa0 2 31 0xb0 2 37 -2.25 0xc0 0 41 69 -1
-> 106
gemmStridedBatchedEx 0x5eed 1 1 43 47 53 1.5 0xa0 0 59 5000000000 0xb0 0 61 -3 -2.25 0xc0 0 67 6000000000 71 68 99
-> 107
destroy 0x5eed
-> 101
`;

describe('libcublas.so.11 over CUDA 13 (native/cublas11-shim)', function () {
  this.timeout(120_000);
  let dir: string;
  let include: string;
  let caller: string;

  const cc = (args: string[]): void => {
    const r = spawnSync('cc', ['-O1', '-Wall', '-Werror', '-I', include, ...args], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
  };
  /** A stand-in libcublas.so.13 in its own folder. */
  const makeStandIn = (name: string, leaveOut?: string): string => {
    const at = path.join(dir, name);
    fs.mkdirSync(at);
    fs.writeFileSync(path.join(at, 'standin.c'), standIn(leaveOut));
    fs.writeFileSync(path.join(at, 'map'), 'libcublas.so.13 { global: *; };\n');
    cc(['-fPIC', '-shared', '-Wl,-soname,libcublas.so.13', `-Wl,--version-script=${path.join(at, 'map')}`, '-o', path.join(at, 'libcublas.so.13'), path.join(at, 'standin.c')]);
    return at;
  };
  const run = (libraryPath: string[]) =>
    spawnSync(caller, [], { encoding: 'utf8', env: { ...process.env, LD_LIBRARY_PATH: libraryPath.join(':') } });

  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cublas11-shim-'));
    const r = spawnSync('bash', [GPU_CHECK, 'shim', path.join(dir, 'shim')], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    include = spawnSync('bash', [path.join(ROOT, 'scripts', 'cuda-headers.sh')], { encoding: 'utf8' }).stdout.trim();
    fs.writeFileSync(path.join(dir, 'caller.c'), CALLER);
    caller = path.join(dir, 'caller');
    // Linked as the addon is: against libcublas.so.11, its imports of version libcublas.so.11.
    cc(['-o', caller, path.join(dir, 'caller.c'), '-L', path.join(dir, 'shim'), '-l:libcublas.so.11']);
  });
  after(() => dir && fs.rmSync(dir, { recursive: true, force: true }));

  it('defines the eight functions the addon imports, of version libcublas.so.11, and no other', () => {
    const r = spawnSync('nm', ['-D', '--defined-only', path.join(dir, 'shim', 'libcublas.so.11')], { encoding: 'utf8' });
    const defined = r.stdout.split('\n').filter((l) => / T /.test(l)).map((l) => l.split(' ').pop()).sort();
    assert.deepEqual(defined, ALL.map((f) => `${f}@@libcublas.so.11`).sort());
  });

  it("hands every argument through to libcublas.so.13 and returns its status", () => {
    const r = run([path.join(dir, 'shim'), makeStandIn('whole')]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, EXPECTED);
    assert.equal(r.stderr, '');
  });

  it('without libcublas.so.13: every call is CUBLAS_STATUS_NOT_INITIALIZED, and it says why', () => {
    const r = run([path.join(dir, 'shim')]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, '-> 1\n-> 1\n-> 1 mode 0\n-> 1\n-> 1\n-> 1\n-> 1\n-> 1\n');
    assert.match(r.stderr, /libcublas\.so\.11 \(over CUDA 13's cuBLAS\): libcublas\.so\.13: cannot open shared object file/);
  });

  it('with a libcublas.so.13 that lacks one of them: none is called, and it names the missing one', () => {
    const r = run([path.join(dir, 'shim'), makeStandIn('partial', 'cublasSgemmEx')]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, '-> 1\n-> 1\n-> 1 mode 0\n-> 1\n-> 1\n-> 1\n-> 1\n-> 1\n');
    assert.match(r.stderr, /libcublas\.so\.13 has no cublasSgemmEx/);
  });
});

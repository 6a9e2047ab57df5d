// libcublas.so.11 for a GPU host that has CUDA 13's cuBLAS (libcublas.so.13) and not 11's.
// The GPU addon, built with CUDA 11.8, imports eight cuBLAS functions (nm -D: these, each
// of version libcublas.so.11); this library defines them, each calling the same function
// of libcublas.so.13, loaded when this library is. It is compiled against CUDA 11.8's
// cublas_v2.h, so each definition is checked against 11.8's declaration; 13's declarations
// of the eight, and the values of the enums FAISS 1.7.3 passes them, are 11.8's token for
// token (docs/gpu.md says how that was checked). scripts/gpu-check.sh packs it and uses it
// only on a host without cuBLAS 11. CUDA's runtime is linked into the addon (11.8) and into
// cuBLAS 13: both work on the driver's one context per device, whose streams and memory
// both take.
#define _GNU_SOURCE
#include <cublas_v2.h>
#include <dlfcn.h>
#include <stdio.h>

#define CUBLAS13 "libcublas.so.13"

static struct {
  __typeof__(&cublasCreate_v2) create;
  __typeof__(&cublasDestroy_v2) destroy;
  __typeof__(&cublasSetStream_v2) setStream;
  __typeof__(&cublasGetMathMode) getMathMode;
  __typeof__(&cublasSetMathMode) setMathMode;
  __typeof__(&cublasSgemmEx) sgemmEx;
  __typeof__(&cublasGemmEx) gemmEx;
  __typeof__(&cublasGemmStridedBatchedEx) gemmStridedBatchedEx;
} to;

// Resolved once, as the addon is loaded: no call races a lookup. Without cuBLAS 13 (or
// with one lacking a function) every call answers CUBLAS_STATUS_NOT_INITIALIZED, as a
// cuBLAS that cannot start does, and the reason is printed once.
__attribute__((constructor)) static void open_cublas13(void) {
  void *lib = dlopen(CUBLAS13, RTLD_NOW | RTLD_LOCAL);
  if (!lib) {
    fprintf(stderr, "faiss-proxy's libcublas.so.11 (over CUDA 13's cuBLAS): %s\n", dlerror());
    return;
  }
#define RESOLVE(field, name)                                                                    \
  if (!(to.field = (__typeof__(to.field))dlsym(lib, #name))) {                                  \
    fprintf(stderr, "faiss-proxy's libcublas.so.11: " CUBLAS13 " has no " #name "\n");         \
    to.create = NULL;                                                                           \
    return;                                                                                     \
  }
  RESOLVE(destroy, cublasDestroy_v2)
  RESOLVE(setStream, cublasSetStream_v2)
  RESOLVE(getMathMode, cublasGetMathMode)
  RESOLVE(setMathMode, cublasSetMathMode)
  RESOLVE(sgemmEx, cublasSgemmEx)
  RESOLVE(gemmEx, cublasGemmEx)
  RESOLVE(gemmStridedBatchedEx, cublasGemmStridedBatchedEx)
  // Last: a handle exists only once every other function is there.
  RESOLVE(create, cublasCreate_v2)
#undef RESOLVE
}

cublasStatus_t cublasCreate_v2(cublasHandle_t *handle) {
  return to.create ? to.create(handle) : CUBLAS_STATUS_NOT_INITIALIZED;
}

// The other seven take a handle, which only cublasCreate_v2 above can have made.
cublasStatus_t cublasDestroy_v2(cublasHandle_t handle) {
  return to.create ? to.destroy(handle) : CUBLAS_STATUS_NOT_INITIALIZED;
}

cublasStatus_t cublasSetStream_v2(cublasHandle_t handle, cudaStream_t streamId) {
  return to.create ? to.setStream(handle, streamId) : CUBLAS_STATUS_NOT_INITIALIZED;
}

cublasStatus_t cublasGetMathMode(cublasHandle_t handle, cublasMath_t *mode) {
  return to.create ? to.getMathMode(handle, mode) : CUBLAS_STATUS_NOT_INITIALIZED;
}

cublasStatus_t cublasSetMathMode(cublasHandle_t handle, cublasMath_t mode) {
  return to.create ? to.setMathMode(handle, mode) : CUBLAS_STATUS_NOT_INITIALIZED;
}

cublasStatus_t cublasSgemmEx(cublasHandle_t handle, cublasOperation_t transa, cublasOperation_t transb, int m, int n,
                             int k, const float *alpha, const void *A, cudaDataType Atype, int lda, const void *B,
                             cudaDataType Btype, int ldb, const float *beta, void *C, cudaDataType Ctype, int ldc) {
  return to.create ? to.sgemmEx(handle, transa, transb, m, n, k, alpha, A, Atype, lda, B, Btype, ldb, beta, C, Ctype, ldc)
                   : CUBLAS_STATUS_NOT_INITIALIZED;
}

cublasStatus_t cublasGemmEx(cublasHandle_t handle, cublasOperation_t transa, cublasOperation_t transb, int m, int n,
                            int k, const void *alpha, const void *A, cudaDataType Atype, int lda, const void *B,
                            cudaDataType Btype, int ldb, const void *beta, void *C, cudaDataType Ctype, int ldc,
                            cublasComputeType_t computeType, cublasGemmAlgo_t algo) {
  return to.create ? to.gemmEx(handle, transa, transb, m, n, k, alpha, A, Atype, lda, B, Btype, ldb, beta, C, Ctype, ldc,
                               computeType, algo)
                   : CUBLAS_STATUS_NOT_INITIALIZED;
}

cublasStatus_t cublasGemmStridedBatchedEx(cublasHandle_t handle, cublasOperation_t transa, cublasOperation_t transb,
                                          int m, int n, int k, const void *alpha, const void *A, cudaDataType Atype,
                                          int lda, long long int strideA, const void *B, cudaDataType Btype, int ldb,
                                          long long int strideB, const void *beta, void *C, cudaDataType Ctype, int ldc,
                                          long long int strideC, int batchCount, cublasComputeType_t computeType,
                                          cublasGemmAlgo_t algo) {
  return to.create ? to.gemmStridedBatchedEx(handle, transa, transb, m, n, k, alpha, A, Atype, lda, strideA, B, Btype,
                                             ldb, strideB, beta, C, Ctype, ldc, strideC, batchCount, computeType, algo)
                   : CUBLAS_STATUS_NOT_INITIALIZED;
}

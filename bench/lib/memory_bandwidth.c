/* The machine's memory read bandwidth, for npm run bench:faiss: a flat query's scan
 * is compared against it (bench/lib/memory-bandwidth.ts compiles and runs this).
 * Sums a buffer far larger than the caches in chunks, with 1 thread and with every
 * thread OpenMP has, and keeps the fastest chunk: on a shared machine most chunks
 * are slowed by other processes taking the cores, the fastest is what the memory
 * delivers to a reader that has them. Each chunk was last read a whole buffer
 * earlier, so it comes from memory, not from the caches.
 * Prints JSON: {"bytes", "chunkBytes", "oneThreadGBs", "allThreadsGBs", "threads"}.
 * Usage: memory_bandwidth <buffer MiB> <chunk MiB> <passes> */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>

static double best_chunk_gbs(const float *a, size_t n, size_t chunk, int threads, int passes, float *sink) {
  double best = 1e30;
  for (int p = 0; p < passes; p++) {
    for (size_t off = 0; off + chunk <= n; off += chunk) {
      double t0 = omp_get_wtime();
      float sum = 0;
#pragma omp parallel for num_threads(threads) reduction(+ : sum) schedule(static)
      for (size_t i = off; i < off + chunk; i++) sum += a[i];
      double t = omp_get_wtime() - t0;
      *sink += sum; /* keeps the loop */
      if (t < best) best = t;
    }
  }
  return (double)chunk * sizeof(float) / best / 1e9;
}

int main(int argc, char **argv) {
  if (argc != 4) return 2;
  size_t n = (size_t)atol(argv[1]) * 1024 * 1024 / sizeof(float);
  size_t chunk = (size_t)atol(argv[2]) * 1024 * 1024 / sizeof(float);
  int passes = atoi(argv[3]);
  float *a = aligned_alloc(64, n * sizeof(float));
  if (!a || chunk == 0 || chunk > n) return 1;
  int threads = omp_get_max_threads();
#pragma omp parallel for num_threads(threads) schedule(static)
  for (size_t i = 0; i < n; i++) a[i] = (float)(i & 7); /* first touch by the threads that read it */
  float sink = 0;
  double one = best_chunk_gbs(a, n, chunk, 1, passes, &sink);
  double all = best_chunk_gbs(a, n, chunk, threads, passes, &sink);
  printf("{\"bytes\": %zu, \"chunkBytes\": %zu, \"oneThreadGBs\": %.3f, \"allThreadsGBs\": %.3f, \"threads\": %d, \"sink\": %.1f}\n",
         n * sizeof(float), chunk * sizeof(float), one, all, threads, (double)sink);
  free(a);
  return 0;
}

/* The machine's memory read bandwidth, for npm run bench:faiss: a flat query's scan
 * is compared against it (bench/lib/memory-bandwidth.ts compiles and runs this).
 * Sums a buffer far larger than the caches, with 1 thread and with every thread
 * OpenMP has, best of several passes; prints JSON: {"bytes", "oneThreadGBs", "allThreadsGBs", "threads"}.
 * Usage: memory_bandwidth <MiB> <passes> */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>

static double read_pass(const float *a, size_t n, int threads, float *sink) {
  double t0 = omp_get_wtime();
  float sum = 0;
#pragma omp parallel for num_threads(threads) reduction(+ : sum) schedule(static)
  for (size_t i = 0; i < n; i++) sum += a[i];
  double t = omp_get_wtime() - t0;
  *sink += sum; /* keeps the loop */
  return t;
}

static double best_gbs(const float *a, size_t n, int threads, int passes, float *sink) {
  double best = 1e30;
  for (int p = 0; p < passes; p++) {
    double t = read_pass(a, n, threads, sink);
    if (t < best) best = t;
  }
  return (double)n * sizeof(float) / best / 1e9;
}

int main(int argc, char **argv) {
  if (argc != 3) return 2;
  size_t n = (size_t)atol(argv[1]) * 1024 * 1024 / sizeof(float);
  int passes = atoi(argv[2]);
  float *a = aligned_alloc(64, n * sizeof(float));
  if (!a) return 1;
  int threads = omp_get_max_threads();
#pragma omp parallel for num_threads(threads) schedule(static)
  for (size_t i = 0; i < n; i++) a[i] = (float)(i & 7); /* touched by the threads that read it */
  float sink = 0;
  double one = best_gbs(a, n, 1, passes, &sink);
  double all = best_gbs(a, n, threads, passes, &sink);
  printf("{\"bytes\": %zu, \"oneThreadGBs\": %.3f, \"allThreadsGBs\": %.3f, \"threads\": %d, \"sink\": %.1f}\n",
         n * sizeof(float), one, all, threads, (double)sink);
  free(a);
  return 0;
}

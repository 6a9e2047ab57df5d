/* The memory read bandwidth the flat scan kernel is compared with (npm run
 * bench:kernel-flat compiles and runs this): OpenMP threads each sum their share
 * of a buffer far bigger than the caches, with 512-bit loads and independent sums
 * so that the loop is limited by memory, not by the adds. Prints one line of JSON:
 * the best of the rounds in bytes per second. Usage: read-bandwidth <MiB> <threads> <rounds> */
#include <immintrin.h>
#include <omp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char** argv) {
  const size_t mib = argc > 1 ? strtoul(argv[1], 0, 10) : 1024;
  const int threads = argc > 2 ? atoi(argv[2]) : omp_get_num_procs();
  const int rounds = argc > 3 ? atoi(argv[3]) : 5;
  const size_t n = mib * 1024 * 1024 / sizeof(float);
  float* buf = aligned_alloc(64, n * sizeof(float));
  if (!buf) return 1;
#pragma omp parallel for num_threads(threads)
  for (size_t i = 0; i < n; i++) buf[i] = (float)(i & 7);
  double best = 0, sink = 0;
  for (int r = 0; r < rounds; r++) {
    const double t0 = omp_get_wtime();
    double total = 0;
#pragma omp parallel for num_threads(threads) reduction(+ : total) schedule(static)
    for (size_t b = 0; b < n / 64; b++) {
      const float* p = buf + b * 64;
      __m512 s = _mm512_add_ps(_mm512_add_ps(_mm512_load_ps(p), _mm512_load_ps(p + 16)),
                               _mm512_add_ps(_mm512_load_ps(p + 32), _mm512_load_ps(p + 48)));
      total += _mm512_reduce_add_ps(s);
    }
    const double s = omp_get_wtime() - t0;
    sink += total;
    if (n * sizeof(float) / s > best) best = n * sizeof(float) / s;
  }
  printf("{\"bytesPerSecond\": %.0f, \"threads\": %d, \"mib\": %zu, \"check\": %g}\n", best, threads, mib, sink);
  free(buf);
  return 0;
}

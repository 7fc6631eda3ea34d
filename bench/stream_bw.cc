// STREAM-style read bandwidth (see stream_bw.h). Built into cpu_decode through #include, and
// runnable alone: `stream_bw [MiB]` prints the figure.
#include "stream_bw.h"

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include <immintrin.h>

#include "core/cpu_features.h"
#include "core/tensor.h"
#include "core/thread_pool.h"

namespace qinfer::bench {

namespace {

// Sum of floats [b, e) with 256-bit loads and 8 independent accumulators: bound by memory,
// not by the add chain or instruction count (the same load width the AVX2 kernels use;
// AVX-512 loads do not read DRAM faster).
__attribute__((target("avx2"))) float sum_avx2(const float* p, int64_t b, int64_t e) {
  __m256 s[8];
  for (auto& v : s) v = _mm256_setzero_ps();
  int64_t i = b;
  for (; i + 64 <= e; i += 64)
    for (int k = 0; k < 8; ++k) s[k] = _mm256_add_ps(s[k], _mm256_loadu_ps(p + i + 8 * k));
  float t = 0;
  alignas(32) float lanes[8];
  for (auto& v : s) {
    _mm256_store_ps(lanes, v);
    for (float l : lanes) t += l;
  }
  for (; i < e; ++i) t += p[i];
  return t;
}

float sum_scalar(const float* p, int64_t b, int64_t e) {
  float s[8] = {};
  int64_t i = b;
  for (; i + 8 <= e; i += 8)
    for (int k = 0; k < 8; ++k) s[k] += p[i + k];
  for (; i < e; ++i) s[0] += p[i];
  float t = 0;
  for (float v : s) t += v;
  return t;
}

}  // namespace

double stream_read_gbs(size_t bytes, int passes) {
  const int64_t n = int64_t(bytes / sizeof(float));
  Tensor buf = Tensor::empty(DType::kF32, {n});
  float* p = buf.data_as<float>();
  parallel_for(n, [&](int64_t b, int64_t e, int) {
    for (int64_t i = b; i < e; ++i) p[i] = float(i & 1023);
  });
  const bool avx2 = cpu_features().avx2;
  std::vector<float> sink(64);
  double best = 0;
  for (int pass = 0; pass < passes; ++pass) {
    auto t0 = std::chrono::steady_clock::now();
    parallel_for(n, [&](int64_t b, int64_t e, int thread) {
      sink[size_t(thread) % sink.size()] += avx2 ? sum_avx2(p, b, e) : sum_scalar(p, b, e);
    });
    const double sec = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    best = std::max(best, double(bytes) / sec / 1e9);
  }
  if (sink[0] == 42) std::printf(" ");  // keep the sums alive
  return best;
}

}  // namespace qinfer::bench

#ifndef QINFER_STREAM_BW_NO_MAIN
int main(int argc, char** argv) {
  const size_t mib = argc > 1 ? size_t(std::atoll(argv[1])) : 1024;
  const double gbs = qinfer::bench::stream_read_gbs(mib << 20, 5);
  std::printf("read bandwidth: %.2f GB/s (%zu MiB buffer, %d threads, best of 5)\n", gbs, mib,
              qinfer::ThreadPool::global().size());
  return 0;
}
#endif

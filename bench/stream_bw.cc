// STREAM-style read bandwidth (see stream_bw.h). Built into cpu_decode through #include, and
// runnable alone: `stream_bw [MiB]` prints the figure.
#include "stream_bw.h"

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "core/tensor.h"
#include "core/thread_pool.h"

namespace qinfer::bench {

double stream_read_gbs(size_t bytes, int passes) {
  const int64_t n = int64_t(bytes / sizeof(uint64_t));
  Tensor buf = Tensor::empty(DType::kI64, {n});
  uint64_t* p = static_cast<uint64_t*>(buf.data());
  parallel_for(n, [&](int64_t b, int64_t e, int) {
    for (int64_t i = b; i < e; ++i) p[i] = uint64_t(i);
  });
  std::vector<uint64_t> sink(64);
  double best = 0;
  for (int pass = 0; pass < passes; ++pass) {
    auto t0 = std::chrono::steady_clock::now();
    parallel_for(n, [&](int64_t b, int64_t e, int thread) {
      // Eight independent sums so the loop is bound by loads, not by an add chain.
      uint64_t s[8] = {};
      int64_t i = b;
      for (; i + 8 <= e; i += 8)
        for (int k = 0; k < 8; ++k) s[k] += p[i + k];
      for (; i < e; ++i) s[0] += p[i];
      uint64_t t = 0;
      for (uint64_t v : s) t += v;
      sink[size_t(thread) % sink.size()] += t;
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

// Dense linear on the CPU: the plain reference loops, and the run-time choice of the
// vectorized kernels beside this file (linear_dense_avx2.cc, linear_dense_avx512.cc).
#include "core/dtype.h"
#include "core/thread_pool.h"
#include "ops/cpu/isa.h"
#include "ops/cpu/linear_cpu.h"
#include "ops/cpu/linear_dense_isa.h"

namespace qinfer::ops::cpu {

void linear_dense_scalar(const LinearWeight& w, const float* x, int64_t n, float* y) {
  const int64_t n_in = w.n_in, n_out = w.n_out;
  const DType dt = w.weight.dtype();
  const void* W = w.weight.data();
  const float* b = w.bias.defined() ? w.bias.data_as<float>() : nullptr;
  parallel_for(n_out, [&](int64_t o0, int64_t o1, int) {
    for (int64_t o = o0; o < o1; ++o) {
      for (int64_t i = 0; i < n; ++i) {
        float acc = 0.0f;
        for (int64_t k = 0; k < n_in; ++k)
          acc += x[i * n_in + k] * load_as_f32(W, dt, size_t(o * n_in + k));
        y[i * n_out + o] = acc + (b ? b[o] : 0.0f);
      }
    }
  });
}

void linear_dense(const LinearWeight& w, const float* x, int64_t n, float* y) {
  switch (ops_isa()) {
    case CpuIsa::kAvx512:
      return linear_dense_avx512(w, x, n, y);
    case CpuIsa::kAvx2:
      return linear_dense_avx2(w, x, n, y);
    default:
      return linear_dense_scalar(w, x, n, y);
  }
}

}  // namespace qinfer::ops::cpu

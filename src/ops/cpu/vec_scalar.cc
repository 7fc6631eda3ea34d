// Vector primitives, plain loops: the reference the AVX2 / AVX-512 versions are tested against.
#include <cmath>

#include "ops/cpu/isa.h"
#include "ops/cpu/ops_cpu.h"

namespace qinfer::ops::cpu {

namespace {

float v_dot(const float* a, const float* b, int64_t n) {
  float s = 0.0f;
  for (int64_t i = 0; i < n; ++i) s += a[i] * b[i];
  return s;
}

void v_axpy(float a, const float* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] += a * x[i];
}

void v_scale_mul(const float* x, float s, const float* w, float* y, int64_t n) {
  // LlamaRMSNorm: weight * (x * rsqrt(...)), the normalized value rounded first.
  for (int64_t i = 0; i < n; ++i) y[i] = w[i] * (x[i] * s);
}

void v_add(float* x, const float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) x[i] += y[i];
}

void v_silu_mul(const float* g, const float* u, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = g[i] / (1.0f + std::exp(-g[i])) * u[i];
}

}  // namespace

const VecKernels& vec_scalar() {
  static const VecKernels k{v_dot, v_axpy, v_scale_mul, v_add, v_silu_mul};
  return k;
}

const VecKernels& vec() {
  switch (ops_isa()) {
    case CpuIsa::kAvx512:
      return vec_avx512();
    case CpuIsa::kAvx2:
      return vec_avx2();
    default:
      return vec_scalar();
  }
}

}  // namespace qinfer::ops::cpu

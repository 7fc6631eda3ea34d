// The arithmetic that the CPU sampler (src/engine/sampler.cc) and the GPU sampler
// (sampling.cu) must do bit for bit alike, so that one seed picks the same token on both:
// the weight of a kept token in the draw and in top_p, and the inverse-CDF target of a uniform.
//
// Weights are fixed-point integers, w = round(exp(v - max) * 2^45): sums of them are exact in
// any order (a parallel reduction equals the CPU's left-to-right loop), and exp() is our own
// (a Cody-Waite reduction and a degree-11 Taylor polynomial with explicitly rounded double
// operations), not libm's or CUDA's, whose last bits differ. A token 31.9 nats below the
// most likely one (p / p_max < 2^-46) gets weight 0 and is never drawn. Vocabularies up to
// 2^64 / 2^45 = 524288 tokens cannot overflow a uint64 sum.
//
// Plain C++ with no CUDA headers; under nvcc the functions are __host__ __device__.
#pragma once

#include <cstdint>
#include <cstring>

#if defined(__CUDACC__)
#define QINFER_SAMPLING_HD __host__ __device__ __forceinline__
#else
#define QINFER_SAMPLING_HD inline
#endif

namespace qinfer::ops::sampling {

inline constexpr int kWeightBits = 45;
inline constexpr int kMaxTopLogprobs = 20;

// Correctly rounded double multiply and add, never fused into an FMA (nvcc fuses a * b + c by
// default; a host compiler with FMA instructions may too, hence the volatile there).
QINFER_SAMPLING_HD double mul_rn(double a, double b) {
#if defined(__CUDA_ARCH__)
  return __dmul_rn(a, b);
#elif defined(__FP_FAST_FMA)
  volatile double r = a * b;
  return r;
#else
  return a * b;
#endif
}

QINFER_SAMPLING_HD double add_rn(double a, double b) {
#if defined(__CUDA_ARCH__)
  return __dadd_rn(a, b);
#else
  return a + b;
#endif
}

// 2^k for -1022 <= k <= 1023, built from its bits (exact on both sides).
QINFER_SAMPLING_HD double pow2(int k) {
  const uint64_t bits = uint64_t(1023 + k) << 52;
#if defined(__CUDA_ARCH__)
  return __longlong_as_double(static_cast<long long>(bits));
#else
  double d;
  std::memcpy(&d, &bits, sizeof d);
  return d;
#endif
}

// exp(x) for x <= 0, deterministic across host and device (relative error about 1e-15;
// what matters is that both sides get the same bits). x < -40 gives 0: its weight would
// round to 0 anyway.
QINFER_SAMPLING_HD double exp_det(double x) {
  if (!(x >= -40.0)) return 0.0;
  constexpr double kLog2e = 1.4426950408889634074;
  constexpr double kLn2Hi = 6.93147180369123816490e-01;  // 0x3FE62E42FEE00000: k * hi is exact
  constexpr double kLn2Lo = 1.90821492927058770002e-10;
  const double kd = mul_rn(x, kLog2e);
#if defined(__CUDA_ARCH__)
  const double k = rint(kd);
#else
  const double k = __builtin_rint(kd);
#endif
  // r = x - k ln2, |r| <= ln2 / 2.
  const double r = add_rn(add_rn(x, -mul_rn(k, kLn2Hi)), -mul_rn(k, kLn2Lo));
  // Taylor series of exp(r) to r^11 / 11! (truncation error < 1e-15 relative), Horner.
  constexpr double kC[12] = {1.0,         1.0,          1.0 / 2,       1.0 / 6,
                             1.0 / 24,    1.0 / 120,    1.0 / 720,     1.0 / 5040,
                             1.0 / 40320, 1.0 / 362880, 1.0 / 3628800, 1.0 / 39916800};
  double p = kC[11];
  for (int i = 10; i >= 0; --i) p = add_rn(mul_rn(p, r), kC[i]);
  return mul_rn(p, pow2(int(k)));
}

// The draw weight of a token with (processed) logit v when the row's largest is mx:
// round(exp(v - mx) * 2^45); 0 for a masked (-inf) token.
QINFER_SAMPLING_HD uint64_t weight(float v, float mx) {
  if (v == -__builtin_huge_valf()) return 0;
  const float x = v - mx;
  const double e = exp_det(double(x));
  return uint64_t(add_rn(mul_rn(e, pow2(kWeightBits)), 0.5));
}

// The inverse-CDF target of a uniform u in [0, 1) over total weight `total` > 0: the token
// drawn is the first (in token-id order) whose inclusive prefix sum of weights exceeds it.
QINFER_SAMPLING_HD uint64_t draw_target(double u, uint64_t total) {
  const uint64_t t = uint64_t(mul_rn(u, double(total)));
  return t < total ? t : total - 1;
}

// top_p keeps tokens (most likely first) while the weight before them is below this.
QINFER_SAMPLING_HD uint64_t top_p_threshold(float top_p, uint64_t total) {
  const double t = mul_rn(double(top_p), double(total));
  uint64_t c = uint64_t(t);
  if (double(c) < t) ++c;  // ceil
  return c;
}

// Order-preserving map of a float to an unsigned key (larger float, larger key); -0 and +0
// map alike, as they compare equal.
QINFER_SAMPLING_HD uint32_t order_key(float v) {
  if (v == 0.0f) v = 0.0f;
  uint32_t b;
#if defined(__CUDA_ARCH__)
  b = __float_as_uint(v);
#else
  std::memcpy(&b, &v, sizeof b);
#endif
  return (b & 0x80000000u) ? ~b : (b | 0x80000000u);
}

// The key of logit v at token id in a greedy row's maximum (fused_ops.h linear_act_greedy):
// the larger key is the larger logit, then the lower id, so one 64-bit maximum over a row is
// its argmax as the GPU sampler takes it (the lowest id among equal maxima, -0 equal to +0).
// NaN gets 0, below every other key: never chosen, and a row of NaN gives token 0
// (greedy_token), as the sampler does.
QINFER_SAMPLING_HD uint64_t greedy_key(float v, uint32_t id) {
  if (v != v) return 0;
  return (uint64_t(order_key(v)) << 32) | uint64_t(0xffffffffu - id);
}

QINFER_SAMPLING_HD int32_t greedy_token(uint64_t key) {
  return key == 0 ? 0 : int32_t(0xffffffffu - uint32_t(key));
}

QINFER_SAMPLING_HD float key_value(uint32_t k) {
  const uint32_t b = (k & 0x80000000u) ? (k & 0x7fffffffu) : ~k;
#if defined(__CUDA_ARCH__)
  return __uint_as_float(b);
#else
  float v;
  std::memcpy(&v, &b, sizeof v);
  return v;
#endif
}

}  // namespace qinfer::ops::sampling

// FP8 E4M3 linear on the CPU: the pieces behind ops::cpu::linear_fp8 (linear_fp8.cc), split so
// that tests can run every ISA level in one process and compare.
//
// The weights are read as stored (one byte per element, no widened copy): each kernel decodes a
// short run of bytes to f32 in registers and accumulates in f32 (docs/FORMATS.md, "FP8 compute").
#pragma once

#include <cstdint>

#include "core/cpu_features.h"
#include "ops/linear.h"

namespace qinfer::ops::cpu::fp8 {

// vLLM's static activation quantization (csrc/quantization/fp8/common.cu, scaled_fp8_quant with
// a scale): x_q = fp8(clamp(x * (1 / s), -448, 448)). Writes the decoded fp8 values (exact in
// f32) to xq.
void quantize_row_static(const float* x, int64_t n, float inv_scale, float* xq);

// vLLM's dynamic per-token quantization (dynamic_per_token_scaled_fp8_quant):
// s = max(absmax(x) / 448, 1 / (448 * 512)), x_q = fp8(clamp(x / s, -448, 448)) (a true
// division here, not a reciprocal). Returns s.
float quantize_row_dynamic(const float* x, int64_t n, float* xq);

// The same two, vectorized (bit-identical), writing x_q * out_scale (the AVX-512 dot kernel
// wants its input scaled by kAvx512XScale).
void quantize_row_static_avx512(const float* x, int64_t n, float inv_scale, float out_scale,
                                float* xq);
float quantize_row_dynamic_avx512(const float* x, int64_t n, float out_scale, float* xq);

// acc[i * ld + o] = sum_k x[i * n_in + k] * fp8(W[o * n_in + k]) for i < n, o in [o0, o1).
// W is (n_out, n_in) row-major fp8 bytes; f32 accumulation.
using DotFn = void (*)(const uint8_t* W, int64_t n_in, int64_t o0, int64_t o1, const float* x,
                       int64_t n, float* acc, int64_t ld);
void dot_fp8_scalar(const uint8_t* W, int64_t n_in, int64_t o0, int64_t o1, const float* x,
                    int64_t n, float* acc, int64_t ld);
// The AVX-512 kernel decodes fp8 to (value * 2^-120): x must come scaled by kAvx512XScale and
// its sums are (true sum) / kAvx512AccScale (linear_fp8_avx512.cc says why).
inline constexpr float kAvx512XScale = 0x1p64f;
inline constexpr float kAvx512AccScale = 0x1p56f;
void dot_fp8_avx512(const uint8_t* W, int64_t n_in, int64_t o0, int64_t o1, const float* x,
                    int64_t n, float* acc, int64_t ld);

// linear_fp8 with the kernel level chosen by the caller (tests compare levels; kAvx2 runs the
// scalar kernel: there is no AVX2 FP8 kernel).
void linear_fp8_isa(const LinearWeight& w, const float* x, int64_t n, float* y, CpuIsa isa);

}  // namespace qinfer::ops::cpu::fp8

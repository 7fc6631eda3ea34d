// CPU implementations behind ops::linear.
#pragma once

#include "ops/linear.h"

namespace qinfer::ops::cpu {

// Dense F32/F16/BF16 weights (src/ops/cpu/linear_dense*.cc).
void linear_dense(const LinearWeight& w, const float* x, int64_t n, float* y);
// FP8 E4M3 weights with vLLM's activation quantization (src/ops/cpu/linear_fp8*.cc).
void linear_fp8(const LinearWeight& w, const float* x, int64_t n, float* y);

}  // namespace qinfer::ops::cpu

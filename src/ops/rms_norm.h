// rms_norm: y = x * rsqrt(mean(x²) + eps) * weight, row by row, in fp32 exactly as
// transformers' LlamaRMSNorm (the normalized row is multiplied by the weight last).
//
// Contract
//   x:      (n, d) F32
//   weight: (d) F32
//   y:      (n, d) F32, preallocated; may alias x
#pragma once

#include "core/tensor.h"

namespace qinfer::ops {

void rms_norm(const Tensor& x, const Tensor& weight, float eps, Tensor& y);

}  // namespace qinfer::ops

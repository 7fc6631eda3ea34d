// silu_mul: the SwiGLU activation of a fused gate/up projection,
//   out[i, j] = silu(gu[i, j]) * gu[i, I + j],  silu(g) = g / (1 + exp(-g))
// (transformers LlamaMLP: act_fn(gate_proj(x)) * up_proj(x)).
//
// Contract
//   gate_up: (n, 2 I) F32, gate in the first I columns, up in the last I
//   out:     (n, I) F32, preallocated
#pragma once

#include "core/tensor.h"

namespace qinfer::ops {

void silu_mul(const Tensor& gate_up, Tensor& out);

}  // namespace qinfer::ops

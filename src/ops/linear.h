// linear: y = x · Wᵀ (+ b), the one interface every weight format hides behind.
//
// Contract
//   x: (n, n_in)  activations, F32 on the CPU (BF16 or F32 on CUDA), row-major
//   y: (n, n_out) same dtype and device as x, preallocated
//   W: (n_out, n_in) in its stored format:
//     dense   F32 / F16 / BF16                       y = x · Wᵀ
//     fp8     F8_E4M3 + weight_scale (per tensor (1) or per output channel (n_out))
//             with activation quantization as vLLM does it (docs/FORMATS.md):
//               none            W dequantized in the loop: y = x · (W_q · s_w)ᵀ
//               static          x_q = fp8(clamp(x · (1 / s_x), ±448)),  y = (x_q · W_qᵀ) · s_x · s_w
//               dynamic/token   s_x[i] = max(absmax(x[i]) / 448, 1 / (448·512)),
//                               x_q = fp8(clamp(x / s_x[i], ±448)) (a true division), same y
//   bias: (n_out) F32, optional.
// Accumulation is fp32. An unsupported (format, dtype, device) combination throws an Error
// naming all three; nothing falls back silently.
#pragma once

#include <string>

#include "core/tensor.h"

namespace qinfer::ops {

enum class ActQuant { kNone, kStaticPerTensor, kDynamicPerToken };

struct LinearWeight {
  std::string name;  // for error messages, e.g. "model.layers.0.self_attn.qkv_proj"
  int64_t n_out = 0;
  int64_t n_in = 0;
  Tensor weight;        // (n_out, n_in)
  Tensor bias;          // (n_out) F32, undefined when absent
  Tensor weight_scale;  // FP8 only: (1) or (n_out), F32
  ActQuant act_quant = ActQuant::kNone;
  float input_scale = 0.0f;  // FP8 static activations

  bool is_fp8() const { return weight.dtype() == DType::kF8E4M3; }
  size_t weight_bytes() const {
    return weight.nbytes() + (weight_scale.defined() ? weight_scale.nbytes() : 0);
  }
};

void linear(const LinearWeight& w, const Tensor& x, Tensor& y);

}  // namespace qinfer::ops

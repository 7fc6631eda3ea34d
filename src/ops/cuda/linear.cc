// ops::cuda::linear: picks the kernel for a (weight format, batch size) pair.
//   n <= kGemvMaxRows, or shapes cuBLASLt cannot take: gemv (reads each weight byte once per
//     8 rows; the decode path, memory-bound)
//   larger n: cuBLASLt on tensor cores (FP8 x FP8 with per-token x per-channel scales, or
//     BF16 x BF16), fp32 accumulation and F32 output.
#include <cstdint>

#include "core/env.h"
#include "ops/cuda/cuda_common.h"
#include "ops/cuda/cuda_ops.h"
#include "ops/cuda/fused_ops.h"
#include "ops/cuda/linear_cuda.h"
#include "ops/cuda/linear_gemm.h"

namespace qinfer::ops::cuda {
namespace {

constexpr int64_t kGemvMaxRows = 8;

ScratchBuffer g_xq;     // quantized / converted activations
ScratchBuffer g_xs;     // per-row activation scales
ScratchBuffer g_wsvec;  // per-tensor weight scale expanded to (n_out)

// QINFER_CUDA_GEMV_ONLY=1 routes every batch size through the GEMV (a debugging switch that
// isolates the cuBLASLt paths).
// QINFER_CUDA_FP8_EPILOGUE=1 runs the FP8 GEMM unscaled and applies the per-token and
// per-channel scales in our fp32 epilogue instead of cuBLASLt's outer-vector scale mode (to
// compare the two numerically).
bool fp8_scales_in_epilogue() {
  static const bool on = env_switch("QINFER_CUDA_FP8_EPILOGUE", 0) == 1;
  return on;
}

// QINFER_CUDA_GEMV_UNFUSED=1 keeps the two-kernel decode path (quantize, then GEMV).
bool fused_enabled() {
  static const bool on = env_switch("QINFER_CUDA_GEMV_UNFUSED", 0) != 1;
  return on;
}

bool gemm_enabled() {
  static const bool enabled = env_switch("QINFER_CUDA_GEMV_ONLY", 0) != 1;
  return enabled;
}

void check_operands(const LinearWeight& w, const Tensor& x, const Tensor& y) {
  QINFER_CHECK(x.dtype() == DType::kF32 && y.dtype() == DType::kF32, "linear ", w.name,
               ": unsupported (format ", dtype_name(w.weight.dtype()), ", activation dtype ",
               dtype_name(x.dtype()), ", device cuda)");
  check_cuda_tensor(w.weight, "linear", "weight");
  if (w.bias.defined()) {
    check_cuda_tensor(w.bias, "linear", "bias");
    QINFER_CHECK(w.bias.dtype() == DType::kF32 && w.bias.numel() == w.n_out, "linear ", w.name,
                 ": bias must be F32 (", w.n_out, ")");
  }
}

void linear_fp8(const LinearWeight& w, const Tensor& x, Tensor& y) {
  const int64_t n = x.dim(0);
  QINFER_CHECK(w.weight_scale.defined() && w.weight_scale.dtype() == DType::kF32 &&
                   (w.weight_scale.numel() == 1 || w.weight_scale.numel() == w.n_out),
               "linear ", w.name, ": FP8 weight_scale must be F32 (1) or (", w.n_out, ")");
  check_cuda_tensor(w.weight_scale, "linear", "weight_scale");
  const bool per_channel = w.weight_scale.numel() == w.n_out && w.n_out != 1;
  const float* ws = w.weight_scale.data_as<float>();
  const float* bias = w.bias.defined() ? w.bias.data_as<float>() : nullptr;
  cudaStream_t s = stream();
  GemvArgs g{.w = w.weight.data(), .w_dtype = DType::kF8E4M3, .x = x.data_as<float>(),
             .x_scale = nullptr, .w_scale = ws, .w_scale_per_channel = per_channel,
             .bias = bias, .y = y.data_as<float>(), .n = n, .n_in = w.n_in, .n_out = w.n_out};
  if (w.act_quant == ActQuant::kNone) {
    // Weight-only FP8: dequantized in the GEMV's inner loop (no FP8 tensor-core path).
    if (!gemv_fused(g, 0, 0.0f, s)) gemv(g, s);
    return;
  }
  QINFER_CHECK(w.act_quant != ActQuant::kStaticPerTensor || w.input_scale > 0.0f, "linear ",
               w.name, ": static activation quantization needs input_scale > 0");
  auto* xq = static_cast<uint8_t*>(g_xq.get(size_t(n * w.n_in) * sizeof(float) + 16));
  auto* xs = static_cast<float*>(g_xs.get(size_t(n) * sizeof(float) + 16));
  const float static_scale = w.act_quant == ActQuant::kStaticPerTensor ? w.input_scale : 0.0f;
  if (n <= kGemvMaxRows && fused_enabled() &&
      gemv_fused(g, w.act_quant == ActQuant::kStaticPerTensor ? 2 : 1, static_scale, s))
    return;
  if (n > kGemvMaxRows && gemm_enabled() &&
      gemm_lt_supported(DType::kF8E4M3, n, w.n_in, w.n_out, w.weight.data(), xq, y.data())) {
    quantize_fp8_rows(x.data_as<float>(), n, w.n_in, static_scale, xq, nullptr, xs, s);
    const float* wsv = ws;
    if (!per_channel) {
      float* v = static_cast<float*>(g_wsvec.get(size_t(w.n_out) * sizeof(float)));
      expand_scalar_f32(ws, v, w.n_out, s);
      wsv = v;
    }
    const bool epi = fp8_scales_in_epilogue();
    GemmResult r =
        epi ? gemm_lt(DType::kF8E4M3, w.weight.data(), xq, y.data_as<float>(), n, w.n_in,
                      w.n_out, nullptr, nullptr, s)
            : gemm_fp8_scaled(w.weight.data(), xq, y.data_as<float>(), n, w.n_in, w.n_out, xs,
                              wsv, false, s);
    if (epi && r == GemmResult::kDone) r = GemmResult::kUnscaled;
    if (r != GemmResult::kNoAlgorithm) {
      const bool need_scales = r == GemmResult::kUnscaled;
      scale_bias_epilogue(y.data_as<float>(), n, w.n_out, need_scales ? xs : nullptr,
                          need_scales ? wsv : nullptr, true, bias, s);
      return;
    }
  }
  auto* xf = reinterpret_cast<float*>(xq);
  quantize_fp8_rows(x.data_as<float>(), n, w.n_in, static_scale, nullptr, xf, xs, s);
  g.x = xf;
  g.x_scale = xs;
  gemv(g, s);
}

// y = x wᵀ (+ bias) for a BF16 weight on cuBLASLt, which takes one input type: split, x = hi
// + lo in BF16 and two GEMMs accumulate in fp32 (F32 activations stay ~exact); otherwise x is
// rounded to BF16 and one GEMM runs. False, having done nothing, where no algorithm fits.
bool bf16_gemm(const LinearWeight& w, const Tensor& x, Tensor& y, bool split) {
  const int64_t n = x.dim(0);
  const DType wt = w.weight.dtype();
  const float* bias = w.bias.defined() ? w.bias.data_as<float>() : nullptr;
  cudaStream_t s = stream();
  const size_t count = size_t(n * w.n_in);
  auto* hi = static_cast<uint16_t*>(g_xq.get(count * 4 + 64));
  uint16_t* lo = split ? hi + (count + 31) / 32 * 32 : nullptr;
  if (!gemm_lt_supported(wt, n, w.n_in, w.n_out, w.weight.data(), hi, y.data()) ||
      (split && !gemm_lt_supported(wt, n, w.n_in, w.n_out, w.weight.data(), lo, y.data())))
    return false;
  split_f32_to_bf16x2(x.data_as<float>(), n * w.n_in, hi, lo, s);
  if (gemm_lt(wt, w.weight.data(), hi, y.data_as<float>(), n, w.n_in, w.n_out, nullptr, nullptr,
              s) == GemmResult::kNoAlgorithm)
    return false;
  if (split)
    gemm_lt(wt, w.weight.data(), lo, y.data_as<float>(), n, w.n_in, w.n_out, nullptr, nullptr, s,
            /*accumulate=*/true);
  scale_bias_epilogue(y.data_as<float>(), n, w.n_out, nullptr, nullptr, false, bias, s);
  return true;
}

void linear_dense(const LinearWeight& w, const Tensor& x, Tensor& y) {
  const int64_t n = x.dim(0);
  const DType wt = w.weight.dtype();
  const float* bias = w.bias.defined() ? w.bias.data_as<float>() : nullptr;
  cudaStream_t s = stream();
  if (n > kGemvMaxRows && gemm_enabled() && (wt == DType::kBF16 || wt == DType::kF32)) {
    if (wt == DType::kF32) {
      if (gemm_lt_supported(wt, n, w.n_in, w.n_out, w.weight.data(), x.data(), y.data()) &&
          gemm_lt(wt, w.weight.data(), x.data(), y.data_as<float>(), n, w.n_in, w.n_out, nullptr,
                  nullptr, s) != GemmResult::kNoAlgorithm) {
        scale_bias_epilogue(y.data_as<float>(), n, w.n_out, nullptr, nullptr, false, bias, s);
        return;
      }
    } else if (bf16_gemm(w, x, y, /*split=*/true)) {
      return;
    }
  }
  GemvArgs g{.w = w.weight.data(), .w_dtype = wt, .x = x.data_as<float>(),
             .x_scale = nullptr, .w_scale = nullptr, .w_scale_per_channel = false,
             .bias = bias, .y = y.data_as<float>(), .n = n, .n_in = w.n_in, .n_out = w.n_out};
  if (fused_enabled() && gemv_fused(g, 0, 0.0f, s)) return;
  gemv(g, s);
}

}  // namespace

bool linear_bf16_input(const LinearWeight& w, const float* x, int64_t n, float* y) {
  if (w.weight.dtype() != DType::kBF16 || n <= kGemvMaxRows || !gemm_enabled()) return false;
  Tensor xt = Tensor::view(const_cast<float*>(x), DType::kF32, {n, w.n_in}, Device::kCuda);
  Tensor yt = Tensor::view(y, DType::kF32, {n, w.n_out}, Device::kCuda);
  check_operands(w, xt, yt);
  return bf16_gemm(w, xt, yt, /*split=*/false);
}

void linear(const LinearWeight& w, const Tensor& x, Tensor& y) {
  check_operands(w, x, y);
  switch (w.weight.dtype()) {
    case DType::kF8E4M3: return linear_fp8(w, x, y);
    case DType::kF32:
    case DType::kF16:
    case DType::kBF16: return linear_dense(w, x, y);
    default:
      QINFER_FAIL("linear ", w.name, ": unsupported (format ", dtype_name(w.weight.dtype()),
                  ", activation dtype F32, device cuda)");
  }
}

}  // namespace qinfer::ops::cuda

// FP8 E4M3 linear on the CPU, computed the way vLLM computes it (docs/FORMATS.md):
//   none     y = (x · W_qᵀ) · s_w                                weight-only, x as given
//   static   x_q = fp8(clamp(x · (1/s_x), ±448))                 y = s_x · (s_w · (x_q · W_qᵀ))
//   dynamic  s_x[i] = max(absmax(x[i]) / 448, 1/(448·512)),  x_q = fp8(clamp(x / s_x[i], ±448))
// then + bias. The fp8 products are exact in f32; sums are f32. The scalar loops here are the
// specification; linear_fp8_avx512.cc is the fast kernel, chosen at run time.
#include <algorithm>
#include <cmath>
#include <vector>

#include "core/dtype.h"
#include "core/error.h"
#include "core/thread_pool.h"
#include "ops/cpu/isa.h"
#include "ops/cpu/linear_cpu.h"
#include "ops/cpu/linear_fp8_kernels.h"

namespace qinfer::ops::cpu {
namespace fp8 {

void quantize_row_static(const float* x, int64_t n, float inv_scale, float* xq) {
  for (int64_t k = 0; k < n; ++k) {
    float v = std::clamp(x[k] * inv_scale, -kFp8E4M3Max, kFp8E4M3Max);
    xq[k] = fp8e4m3_to_f32(f32_to_fp8e4m3(v));
  }
}

float quantize_row_dynamic(const float* x, int64_t n, float* xq) {
  // min_scaling_factor in vLLM: 1 / (FP8_E4M3_MAX * 512), so an all-zero row gets a finite scale.
  const float kMinScale = 1.0f / (kFp8E4M3Max * 512.0f);
  float absmax = 0.0f;
  for (int64_t k = 0; k < n; ++k) absmax = std::max(absmax, std::fabs(x[k]));
  const float s = std::max(absmax / kFp8E4M3Max, kMinScale);
  for (int64_t k = 0; k < n; ++k) {
    float v = std::clamp(x[k] / s, -kFp8E4M3Max, kFp8E4M3Max);
    xq[k] = fp8e4m3_to_f32(f32_to_fp8e4m3(v));
  }
  return s;
}

void dot_fp8_scalar(const uint8_t* W, int64_t n_in, int64_t o0, int64_t o1, const float* x,
                    int64_t n, float* acc, int64_t ld) {
  for (int64_t o = o0; o < o1; ++o) {
    const uint8_t* w = W + o * n_in;
    for (int64_t i = 0; i < n; ++i) {
      const float* xi = x + i * n_in;
      float a = 0.0f;
      for (int64_t k = 0; k < n_in; ++k) a += xi[k] * fp8e4m3_to_f32(w[k]);
      acc[i * ld + o] = a;
    }
  }
}

namespace {

// Quantizes the activations as the weight's ActQuant says and scales them by x_scale (the
// kernel's input offset); returns what the dot reads, and fills s_x (one per row; empty for
// weight-only).
const float* quantize_input(const LinearWeight& w, const float* x, int64_t n, bool avx512,
                            float x_scale, std::vector<float>& xq, std::vector<float>& s_x) {
  const int64_t n_in = w.n_in;
  xq.resize(size_t(n * n_in));
  s_x.clear();
  switch (w.act_quant) {
    case ActQuant::kNone:
      if (x_scale == 1.0f) return x;
      for (size_t i = 0; i < xq.size(); ++i) xq[i] = x[i] * x_scale;
      return xq.data();
    case ActQuant::kStaticPerTensor: {
      QINFER_CHECK(std::isfinite(w.input_scale) && w.input_scale > 0.0f, "linear ", w.name,
                   ": static input_scale must be finite and > 0, got ", w.input_scale);
      s_x.assign(size_t(n), w.input_scale);
      const float inv = 1.0f / w.input_scale;  // vLLM multiplies by the reciprocal
      for (int64_t i = 0; i < n; ++i) {
        float* out = xq.data() + i * n_in;
        if (avx512) {
          quantize_row_static_avx512(x + i * n_in, n_in, inv, x_scale, out);
        } else {
          quantize_row_static(x + i * n_in, n_in, inv, out);
          for (int64_t k = 0; k < n_in; ++k) out[k] *= x_scale;
        }
      }
      return xq.data();
    }
    case ActQuant::kDynamicPerToken: {
      s_x.resize(size_t(n));
      for (int64_t i = 0; i < n; ++i) {
        float* out = xq.data() + i * n_in;
        if (avx512) {
          s_x[size_t(i)] = quantize_row_dynamic_avx512(x + i * n_in, n_in, x_scale, out);
        } else {
          s_x[size_t(i)] = quantize_row_dynamic(x + i * n_in, n_in, out);
          for (int64_t k = 0; k < n_in; ++k) out[k] *= x_scale;
        }
      }
      return xq.data();
    }
  }
  QINFER_FAIL("linear ", w.name, ": unknown activation quantization");
}

void check_weight(const LinearWeight& w) {
  QINFER_CHECK(w.weight.dtype() == DType::kF8E4M3 && w.weight.numel() == w.n_out * w.n_in,
               "linear ", w.name, ": FP8 weight must be F8_E4M3 (", w.n_out, ", ", w.n_in,
               "), got ", dtype_name(w.weight.dtype()), " ", shape_str(w.weight.shape()));
  const int64_t ns = w.weight_scale.defined() ? w.weight_scale.numel() : 0;
  QINFER_CHECK(w.weight_scale.dtype() == DType::kF32 && (ns == 1 || ns == w.n_out), "linear ",
               w.name, ": weight_scale must be F32 with 1 or n_out = ", w.n_out, " elements, got ",
               ns);
  QINFER_CHECK(!w.bias.defined() || (w.bias.dtype() == DType::kF32 && w.bias.numel() == w.n_out),
               "linear ", w.name, ": bias must be F32 (", w.n_out, ")");
}

}  // namespace

void linear_fp8_isa(const LinearWeight& w, const float* x, int64_t n, float* y, CpuIsa isa) {
  check_weight(w);
  const bool avx512 = isa == CpuIsa::kAvx512;
  const DotFn dot = avx512 ? dot_fp8_avx512 : dot_fp8_scalar;
  // The AVX-512 kernel's exponent offset: x in, sums out (powers of two: exact).
  const float x_scale = avx512 ? kAvx512XScale : 1.0f;
  const float acc_scale = avx512 ? kAvx512AccScale : 1.0f;
  thread_local std::vector<float> xq, s_x;
  const float* xin = quantize_input(w, x, n, avx512, x_scale, xq, s_x);
  const uint8_t* W = w.weight.data_as<uint8_t>();
  const float* sw = w.weight_scale.data_as<float>();
  const bool per_channel = w.weight_scale.numel() > 1;
  const float* b = w.bias.defined() ? w.bias.data_as<float>() : nullptr;
  const int64_t n_in = w.n_in, n_out = w.n_out;
  const float* sx = s_x.empty() ? nullptr : s_x.data();
  // Rows of x in tiles (so a tile stays in cache while every output row streams past it),
  // output rows split over the threads.
  constexpr int64_t kRowTile = 32;
  parallel_for(
      n_out,
      [&](int64_t o0, int64_t o1, int) {
        for (int64_t i0 = 0; i0 < n; i0 += kRowTile) {
          const int64_t ni = std::min(kRowTile, n - i0);
          dot(W, n_in, o0, o1, xin + i0 * n_in, ni, y + i0 * n_out, n_out);
          for (int64_t i = i0; i < i0 + ni; ++i) {
            float* yi = y + i * n_out;
            for (int64_t o = o0; o < o1; ++o) {
              const float s_w = sw[per_channel ? o : 0];
              const float acc = yi[o] * acc_scale;
              // cutlass ScaledEpilogue order: s_x · (s_w · acc), then + bias.
              float v = sx ? sx[i] * (s_w * acc) : acc * s_w;
              yi[o] = b ? v + b[o] : v;
            }
          }
        }
      },
      16);
}

}  // namespace fp8

void linear_fp8(const LinearWeight& w, const float* x, int64_t n, float* y) {
  fp8::linear_fp8_isa(w, x, n, y, ops_isa());
}

}  // namespace qinfer::ops::cpu

// Internal launchers behind ops::cuda::linear (src/ops/cuda/linear.cc). Each takes a stream.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "core/dtype.h"

namespace qinfer::ops::cuda {

// x: (n, k) F32 -> x_q: (n, k) FP8 E4M3 and s: (n) F32, as vLLM's dynamic per-token quant:
//   s[i] = max(absmax(x[i]) / 448, 1 / (448 * 512)),  x_q = fp8(clamp(x / s[i], ±448)).
// With static_scale > 0 every row uses s[i] = static_scale instead and x_q = fp8(clamp(x *
// (1 / s), ±448)) (vLLM's static per-tensor kernel, which inverts the scale).
// Exactly one of x_q (FP8 codes, for the tensor cores) and x_f32 (the codes' f32 values, for
// the GEMV) is non-null.
void quantize_fp8_rows(const float* x, int64_t n, int64_t k, float static_scale, uint8_t* x_q,
                       float* x_f32, float* s, cudaStream_t stream);

// F32 -> two BF16 arrays with x = hi + lo to ~2^-16 relative: the BF16 tensor-core GEMM runs
// on both and accumulates, so F32 activations keep ~fp32 accuracy against BF16 weights.
// lo null: hi only (x rounded to BF16, round to nearest even).
void split_f32_to_bf16x2(const float* x, int64_t count, uint16_t* hi, uint16_t* lo,
                         cudaStream_t stream);

// y[i, o] = (Σ_k x[i, k] · w[o, k]) · x_scale[i] · w_scale[o] + bias[o], fp32 accumulation.
// The weight is read once for up to 8 rows of x at a time: the decode/small-batch path.
struct GemvArgs {
  const void* w = nullptr;           // (n_out, n_in) of w_dtype
  DType w_dtype = DType::kF8E4M3;    // F8_E4M3, BF16, F16 or F32
  const float* x = nullptr;          // (n, n_in) F32 (W8A8: the quantized values)
  const float* x_scale = nullptr;    // (n) or null (= 1)
  const float* w_scale = nullptr;    // (n_out) if w_scale_per_channel, else (1); null = 1
  bool w_scale_per_channel = false;
  const float* bias = nullptr;       // (n_out) or null
  float* y = nullptr;                // (n, n_out)
  int64_t n = 0, n_in = 0, n_out = 0;
};
void gemv(const GemvArgs& a, cudaStream_t stream);

// The same product for n <= 8 in one persistent kernel that first stages x in shared memory,
// quantizing it (quant_mode 1: vLLM dynamic per token, 2: static with static_scale) for W8A8;
// a.x_scale is ignored. Returns false (and runs nothing) when the shapes do not fit
// (n > 8, n_in % 16 != 0, x larger than 160 KiB).
bool gemv_fused(const GemvArgs& a, int quant_mode, float static_scale, cudaStream_t stream);

// gemv_bulk's epilogue for the QKV projection of a decode batch (each row of x one sequence's
// new token; n_out = (n_head + 2 n_head_kv) head_dim): the rotate-half RoPE of the q and k
// heads (attn::rope_*, the bits of rope_kv_write) and the token's K and V rows stored into its
// paged-cache slot; y gets q and k rotated and v as computed, as rope_kv_write leaves qkv.
// cos_sin and slot come from rope_prepare (attention_cuda.h), once a step for every layer.
struct BulkRope {
  const float* cos_sin = nullptr;  // (n, head_dim / 2, 2); null: no RoPE epilogue
  const int64_t* slot = nullptr;   // (n) each row's cache slot
  void* k_cache = nullptr;  // (n_block, block_size, n_head_kv, head_dim) of cache_bytes each
  void* v_cache = nullptr;
  int cache_bytes = 0;  // 4: F32, 2: BF16, 1: FP8 E4M3 (code = fp8(x / k_scale or v_scale))
  float k_scale = 1.0f, v_scale = 1.0f;
  int n_head = 0, n_head_kv = 0, head_dim = 0;
};

// The decode GEMV for FP8 weights and FP8 activation codes, n <= 8 rows, on Hopper (gemv_bulk.cu:
// bulk-copy ring, tensor cores): y (n, n_out) = (or += when accumulate) (x W^T) * x_scale *
// w_scale + bias. gemv_bulk_applies says whether it takes these shapes (sm_90, switched on,
// n_in % 64 == 0, aligned weight); gemv_bulk returns false, having launched nothing, where it
// does not.
struct BulkGemvArgs {
  const void* w = nullptr;         // (n_out, n_in) FP8 E4M3
  const uint8_t* x = nullptr;      // (n, n_in) E4M3 codes, row-major
  const float* x_scale = nullptr;  // (n)
  const float* w_scale = nullptr;  // indexed o * w_scale_stride, or null
  int w_scale_stride = 0;
  const float* bias = nullptr;     // (n_out) or null
  float* y = nullptr;              // (n, n_out)
  int64_t n = 0, n_in = 0, n_out = 0;
  bool accumulate = false;
  // Instead of x and x_scale: the producer in the kernel's prologue. Each block makes the codes
  // from src (n, n_in) F32: rms_norm(src) * norm_w when norm_w is set (transformers'
  // LlamaRMSNorm, eps), quantized as quant says (1: dynamic per token, 2: static_scale), the
  // arithmetic of rms_norm_act / to_act (fused.cu).
  const float* src = nullptr;
  const float* norm_w = nullptr;
  float eps = 0.0f;
  int quant = 0;
  float static_scale = 0.0f;
  // silu_pair (the gate_up projection, n_out = 2 inter, no accumulate): y (n, inter) = silu(gate)
  // * up (silu_mul_act's formula), and amax (n, gemv_bulk_grid(inter)) each block's max |y|
  // per row. With codes set instead (a static next projection): codes (n, inter) = E4M3 of
  // silu(gate) * up under the static scale codes_scale (silu_mul_act's static arithmetic) and
  // codes_xs (n) = codes_scale, the next GEMV's x and x_scale; neither y nor amax is written.
  bool silu_pair = false;
  float* amax = nullptr;
  uint8_t* codes = nullptr;
  float codes_scale = 0.0f;
  float* codes_xs = nullptr;
  // With src and amax_in (n, amax_n; dynamic quantization only): x = src quantized per row with
  // the scale max(max_j amax_in[t, j] / 448, kMinDynScale), src being such a y.
  const float* amax_in = nullptr;
  int amax_n = 0;
  BulkRope rope = {};  // rope.cos_sin set: the QKV epilogue (BulkRope; made x, norm, n_out)
};
// Blocks of gemv_bulk over `rows` output rows (inter for silu_pair).
int gemv_bulk_grid(int64_t rows);
bool gemv_bulk_applies(int64_t n, int64_t n_in, int64_t n_out, const void* w);
bool gemv_bulk(const BulkGemvArgs& a, cudaStream_t stream);
// Whether gemv_bulk takes src (the producer in its prologue) for these shapes: n_in up to 4096,
// n <= 2, QINFER_CUDA_GEMV_PROLOGUE (default 1) or set_gemv_bulk_prologue.
bool gemv_bulk_prologue_applies(int64_t n, int64_t n_in, int64_t n_out, const void* w);
void set_gemv_bulk_prologue(int mode);  // 0: QINFER_CUDA_GEMV_PROLOGUE, 1: never, 2: always
// Whether gemv_bulk takes src with amax_in (x from a silu_pair GEMV's output) for these shapes.
bool gemv_bulk_from_silu_applies(int64_t n, int64_t n_in, int64_t n_out, const void* w);

// y[i, o] = y[i, o] * x_scale[i] * w_scale[o] + bias[o]: the epilogue of a GEMM that ran
// unscaled. Null pointers mean 1 (scales) or 0 (bias).
void scale_bias_epilogue(float* y, int64_t n, int64_t n_out, const float* x_scale,
                         const float* w_scale, bool w_scale_per_channel, const float* bias,
                         cudaStream_t stream);

// Fills s[0..n) with v.
void fill_f32(float* s, int64_t n, float v, cudaStream_t stream);
// Fills out[0..n) with *scalar (a device pointer): a per-tensor scale as a per-channel vector.
void expand_scalar_f32(const float* scalar, float* out, int64_t n, cudaStream_t stream);

}  // namespace qinfer::ops::cuda

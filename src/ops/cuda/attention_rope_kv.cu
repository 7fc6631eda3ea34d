// RoPE fused with the KV-cache write (contract: attention_cuda.h, rope_kv_write).
//
// One block per new token. The block first tabulates cos / sin of pos * inv_freq[j] for the
// head_dim / 2 frequencies (fp32 angle, sincosf: the same arithmetic as ops::cuda::rope,
// src/ops/rope.h), then rotates the pairs (j, j + head_dim / 2) of the n_head q heads and the
// n_head_kv k heads in place, storing the rotated k and the v heads into the token's cache slot
// converted to the cache dtype (BF16 round-to-nearest-even, FP8 E4M3 satfinite(x / scale)).
#include <algorithm>

#include "ops/cuda/attention_device.h"
#include "ops/cuda/cuda_common.h"

namespace qinfer::ops::cuda {
namespace {

using attn::Bf16;
using attn::Fp8;

constexpr int kThreads = 256;

template <typename T>
__global__ void __launch_bounds__(kThreads)
    rope_kv_write_kernel(float* __restrict__ qkv, AttnBatch b, AttnDims d,
                         const float* __restrict__ inv_freq, T* __restrict__ k_cache,
                         T* __restrict__ v_cache, int block_size, float k_scale, float v_scale) {
  __shared__ float cos_t[128], sin_t[128];  // head_dim <= 256
  const int t = blockIdx.x;
  const int hd = d.head_dim, half = hd / 2;
  const int pos = b.tok_pos[t];
  const int32_t* table = b.block_tables + int64_t(b.tok_seq[t]) * b.max_blocks;
  const int64_t kv_base = attn::kv_row(table, pos, block_size, d.n_head_kv, 0) * hd;
  float* row = qkv + int64_t(t) * (d.n_head + 2 * d.n_head_kv) * hd;
  float* k_row = row + int64_t(d.n_head) * hd;
  const float* v_row = k_row + int64_t(d.n_head_kv) * hd;

  if (inv_freq != nullptr) {
    for (int j = threadIdx.x; j < half; j += blockDim.x) {
      const float a = float(pos) * inv_freq[j];
      sincosf(a, &sin_t[j], &cos_t[j]);
    }
    __syncthreads();
    const int n_pair = (d.n_head + d.n_head_kv) * half;
    for (int i = threadIdx.x; i < n_pair; i += blockDim.x) {
      const int h = i / half, j = i % half;
      float* p = row + h * hd;
      const float x1 = p[j], x2 = p[j + half];
      const float y1 = x1 * cos_t[j] - x2 * sin_t[j];
      const float y2 = x2 * cos_t[j] + x1 * sin_t[j];
      p[j] = y1;
      p[j + half] = y2;
      if (h >= d.n_head) {
        T* k = k_cache + kv_base + (h - d.n_head) * hd;
        k[j] = attn::from_float<T>(y1, k_scale);
        k[j + half] = attn::from_float<T>(y2, k_scale);
      }
    }
  } else {
    // No rotation (the generic ops::attention receives q and k already rotated).
    for (int i = threadIdx.x; i < d.n_head_kv * hd; i += blockDim.x)
      k_cache[kv_base + i] = attn::from_float<T>(k_row[i], k_scale);
  }
  for (int i = threadIdx.x; i < d.n_head_kv * hd; i += blockDim.x)
    v_cache[kv_base + i] = attn::from_float<T>(v_row[i], v_scale);
}

}  // namespace

namespace attn {

void check_dims(const AttnDims& d, const KvCacheView& kv, const char* op) {
  QINFER_CHECK(d.n_head_kv > 0 && d.n_head % d.n_head_kv == 0 && d.n_head / d.n_head_kv <= 8, op,
               ": unsupported on cuda: n_head ", d.n_head, ", n_head_kv ", d.n_head_kv,
               " (n_head must be a multiple of n_head_kv, group <= 8)");
  QINFER_CHECK(d.head_dim >= 16 && d.head_dim <= 256 && d.head_dim % 16 == 0, op,
               ": unsupported on cuda: head_dim ", d.head_dim, " (a multiple of 16 in [16, 256])");
  QINFER_CHECK(kv.k != nullptr && kv.v != nullptr && kv.block_size > 0 && kv.n_block > 0, op,
               ": KV cache view has no memory or an empty shape (n_block ", kv.n_block,
               ", block_size ", kv.block_size, ")");
  QINFER_CHECK(kv.dtype != DType::kF8E4M3 || (kv.k_scale > 0.0f && kv.v_scale > 0.0f), op,
               ": FP8 cache scales must be positive (k_scale ", kv.k_scale, ", v_scale ",
               kv.v_scale, ")");
}

}  // namespace attn

void rope_kv_write(float* qkv, const AttnBatch& b, const AttnDims& d, const float* inv_freq,
                   const KvCacheView& kv, cudaStream_t s) {
  attn::check_dims(d, kv, "rope_kv_write");
  if (b.n_tok == 0) return;
  attn::dispatch_cache(kv.dtype, "rope_kv_write", [&](auto tag) {
    using T = decltype(tag);
    const bool fp8 = kv.dtype == DType::kF8E4M3;
    rope_kv_write_kernel<T><<<unsigned(b.n_tok), kThreads, 0, s>>>(
        qkv, b, d, inv_freq, static_cast<T*>(kv.k), static_cast<T*>(kv.v), kv.block_size,
        fp8 ? kv.k_scale : 1.0f, fp8 ? kv.v_scale : 1.0f);
    QINFER_CUDA_CHECK_LAUNCH();
  });
}

}  // namespace qinfer::ops::cuda

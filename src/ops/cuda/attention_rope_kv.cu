// RoPE fused with the KV-cache write (contract: attention_cuda.h, rope_kv_write).
//
// One block per new token. The block first tabulates cos / sin of pos * inv_freq[j] for the
// head_dim / 2 frequencies once (fp32 angle, sincosf: the same arithmetic as ops::cuda::rope,
// src/ops/rope.h) and every q and k head of the token reuses them; then it rotates the pairs
// (j, j + head_dim / 2) of the n_head q heads and the n_head_kv k heads in place, storing the
// rotated k and the v heads into the token's cache slot converted to the cache dtype (BF16
// round-to-nearest-even, FP8 E4M3 satfinite(x / scale)).
//
// The op only moves bytes (read the qkv row, write back q and k, write K/V to the cache), so it
// is bound by memory bandwidth. With head_dim % 8 == 0 (every Llama size) a thread takes four
// consecutive pairs: 16-byte loads and stores of qkv, 16 / 8 / 4-byte cache stores, and the
// rotation and the V copy share one loop so every thread has its loads in flight at once.
// Other even head dims take the scalar kernel (one pair, one element a thread).
//
// Programmatic dependent launch: both kernels wait for the previous kernel (which wrote qkv)
// before their first global access and let the next one (the attention kernel) launch at once
// (a decode step's one block a token is a single wave; with many waves the dependent grid
// launches only once every block of this one has started). For a model decode batch
// (AttnBatch::past_ready: the metadata comes from a copy before the step) they let the next
// kernel launch first and read the metadata and tabulate cos / sin before they wait, so the
// attention kernel's own reads ahead (attention_decode_tc.cu) overlap the QKV projection.
#include <algorithm>
#include <type_traits>

#include "core/env.h"
#include "ops/cuda/attention_device.h"
#include "ops/cuda/cuda_common.h"
#include "ops/cuda/pdl.cuh"

namespace qinfer::ops::cuda {
namespace {

using attn::Bf16;
using attn::Fp8;

constexpr int kThreads = 256;

int g_delay_ns = 0;  // set_rope_kv_write_delay

// Tests only (set_rope_kv_write_delay): hold the block before its first qkv read and write.
__device__ void sleep_ns(int ns) {
  uint64_t t0, t;
  asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(t0));
  do {
    __nanosleep(1000);
    asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(t));
  } while (t - t0 < uint64_t(ns));
}

// Any even head_dim <= 256.
template <typename T>
__global__ void __launch_bounds__(kThreads)
    rope_kv_write_scalar_kernel(float* __restrict__ qkv, AttnBatch b, AttnDims d,
                                const float* __restrict__ inv_freq, T* __restrict__ k_cache,
                                T* __restrict__ v_cache, int block_size, float k_scale,
                                float v_scale, int delay_ns) {
  __shared__ float cos_t[128], sin_t[128];  // head_dim <= 256
  if (!b.past_ready) pdl_wait();
  pdl_trigger();
  const int t = blockIdx.x;
  const int hd = d.head_dim, half = hd / 2;
  const int pos = b.tok_pos[t];
  const int32_t* table = b.block_tables + int64_t(b.tok_seq[t]) * b.max_blocks;
  const int64_t kv_base = attn::kv_row(table, pos, block_size, d.n_head_kv, 0) * hd;
  float* row = qkv + int64_t(t) * (d.n_head + 2 * d.n_head_kv) * hd;
  float* k_row = row + int64_t(d.n_head) * hd;
  const float* v_row = k_row + int64_t(d.n_head_kv) * hd;

  if (inv_freq != nullptr) {
    for (int j = threadIdx.x; j < half; j += blockDim.x)
      attn::rope_sincos(pos, inv_freq[j], &sin_t[j], &cos_t[j]);
    __syncthreads();
  }
  if (b.past_ready) pdl_wait();
  if (delay_ns > 0) sleep_ns(delay_ns);
  if (inv_freq != nullptr) {
    const int n_pair = (d.n_head + d.n_head_kv) * half;
    for (int i = threadIdx.x; i < n_pair; i += blockDim.x) {
      const int h = i / half, j = i % half;
      float* p = row + h * hd;
      const float x1 = p[j], x2 = p[j + half];
      const float y1 = attn::rope_lo(x1, x2, cos_t[j], sin_t[j]);
      const float y2 = attn::rope_hi(x1, x2, cos_t[j], sin_t[j]);
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

// Four floats -> four cache elements at p (4-element aligned: 16, 8 or 4 bytes).
__device__ __forceinline__ void store4(float* p, float4 x, float) {
  *reinterpret_cast<float4*>(p) = x;
}
__device__ __forceinline__ void store4(Bf16* p, float4 x, float) {
  const __nv_bfloat162 lo = __floats2bfloat162_rn(x.x, x.y), hi = __floats2bfloat162_rn(x.z, x.w);
  *reinterpret_cast<uint2*>(p) =
      make_uint2(*reinterpret_cast<const uint32_t*>(&lo), *reinterpret_cast<const uint32_t*>(&hi));
}
__device__ __forceinline__ void store4(Fp8* p, float4 x, float scale) {
  const uint32_t c0 = attn::from_float<Fp8>(x.x, scale).__x,
                 c1 = attn::from_float<Fp8>(x.y, scale).__x;
  const uint32_t c2 = attn::from_float<Fp8>(x.z, scale).__x,
                 c3 = attn::from_float<Fp8>(x.w, scale).__x;
  *reinterpret_cast<uint32_t*>(p) = c0 | c1 << 8 | c2 << 16 | c3 << 24;
}

// head_dim % 8 == 0: item i < n_rot = (n_head + n_head_kv) head_dim / 8 rotates the pairs
// (j .. j + 3, j + half .. j + half + 3) of one q or k head; the items after it copy four
// elements of the v heads (and, without rotation, of the k heads) to the cache.
// IT = float: qkv is rotated in place (src unused). IT = Bf16 (rope_kv_write_from_bf16): the
// row is read from src in BF16 and only the rotated q heads are written to qkv, in F32.
template <typename T, typename IT = float>
__global__ void __launch_bounds__(kThreads)
    rope_kv_write_vec4_kernel(float* __restrict__ qkv, const IT* src, AttnBatch b, AttnDims d,
                              const float* __restrict__ inv_freq, T* __restrict__ k_cache,
                              T* __restrict__ v_cache, int block_size, float k_scale,
                              float v_scale, int delay_ns) {
  constexpr bool kInPlace = std::is_same_v<IT, float>;
  __shared__ __align__(16) float cos_t[128];  // head_dim <= 256
  __shared__ __align__(16) float sin_t[128];
  if (!b.past_ready) pdl_wait();
  pdl_trigger();
  const int t = blockIdx.x;
  const int hd = d.head_dim, half = hd / 2, quads = half / 4;  // quads per head half
  const int pos = b.tok_pos[t];
  const int32_t* table = b.block_tables + int64_t(b.tok_seq[t]) * b.max_blocks;
  const int64_t kv_base = attn::kv_row(table, pos, block_size, d.n_head_kv, 0) * hd;
  const int64_t width = int64_t(d.n_head + 2 * d.n_head_kv) * hd;
  float* row = qkv + int64_t(t) * width;
  const IT* in_row = kInPlace ? reinterpret_cast<const IT*>(row) : src + int64_t(t) * width;
  const IT* k_row = in_row + int64_t(d.n_head) * hd;
  const IT* v_row = k_row + int64_t(d.n_head_kv) * hd;
  const int kv4 = d.n_head_kv * hd / 4;  // 4-element words of the k (or v) heads

  int n_rot = 0;
  if (inv_freq != nullptr) {
    for (int j = threadIdx.x; j < half; j += blockDim.x)
      attn::rope_sincos(pos, inv_freq[j], &sin_t[j], &cos_t[j]);
    __syncthreads();
    n_rot = (d.n_head + d.n_head_kv) * quads;
  }
  if (b.past_ready) pdl_wait();
  if (delay_ns > 0) sleep_ns(delay_ns);
  const int n_copy = inv_freq != nullptr ? kv4 : 2 * kv4;
  for (int i = threadIdx.x; i < n_rot + n_copy; i += blockDim.x) {
    if (i < n_rot) {
      const int h = i / quads, j = (i - h * quads) * 4;
      float* p = row + h * hd + j;
      const IT* pin = in_row + h * hd + j;
      const float4 x1 = attn::load4(pin);
      const float4 x2 = attn::load4(pin + half);
      const float4 c = *reinterpret_cast<const float4*>(cos_t + j);
      const float4 s = *reinterpret_cast<const float4*>(sin_t + j);
      const float4 y1 =
          make_float4(attn::rope_lo(x1.x, x2.x, c.x, s.x), attn::rope_lo(x1.y, x2.y, c.y, s.y),
                      attn::rope_lo(x1.z, x2.z, c.z, s.z), attn::rope_lo(x1.w, x2.w, c.w, s.w));
      const float4 y2 =
          make_float4(attn::rope_hi(x1.x, x2.x, c.x, s.x), attn::rope_hi(x1.y, x2.y, c.y, s.y),
                      attn::rope_hi(x1.z, x2.z, c.z, s.z), attn::rope_hi(x1.w, x2.w, c.w, s.w));
      if (kInPlace || h < d.n_head) {
        *reinterpret_cast<float4*>(p) = y1;
        *reinterpret_cast<float4*>(p + half) = y2;
      }
      if (h >= d.n_head) {
        T* k = k_cache + kv_base + (h - d.n_head) * hd + j;
        store4(k, y1, k_scale);
        store4(k + half, y2, k_scale);
      }
    } else {
      // Copy word w of the v heads (w < kv4), or without rotation of the k heads first.
      int w = i - n_rot;
      const bool is_v = inv_freq != nullptr || w >= kv4;
      if (inv_freq == nullptr && is_v) w -= kv4;
      const float4 x = attn::load4((is_v ? v_row : k_row) + 4 * w);
      store4((is_v ? v_cache : k_cache) + kv_base + 4 * w, x, is_v ? v_scale : k_scale);
    }
  }
}

// One block per token: cos / sin of its position for every frequency, and its cache slot.
__global__ void __launch_bounds__(kThreads)
    rope_prepare_kernel(AttnBatch b, int half, const float* __restrict__ inv_freq,
                        int block_size, float* __restrict__ cos_sin, int64_t* __restrict__ slot) {
  attn::rope_prepare_token(b, blockIdx.x, half, inv_freq, block_size, cos_sin, slot,
                           threadIdx.x, blockDim.x);
}

}  // namespace

void rope_prepare(const AttnBatch& b, const AttnDims& d, const float* inv_freq, int block_size,
                  float* cos_sin, int64_t* slot, cudaStream_t s) {
  QINFER_CHECK(inv_freq != nullptr && block_size > 0 && d.head_dim >= 2 && d.head_dim % 2 == 0,
               "rope_prepare: needs inv_freq, a positive block size and an even head_dim (",
               d.head_dim, ")");
  if (b.n_tok == 0) return;
  rope_prepare_kernel<<<unsigned(b.n_tok), kThreads, 0, s>>>(b, d.head_dim / 2, inv_freq,
                                                             block_size, cos_sin, slot);
  QINFER_CUDA_CHECK_LAUNCH();
}

void set_rope_kv_write_delay(int ns) { g_delay_ns = std::max(0, ns); }

bool attention_early_loads() {
  static const bool on = env_switch("QINFER_CUDA_ATTN_EARLY", 1) != 0;
  return on;
}

namespace attn {

void check_dims(const AttnDims& d, const KvCacheView& kv, const char* op) {
  QINFER_CHECK(d.n_head_kv > 0 && d.n_head % d.n_head_kv == 0 && d.n_head / d.n_head_kv <= 8, op,
               ": unsupported on cuda: n_head ", d.n_head, ", n_head_kv ", d.n_head_kv,
               " (n_head must be a multiple of n_head_kv, group <= 8)");
  QINFER_CHECK(d.head_dim >= 2 && d.head_dim <= 256 && d.head_dim % 2 == 0, op,
               ": unsupported on cuda: head_dim ", d.head_dim, " (even, in [2, 256])");
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
    const float ks = fp8 ? kv.k_scale : 1.0f, vs = fp8 ? kv.v_scale : 1.0f;
    if (d.head_dim % 8 == 0)
      launch_pdl_smem_on(s, rope_kv_write_vec4_kernel<T>, dim3(unsigned(b.n_tok)), dim3(kThreads),
                         0, qkv, static_cast<const float*>(nullptr), b, d, inv_freq,
                         static_cast<T*>(kv.k), static_cast<T*>(kv.v), kv.block_size, ks, vs,
                         g_delay_ns);
    else
      launch_pdl_smem_on(s, rope_kv_write_scalar_kernel<T>, dim3(unsigned(b.n_tok)),
                         dim3(kThreads), 0, qkv, b, d, inv_freq, static_cast<T*>(kv.k),
                         static_cast<T*>(kv.v), kv.block_size, ks, vs, g_delay_ns);
  });
}

bool rope_kv_write_from_bf16_applies(const AttnDims& d) {
  static const bool on = env_switch("QINFER_CUDA_QKV_BF16", 1) != 0;
  return on && d.head_dim % 8 == 0;
}

void rope_kv_write_from_bf16(const void* qkv16, float* q, const AttnBatch& b, const AttnDims& d,
                             const float* inv_freq, const KvCacheView& kv, cudaStream_t s) {
  attn::check_dims(d, kv, "rope_kv_write_from_bf16");
  QINFER_CHECK(inv_freq != nullptr && d.head_dim % 8 == 0,
               "rope_kv_write_from_bf16: needs inv_freq and head_dim % 8 == 0 (", d.head_dim, ")");
  if (b.n_tok == 0) return;
  attn::dispatch_cache(kv.dtype, "rope_kv_write_from_bf16", [&](auto tag) {
    using T = decltype(tag);
    const bool fp8 = kv.dtype == DType::kF8E4M3;
    launch_pdl_smem_on(s, rope_kv_write_vec4_kernel<T, Bf16>, dim3(unsigned(b.n_tok)),
                       dim3(kThreads), 0, q, static_cast<const Bf16*>(qkv16), b, d, inv_freq,
                       static_cast<T*>(kv.k), static_cast<T*>(kv.v), kv.block_size,
                       fp8 ? kv.k_scale : 1.0f, fp8 ? kv.v_scale : 1.0f, g_delay_ns);
  });
}

}  // namespace qinfer::ops::cuda

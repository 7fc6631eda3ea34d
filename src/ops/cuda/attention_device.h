// Device code shared by the attention kernels (attention_rope_kv.cu, attention_decode.cu,
// attention_prefill.cu); include from .cu files only. Cache element types, their conversions
// (core/dtype.h defines the formats: bf16 round-to-nearest-even, OCP FP8 E4M3FN with
// satfinite encode), the paged-cache slot of a position, and the dtype dispatch.
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp8.h>

#include <cstdint>

#include "core/error.h"
#include "ops/cuda/attention_cuda.h"
#include "ops/cuda/mma.cuh"

namespace qinfer::ops::cuda::attn {

using Bf16 = __nv_bfloat16;
using Fp8 = __nv_fp8_e4m3;

// log2(e): the kernels keep softmax in base 2 (exp(x) = exp2(x log2 e)).
inline constexpr float kLog2e = 1.4426950408889634f;

// Float -> cache element. `scale` is k_scale (or v_scale) for FP8 (code = fp8(x / scale), a
// true division as the reference quantizers do) and ignored otherwise.
template <typename T>
__device__ __forceinline__ T from_float(float x, float scale);
template <>
__device__ __forceinline__ float from_float<float>(float x, float) {
  return x;
}
template <>
__device__ __forceinline__ Bf16 from_float<Bf16>(float x, float) {
  return __float2bfloat16_rn(x);
}
template <>
__device__ __forceinline__ Fp8 from_float<Fp8>(float x, float scale) {
  Fp8 r;
  r.__x = __nv_cvt_float_to_fp8(x / scale, __NV_SATFINITE, __NV_E4M3);
  return r;
}

// Two FP8 E4M3 codes (low byte first) -> two floats, exact (the codes' values, unscaled).
__device__ __forceinline__ float2 fp8x2_to_float2(uint16_t codes) {
  const __half2_raw h = __nv_cvt_fp8x2_to_halfraw2(__nv_fp8x2_storage_t(codes), __NV_E4M3);
  return __half22float2(*reinterpret_cast<const __half2*>(&h));
}

// Eight cache elements (F32: two 16-byte words; BF16: one; FP8: eight bytes) -> floats, raw
// (FP8 codes unscaled: the kernels fold k_scale / v_scale into the softmax scale / output).
template <typename T>
struct Vec8;
template <>
struct Vec8<float> {
  static constexpr int kN = 8;
  float4 a, b;
  __device__ __forceinline__ void load(const float* p) {
    a = *reinterpret_cast<const float4*>(p);
    b = *reinterpret_cast<const float4*>(p + 4);
  }
  __device__ __forceinline__ void zero() { a = b = make_float4(0, 0, 0, 0); }
  __device__ __forceinline__ void to_float(float* f) const {
    f[0] = a.x, f[1] = a.y, f[2] = a.z, f[3] = a.w, f[4] = b.x, f[5] = b.y, f[6] = b.z, f[7] = b.w;
  }
};
template <>
struct Vec8<Bf16> {
  static constexpr int kN = 8;
  uint4 w;
  __device__ __forceinline__ void load(const Bf16* p) { w = *reinterpret_cast<const uint4*>(p); }
  __device__ __forceinline__ void zero() { w = make_uint4(0, 0, 0, 0); }
  __device__ __forceinline__ void to_float(float* f) const {
    const uint32_t u[4] = {w.x, w.y, w.z, w.w};
#pragma unroll
    for (int i = 0; i < 4; ++i) {
      f[2 * i] = __uint_as_float(u[i] << 16);
      f[2 * i + 1] = __uint_as_float(u[i] & 0xffff0000u);
    }
  }
};
template <>
struct Vec8<Fp8> {
  static constexpr int kN = 8;
  uint2 w;
  __device__ __forceinline__ void load(const Fp8* p) { w = *reinterpret_cast<const uint2*>(p); }
  __device__ __forceinline__ void zero() { w = make_uint2(0, 0); }
  __device__ __forceinline__ void to_float(float* f) const {
    const uint32_t u[2] = {w.x, w.y};
#pragma unroll
    for (int i = 0; i < 2; ++i) {
      const float2 lo = fp8x2_to_float2(uint16_t(u[i] & 0xffffu));
      const float2 hi = fp8x2_to_float2(uint16_t(u[i] >> 16));
      f[4 * i] = lo.x, f[4 * i + 1] = lo.y, f[4 * i + 2] = hi.x, f[4 * i + 3] = hi.y;
    }
  }
};

// Eight E4M3 codes -> their BF16 values (exact), as the 16 bytes of a BF16 row chunk.
__device__ __forceinline__ uint4 fp8x8_to_bf16x8(uint2 codes) {
  Vec8<Fp8> r;
  r.w = codes;
  float f[8];
  r.to_float(f);
  return make_uint4(mma::pack_bf16(f[0], f[1]), mma::pack_bf16(f[2], f[3]),
                    mma::pack_bf16(f[4], f[5]), mma::pack_bf16(f[6], f[7]));
}

// Four cache elements -> floats (the F32 decode path loads 16 bytes a lane).
struct F32x4 {
  static constexpr int kN = 4;
  float4 a;
  __device__ __forceinline__ void load(const float* p) { a = *reinterpret_cast<const float4*>(p); }
  __device__ __forceinline__ void zero() { a = make_float4(0, 0, 0, 0); }
  __device__ __forceinline__ void to_float(float* f) const {
    f[0] = a.x, f[1] = a.y, f[2] = a.z, f[3] = a.w;
  }
};

// Two cache elements -> floats (8, 4 or 2 bytes): the decode path for head dims whose rows are
// not 16-byte multiples (any even head_dim keeps these loads aligned).
template <typename T>
struct Vec2;
template <>
struct Vec2<float> {
  static constexpr int kN = 2;
  float2 a;
  __device__ __forceinline__ void load(const float* p) { a = *reinterpret_cast<const float2*>(p); }
  __device__ __forceinline__ void zero() { a = make_float2(0, 0); }
  __device__ __forceinline__ void to_float(float* f) const { f[0] = a.x, f[1] = a.y; }
};
template <>
struct Vec2<Bf16> {
  static constexpr int kN = 2;
  uint32_t w;
  __device__ __forceinline__ void load(const Bf16* p) { w = *reinterpret_cast<const uint32_t*>(p); }
  __device__ __forceinline__ void zero() { w = 0; }
  __device__ __forceinline__ void to_float(float* f) const {
    f[0] = __uint_as_float(w << 16);
    f[1] = __uint_as_float(w & 0xffff0000u);
  }
};
template <>
struct Vec2<Fp8> {
  static constexpr int kN = 2;
  uint16_t w;
  __device__ __forceinline__ void load(const Fp8* p) { w = *reinterpret_cast<const uint16_t*>(p); }
  __device__ __forceinline__ void zero() { w = 0; }
  __device__ __forceinline__ void to_float(float* f) const {
    const float2 x = fp8x2_to_float2(w);
    f[0] = x.x, f[1] = x.y;
  }
};

// Four consecutive elements (16-byte aligned F32, 8-byte aligned BF16) as floats.
__device__ __forceinline__ float4 load4(const float* p) {
  return *reinterpret_cast<const float4*>(p);
}
__device__ __forceinline__ float4 load4(const Bf16* p) {
  const uint2 w = *reinterpret_cast<const uint2*>(p);
  return make_float4(__uint_as_float(w.x << 16), __uint_as_float(w.x & 0xffff0000u),
                     __uint_as_float(w.y << 16), __uint_as_float(w.y & 0xffff0000u));
}

// RoPE (rotate-half, src/ops/rope.h), shared by rope_kv_write and attention_decode_rope so
// both produce the same bits: the angle pos * inv_freq[j] in fp32 and sincosf (the arithmetic
// of ops::cuda::rope), then (x1, x2) -> (x1 cos - x2 sin, x2 cos + x1 sin) with every rounding
// spelled out, so no kernel's result depends on how the compiler contracts it into FMAs.
__device__ __forceinline__ void rope_sincos(int pos, float inv_freq, float* sin_v, float* cos_v) {
  const float a = float(pos) * inv_freq;
  sincosf(a, sin_v, cos_v);
}
__device__ __forceinline__ float rope_lo(float x1, float x2, float c, float s) {
  return __fmaf_rn(x1, c, -__fmul_rn(x2, s));
}
__device__ __forceinline__ float rope_hi(float x1, float x2, float c, float s) {
  return __fmaf_rn(x2, c, __fmul_rn(x1, s));
}

// q[0..8) . k[0..8), added left to right (q 16-byte aligned: two float4 loads): the fp32
// decode scores of attention_o and decode_persistent.
__device__ __forceinline__ float dot8(const float* q, const float (&k)[8]) {
  const float4 a = *reinterpret_cast<const float4*>(q);
  const float4 b = *reinterpret_cast<const float4*>(q + 4);
  return a.x * k[0] + a.y * k[1] + a.z * k[2] + a.w * k[3] + b.x * k[4] + b.y * k[5] +
         b.z * k[6] + b.w * k[7];
}

// exp2 of (x - ref) where ref may be -inf (then every x is -inf too and the result is 0).
__device__ __forceinline__ float exp2_rel(float x, float ref) {
  return exp2f(x - (ref == -INFINITY ? 0.0f : ref));
}

// A split output's merge over its ns <= kMax split records in split order: out = Σ_s exp2(m_s
// - M) a_s / Σ_s exp2(m_s - M) l_s with M = max_s m_s, where rec(s) points at split s's
// record (m, l, then the accumulators) of the output's row and dd is the element. Empty splits
// (m = -inf, l = 0) weigh nothing. The cluster merges of both decode kernels use it.
template <int kMax, class Rec>
__device__ __forceinline__ float merge_splits(int ns, int dd, Rec rec) {
  float ms[kMax], ls[kMax], as[kMax];
#pragma unroll
  for (int s = 0; s < kMax; ++s) {
    ms[s] = -INFINITY;
    ls[s] = as[s] = 0.0f;
    if (s < ns) {
      const float* r = rec(s);
      ms[s] = r[0];
      ls[s] = r[1];
      as[s] = r[2 + dd];
    }
  }
  float mm = -INFINITY;
#pragma unroll
  for (int s = 0; s < kMax; ++s) mm = fmaxf(mm, ms[s]);
  float ll = 0.0f, aa = 0.0f;
#pragma unroll
  for (int s = 0; s < kMax; ++s) {
    if (s >= ns) break;
    const float wt = exp2_rel(ms[s], mm);
    ll += ls[s] * wt;
    aa += as[s] * wt;
  }
  return aa / ll;
}

// Row of (slot, kv head) in a cache of (n_block, block_size, n_head_kv, head_dim): position
// `pos` of a sequence lives in block table[pos / block_size], slot pos % block_size.
__device__ __forceinline__ int64_t kv_row(const int32_t* table, int pos, int block_size,
                                          int n_head_kv, int kvh) {
  const int64_t slot = int64_t(table[pos / block_size]) * block_size + pos % block_size;
  return slot * n_head_kv + kvh;
}

// rope_prepare's values (attention_cuda.h) for token t of b: cos / sin of tok_pos[t] *
// inv_freq[j] into cos_sin (n_tok, half, 2) for j = j0, j0 + stride, ... < half, and, from the
// thread with j0 == 0, the token's cache slot. rope_prepare_kernel and embedding_rows_rope.
__device__ __forceinline__ void rope_prepare_token(const AttnBatch& b, int t, int half,
                                                   const float* inv_freq, int block_size,
                                                   float* cos_sin, int64_t* slot, int j0,
                                                   int stride) {
  const int pos = b.tok_pos[t];
  for (int j = j0; j < half; j += stride) {
    float sn, cs;
    rope_sincos(pos, inv_freq[j], &sn, &cs);
    cos_sin[(int64_t(t) * half + j) * 2] = cs;
    cos_sin[(int64_t(t) * half + j) * 2 + 1] = sn;
  }
  if (j0 == 0) {
    const int32_t* table = b.block_tables + int64_t(b.tok_seq[t]) * b.max_blocks;
    slot[t] = kv_row(table, pos, block_size, 1, 0);
  }
}

// Calls f(T{}) with T the cache's element type.
template <typename F>
void dispatch_cache(DType dt, const char* op, F&& f) {
  switch (dt) {
    case DType::kF32:
      return f(float{});
    case DType::kBF16:
      return f(Bf16{});
    case DType::kF8E4M3:
      return f(Fp8{});
    default:
      QINFER_FAIL(op, ": unsupported (cache dtype ", dtype_name(dt),
                  ", device cuda); expected F32, BF16 or F8_E4M3");
  }
}

// Host-side checks shared by the entry points.
void check_dims(const AttnDims& d, const KvCacheView& kv, const char* op);

// The launch fields every attention kernel's argument struct has, from its entry point's
// arguments: qkv, k, v, out, b, d, block_size, s_mul = scale * log2(e) (* k_scale for an FP8
// cache), v_mul = v_scale for FP8, else 1.
template <typename Args>
void fill_launch(Args& a, const float* qkv, const AttnBatch& b, const AttnDims& d,
                 const KvCacheView& kv, float* out) {
  a.qkv = qkv;
  a.k = kv.k;
  a.v = kv.v;
  a.out = out;
  a.b = b;
  a.d = d;
  a.block_size = kv.block_size;
  const bool fp8 = kv.dtype == DType::kF8E4M3;
  a.s_mul = d.scale * kLog2e * (fp8 ? kv.k_scale : 1.0f);
  a.v_mul = fp8 ? kv.v_scale : 1.0f;
}

// The launch arguments of the prefill attention kernels (attention_prefill.cu and
// attention_prefill_wg.cu); attn::fill_launch fills them.
struct PrefillArgs {
  const float* qkv;  // (n_tok, (n_head + 2 n_head_kv) head_dim)
  const void* k;     // (n_block, block_size, n_head_kv, head_dim)
  const void* v;
  float* out;  // (n_tok, n_head head_dim)
  AttnBatch b;
  AttnDims d;
  int block_size;
  float s_mul;  // scale * log2(e) (* k_scale for FP8)
  float v_mul;  // v_scale for FP8, else 1
  int always_rescale;  // attention_prefill_wg: rescale O at every tile (A/B runs)
  int bs_shift;        // attention_prefill_wg: log2(block_size), or -1 (block_shift)
};

// The rows of a prefill attention block. Grid x is (tile rank, KV head) with the head fastest,
// grid z the sequence; the sequence's n_new * G GQA-packed query rows (row r: token r / G,
// query head kvh * G + r % G) are cut into tiles of `rows`, and rank 0 takes the last tile, so
// every head's longest rows (causal: the most keys) go first.
struct PrefillRows {
  int seq, kvh, group, q_first, n_rows, n_past, r0, r_last;
  int pos_first;  // the tile's first row's position
  int n_keys;     // keys 0 .. the tile's last row's position
  const int32_t* table;  // the sequence's block table
};
// False where the block has no tile (its sequence has fewer rows than the batch's longest).
__device__ __forceinline__ bool prefill_rows(const AttnBatch& b, const AttnDims& d, int rows,
                                             PrefillRows& p) {
  p.seq = int(blockIdx.z);
  p.kvh = int(blockIdx.x) % d.n_head_kv;
  const int rank = int(blockIdx.x) / d.n_head_kv;
  p.group = d.n_head / d.n_head_kv;
  p.q_first = b.seq_q_start[p.seq];
  const int n_new = b.seq_q_start[p.seq + 1] - p.q_first;
  p.n_rows = n_new * p.group;
  const int n_tiles = (p.n_rows + rows - 1) / rows;
  if (rank >= n_tiles) return false;
  p.n_past = b.seq_len[p.seq] - n_new;
  p.r0 = (n_tiles - 1 - rank) * rows;
  p.r_last = min(p.r0 + rows, p.n_rows) - 1;
  p.pos_first = p.n_past + p.r0 / p.group;
  p.n_keys = p.n_past + p.r_last / p.group + 1;
  p.table = b.block_tables + int64_t(p.seq) * b.max_blocks;
  return true;
}
// The grid prefill_rows reads: (ceil(max_q_len G / rows) n_head_kv, 1, n_seq).
inline dim3 prefill_grid(const AttnBatch& b, const AttnDims& d, int rows) {
  const int64_t tiles = (int64_t(b.max_q_len) * (d.n_head / d.n_head_kv) + rows - 1) / rows;
  return dim3(unsigned(tiles * d.n_head_kv), 1, unsigned(b.n_seq));
}

// log2(block_size) for a power of two, else -1 (the kernels then divide).
inline int block_shift(int block_size) {
  if (block_size <= 0 || (block_size & (block_size - 1)) != 0) return -1;
  int s = 0;
  while ((1 << s) < block_size) ++s;
  return s;
}

}  // namespace qinfer::ops::cuda::attn

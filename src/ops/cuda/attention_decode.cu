// Paged decode attention on CUDA cores (contract: attention_cuda.h, attention_decode).
//
// One block per (token, KV head, split) computes, for the G = n_head / n_head_kv query heads
// of that KV head, softmax(q kᵀ scale) v over the split's share of positions 0 .. tok_pos,
// so each K/V row is read once for G heads (flash-decoding: Dao et al. 2023; online softmax:
// Milakov & Gimelshein 2018). Inside the block every warp is cut into 32 / LPK key slots of
// LPK lanes; a slot reads one cache row with one 16-byte load a lane (8 bytes for FP8) and its
// lanes reduce the dot products with shuffles. Each slot keeps its own running (max m, sum l,
// accumulator) and takes U keys per step: their loads are issued together and the softmax is
// rescaled once per step. The slots merge through shuffles, the warps through shared memory.
//
// Splits: each takes ceil(len / n_split) of the token's len = tok_pos + 1 positions, computed
// on the device, so the launch depends only on (n_tok, dims, n_split): CUDA graphs replay it
// over changing lengths. A split past the end writes a neutral partial (m = -inf, l = 0); the
// combine kernel weighs partials by exp2(m_s - max m). With one split the block writes `out`.
//
// Scores stay in base 2: q is pre-multiplied by scale * log2(e) (and by k_scale for FP8, whose
// codes are read unscaled); v_scale multiplies the output.
#include <algorithm>
#include <cmath>
#include <type_traits>

#include "ops/cuda/attention_device.h"
#include "ops/cuda/cuda_common.h"

namespace qinfer::ops::cuda {
namespace {

using attn::Bf16;
using attn::F32x4;
using attn::Fp8;
using attn::Vec8;

constexpr int kWarps = 4;

// The per-lane load of a cache row (the fast path): F32 in 4-float words, BF16 and FP8 in
// 8-element words; rows of other head dims take Vec2 (launch_for_head_dim).
template <typename T>
struct ChunkOf {
  using type = Vec8<T>;
};
template <>
struct ChunkOf<float> {
  using type = F32x4;
};

struct DecodeArgs {
  const float* qkv;  // (n_tok, (n_head + 2 n_head_kv) head_dim)
  const void* k;     // (n_block, block_size, n_head_kv, head_dim)
  const void* v;
  float* out;   // (n_tok, n_head head_dim)
  float* part;  // (n_tok, n_head, n_split, 2 + head_dim): m, l, acc[head_dim]
  AttnBatch b;
  AttnDims d;
  int block_size, n_split;
  float q_mul;  // scale * log2(e) (* k_scale for FP8)
  float v_mul;  // v_scale for FP8, else 1
};

// exp2 of (x - ref) where ref may be -inf (then every x is -inf too and the result is 0).
__device__ __forceinline__ float exp2_rel(float x, float ref) {
  return exp2f(x - (ref == -INFINITY ? 0.0f : ref));
}

// T: cache element; Chunk: one lane's load (Chunk::kN elements); LPK: lanes per key row; NCH:
// loads per lane per row; GMAX >= group.
template <typename T, typename Chunk, int LPK, int NCH, int GMAX>
__global__ void __launch_bounds__(kWarps * 32) decode_kernel(DecodeArgs a) {
  constexpr int kVec = Chunk::kN, E = NCH * kVec, KPW = 32 / LPK, NS = kWarps * KPW;
  // Keys per slot per step (registers bound it). Doubling it for FP8 (half the bytes a row)
  // cost 1.5x on H100 (168 registers: fewer warps), so FP8 takes the BF16 count.
  constexpr int U = GMAX <= 4 ? 4 : 2;
  const int t = blockIdx.x, kvh = blockIdx.y, split = blockIdx.z;
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32, sub = lane % LPK, ks = lane / LPK;
  const int hd = a.d.head_dim, group = a.d.n_head / a.d.n_head_kv, nkv = a.d.n_head_kv;
  const int len = a.b.tok_pos[t] + 1;
  const int32_t* table = a.b.block_tables + int64_t(a.b.tok_seq[t]) * a.b.max_blocks;
  const int chunk = (len + a.n_split - 1) / a.n_split;
  const int begin = split * chunk, end = min(len, begin + chunk);

  float q[GMAX][E], acc[GMAX][E], m[GMAX], l[GMAX];
  const float* q_row = a.qkv + int64_t(t) * (a.d.n_head + 2 * nkv) * hd + int64_t(kvh) * group * hd;
#pragma unroll
  for (int g = 0; g < GMAX; ++g) {
    m[g] = -INFINITY;
    l[g] = 0.0f;
#pragma unroll
    for (int c = 0; c < NCH; ++c)
#pragma unroll
      for (int e = 0; e < kVec; ++e) {
        const int dd = (c * LPK + sub) * kVec + e;
        q[g][c * kVec + e] = (g < group && dd < hd) ? q_row[g * hd + dd] * a.q_mul : 0.0f;
        acc[g][c * kVec + e] = 0.0f;
      }
  }

  const T* kc = static_cast<const T*>(a.k);
  const T* vc = static_cast<const T*>(a.v);
  // Warp-uniform loop (the shuffles need every lane): slot ks of warp w takes keys
  // jw + ks + u * NS.
  for (int jw = begin + warp * KPW; jw < end; jw += NS * U) {
    Chunk kr[U][NCH], vr[U][NCH];
#pragma unroll
    for (int u = 0; u < U; ++u) {
      const int j = jw + ks + u * NS;
      const int64_t base = j < end ? attn::kv_row(table, j, a.block_size, nkv, kvh) * hd : 0;
#pragma unroll
      for (int c = 0; c < NCH; ++c) {
        const int d0 = (c * LPK + sub) * kVec;
        if (j < end && d0 < hd) {
          kr[u][c].load(kc + base + d0);
          vr[u][c].load(vc + base + d0);
        } else {
          kr[u][c].zero();
          vr[u][c].zero();
        }
      }
    }
    float s[GMAX][U];
#pragma unroll
    for (int u = 0; u < U; ++u) {
      float kf[E];
#pragma unroll
      for (int c = 0; c < NCH; ++c) kr[u][c].to_float(kf + c * kVec);
#pragma unroll
      for (int g = 0; g < GMAX; ++g) {
        float acc_s = 0.0f;
#pragma unroll
        for (int e = 0; e < E; ++e) acc_s = fmaf(q[g][e], kf[e], acc_s);
        s[g][u] = acc_s;
      }
    }
#pragma unroll
    for (int o = LPK / 2; o > 0; o >>= 1)
#pragma unroll
      for (int g = 0; g < GMAX; ++g)
#pragma unroll
        for (int u = 0; u < U; ++u) s[g][u] += __shfl_xor_sync(0xffffffffu, s[g][u], o);
#pragma unroll
    for (int u = 0; u < U; ++u)
      if (jw + ks + u * NS >= end)
#pragma unroll
        for (int g = 0; g < GMAX; ++g) s[g][u] = -INFINITY;
#pragma unroll
    for (int g = 0; g < GMAX; ++g) {
      float mn = m[g];
#pragma unroll
      for (int u = 0; u < U; ++u) mn = fmaxf(mn, s[g][u]);
      const float corr = exp2_rel(m[g], mn);
      float sum = 0.0f;
#pragma unroll
      for (int u = 0; u < U; ++u) sum += (s[g][u] = exp2_rel(s[g][u], mn));  // s -> p
      l[g] = l[g] * corr + sum;
      m[g] = mn;
#pragma unroll
      for (int e = 0; e < E; ++e) acc[g][e] *= corr;
    }
#pragma unroll
    for (int u = 0; u < U; ++u) {
      float vf[E];
#pragma unroll
      for (int c = 0; c < NCH; ++c) vr[u][c].to_float(vf + c * kVec);
#pragma unroll
      for (int g = 0; g < GMAX; ++g)
#pragma unroll
        for (int e = 0; e < E; ++e) acc[g][e] = fmaf(s[g][u], vf[e], acc[g][e]);
    }
  }

  // Merge the warp's key slots (lanes xor LPK, 2 LPK, ... hold the same head elements).
#pragma unroll
  for (int o = LPK; o < 32; o <<= 1)
#pragma unroll
    for (int g = 0; g < GMAX; ++g) {
      const float mo = __shfl_xor_sync(0xffffffffu, m[g], o);
      const float lo = __shfl_xor_sync(0xffffffffu, l[g], o);
      const float mn = fmaxf(m[g], mo);
      const float c1 = exp2_rel(m[g], mn), c2 = exp2_rel(mo, mn);
      l[g] = l[g] * c1 + lo * c2;
      m[g] = mn;
#pragma unroll
      for (int e = 0; e < E; ++e)
        acc[g][e] = acc[g][e] * c1 + __shfl_xor_sync(0xffffffffu, acc[g][e], o) * c2;
    }

  // Merge the warps through shared memory: (kWarps, group, 2 + hd).
  extern __shared__ float sm[];
  const int rec = 2 + hd;
  if (ks == 0) {
#pragma unroll
    for (int g = 0; g < GMAX; ++g) {
      if (g >= group) break;
      float* r = sm + (warp * group + g) * rec;
      if (sub == 0) r[0] = m[g], r[1] = l[g];
#pragma unroll
      for (int c = 0; c < NCH; ++c)
#pragma unroll
        for (int e = 0; e < kVec; ++e) {
          const int dd = (c * LPK + sub) * kVec + e;
          if (dd < hd) r[2 + dd] = acc[g][c * kVec + e];
        }
    }
  }
  __syncthreads();
  for (int i = threadIdx.x; i < group * hd; i += blockDim.x) {
    const int g = i / hd, dd = i % hd;
    float mm = -INFINITY;
    for (int w = 0; w < kWarps; ++w) mm = fmaxf(mm, sm[(w * group + g) * rec]);
    float ll = 0.0f, aa = 0.0f;
    for (int w = 0; w < kWarps; ++w) {
      const float* r = sm + (w * group + g) * rec;
      const float c = exp2_rel(r[0], mm);
      ll += r[1] * c;
      aa += r[2 + dd] * c;
    }
    const int h = kvh * group + g;
    if (a.n_split == 1) {
      a.out[int64_t(t) * a.d.n_head * hd + int64_t(h) * hd + dd] = aa / ll * a.v_mul;
    } else {
      float* r = a.part + ((int64_t(t) * a.d.n_head + h) * a.n_split + split) * rec;
      if (dd == 0) r[0] = mm, r[1] = ll;
      r[2 + dd] = aa * a.v_mul;
    }
  }
}

// One block per (token, head): out = Σ_s exp2(m_s - M) acc_s / Σ_s exp2(m_s - M) l_s.
__global__ void combine_kernel(DecodeArgs a) {
  const int t = blockIdx.x, h = blockIdx.y, hd = a.d.head_dim, rec = 2 + hd;
  const float* base = a.part + (int64_t(t) * a.d.n_head + h) * a.n_split * rec;
  float mm = -INFINITY;
  for (int s = 0; s < a.n_split; ++s) mm = fmaxf(mm, base[s * rec]);
  for (int dd = threadIdx.x; dd < hd; dd += blockDim.x) {
    float ll = 0.0f, aa = 0.0f;
    for (int s = 0; s < a.n_split; ++s) {
      const float* r = base + s * rec;
      const float c = exp2_rel(r[0], mm);
      ll += r[1] * c;
      aa += r[2 + dd] * c;
    }
    a.out[int64_t(t) * a.d.n_head * hd + int64_t(h) * hd + dd] = aa / ll;
  }
}

ScratchBuffer g_partials;

template <typename T, typename Chunk, int LPK, int NCH>
void launch_decode(const DecodeArgs& a, cudaStream_t s) {
  const int group = a.d.n_head / a.d.n_head_kv;
  const size_t smem = size_t(kWarps) * group * (2 + a.d.head_dim) * sizeof(float);
  const dim3 grid(unsigned(a.b.n_tok), unsigned(a.d.n_head_kv), unsigned(a.n_split));
  if (group <= 4)
    decode_kernel<T, Chunk, LPK, NCH, 4><<<grid, kWarps * 32, smem, s>>>(a);
  else
    decode_kernel<T, Chunk, LPK, NCH, 8><<<grid, kWarps * 32, smem, s>>>(a);
  QINFER_CUDA_CHECK_LAUNCH();
}

// Lanes per key row so that one load a lane covers head_dim (F32 at 256 takes two loads).
// Rows that are whole 16-byte words (F32 head_dim % 4 == 0, BF16 / FP8 head_dim % 8 == 0:
// every Llama size) take the wide loads; any other even head_dim reads two elements a lane.
template <typename T>
void launch_for_head_dim(const DecodeArgs& a, cudaStream_t s) {
  const int hd = a.d.head_dim;
  using Wide = typename ChunkOf<T>::type;
  if (hd % Wide::kN != 0) {
    using Narrow = attn::Vec2<T>;
    if (hd <= 32) return launch_decode<T, Narrow, 16, 1>(a, s);
    if (hd <= 128) return launch_decode<T, Narrow, 32, 2>(a, s);
    return launch_decode<T, Narrow, 32, 4>(a, s);
  }
  if constexpr (std::is_same_v<T, float>) {
    if (hd <= 64) return launch_decode<T, Wide, 16, 1>(a, s);
    if (hd <= 128) return launch_decode<T, Wide, 32, 1>(a, s);
    return launch_decode<T, Wide, 32, 2>(a, s);
  } else {
    if (hd <= 64) return launch_decode<T, Wide, 8, 1>(a, s);
    if (hd <= 128) return launch_decode<T, Wide, 16, 1>(a, s);
    return launch_decode<T, Wide, 32, 1>(a, s);
  }
}

}  // namespace

int attention_decode_splits(int n_tok, int max_seq_len, const AttnDims& d) {
  // Enough blocks to fill the GPU (four times over when few (token, KV head) pairs decode,
  // since each split then walks its positions as a chain of dependent steps; twice over for
  // batches, where the combine pass costs more), each split at least 32 positions long.
  // The rule of the earlier F32 kernel, measured on H100 at 8B dims (bench/gpu_kernels.cc).
  const int64_t units = std::max<int64_t>(1, int64_t(n_tok) * d.n_head_kv);
  const int64_t fill = units < sm_count() ? 4 : 2;
  const int64_t want = std::max<int64_t>(1, (fill * sm_count() + units - 1) / units);
  return int(
      std::clamp<int64_t>(std::min<int64_t>(want, (int64_t(max_seq_len) + 31) / 32), 1, 128));
}

size_t attention_decode_scratch_bytes(int n_tok, const AttnDims& d, int n_split) {
  if (n_split <= 1) return 0;
  return size_t(n_tok) * size_t(d.n_head) * size_t(n_split) * size_t(2 + d.head_dim) *
         sizeof(float);
}

void attention_decode(const float* qkv, const AttnBatch& b, const AttnDims& d,
                      const KvCacheView& kv, float* out, cudaStream_t s) {
  attn::check_dims(d, kv, "attention_decode");
  if (b.n_tok == 0) return;
  DecodeArgs a{};
  a.qkv = qkv;
  a.k = kv.k;
  a.v = kv.v;
  a.out = out;
  a.b = b;
  a.d = d;
  a.block_size = kv.block_size;
  a.n_split = b.n_split > 0 ? b.n_split : attention_decode_splits(b.n_tok, b.max_seq_len, d);
  QINFER_CHECK(a.n_split <= 65535 && d.n_head_kv <= 65535, "attention_decode: n_split ", a.n_split,
               " / n_head_kv ", d.n_head_kv, " exceed the grid");
  const bool fp8 = kv.dtype == DType::kF8E4M3;
  a.q_mul = d.scale * attn::kLog2e * (fp8 ? kv.k_scale : 1.0f);
  a.v_mul = fp8 ? kv.v_scale : 1.0f;
  if (a.n_split > 1)
    a.part = b.partials != nullptr ? b.partials
                                   : static_cast<float*>(g_partials.get(
                                         attention_decode_scratch_bytes(b.n_tok, d, a.n_split)));
  attn::dispatch_cache(kv.dtype, "attention_decode",
                       [&](auto tag) { launch_for_head_dim<decltype(tag)>(a, s); });
  if (a.n_split > 1) {
    combine_kernel<<<dim3(unsigned(b.n_tok), unsigned(d.n_head)), 128, 0, s>>>(a);
    QINFER_CUDA_CHECK_LAUNCH();
  }
}

}  // namespace qinfer::ops::cuda

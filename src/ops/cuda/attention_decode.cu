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
// over changing lengths. A split past the end writes a neutral partial (m = -inf, l = 0).
// With one split the block writes `out`. With more, each block writes its partial (m, l, acc)
// and counts itself done on a per-(token, KV head) counter; the last of the n_split blocks
// ("last block done", CUDA's threadFenceReduction sample) merges the partials of the G heads,
// weighing each by exp2(m_s - max m), writes `out` and resets the counter to zero for the next
// launch (or graph replay): one kernel, no separate combine pass.
//
// attention_decode_rope fuses rope_kv_write in: every block rotates its token's G query heads
// in registers (attn::rope_* of attention_device.h: the bits rope_kv_write stores), and the
// block whose split holds the token's own position rotates k, writes k and v to the cache slot
// and synchronizes before its key loop reads them back. This needs one new token per sequence:
// no other block reads that slot (graph padding rows repeat a token: same bytes, same slot).
//
// Programmatic dependent launch: the kernel waits for the previous kernel before its first
// global access and triggers the next one at once (the grid is about one wave).
//
// Scores stay in base 2: q is pre-multiplied by scale * log2(e) (and by k_scale for FP8, whose
// codes are read unscaled); v_scale multiplies the output.
#include <algorithm>
#include <cmath>
#include <type_traits>

#include "core/env.h"
#include "ops/cuda/attention_device.h"
#include "ops/cuda/cuda_common.h"
#include "ops/cuda/pdl.cuh"

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
  void* k;           // (n_block, block_size, n_head_kv, head_dim); written only if write_kv
  void* v;
  float* out;      // (n_tok, n_head head_dim)
  float* part;     // n_split > 1: (n_tok, n_head, n_split, 2 + head_dim): m, l, acc[head_dim]
  unsigned* done;  // n_split > 1: (n_tok, n_head_kv) splits finished; zero between launches
  AttnBatch b;
  AttnDims d;
  int block_size, n_split;
  float q_mul;  // scale * log2(e) (* k_scale for FP8)
  float v_mul;  // v_scale for FP8, else 1
  // attention_decode_rope: write this step's k (rotated when inv_freq is set) and v to the
  // cache, rotate q; the cache stores x / k_scale (x / v_scale) for FP8, scales 1 otherwise.
  bool write_kv;
  const float* inv_freq;  // (head_dim / 2) or null
  float k_store, v_store;
  // The merge reads four splits' partials per step (loads issued together; same order of
  // additions): QINFER_CUDA_MERGE4=1, not yet measured on the GPU.
  bool merge4;
};

// exp2 of (x - ref) where ref may be -inf (then every x is -inf too and the result is 0).
__device__ __forceinline__ float exp2_rel(float x, float ref) {
  return exp2f(x - (ref == -INFINITY ? 0.0f : ref));
}

// After a split block wrote its partials: the last of the n_split blocks of (t, kvh) to finish
// merges them, out = Σ_s exp2(m_s - M) acc_s / Σ_s exp2(m_s - M) l_s for the G heads (M the
// largest m_s; splits in order, whichever block is last), then zeroes the counter. Every
// thread fences its partial stores before thread 0 counts the block done; the last block reads
// the partials from L2 (__ldcg), never from a possibly stale L1 line.
__device__ __forceinline__ void combine_if_last(const DecodeArgs& a, int t, int kvh) {
  __shared__ bool last;
  __threadfence();
  __syncthreads();
  unsigned* done = a.done + int64_t(t) * a.d.n_head_kv + kvh;
  if (threadIdx.x == 0) last = atomicAdd(done, 1u) == unsigned(a.n_split - 1);
  __syncthreads();
  if (!last) return;
  __threadfence();
  const int hd = a.d.head_dim, rec = 2 + hd, group = a.d.n_head / a.d.n_head_kv;
  for (int i = threadIdx.x; i < group * hd; i += blockDim.x) {
    const int h = kvh * group + i / hd, dd = i % hd;
    const float* base = a.part + (int64_t(t) * a.d.n_head + h) * a.n_split * rec;
    float mm = -INFINITY;
    float ll = 0.0f, aa = 0.0f;
    int s = 0;
    if (a.merge4) {
      for (; s + 4 <= a.n_split; s += 4) {
        const float m0 = __ldcg(base + s * rec), m1 = __ldcg(base + (s + 1) * rec);
        const float m2 = __ldcg(base + (s + 2) * rec), m3 = __ldcg(base + (s + 3) * rec);
        mm = fmaxf(mm, fmaxf(fmaxf(m0, m1), fmaxf(m2, m3)));
      }
    }
    for (; s < a.n_split; ++s) mm = fmaxf(mm, __ldcg(base + s * rec));
    s = 0;
    if (a.merge4) {
      for (; s + 4 <= a.n_split; s += 4) {
        float m[4], l[4], v[4];
#pragma unroll
        for (int u = 0; u < 4; ++u) {
          const float* r = base + (s + u) * rec;
          m[u] = __ldcg(r);
          l[u] = __ldcg(r + 1);
          v[u] = __ldcg(r + 2 + dd);
        }
#pragma unroll
        for (int u = 0; u < 4; ++u) {
          const float c = exp2_rel(m[u], mm);
          ll += l[u] * c;
          aa += v[u] * c;
        }
      }
    }
    for (; s < a.n_split; ++s) {
      const float* r = base + s * rec;
      const float c = exp2_rel(__ldcg(r), mm);
      ll += __ldcg(r + 1) * c;
      aa += __ldcg(r + 2 + dd) * c;
    }
    a.out[int64_t(t) * a.d.n_head * hd + int64_t(h) * hd + dd] = aa / ll;
  }
  if (threadIdx.x == 0) *done = 0;  // no block of this launch counts here any more
}

// T: cache element; Chunk: one lane's load (Chunk::kN elements); LPK: lanes per key row; NCH:
// loads per lane per row; GMAX >= group.
template <typename T, typename Chunk, int LPK, int NCH, int GMAX>
__global__ void __launch_bounds__(kWarps * 32) decode_kernel(DecodeArgs a) {
  constexpr int kVec = Chunk::kN, E = NCH * kVec, KPW = 32 / LPK, NS = kWarps * KPW;
  // Keys per slot per step (registers bound it). Doubling it for FP8 (half the bytes a row)
  // cost 1.5x on H100 (168 registers: fewer warps), so FP8 takes the BF16 count.
  constexpr int U = GMAX <= 4 ? 4 : 2;
  pdl_wait();
  pdl_trigger();
  extern __shared__ float sm[];
  const int t = blockIdx.x, kvh = blockIdx.y, split = blockIdx.z;
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32, sub = lane % LPK, ks = lane / LPK;
  const int hd = a.d.head_dim, half = hd / 2, group = a.d.n_head / a.d.n_head_kv;
  const int nkv = a.d.n_head_kv;
  const int pos = a.b.tok_pos[t], len = pos + 1;
  const int32_t* table = a.b.block_tables + int64_t(a.b.tok_seq[t]) * a.b.max_blocks;
  const int chunk = (len + a.n_split - 1) / a.n_split;
  const int begin = split * chunk, end = min(len, begin + chunk);
  const float* row = a.qkv + int64_t(t) * (a.d.n_head + 2 * nkv) * hd;
  const float* q_row = row + int64_t(kvh) * group * hd;

  // Fused RoPE: cos / sin of the token's position in shared memory (aliasing the warp-merge
  // area, first written after the __syncthreads below); the split holding the position writes
  // this step's k and v of head kvh to the cache.
  const bool rot = a.write_kv && a.inv_freq != nullptr;
  float* cos_t = sm;
  float* sin_t = sm + half;
  if (rot) {
    for (int j = threadIdx.x; j < half; j += blockDim.x)
      attn::rope_sincos(pos, a.inv_freq[j], &sin_t[j], &cos_t[j]);
    __syncthreads();
  }
  if (a.write_kv && begin <= pos && pos < end) {
    const int64_t slot = attn::kv_row(table, pos, a.block_size, nkv, kvh) * hd;
    const float* k_src = row + int64_t(a.d.n_head + kvh) * hd;
    const float* v_src = row + int64_t(a.d.n_head + nkv + kvh) * hd;
    T* kw = static_cast<T*>(a.k) + slot;
    T* vw = static_cast<T*>(a.v) + slot;
    for (int j = threadIdx.x; j < half; j += blockDim.x) {
      const float x1 = k_src[j], x2 = k_src[j + half];
      kw[j] = attn::from_float<T>(rot ? attn::rope_lo(x1, x2, cos_t[j], sin_t[j]) : x1, a.k_store);
      kw[j + half] =
          attn::from_float<T>(rot ? attn::rope_hi(x1, x2, cos_t[j], sin_t[j]) : x2, a.k_store);
    }
    for (int i = threadIdx.x; i < hd; i += blockDim.x)
      vw[i] = attn::from_float<T>(v_src[i], a.v_store);
  }

  float q[GMAX][E], acc[GMAX][E], m[GMAX], l[GMAX];
#pragma unroll
  for (int g = 0; g < GMAX; ++g) {
    m[g] = -INFINITY;
    l[g] = 0.0f;
#pragma unroll
    for (int c = 0; c < NCH; ++c)
#pragma unroll
      for (int e = 0; e < kVec; ++e) {
        const int dd = (c * LPK + sub) * kVec + e;
        float x = 0.0f;
        if (g < group && dd < hd) {
          const float* qh = q_row + g * hd;
          if (!rot)
            x = qh[dd];
          else if (dd < half)
            x = attn::rope_lo(qh[dd], qh[dd + half], cos_t[dd], sin_t[dd]);
          else
            x = attn::rope_hi(qh[dd - half], qh[dd], cos_t[dd - half], sin_t[dd - half]);
        }
        q[g][c * kVec + e] = x * a.q_mul;
        acc[g][c * kVec + e] = 0.0f;
      }
  }
  // The cache writes above become visible to the block's key loop; the cos / sin reads finish
  // before the merge area is written.
  if (a.write_kv) __syncthreads();

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
  if (a.n_split > 1) combine_if_last(a, t, kvh);
}

// Scratch layout for n_split > 1: the (n_tok, n_head_kv) counters first, padded to 256 bytes,
// then the partials. Counters first, so a buffer reused for another split count keeps them.
size_t counter_bytes(int n_tok, const AttnDims& d) {
  return (size_t(n_tok) * size_t(d.n_head_kv) * sizeof(unsigned) + 255) / 256 * 256;
}

// The backend's own scratch, for callers that pass no partials. Its counters must be zero when
// a launch starts: a fresh block is zeroed, and so is any counter a launch needs that the
// previous launch's partials may have overwritten (zeroed_ tracks the prefix known to be zero
// counters; a launch leaves exactly its own counter region zero).
class OwnScratch {
 public:
  float* get(int n_tok, const AttnDims& d, int n_split, cudaStream_t s) {
    void* p = buf_.get(attention_decode_scratch_bytes(n_tok, d, n_split));
    if (p != at_) at_ = p, zeroed_ = 0;
    const size_t need = counter_bytes(n_tok, d);
    if (zeroed_ < need)
      QINFER_CUDA_CHECK(cudaMemsetAsync(static_cast<char*>(p) + zeroed_, 0, need - zeroed_, s));
    zeroed_ = need;
    return static_cast<float*>(p);
  }

 private:
  ScratchBuffer buf_;
  void* at_ = nullptr;
  size_t zeroed_ = 0;
};

OwnScratch g_scratch;

template <typename T, typename Chunk, int LPK, int NCH>
void launch_decode(const DecodeArgs& a, cudaStream_t s) {
  const int group = a.d.n_head / a.d.n_head_kv;
  const size_t smem = size_t(kWarps) * group * (2 + a.d.head_dim) * sizeof(float);
  const dim3 grid(unsigned(a.b.n_tok), unsigned(a.d.n_head_kv), unsigned(a.n_split));
  const auto kernel =
      group <= 4 ? decode_kernel<T, Chunk, LPK, NCH, 4> : decode_kernel<T, Chunk, LPK, NCH, 8>;
  launch_pdl_smem_on(s, kernel, grid, dim3(kWarps * 32), smem, a);
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
  // batches, where merging the partials costs more), each split at least 32 positions long.
  // The rule of the earlier F32 kernel, measured on H100 at 8B dims (bench/gpu_kernels.cc).
  const int64_t units = std::max<int64_t>(1, int64_t(n_tok) * d.n_head_kv);
  const int64_t fill = units < sm_count() ? 4 : 2;
  const int64_t want = std::max<int64_t>(1, (fill * sm_count() + units - 1) / units);
  return int(
      std::clamp<int64_t>(std::min<int64_t>(want, (int64_t(max_seq_len) + 31) / 32), 1, 128));
}

size_t attention_decode_scratch_bytes(int n_tok, const AttnDims& d, int n_split) {
  if (n_split <= 1) return 0;
  return counter_bytes(n_tok, d) + size_t(n_tok) * size_t(d.n_head) * size_t(n_split) *
                                       size_t(2 + d.head_dim) * sizeof(float);
}

void attention_decode_scratch_init(void* partials, int n_tok, const AttnDims& d, int n_split,
                                   cudaStream_t s) {
  if (n_split <= 1 || n_tok <= 0) return;
  QINFER_CUDA_CHECK(cudaMemsetAsync(partials, 0, counter_bytes(n_tok, d), s));
}

namespace {

// The launch arguments every decode entry point shares (no fused KV write).
DecodeArgs decode_args(const float* qkv, const AttnBatch& b, const AttnDims& d,
                       const KvCacheView& kv, float* out, cudaStream_t s) {
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
  static const bool merge4 = env_switch("QINFER_CUDA_MERGE4", 0) == 1;
  a.merge4 = merge4;
  if (a.n_split > 1) {
    void* scratch = b.partials != nullptr ? b.partials : g_scratch.get(b.n_tok, d, a.n_split, s);
    a.done = static_cast<unsigned*>(scratch);
    a.part = reinterpret_cast<float*>(static_cast<char*>(scratch) + counter_bytes(b.n_tok, d));
  }
  return a;
}

}  // namespace

void attention_decode(const float* qkv, const AttnBatch& b, const AttnDims& d,
                      const KvCacheView& kv, float* out, cudaStream_t s) {
  attn::check_dims(d, kv, "attention_decode");
  if (b.n_tok == 0) return;
  const DecodeArgs a = decode_args(qkv, b, d, kv, out, s);
  attn::dispatch_cache(kv.dtype, "attention_decode",
                       [&](auto tag) { launch_for_head_dim<decltype(tag)>(a, s); });
}

void attention_decode_rope(float* qkv, const AttnBatch& b, const AttnDims& d, const float* inv_freq,
                           const KvCacheView& kv, float* out, cudaStream_t s) {
  attn::check_dims(d, kv, "attention_decode_rope");
  if (b.n_tok == 0) return;
  QINFER_CHECK(b.n_tok == b.n_seq && b.max_q_len <= 1, "attention_decode_rope: batch of ", b.n_tok,
               " tokens in ", b.n_seq, " sequences, max_q_len ", b.max_q_len,
               " (needs one new token per sequence)");
  DecodeArgs a = decode_args(qkv, b, d, kv, out, s);
  const bool fp8 = kv.dtype == DType::kF8E4M3;
  a.write_kv = true;
  a.inv_freq = inv_freq;
  a.k_store = fp8 ? kv.k_scale : 1.0f;
  a.v_store = fp8 ? kv.v_scale : 1.0f;
  attn::dispatch_cache(kv.dtype, "attention_decode_rope",
                       [&](auto tag) { launch_for_head_dim<decltype(tag)>(a, s); });
}

}  // namespace qinfer::ops::cuda

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
// Two kernels merge the splits differently:
// - decode_kernel (4 warps; batches, and GPUs or builds without clusters): with one split the
//   block writes `out`. With more, each block writes its partial (m, l, acc) and counts itself
//   done on a per-(token, KV head) counter; the last of the n_split blocks ("last block done",
//   CUDA's threadFenceReduction sample) merges the partials of the G heads, weighing each by
//   exp2(m_s - max m), writes `out` and resets the counter to zero for the next launch (or
//   graph replay): one kernel, no separate combine pass.
// - decode_cluster_kernel (the latency path, default; QINFER_CUDA_ATTN_LATENCY=0 turns it off;
//   sm_90 thread-block clusters): for few (token, KV head) units (at most one per 16 SMs:
//   batch 1 at 8 KV heads on H100), where the time is a chain of dependent memory round trips, not
//   bandwidth. The splits of a (token, KV head) are one
//   cluster of at most 8 blocks of 8 warps; each block merges its warps into one record in
//   shared memory and the blocks merge those records through distributed shared memory, each
//   block writing 1 / n_split of the outputs: no partials in global memory, no fence, no
//   counter, no serial merge loop. The key loop keeps the next step's rows in flight while it
//   computes the current one. See attention_decode_splits for the split counts.
//
// attention_decode_rope fuses rope_kv_write in: every block rotates its token's G query heads
// in registers (attn::rope_* of attention_device.h: the bits rope_kv_write stores), and the
// block whose split holds the token's own position rotates k, writes k and v to the cache slot
// and synchronizes before its key loop reads them back. This needs one new token per sequence:
// no other block reads that slot (graph padding rows repeat a token: same bytes, same slot).
//
// Programmatic dependent launch: the kernels wait for the previous kernel before touching what
// it may write and trigger the next one right after (the grid is about one wave).
// decode_kernel waits before its first global access. decode_cluster_kernel under
// attention_decode_rope reads the batch metadata and inv_freq, loads its first key step's
// cache rows into registers and prefetches the next 8 steps' into L2 (positions before the
// token's own, which earlier steps wrote) before waiting, so those round trips overlap the
// previous kernel (the QKV projection); the writer block takes the own position's row from
// shared memory where the first step holds it.
//
// Scores stay in base 2: q is pre-multiplied by scale * log2(e) (and by k_scale for FP8, whose
// codes are read unscaled); v_scale multiplies the output.
#include <cooperative_groups.h>

#include <algorithm>
#include <cmath>
#include <type_traits>

#include "core/env.h"
#include "core/log.h"
#include "ops/cuda/attention_device.h"
#include "ops/cuda/cuda_common.h"
#include "ops/cuda/pdl.cuh"

namespace qinfer::ops::cuda {
namespace {

namespace cg = cooperative_groups;

using attn::Bf16;
using attn::F32x4;
using attn::Fp8;
using attn::Vec8;

constexpr int kWarps = 4;         // decode_kernel
constexpr int kLatencyWarps = 8;  // decode_cluster_kernel
constexpr int kMaxCluster = 8;    // the portable cluster size: blocks per (token, KV head)

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

// Keys per slot per step (registers bound it). Doubling it for FP8 (half the bytes a row)
// cost 1.5x on H100 (168 registers: fewer warps), so FP8 takes the BF16 count.
__host__ __device__ constexpr int keys_per_slot(int gmax) {
  return gmax <= 4 ? 4 : 2;
}

struct DecodeArgs {
  const float* qkv;  // (n_tok, (n_head + 2 n_head_kv) head_dim)
  void* k;           // (n_block, block_size, n_head_kv, head_dim); written only if write_kv
  void* v;
  float* out;      // (n_tok, n_head head_dim)
  float* part;     // decode_kernel, n_split > 1: (n_tok, n_head, n_split, 2 + head_dim)
  unsigned* done;  // decode_kernel, n_split > 1: (n_tok, n_head_kv); zero between launches
  AttnBatch b;
  AttnDims d;
  int block_size, n_split;  // decode_cluster_kernel: n_split is the cluster size
  int bs_shift;             // log2(block_size) for a power of two, else -1 (division)
  float s_mul;              // scale * log2(e) (* k_scale for FP8)
  float v_mul;              // v_scale for FP8, else 1
  // attention_decode_rope: write this step's k (rotated when inv_freq is set) and v to the
  // cache, rotate q; the cache stores x / k_scale (x / v_scale) for FP8, scales 1 otherwise.
  bool write_kv;
  const float* inv_freq;  // (head_dim / 2) or null
  float k_store, v_store;
};

using attn::exp2_rel;

// Cache row of position j (attn::kv_row), with a shift for power-of-two block sizes.
__device__ __forceinline__ int64_t cache_row(const DecodeArgs& a, const int32_t* table, int j,
                                             int kvh) {
  if (a.bs_shift < 0) return attn::kv_row(table, j, a.block_size, a.d.n_head_kv, kvh);
  const int64_t slot = (int64_t(table[j >> a.bs_shift]) << a.bs_shift) + (j & (a.block_size - 1));
  return slot * a.d.n_head_kv + kvh;
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
    for (int s = 0; s < a.n_split; ++s) mm = fmaxf(mm, __ldcg(base + s * rec));
    for (int s = 0; s < a.n_split; ++s) {
      const float* r = base + s * rec;
      const float c = exp2_rel(__ldcg(r), mm);
      ll += __ldcg(r + 1) * c;
      aa += __ldcg(r + 2 + dd) * c;
    }
    a.out[int64_t(t) * a.d.n_head * hd + int64_t(h) * hd + dd] = aa / ll;
  }
  if (threadIdx.x == 0) *done = 0;  // no block of this launch counts here any more
}

// ---- Pieces of the key loop shared by both kernels (same arithmetic in both) ----
// T: cache element; Chunk: one lane's load (Chunk::kN elements); LPK: lanes per key row; NCH:
// loads per lane per row (E = NCH * Chunk::kN elements of the row a lane holds); GMAX >=
// group; U: keys per slot per step. Lane `sub` of a slot holds row elements
// (c * LPK + sub) * kN + e.

// attention_decode_rope: k (rotated when cos_t is set) and v of KV head kvh from the token's
// qkv row, converted to the cache element, to cache row `slot` (times head_dim).
template <typename T>
__device__ __forceinline__ void write_own_kv(const DecodeArgs& a, const float* row, int kvh,
                                             int64_t slot, const float* cos_t, const float* sin_t) {
  const int hd = a.d.head_dim, half = hd / 2, nkv = a.d.n_head_kv;
  const float* k_src = row + int64_t(a.d.n_head + kvh) * hd;
  const float* v_src = row + int64_t(a.d.n_head + nkv + kvh) * hd;
  T* kw = static_cast<T*>(a.k) + slot;
  T* vw = static_cast<T*>(a.v) + slot;
  const bool rot = cos_t != nullptr;
  for (int j = threadIdx.x; j < half; j += blockDim.x) {
    const float x1 = k_src[j], x2 = k_src[j + half];
    kw[j] = attn::from_float<T>(rot ? attn::rope_lo(x1, x2, cos_t[j], sin_t[j]) : x1, a.k_store);
    kw[j + half] =
        attn::from_float<T>(rot ? attn::rope_hi(x1, x2, cos_t[j], sin_t[j]) : x2, a.k_store);
  }
  for (int i = threadIdx.x; i < hd; i += blockDim.x)
    vw[i] = attn::from_float<T>(v_src[i], a.v_store);
}

// The lane's q elements of the G heads of q_row, times s_mul, rotated in registers when cos_t
// is set (attention_decode_rope); heads >= group and elements >= head_dim are zero. acc, m
// and l start empty.
template <typename Chunk, int LPK, int NCH, int GMAX>
__device__ __forceinline__ void start_heads(const DecodeArgs& a, const float* q_row, int sub,
                                            const float* cos_t, const float* sin_t,
                                            float (&q)[GMAX][NCH * Chunk::kN],
                                            float (&acc)[GMAX][NCH * Chunk::kN], float (&m)[GMAX],
                                            float (&l)[GMAX]) {
  constexpr int kVec = Chunk::kN;
  const int hd = a.d.head_dim, half = hd / 2, group = a.d.n_head / a.d.n_head_kv;
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
          if (cos_t == nullptr)
            x = qh[dd];
          else if (dd < half)
            x = attn::rope_lo(qh[dd], qh[dd + half], cos_t[dd], sin_t[dd]);
          else
            x = attn::rope_hi(qh[dd - half], qh[dd], cos_t[dd - half], sin_t[dd - half]);
        }
        q[g][c * kVec + e] = x * a.s_mul;
        acc[g][c * kVec + e] = 0.0f;
      }
  }
}

// Loads the rows of keys j0 + u * ns (u < U) into kr / vr: zeros past `end` and at position
// `skip` (-1: none).
template <typename T, typename Chunk, int LPK, int NCH, int U>
__device__ __forceinline__ void load_keys(const DecodeArgs& a, const int32_t* table, int kvh,
                                          int j0, int ns, int end, int skip, int sub,
                                          Chunk (&kr)[U][NCH], Chunk (&vr)[U][NCH]) {
  constexpr int kVec = Chunk::kN;
  const int hd = a.d.head_dim;
  const T* kc = static_cast<const T*>(a.k);
  const T* vc = static_cast<const T*>(a.v);
#pragma unroll
  for (int u = 0; u < U; ++u) {
    const int j = j0 + u * ns;
    const bool live = j < end && j != skip;
    const int64_t base = live ? cache_row(a, table, j, kvh) * hd : 0;
#pragma unroll
    for (int c = 0; c < NCH; ++c) {
      const int d0 = (c * LPK + sub) * kVec;
      if (live && d0 < hd) {
        kr[u][c].load(kc + base + d0);
        vr[u][c].load(vc + base + d0);
      } else {
        kr[u][c].zero();
        vr[u][c].zero();
      }
    }
  }
}

// One step over the slot's keys j0 + u * ns (u < U; those at or past `end` masked): the G
// heads' scores (the slot's lanes reduce them with shuffles; the loop around must be
// warp-uniform), the online-softmax update of (m, l, acc) and acc += p v.
template <typename Chunk, int LPK, int NCH, int GMAX, int U>
__device__ __forceinline__ void attend_keys(const float (&q)[GMAX][NCH * Chunk::kN],
                                            const Chunk (&kr)[U][NCH], const Chunk (&vr)[U][NCH],
                                            int j0, int ns, int end, float (&m)[GMAX],
                                            float (&l)[GMAX], float (&acc)[GMAX][NCH * Chunk::kN]) {
  constexpr int kVec = Chunk::kN, E = NCH * kVec;
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
    if (j0 + u * ns >= end)
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

// Merges the warp's key slots (lanes xor LPK, 2 LPK, ... hold the same head elements), then
// lanes of slot 0 write the warp's record (m, l, acc[head_dim]) of each head g < group to
// recs + (warp * group + g) * (2 + head_dim).
template <typename Chunk, int LPK, int NCH, int GMAX>
__device__ __forceinline__ void store_warp_record(const DecodeArgs& a, float* recs, int warp,
                                                  int ks, int sub, float (&m)[GMAX],
                                                  float (&l)[GMAX],
                                                  float (&acc)[GMAX][NCH * Chunk::kN]) {
  constexpr int kVec = Chunk::kN, E = NCH * kVec;
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
  const int hd = a.d.head_dim, rec = 2 + hd, group = a.d.n_head / a.d.n_head_kv;
  if (ks != 0) return;
#pragma unroll
  for (int g = 0; g < GMAX; ++g) {
    if (g >= group) break;
    float* r = recs + (warp * group + g) * rec;
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

// Element (g, dd) merged over the n_warps records: (M, Σ_w exp2(m_w - M) l_w,
// Σ_w exp2(m_w - M) acc_w[dd]), warps in order.
struct Merged {
  float m, l, a;
};
__device__ __forceinline__ Merged merge_records(const float* recs, int n_warps, int group, int g,
                                                int dd, int rec) {
  Merged r{-INFINITY, 0.0f, 0.0f};
  for (int w = 0; w < n_warps; ++w) r.m = fmaxf(r.m, recs[(w * group + g) * rec]);
  for (int w = 0; w < n_warps; ++w) {
    const float* p = recs + (w * group + g) * rec;
    const float c = exp2_rel(p[0], r.m);
    r.l += p[1] * c;
    r.a += p[2 + dd] * c;
  }
  return r;
}

// ---- decode_kernel: 4 warps, splits merged through global memory ----

template <typename T, typename Chunk, int LPK, int NCH, int GMAX>
__global__ void __launch_bounds__(kWarps * 32) decode_kernel(DecodeArgs a) {
  constexpr int E = NCH * Chunk::kN, KPW = 32 / LPK, NS = kWarps * KPW, U = keys_per_slot(GMAX);
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

  // Fused RoPE: cos / sin of the token's position in shared memory (aliasing the warp-merge
  // area, first written after the __syncthreads below); the split holding the position writes
  // this step's k and v of head kvh to the cache.
  const bool rot = a.write_kv && a.inv_freq != nullptr;
  float* cos_t = rot ? sm : nullptr;
  float* sin_t = sm + half;
  if (rot) {
    for (int j = threadIdx.x; j < half; j += blockDim.x)
      attn::rope_sincos(pos, a.inv_freq[j], &sin_t[j], &cos_t[j]);
    __syncthreads();
  }
  if (a.write_kv && begin <= pos && pos < end)
    write_own_kv<T>(a, row, kvh, cache_row(a, table, pos, kvh) * hd, cos_t, sin_t);
  float q[GMAX][E], acc[GMAX][E], m[GMAX], l[GMAX];
  start_heads<Chunk, LPK, NCH, GMAX>(a, row + int64_t(kvh) * group * hd, sub, cos_t, sin_t, q, acc,
                                     m, l);
  // The cache writes above become visible to the block's key loop; the cos / sin reads finish
  // before the merge area is written.
  if (a.write_kv) __syncthreads();

  // Warp-uniform loop (the shuffles need every lane): slot ks of warp w takes keys
  // jw + ks + u * NS.
  for (int jw = begin + warp * KPW; jw < end; jw += NS * U) {
    Chunk kr[U][NCH], vr[U][NCH];
    load_keys<T, Chunk, LPK, NCH, U>(a, table, kvh, jw + ks, NS, end, -1, sub, kr, vr);
    attend_keys<Chunk, LPK, NCH, GMAX, U>(q, kr, vr, jw + ks, NS, end, m, l, acc);
  }

  // Merge the slots, then the warps through shared memory: (kWarps, group, 2 + hd).
  store_warp_record<Chunk, LPK, NCH, GMAX>(a, sm, warp, ks, sub, m, l, acc);
  __syncthreads();
  const int rec = 2 + hd;
  for (int i = threadIdx.x; i < group * hd; i += blockDim.x) {
    const int g = i / hd, dd = i % hd;
    const Merged r = merge_records(sm, kWarps, group, g, dd, rec);
    const int h = kvh * group + g;
    if (a.n_split == 1) {
      a.out[int64_t(t) * a.d.n_head * hd + int64_t(h) * hd + dd] = r.a / r.l * a.v_mul;
    } else {
      float* p = a.part + ((int64_t(t) * a.d.n_head + h) * a.n_split + split) * rec;
      if (dd == 0) p[0] = r.m, p[1] = r.l;
      p[2 + dd] = r.a * a.v_mul;
    }
  }
  if (a.n_split > 1) combine_if_last(a, t, kvh);
}

// ---- decode_cluster_kernel: 8 warps, the splits of a (token, KV head) one cluster ----

// Barrier over the cluster's blocks (a block barrier for a cluster of one): shared-memory
// writes before it are visible to every block of the cluster after it.
__device__ __forceinline__ void cluster_barrier(int n_blk) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  if (n_blk > 1) {
    cg::this_cluster().sync();
    return;
  }
#else
  if (n_blk > 1) __trap();  // the host launches clusters only on sm_90 code
#endif
  __syncthreads();
}

// p (this block's shared memory) in block `rank` of the cluster.
__device__ __forceinline__ const float* cluster_peer(float* p, int rank, int n_blk) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  if (n_blk > 1) return cg::this_cluster().map_shared_rank(p, rank);
#endif
  (void)rank;
  return p;
}

// The writer thread's share of this token's k and v of KV head kvh (thread x takes k[x] and
// k[x + head_dim / 2] for x < head_dim / 2, v[x] for x < head_dim: one pass, as blockDim.x >=
// 256 >= head_dim), loaded apart from the conversion so that the q loads go out with them.
struct OwnRow {
  float k1, k2, v;
};
static_assert(kLatencyWarps * 32 >= 256, "load_own_row takes one element a thread");
__device__ __forceinline__ OwnRow load_own_row(const DecodeArgs& a, const float* row, int kvh) {
  const int hd = a.d.head_dim, half = hd / 2, x = threadIdx.x;
  const float* k_src = row + int64_t(a.d.n_head + kvh) * hd;
  const float* v_src = row + int64_t(a.d.n_head + a.d.n_head_kv + kvh) * hd;
  OwnRow r{};
  if (x < half) r.k1 = k_src[x], r.k2 = k_src[x + half];
  if (x < hd) r.v = v_src[x];
  return r;
}
// write_own_kv's stores for the loaded share (the same conversions), also to own_k / own_v.
template <typename T>
__device__ __forceinline__ void store_own_row(const DecodeArgs& a, const OwnRow& r, int64_t slot,
                                              const float* cos_t, const float* sin_t, T* own_k,
                                              T* own_v) {
  const int hd = a.d.head_dim, half = hd / 2, x = threadIdx.x;
  T* kw = static_cast<T*>(a.k) + slot;
  T* vw = static_cast<T*>(a.v) + slot;
  const bool rot = cos_t != nullptr;
  if (x < half) {
    const T lo =
        attn::from_float<T>(rot ? attn::rope_lo(r.k1, r.k2, cos_t[x], sin_t[x]) : r.k1, a.k_store);
    const T hi =
        attn::from_float<T>(rot ? attn::rope_hi(r.k1, r.k2, cos_t[x], sin_t[x]) : r.k2, a.k_store);
    kw[x] = lo;
    kw[x + half] = hi;
    own_k[x] = lo;
    own_k[x + half] = hi;
  }
  if (x < hd) {
    const T v = attn::from_float<T>(r.v, a.v_store);
    vw[x] = v;
    own_v[x] = v;
  }
}

// Prefetches into L2 the cache rows of keys j0 + u * ns (u < U) below `end`, except `skip`.
template <typename T, typename Chunk, int LPK, int NCH, int U>
__device__ __forceinline__ void prefetch_keys(const DecodeArgs& a, const int32_t* table, int kvh,
                                              int j0, int ns, int end, int skip, int sub) {
  constexpr int kVec = Chunk::kN;
  const int hd = a.d.head_dim;
#pragma unroll
  for (int u = 0; u < U; ++u) {
    const int j = j0 + u * ns;
    if (j >= end || j == skip) continue;
    const int64_t base = cache_row(a, table, j, kvh) * hd;
#pragma unroll
    for (int c = 0; c < NCH; ++c) {
      const int d0 = (c * LPK + sub) * kVec;
      if (d0 >= hd) continue;
      asm volatile("prefetch.global.L2 [%0];" ::"l"(static_cast<const T*>(a.k) + base + d0));
      asm volatile("prefetch.global.L2 [%0];" ::"l"(static_cast<const T*>(a.v) + base + d0));
    }
  }
}

// Steps after the first whose rows attention_decode_rope prefetches into L2 before waiting
// for the previous kernel (8 steps: 512 keys of a block at 8B dims with a BF16 cache).
constexpr int kL2PrefetchSteps = 8;

// Shared memory of decode_cluster_kernel, offsets in floats, each region 16-byte aligned:
// own k / v row (head_dim elements of T each), cos / sin (head_dim / 2 each), warp records
// (kLatencyWarps, group, 2 + head_dim), the block's record (group, 2 + head_dim).
struct ClusterSmem {
  int own_k, own_v, cos, sin, warps, block, total;
};
__host__ __device__ constexpr int round4(int n) {
  return (n + 3) / 4 * 4;
}
__host__ __device__ inline ClusterSmem cluster_smem(int group, int hd, int elem_size) {
  ClusterSmem s{};
  const int row = round4((hd * elem_size + 3) / 4), half = round4(hd / 2), rec = 2 + hd;
  s.own_k = 0;
  s.own_v = s.own_k + row;
  s.cos = s.own_v + row;
  s.sin = s.cos + half;
  s.warps = s.sin + half;
  s.block = s.warps + round4(kLatencyWarps * group * rec);
  s.total = s.block + round4(group * rec);
  return s;
}

template <typename T, typename Chunk, int LPK, int NCH, int GMAX>
__global__ void __launch_bounds__(kLatencyWarps * 32) decode_cluster_kernel(DecodeArgs a) {
  constexpr int E = NCH * Chunk::kN, KPW = 32 / LPK, NS = kLatencyWarps * KPW;
  constexpr int U = keys_per_slot(GMAX), STEP = NS * U;
  // attention_decode_rope reads what the previous kernel does not write (the contract in
  // attention_cuda.h) before waiting for it.
  const bool early = a.write_kv;
  if (!early) {
    pdl_wait();
    pdl_trigger();
  }
  extern __shared__ float4 cluster_sm4[];
  float* sm = reinterpret_cast<float*>(cluster_sm4);
  const int t = blockIdx.x, kvh = blockIdx.y, split = blockIdx.z, n_blk = a.n_split;
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32, sub = lane % LPK, ks = lane / LPK;
  const int hd = a.d.head_dim, half = hd / 2, group = a.d.n_head / a.d.n_head_kv;
  const ClusterSmem lay = cluster_smem(group, hd, int(sizeof(T)));
  const int pos = a.b.tok_pos[t], len = pos + 1;
  const int32_t* table = a.b.block_tables + int64_t(a.b.tok_seq[t]) * a.b.max_blocks;
  const int chunk = (len + n_blk - 1) / n_blk;
  const int begin = split * chunk, end = min(len, begin + chunk);
  const bool writer = a.write_kv && begin <= pos && pos < end;
  const int skip = a.write_kv ? pos : -1;  // not yet written: the own row comes from own_k / own_v

  const bool rot = a.write_kv && a.inv_freq != nullptr;
  float* cos_t = rot ? sm + lay.cos : nullptr;
  float* sin_t = sm + lay.sin;
  if (rot)
    for (int j = threadIdx.x; j < half; j += blockDim.x)
      attn::rope_sincos(pos, a.inv_freq[j], &sin_t[j], &cos_t[j]);
  // The first step's rows in registers, the next steps' into L2 while the previous kernel
  // finishes (attention_decode_rope), and the own row's slot.
  const int jw0 = begin + warp * KPW;
  Chunk kr[U][NCH], vr[U][NCH];
  load_keys<T, Chunk, LPK, NCH, U>(a, table, kvh, jw0 + ks, NS, end, skip, sub, kr, vr);
  if (early)
#pragma unroll
    for (int i = 1; i <= kL2PrefetchSteps; ++i)  // unrolled: the block-table loads go out together
      if (jw0 + i * STEP < end)
        prefetch_keys<T, Chunk, LPK, NCH, U>(a, table, kvh, jw0 + i * STEP + ks, NS, end, skip,
                                             sub);
  const int64_t own_slot = writer ? cache_row(a, table, pos, kvh) * hd : 0;
  if (rot) __syncthreads();
  if (early) {
    pdl_wait();
    pdl_trigger();
  }

  // This token's k / v (the writer) and q loads go out together, then the cache write.
  const float* row = a.qkv + int64_t(t) * (a.d.n_head + 2 * a.d.n_head_kv) * hd;
  OwnRow own{};
  if (writer) own = load_own_row(a, row, kvh);
  float q[GMAX][E], acc[GMAX][E], m[GMAX], l[GMAX];
  start_heads<Chunk, LPK, NCH, GMAX>(a, row + int64_t(kvh) * group * hd, sub, cos_t, sin_t, q, acc,
                                     m, l);
  T* own_k = reinterpret_cast<T*>(sm + lay.own_k);
  T* own_v = reinterpret_cast<T*>(sm + lay.own_v);
  if (writer) store_own_row<T>(a, own, own_slot, cos_t, sin_t, own_k, own_v);
  if (a.write_kv) {
    // The cache writes become visible to the block's later key steps, own_k / own_v to all
    // of its threads: the first step takes the own row from there (the same bytes).
    __syncthreads();
    constexpr int kVec = Chunk::kN;
#pragma unroll
    for (int u = 0; u < U; ++u)
      if (writer && jw0 + ks + u * NS == pos)
#pragma unroll
        for (int c = 0; c < NCH; ++c) {
          const int d0 = (c * LPK + sub) * kVec;
          if (d0 < hd) {
            kr[u][c].load(own_k + d0);
            vr[u][c].load(own_v + d0);
          }
        }
  }

  // Warp-uniform loop (the shuffles need every lane): slot ks of warp w takes keys
  // jw + ks + u * NS; the next step's rows load while this one is computed.
  for (int jw = jw0; jw < end; jw += STEP) {
    Chunk kn[U][NCH], vn[U][NCH];
    load_keys<T, Chunk, LPK, NCH, U>(a, table, kvh, jw + STEP + ks, NS, end, -1, sub, kn, vn);
    attend_keys<Chunk, LPK, NCH, GMAX, U>(q, kr, vr, jw + ks, NS, end, m, l, acc);
#pragma unroll
    for (int u = 0; u < U; ++u)
#pragma unroll
      for (int c = 0; c < NCH; ++c) kr[u][c] = kn[u][c], vr[u][c] = vn[u][c];
  }

  // The block's record: its warps merged, (group, 2 + hd) in shared memory.
  store_warp_record<Chunk, LPK, NCH, GMAX>(a, sm + lay.warps, warp, ks, sub, m, l, acc);
  __syncthreads();
  const int rec = 2 + hd, n_out = group * hd;
  float* blk = sm + lay.block;
  for (int i = threadIdx.x; i < n_out; i += blockDim.x) {
    const int g = i / hd, dd = i % hd;
    const Merged r = merge_records(sm + lay.warps, kLatencyWarps, group, g, dd, rec);
    float* p = blk + g * rec;
    if (dd == 0) p[0] = r.m, p[1] = r.l;
    p[2 + dd] = r.a;
  }
  cluster_barrier(n_blk);

  // Block `split` merges outputs [split * per, (split + 1) * per) over the cluster's records,
  // blocks in order: out = Σ_s exp2(m_s - M) acc_s / Σ_s exp2(m_s - M) l_s * v_mul. Every
  // block holds keys or a neutral record (m = -inf, l = 0), and block 0 holds position 0.
  const int per = (n_out + n_blk - 1) / n_blk, stop = min(n_out, (split + 1) * per);
  for (int i = split * per + int(threadIdx.x); i < stop; i += blockDim.x) {
    const int g = i / hd, dd = i % hd;
    const float o = attn::merge_splits<kMaxCluster>(
        n_blk, dd, [&](int s) { return cluster_peer(blk, s, n_blk) + g * rec; });
    const int h = kvh * group + g;
    a.out[int64_t(t) * a.d.n_head * hd + int64_t(h) * hd + dd] = o * a.v_mul;
  }
  // No block leaves while another may still read its record.
  if (n_blk > 1) cluster_barrier(n_blk);
}

// ---- Host side ----

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

// set_attention_latency_path: 0 = QINFER_CUDA_ATTN_LATENCY (default 1), 1 = classic, 2 =
// latency path. Measured on the H100 at 8B dims (bench/results/gpu_attention_latency_h100_s4r3):
// at batch 1, 1.5-2.6x faster than decode_kernel (128..8192 keys; 8B decode 238.5 -> 244.6
// tok/s); at batch 4 (32 units) 0.78-0.93x, so the regime is one SM in kLatencyUnitsPerSm
// per (token, KV head) unit: batch 1 at 8 KV heads on 132 SMs.
int g_latency_path = 0;
constexpr int64_t kLatencyUnitsPerSm = 16;

// The latency path is switched on and the GPU has thread-block clusters (sm_90).
bool latency_wanted() {
  static const bool env = env_switch("QINFER_CUDA_ATTN_LATENCY", 1) != 0;
  return (g_latency_path == 2 || (g_latency_path == 0 && env)) && compute_capability() >= 90;
}

// At most one (token, KV head) unit per kLatencyUnitsPerSm SMs (batch 1 at 8 KV heads on
// H100): decode_cluster_kernel's regime. Larger batches keep decode_kernel and its split rule:
// at batch 4 (32 units) the cluster kernel measured 0.78-0.93x of it (8 blocks of 8 warps a
// unit, one block an SM, against 4-warp blocks that share SMs).
bool latency_regime(int n_tok, const AttnDims& d) {
  return latency_wanted() && int64_t(n_tok) * d.n_head_kv * kLatencyUnitsPerSm <= sm_count();
}

// Logs once per kernel instance why the latency path falls back to decode_kernel.
bool not_ready(const char* why, cudaError_t e) {
  (void)cudaGetLastError();
  QINFER_LOG(kWarn, "attention_decode: latency path unavailable for a kernel instance (", why,
             e != cudaSuccess ? std::string(": ") + cudaGetErrorString(e) : std::string(),
             "); it runs the classic kernel");
  return false;
}

// Whether `kernel` (a decode_cluster_kernel) can run here: compiled for sm_90 or later (a build
// for older GPUs running as PTX would have no clusters) and a cluster of kMaxCluster blocks of
// smem_max bytes each fits on the GPU. Raises the kernel's shared-memory limit past 48 KiB
// where it needs that.
template <typename K>
bool cluster_kernel_ready(K* kernel, size_t smem_max) {
  cudaFuncAttributes fa{};
  cudaError_t e = cudaFuncGetAttributes(&fa, kernel);
  if (e != cudaSuccess) return not_ready("cudaFuncGetAttributes", e);
  if (fa.binaryVersion < 90) return not_ready("code below sm_90", cudaSuccess);
  if (smem_max > 48 * 1024) {
    e = cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, int(smem_max));
    if (e != cudaSuccess) return not_ready("shared memory limit", e);
  }
  int n = 0;
  e = active_clusters_z(kernel, kMaxCluster, kLatencyWarps * 32, smem_max, &n);
  if (e != cudaSuccess) return not_ready("cudaOccupancyMaxActiveClusters", e);
  if (n < 1) return not_ready("no cluster of 8 blocks fits", cudaSuccess);
  return true;
}

// decode_cluster_kernel over min(n_split, kMaxCluster) blocks a (token, KV head), one cluster;
// false (nothing launched) where cluster_kernel_ready says no.
template <typename T, typename Chunk, int LPK, int NCH, int GMAX>
bool launch_cluster(DecodeArgs a, cudaStream_t s) {
  const auto kernel = decode_cluster_kernel<T, Chunk, LPK, NCH, GMAX>;
  // The most shared memory this instance takes: group GMAX at its largest head_dim.
  static const bool ready = cluster_kernel_ready(
      kernel,
      size_t(cluster_smem(GMAX, LPK * NCH * Chunk::kN, int(sizeof(T))).total) * sizeof(float));
  if (!ready) return false;
  const int group = a.d.n_head / a.d.n_head_kv;
  a.n_split = std::min(a.n_split, kMaxCluster);
  a.bs_shift = attn::block_shift(a.block_size);
  launch_pdl_cluster_on(
      s, kernel, dim3(unsigned(a.b.n_tok), unsigned(a.d.n_head_kv), unsigned(a.n_split)),
      dim3(kLatencyWarps * 32),
      size_t(cluster_smem(group, a.d.head_dim, int(sizeof(T))).total) * sizeof(float),
      unsigned(a.n_split), a);
  return true;
}

// decode_kernel's split partials and counters: the caller's `partials` or the backend's.
void attach_scratch(DecodeArgs& a, cudaStream_t s) {
  if (a.n_split <= 1) return;
  void* scratch =
      a.b.partials != nullptr ? a.b.partials : g_scratch.get(a.b.n_tok, a.d, a.n_split, s);
  a.done = static_cast<unsigned*>(scratch);
  a.part = reinterpret_cast<float*>(static_cast<char*>(scratch) + counter_bytes(a.b.n_tok, a.d));
}

template <typename T, typename Chunk, int LPK, int NCH>
void launch_decode(DecodeArgs a, cudaStream_t s) {
  const int group = a.d.n_head / a.d.n_head_kv;
  if (latency_regime(a.b.n_tok, a.d)) {
    const bool launched = group <= 4 ? launch_cluster<T, Chunk, LPK, NCH, 4>(a, s)
                                     : launch_cluster<T, Chunk, LPK, NCH, 8>(a, s);
    if (launched) return;
  }
  attach_scratch(a, s);
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

// Keys one block of decode_cluster_kernel takes per step at 8B dims (group 4, head_dim 128)
// with a BF16 or FP8 cache: 8 warps x 2 key slots x 4 keys (F32: half that; head_dim 64:
// twice).
constexpr int kLatencyKeys = 64;

}  // namespace

int attention_decode_splits(int n_tok, int max_seq_len, const AttnDims& d) {
  const int64_t units = std::max<int64_t>(1, int64_t(n_tok) * d.n_head_kv);
  if (latency_regime(n_tok, d)) {
    // decode_cluster_kernel: a cluster of up to kMaxCluster blocks per unit, each at least
    // kLatencyKeys positions of max_seq_len (one key step; shorter splits only add blocks to
    // merge), and no more blocks than SMs (at 170 registers a thread, one block of 8 warps per
    // SM: a second wave would take as long as the first). Batch 1 at 8B dims (8 units) on
    // H100 (132 SMs): 1 block up to 64 positions, 4 at a graph capacity of 256, 8 from 512 on;
    // each block then takes ceil(len / 8) keys in steps of 64, the next step's loads in flight
    // during this one. Batch 4: 4 blocks. Derived from the kernel's shape, not yet measured on
    // the GPU.
    const int64_t cap = std::clamp<int64_t>(sm_count() / units, 1, kMaxCluster);
    return int(
        std::clamp<int64_t>((int64_t(max_seq_len) + kLatencyKeys - 1) / kLatencyKeys, 1, cap));
  }
  // Enough blocks to fill the GPU (four times over when few (token, KV head) pairs decode,
  // since each split then walks its positions as a chain of dependent steps; twice over for
  // batches, where merging the partials costs more), each split at least 32 positions long.
  // The rule of the earlier F32 kernel, measured on H100 at 8B dims (bench/gpu_kernels.cc).
  const int64_t fill = units < sm_count() ? 4 : 2;
  const int64_t want = std::max<int64_t>(1, (fill * sm_count() + units - 1) / units);
  return int(
      std::clamp<int64_t>(std::min<int64_t>(want, (int64_t(max_seq_len) + 31) / 32), 1, 128));
}

void set_attention_latency_path(int p) {
  QINFER_CHECK(p >= 0 && p <= 2, "set_attention_latency_path: ", p,
               " (expected 0 = QINFER_CUDA_ATTN_LATENCY, 1 = classic, 2 = latency)");
  g_latency_path = p;
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
                       const KvCacheView& kv, float* out) {
  DecodeArgs a{};
  attn::fill_launch(a, qkv, b, d, kv, out);
  a.bs_shift = -1;
  a.n_split = b.n_split > 0 ? b.n_split : attention_decode_splits(b.n_tok, b.max_seq_len, d);
  QINFER_CHECK(a.n_split <= 65535 && d.n_head_kv <= 65535, "attention_decode: n_split ", a.n_split,
               " / n_head_kv ", d.n_head_kv, " exceed the grid");
  return a;
}

}  // namespace

void attention_decode(const float* qkv, const AttnBatch& b, const AttnDims& d,
                      const KvCacheView& kv, float* out, cudaStream_t s) {
  attn::check_dims(d, kv, "attention_decode");
  if (b.n_tok == 0) return;
  const DecodeArgs a = decode_args(qkv, b, d, kv, out);
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
  DecodeArgs a = decode_args(qkv, b, d, kv, out);
  const bool fp8 = kv.dtype == DType::kF8E4M3;
  a.write_kv = true;
  a.inv_freq = inv_freq;
  a.k_store = fp8 ? kv.k_scale : 1.0f;
  a.v_store = fp8 ? kv.v_scale : 1.0f;
  attn::dispatch_cache(kv.dtype, "attention_decode_rope",
                       [&](auto tag) { launch_for_head_dim<decltype(tag)>(a, s); });
}

}  // namespace qinfer::ops::cuda

// The decode GEMV for FP8 x FP8 (W8A8) on Hopper: weights streamed by the bulk copy engine into
// a ring of shared-memory stages, multiplied on the tensor cores (mma.sync m16n8k32 E4M3, the
// n <= 8 activation rows as the MMA's N columns).
//
// Why (bench/results/gpu_kernels_h100_s5r2.json): the warp-per-row GEMV of fused.cu reads the
// 8B layer weights at 0.61-0.94 of HBM bandwidth at batch 1 and 0.48-0.71 at batch 2; a ring
// that only copies streams the same bytes at 0.80-0.99, but decoding FP8 and multiplying on
// the CUDA cores (~65 instructions a lane per 16 weights) cannot keep up with it from eight
// consumer warps (measured 0.49-0.80). On the tensor cores a warp spends 5 instructions on
// 16 rows x 64 bytes, so the ring's copy rate is the limit.
//
// Layout. One block per SM owns a contiguous run of output rows (balanced to one row). Its work
// is 16-row tiles, each cut into pieces of `piece` bytes of k; a stage is one piece of one tile,
// loaded by the producer warp as one bulk copy per row into rows `pitch` = 64 (mod 128) bytes
// apart (so the 8 lanes of a quarter warp, reading 16 bytes of rows 2q and 2q + 1, hit 32
// distinct banks), completion counted on the stage's mbarrier. The producer fills the ring
// before griddepcontrol.wait (weights do not depend on the previous kernel: under programmatic
// dependent launch the first stages arrive while the norm, attention or previous GEMV runs).
//
// Activations: after griddepcontrol.wait one consumer thread copies the n rows of FP8 codes into
// shared memory with one bulk copy per row (rows 64 (mod 128) bytes apart, as the ring's), and
// the consumers wait for them once. Read from global memory instead (flag 4, the session-5
// kernel), each consumer's first pass over k missed L1 on every 16-byte load, one L2 round trip
// after another: the CUPTI timeline of the 8B decode step (bench/results/timeline_*_s7*) shows
// o_proj ending 7.2 us after its input is ready although its ring already holds all its weights.
//
// Consumers, n <= 2 rows and n_in % 1024 == 0 (the decode of one or two sequences): the products
// on wgmma (QGMMA m64n16k32 E4M3, both operands from shared memory without swizzle). A core
// matrix of that layout is 8 rows x 16 bytes in 128 contiguous bytes, which is what a weight
// row's bulk copy leaves: 128 bytes of one row, its 16-byte chunks j = 0..7 taken as the 8 rows.
// So A (64 x 32) is 8 weight rows x 8 chunks (the warpgroup's half of the 16-row tile) and B (32
// x 16) x's one or two rows x the same 8 chunks, and D's (8 r + j, 8 t + j) is weight row r's dot
// with token t over chunks j and 8 + j of 256 bytes of k; one D element in 8 is used (the
// tensor core has ~50x the rate this needs). What sm_90a makes of mma.sync E4M3 is an F2FP
// unpack to F16 per two codes and two HMMAs (24 unpacks and 4 HMMAs a warp a 64-byte block);
// on wgmma a warpgroup issues one instruction per 256 bytes of 8 rows. H100, static FP8
// batch 1: 8B 320.0-320.7 against 311.6-312.8 tok/s, 1B 1,389-1,391 against 1,349-1,353
// (bench/results/gpu_run_s25.cmd q2). Each accumulator takes 4 wgmmas (128 products an
// element: the tensor core adds FP8 products with 13 mantissa bits, e8m13) before fp32
// registers take them, as DeepSeek-V3's promotion interval; relative error ~1e-4 against fp32
// sums (far under FP8's 2^-4 steps). A 2 KiB stage's 8 wgmmas go to two accumulators
// alternately, two independent chains in flight with one wait a stage: copy only (no MMAs)
// had shown their latency on the critical path (1B 1490-1498 against 1405-1407 tok/s,
// bench/results/gpu_run_s26.cmd q3); 1B 1403-1407 against 1394-1398 for session 25's chains
// of 4 with a wait each (q7).
//
// Consumers, otherwise (flag 8 for all): warp w takes the piece's 64-byte k blocks w, w + 8,
// ...; lane (g, c) = (lane / 4, lane % 4) loads 16 bytes of rows g and g + 8 at column 16 c of the block and 16 bytes of
// activation row g (zero for g >= n), all of a stage's loads before its MMAs, and runs two MMAs: a k
// permutation inside the block (logical k = 4c + i is physical 16c + i, k = 16 + 4c + i is
// 16c + 4 + i, the next 8 bytes the second MMA) applied to both operands, so exact. Each block's
// two MMAs start from zero and are added to the fp32 accumulators (the tensor core's own FP8
// accumulation never spans more than 64 products). At a tile's end the 8 warps' partial sums
// meet in shared memory and are added in warp order (deterministic):
//   y[t, o] (=, or +=) sum * x_scale[t] * w_scale[o] + bias[o],
// with y's old value, the scales and the bias loaded when the tile starts, not at its end.
//
// RoPE epilogue (the QKV projection of a decode batch, linear_from_f32_rope; its own kernel
// instantiation, so that the other GEMVs compile as before): the blocks own pairs of logical
// rows, logical rows 2 i and 2 i + 1 of a q or k head being its dimensions i and i + head_dim
// / 2 (the producer copies the weight rows in that order), so a rotation's two values finish
// in the same tile and meet in shared memory. The finishing threads rotate them with
// rope_kv_write's arithmetic (cos / sin from rope_prepare, made once a step), store q and k
// rotated and v to y, and K and V converted to the cache's type into the token's slot: the
// rope_kv_write launch between the QKV GEMV and the attention is gone (H100, 8B FP8 batch 1:
// 301 against 296 tok/s; 1B 1204 against 1191, bench/results/gpu_run_s14.cmd r4).
//
// silu_pair's outputs: h = silu(gate) * up in F32 with each block's max |h| per row, which a
// dynamic down projection's prologue (kXFromSilu) turns into the row's scale; or, for a static
// down projection, h's E4M3 codes under its input_scale (BulkParams::codes), which down's GEMV
// copies as a producer kernel's (kXCopied). H100 batch 1 with static activations, 1B 1,401
// against 1,292-1,299 tok/s through silu_mul_act, 8B 311-313 against 301-303
// (bench/results/gpu_run_s20.cmd q1, q2).
#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <type_traits>
#include <vector>

#include "core/env.h"
#include "ops/cuda/attention_device.h"
#include "ops/cuda/bulk_copy.cuh"
#include "ops/cuda/cuda_common.h"
#include "ops/cuda/fp8_device.cuh"
#include "ops/cuda/linear_cuda.h"
#include "ops/cuda/mma.cuh"
#include "ops/cuda/pdl.cuh"
#include "ops/cuda/probe.cuh"
#include "ops/cuda/wgmma.cuh"

namespace qinfer::ops::cuda {
namespace {

constexpr int kConsumers = 8;                    // consumer warps
constexpr int kThreads = (kConsumers + 1) * 32;  // + the producer warp
constexpr int kMaxStages = 8;
constexpr int kTileRows = 16;  // MMA M
constexpr int kTokens = 8;     // MMA N: activation rows
constexpr int kRowPad = 64;
constexpr int kBarrierBytes = 2 * kMaxStages * 8 + 128;  // full, empty, then x's
constexpr int kPartBytes = 2 * kConsumers * kTileRows * kTokens * 4;  // two tiles' partials
constexpr int kScratchBytes = 1024;  // the prologue's reductions and scales, RoPE's pairs
constexpr int kPairScratch = 64;     // float offset of the RoPE epilogue's (16, n) tile values
constexpr int kHeaderBytes = kBarrierBytes + kPartBytes + kScratchBytes;  // 128-byte multiple
// The prologue (x made from F32 rows in the kernel): rows up to kPrologueMaxIn, the 256
// consumer threads holding kPrologueV 4-element groups each; up to kPrologueMaxRows rows (they
// are made one after another).
constexpr int kPrologueV = 4;
constexpr int kPrologueMaxIn = kConsumers * 32 * 4 * kPrologueV;
constexpr int kPrologueMaxRows = 2;
static_assert((kPairScratch + kTileRows * kPrologueMaxRows) * 4 <= kScratchBytes,
              "the RoPE epilogue's pairs fit the scratch");

// Where the consumers' x comes from.
enum XMode : int { kXFromGlobal = 0, kXCopied = 1, kXMade = 2, kXFromSilu = 3 };

// Launch options (set_gemv_bulk flags).
constexpr int kCopyOnly = 1;     // consumers only wait for and free stages: the ring's copy rate
constexpr int kSmallPieces = 2;  // 1 KiB pieces instead of 2 KiB
constexpr int kXGlobal = 4;      // consumers read x from global memory (L1), not shared memory
constexpr int kMmaSync = 8;      // the products on mma.sync where wgmma would take them (wgp)
constexpr int kChain4 = 16;      // wgmma chains of 4, a wait each (session 25), not two in flight
constexpr int kSingle = 32;      // a stage's chain of 8 into one accumulator, not two of 4
constexpr int kMaxPiece = 2048;

struct BulkParams {
  const uint8_t* w;  // (n_out, n_in) E4M3
  const uint8_t* x;  // (n, n_in) E4M3 codes
  const float* x_scale;
  const float* w_scale;
  int w_scale_stride;
  const float* bias;
  float* y;
  int64_t n, n_in, n_out;
  int accumulate;
  int piece;  // k bytes per stage, a multiple of 64
  int pitch;  // piece rounded up to 128, + kRowPad
  int stages;
  int flags;
  int x_pitch;   // bytes between x's rows in shared memory (0: x read from global memory)
  int x_region;  // shared memory bytes for x, a 128-byte multiple
  const float* src;  // kXMade: BulkGemvArgs' src, norm_w, eps, quant, static_scale
  const float* norm_w;
  float eps;
  int quant;
  float static_scale;
  // silu_pair: the weight's rows are gate (0, inter) then up (inter, 2 inter), blocks split
  // [0, inter) and take each 16-row gate tile with its up tile; y (n, inter) = silu(gate) * up,
  // and amax (n, gridDim.x) gets each block's max |y| per row.
  int silu_pair;
  float* amax;
  // silu_pair with a static next projection: E4M3 codes of y under codes_scale instead of y and
  // amax, and codes_xs[t] = codes_scale (BulkGemvArgs).
  uint8_t* codes;
  float codes_scale;
  float* codes_xs;
  // kXFromSilu: x = src (n, n_in), quantized per row with the scale max(max_j amax_in[t, j] /
  // 448, kMinDynScale) (amax_in (n, amax_n)).
  const float* amax_in;
  int amax_n;
  BulkRope rope;  // rope.cos_sin set: the QKV epilogue (linear_cuda.h; kernel<XM, true>)
  int early_rows;  // kXFromSilu: the row's first loads with the maxima' (QINFER_CUDA_GEMV_EARLY)
  ProbeRing probe;  // block timelines (probe.cuh): start, wait, prologue done, end
  uint32_t probe_id;
};

#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
using bulk::bulk_load;
using bulk::mbar_arrive;
using bulk::mbar_expect;
using bulk::mbar_init;
using bulk::mbar_wait;
#endif

#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
// Sum (or max) over the 256 consumer threads; red: this reduction's own 8 floats.
__device__ __forceinline__ float consumers_reduce(float v, float* red, bool is_max) {
  for (int o = 16; o > 0; o >>= 1) {
    const float u = __shfl_xor_sync(0xffffffffu, v, o);
    v = is_max ? fmaxf(v, u) : v + u;
  }
  if (threadIdx.x % 32 == 0) red[threadIdx.x / 32] = v;
  asm volatile("bar.sync 1, %0;" ::"n"(kConsumers * 32) : "memory");
  v = red[0];
#pragma unroll
  for (int w = 1; w < kConsumers; ++w) v = is_max ? fmaxf(v, red[w]) : v + red[w];
  return v;
}

// RoPE epilogue: the blocks take pairs of logical rows, and logical row 2 i + s of a q or k
// head is its dimension i + s head_dim / 2 (the rotate-half partner of 2 i), so both halves
// of a rotation finish in the same tile. rope_dim: the dimension of the head's w-th logical
// row; rope_row: the weight (and output) row of logical row l (rows < 2^31).
__device__ __forceinline__ int rope_dim(int w, int hd) { return (w >> 1) + (w & 1) * (hd / 2); }
__device__ __forceinline__ int64_t rope_row(const BulkParams& p, int64_t l) {
  const int hd = p.rope.head_dim;
  if (l >= int64_t(p.rope.n_head + p.rope.n_head_kv) * hd) return l;  // a v row
  const int h = int(l) / hd;
  return int64_t(h) * hd + rope_dim(int(l) - h * hd, hd);
}

// The RoPE epilogue's operands for token t's logical row o, loaded when its tile starts and
// used at its end (the loads wait behind the tile's copies): the output row, cos / sin of its
// rotation (q and k rows) and its token's cache slot (K and V rows).
struct RopeRow {
  int64_t out = 0, slot = 0;
  float c = 1.0f, s = 0.0f;
};
__device__ __forceinline__ RopeRow rope_operands(const BulkParams& p, int64_t o, int t) {
  const BulkRope& r = p.rope;
  const int hd = r.head_dim;
  const int64_t kv0 = int64_t(r.n_head) * hd, kv_w = int64_t(r.n_head_kv) * hd;
  RopeRow e;
  e.out = rope_row(p, o);
  if (o < kv0 + kv_w) {
    const float2 cs = *reinterpret_cast<const float2*>(
        r.cos_sin + (int64_t(t) * (hd / 2) + ((int(o) % hd) >> 1)) * 2);
    e.c = cs.x;
    e.s = cs.y;
  }
  if (e.out >= kv0) e.slot = r.slot[t];
  return e;
}

// Token t's value v of logical row o, u its partner's (o ^ 1): rotated (q and k rows) with
// rope_kv_write's arithmetic, stored to y, and the K / V rows to the token's cache slot.
__device__ __forceinline__ void rope_store(const BulkParams& p, int64_t n_rows, int64_t o,
                                           int t, const RopeRow& e, float v, float u) {
  const BulkRope& r = p.rope;
  const int64_t kv0 = int64_t(r.n_head) * r.head_dim, kv_w = int64_t(r.n_head_kv) * r.head_dim;
  const int64_t kv_end = kv0 + kv_w;
  float y = v;
  if (o < kv_end) y = (o & 1) == 0 ? attn::rope_lo(v, u, e.c, e.s) : attn::rope_hi(u, v, e.c, e.s);
  p.y[t * n_rows + e.out] = y;
  if (e.out < kv0) return;  // a q row
  const bool is_v = e.out >= kv_end;
  // The cache element: slot * n_head_kv * head_dim + kv head * head_dim + dim.
  const int64_t at = e.slot * kv_w + e.out - kv0 - (is_v ? kv_w : 0);
  void* cache = is_v ? r.v_cache : r.k_cache;
  const float sc = is_v ? r.v_scale : r.k_scale;
  if (r.cache_bytes == 1)
    static_cast<attn::Fp8*>(cache)[at] = attn::from_float<attn::Fp8>(y, sc);
  else if (r.cache_bytes == 2)
    static_cast<attn::Bf16*>(cache)[at] = attn::from_float<attn::Bf16>(y, sc);
  else
    static_cast<float*>(cache)[at] = y;
}

// kXMade: the consumers make x's codes in shared memory and its per-row scales in xsc, as
// rms_norm_act_vec_kernel / to_act_vec_kernel (fused.cu) would: (h * r) * w with r = rsqrt(
// mean(h²) + eps), then the dynamic scale max(amax / 448, kMinDynScale) or the static one.
// wv: the norm weight's groups (loaded before griddepcontrol.wait).
__device__ __forceinline__ void make_x(const BulkParams& p, const float4 (&wv)[kPrologueV],
                                       uint8_t* xs, float* scratch) {
  const int tid = threadIdx.x, n4 = int(p.n_in / 4);
  float* xsc = scratch + 2 * kPrologueMaxRows * kConsumers;
  for (int t = 0; t < int(p.n); ++t) {
    const float* src = p.src + int64_t(t) * p.n_in;
    float4 v[kPrologueV];
#pragma unroll
    for (int j = 0; j < kPrologueV; ++j) {
      const int i4 = tid + kConsumers * 32 * j;
      v[j] = i4 < n4 ? *reinterpret_cast<const float4*>(src + 4 * i4) : make_float4(0, 0, 0, 0);
    }
    if (p.norm_w != nullptr) {
      const float ss =
          consumers_reduce(add_squares<kPrologueV>(v, 0.0f), scratch + (2 * t) * kConsumers, false);
      const float r = rsqrtf(ss / float(p.n_in) + p.eps);
      const float4 rv = make_float4(r, r, r, r);
#pragma unroll
      for (int j = 0; j < kPrologueV; ++j) v[j] = (v[j] * rv) * wv[j];  // (h * r) * w, as the norm producers
    }
    float s = p.static_scale;
    if (p.quant == 1) {
      float m = 0.0f;
#pragma unroll
      for (int j = 0; j < kPrologueV; ++j)
        m = fmaxf(m, fmaxf(fmaxf(fabsf(v[j].x), fabsf(v[j].y)), fmaxf(fabsf(v[j].z), fabsf(v[j].w))));
      m = consumers_reduce(m, scratch + (2 * t + 1) * kConsumers, true);
      s = fmaxf(m / kFp8Max, kMinDynScale);
    }
    const Fp8Quant q(s, p.quant == 2);
#pragma unroll
    for (int j = 0; j < kPrologueV; ++j) {
      const int i4 = tid + kConsumers * 32 * j;
      if (i4 < n4)
        *reinterpret_cast<uint32_t*>(xs + t * p.x_pitch + 4 * i4) = quant4(q, v[j]);
    }
    if (tid == 0) xsc[t] = s;
  }
#ifdef QINFER_WGMMA
  if (!(p.flags & kMmaSync)) wg::fence_proxy_async();  // x's codes are read by wgmma (async proxy)
#endif
  asm volatile("bar.sync 1, %0;" ::"n"(kConsumers * 32) : "memory");
}

// kXFromSilu: the row's dynamic scale from the previous GEMV's per-block maxima (the max over
// the whole row, as silu_mul_act_vec_kernel takes it), then x's codes from its F32 values. The
// first kBatch groups a thread converts are loaded with the maxima, so that one L2 round trip
// serves both (the 1B's 8192 inputs are all of them).
__device__ __forceinline__ void make_x_from_silu(const BulkParams& p, uint8_t* xs,
                                                 float* scratch) {
  const int tid = threadIdx.x, n4 = int(p.n_in / 4);
  constexpr int kThreadsC = kConsumers * 32, kBatch = 8;
  float* xsc = scratch + 2 * kPrologueMaxRows * kConsumers;
  for (int t = 0; t < int(p.n); ++t) {
    const float* src = p.src + int64_t(t) * p.n_in;
    float4 v[kBatch];
    const auto load = [&](int i0) {
#pragma unroll
      for (int j = 0; j < kBatch; ++j) {
        const int i4 = i0 + j * kThreadsC;
        if (i4 < n4) v[j] = *reinterpret_cast<const float4*>(src + 4 * i4);
      }
    };
    if (p.early_rows) load(tid);
    float m = 0.0f;
    for (int j = tid; j < p.amax_n; j += kThreadsC) m = fmaxf(m, p.amax_in[t * p.amax_n + j]);
    m = consumers_reduce(m, scratch + (2 * t + 1) * kConsumers, true);
    const float s = fmaxf(m / kFp8Max, kMinDynScale);
    const Fp8Quant q(s, false);
    for (int i0 = tid; i0 < n4; i0 += kBatch * kThreadsC) {
      if (i0 != tid || !p.early_rows) load(i0);
#pragma unroll
      for (int j = 0; j < kBatch; ++j) {
        const int i4 = i0 + j * kThreadsC;
        if (i4 < n4)
          *reinterpret_cast<uint32_t*>(xs + t * p.x_pitch + 4 * i4) = quant4(q, v[j]);
      }
    }
    if (tid == 0) xsc[t] = s;
  }
#ifdef QINFER_WGMMA
  if (!(p.flags & kMmaSync)) wg::fence_proxy_async();  // x's codes are read by wgmma (async proxy)
#endif
  asm volatile("bar.sync 1, %0;" ::"n"(kConsumers * 32) : "memory");
}
#endif

template <int XM, bool kRope = false>  // XMode; the RoPE epilogue (BulkRope)
__global__ void __launch_bounds__(kThreads, 1) gemv_bulk_kernel(BulkParams p) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  extern __shared__ __align__(128) uint8_t smem[];
  uint64_t* full = reinterpret_cast<uint64_t*>(smem);
  uint64_t* empty = full + kMaxStages;
  uint64_t* xbar = empty + kMaxStages;
  float* part = reinterpret_cast<float*>(smem + kBarrierBytes);  // [2][kConsumers][16][kTokens]
  float* scratch = reinterpret_cast<float*>(smem + kBarrierBytes + kPartBytes);
  uint8_t* xs = smem + kHeaderBytes;
  uint8_t* ring = xs + p.x_region;

  // Output rows [row_begin, row_end) of n_rows (silu_pair: of inter = n_out / 2, each row a
  // gate row and an up row; tile 2 i is the gate rows of the block's i-th 16, 2 i + 1 the up).
  // RoPE: rows in pairs (rope_row).
  const int64_t n_rows = p.silu_pair ? p.n_out / 2 : p.n_out;
  constexpr int64_t unit = kRope ? 2 : 1;
  const int64_t row_begin = unit * (int64_t(blockIdx.x) * (n_rows / unit) / gridDim.x);
  const int64_t row_end = unit * (int64_t(blockIdx.x + 1) * (n_rows / unit) / gridDim.x);
  const int n_tiles = int((row_end - row_begin + kTileRows - 1) / kTileRows) * (p.silu_pair ? 2 : 1);
  const int n_pieces = int((p.n_in + p.piece - 1) / p.piece);
  const int n_stages = n_tiles * n_pieces;
  const int stage_bytes = kTileRows * p.pitch;
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;

  uint64_t stamp[kProbeStamps] = {probing(p.probe) ? probe_now() : 0};
  if (threadIdx.x == 0) {
    for (int i = 0; i < p.stages; ++i) {
      mbar_init(full + i, 1);
      mbar_init(empty + i, kConsumers);
    }
    mbar_init(xbar, 1);
    asm volatile("fence.mbarrier_init.release.cluster;" ::: "memory");
  }
  __syncthreads();
  pdl_trigger();

  if (warp == kConsumers) {  // producer: one lane issues every copy
    if (lane == 0) {
      uint64_t policy;
      asm volatile("createpolicy.fractional.L2::evict_first.b64 %0, 1.0;" : "=l"(policy));
      for (int st = 0; st < n_stages; ++st) {
        const int slot = st % p.stages;
        if (st >= p.stages) mbar_wait(empty + slot, uint32_t((st / p.stages - 1) & 1));
        const int tile = st / n_pieces;
        const int64_t l0 = row_begin + int64_t(p.silu_pair ? tile / 2 : tile) * kTileRows;
        const int rows = int(min(int64_t(kTileRows), row_end - l0));
        const int64_t r0 = l0 + (p.silu_pair && (tile & 1) ? n_rows : 0);  // weight row
        const int64_t k0 = int64_t(st % n_pieces) * p.piece;
        const uint32_t kb = uint32_t(min(int64_t(p.piece), p.n_in - k0));
        mbar_expect(full + slot, uint32_t(rows) * kb);
        uint8_t* dst = ring + slot * stage_bytes;
        if constexpr (kRope) {
          // rope_row over the tile's rows without a division a row (one lane issues every
          // copy: a 64-bit division a row measured the qkv GEMV ~9 us slower on the 8B).
          const int hd = p.rope.head_dim, rot_end = (p.rope.n_head + p.rope.n_head_kv) * hd;
          int h = int(l0) / hd, w = int(l0) - h * hd;
          for (int r = 0; r < rows; ++r) {
            const int l = int(l0) + r;
            const int64_t wr = l < rot_end ? h * hd + rope_dim(w, hd) : l;
            bulk_load(dst + r * p.pitch, p.w + wr * p.n_in + k0, kb, full + slot, policy);
            if (++w == hd) w = 0, ++h;
          }
        } else {
          const uint8_t* src = p.w + r0 * p.n_in + k0;
          for (int r = 0; r < rows; ++r)
            bulk_load(dst + r * p.pitch, src + r * p.n_in, kb, full + slot, policy);
        }
      }
    }
    return;
  }

  float4 wv[kPrologueV];  // the norm's weight does not depend on the previous kernel
  if constexpr (XM == kXMade) {
#pragma unroll
    for (int j = 0; j < kPrologueV; ++j) {
      const int i4 = threadIdx.x + kConsumers * 32 * j;
      wv[j] = p.norm_w != nullptr && i4 < int(p.n_in / 4)
                  ? *reinterpret_cast<const float4*>(p.norm_w + 4 * i4)
                  : make_float4(0, 0, 0, 0);
    }
  }
  pdl_wait();  // x and its scales come from the previous kernel
  if (probing(p.probe)) stamp[1] = probe_now();
  const int g = lane / 4, c = lane % 4;
  const int nt = int(p.n);
  if constexpr (XM == kXMade) {
    make_x(p, wv, xs, scratch);
  } else if constexpr (XM == kXFromSilu) {
    make_x_from_silu(p, xs, scratch);
  } else if constexpr (XM == kXCopied) {
    if (threadIdx.x == 0) {
      uint64_t policy;  // every block reads x: keep it in L2
      asm volatile("createpolicy.fractional.L2::evict_last.b64 %0, 1.0;" : "=l"(policy));
      mbar_expect(xbar, uint32_t(nt * p.n_in));
      for (int t = 0; t < nt; ++t)
        bulk_load(xs + t * p.x_pitch, p.x + int64_t(t) * p.n_in, uint32_t(p.n_in), xbar, policy);
    }
    mbar_wait(xbar, 0);
  }
  if (probing(p.probe)) stamp[2] = probe_now();
  const uint8_t* xrow = XM == kXFromGlobal ? p.x + int64_t(g < nt ? g : 0) * p.n_in + 16 * c
                                           : xs + (g < nt ? g : 0) * p.x_pitch + 16 * c;
  // The epilogue's operands for the (row, token) this thread finishes, loaded as a tile starts.
  // (The first tile's loaded before the prologue instead measured slower: H100 batch 1, qkv
  // 0.5-0.9 us and gate_up 0.45 us longer a layer, bench/results/gpu_run_s18.cmd q5.)
  const int er = threadIdx.x / nt, et = threadIdx.x % nt;
  const bool finisher = threadIdx.x < kTileRows * nt;
  const float e_xs = !finisher ? 0.0f
                     : XM == kXMade || XM == kXFromSilu
                         ? scratch[2 * kPrologueMaxRows * kConsumers + et]
                         : p.x_scale[et];
  float e_ws = 0.0f, e_bias = 0.0f, e_y = 0.0f;
  float e_gate = 0.0f, e_amax = 0.0f;  // silu_pair: this row's gate value; max |y| so far
  RopeRow e_rope;                       // kRope
  // silu_pair: h's codes instead of h and its maxima (made x only: the others' registers).
  const bool codes = XM == kXMade && p.codes != nullptr;
  float acc[4] = {0.0f, 0.0f, 0.0f, 0.0f};
  // The products on wgmma (sm_90a): n <= 2 rows, x in shared memory, every piece a multiple of
  // 1 KiB (uniform over the block).
#ifdef QINFER_WGMMA
  const bool wgp = !(p.flags & kMmaSync) && nt <= 2 && p.n_in % 1024 == 0 && XM != kXFromGlobal;
  float wd[2][8] = {};  // wgmma accumulators (two chains in flight)
#else
  constexpr bool wgp = false;
#endif
  for (int st = 0; st < n_stages; ++st) {
    const int slot = st % p.stages;
    const int tile = st / n_pieces, pc = st % n_pieces;
    const int64_t k0 = int64_t(pc) * p.piece;
    const int blocks = int(min(int64_t(p.piece), p.n_in - k0) / 64);
    const uint8_t* base = ring + slot * stage_bytes + 16 * c;
    const int64_t o = row_begin + int64_t(p.silu_pair ? tile / 2 : tile) * kTileRows + er;
    if (pc == 0 && finisher && o < row_end) {
      int64_t wr = o + (p.silu_pair && (tile & 1) ? n_rows : 0);  // weight row
      if constexpr (kRope) {
        e_rope = rope_operands(p, o, et);
        wr = e_rope.out;
      }
      e_ws = p.w_scale ? p.w_scale[wr * p.w_scale_stride] : 1.0f;
      e_bias = p.bias ? p.bias[wr] : 0.0f;
      e_y = p.accumulate ? p.y[et * n_rows + o] : 0.0f;
    }
    mbar_wait(full + slot, uint32_t((st / p.stages) & 1));
#ifdef QINFER_WGMMA
    if (wgp && !(p.flags & kCopyOnly)) {
      // Warpgroup h takes the stage's rows 8 h .. 8 h + 7 over all its k. One wgmma covers 256
      // bytes of k: A (64 x 32) is 8 weight rows x 8 chunks, A's row 8 r + j holding row r's
      // bytes 16 j .. 16 j + 15 and (the second core matrix, 128 bytes on) 128 + 16 j ..; B
      // (32 x 8 n) is x's n rows x the same 8 chunks. So each row's 128 contiguous bytes are a
      // core matrix, and D's (8 r + j, 8 t + j) is row r's dot with token t over chunks j and
      // 8 + j; D's other elements are not used. Chains of 4 wgmmas into an accumulator, then
      // fp32 registers: the tensor core sums FP8 products with 13 mantissa bits.
      // The descriptors of the stage's first wgmma; the next ones' start 256 bytes further.
      // The warpgroup's index through a shuffle from lane 0, so that the compiler knows it is
      // warp-uniform and keeps the descriptors in uniform registers: each next descriptor is
      // then one uniform add to the low half (wgmma_e4m3_n16's halves form; 64-bit adds in
      // vector registers took 8-10 instructions and two R2UR moves between QGMMAs).
      const int wgi = __shfl_sync(~0u, warp / 4, 0);
      const uint64_t da0 = wg::desc_none(
          mma::smem_addr(ring + slot * stage_bytes + wgi * 8 * p.pitch), 128, uint32_t(p.pitch));
      // B is n = 16 (one wgmma shape keeps the chain pipelined): x's rows 0, 1, or row 0 twice.
      const uint64_t db0 = wg::desc_none(mma::smem_addr(xs) + uint32_t(k0), 128,
                                         nt == 1 ? 0u : uint32_t(p.x_pitch));
      const uint32_t a_lo = uint32_t(da0), a_hi = uint32_t(da0 >> 32);
      const uint32_t b_lo = uint32_t(db0), b_hi = uint32_t(db0 >> 32);
      const bool odd = (g & 1) != 0;
      // A chain of kc wgmmas into na accumulators (wgmma i into accumulator i % na: na
      // independent chains of kc / na in flight together, one wait), then the used elements
      // into fp32 registers.
      const auto take = [&](const float(&d)[8]) {
        // Lane (g, c) with c = g / 2 holds chunk g of rows 2 (warp % 4) (+1): D's row 16 w
        // + g (+ 8), column 8 t + 2 c + (g & 1).
#pragma unroll
        for (int t = 0; t < 2; ++t) {
          acc[2 * t] += odd ? d[4 * t + 1] : d[4 * t];
          acc[2 * t + 1] += odd ? d[4 * t + 3] : d[4 * t + 2];
        }
      };
      const auto chains = [&](auto kc, auto na) {
        constexpr int kChain = decltype(kc)::value, kAcc = decltype(na)::value;
        for (int s0 = 0; s0 < blocks / 4; s0 += kChain) {
          wg::wgmma_fence();
#pragma unroll
          for (int i = 0; i < kChain; ++i) {
            const uint32_t off = uint32_t(16 * (s0 + i));  // 256 bytes, in the 16-byte units
            wg::wgmma_e4m3_n16(wd[i % kAcc], a_lo + off, a_hi, b_lo + off, b_hi, i / kAcc);
          }
          wg::wgmma_commit();
          wg::wgmma_wait<0>();
#pragma unroll
          for (int j = 0; j < kAcc; ++j) {
            wg::wgmma_fence_regs(wd[j]);
            take(wd[j]);
          }
        }
      };
      // A 2 KiB stage: 8 wgmmas into two accumulators, one wait (H100 1B 1403-1407 tok/s,
      // flag 32, one accumulator, 256 products: 1398-1399; flag 16, chains of 4 with a wait
      // each, session 25: 1394-1398; bench/results/gpu_run_s26.cmd q7). Four accumulators took
      // the static down's kernel from 94 to 105 registers and measured slower (q6).
      using I1 = std::integral_constant<int, 1>;
      using I2 = std::integral_constant<int, 2>;
      using I4 = std::integral_constant<int, 4>;
      using I8 = std::integral_constant<int, 8>;
      if ((blocks / 4) % 8 != 0 || (p.flags & kChain4))
        chains(I4{}, I1{});
      else if (p.flags & kSingle)
        chains(I8{}, I1{});
      else
        chains(I8{}, I2{});
    } else
#endif
    if (!(p.flags & kCopyOnly)) {
      // Every load of the stage first, then the MMAs.
      constexpr int kBlocksPerWarp = kMaxPiece / 64 / kConsumers;  // k blocks a warp takes
      uint4 lo[kBlocksPerWarp], hi[kBlocksPerWarp], xv[kBlocksPerWarp];
#pragma unroll
      for (int j = 0; j < kBlocksPerWarp; ++j) {
        const int b = warp + kConsumers * j;
        lo[j] = hi[j] = xv[j] = make_uint4(0, 0, 0, 0);
        if (b < blocks) {
          lo[j] = *reinterpret_cast<const uint4*>(base + g * p.pitch + 64 * b);
          hi[j] = *reinterpret_cast<const uint4*>(base + (g + 8) * p.pitch + 64 * b);
          if (g < nt) {
            if constexpr (XM != kXFromGlobal)
              xv[j] = *reinterpret_cast<const uint4*>(xrow + k0 + 64 * b);
            else
              xv[j] = __ldg(reinterpret_cast<const uint4*>(xrow + k0 + 64 * b));
          }
        }
      }
#pragma unroll
      for (int j = 0; j < kBlocksPerWarp; ++j) {
        if (warp + kConsumers * j >= blocks) break;
        float d[4] = {0.0f, 0.0f, 0.0f, 0.0f};
        mma::mma_e4m3(d, lo[j].x, hi[j].x, lo[j].y, hi[j].y, xv[j].x, xv[j].y);
        mma::mma_e4m3(d, lo[j].z, hi[j].z, lo[j].w, hi[j].w, xv[j].z, xv[j].w);
#pragma unroll
        for (int i = 0; i < 4; ++i) acc[i] += d[i];
      }
    }
    __syncwarp();
    if (lane == 0) mbar_arrive(empty + slot);
    if (pc != n_pieces - 1) continue;

    // Tile done: lane (g, c) holds rows g, g + 8 x tokens 2c, 2c + 1 (wgp: lanes c = g / 2
    // hold chunk g of rows r0, r0 + 1 x tokens 0, 1; the chunks take the warps' places).
    float* pt = part + (tile & 1) * kConsumers * kTileRows * kTokens;
    if (wgp) {
      const int r0 = 8 * (warp / 4) + 2 * (warp % 4);
      if (c == g / 2) {
#pragma unroll
        for (int t = 0; t < 2; ++t) {
          if (t >= nt) break;
          pt[(g * kTileRows + r0) * kTokens + t] = acc[2 * t];
          pt[(g * kTileRows + r0 + 1) * kTokens + t] = acc[2 * t + 1];
        }
      }
    } else {
#pragma unroll
      for (int h = 0; h < 2; ++h) {
        pt[(warp * kTileRows + g) * kTokens + 2 * c + h] = acc[h];
        pt[(warp * kTileRows + g + 8) * kTokens + 2 * c + h] = acc[2 + h];
      }
    }
#pragma unroll
    for (int i = 0; i < 4; ++i) acc[i] = 0.0f;
    asm volatile("bar.sync 1, %0;" ::"n"(kConsumers * 32) : "memory");
    const bool mine = finisher && o < row_end;
    float v = 0.0f;
    if (mine) {
      float sum = 0.0f;
#pragma unroll
      for (int w = 0; w < kConsumers; ++w) sum += pt[(w * kTileRows + er) * kTokens + et];
      v = sum * e_xs * e_ws + e_bias;
    }
    if constexpr (kRope) {  // each value meets its rotation partner (row o ^ 1)
      float* pair = scratch + kPairScratch;
      if (mine) pair[er * nt + et] = v;
      asm volatile("bar.sync 1, %0;" ::"n"(kConsumers * 32) : "memory");
      if (mine) rope_store(p, n_rows, o, et, e_rope, v, pair[(er ^ 1) * nt + et]);
      continue;
    }
    if (mine) {
      if (!p.silu_pair) {
        p.y[et * n_rows + o] = p.accumulate ? e_y + v : v;
      } else if (!(tile & 1)) {
        e_gate = v;  // the same thread finishes this row's up tile next
      } else {
        const float h = silu_times(e_gate, v);
        if (codes) {
          p.codes[et * n_rows + o] = Fp8Quant(p.codes_scale, true)(h);
        } else {
          p.y[et * n_rows + o] = h;
          e_amax = fmaxf(e_amax, fabsf(h));
        }
      }
    }
  }
  if (probing(p.probe)) {
    stamp[3] = probe_now();
    probe_write(p.probe, p.probe_id, stamp);
  }
  if (codes && blockIdx.x == 0 && threadIdx.x < nt) p.codes_xs[threadIdx.x] = p.codes_scale;
  if (p.silu_pair && !codes) {  // the block's max |y| per row: over each token's finishers
    if (finisher) scratch[er * nt + et] = e_amax;
    asm volatile("bar.sync 1, %0;" ::"n"(kConsumers * 32) : "memory");
    if (threadIdx.x < nt) {
      float m = 0.0f;
      for (int r = 0; r < kTileRows; ++r) m = fmaxf(m, scratch[r * nt + threadIdx.x]);
      p.amax[threadIdx.x * gridDim.x + blockIdx.x] = m;
    }
  }
#endif
}

// 0: QINFER_CUDA_GEMV_BULK (default 1), 1: never, 2: wherever it applies.
int g_mode = 0;
int g_smem_kib = 0;  // 0: QINFER_CUDA_GEMV_BULK_KIB, else by the bytes a block streams
int g_flags = -1;    // -1: from the environment (flags())

bool bulk_on() {
  static const bool env = env_switch("QINFER_CUDA_GEMV_BULK", 1) != 0;
  return g_mode == 2 || (g_mode == 0 && env);
}

bool valid_flags(int f) {
  return (f & ~(kCopyOnly | kSmallPieces | kXGlobal | kMmaSync | kChain4 | kSingle)) == 0;
}

constexpr const char* kFlagBits =
    " has bits other than 1 (copy only), 2 (1 KiB pieces), 4 (x from global memory), 8 (mma.sync)"
    ", 16 (wgmma chains of 4) and 32 (a stage's 8 into one accumulator)";

// set_gemv_bulk's flags, or from the environment: QINFER_CUDA_GEMV_BULK_FLAGS (the same bits;
// 1 = copy only is a measurement: wrong results), QINFER_CUDA_GEMV_XSMEM=0 for flag 4.
int flags() {
  static const int env = [] {
    const int f = env_int("QINFER_CUDA_GEMV_BULK_FLAGS", 0) |
                  (env_switch("QINFER_CUDA_GEMV_XSMEM", 1) == 0 ? kXGlobal : 0);
    QINFER_CHECK(valid_flags(f), "QINFER_CUDA_GEMV_BULK_FLAGS ", f, kFlagBits);
    return f;
  }();
  return g_flags >= 0 ? g_flags : env;
}

// A per-shape table from the environment, "NINxNOUT:VALUE,...": the value for the GEMVs of that
// shape, 0 where none is named. QINFER_CUDA_GEMV_RING_KIB: the ring's budget (KiB, smem_budget);
// QINFER_CUDA_GEMV_SMEM: the shared memory a block asks for (bytes; at least what
// its ring needs). For A/B runs of which GEMVs share a multiprocessor: two blocks of the same
// GEMV can share one where each asks for less than half of it.
struct ShapeTable {
  std::vector<std::array<int64_t, 3>> rows;
  explicit ShapeTable(const char* name) {
    const char* v = std::getenv(name);
    for (const char* c = v; c != nullptr && *c != '\0';) {
      long long a = 0, b = 0, k = 0;
      int used = 0;
      QINFER_CHECK(std::sscanf(c, "%lldx%lld:%lld%n", &a, &b, &k, &used) == 3, name,
                   ": expected NINxNOUT:VALUE at \"", c, "\"");
      rows.push_back({a, b, k});
      c += used;
      if (*c == ',') ++c;
    }
  }
  int64_t at(int64_t n_in, int64_t n_out) const {
    for (const auto& e : rows)
      if (e[0] == n_in && e[1] == n_out) return e[2];
    return 0;
  }
};

int shape_kib(int64_t n_in, int64_t n_out) {
  static const ShapeTable t("QINFER_CUDA_GEMV_RING_KIB");
  return int(t.at(n_in, n_out));
}

int64_t shape_smem(int64_t n_in, int64_t n_out) {
  static const ShapeTable t("QINFER_CUDA_GEMV_SMEM");
  return std::min<int64_t>(t.at(n_in, n_out), int64_t(227) << 10);
}

// The budget set for the shape (set_gemv_bulk's, QINFER_CUDA_GEMV_RING_KIB's,
// QINFER_CUDA_GEMV_BULK_KIB's), 0 where none is.
int set_kib(int64_t n_in, int64_t n_out) {
  static const int env = env_int("QINFER_CUDA_GEMV_BULK_KIB", 0);
  const int shape = shape_kib(n_in, n_out);
  return g_smem_kib > 0 ? g_smem_kib : shape > 0 ? shape : env;
}

// Shared memory per block: the budget set (set_kib), or by the weight bytes a block streams:
// up to QINFER_CUDA_GEMV_SMALL_RING_KB (default 256) a 128 KiB budget (three 2 KiB-piece stages; at
// n_in <= 4096 two blocks share a multiprocessor, so the next GEMV's ring fills while this one
// ends), above it 192 KiB (five stages); silu_pair (gate_up) 128 KiB at any size: its three
// stages measured faster than five with wgmma's consumers (H100 8B static batch 1: 322.6 /
// 324.1 / 323.7 against 320.6 / 321.4 / 320.5 tok/s; two stages 321.5, four 321.0-321.8;
// bench/results/gpu_run_s25.cmd q6).
int64_t smem_budget(int64_t block_bytes, int set, bool pair) {
  static const int64_t small = int64_t(env_int("QINFER_CUDA_GEMV_SMALL_RING_KB", 256)) << 10;
  const int kib = set > 0 ? set : pair || block_bytes <= small ? 128 : 192;
  return int64_t(std::clamp(kib, 32, 227)) << 10;
}

// The ring for n rows of n_in bytes: piece, pitch, stages (0 when two stages do not fit), and the
// shared memory that holds x (x_pitch 0: x is read from global memory). The ring gets what the
// budget leaves after x; where that is under two stages, up to the 227 KiB an SM allows.
struct Ring {
  int piece, pitch, stages, x_pitch, x_region;
  size_t smem() const {
    return size_t(kHeaderBytes) + size_t(x_region) + size_t(stages) * kTileRows * size_t(pitch);
  }
};
Ring ring_for(int64_t n, int64_t n_in, int64_t n_out, bool made = false, bool pair = false,
              bool whole_ok = false) {
  const int f = flags();
  const int64_t want = (f & kSmallPieces) ? 1024 : kMaxPiece;
  Ring r{};
  r.piece = int(std::min(want, n_in));
  r.pitch = (r.piece + 127) / 128 * 128 + kRowPad;  // = 64 (mod 128)
  if (made || !(f & kXGlobal)) {
    r.x_pitch = int((n_in + 127) / 128 * 128 + kRowPad);
    r.x_region = int((n * r.x_pitch + 127) / 128 * 128);
  }
  const int64_t stage = int64_t(kTileRows) * r.pitch;
  const int64_t blocks = std::max(1, gemv_bulk_grid(n_out));
  const int64_t block_bytes = (n_out + blocks - 1) / blocks * n_in;
  const int set = set_kib(n_in, n_out);
  for (int64_t budget : {smem_budget(block_bytes, set, pair), int64_t(227) << 10}) {
    const int64_t stages =
        std::min<int64_t>(kMaxStages, (budget - kHeaderBytes - r.x_region) / stage);
    r.stages = stages >= 2 ? int(stages) : 0;
    if (r.stages > 0) break;
  }
  // By the stages a block streams (at least two), where the budget is the default one: no more
  // (the rest would only keep other blocks off its multiprocessor: the 1B's o, one stage a
  // block, and qkv, two, on 2 instead of 3: 1B static batch 1 1403.7-1406.9 against
  // 1388.9-1392.2 tok/s, the 8B unchanged, bench/results/gpu_run_s25.cmd q8), and, for the
  // GEMV after the attention (whole_ok: x made without a norm, o), all of them up to
  // kWholeStages: the attention's blocks leave room beside them, so its weights are all in
  // shared memory when the attention ends (the 8B's o, four a block, on 4 instead of 3: 324.3-
  // 324.6 against 321.9-322.7, q11; the 1B's down on 4, not after an attention: 1387.7 /
  // 1388.9 against 1402.6 / 1404.1).
  // QINFER_CUDA_GEMV_STAGE_CAP=0 turns both off, QINFER_CUDA_GEMV_WHOLE=0 the second (A/B runs).
  static const bool cap = env_switch("QINFER_CUDA_GEMV_STAGE_CAP", 1) != 0;
  static const bool whole = env_switch("QINFER_CUDA_GEMV_WHOLE", 1) != 0;
  constexpr int64_t kWholeStages = 4;
  if (cap && set == 0 && !pair && r.stages >= 2) {
    // A block's most rows: ranges of whole pairs of rows (RoPE's) bound the ranges of rows.
    const int64_t rows = 2 * ((n_out / 2 + blocks - 1) / blocks + (n_out % 2));
    const int64_t streams = std::max<int64_t>(
        2, (rows + kTileRows - 1) / kTileRows * ((n_in + r.piece - 1) / r.piece));
    if (streams < r.stages)
      r.stages = int(streams);
    else if (whole && whole_ok && streams > r.stages && streams <= kWholeStages &&
             kHeaderBytes + r.x_region + streams * stage <= (int64_t(227) << 10))
      r.stages = int(streams);
  }
  return r;
}

int g_prologue = 0;  // set_gemv_bulk_prologue

bool prologue_on() {
  static const bool env = env_switch("QINFER_CUDA_GEMV_PROLOGUE", 1) != 0;
  return g_prologue == 2 || (g_prologue == 0 && env);
}

}  // namespace

void set_gemv_bulk_prologue(int mode) {
  QINFER_CHECK(mode >= 0 && mode <= 2, "set_gemv_bulk_prologue: mode ", mode,
               " is not 0 (QINFER_CUDA_GEMV_PROLOGUE), 1 (never) or 2 (always)");
  g_prologue = mode;
}

void set_gemv_bulk(int mode, int smem_kib, int flags) {
  QINFER_CHECK(mode >= 0 && mode <= 2, "set_gemv_bulk: mode ", mode,
               " is not 0 (QINFER_CUDA_GEMV_BULK), 1 (off) or 2 (on)");
  QINFER_CHECK(smem_kib == 0 || (smem_kib >= 32 && smem_kib <= 227), "set_gemv_bulk: ", smem_kib,
               " KiB of shared memory is outside 32..227");
  QINFER_CHECK(flags == -1 || valid_flags(flags), "set_gemv_bulk: flags ", flags, kFlagBits);
  g_mode = mode;
  g_smem_kib = smem_kib;
  g_flags = flags;
}

bool gemv_bulk_applies(int64_t n, int64_t n_in, int64_t n_out, const void* w) {
  return bulk_on() && compute_capability() >= 90 && n >= 1 && n <= kTokens && n_in > 0 &&
         n_in % 64 == 0 && n_out > 0 && reinterpret_cast<uintptr_t>(w) % 16 == 0 &&
         ring_for(n, n_in, n_out).stages > 0;
}

bool gemv_bulk_prologue_applies(int64_t n, int64_t n_in, int64_t n_out, const void* w) {
  return prologue_on() && n <= kPrologueMaxRows && n_in <= kPrologueMaxIn &&
         gemv_bulk_applies(n, n_in, n_out, w) && ring_for(n, n_in, n_out, true).stages > 0;
}

bool gemv_bulk_from_silu_applies(int64_t n, int64_t n_in, int64_t n_out, const void* w) {
  return prologue_on() && n <= kPrologueMaxRows && gemv_bulk_applies(n, n_in, n_out, w) &&
         ring_for(n, n_in, n_out, true).stages > 0;
}

int gemv_bulk_grid(int64_t rows) { return int(std::min<int64_t>(sm_count(), rows)); }

// The RoPE epilogue's shapes (BulkRope): q, k, v heads of an even head_dim, a cache type.
bool rope_fits(const BulkGemvArgs& a) {
  const BulkRope& r = a.rope;
  return !a.silu_pair && !a.accumulate && r.head_dim > 0 && r.head_dim % 2 == 0 &&
         r.head_dim <= 256 && r.n_head > 0 && r.n_head_kv > 0 &&
         a.n_out == int64_t(r.n_head + 2 * r.n_head_kv) * r.head_dim && a.n_out < (1 << 30) &&
         r.slot != nullptr &&
         reinterpret_cast<uintptr_t>(r.cos_sin) % 8 == 0 && r.k_cache != nullptr &&
         r.v_cache != nullptr &&
         (r.cache_bytes == 1 || r.cache_bytes == 2 || r.cache_bytes == 4) &&
         (r.cache_bytes != 1 || (r.k_scale > 0.0f && r.v_scale > 0.0f));
}

namespace {

// The shared memory a block asks for so that no two blocks of its grid share a multiprocessor
// (0 with QINFER_CUDA_GEMV_ALONE=0). For gate_up: its blocks become resident as o's end, and an
// idle multiprocessor could take two of them, which then stream twice a block's weights through
// one multiprocessor while others are done: 1B FP8 decode b1 1247.5-1252.0 tok/s with this
// against 1221.0-1226.6 (H100, bench/results/gpu_run_s17.cmd q4). Just over half of a
// multiprocessor, so one o block (the 1B's 110 KiB) still fits beside it.
size_t alone_smem() {
  static const size_t bytes = [] {
    if (env_switch("QINFER_CUDA_GEMV_ALONE", 1) == 0) return size_t(0);
    const size_t half = smem_per_sm() / 2 - smem_reserved_per_block() + 1;
    return (half + 127) / 128 * 128;
  }();
  return bytes;
}

// QINFER_CUDA_GEMV_EARLY=0: kXFromSilu's rows loaded after the maxima are reduced.
bool early_rows() {
  static const bool on = env_switch("QINFER_CUDA_GEMV_EARLY", 1) != 0;
  return on;
}

}  // namespace

bool gemv_bulk(const BulkGemvArgs& a, cudaStream_t stream) {
  const bool made = a.src != nullptr;
  const bool from_silu = made && a.amax_in != nullptr;
  const bool rope = a.rope.cos_sin != nullptr;
  const bool codes = a.codes != nullptr;
  if (a.silu_pair && (a.n_out % 2 != 0 || a.accumulate ||
                      (codes ? a.codes_scale <= 0.0f || a.codes_xs == nullptr
                             : a.amax == nullptr)))
    return false;
  if (codes && (!a.silu_pair || !made || from_silu)) return false;
  if (rope && (!made || from_silu || !rope_fits(a))) return false;  // norm prologue only
  if (from_silu) {
    if (!gemv_bulk_from_silu_applies(a.n, a.n_in, a.n_out, a.w) || a.quant != 1 ||
        a.amax_n <= 0 || reinterpret_cast<uintptr_t>(a.src) % 16 != 0)
      return false;
  } else if (made) {
    if (!gemv_bulk_prologue_applies(a.n, a.n_in, a.n_out, a.w) || a.quant < 1 || a.quant > 2 ||
        reinterpret_cast<uintptr_t>(a.src) % 16 != 0 ||
        reinterpret_cast<uintptr_t>(a.norm_w) % 16 != 0)
      return false;
  } else if (!gemv_bulk_applies(a.n, a.n_in, a.n_out, a.w) ||
             reinterpret_cast<uintptr_t>(a.x) % 16 != 0 || a.x_scale == nullptr) {
    return false;
  }
  const Ring r = ring_for(a.n, a.n_in, a.n_out, made, a.silu_pair,
                          made && !from_silu && !rope && a.norm_w == nullptr && !a.silu_pair);
  BulkParams p{static_cast<const uint8_t*>(a.w), a.x, a.x_scale, a.w_scale,
               a.w_scale_stride, a.bias, a.y, a.n, a.n_in, a.n_out, a.accumulate ? 1 : 0,
               r.piece, r.pitch, r.stages, flags(), r.x_pitch, r.x_region,
               a.src, a.norm_w, a.eps, a.quant, a.static_scale, a.silu_pair ? 1 : 0,
               a.amax, a.codes, a.codes_scale, a.codes_xs, a.amax_in, a.amax_n, a.rope,
               early_rows() ? 1 : 0, probe_ring(), 0};
  size_t smem = std::max<size_t>(r.smem(), size_t(shape_smem(a.n_in, a.n_out)));
  if (a.silu_pair) smem = std::max(smem, alone_smem());
  const int xm = from_silu ? kXFromSilu : made ? kXMade : r.x_pitch > 0 ? kXCopied : kXFromGlobal;
  // The RoPE epilogue has a kernel of its own, so that the other GEMVs compile as without it
  // (one kernel with both measured 8B decode 247 against 296 tok/s, H100, every GEMV slower).
  auto* kernel = rope && xm == kXMade ? gemv_bulk_kernel<kXMade, true>
                 : xm == kXFromSilu   ? gemv_bulk_kernel<kXFromSilu>
                 : xm == kXMade       ? gemv_bulk_kernel<kXMade>
                 : xm == kXCopied     ? gemv_bulk_kernel<kXCopied>
                                      : gemv_bulk_kernel<kXFromGlobal>;
  const int ki = rope ? 4 : xm;
  static bool configured[5] = {false, false, false, false, false};
  if (smem > 48 * 1024 && !configured[ki]) {
    QINFER_CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                           227 << 10));
    configured[ki] = true;
  }
  const unsigned grid =
      unsigned(gemv_bulk_grid(a.silu_pair || rope ? a.n_out / 2 : a.n_out));
  if (p.probe.data != nullptr)  // kind: 16 + 2 XMode + RoPE, then silu_pair 32, accumulate 64
    p.probe_id = ((16u + 2u * unsigned(xm) + (rope ? 1u : 0u) + (a.silu_pair ? 32u : 0u) +
                   (a.accumulate ? 64u : 0u))
                  << 24) |
                 (probe_launch() & 0xffffffu);
  launch_pdl_smem_on(stream, kernel, dim3(grid), dim3(kThreads), smem, p);
  return true;
}

}  // namespace qinfer::ops::cuda

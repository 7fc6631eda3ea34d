// Kernels of the CUDA fast path (fused_ops.h): activation producers that normalize / gate,
// quantize (vLLM's FP8 formulas) and lay out a linear layer's input in one pass, the GEMV
// that reads that layout, and the small row ops the model's CUDA runner needs.
//
// The GEMV (gemv_slot): one warp per output row (BF16 weights at 2-8 activation rows: 4 rows a
// warp, each activation load feeding all four), 8 x 16-byte weight loads in flight per lane,
// streamed past L1 (__ldcs); the activation rows are read through L1 in the lane-interleaved
// "slot" layout, so each of a warp's float4 reads is 512 contiguous bytes (row-major x costs
// four times the L1 wavefronts: the bottleneck measured in bench/results/gpu_kernels_h100_v1).
// No shared memory and no staging: every block starts streaming weights at once, and the
// grid has one warp per row, so there is no persistent-grid wave imbalance.
#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <map>
#include <mutex>
#include <type_traits>
#include <utility>

#include "core/env.h"
#include "ops/cuda/attention_device.h"
#include "ops/cuda/cuda_common.h"
#include "ops/cuda/cuda_ops.h"
#include "ops/cuda/fp8_device.cuh"
#include "ops/cuda/fused_ops.h"
#include "ops/cuda/linear_cuda.h"
#include "ops/cuda/linear_gemm.h"
#include "ops/cuda/pdl.cuh"
#include "ops/cuda/sampling_cuda.h"
#include "ops/cuda/sampling_math.h"

namespace qinfer::ops::cuda {
namespace {

// Device view of an Act.
struct ActOut {
  int layout;  // ActLayout
  int quant;   // 0 none, 1 dynamic per token, 2 static
  float static_scale;
  int chunk_elems;
  int64_t n_in, stride;
  void* data;
  float* scale;
  int cache;  // dynamic shared memory holds n_in floats: the values are computed once
};

ActOut act_out(const Act& a) {
  return ActOut{int(a.spec.layout),
                a.spec.quant == ActQuant::kDynamicPerToken  ? 1
                : a.spec.quant == ActQuant::kStaticPerTensor ? 2
                                                             : 0,
                a.spec.static_scale, a.spec.chunk_elems, a.spec.n_in, a.spec.row_stride,
                a.data, a.scale, 0};
}

__device__ __forceinline__ int64_t slot_index(int64_t i, int e_per_chunk) {
  const int64_t ch = i / e_per_chunk;
  const int64_t e = (i % e_per_chunk) / 4;
  return (((ch >> 5) * (e_per_chunk / 4) + e) * 32 + (ch & 31)) * 4 + (i & 3);
}

// Writes row `row` of the activation, value(i) for i < n_in, as o says. One block per row.
// With o.cache the dynamic-quantization pass keeps each value in shared memory for the write
// pass (each thread re-reads only the indices it wrote, so no barrier is needed): the source
// row (e.g. the (n, 2 inter) gate_up output of a prefill, far larger than L2) is read once.
template <class Src>
__device__ void write_act_row(const Src& src, int64_t row, const ActOut& o) {
  __shared__ float red_max[32];
  extern __shared__ float row_cache[];
  float s = 1.0f;
  if (o.quant == 1) {
    float m = 0.0f;
    if (o.cache) {
      for (int64_t i = threadIdx.x; i < o.n_in; i += blockDim.x) {
        const float v = src.value(i);
        row_cache[i] = v;
        m = fmaxf(m, fabsf(v));
      }
    } else {
      for (int64_t i = threadIdx.x; i < o.n_in; i += blockDim.x) m = fmaxf(m, fabsf(src.value(i)));
    }
    s = fmaxf(block_max(m, red_max) / kFp8Max, kMinDynScale);
  } else if (o.quant == 2) {
    s = o.static_scale;
  }
  const bool cached = o.quant == 1 && o.cache;
  const Fp8Quant q(s, o.quant == 2);
  if (o.layout == int(ActLayout::kCodesU8)) {
    uint8_t* d = static_cast<uint8_t*>(o.data) + row * o.stride;
    for (int64_t i = threadIdx.x; i < o.n_in; i += blockDim.x)
      d[i] = q(cached ? row_cache[i] : src.value(i));
  } else if (o.layout == int(ActLayout::kSlotF32)) {
    float* d = static_cast<float*>(o.data) + row * o.stride;
    for (int64_t i = threadIdx.x; i < o.n_in; i += blockDim.x) {
      const float v = cached ? row_cache[i] : src.value(i);
      d[slot_index(i, o.chunk_elems)] = o.quant ? fp8x2_to_f32(uint16_t(q(v))).x : v;
    }
  } else {
    float* d = static_cast<float*>(o.data) + row * o.stride;
    for (int64_t i = threadIdx.x; i < o.n_in; i += blockDim.x) d[i] = src.value(i);
  }
  if (threadIdx.x == 0 && o.scale != nullptr) o.scale[row] = s;
}

__device__ __forceinline__ float to_f32(float x) { return x; }
__device__ __forceinline__ float to_f32(__nv_bfloat16 x) { return __bfloat162float(x); }

template <typename HT>
struct NormSrc {
  const HT* h;
  const float* w;
  float r;
  __device__ float value(int64_t i) const { return (to_f32(h[i]) * r) * w[i]; }
};

// hid += add; out = rms_norm(hid) * w (transformers LlamaRMSNorm: x * rsqrt(mean(x²) + eps),
// then times the weight), as o says. HT: the residual stream's type, float or const BF16 (add
// null: rms_norm_act_bf16).
template <typename HT>
__global__ void __launch_bounds__(1024)
    rms_norm_act_kernel(HT* hid, const float* add, const float* __restrict__ w, float eps,
                        ActOut o) {
  __shared__ float red[32];
  pdl_trigger();
  pdl_wait();
  HT* h = hid + blockIdx.x * o.n_in;
  float ss = 0.0f;
  if constexpr (std::is_same_v<HT, float>) {
    if (add != nullptr) {
      const float* a = add + blockIdx.x * o.n_in;
      for (int64_t i = threadIdx.x; i < o.n_in; i += blockDim.x) {
        const float v = h[i] + a[i];
        h[i] = v;
        ss = fmaf(v, v, ss);
      }
    }
  }
  if (add == nullptr) {
    for (int64_t i = threadIdx.x; i < o.n_in; i += blockDim.x) {
      const float v = to_f32(h[i]);
      ss = fmaf(v, v, ss);
    }
  }
  const float r = rsqrtf(block_sum(ss, red) / float(o.n_in) + eps);
  write_act_row(NormSrc<HT>{h, w, r}, blockIdx.x, o);
}

template <typename GT>
struct SiluSrc {
  const GT* g;  // gate row; up = g + inter
  int64_t inter;
  __device__ float value(int64_t i) const {
    const float a = to_f32(g[i]);
    return a / (1.0f + expf(-a)) * to_f32(g[inter + i]);
  }
};

template <typename GT>
__global__ void __launch_bounds__(1024)
    silu_mul_act_kernel(const GT* gate_up, int64_t inter, ActOut o) {
  pdl_trigger();
  pdl_wait();
  write_act_row(SiluSrc<GT>{gate_up + blockIdx.x * 2 * inter, inter}, blockIdx.x, o);
}

struct CopySrc {
  const float* x;
  __device__ float value(int64_t i) const { return x[i]; }
};

__global__ void __launch_bounds__(1024) to_act_kernel(const float* x, ActOut o) {
  pdl_trigger();
  pdl_wait();
  write_act_row(CopySrc{x + blockIdx.x * o.n_in}, blockIdx.x, o);
}

// ---- Vectorized producers (the default; QINFER_CUDA_VEC_PRODUCERS=0 / set_producer_path(1)
// runs the classic ones above, which also serve the rows these do not take) ----
// One block of T threads per row (T = 256, 512 or 1024, below); thread t owns the 4-element
// groups t, t + T, ... (V of them, V = 1, 2 or 4: rows up to 16384 elements) and keeps their
// values in registers from the load to the store: every load of the row is issued before the
// first use (16-byte loads, 8 bytes for BF16), the source is read once, value() is computed
// once, and the output is written with 16-byte (F32, slot layout) or 4-byte (FP8 codes)
// stores. The classic producers above walk the row element by element in dependent
// iterations: latency-bound at batch 1 (one block: ~15 us for a 14336-wide silu row on H100)
// and at ~0.5 of HBM bandwidth for prefill rows (bench/results/ncu_8b_*_h100_s3.txt). Same
// per-element arithmetic as the classic path; the norm's sum of squares is added in another
// order.
constexpr int kVecThreads = 1024;  // the most threads a row
// Batches of at least kRowBlockMinRows rows take the fewest threads a row that cover it with
// V <= 4 (QINFER_CUDA_ROW_BLOCK, default 256; 1024: a block of 1024 threads a row at any batch,
// as before session 35). A 1024-thread block holds one 16-byte load of the row a thread in
// flight and two such blocks fit a multiprocessor; 256 threads with four loads each keep four
// times the bytes in flight. H100, 8B offline C 512 (bench/results/gpu_run_s35.cmd q2, q3): the
// norm over 2,048 rows of 4,096 14.9 against 26.9 us (~1.6 TB/s before), over 512 rows 4.7
// against 6.1, to_act over 2,048 rows 12.2 against 16.0. Small batches (decode at batch 1-63)
// keep 1024: the row's latency, not the bandwidth, is what they wait on.
constexpr int kRowBlockMinRows = 64;

using attn::load4;

// Scale (dynamic absmax over the block, static, or 1), then the 4-element groups of x to row
// `row` of the activation as o says, and the row's scale.
template <int V, int T>
__device__ __forceinline__ void finish_row_vec(const float4 (&x)[V], int64_t row,
                                               const ActOut& o) {
  __shared__ float red_max[32];
  const int64_t n4 = o.n_in / 4;
  float s = 1.0f;
  if (o.quant == 1) {
    float m = 0.0f;
#pragma unroll
    for (int k = 0; k < V; ++k)  // groups past the row are zero
      m = fmaxf(m, fmaxf(fmaxf(fabsf(x[k].x), fabsf(x[k].y)), fmaxf(fabsf(x[k].z), fabsf(x[k].w))));
    s = fmaxf(block_max(m, red_max) / kFp8Max, kMinDynScale);
  } else if (o.quant == 2) {
    s = o.static_scale;
  }
  const Fp8Quant q(s, o.quant == 2);
#pragma unroll
  for (int k = 0; k < V; ++k) {
    const int64_t j = threadIdx.x + int64_t(k) * T;
    if (j >= n4) break;
    const int64_t i = 4 * j;
    const float4 v = x[k];
    if (o.layout == int(ActLayout::kCodesU8)) {
      const uint32_t c = quant4(q, v);
      *reinterpret_cast<uint32_t*>(static_cast<uint8_t*>(o.data) + row * o.stride + i) = c;
    } else if (o.layout == int(ActLayout::kSlotF32)) {
      // Four consecutive elements (i % 4 == 0) are four consecutive slots.
      const float4 qv = o.quant ? make_float4(fp8x2_to_f32(uint16_t(q(v.x))).x,
                                              fp8x2_to_f32(uint16_t(q(v.y))).x,
                                              fp8x2_to_f32(uint16_t(q(v.z))).x,
                                              fp8x2_to_f32(uint16_t(q(v.w))).x)
                                : v;
      *reinterpret_cast<float4*>(static_cast<float*>(o.data) + row * o.stride +
                                 slot_index(i, o.chunk_elems)) = qv;
    } else {
      *reinterpret_cast<float4*>(static_cast<float*>(o.data) + row * o.stride + i) = v;
    }
  }
  if (threadIdx.x == 0 && o.scale != nullptr) o.scale[row] = s;
}

// HT: the residual stream's type, F32 (with add) or BF16 (add null: rms_norm_act_bf16).
template <int V, int T, typename HT = float>
__global__ void __launch_bounds__(T)
    rms_norm_act_vec_kernel(HT* hid, const float* add, const float* __restrict__ w,
                            float eps, ActOut o) {
  __shared__ float red[32];
  pdl_trigger();
  pdl_wait();
  const int64_t n4 = o.n_in / 4;
  HT* h = hid + blockIdx.x * o.n_in;
  const float* a = add != nullptr ? add + blockIdx.x * o.n_in : nullptr;
  float4 x[V], wv[V];
#pragma unroll
  for (int k = 0; k < V; ++k) {
    const int64_t j = threadIdx.x + int64_t(k) * T;
    x[k] = wv[k] = make_float4(0, 0, 0, 0);
    if (j < n4) {
      x[k] = load4(h + 4 * j);
      wv[k] = load4(w + 4 * j);
      if constexpr (std::is_same_v<HT, float>) {
        if (a != nullptr) {
          const float4 b = load4(a + 4 * j);
          x[k] = make_float4(x[k].x + b.x, x[k].y + b.y, x[k].z + b.z, x[k].w + b.w);
          *reinterpret_cast<float4*>(h + 4 * j) = x[k];
        }
      }
    }
  }
  const float r = rsqrtf(block_sum(add_squares<V>(x, 0.0f), red) / float(o.n_in) + eps);
  const float4 rv = make_float4(r, r, r, r);
#pragma unroll
  for (int k = 0; k < V; ++k) x[k] = (x[k] * rv) * wv[k];  // (h * r) * w, as NormSrc
  finish_row_vec<V, T>(x, blockIdx.x, o);
}

template <int V, int T, typename GT>
__global__ void __launch_bounds__(T)
    silu_mul_act_vec_kernel(const GT* gate_up, int64_t inter, ActOut o) {
  pdl_trigger();
  pdl_wait();
  const int64_t n4 = o.n_in / 4;
  const GT* g = gate_up + blockIdx.x * 2 * inter;
  float4 ga[V], up[V];
#pragma unroll
  for (int k = 0; k < V; ++k) {
    const int64_t j = threadIdx.x + int64_t(k) * T;
    ga[k] = up[k] = make_float4(0, 0, 0, 0);
    if (j < n4) {
      ga[k] = load4(g + 4 * j);
      up[k] = load4(g + inter + 4 * j);
    }
  }
  float4 x[V];
#pragma unroll
  for (int k = 0; k < V; ++k)
    x[k] = make_float4(silu_times(ga[k].x, up[k].x), silu_times(ga[k].y, up[k].y),
                       silu_times(ga[k].z, up[k].z), silu_times(ga[k].w, up[k].w));
  finish_row_vec<V, T>(x, blockIdx.x, o);
}

// ---- Static-scale FP8 codes, element by element (ActOut quant 2, layout kCodesU8) ----
// With a static per-tensor scale a code depends on its element alone, so no block needs a
// whole row: each thread makes 8 codes (16-byte loads, one 8-byte store) and blocks of
// kFlatThreads tile the batch. A block a row (the vectorized producers) launches 1024-thread
// blocks that become resident only as the GEMM before them leaves whole multiprocessors, and
// waits on one round of loads each; at the offline decode batches (256 rows of 14336) the
// silu_mul_act that fed the static down_proj GEMM took ~10 us a layer for ~18 MB. H100, 8B
// static FP8 offline C 256 (bench/results/gpu_run_s21.cmd q3): silu 7.25 against 9.93 us a
// layer in the decode graphs and 52.6 against 72.8 us in the prefill chunks; 13,393 / 13,365
// against 13,301 / 13,293 output tok/s (QINFER_CUDA_FLAT_STATIC=0). to_act the same way was
// no faster (2.89 against 2.40 us in the graphs), so it keeps a block a row.
// Same arithmetic as the row producers (silu_times, Fp8Quant(s, true)): the same bytes.
constexpr int kFlatThreads = 256;

__device__ __forceinline__ void load8(const float* p, float (&v)[8]) {
  const float4 a = *reinterpret_cast<const float4*>(p), b = *reinterpret_cast<const float4*>(p + 4);
  v[0] = a.x, v[1] = a.y, v[2] = a.z, v[3] = a.w, v[4] = b.x, v[5] = b.y, v[6] = b.z, v[7] = b.w;
}
__device__ __forceinline__ void load8(const __nv_bfloat16* p, float (&v)[8]) {
  const uint4 w = *reinterpret_cast<const uint4*>(p);
  const uint32_t u[4] = {w.x, w.y, w.z, w.w};
#pragma unroll
  for (int i = 0; i < 4; ++i) {
    v[2 * i] = __uint_as_float(u[i] << 16);
    v[2 * i + 1] = __uint_as_float(u[i] & 0xffff0000u);
  }
}

// This thread's element group (8 elements) of the (n, n_in) batch: its row, its first column;
// false past the end. Writes the row's scale from the row's first group. On a grid of
// (blocks a row, rows) (launch_flat's default) the row is blockIdx.y; on a 1-D grid over the
// batch's groups (QINFER_CUDA_FLAT_2D=0, before session 35) a 64-bit division finds it, ahead
// of every load of the thread. H100, 8B offline C 512 (bench/results/gpu_run_s35.cmd q6): the
// eager steps' silu 877.9 against ~930 ms, 14,955.5 / 14,932.1 against 14,923.3 / 14,908.6
// output tok/s alternated.
__device__ __forceinline__ bool flat_group(const ActOut& o, int64_t n, int64_t& row,
                                           int64_t& col) {
  const int64_t per_row = o.n_in / 8;
  if (gridDim.y > 1 || n == 1) {
    row = blockIdx.y;
    const int64_t g = int64_t(blockIdx.x) * kFlatThreads + threadIdx.x;
    if (g >= per_row) return false;
    col = g * 8;
  } else {
    const int64_t i = int64_t(blockIdx.x) * kFlatThreads + threadIdx.x;
    if (i >= n * per_row) return false;
    row = i / per_row;
    col = (i - row * per_row) * 8;
  }
  if (col == 0 && o.scale != nullptr) o.scale[row] = o.static_scale;
  return true;
}

__device__ __forceinline__ void store8(const ActOut& o, int64_t row, int64_t col,
                                       const float (&v)[8]) {
  const Fp8Quant q(o.static_scale, true);
  const uint2 c{quant4(q, make_float4(v[0], v[1], v[2], v[3])),
                quant4(q, make_float4(v[4], v[5], v[6], v[7]))};
  *reinterpret_cast<uint2*>(static_cast<uint8_t*>(o.data) + row * o.stride + col) = c;
}

template <typename GT>
__global__ void __launch_bounds__(kFlatThreads)
    silu_mul_static_kernel(const GT* gate_up, int64_t n, ActOut o) {
  pdl_trigger();
  pdl_wait();
  int64_t row, col;
  if (!flat_group(o, n, row, col)) return;
  const GT* g = gate_up + row * 2 * o.n_in + col;
  float a[8], u[8];
  load8(g, a);
  load8(g + o.n_in, u);
#pragma unroll
  for (int k = 0; k < 8; ++k) a[k] = silu_times(a[k], u[k]);
  store8(o, row, col, a);
}

template <int V, int T>
__global__ void __launch_bounds__(T) to_act_vec_kernel(const float* xs, ActOut o) {
  pdl_trigger();
  pdl_wait();
  const int64_t n4 = o.n_in / 4;
  const float* src = xs + blockIdx.x * o.n_in;
  float4 x[V];
#pragma unroll
  for (int k = 0; k < V; ++k) {
    const int64_t j = threadIdx.x + int64_t(k) * T;
    x[k] = j < n4 ? load4(src + 4 * j) : make_float4(0, 0, 0, 0);
  }
  finish_row_vec<V, T>(x, blockIdx.x, o);
}

struct SlotGemvParams {
  const void* w;           // (n_out, n_in)
  const float* x;          // (n, x_stride) slot layout
  int64_t x_stride;
  const float* x_scale;    // (n) or null
  const float* w_scale;    // (n_out) or (1) with stride 0, or null
  int w_scale_stride;
  const float* bias;       // (n_out) or null
  float* y;                // (n, n_out)
  int64_t n, n_in, n_out;
  int accumulate;
  unsigned long long* keys = nullptr;  // (n) greedy maxima (ARG): linear_act_greedy
};

constexpr int kWarps = 8;
constexpr int kLoads = 8;

// S warps share each output row (split-K): the block's 8 warps cover 8 / S rows, warp w takes
// the row's 32-chunk groups [slice * G / S, (slice + 1) * G / S) with slice = w % S, and the
// S partial sums are added in a fixed order through shared memory (deterministic). S trades
// bytes per warp for more, shorter warps: it decides how evenly the grid's waves fill the GPU.
// R: output rows a warp, 8 / R weight loads in flight a lane and row (slot_rows).
// ARG (linear_act_greedy): each activation row's greedy_key maximum over the block's outputs,
// through shared memory, then added to its part of p.keys (sampling_cuda.h kGreedyParts) with
// one atomic maximum a block and row (a reduction with no reply: the block does not wait for
// it); every thread of the block reaches that barrier, so no warp leaves early.
// BF16 weights (the lm_head) and 2-4 rows: at least 3 blocks a multiprocessor. ptxas gave the
// 4-row instance 92 registers (2 blocks), and the 1B's lm_head took 367 us against 297 at 74
// (H100, bench/results/gpu_run_s29.cmd q5, q6); FP8 and F16 instances would spill under it.
// One row: 4 blocks (<= 64 registers), as ptxas gave it before the R rows a warp.
template <typename WT, int NT>
constexpr int kSlotMinBlocks = !std::is_same_v<WT, __nv_bfloat16> ? 1
                               : NT == 1                          ? 4
                               : NT <= 4                          ? 3
                                                                  : 1;

template <typename WT, int NT, int S, bool ARG, int R>
__global__ void __launch_bounds__(kWarps * 32, (kSlotMinBlocks<WT, NT>))
    gemv_slot_kernel(SlotGemvParams p) {
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  const int slice = warp % S;
  // The warp's R output rows o .. o + R - 1.
  const int64_t o = (int64_t(blockIdx.x) * (kWarps / S) + warp / S) * R;
  const bool live = o < p.n_out;
  if (S == 1 && !ARG && !live) return;
  const int64_t t0 = int64_t(blockIdx.y) * NT;
  const int nt = int(min(int64_t(NT), p.n - t0));
  constexpr int E = kChunkElems<WT>;
  constexpr int KL = kLoads / R;  // loads in flight a lane and row
  const int64_t n_chunks = p.n_in / E;
  const int64_t n_groups = (n_chunks + 31) / 32;
  const int64_t c_begin = slice * n_groups / S * 32;
  const int64_t c_end = min(n_chunks, (slice + 1) * n_groups / S * 32);
  const uint4* wrow[R];
#pragma unroll
  for (int r = 0; r < R; ++r)  // rows past the end read row o (their sums are not written)
    wrow[r] = reinterpret_cast<const uint4*>(
        static_cast<const WT*>(p.w) + (o + r < p.n_out ? o + r : (live ? o : 0)) * p.n_in);
  const float4* xbase = reinterpret_cast<const float4*>(p.x + t0 * p.x_stride);
  const int64_t xs4 = p.x_stride / 4;
  float acc[R][NT];
#pragma unroll
  for (int r = 0; r < R; ++r)
#pragma unroll
    for (int t = 0; t < NT; ++t) acc[r][t] = 0.0f;
  // The first weight loads go out before waiting for the kernel that produces x: under PDL
  // they overlap that kernel (weights do not depend on it).
  uint4 raw[R][KL];
  const int64_t first = c_begin + lane;
#pragma unroll
  for (int r = 0; r < R; ++r)
#pragma unroll
    for (int u = 0; u < KL; ++u) {
      const int64_t ch = first + 32 * u;
      if (live && ch < c_end) raw[r][u] = __ldcs(wrow[r] + ch);
    }
  pdl_trigger();
  pdl_wait();
  for (int64_t c0 = first; live && c0 < c_end; c0 += 32 * KL) {
    if (c0 != first) {
#pragma unroll
      for (int r = 0; r < R; ++r)
#pragma unroll
        for (int u = 0; u < KL; ++u) {
          const int64_t ch = c0 + 32 * u;
          if (ch < c_end) raw[r][u] = __ldcs(wrow[r] + ch);
        }
    }
#pragma unroll
    for (int u = 0; u < KL; ++u) {
      const int64_t ch = c0 + 32 * u;
      if (ch >= c_end) break;
      const int64_t x0 = (ch >> 5) * (E / 4) * 32 + lane;
      if constexpr (R == 1) {
        float wf[E];
        decode_chunk<WT>(raw[0][u], wf);
#pragma unroll
        for (int t = 0; t < NT; ++t)
          if (t < nt) acc[0][t] = dot_chunk<E, true>(wf, xbase + t * xs4 + x0, 32, acc[0][t]);
      } else {
        // Each activation float4 feeds the R rows: R times less L1 traffic for x than R warps
        // of one row, with every row's products in dot_chunk's order (the same sums).
        float wf[R][E];
#pragma unroll
        for (int r = 0; r < R; ++r) decode_chunk<WT>(raw[r][u], wf[r]);
#pragma unroll
        for (int t = 0; t < NT; ++t) {
          if (t >= nt) continue;
#pragma unroll
          for (int e = 0; e < E / 4; ++e) {
            const float4 xv = __ldg(xbase + t * xs4 + x0 + e * 32);
#pragma unroll
            for (int r = 0; r < R; ++r) {
              float a = acc[r][t];
              a = fmaf(wf[r][4 * e], xv.x, a);
              a = fmaf(wf[r][4 * e + 1], xv.y, a);
              a = fmaf(wf[r][4 * e + 2], xv.z, a);
              a = fmaf(wf[r][4 * e + 3], xv.w, a);
              acc[r][t] = a;
            }
          }
        }
      }
    }
  }
#pragma unroll
  for (int r = 0; r < R; ++r)
#pragma unroll
    for (int t = 0; t < NT; ++t)
      for (int off = 16; off > 0; off >>= 1)
        acc[r][t] += __shfl_xor_sync(0xffffffffu, acc[r][t], off);
  if constexpr (S > 1) {
    __shared__ float part[kWarps][R][NT];
    if (lane == 0) {
#pragma unroll
      for (int r = 0; r < R; ++r)
#pragma unroll
        for (int t = 0; t < NT; ++t) part[warp][r][t] = acc[r][t];
    }
    __syncthreads();
    if (!ARG && (slice != 0 || !live)) return;
    if (slice == 0 && live) {
#pragma unroll
      for (int r = 0; r < R; ++r)
#pragma unroll
        for (int t = 0; t < NT; ++t) {
          float sum = 0.0f;
#pragma unroll
          for (int k = 0; k < S; ++k) sum += part[warp + k][r][t];
          acc[r][t] = sum;
        }
    }
  }
  __shared__ unsigned long long wkey[ARG ? kWarps : 1][NT];  // ARG: each warp's keys
  const bool owner = live && (S == 1 || slice == 0);
  if constexpr (ARG)
    if (lane == 0)
#pragma unroll
      for (int t = 0; t < NT; ++t) wkey[warp][t] = 0;
  if (lane == 0 && owner) {
#pragma unroll
    for (int r = 0; r < R; ++r) {
      const int64_t row = o + r;
      if (row >= p.n_out) break;
      const float ws =
          (p.w_scale ? p.w_scale[row * p.w_scale_stride] : 1.0f) * weight_rebias<WT>();
      const float b = p.bias ? p.bias[row] : 0.0f;
#pragma unroll
      for (int t = 0; t < NT; ++t) {
        if (t < nt) {
          const float xs = p.x_scale ? p.x_scale[t0 + t] : 1.0f;
          float* yp = p.y + (t0 + t) * p.n_out + row;
          const float v = acc[r][t] * xs * ws + b;
          const float y = p.accumulate ? *yp + v : v;
          *yp = y;
          if constexpr (ARG) {
            const unsigned long long k = sampling::greedy_key(y, uint32_t(row));
            if (k > wkey[warp][t]) wkey[warp][t] = k;
          }
        }
      }
    }
  }
  if constexpr (ARG) {
    __syncthreads();
    const int t = int(threadIdx.x);
    if (t < nt) {
      unsigned long long best = 0;
#pragma unroll
      for (int w = 0; w < kWarps; ++w) best = max(best, wkey[w][t]);
      if (best != 0)
        atomicMax(p.keys + ((t0 + t) * kGreedyParts + blockIdx.x % kGreedyParts) * kGreedyStride,
                  best);
    }
  }
}

int row_threads(int64_t n) { return n < 64 ? 1024 : 256; }

// Producers: the row cache of write_act_row when the row fits in 96 KiB of shared memory.
constexpr size_t kRowCacheMax = size_t(96) << 10;

// The row cache is used for small batches (decode: 215.6 vs 210 tok/s on 8B) and not for
// prefill, where its shared memory costs occupancy (2048-token TTFT 46.3 ms without, 47.9 with).
// QINFER_CUDA_ROW_CACHE=0 turns it off, =1 uses it for every batch.
int row_cache_mode() {
  static const int mode = env_switch("QINFER_CUDA_ROW_CACHE", 2);
  return mode;
}

template <typename... KArgs, typename... Args>
void launch_producer(void (*kernel)(KArgs...), int64_t n, ActOut o, Args&&... args) {
  const size_t bytes = size_t(o.n_in) * sizeof(float);
  size_t smem = 0;
  const int mode = row_cache_mode();
  if (o.quant == 1 && bytes <= kRowCacheMax && (mode == 1 || (mode == 2 && n < 64))) {
    static std::mutex mu;
    static std::map<const void*, size_t> configured;
    std::lock_guard<std::mutex> lock(mu);
    size_t& have = configured[reinterpret_cast<const void*>(kernel)];
    if (bytes > 48 * 1024 && bytes > have) {
      QINFER_CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                             int(kRowCacheMax)));
      have = kRowCacheMax;
    }
    smem = bytes;
    o.cache = 1;
  }
  launch_pdl_smem(kernel, dim3(unsigned(n)), dim3(row_threads(n)), smem,
                  std::forward<Args>(args)..., o);
}

// Which producers run: 0 = QINFER_CUDA_VEC_PRODUCERS (default 1: vectorized where it applies;
// 0: classic), 1 = classic, 2 = vectorized where it applies (set_producer_path).
int g_producer_path = 0;

bool vec_producers_on() {
  static const bool env = env_switch("QINFER_CUDA_VEC_PRODUCERS", 1) != 0;
  return g_producer_path == 2 || (g_producer_path == 0 && env);
}

bool aligned_to(const void* p, size_t a) { return reinterpret_cast<uintptr_t>(p) % a == 0; }

// The vectorized path's block for a batch of n rows of n_in elements: V (4-element groups a
// thread) and T (threads a row; kRowBlockMinRows above); v = 0 where the path does not apply
// (off, n_in not a multiple of 4, rows over 16384, unaligned output).
struct VecShape {
  int v = 0, t = kVecThreads;
};

VecShape vec_shape(const ActOut& o, int64_t n) {
  if (!vec_producers_on() || o.n_in % 4 != 0 || !aligned_to(o.data, 16)) return {};
  if (o.layout != int(ActLayout::kCodesU8) && o.stride % 4 != 0) return {};
  static const int min_threads =
      std::clamp(env_int("QINFER_CUDA_ROW_BLOCK", 256), 256, kVecThreads);
  const int fewest = n >= kRowBlockMinRows ? min_threads : kVecThreads;
  for (int t : {256, 512, kVecThreads}) {
    if (t < fewest) continue;
    const int64_t per = (o.n_in / 4 + t - 1) / t;
    for (int v : {1, 2, 4})  // V = 8 spills (sm_90a, 64 registers at 1024 threads)
      if (per <= v) return {v, t};
  }
  return {};
}

// Calls f(integral_constant<int, v>) for v = 1, 2, 4.
template <typename F>
void with_groups(int v, F&& f) {
  switch (v) {
    case 1: return f(std::integral_constant<int, 1>{});
    case 2: return f(std::integral_constant<int, 2>{});
    default: return f(std::integral_constant<int, 4>{});
  }
}

// Launches kernel<V, T> over n rows (make(v_tag, t_tag) returns the instance).
template <typename Make, typename... Args>
void launch_vec(const VecShape& sh, int64_t n, Make make, Args&&... args) {
  const dim3 grid{unsigned(n)}, block{unsigned(sh.t)};
  with_groups(sh.v, [&](auto V) {
    using T256 = std::integral_constant<int, 256>;
    using T512 = std::integral_constant<int, 512>;
    using TMax = std::integral_constant<int, kVecThreads>;
    switch (sh.t) {
      case 256: return launch_pdl(make(V, T256{}), grid, block, args...);
      case 512: return launch_pdl(make(V, T512{}), grid, block, args...);
      default: return launch_pdl(make(V, TMax{}), grid, block, args...);
    }
  });
}

// Whether the element-wise static producer (silu_mul_static_kernel) takes the batch:
// vectorized producers on, static codes, rows of 8-element groups, 16-byte aligned source and
// 8-byte aligned rows. QINFER_CUDA_FLAT_STATIC=0 leaves it to a block a row.
bool flat_static(const ActOut& o, const void* src) {
  static const bool env = env_switch("QINFER_CUDA_FLAT_STATIC", 1) != 0;
  return env && vec_producers_on() && o.quant == 2 && o.layout == int(ActLayout::kCodesU8) &&
         o.n_in % 8 == 0 && o.stride % 8 == 0 && aligned_to(o.data, 8) && aligned_to(src, 16);
}

template <typename... KArgs, typename... Args>
void launch_flat(void (*kernel)(KArgs...), int64_t n, const ActOut& o, Args&&... args) {
  static const bool two_d = env_switch("QINFER_CUDA_FLAT_2D", 1) != 0;
  const int64_t per_row = o.n_in / 8;
  if (two_d && n <= 65535) {
    const dim3 grid{unsigned((per_row + kFlatThreads - 1) / kFlatThreads), unsigned(n)};
    return launch_pdl(kernel, grid, dim3(kFlatThreads), std::forward<Args>(args)..., n, o);
  }
  const int64_t groups = n * per_row;
  const dim3 grid{unsigned((groups + kFlatThreads - 1) / kFlatThreads)};
  launch_pdl(kernel, grid, dim3(kFlatThreads), std::forward<Args>(args)..., n, o);
}

int g_split_override = 0;

// Split factor: enough warps per row that each warp streams at most 4 KiB of it (one batch of
// kLoads 16-byte loads per lane), so no warp waits through a chain of dependent round trips.
// Measured on the H100 at Llama-8B shapes (bench/gpu_kernels "gemv split"): down_proj
// (14 KiB rows) 26.7 -> 23.3 us at S = 4; 4 KiB rows are fastest unsplit or within 10 %.
template <typename WT, int NT>
int pick_split(const SlotGemvParams& p) {
  if (g_split_override > 0) return g_split_override;
  const int64_t row_bytes = p.n_in * int64_t(sizeof(WT));
  int s = 1;
  while (s < 8 && row_bytes > int64_t(s) * 32 * kLoads * 16) s *= 2;
  return s;
}

// The slot GEMV's output rows a warp (R) for BF16 weights at 2-8 activation rows:
// QINFER_CUDA_SLOT_ROWS, default 4 (1 or 2 for A/B runs). The 1B's BF16 lm_head is L1-bound
// there (each weight chunk re-read x once a row a warp); H100 1B throughput, 32 x 128/256 with
// the sampler kernel, R 1 / 2 / 4: concurrency 2 2,571 / 2,560 / 2,649 output tok/s, 4 3,842 /
// 4,140 / 4,144, 8 5,896 / 6,715 / 7,271 (bench/results/gpu_run_s29.cmd q8).
int slot_rows() {
  static const int r = env_int("QINFER_CUDA_SLOT_ROWS", 4);
  return r;
}

template <typename WT, int NT, int S, bool ARG, int R>
void launch_slot_r(const SlotGemvParams& p) {
  const int64_t per_block = (kWarps / S) * R;
  dim3 grid(unsigned((p.n_out + per_block - 1) / per_block), unsigned((p.n + NT - 1) / NT));
  launch_pdl(gemv_slot_kernel<WT, NT, S, ARG, R>, grid, dim3(kWarps * 32), p);
}

template <typename WT, int NT, int S, bool ARG>
void launch_slot_s(const SlotGemvParams& p) {
  if constexpr (std::is_same_v<WT, __nv_bfloat16> && NT >= 2) {
    const int r = slot_rows();
    if (r == 2) return launch_slot_r<WT, NT, S, ARG, 2>(p);
    if (r == 4) return launch_slot_r<WT, NT, S, ARG, 4>(p);
  }
  launch_slot_r<WT, NT, S, ARG, 1>(p);
}

template <typename WT, int NT, bool ARG>
void launch_slot_nt(const SlotGemvParams& p) {
  switch (pick_split<WT, NT>(p)) {
    case 1: return launch_slot_s<WT, NT, 1, ARG>(p);
    case 2: return launch_slot_s<WT, NT, 2, ARG>(p);
    case 4: return launch_slot_s<WT, NT, 4, ARG>(p);
    default: return launch_slot_s<WT, NT, 8, ARG>(p);
  }
}

// ARG: p.keys set, the greedy maxima too (linear_act_greedy).
template <typename WT, bool ARG = false>
void launch_slot(const SlotGemvParams& p) {
  if (p.n <= 1) return launch_slot_nt<WT, 1, ARG>(p);
  if (p.n <= 2) return launch_slot_nt<WT, 2, ARG>(p);
  if (p.n <= 4) return launch_slot_nt<WT, 4, ARG>(p);
  launch_slot_nt<WT, 8, ARG>(p);
}

__global__ void codes_to_f32_kernel(const uint8_t* c, int64_t count, float* f) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < count;
       i += int64_t(gridDim.x) * blockDim.x)
    f[i] = fp8x2_to_f32(uint16_t(c[i])).x;
}

// max |x|: per-block maxima, then one atomicMax on the bit pattern (non-negative floats order
// as their integer bits).
__global__ void absmax_kernel(const float* x, int64_t count, unsigned* out) {
  __shared__ float red[32];
  float m = 0.0f;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < count;
       i += int64_t(gridDim.x) * blockDim.x)
    m = fmaxf(m, fabsf(x[i]));
  m = block_max(m, red);
  if (threadIdx.x == 0) atomicMax(out, __float_as_uint(m));
}

__global__ void add_kernel(float* y, const float* x, int64_t count) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < count;
       i += int64_t(gridDim.x) * blockDim.x)
    y[i] += x[i];
}

template <typename T>
__global__ void gather_rows_kernel(const T* src, const int32_t* rows, int64_t d, T* dst) {
  const T* s = src + int64_t(rows[blockIdx.x]) * d;
  T* o = dst + blockIdx.x * d;
  for (int64_t i = threadIdx.x; i < d; i += blockDim.x) o[i] = s[i];
}

// rope_prepare's work (attention_cuda.h) for the token of the embedding's block, done by a warp
// of its own in the same launch (embedding_rows_rope); cos_sin null: none.
struct RopePrep {
  AttnBatch b;
  int half = 0, block_size = 0;
  const float* inv_freq = nullptr;
  float* cos_sin = nullptr;
  int64_t* slot = nullptr;
};
constexpr int kEmbedThreads = 256;  // the row's; + 32 with RopePrep

template <typename T, typename OT = float>
__global__ void embedding_rows_kernel(const T* table, const int32_t* ids, const int32_t* from,
                                      const int32_t* fed, int64_t n_row, int64_t d, OT* out,
                                      RopePrep rp) {
  if (threadIdx.x >= kEmbedThreads) {  // the extra warp: rope_prepare's token blockIdx.x
    attn::rope_prepare_token(rp.b, blockIdx.x, rp.half, rp.inv_freq, rp.block_size, rp.cos_sin,
                             rp.slot, threadIdx.x - kEmbedThreads, 32);
    return;
  }
  const int32_t src = from != nullptr ? from[blockIdx.x] : -1;
  const int64_t id = src >= 0 ? fed[src] : ids[blockIdx.x];
  const bool ok = id >= 0 && id < n_row;
  const T* row = table + (ok ? id : 0) * d;
  OT* o = out + blockIdx.x * d;
  const float nan = __int_as_float(0x7fc00000);
  // kLoads loads a thread in flight before its stores: one memory round trip for a row of up to
  // 4096 elements (one load, then its store, an element at a time took 7.4 us for the 8B's
  // BF16 row at batch 1 on the H100: bench/results/gpu_run_s17.cmd q1).
  constexpr int kLoads = 16;
  for (int64_t i0 = threadIdx.x; i0 < d; i0 += int64_t(kEmbedThreads) * kLoads) {
    float v[kLoads];
#pragma unroll
    for (int u = 0; u < kLoads; ++u) {
      const int64_t i = i0 + int64_t(u) * kEmbedThreads;
      v[u] = 0.0f;
      if (i < d) {
        if constexpr (std::is_same_v<T, float>)
          v[u] = row[i];
        else if constexpr (std::is_same_v<T, __half>)
          v[u] = __half2float(row[i]);
        else
          v[u] = __bfloat162float(row[i]);
      }
    }
#pragma unroll
    for (int u = 0; u < kLoads; ++u) {
      const int64_t i = i0 + int64_t(u) * kEmbedThreads;
      if (i < d) {
        if constexpr (std::is_same_v<OT, float>)
          o[i] = ok ? v[u] : nan;
        else
          o[i] = __float2bfloat16(ok ? v[u] : nan);  // exact for a BF16 table
      }
    }
  }
}

unsigned grid_for(int64_t count, int threads) {
  return unsigned(std::clamp<int64_t>((count + threads - 1) / threads, 1, 65535));
}


ScratchBuffer g_tmp_y;   // GEMM output before the residual add
ScratchBuffer g_tmp_x;   // decoded codes for the GEMV fallback
ScratchBuffer g_wsvec;   // per-tensor weight scale as a vector

// The FP8 weight's scales as one per output channel, for cuBLASLt's outer-vector scale mode:
// the checkpoint's own when per-channel, else the per-tensor scale broadcast into a scratch
// vector on stream s.
const float* channel_scales(const LinearWeight& w, cudaStream_t s) {
  const float* ws = w.weight_scale.data_as<float>();
  if (w.weight_scale.numel() == w.n_out && w.n_out != 1) return ws;
  float* v = static_cast<float*>(g_wsvec.get(size_t(w.n_out) * sizeof(float)));
  expand_scalar_f32(ws, v, w.n_out, s);
  return v;
}

}  // namespace

void set_producer_path(int p) {
  QINFER_CHECK(p >= 0 && p <= 2, "set_producer_path: ", p,
               " is not 0 (QINFER_CUDA_VEC_PRODUCERS), 1 (classic) or 2 (vectorized)");
  g_producer_path = p;
}

void set_gemv_split(int s) {
  QINFER_CHECK(s == 0 || s == 1 || s == 2 || s == 4 || s == 8, "set_gemv_split: ", s,
               " is not 0 (automatic), 1, 2, 4 or 8");
  g_split_override = s;
}

ActSpec act_spec(const LinearWeight& w, int64_t n) {
  ActSpec s;
  s.n_in = w.n_in;
  s.row_stride = w.n_in;
  const DType wt = w.weight.dtype();
  const bool fp8 = wt == DType::kF8E4M3;
  const bool dense = wt == DType::kBF16 || wt == DType::kF16 || wt == DType::kF32;
  const bool aligned = w.n_in % 16 == 0 && aligned_to(w.weight.data(), 16);
  // W8A8 decode on Hopper: FP8 codes for the tensor-core GEMV (gemv_bulk).
  if (fp8 && w.act_quant != ActQuant::kNone && n <= 8 &&
      gemv_bulk_applies(n, w.n_in, w.n_out, w.weight.data())) {
    s.layout = ActLayout::kCodesU8;
    s.quant = w.act_quant;
    s.static_scale = s.quant == ActQuant::kStaticPerTensor ? w.input_scale : 0.0f;
    return s;
  }
  if (n <= 8 && aligned && (fp8 || dense)) {
    s.layout = ActLayout::kSlotF32;
    s.quant = fp8 ? w.act_quant : ActQuant::kNone;
    s.static_scale = s.quant == ActQuant::kStaticPerTensor ? w.input_scale : 0.0f;
    s.chunk_elems = int(16 / dtype_size(wt));
    const int64_t group = 32 * s.chunk_elems;
    s.row_stride = (w.n_in + group - 1) / group * group;
    return s;
  }
  if (fp8 && w.act_quant != ActQuant::kNone && w.n_in % 16 == 0 && w.n_out % 16 == 0) {
    s.layout = ActLayout::kCodesU8;
    s.quant = w.act_quant;
    s.static_scale = s.quant == ActQuant::kStaticPerTensor ? w.input_scale : 0.0f;
    s.row_stride = w.n_in;
  }
  return s;
}

size_t act_bytes(const ActSpec& spec, int64_t n) {
  const size_t elem = spec.layout == ActLayout::kCodesU8 ? 1 : 4;
  return size_t(n * spec.row_stride) * elem + 256;
}

namespace {

// rms_norm_act over a residual stream of HT (float, with add; const BF16, add null).
template <typename HT>
void rms_norm_act_of(HT* hid, const float* add, const Tensor& weight, float eps, int64_t n,
                     Act& out, const char* op) {
  if (n == 0) return;
  check_cuda_tensor(weight, op, "weight");
  QINFER_CHECK(weight.dtype() == DType::kF32 && weight.numel() == out.spec.n_in, op,
               ": weight must be F32 (", out.spec.n_in, ")");
  out.n = n;
  const ActOut o = act_out(out);
  const float* w = weight.data_as<float>();
  if (const VecShape sh = vec_shape(o, n); sh.v > 0 && aligned_to(hid, 4 * sizeof(HT)) &&
                                           aligned_to(add, 16) && aligned_to(w, 16))
    return launch_vec(
        sh, n,
        [](auto V, auto T) {
          return rms_norm_act_vec_kernel<decltype(V)::value, decltype(T)::value, HT>;
        },
        hid, add, w, eps, o);
  launch_producer(rms_norm_act_kernel<HT>, n, o, hid, add, w, eps);
}

}  // namespace

void rms_norm_act(float* hid, const float* add, const Tensor& weight, float eps, int64_t n,
                  Act& out) {
  rms_norm_act_of(hid, add, weight, eps, n, out, "rms_norm_act");
}

void rms_norm_act_bf16(const void* hid, const Tensor& weight, float eps, int64_t n, Act& out) {
  rms_norm_act_of(static_cast<const __nv_bfloat16*>(hid), static_cast<const float*>(nullptr),
                  weight, eps, n, out, "rms_norm_act_bf16");
}

void silu_mul_act(const float* gate_up, int64_t n, int64_t inter, Act& out) {
  if (n == 0) return;
  QINFER_CHECK(out.spec.n_in == inter, "silu_mul_act: activation is for ", out.spec.n_in,
               " inputs, the MLP has ", inter);
  out.n = n;
  const ActOut o = act_out(out);
  if (flat_static(o, gate_up)) return launch_flat(silu_mul_static_kernel<float>, n, o, gate_up);
  if (const VecShape sh = vec_shape(o, n); sh.v > 0 && aligned_to(gate_up, 16))
    return launch_vec(
        sh, n,
        [](auto V, auto T) {
          return silu_mul_act_vec_kernel<decltype(V)::value, decltype(T)::value, float>;
        },
        gate_up, inter, o);
  launch_producer(silu_mul_act_kernel<float>, n, o, gate_up, inter);
}

void silu_mul_act_bf16(const void* gate_up, int64_t n, int64_t inter, Act& out) {
  if (n == 0) return;
  QINFER_CHECK(out.spec.n_in == inter, "silu_mul_act_bf16: activation is for ", out.spec.n_in,
               " inputs, the MLP has ", inter);
  out.n = n;
  const ActOut o = act_out(out);
  const auto* g = static_cast<const __nv_bfloat16*>(gate_up);
  if (flat_static(o, g)) return launch_flat(silu_mul_static_kernel<__nv_bfloat16>, n, o, g);
  if (const VecShape sh = vec_shape(o, n); sh.v > 0 && aligned_to(g, 8))
    return launch_vec(
        sh, n,
        [](auto V, auto T) {
          return silu_mul_act_vec_kernel<decltype(V)::value, decltype(T)::value, __nv_bfloat16>;
        },
        g, inter, o);
  launch_producer(silu_mul_act_kernel<__nv_bfloat16>, n, o, g, inter);
}

void to_act(const float* x, int64_t n, Act& out) {
  if (n == 0) return;
  out.n = n;
  const ActOut o = act_out(out);
  if (const VecShape sh = vec_shape(o, n); sh.v > 0 && aligned_to(x, 16))
    return launch_vec(
        sh, n,
        [](auto V, auto T) { return to_act_vec_kernel<decltype(V)::value, decltype(T)::value>; },
        x, o);
  launch_producer(to_act_kernel, n, o, x);
}

bool linear_act_bf16(const LinearWeight& w, const Act& x, void* y) {
  const int64_t n = x.n;
  if (x.spec.layout != ActLayout::kCodesU8 || w.bias.defined() || n == 0 ||
      w.weight.dtype() != DType::kF8E4M3 ||
      !gemm_lt_supported(DType::kF8E4M3, n, w.n_in, w.n_out, w.weight.data(), x.data, y))
    return false;
  QINFER_CHECK(x.spec.n_in == w.n_in, "linear_act_bf16 ", w.name, ": activation has ",
               x.spec.n_in, " inputs, weight ", w.n_in);
  cudaStream_t s = stream();
  const float* wsv = channel_scales(w, s);
  return gemm_fp8_scaled(w.weight.data(), x.data, y, n, w.n_in, w.n_out, x.scale, wsv,
                         /*accumulate=*/false, s, DType::kBF16) == GemmResult::kDone;
}

void set_gemv_prologue(int mode) { set_gemv_bulk_prologue(mode); }

namespace {

// gemv_bulk's arguments for W8A8 weight w with its input made in the prologue from src.
BulkGemvArgs bulk_args_from_f32(const LinearWeight& w, const float* src, float* y, int64_t n,
                                bool accumulate) {
  const bool per_channel = w.weight_scale.numel() == w.n_out && w.n_out != 1;
  BulkGemvArgs b{.w = w.weight.data(), .w_scale = w.weight_scale.data_as<float>(),
                 .w_scale_stride = per_channel ? 1 : 0,
                 .bias = w.bias.defined() ? w.bias.data_as<float>() : nullptr, .y = y, .n = n,
                 .n_in = w.n_in, .n_out = w.n_out, .accumulate = accumulate};
  b.src = src;
  b.quant = w.act_quant == ActQuant::kDynamicPerToken ? 1 : 2;
  b.static_scale = w.act_quant == ActQuant::kStaticPerTensor ? w.input_scale : 0.0f;
  return b;
}

}  // namespace

bool linear_from_f32(const LinearWeight& w, const float* src, const Tensor* norm, float eps,
                     int64_t n, float* y, bool accumulate) {
  if (n == 0 || w.n_out == 0 || w.weight.dtype() != DType::kF8E4M3 ||
      w.act_quant == ActQuant::kNone ||
      !gemv_bulk_prologue_applies(n, w.n_in, w.n_out, w.weight.data()))
    return false;
  if (norm != nullptr) {
    check_cuda_tensor(*norm, "linear_from_f32", "norm");
    QINFER_CHECK(norm->dtype() == DType::kF32 && norm->numel() == w.n_in,
                 "linear_from_f32 ", w.name, ": norm weight must be F32 (", w.n_in, ")");
  }
  BulkGemvArgs b = bulk_args_from_f32(w, src, y, n, accumulate);
  b.norm_w = norm != nullptr ? norm->data_as<float>() : nullptr;
  b.eps = eps;
  return gemv_bulk(b, stream());
}

bool linear_from_f32_rope(const LinearWeight& w, const float* src, const Tensor& norm, float eps,
                          int64_t n, float* qkv, const float* cos_sin, const int64_t* slot,
                          const AttnDims& d, const KvCacheView& kv) {
  if (n == 0 || cos_sin == nullptr || slot == nullptr ||
      w.weight.dtype() != DType::kF8E4M3 || w.act_quant == ActQuant::kNone ||
      !gemv_bulk_prologue_applies(n, w.n_in, w.n_out, w.weight.data()))
    return false;
  const int cache_bytes = kv.dtype == DType::kF8E4M3 ? 1
                          : kv.dtype == DType::kBF16 ? 2
                          : kv.dtype == DType::kF32  ? 4
                                                     : 0;
  if (cache_bytes == 0) return false;
  check_cuda_tensor(norm, "linear_from_f32_rope", "norm");
  QINFER_CHECK(norm.dtype() == DType::kF32 && norm.numel() == w.n_in, "linear_from_f32_rope ",
               w.name, ": norm weight must be F32 (", w.n_in, ")");
  BulkGemvArgs a = bulk_args_from_f32(w, src, qkv, n, false);
  a.norm_w = norm.data_as<float>();
  a.eps = eps;
  a.rope = BulkRope{.cos_sin = cos_sin, .slot = slot, .k_cache = kv.k, .v_cache = kv.v,
                    .cache_bytes = cache_bytes,
                    .k_scale = cache_bytes == 1 ? kv.k_scale : 1.0f,
                    .v_scale = cache_bytes == 1 ? kv.v_scale : 1.0f, .n_head = d.n_head,
                    .n_head_kv = d.n_head_kv, .head_dim = d.head_dim};
  return gemv_bulk(a, stream());
}

ScratchBuffer g_mlp_amax;  // mlp_from_f32: each gate_up block's max |h| per row

bool mlp_from_f32(const LinearWeight& gu, const LinearWeight& down, const float* hid,
                  const Tensor& norm, float eps, int64_t n, float* h, float* y) {
  const int64_t inter = down.n_in;
  // A dynamic down projection quantizes h (F32) in its prologue from the blocks' maxima; a
  // static one gets h's codes from gate_up's epilogue and copies them (no maximum to wait for).
  const bool dynamic = down.act_quant == ActQuant::kDynamicPerToken;
  const bool static_down = down.act_quant == ActQuant::kStaticPerTensor && down.input_scale > 0.0f;
  if (n == 0 || gu.weight.dtype() != DType::kF8E4M3 || down.weight.dtype() != DType::kF8E4M3 ||
      gu.act_quant == ActQuant::kNone || !(dynamic || static_down) || gu.n_out != 2 * inter ||
      !gemv_bulk_prologue_applies(n, gu.n_in, gu.n_out, gu.weight.data()) ||
      !(dynamic ? gemv_bulk_from_silu_applies(n, inter, down.n_out, down.weight.data())
                : gemv_bulk_applies(n, inter, down.n_out, down.weight.data())) ||
      reinterpret_cast<uintptr_t>(h) % 16 != 0)
    return false;
  check_cuda_tensor(norm, "mlp_from_f32", "norm");
  QINFER_CHECK(norm.dtype() == DType::kF32 && norm.numel() == gu.n_in, "mlp_from_f32 ", gu.name,
               ": norm weight must be F32 (", gu.n_in, ")");
  cudaStream_t s = stream();
  BulkGemvArgs g = bulk_args_from_f32(gu, hid, h, n, false);
  g.norm_w = norm.data_as<float>();
  g.eps = eps;
  g.silu_pair = true;
  BulkGemvArgs d;
  if (dynamic) {
    const int blocks = gemv_bulk_grid(inter);
    auto* amax = static_cast<float*>(g_mlp_amax.get(size_t(n * blocks) * sizeof(float)));
    g.amax = amax;
    d = bulk_args_from_f32(down, h, y, n, true);
    d.amax_in = amax;
    d.amax_n = blocks;
  } else {
    // h's buffer (n x inter floats) holds the codes (n x inter bytes, rows a multiple of 64)
    // and after them, 16-byte aligned, the n scales.
    auto* codes = reinterpret_cast<uint8_t*>(h);
    g.codes = codes;
    g.codes_scale = down.input_scale;
    g.codes_xs = reinterpret_cast<float*>(codes + (n * inter + 15) / 16 * 16);
    d = bulk_args_from_f32(down, nullptr, y, n, true);  // no src: x is copied
    d.x = codes;
    d.x_scale = g.codes_xs;
  }
  QINFER_CHECK(gemv_bulk(g, s), "mlp_from_f32 ", gu.name, ": the gate_up GEMV did not launch");
  QINFER_CHECK(gemv_bulk(d, s), "mlp_from_f32 ", down.name, ": the down GEMV did not launch");
  return true;
}

namespace {

// The slot GEMV's arguments for w on x (ActLayout::kSlotF32).
SlotGemvParams slot_params(const LinearWeight& w, const Act& x, float* y, bool accumulate) {
  const bool fp8 = w.weight.dtype() == DType::kF8E4M3;
  const bool per_channel = fp8 && w.weight_scale.numel() == w.n_out && w.n_out != 1;
  return SlotGemvParams{w.weight.data(), static_cast<const float*>(x.data), x.spec.row_stride,
                        x.spec.quant != ActQuant::kNone ? x.scale : nullptr,
                        fp8 ? w.weight_scale.data_as<float>() : nullptr, per_channel ? 1 : 0,
                        w.bias.defined() ? w.bias.data_as<float>() : nullptr, y, x.n, w.n_in,
                        w.n_out, accumulate ? 1 : 0};
}

}  // namespace

bool linear_act_greedy(const LinearWeight& w, const Act& x, float* y, unsigned long long* keys) {
  const int64_t n = x.n;
  if (keys == nullptr || n < 1 || n > 8 || w.n_out == 0 || w.n_out > INT32_MAX ||
      x.spec.layout != ActLayout::kSlotF32)
    return false;
  QINFER_CHECK(x.spec.n_in == w.n_in, "linear_act_greedy ", w.name, ": activation has ",
               x.spec.n_in, " inputs, weight ", w.n_in);
  SlotGemvParams p = slot_params(w, x, y, false);
  p.keys = keys;
  switch (w.weight.dtype()) {
    case DType::kF8E4M3: launch_slot<uint8_t, true>(p); return true;
    case DType::kBF16: launch_slot<__nv_bfloat16, true>(p); return true;
    case DType::kF32: launch_slot<float, true>(p); return true;
    default: return false;
  }
}

// set_resid_bf16_mode's value; -1: QINFER_CUDA_RESID_BF16 not read yet.
std::atomic<int> g_resid_bf16{-1};

int resid_bf16_mode() {
  int m = g_resid_bf16.load(std::memory_order_relaxed);
  if (m < 0) {
    m = std::clamp(env_int("QINFER_CUDA_RESID_BF16", 1), 0, 2);
    g_resid_bf16.store(m, std::memory_order_relaxed);
  }
  return m;
}

void set_resid_bf16_mode(int mode) {
  QINFER_CHECK(mode >= 0 && mode <= 2, "set_resid_bf16_mode: ", mode, " is not 0, 1 or 2");
  g_resid_bf16.store(mode, std::memory_order_relaxed);
}

bool linear_add_bf16_applies(const LinearWeight& w, int64_t n) {
  const int mode = resid_bf16_mode();
  if (mode == 0 || n <= 8 || w.weight.dtype() != DType::kF8E4M3 || w.bias.defined())
    return false;
  const ActSpec spec = act_spec(w, n);
  return spec.layout == ActLayout::kCodesU8 &&
         gemm_fp8_add_bf16_applies(n, w.n_in, w.n_out, w.weight.data(), mode == 2);
}

bool linear_act_add_bf16(const LinearWeight& w, const Act& x, void* y) {
  const int64_t n = x.n;
  if (x.spec.layout != ActLayout::kCodesU8 || !linear_add_bf16_applies(w, n)) return false;
  QINFER_CHECK(x.spec.n_in == w.n_in, "linear_act_add_bf16 ", w.name, ": activation has ",
               x.spec.n_in, " inputs, weight ", w.n_in);
  cudaStream_t s = stream();
  return gemm_lt(DType::kF8E4M3, w.weight.data(), x.data, y, n, w.n_in, w.n_out, x.scale,
                 channel_scales(w, s), s, /*accumulate=*/true,
                 DType::kBF16) == GemmResult::kDone;
}

void linear_act(const LinearWeight& w, const Act& x, float* y, bool accumulate) {
  const int64_t n = x.n;
  if (n == 0 || w.n_out == 0) return;
  QINFER_CHECK(x.spec.n_in == w.n_in, "linear_act ", w.name, ": activation has ", x.spec.n_in,
               " inputs, weight ", w.n_in);
  const DType wt = w.weight.dtype();
  const bool fp8 = wt == DType::kF8E4M3;
  const bool per_channel = fp8 && w.weight_scale.numel() == w.n_out && w.n_out != 1;
  const float* ws = fp8 ? w.weight_scale.data_as<float>() : nullptr;
  const float* bias = w.bias.defined() ? w.bias.data_as<float>() : nullptr;
  cudaStream_t s = stream();
  switch (x.spec.layout) {
    case ActLayout::kSlotF32: {
      QINFER_CHECK(n <= 8, "linear_act ", w.name, ": the slot layout is for at most 8 rows");
      const SlotGemvParams p = slot_params(w, x, y, accumulate);
      switch (wt) {
        case DType::kF8E4M3: return launch_slot<uint8_t>(p);
        case DType::kBF16: return launch_slot<__nv_bfloat16>(p);
        case DType::kF16: return launch_slot<__half>(p);
        case DType::kF32: return launch_slot<float>(p);
        default: QINFER_FAIL("linear_act ", w.name, ": unsupported weight ", dtype_name(wt));
      }
    }
    case ActLayout::kCodesU8: {
      const BulkGemvArgs b{.w = w.weight.data(), .x = static_cast<const uint8_t*>(x.data),
                           .x_scale = x.scale, .w_scale = ws,
                           .w_scale_stride = per_channel ? 1 : 0, .bias = bias, .y = y, .n = n,
                           .n_in = w.n_in, .n_out = w.n_out, .accumulate = accumulate};
      if (n <= 8 && fp8 && gemv_bulk(b, s)) return;
      const float* wsv = channel_scales(w, s);
      // With the scales applied inside cuBLASLt the GEMM adds into y itself (beta = 1): no
      // temporary, no separate add over (n, n_out).
      if (accumulate && gemm_fp8_scaled(w.weight.data(), x.data, y, n, w.n_in, w.n_out, x.scale,
                                        wsv, /*accumulate=*/true, s) == GemmResult::kDone) {
        scale_bias_epilogue(y, n, w.n_out, nullptr, nullptr, true, bias, s);
        return;
      }
      float* out = accumulate ? static_cast<float*>(g_tmp_y.get(size_t(n * w.n_out) * 4)) : y;
      GemmResult r = GemmResult::kNoAlgorithm;
      if (fp8)
        r = gemm_fp8_scaled(w.weight.data(), x.data, out, n, w.n_in, w.n_out, x.scale, wsv,
                            false, s);
      if (r == GemmResult::kNoAlgorithm) {
        auto* xf = static_cast<float*>(g_tmp_x.get(size_t(n * w.n_in) * 4));
        codes_to_f32_kernel<<<grid_for(n * w.n_in, 256), 256, 0, s>>>(
            static_cast<const uint8_t*>(x.data), n * w.n_in, xf);
        QINFER_CUDA_CHECK_LAUNCH();
        GemvArgs g{.w = w.weight.data(), .w_dtype = DType::kF8E4M3, .x = xf, .x_scale = x.scale,
                   .w_scale = ws, .w_scale_per_channel = per_channel, .bias = bias, .y = out,
                   .n = n, .n_in = w.n_in, .n_out = w.n_out};
        gemv(g, s);
      } else {
        const bool need = r == GemmResult::kUnscaled;
        scale_bias_epilogue(out, n, w.n_out, need ? x.scale : nullptr, need ? wsv : nullptr,
                            true, bias, s);
      }
      if (accumulate) {
        add_kernel<<<grid_for(n * w.n_out, 256), 256, 0, s>>>(y, out, n * w.n_out);
        QINFER_CUDA_CHECK_LAUNCH();
      }
      return;
    }
    case ActLayout::kRowF32: {
      Tensor xt = Tensor::view(x.data, DType::kF32, {n, w.n_in}, Device::kCuda);
      float* out = accumulate ? static_cast<float*>(g_tmp_y.get(size_t(n * w.n_out) * 4)) : y;
      Tensor yt = Tensor::view(out, DType::kF32, {n, w.n_out}, Device::kCuda);
      ops::cuda::linear(w, xt, yt);
      if (accumulate) {
        add_kernel<<<grid_for(n * w.n_out, 256), 256, 0, s>>>(y, out, n * w.n_out);
        QINFER_CUDA_CHECK_LAUNCH();
      }
      return;
    }
  }
}

void gather_rows(const float* src, const int32_t* rows, int64_t n_rows, int64_t d, float* dst) {
  if (n_rows == 0) return;
  gather_rows_kernel<<<unsigned(n_rows), 256, 0, stream()>>>(src, rows, d, dst);
  QINFER_CUDA_CHECK_LAUNCH();
}

void gather_rows_bf16(const void* src, const int32_t* rows, int64_t n_rows, int64_t d, void* dst) {
  if (n_rows == 0) return;
  gather_rows_kernel<<<unsigned(n_rows), 256, 0, stream()>>>(
      static_cast<const __nv_bfloat16*>(src), rows, d, static_cast<__nv_bfloat16*>(dst));
  QINFER_CUDA_CHECK_LAUNCH();
}

namespace {

void launch_embedding(const Tensor& table, const int32_t* ids, int64_t n, void* out,
                      bool bf16_out, const int32_t* from, const int32_t* fed,
                      const RopePrep& rp) {
  check_cuda_tensor(table, "embedding", "table");
  QINFER_CHECK(from == nullptr || fed != nullptr, "embedding: `from` without the fed tokens");
  const int64_t rows = table.dim(0), d = table.dim(1);
  const unsigned threads = kEmbedThreads + (rp.cos_sin != nullptr ? 32 : 0);
  auto go = [&](const auto* t) {
    using T = std::remove_cv_t<std::remove_pointer_t<decltype(t)>>;
    if (bf16_out)
      embedding_rows_kernel<T, __nv_bfloat16><<<unsigned(n), threads, 0, stream()>>>(
          t, ids, from, fed, rows, d, static_cast<__nv_bfloat16*>(out), rp);
    else
      embedding_rows_kernel<T, float><<<unsigned(n), threads, 0, stream()>>>(
          t, ids, from, fed, rows, d, static_cast<float*>(out), rp);
    QINFER_CUDA_CHECK_LAUNCH();
  };
  switch (table.dtype()) {
    case DType::kF32: return go(table.data_as<float>());
    case DType::kF16: return go(static_cast<const __half*>(table.data()));
    case DType::kBF16: return go(static_cast<const __nv_bfloat16*>(table.data()));
    default: QINFER_FAIL("embedding: unsupported table dtype ", dtype_name(table.dtype()));
  }
}

}  // namespace

void embedding_rows(const Tensor& table, const int32_t* ids, int64_t n, float* out,
                    const int32_t* from, const int32_t* fed) {
  if (n == 0) return;
  launch_embedding(table, ids, n, out, false, from, fed, RopePrep{});
}

void embedding_rows_bf16(const Tensor& table, const int32_t* ids, int64_t n, void* out,
                         const int32_t* from, const int32_t* fed) {
  if (n == 0) return;
  launch_embedding(table, ids, n, out, true, from, fed, RopePrep{});
}

void embedding_rows_rope(const Tensor& table, const int32_t* ids, int64_t n, float* out,
                         const int32_t* from, const int32_t* fed, const AttnBatch& b,
                         const AttnDims& d, const float* inv_freq, int block_size,
                         float* cos_sin, int64_t* slot) {
  QINFER_CHECK(inv_freq != nullptr && block_size > 0 && d.head_dim >= 2 && d.head_dim % 2 == 0,
               "embedding_rows_rope: needs inv_freq, a positive block size and an even "
               "head_dim (", d.head_dim, ")");
  QINFER_CHECK(b.n_tok == n, "embedding_rows_rope: ", n, " rows for a batch of ", b.n_tok,
               " tokens");
  if (n == 0) return;
  launch_embedding(table, ids, n, out, false, from, fed,
                   RopePrep{.b = b, .half = d.head_dim / 2, .block_size = block_size,
                            .inv_freq = inv_freq, .cos_sin = cos_sin, .slot = slot});
}

cudaStream_t backend_stream() { return stream(); }

float absmax(const Tensor& x) {
  check_cuda_tensor(x, "absmax", "x");
  QINFER_CHECK(x.dtype() == DType::kF32, "absmax: unsupported (dtype ", dtype_name(x.dtype()),
               ", device cuda)");
  static ScratchBuffer out;
  auto* o = static_cast<unsigned*>(out.get(sizeof(unsigned)));
  QINFER_CUDA_CHECK(cudaMemsetAsync(o, 0, sizeof(unsigned), stream()));
  if (x.numel() > 0) {
    absmax_kernel<<<grid_for(x.numel(), 256), 256, 0, stream()>>>(x.data_as<float>(), x.numel(), o);
    QINFER_CUDA_CHECK_LAUNCH();
  }
  unsigned bits = 0;
  QINFER_CUDA_CHECK(cudaMemcpyAsync(&bits, o, sizeof(bits), cudaMemcpyDeviceToHost, stream()));
  QINFER_CUDA_CHECK(cudaStreamSynchronize(stream()));
  float v;
  std::memcpy(&v, &bits, sizeof(v));
  return v;
}

void copy_to_device_async(void* dst, const void* src, size_t bytes) {
  if (bytes) QINFER_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, stream()));
}

void copy_to_host_async(void* dst, const void* src, size_t bytes) {
  if (bytes) QINFER_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, stream()));
}

void* pinned_alloc(size_t bytes) {
  void* p = nullptr;
  QINFER_CUDA_CHECK(cudaMallocHost(&p, std::max<size_t>(bytes, 1)));
  return p;
}

void pinned_free(void* p) {
  if (p != nullptr) (void)cudaFreeHost(p);
}

PinnedStaging::~PinnedStaging() {
  if (used_ != nullptr) {
    (void)cudaEventSynchronize(used_);
    (void)cudaEventDestroy(used_);
  }
  pinned_free(host_);
  for (void* p : retired_) pinned_free(p);
}

void PinnedStaging::wait() {
  if (used_ != nullptr) QINFER_CUDA_CHECK(cudaEventSynchronize(used_));
}

void* PinnedStaging::reuse(size_t bytes) {
  wait();
  if (bytes > bytes_) {
    if (host_ != nullptr) retired_.push_back(host_);
    bytes_ = std::max(bytes, 2 * bytes_);
    host_ = pinned_alloc(bytes_);
  }
  return host_;
}

void PinnedStaging::record(cudaStream_t s) {
  if (used_ == nullptr) QINFER_CUDA_CHECK(cudaEventCreateWithFlags(&used_, cudaEventDisableTiming));
  QINFER_CUDA_CHECK(cudaEventRecord(used_, s));
}

struct UploadRing::Impl {
  PinnedStaging bufs[2];
  int cur = 1;
};

UploadRing::UploadRing() : impl_(std::make_unique<Impl>()) {}
UploadRing::~UploadRing() = default;

void* UploadRing::acquire(size_t bytes) {
  impl_->cur = 1 - impl_->cur;
  return impl_->bufs[impl_->cur].reuse(bytes);
}

void UploadRing::upload(void* dst, size_t bytes) {
  PinnedStaging& b = impl_->bufs[impl_->cur];
  QINFER_CHECK(bytes <= b.size(), "UploadRing: upload of ", bytes, " bytes from a buffer of ",
               b.size());
  copy_to_device_async(dst, b.data(), bytes);
  b.record(stream());
}

struct SideUpload::Impl {
  PinnedStaging bufs[2];
  cudaEvent_t read[2] = {nullptr, nullptr};    // recorded on the backend stream by done(k)
  cudaEvent_t copied[2] = {nullptr, nullptr};  // recorded on the side stream after a copy
  bool read_once[2] = {false, false};
  ~Impl() {
    for (cudaEvent_t e : {read[0], read[1], copied[0], copied[1]})
      if (e != nullptr) (void)cudaEventDestroy(e);
  }
};

namespace {
cudaStream_t side_stream() {
  static cudaStream_t s = [] {
    cudaStream_t t = nullptr;
    QINFER_CUDA_CHECK(cudaStreamCreateWithFlags(&t, cudaStreamNonBlocking));
    return t;
  }();
  return s;
}
cudaEvent_t event_once(cudaEvent_t* e) {
  if (*e == nullptr) QINFER_CUDA_CHECK(cudaEventCreateWithFlags(e, cudaEventDisableTiming));
  return *e;
}
int side_k(int k) {
  QINFER_CHECK(k == 0 || k == 1, "SideUpload: destination ", k, " (0 or 1)");
  return k;
}

struct Fork {
  cudaStream_t side = nullptr;
  cudaEvent_t forked = nullptr, joined = nullptr;
  Fork() {
    int lo = 0, hi = 0;
    QINFER_CUDA_CHECK(cudaDeviceGetStreamPriorityRange(&lo, &hi));
    const int prio = env_switch("QINFER_CUDA_SIDE_PRIORITY", 0) == 1 ? hi : lo;
    QINFER_CUDA_CHECK(cudaStreamCreateWithPriority(&side, cudaStreamNonBlocking, prio));
    QINFER_CUDA_CHECK(cudaEventCreateWithFlags(&forked, cudaEventDisableTiming));
    QINFER_CUDA_CHECK(cudaEventCreateWithFlags(&joined, cudaEventDisableTiming));
  }
};
Fork& fork_state() {
  static Fork* f = new Fork();  // never destroyed, as the backend's own stream
  return *f;
}
}  // namespace

cudaStream_t fork_stream() {
  Fork& f = fork_state();
  QINFER_CUDA_CHECK(cudaEventRecord(f.forked, stream()));
  QINFER_CUDA_CHECK(cudaStreamWaitEvent(f.side, f.forked, 0));
  return f.side;
}

void join_stream() {
  Fork& f = fork_state();
  QINFER_CUDA_CHECK(cudaEventRecord(f.joined, f.side));
  QINFER_CUDA_CHECK(cudaStreamWaitEvent(stream(), f.joined, 0));
}

SideUpload::SideUpload() : impl_(std::make_unique<Impl>()) {}
SideUpload::~SideUpload() = default;

void* SideUpload::acquire(int k, size_t bytes) {
  return impl_->bufs[side_k(k)].reuse(bytes);
}

void SideUpload::upload(int k, void* dst, size_t bytes) {
  PinnedStaging& b = impl_->bufs[side_k(k)];
  QINFER_CHECK(bytes <= b.size(), "SideUpload: upload of ", bytes, " bytes from a buffer of ",
               b.size());
  cudaStream_t side = side_stream();
  if (impl_->read_once[k]) QINFER_CUDA_CHECK(cudaStreamWaitEvent(side, impl_->read[k], 0));
  QINFER_CUDA_CHECK(cudaMemcpyAsync(dst, b.data(), bytes, cudaMemcpyHostToDevice, side));
  b.record(side);
  QINFER_CUDA_CHECK(cudaEventRecord(event_once(&impl_->copied[k]), side));
  QINFER_CUDA_CHECK(cudaStreamWaitEvent(stream(), impl_->copied[k], 0));
}

void SideUpload::done(int k) {
  QINFER_CUDA_CHECK(cudaEventRecord(event_once(&impl_->read[side_k(k)]), stream()));
  impl_->read_once[k] = true;
}

struct Graph::Impl {
  cudaGraph_t graph = nullptr;
  cudaGraphExec_t exec = nullptr;
  ~Impl() {
    if (exec != nullptr) (void)cudaGraphExecDestroy(exec);
    if (graph != nullptr) (void)cudaGraphDestroy(graph);
  }
};

Graph::Graph() : impl_(std::make_unique<Impl>()) {}
Graph::~Graph() = default;

void Graph::begin() {
  QINFER_CUDA_CHECK(cudaStreamBeginCapture(stream(), cudaStreamCaptureModeThreadLocal));
}

void Graph::end() {
  cudaGraph_t g = nullptr;
  QINFER_CUDA_CHECK(cudaStreamEndCapture(stream(), &g));
  impl_->graph = g;
  QINFER_CUDA_CHECK(cudaGraphInstantiate(&impl_->exec, g, 0));
}

void Graph::launch() { QINFER_CUDA_CHECK(cudaGraphLaunch(impl_->exec, stream())); }

bool Graph::ready() const { return impl_->exec != nullptr; }

}  // namespace qinfer::ops::cuda

// linear_fused (fused_ops.h): a decode linear layer in one kernel, its input activation
// computed inside it. The kernels it replaces at batch 1 (rms_norm_act / to_act + the GEMV,
// and the gate_up GEMV + silu_mul_act) each cost a launch, a drain and a ramp; the producers
// are single-block kernels that leave the GPU idle for 4-8 us each (Nsight Compute, 8B decode:
// bench/results/ncu_8b_decode_h100_s3.txt).
//
// Shape of the kernel:
// - A persistent grid (about two blocks of 8 warps per SM). Warp w of the grid takes output
//   units w, w + W, w + 2W, ... (W = warps in the grid); a unit is one weight row, or with
//   silu_pair the row pair (gate j, up j) of the fused gate_up weight.
// - Each row is streamed in pieces of 32 lanes x 8 x 16 bytes (4 KiB), past L1 (__ldcs), two
//   pieces in registers: the next piece's loads are in flight while this one is multiplied,
//   across row boundaries, so each warp keeps 4-8 KiB outstanding from start to end and no
//   block retires and refills between rows (the one-warp-per-row GEMV of fused.cu streams one
//   4 KiB row per warp and exits: 0.72 of HBM bandwidth at Llama-8B shapes).
// - The first two pieces' loads go out before pdl_wait (weights do not depend on the previous
//   kernel), then every block computes the activation into shared memory: rms_norm of the
//   residual stream (transformers' LlamaRMSNorm, as rms_norm_act) or a copy, FP8-quantized
//   as the weight wants (vLLM's static / dynamic per-token formula, as the producers of
//   fused.cu), in the GEMV's lane-interleaved slot layout (bank-conflict-free float4 reads).
//   Each block recomputes it: at 8B shapes that is 16-56 KiB from L2 per block.
// - The epilogue is the GEMV's: acc * x_scale * w_scale (+ bias), stored or added into y; for
//   a pair, silu(gate) * up (as silu_mul_act computes it) is stored.
// Per-element arithmetic equals the separate kernels'; the norm's sum of squares is added in
// another order.
#include <algorithm>
#include <map>
#include <mutex>

#include "core/env.h"
#include "ops/cuda/cuda_common.h"
#include "ops/cuda/fp8_device.cuh"
#include "ops/cuda/fused_ops.h"
#include "ops/cuda/mma.cuh"
#include "ops/cuda/pdl.cuh"

namespace qinfer::ops::cuda {
namespace {

constexpr int kFgWarps = 8;
constexpr int kFgLoads = 8;               // 16-byte loads per lane per piece
constexpr int kFgPiece = 32 * kFgLoads;   // chunks per piece
constexpr size_t kFgSmemMax = 110 << 10;  // x in shared memory, all rows

struct FusedGemvParams {
  const void* w;  // (n_out, n_in)
  const float* w_scale;
  int w_scale_stride;
  const float* bias;
  float* y;  // (n, y_width)
  int64_t n, n_in, n_out, row_stride, y_width;
  int accumulate;
  // The activation: rows of x (n, n_in) F32, normalized when norm_w is set.
  const float* x;
  const float* norm_w;
  float eps;
  int quant;  // 0 none, 1 dynamic per token, 2 static
  float static_scale;
};

__device__ __forceinline__ int64_t fg_slot(int64_t i, int e_per_chunk) {
  const int64_t ch = i / e_per_chunk;
  const int64_t e = (i % e_per_chunk) / 4;
  return (((ch >> 5) * (e_per_chunk / 4) + e) * 32 + (ch & 31)) * 4 + (i & 3);
}

__device__ __forceinline__ float4 fg_mul(float4 a, float4 b) {
  return make_float4(a.x * b.x, a.y * b.y, a.z * b.z, a.w * b.w);
}

__device__ __forceinline__ float fg_quant(float v, float s) {
  return fp8x2_to_f32(uint16_t(f32_to_fp8(v / s))).x;
}

// Row t of the activation into xs (slot layout, row_stride floats), its scale into *scale.
template <int E>
__device__ void fg_produce_row(const FusedGemvParams& p, int t, float* xs, float* scale,
                               float* red) {
  const int64_t n4 = p.n_in / 4;
  const float* xr = p.x + t * p.n_in;
  float r = 1.0f;
  if (p.norm_w != nullptr) {
    float ss = 0.0f;
    for (int64_t j = threadIdx.x; j < n4; j += blockDim.x) {
      const float4 v = *reinterpret_cast<const float4*>(xr + 4 * j);
      ss = fmaf(v.x, v.x, ss);
      ss = fmaf(v.y, v.y, ss);
      ss = fmaf(v.z, v.z, ss);
      ss = fmaf(v.w, v.w, ss);
    }
    r = rsqrtf(block_sum(ss, red) / float(p.n_in) + p.eps);  // red[0, 32)
  }
  const float4 rv = make_float4(r, r, r, r);
  float m = 0.0f;
  for (int64_t j = threadIdx.x; j < n4; j += blockDim.x) {
    float4 v = *reinterpret_cast<const float4*>(xr + 4 * j);
    if (p.norm_w != nullptr)  // (h * r) * w, as rms_norm_act
      v = fg_mul(fg_mul(v, rv), *reinterpret_cast<const float4*>(p.norm_w + 4 * j));
    m = fmaxf(m, fmaxf(fmaxf(fabsf(v.x), fabsf(v.y)), fmaxf(fabsf(v.z), fabsf(v.w))));
    *reinterpret_cast<float4*>(xs + fg_slot(4 * j, E)) = v;
  }
  float s = 1.0f;
  if (p.quant == 1) {
    s = fmaxf(block_max(m, red + 32) / kFp8Max, kMinDynScale);  // red[32, 64): see the callers
  } else if (p.quant == 2) {
    s = p.static_scale;
  }
  if (p.quant != 0) {
    // Each thread rewrites the groups it wrote: no barrier between the passes.
    for (int64_t j = threadIdx.x; j < n4; j += blockDim.x) {
      float4* q = reinterpret_cast<float4*>(xs + fg_slot(4 * j, E));
      const float4 v = *q;
      *q = make_float4(fg_quant(v.x, s), fg_quant(v.y, s), fg_quant(v.z, s), fg_quant(v.w, s));
    }
  }
  if (threadIdx.x == 0) *scale = s;
}

// WT: weight element; NT: activation rows (n <= NT); PAIR: silu(gate) * up over row pairs.
template <typename WT, int NT, bool PAIR>
__global__ void __launch_bounds__(kFgWarps * 32, 2) fused_gemv_kernel(FusedGemvParams p) {
  extern __shared__ float4 fg_x[];  // NT rows of row_stride floats
  // Sums and maxima reduce through separate halves (a thread may still read the sum while a
  // faster warp already stores its maximum); a barrier after each row does the same across rows.
  __shared__ float red[64];
  __shared__ float x_scale[NT];
  constexpr int E = kChunkElems<WT>;
  const int lane = threadIdx.x % 32;
  const int64_t gw = int64_t(blockIdx.x) * kFgWarps + threadIdx.x / 32;
  const int64_t nw = int64_t(gridDim.x) * kFgWarps;
  const int nt = int(min(int64_t(NT), p.n));
  const int64_t n_chunks = p.n_in / E;
  const int64_t P = (n_chunks + kFgPiece - 1) / kFgPiece;  // pieces per row
  constexpr int R = PAIR ? 2 : 1;                         // rows per unit
  const int64_t n_units = PAIR ? p.n_out / 2 : p.n_out;
  const int64_t my_units = gw < n_units ? (n_units - gw + nw - 1) / nw : 0;
  const int64_t Q = my_units * R * P;  // this warp's pieces
  const uint4* w4 = static_cast<const uint4*>(p.w);

  // Piece q: unit gw + (q / (R P)) W, row (q / P) % R of it, piece q % P of the row.
  auto row_of = [&](int64_t q) {
    const int64_t unit = gw + (q / (R * P)) * nw;
    return PAIR ? unit + ((q / P) % R) * n_units : unit;
  };
  auto load = [&](uint4 (&buf)[kFgLoads], int64_t q) {
    const uint4* src = w4 + row_of(q) * n_chunks;
    const int64_t c0 = (q % P) * kFgPiece + lane;
#pragma unroll
    for (int u = 0; u < kFgLoads; ++u)
      if (c0 + 32 * u < n_chunks) buf[u] = __ldcs(src + c0 + 32 * u);
  };

  // The first two pieces go out before pdl_wait: under PDL they stream while the previous
  // kernel finishes and while this block computes its activation (2 blocks x 8 warps x 8 KiB
  // an SM: ~17 MB in flight across the GPU, all of o_proj at 8B shapes).
  uint4 a[kFgLoads], b[kFgLoads];
  if (Q > 0) load(a, 0);
  if (Q > 1) load(b, 1);
  pdl_trigger();
  pdl_wait();
  for (int t = 0; t < nt; ++t) {
    fg_produce_row<E>(p, t, reinterpret_cast<float*>(fg_x) + t * p.row_stride, &x_scale[t], red);
    __syncthreads();
  }

  const int64_t rs4 = p.row_stride / 4;
  float acc[NT], gate[NT];
#pragma unroll
  for (int t = 0; t < NT; ++t) acc[t] = gate[t] = 0.0f;

  auto finish_row = [&](int64_t q) {
#pragma unroll
    for (int t = 0; t < NT; ++t)
      for (int off = 16; off > 0; off >>= 1) acc[t] += __shfl_xor_sync(0xffffffffu, acc[t], off);
    const int64_t row = row_of(q);
    const float ws = (p.w_scale ? p.w_scale[row * p.w_scale_stride] : 1.0f) * weight_rebias<WT>();
    const float bias = p.bias ? p.bias[row] : 0.0f;
#pragma unroll
    for (int t = 0; t < NT; ++t) {
      const float v = acc[t] * x_scale[t < nt ? t : 0] * ws + bias;
      acc[t] = 0.0f;
      if (t >= nt) continue;
      if constexpr (PAIR) {
        if (row < n_units) {
          gate[t] = v;
        } else if (lane == t) {
          const float g = gate[t];
          p.y[t * p.y_width + row - n_units] = g / (1.0f + expf(-g)) * v;  // as silu_mul_act
        }
      } else if (lane == t) {
        float* yp = p.y + t * p.y_width + row;
        *yp = p.accumulate ? *yp + v : v;
      }
    }
  };
  auto compute = [&](const uint4 (&buf)[kFgLoads], int64_t q) {
    const int64_t pc = q % P;
    const int64_t c0 = pc * kFgPiece + lane;
#pragma unroll
    for (int u = 0; u < kFgLoads; ++u) {
      if (c0 + 32 * u >= n_chunks) break;
      float wf[E];
      decode_chunk<WT>(buf[u], wf);
      const int64_t x0 = (pc * kFgLoads + u) * (E / 4) * 32 + lane;
#pragma unroll
      for (int t = 0; t < NT; ++t)
        if (t < nt) acc[t] = dot_chunk<E, false>(wf, fg_x + t * rs4 + x0, 32, acc[t]);
    }
    if (pc == P - 1) finish_row(q);
  };

  // Two pieces in registers, named statically (a dynamically indexed pair would spill): one
  // is multiplied while the other is in flight.
  for (int64_t q = 0; q < Q; q += 2) {
    compute(a, q);
    if (q + 2 < Q) load(a, q + 2);
    if (q + 1 >= Q) break;
    compute(b, q + 1);
    if (q + 3 < Q) load(b, q + 3);
  }
}

// ---- Tensor-core variant (FP8 weights and FP8 activations, sm_89+) ----
// The CUDA-core kernel above spends ~76 instructions a lane per 16 weights (PRMT decode, 16
// FMAs, x reads): near the SM's issue rate at HBM speed. Here mma.sync m16n8k32 E4M3 takes the
// codes as they are (x: the activation's FP8 codes, up to 8 tokens as the N columns): a warp's
// unit is a 16-row tile (for silu_pair: 8 gate rows over their 8 up rows, so one lane holds a
// gate and its up value), streamed in 256-byte column pieces. Lane (g, c) loads 16 bytes of
// rows g and g + 8 at column 16 c of each 64-byte block; logical k = 4c + i is physical 16 c + i
// (a0/a1), k = 16 + 4c + i is 16 c + 4 + i (a2/a3), and the next 8 bytes feed a second mma: any
// k permutation is exact as long as x (b0/b1, from shared memory, row g = token) takes the same
// one. Products of E4M3 codes are exact; the tensor core accumulates them (as vLLM's CUTLASS
// FP8 GEMM, at every batch size), then acc * x_scale * w_scale (+ bias).

// Row t of the activation as FP8 codes into xc, its scale into *scale.
__device__ void fg_produce_codes(const FusedGemvParams& p, int t, uint8_t* xc, float* scale,
                                 float* red) {
  const int64_t n4 = p.n_in / 4;
  const float* xr = p.x + t * p.n_in;
  float r = 1.0f;
  if (p.norm_w != nullptr) {
    float ss = 0.0f;
    for (int64_t j = threadIdx.x; j < n4; j += blockDim.x) {
      const float4 v = *reinterpret_cast<const float4*>(xr + 4 * j);
      ss = fmaf(v.x, v.x, ss);
      ss = fmaf(v.y, v.y, ss);
      ss = fmaf(v.z, v.z, ss);
      ss = fmaf(v.w, v.w, ss);
    }
    r = rsqrtf(block_sum(ss, red) / float(p.n_in) + p.eps);  // red[0, 32)
  }
  const float4 rv = make_float4(r, r, r, r);
  auto value = [&](int64_t j) {
    float4 v = *reinterpret_cast<const float4*>(xr + 4 * j);
    if (p.norm_w != nullptr)  // (h * r) * w, as rms_norm_act
      v = fg_mul(fg_mul(v, rv), *reinterpret_cast<const float4*>(p.norm_w + 4 * j));
    return v;
  };
  float s = p.static_scale;
  if (p.quant == 1) {
    float m = 0.0f;
    for (int64_t j = threadIdx.x; j < n4; j += blockDim.x) {
      const float4 v = value(j);
      m = fmaxf(m, fmaxf(fmaxf(fabsf(v.x), fabsf(v.y)), fmaxf(fabsf(v.z), fabsf(v.w))));
    }
    s = fmaxf(block_max(m, red + 32) / kFp8Max, kMinDynScale);  // red[32, 64): see the callers
  }
  for (int64_t j = threadIdx.x; j < n4; j += blockDim.x) {
    const float4 v = value(j);
    *reinterpret_cast<uint32_t*>(xc + 4 * j) =
        uint32_t(f32_to_fp8(v.x / s)) | uint32_t(f32_to_fp8(v.y / s)) << 8 |
        uint32_t(f32_to_fp8(v.z / s)) << 16 | uint32_t(f32_to_fp8(v.w / s)) << 24;
  }
  if (threadIdx.x == 0) *scale = s;
}

constexpr int kTcTokens = 8;   // mma N
constexpr int kTcPad = 64;     // bytes after each x row: lanes of a quarter-warp hit distinct banks

template <bool PAIR>
__global__ void __launch_bounds__(kFgWarps * 32, 2) fused_gemv_tc_kernel(FusedGemvParams p) {
  extern __shared__ uint4 fg_xc[];  // nt rows of n_in + kTcPad code bytes
  // Sums and maxima reduce through separate halves (a thread may still read the sum while a
  // faster warp already stores its maximum); a barrier after each row does the same across rows.
  __shared__ float red[64];
  __shared__ float x_scale[kTcTokens];
  const int lane = threadIdx.x % 32, g = lane / 4, c = lane % 4;
  const int64_t gw = int64_t(blockIdx.x) * kFgWarps + threadIdx.x / 32;
  const int64_t nw = int64_t(gridDim.x) * kFgWarps;
  const int nt = int(min(int64_t(kTcTokens), p.n));
  const int64_t xstride = p.n_in + kTcPad;
  const int64_t n_units = PAIR ? p.n_out / 2 : p.n_out;
  const int64_t n_tiles = PAIR ? (n_units + 7) / 8 : (n_units + 15) / 16;
  const int64_t P = (p.n_in + 255) / 256;  // pieces of a tile
  const int64_t my_tiles = gw < n_tiles ? (n_tiles - gw + nw - 1) / nw : 0;
  const int64_t Q = my_tiles * P;
  const uint8_t* w8 = static_cast<const uint8_t*>(p.w);
  auto tile_of = [&](int64_t k) { return gw + (k / P) * nw; };
  // This lane's two weight rows in a tile (clamped to real rows; their results are dropped).
  auto rows_of = [&](int64_t tile, int64_t& lo, int64_t& hi) {
    if constexpr (PAIR) {
      const int64_t j = min(tile * 8 + g, n_units - 1);
      lo = j, hi = n_units + j;
    } else {
      lo = min(tile * 16 + g, p.n_out - 1), hi = min(tile * 16 + g + 8, p.n_out - 1);
    }
  };
  auto load = [&](uint4 (&buf)[kFgLoads], int64_t k) {
    int64_t lo, hi;
    rows_of(tile_of(k), lo, hi);
    const int64_t c0 = (k % P) * 256 + 16 * c;
#pragma unroll
    for (int j = 0; j < 4; ++j) {
      const int64_t col = c0 + 64 * j;
      const bool ok = col < p.n_in;
      buf[2 * j] = ok ? __ldcs(reinterpret_cast<const uint4*>(w8 + lo * p.n_in + col))
                      : make_uint4(0, 0, 0, 0);
      buf[2 * j + 1] = ok ? __ldcs(reinterpret_cast<const uint4*>(w8 + hi * p.n_in + col))
                          : make_uint4(0, 0, 0, 0);
    }
  };

  uint4 a[kFgLoads], b[kFgLoads];
  if (Q > 0) load(a, 0);
  if (Q > 1) load(b, 1);
  pdl_trigger();
  pdl_wait();
  uint8_t* xc = reinterpret_cast<uint8_t*>(fg_xc);
  for (int t = 0; t < nt; ++t) {
    fg_produce_codes(p, t, xc + t * xstride, &x_scale[t], red);
    __syncthreads();
  }

  float acc[4] = {0.0f, 0.0f, 0.0f, 0.0f};
  auto finish_tile = [&](int64_t tile) {
    const float* ws = p.w_scale;
    auto scaled = [&](float v, int64_t row, int t) {
      return v * x_scale[t] * (ws ? ws[row * p.w_scale_stride] : 1.0f) +
             (p.bias ? p.bias[row] : 0.0f);
    };
#pragma unroll
    for (int h = 0; h < 2; ++h) {  // tokens 2c, 2c + 1
      const int t = 2 * c + h;
      if (t >= nt) continue;
      if constexpr (PAIR) {
        const int64_t j = tile * 8 + g;
        if (j < n_units) {
          const float gate = scaled(acc[h], j, t), up = scaled(acc[2 + h], n_units + j, t);
          p.y[t * p.y_width + j] = gate / (1.0f + expf(-gate)) * up;  // as silu_mul_act
        }
      } else {
#pragma unroll
        for (int half = 0; half < 2; ++half) {
          const int64_t row = tile * 16 + g + 8 * half;
          if (row >= p.n_out) continue;
          const float v = scaled(acc[2 * half + h], row, t);
          float* yp = p.y + t * p.y_width + row;
          *yp = p.accumulate ? *yp + v : v;
        }
      }
    }
#pragma unroll
    for (int i = 0; i < 4; ++i) acc[i] = 0.0f;
  };
  auto compute = [&](const uint4 (&buf)[kFgLoads], int64_t k) {
    const int64_t c0 = (k % P) * 256 + 16 * c;
#pragma unroll
    for (int j = 0; j < 4; ++j) {
      const int64_t col = c0 + 64 * j;
      uint4 xv = make_uint4(0, 0, 0, 0);  // past the row or a token not in the batch: 0
      if (col < p.n_in && g < nt) xv = *reinterpret_cast<const uint4*>(xc + g * xstride + col);
      const uint4 lo = buf[2 * j], hi = buf[2 * j + 1];
      mma::mma_e4m3(acc, lo.x, hi.x, lo.y, hi.y, xv.x, xv.y);
      mma::mma_e4m3(acc, lo.z, hi.z, lo.w, hi.w, xv.z, xv.w);
    }
    if (k % P == P - 1) finish_tile(tile_of(k));
  };
  for (int64_t k = 0; k < Q; k += 2) {
    compute(a, k);
    if (k + 2 < Q) load(a, k + 2);
    if (k + 1 >= Q) break;
    compute(b, k + 1);
    if (k + 3 < Q) load(b, k + 3);
  }
}

int g_tc_gemv = 0;  // set_tc_gemv

bool tc_gemv_on() {
  static const bool env = env_switch("QINFER_CUDA_TC_GEMV", 0) != 0;
  static const bool arch = compute_capability() >= 89;
  return arch && (g_tc_gemv == 2 || (g_tc_gemv == 0 && env));
}

int fused_gemv_mode() {
  static const int mode = env_switch("QINFER_CUDA_FUSED_GEMV", 1);
  return mode;
}

// Blocks in the persistent grid: as many as fit on the GPU (at most 2 an SM, the launch
// bounds), no more than there are 8-unit groups.
template <typename K>
int grid_blocks(K kernel, size_t smem, int64_t n_units) {
  static std::mutex mu;
  static std::map<std::pair<const void*, size_t>, int> occ;
  int per_sm = 0;
  {
    std::lock_guard<std::mutex> lock(mu);
    auto key = std::make_pair(reinterpret_cast<const void*>(kernel), smem);
    auto it = occ.find(key);
    if (it == occ.end()) {
      if (smem > 48 * 1024)
        QINFER_CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                               int(kFgSmemMax)));
      QINFER_CUDA_CHECK(
          cudaOccupancyMaxActiveBlocksPerMultiprocessor(&per_sm, kernel, kFgWarps * 32, smem));
      it = occ.emplace(key, std::max(per_sm, 1)).first;
    }
    per_sm = it->second;
  }
  const int64_t want = (n_units + kFgWarps - 1) / kFgWarps;
  return int(std::clamp<int64_t>(want, 1, int64_t(per_sm) * sm_count()));
}

template <typename WT, int NT, bool PAIR>
void launch_fused(const FusedGemvParams& p) {
  const auto kernel = fused_gemv_kernel<WT, NT, PAIR>;
  const size_t smem = size_t(NT) * size_t(p.row_stride) * sizeof(float);
  const int64_t n_units = PAIR ? p.n_out / 2 : p.n_out;
  const int blocks = grid_blocks(kernel, smem, n_units);
  launch_pdl_smem(kernel, dim3(unsigned(blocks)), dim3(kFgWarps * 32), smem, p);
}

template <typename WT, bool PAIR>
void launch_fused_nt(const FusedGemvParams& p) {
  if (p.n <= 1) return launch_fused<WT, 1, PAIR>(p);
  if (p.n <= 2) return launch_fused<WT, 2, PAIR>(p);
  launch_fused<WT, 4, PAIR>(p);
}

template <bool PAIR>
void launch_fused_wt(DType wt, const FusedGemvParams& p) {
  switch (wt) {
    case DType::kF8E4M3: return launch_fused_nt<uint8_t, PAIR>(p);
    case DType::kBF16: return launch_fused_nt<__nv_bfloat16, PAIR>(p);
    case DType::kF16: return launch_fused_nt<__half, PAIR>(p);
    default: return launch_fused_nt<float, PAIR>(p);
  }
}

bool aligned16(const void* p) { return reinterpret_cast<uintptr_t>(p) % 16 == 0; }

}  // namespace

bool fused_gemv_enabled() { return fused_gemv_mode() != 0; }

void set_tc_gemv(int mode) {
  QINFER_CHECK(mode >= 0 && mode <= 2, "set_tc_gemv: ", mode,
               " is not 0 (QINFER_CUDA_TC_GEMV), 1 (CUDA cores) or 2 (tensor cores)");
  g_tc_gemv = mode;
}

bool tc_gemv_available() { return compute_capability() >= 89; }

bool linear_fused(const LinearWeight& w, const FusedSrc& src, int64_t n, float* y,
                  bool accumulate, bool silu_pair) {
  if (n <= 0 || n > kFusedGemvMaxRows || w.n_out == 0) return false;
  const DType wt = w.weight.dtype();
  const bool fp8 = wt == DType::kF8E4M3;
  if (!(fp8 || wt == DType::kBF16 || wt == DType::kF16 || wt == DType::kF32)) return false;
  if (w.n_in % 16 != 0 || !aligned16(w.weight.data()) || !aligned16(src.x)) return false;
  if (silu_pair && (w.n_out % 2 != 0 || accumulate)) return false;
  const float* norm_w = nullptr;
  if (src.norm_weight != nullptr) {
    check_cuda_tensor(*src.norm_weight, "linear_fused", "norm weight");
    QINFER_CHECK(src.norm_weight->dtype() == DType::kF32 && src.norm_weight->numel() == w.n_in,
                 "linear_fused ", w.name, ": norm weight must be F32 (", w.n_in, ")");
    norm_w = src.norm_weight->data_as<float>();
    if (!aligned16(norm_w)) return false;
  }
  const ActSpec spec = act_spec(w, n);
  if (spec.layout != ActLayout::kSlotF32) return false;
  const int64_t nt = n <= 1 ? 1 : n <= 2 ? 2 : 4;
  if (size_t(nt) * size_t(spec.row_stride) * sizeof(float) > kFgSmemMax) return false;
  FusedGemvParams p{};
  p.w = w.weight.data();
  const bool per_channel = fp8 && w.weight_scale.numel() == w.n_out && w.n_out != 1;
  p.w_scale = fp8 ? w.weight_scale.data_as<float>() : nullptr;
  p.w_scale_stride = per_channel ? 1 : 0;
  p.bias = w.bias.defined() ? w.bias.data_as<float>() : nullptr;
  p.y = y;
  p.n = n;
  p.n_in = w.n_in;
  p.n_out = w.n_out;
  p.row_stride = spec.row_stride;
  p.y_width = silu_pair ? w.n_out / 2 : w.n_out;
  p.accumulate = accumulate ? 1 : 0;
  p.x = src.x;
  p.norm_w = norm_w;
  p.eps = src.eps;
  p.quant = spec.quant == ActQuant::kDynamicPerToken  ? 1
            : spec.quant == ActQuant::kStaticPerTensor ? 2
                                                       : 0;
  p.static_scale = spec.static_scale;
  if (fp8 && p.quant != 0 && tc_gemv_on()) {
    const size_t smem = size_t(n) * size_t(w.n_in + kTcPad);
    if (smem <= kFgSmemMax) {
      const int64_t n_units = silu_pair ? w.n_out / 2 : w.n_out;
      const int64_t tiles = silu_pair ? (n_units + 7) / 8 : (n_units + 15) / 16;
      const auto kernel = silu_pair ? fused_gemv_tc_kernel<true> : fused_gemv_tc_kernel<false>;
      const int blocks = grid_blocks(kernel, smem, tiles);
      launch_pdl_smem(kernel, dim3(unsigned(blocks)), dim3(kFgWarps * 32), smem, p);
      return true;
    }
  }
  if (silu_pair)
    launch_fused_wt<true>(wt, p);
  else
    launch_fused_wt<false>(wt, p);
  return true;
}

}  // namespace qinfer::ops::cuda

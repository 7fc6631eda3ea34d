// Memory-bound pieces of the linear layer: activation quantization (vLLM's FP8 formulas) and
// the GEMV / skinny GEMM that reads each weight byte once for up to 8 activation rows.
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_fp8.h>

#include <algorithm>
#include <type_traits>

#include "ops/cuda/cuda_common.h"
#include "ops/cuda/fp8_device.cuh"
#include "ops/cuda/linear_cuda.h"

namespace qinfer::ops::cuda {
namespace {

// One block per row.
// Writes the quantized row as FP8 codes (for the tensor cores) or, when xf is set, as the
// f32 values of those codes (exact), which the GEMV reads without decoding.
__global__ void quantize_rows_kernel(const float* __restrict__ x, int64_t k, float static_scale,
                                     uint8_t* __restrict__ xq, float* __restrict__ xf,
                                     float* __restrict__ s) {
  __shared__ float red[32];
  const float* row = x + blockIdx.x * k;
  float scale = static_scale;
  if (scale <= 0.0f) {
    float m = 0.0f;
    for (int64_t i = threadIdx.x; i < k; i += blockDim.x) m = fmaxf(m, fabsf(row[i]));
    scale = fmaxf(block_max(m, red) / kFp8Max, kMinDynScale);
  }
  const Fp8Quant q(scale, static_scale > 0.0f);
  if (xf != nullptr) {
    float* out = xf + blockIdx.x * k;
    for (int64_t i = threadIdx.x; i < k; i += blockDim.x)
      out[i] = fp8x2_to_f32(uint16_t(q(row[i]))).x;
  } else {
    uint8_t* out = xq + blockIdx.x * k;
    for (int64_t i = threadIdx.x; i < k; i += blockDim.x) out[i] = q(row[i]);
  }
  if (threadIdx.x == 0) s[blockIdx.x] = scale;
}

__global__ void split_bf16_kernel(const float* __restrict__ x, int64_t count,
                                  __nv_bfloat16* __restrict__ hi, __nv_bfloat16* __restrict__ lo) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < count;
       i += int64_t(gridDim.x) * blockDim.x) {
    const __nv_bfloat16 h = __float2bfloat16_rn(x[i]);
    hi[i] = h;
    if (lo != nullptr) lo[i] = __float2bfloat16_rn(x[i] - __bfloat162float(h));
  }
}

__global__ void expand_kernel(const float* scalar, float* out, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x)
    out[i] = *scalar;
}

__global__ void fill_kernel(float* s, int64_t n, float v) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x)
    s[i] = v;
}

struct GemvParams {
  const void* w;
  const void* x;
  const float* x_scale;
  const float* w_scale;
  int w_scale_stride;
  const float* bias;
  float* y;
  int64_t n, n_in, n_out;
};

constexpr int kGemvWarps = 8;   // warps per block; one warp per output row
constexpr int kGemvLoads = 8;   // 16-byte weight loads in flight per lane (128 B)

// One warp computes output row o for NT activation rows (blockIdx.y picks which NT). VEC:
// n_in % 16 == 0, so every row starts 16-byte aligned and chunks need no tail handling.
// The weight bytes are loaded raw (kGemvLoads x 16 B per lane before any is used: enough
// bytes in flight to cover HBM latency) and decoded just before their FMAs; weights stream
// past L1 (__ldcs) so that L1 keeps the activation rows every warp of the block re-reads.
template <typename WT, typename XT, int NT, bool VEC>
__global__ void __launch_bounds__(kGemvWarps * 32)
    gemv_kernel(GemvParams p) {
  const int lane = threadIdx.x % 32;
  const int64_t o = int64_t(blockIdx.x) * kGemvWarps + threadIdx.x / 32;
  if (o >= p.n_out) return;
  const int64_t t0 = int64_t(blockIdx.y) * NT;
  const int nt = int(min(int64_t(NT), p.n - t0));
  const WT* w = static_cast<const WT*>(p.w) + o * p.n_in;
  const XT* x = static_cast<const XT*>(p.x) + t0 * p.n_in;
  float acc[NT];
#pragma unroll
  for (int t = 0; t < NT; ++t) acc[t] = 0.0f;

  if constexpr (VEC) {
    constexpr int E = kChunkElems<WT>;
    const int64_t n_chunks = p.n_in / E;
    const uint4* wrow = reinterpret_cast<const uint4*>(w);
    for (int64_t c0 = lane; c0 < n_chunks; c0 += 32 * kGemvLoads) {
      uint4 raw[kGemvLoads];
#pragma unroll
      for (int u = 0; u < kGemvLoads; ++u) {
        const int64_t ch = c0 + 32 * u;
        if (ch < n_chunks) raw[u] = __ldcs(wrow + ch);
      }
#pragma unroll
      for (int u = 0; u < kGemvLoads; ++u) {
        const int64_t ch = c0 + 32 * u;
        if (ch >= n_chunks) break;
        float wf[E];
        decode_chunk<WT>(raw[u], wf);
#pragma unroll
        for (int t = 0; t < NT; ++t) {
          if (t < nt) {
            const float4* xp = reinterpret_cast<const float4*>(x + t * p.n_in + ch * E);
            acc[t] = dot_chunk<E, false>(wf, xp, 1, acc[t]);
          }
        }
      }
    }
  } else {
    for (int64_t k = lane; k < p.n_in; k += 32) {
      const float wv = load1<WT>(w + k);
#pragma unroll
      for (int t = 0; t < NT; ++t)
        if (t < nt) acc[t] = fmaf(wv, load1<XT>(x + t * p.n_in + k), acc[t]);
    }
  }
#pragma unroll
  for (int t = 0; t < NT; ++t)
    for (int off = 16; off > 0; off >>= 1) acc[t] += __shfl_xor_sync(0xffffffffu, acc[t], off);
  if (lane == 0) {
    const float ws = (p.w_scale ? p.w_scale[o * p.w_scale_stride] : 1.0f) * weight_rebias<WT>();
    const float b = p.bias ? p.bias[o] : 0.0f;
#pragma unroll
    for (int t = 0; t < NT; ++t) {
      if (t < nt) {
        const float xs = p.x_scale ? p.x_scale[t0 + t] : 1.0f;
        p.y[(t0 + t) * p.n_out + o] = acc[t] * xs * ws + b;
      }
    }
  }
}

template <typename WT, typename XT, int NT>
void launch_gemv_nt(const GemvParams& p, bool vec, cudaStream_t stream) {
  dim3 grid(unsigned((p.n_out + kGemvWarps - 1) / kGemvWarps), unsigned((p.n + NT - 1) / NT));
  if (vec)
    gemv_kernel<WT, XT, NT, true><<<grid, kGemvWarps * 32, 0, stream>>>(p);
  else
    gemv_kernel<WT, XT, NT, false><<<grid, kGemvWarps * 32, 0, stream>>>(p);
  QINFER_CUDA_CHECK_LAUNCH();
}

template <typename WT, typename XT>
void launch_gemv(const GemvParams& p, bool vec, cudaStream_t stream) {
  if (p.n <= 1) return launch_gemv_nt<WT, XT, 1>(p, vec, stream);
  if (p.n <= 2) return launch_gemv_nt<WT, XT, 2>(p, vec, stream);
  if (p.n <= 4) return launch_gemv_nt<WT, XT, 4>(p, vec, stream);
  launch_gemv_nt<WT, XT, 8>(p, vec, stream);
}

template <typename WT>
void launch_gemv_w(const GemvParams& p, bool vec, cudaStream_t stream) {
  launch_gemv<WT, float>(p, vec, stream);
}

// The decode path in one kernel: a persistent grid whose blocks first stage the (up to 8)
// activation rows in shared memory, quantizing them on the way when the layer is W8A8
// (quant_mode 1: dynamic per-token scale from the row's absmax, 2: the static scale), then
// walk output rows one warp each, like gemv_kernel. Saves the separate quantization kernel,
// its launch and its round trip through global memory; x is read from L2 once per block.
struct FusedParams {
  GemvParams g;
  int quant_mode;      // 0 none, 1 dynamic per token, 2 static
  float static_scale;
};

// Where element i of an activation row lives in shared memory. Lane l of a warp consumes the
// 16-byte weight chunks ch = l + 32 u (E elements each) and needs x[ch E .. ch E + E); in
// row-major order those float4 reads are E * 4 bytes apart across the warp (4- to 8-way bank
// conflicts, measured as the GEMV's bottleneck). Stored as [ch / 32][e = 0 .. E/4)[lane][4],
// the 32 lanes' reads of one e are 512 contiguous bytes.
template <typename WT>
__device__ __forceinline__ int64_t x_slot(int64_t i) {
  constexpr int E = kChunkElems<WT>;
  const int64_t ch = i / E;
  const int64_t e = (i % E) / 4;
  return (((ch >> 5) * (E / 4) + e) * 32 + (ch & 31)) * 4 + (i & 3);
}

template <typename WT, int NT>
__global__ void __launch_bounds__(kGemvWarps * 32)
    gemv_fused_kernel(FusedParams fp) {
  extern __shared__ float4 smem4[];
  float* xs = reinterpret_cast<float*>(smem4);  // (nt, n_in)
  __shared__ float red[32];
  __shared__ float row_scale[NT];
  const GemvParams& p = fp.g;
  const int nt = int(p.n);
  constexpr int E = kChunkElems<WT>;
  const int64_t n_chunks = p.n_in / E;
  const int64_t xrow = (n_chunks + 31) / 32 * 32 * E;  // floats per staged row (x_slot)
  for (int t = 0; t < nt; ++t) {
    const float* xr = static_cast<const float*>(p.x) + int64_t(t) * p.n_in;
    float s = 1.0f;
    if (fp.quant_mode == 1) {
      float m = 0.0f;
      for (int64_t i = threadIdx.x; i < p.n_in; i += blockDim.x) m = fmaxf(m, fabsf(xr[i]));
      s = fmaxf(block_max(m, red) / kFp8Max, kMinDynScale);
      __syncthreads();  // red is reused by the next row
    } else if (fp.quant_mode == 2) {
      s = fp.static_scale;
    }
    float* dst = xs + int64_t(t) * xrow;
    const Fp8Quant q(s, fp.quant_mode == 2);
    for (int64_t i = threadIdx.x; i < p.n_in; i += blockDim.x)
      dst[x_slot<WT>(i)] = fp.quant_mode ? fp8x2_to_f32(uint16_t(q(xr[i]))).x : xr[i];
    if (threadIdx.x == 0) row_scale[t] = s;
  }
  __syncthreads();

  const int lane = threadIdx.x % 32;
  for (int64_t o = int64_t(blockIdx.x) * kGemvWarps + threadIdx.x / 32; o < p.n_out;
       o += int64_t(gridDim.x) * kGemvWarps) {
    const uint4* wrow = reinterpret_cast<const uint4*>(static_cast<const WT*>(p.w) + o * p.n_in);
    float acc[NT];
#pragma unroll
    for (int t = 0; t < NT; ++t) acc[t] = 0.0f;
    for (int64_t c0 = lane; c0 < n_chunks; c0 += 32 * kGemvLoads) {
      uint4 raw[kGemvLoads];
#pragma unroll
      for (int u = 0; u < kGemvLoads; ++u) {
        const int64_t ch = c0 + 32 * u;
        if (ch < n_chunks) raw[u] = __ldcs(wrow + ch);
      }
#pragma unroll
      for (int u = 0; u < kGemvLoads; ++u) {
        const int64_t ch = c0 + 32 * u;
        if (ch >= n_chunks) break;
        float wf[E];
        decode_chunk<WT>(raw[u], wf);
#pragma unroll
        for (int t = 0; t < NT; ++t) {
          if (t < nt) {
            // Lane-interleaved layout (x_slot): the warp's 32 float4 reads are contiguous.
            const float4* xp = reinterpret_cast<const float4*>(xs + t * xrow) +
                               (ch >> 5) * (E / 4) * 32 + lane;
            acc[t] = dot_chunk<E, false>(wf, xp, 32, acc[t]);
          }
        }
      }
    }
#pragma unroll
    for (int t = 0; t < NT; ++t)
      for (int off = 16; off > 0; off >>= 1) acc[t] += __shfl_xor_sync(0xffffffffu, acc[t], off);
    if (lane == 0) {
      const float ws = (p.w_scale ? p.w_scale[o * p.w_scale_stride] : 1.0f) * weight_rebias<WT>();
      const float b = p.bias ? p.bias[o] : 0.0f;
#pragma unroll
      for (int t = 0; t < NT; ++t)
        if (t < nt) p.y[int64_t(t) * p.n_out + o] = acc[t] * row_scale[t] * ws + b;
    }
  }
}

template <typename WT, int NT>
void launch_fused_nt(const FusedParams& fp, cudaStream_t stream) {
  constexpr int E = kChunkElems<WT>;
  const size_t smem = size_t(fp.g.n) * size_t((fp.g.n_in / E + 31) / 32 * 32 * E) * sizeof(float);
  auto* kernel = gemv_fused_kernel<WT, NT>;
  static int configured_smem = 0;  // per instantiation
  if (smem > 48 * 1024 && int(smem) > configured_smem) {
    QINFER_CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                           int(smem)));
    configured_smem = int(smem);
  }
  int per_sm = 0;
  QINFER_CUDA_CHECK(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&per_sm, kernel,
                                                                  kGemvWarps * 32, smem));
  const int64_t want = (fp.g.n_out + kGemvWarps - 1) / kGemvWarps;
  const int64_t grid = std::clamp<int64_t>(int64_t(std::max(per_sm, 1)) * sm_count(), 1, want);
  kernel<<<unsigned(grid), kGemvWarps * 32, smem, stream>>>(fp);
  QINFER_CUDA_CHECK_LAUNCH();
}

template <typename WT>
void launch_fused(const FusedParams& fp, cudaStream_t stream) {
  if (fp.g.n <= 1) return launch_fused_nt<WT, 1>(fp, stream);
  if (fp.g.n <= 2) return launch_fused_nt<WT, 2>(fp, stream);
  if (fp.g.n <= 4) return launch_fused_nt<WT, 4>(fp, stream);
  launch_fused_nt<WT, 8>(fp, stream);
}

__global__ void scale_bias_kernel(float* y, int64_t n, int64_t n_out, const float* x_scale,
                                  const float* w_scale, int w_stride, const float* bias) {
  const int64_t total = n * n_out;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < total;
       i += int64_t(gridDim.x) * blockDim.x) {
    const int64_t r = i / n_out, o = i % n_out;
    float v = y[i];
    if (x_scale) v *= x_scale[r];
    if (w_scale) v *= w_scale[o * w_stride];
    if (bias) v += bias[o];
    y[i] = v;
  }
}

unsigned grid_for(int64_t count, int threads) {
  return unsigned(std::clamp<int64_t>((count + threads - 1) / threads, 1, 65535));
}

}  // namespace

void quantize_fp8_rows(const float* x, int64_t n, int64_t k, float static_scale, uint8_t* x_q,
                       float* x_f32, float* s, cudaStream_t stream) {
  if (n == 0) return;
  // Few rows (decode): wide blocks so that one row's reduction is not a serial tail.
  const int threads = n < 64 ? 1024 : 256;
  quantize_rows_kernel<<<unsigned(n), threads, 0, stream>>>(x, k, static_scale, x_q, x_f32, s);
  QINFER_CUDA_CHECK_LAUNCH();
}

void split_f32_to_bf16x2(const float* x, int64_t count, uint16_t* hi, uint16_t* lo,
                         cudaStream_t stream) {
  if (count == 0) return;
  split_bf16_kernel<<<grid_for(count, 256), 256, 0, stream>>>(
      x, count, reinterpret_cast<__nv_bfloat16*>(hi), reinterpret_cast<__nv_bfloat16*>(lo));
  QINFER_CUDA_CHECK_LAUNCH();
}

void fill_f32(float* s, int64_t n, float v, cudaStream_t stream) {
  if (n == 0) return;
  fill_kernel<<<grid_for(n, 256), 256, 0, stream>>>(s, n, v);
  QINFER_CUDA_CHECK_LAUNCH();
}

void expand_scalar_f32(const float* scalar, float* out, int64_t n, cudaStream_t stream) {
  if (n == 0) return;
  expand_kernel<<<grid_for(n, 256), 256, 0, stream>>>(scalar, out, n);
  QINFER_CUDA_CHECK_LAUNCH();
}

void gemv(const GemvArgs& a, cudaStream_t stream) {
  if (a.n == 0 || a.n_out == 0) return;
  GemvParams p{a.w, a.x, a.x_scale, a.w_scale, a.w_scale_per_channel ? 1 : 0,
               a.bias, a.y, a.n, a.n_in, a.n_out};
  // 16-element chunks need every row 16-byte aligned for both operands.
  const bool vec = a.n_in % 16 == 0 && reinterpret_cast<uintptr_t>(a.w) % 16 == 0 &&
                   reinterpret_cast<uintptr_t>(a.x) % 16 == 0;
  switch (a.w_dtype) {
    case DType::kF8E4M3: return launch_gemv_w<uint8_t>(p, vec, stream);
    case DType::kBF16: return launch_gemv_w<__nv_bfloat16>(p, vec, stream);
    case DType::kF16: return launch_gemv_w<__half>(p, vec, stream);
    case DType::kF32: return launch_gemv_w<float>(p, vec, stream);
    default: QINFER_FAIL("gemv: unsupported weight dtype ", dtype_name(a.w_dtype), " on cuda");
  }
}

bool gemv_fused(const GemvArgs& a, int quant_mode, float static_scale, cudaStream_t stream) {
  // Staged rows are padded to whole 32-chunk groups: at most 512 floats more per row.
  const size_t smem = size_t(a.n) * size_t(a.n_in + 512) * sizeof(float);
  const bool vec = a.n_in % 16 == 0 && reinterpret_cast<uintptr_t>(a.w) % 16 == 0;
  if (a.n < 1 || a.n > 8 || !vec || smem > size_t(160) << 10 || a.n_out == 0) return false;
  GemvParams g{a.w, a.x, nullptr, a.w_scale, a.w_scale_per_channel ? 1 : 0,
               a.bias, a.y, a.n, a.n_in, a.n_out};
  const FusedParams fp{g, quant_mode, static_scale};
  switch (a.w_dtype) {
    case DType::kF8E4M3: launch_fused<uint8_t>(fp, stream); return true;
    case DType::kBF16: launch_fused<__nv_bfloat16>(fp, stream); return true;
    case DType::kF16: launch_fused<__half>(fp, stream); return true;
    case DType::kF32: launch_fused<float>(fp, stream); return true;
    default: return false;
  }
}

void scale_bias_epilogue(float* y, int64_t n, int64_t n_out, const float* x_scale,
                         const float* w_scale, bool w_scale_per_channel, const float* bias,
                         cudaStream_t stream) {
  if (n == 0 || n_out == 0 || (!x_scale && !w_scale && !bias)) return;
  scale_bias_kernel<<<grid_for(n * n_out, 256), 256, 0, stream>>>(
      y, n, n_out, x_scale, w_scale, w_scale_per_channel ? 1 : 0, bias);
  QINFER_CUDA_CHECK_LAUNCH();
}

}  // namespace qinfer::ops::cuda

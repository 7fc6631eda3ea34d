// Device helpers shared by the CUDA kernels that read or write FP8 E4M3 and decode weight
// chunks: vLLM's quantization formula, the PRMT-based FP8 decode, 16-byte chunk decoders per
// weight dtype, block reductions (sum, max). Included by .cu files only.
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_fp8.h>

#include <cstdint>
#include <type_traits>

namespace qinfer::ops::cuda {
namespace {

constexpr float kFp8Max = 448.0f;
// vLLM's floor on dynamic scales: 1 / (448 * 512).
constexpr float kMinDynScale = 1.0f / (448.0f * 512.0f);

__device__ __forceinline__ uint8_t f32_to_fp8(float v) {
  v = fminf(fmaxf(v, -kFp8Max), kFp8Max);
  return uint8_t(__nv_cvt_float_to_fp8(v, __NV_SATFINITE, __NV_E4M3));
}

// E4M3 code of x under scale s as vLLM's quantization kernels form it (docs/FORMATS.md): a true
// division x / s for dynamic scales, x * (1 / s) for a static per-tensor scale, whose kernel
// inverts the scale once. The two differ in the last bit of the quotient, enough to move an
// element to the neighbouring code now and then.
struct Fp8Quant {
  float s, inv;
  bool recip;
  __device__ __forceinline__ Fp8Quant(float scale, bool static_scale)
      : s(scale), inv(1.0f / scale), recip(static_scale) {}
  __device__ __forceinline__ uint8_t operator()(float x) const {
    return f32_to_fp8(recip ? x * inv : x / s);
  }
};

__device__ __forceinline__ float2 fp8x2_to_f32(uint16_t v) {
  __half2_raw h = __nv_cvt_fp8x2_to_halfraw2(__nv_fp8x2_storage_t(v), __NV_E4M3);
  return __half22float2(*reinterpret_cast<__half2*>(&h));
}

// Sum over the block (blockDim.x a multiple of 32, at most 1024); every thread gets it.
__device__ __forceinline__ float block_sum(float v, float* red) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  if (lane == 0) red[warp] = v;
  __syncthreads();
  if (warp == 0) {
    v = lane < int(blockDim.x / 32) ? red[lane] : 0.0f;
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    if (lane == 0) red[0] = v;
  }
  __syncthreads();
  return red[0];
}

__device__ __forceinline__ float block_max(float v, float* red) {
  for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  if (lane == 0) red[warp] = v;
  __syncthreads();
  if (warp == 0) {
    v = lane < int(blockDim.x / 32) ? red[lane] : 0.0f;
    for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
    if (lane == 0) red[0] = v;
  }
  __syncthreads();
  return red[0];
}

// ss + the squares of x's elements, group by group, x y z w: the order of the norm producers
// (fused.cu) and of the GEMV's prologue (gemv_bulk.cu).
template <int V>
__device__ __forceinline__ float add_squares(const float4 (&x)[V], float ss) {
#pragma unroll
  for (int k = 0; k < V; ++k) {
    ss = fmaf(x[k].x, x[k].x, ss);
    ss = fmaf(x[k].y, x[k].y, ss);
    ss = fmaf(x[k].z, x[k].z, ss);
    ss = fmaf(x[k].w, x[k].w, ss);
  }
  return ss;
}

__device__ __forceinline__ float4 operator*(float4 a, float4 b) {
  return make_float4(a.x * b.x, a.y * b.y, a.z * b.z, a.w * b.w);
}

// silu(a) * u: silu_mul_act's and the silu_pair GEMV's (gemv_bulk.cu) formula.
__device__ __forceinline__ float silu_times(float a, float u) {
  return a / (1.0f + expf(-a)) * u;
}

// Four values' FP8 codes, first in the lowest byte.
__device__ __forceinline__ uint32_t quant4(const Fp8Quant& q, float4 v) {
  return uint32_t(q(v.x)) | uint32_t(q(v.y)) << 8 | uint32_t(q(v.z)) << 16 |
         uint32_t(q(v.w)) << 24;
}

// FP8 E4M3 -> f32 without the conversion unit: two bytes are moved into the top of two f16
// lanes with PRMT and shifted so that the e4m3 exponent/mantissa land in f16's fields; the f16
// value is the fp8 value times 2^-8 for normals and subnormals alike (e4m3 bias 7, f16 bias
// 15). The 2^8 is folded into the row's scale (kFp8Rebias). HADD2.F32 widens f16 to f32.
constexpr float kFp8Rebias = 256.0f;

__device__ __forceinline__ void fp8x4_to_f32_scaled(uint32_t v, float* f) {
  const uint32_t lo = __byte_perm(v, 0u, 0x1404), hi = __byte_perm(v, 0u, 0x3424);
  const uint32_t hl = ((lo >> 1) & 0x3F803F80u) | (lo & 0x80008000u);
  const uint32_t hh = ((hi >> 1) & 0x3F803F80u) | (hi & 0x80008000u);
  const float2 a = __half22float2(*reinterpret_cast<const __half2*>(&hl));
  const float2 b = __half22float2(*reinterpret_cast<const __half2*>(&hh));
  f[0] = a.x, f[1] = a.y, f[2] = b.x, f[3] = b.y;
}

// Elements of WT in one 16-byte load, and their decoding to f32 (FP8: times 2^-8).
template <typename WT>
constexpr int kChunkElems = int(16 / sizeof(WT));

template <typename WT>
__device__ __forceinline__ void decode_chunk(const uint4& v, float* f);

template <>
__device__ __forceinline__ void decode_chunk<uint8_t>(const uint4& v, float* f) {
  fp8x4_to_f32_scaled(v.x, f);
  fp8x4_to_f32_scaled(v.y, f + 4);
  fp8x4_to_f32_scaled(v.z, f + 8);
  fp8x4_to_f32_scaled(v.w, f + 12);
}

template <>
__device__ __forceinline__ void decode_chunk<__nv_bfloat16>(const uint4& v, float* f) {
  const uint32_t w[4] = {v.x, v.y, v.z, v.w};
#pragma unroll
  for (int i = 0; i < 4; ++i) {
    f[2 * i] = __uint_as_float(w[i] << 16);
    f[2 * i + 1] = __uint_as_float(w[i] & 0xffff0000u);
  }
}

template <>
__device__ __forceinline__ void decode_chunk<__half>(const uint4& v, float* f) {
  const __half2* h = reinterpret_cast<const __half2*>(&v);
#pragma unroll
  for (int i = 0; i < 4; ++i) {
    const float2 a = __half22float2(h[i]);
    f[2 * i] = a.x, f[2 * i + 1] = a.y;
  }
}

template <>
__device__ __forceinline__ void decode_chunk<float>(const uint4& v, float* f) {
  f[0] = __uint_as_float(v.x), f[1] = __uint_as_float(v.y);
  f[2] = __uint_as_float(v.z), f[3] = __uint_as_float(v.w);
}

template <typename T>
__device__ __forceinline__ float load1(const T* p);
template <>
__device__ __forceinline__ float load1<uint8_t>(const uint8_t* p) {
  float f[4];
  fp8x4_to_f32_scaled(uint32_t(*p), f);
  return f[0];
}

// Weight decoders above return value / kFp8Rebias for FP8 and the value for the rest.
template <typename T>
constexpr float weight_rebias() {
  return std::is_same_v<T, uint8_t> ? kFp8Rebias : 1.0f;
}
template <>
__device__ __forceinline__ float load1<__nv_bfloat16>(const __nv_bfloat16* p) {
  return __bfloat162float(*p);
}
template <>
__device__ __forceinline__ float load1<__half>(const __half* p) { return __half2float(*p); }
template <>
__device__ __forceinline__ float load1<float>(const float* p) { return *p; }

// acc + the dot product of one decoded 16-byte weight chunk (E weights in wf) with its E
// activations, read as E / 4 float4s `stride` float4s apart (1: row-major, 32: the GEMVs'
// lane-interleaved layouts). kLdg reads global memory through the read-only path.
template <int E, bool kLdg>
__device__ __forceinline__ float dot_chunk(const float* wf, const float4* xp, int stride,
                                           float acc) {
#pragma unroll
  for (int e = 0; e < E / 4; ++e) {
    float4 xv;
    if constexpr (kLdg)
      xv = __ldg(xp + e * stride);
    else
      xv = xp[e * stride];
    acc = fmaf(wf[4 * e], xv.x, acc);
    acc = fmaf(wf[4 * e + 1], xv.y, acc);
    acc = fmaf(wf[4 * e + 2], xv.z, acc);
    acc = fmaf(wf[4 * e + 3], xv.w, acc);
  }
  return acc;
}

}  // namespace
}  // namespace qinfer::ops::cuda

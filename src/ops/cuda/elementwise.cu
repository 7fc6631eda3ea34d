// Row-wise and elementwise ops of the Llama block on the GPU: embedding, rms_norm, rope,
// silu_mul, add. Contracts: src/ops/<op>.h (F32 activations, fp32 arithmetic).
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <algorithm>

#include "ops/cuda/cuda_common.h"
#include "ops/cuda/cuda_ops.h"
#include "ops/cuda/fp8_device.cuh"

namespace qinfer::ops::cuda {
namespace {

unsigned grid_for(int64_t count, int threads) {
  return unsigned(std::clamp<int64_t>((count + threads - 1) / threads, 1, 65535 * 16));
}

template <typename T>
__device__ __forceinline__ float to_f32(T v);
template <>
__device__ __forceinline__ float to_f32<float>(float v) { return v; }
template <>
__device__ __forceinline__ float to_f32<__nv_bfloat16>(__nv_bfloat16 v) {
  return __bfloat162float(v);
}
template <>
__device__ __forceinline__ float to_f32<__half>(__half v) { return __half2float(v); }

// One block per output row. An id outside [0, n_row) yields a NaN row (never a wild read);
// host-side ids are validated before upload.
template <typename T>
__global__ void embedding_kernel(const T* __restrict__ table, const int32_t* __restrict__ ids,
                                 int64_t n_row, int64_t d, float* __restrict__ out) {
  const int64_t id = ids[blockIdx.x];
  float* o = out + blockIdx.x * d;
  const bool ok = id >= 0 && id < n_row;
  const T* row = table + (ok ? id : 0) * d;
  const float nan = __int_as_float(0x7fc00000);
  for (int64_t i = threadIdx.x; i < d; i += blockDim.x) o[i] = ok ? to_f32(row[i]) : nan;
}

// transformers LlamaRMSNorm: x * rsqrt(mean(x²) + eps), then times the weight.
__global__ void rms_norm_kernel(const float* x, const float* __restrict__ w, int64_t d, float eps,
                                float* y) {
  __shared__ float red[32];
  const float* xr = x + blockIdx.x * d;
  float ss = 0.0f;
  for (int64_t i = threadIdx.x; i < d; i += blockDim.x) ss = fmaf(xr[i], xr[i], ss);
  const float r = rsqrtf(block_sum(ss, red) / float(d) + eps);
  float* yr = y + blockIdx.x * d;
  for (int64_t i = threadIdx.x; i < d; i += blockDim.x) yr[i] = (xr[i] * r) * w[i];
}

// One thread per rotated pair (row, head, j).
__global__ void rope_kernel(float* x, int64_t n, int64_t width, const int32_t* __restrict__ pos,
                            const float* __restrict__ inv_freq, int64_t n_rot_head,
                            int64_t head_dim) {
  const int64_t half = head_dim / 2;
  const int64_t total = n * n_rot_head * half;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < total;
       i += int64_t(gridDim.x) * blockDim.x) {
    const int64_t j = i % half, h = (i / half) % n_rot_head, r = i / (half * n_rot_head);
    const float a = float(pos[r]) * inv_freq[j];
    float s, c;
    sincosf(a, &s, &c);
    float* p = x + r * width + h * head_dim;
    const float x1 = p[j], x2 = p[j + half];
    p[j] = x1 * c - x2 * s;
    p[j + half] = x2 * c + x1 * s;
  }
}

__global__ void silu_mul_kernel(const float* __restrict__ gu, int64_t n, int64_t inter,
                                float* __restrict__ out) {
  const int64_t total = n * inter;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < total;
       i += int64_t(gridDim.x) * blockDim.x) {
    const int64_t r = i / inter, j = i % inter;
    const float g = gu[r * 2 * inter + j], u = gu[r * 2 * inter + inter + j];
    out[i] = g / (1.0f + expf(-g)) * u;
  }
}

__global__ void add_kernel(float* x, const float* __restrict__ y, int64_t count) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < count;
       i += int64_t(gridDim.x) * blockDim.x)
    x[i] += y[i];
}

void check_f32(const Tensor& t, const char* op, const char* arg) {
  check_cuda_tensor(t, op, arg);
  QINFER_CHECK(t.dtype() == DType::kF32, op, ": unsupported (", arg, " dtype ",
               dtype_name(t.dtype()), ", device cuda); expected F32");
}

// ids may live on either device; host ids are range-checked here, then uploaded.
Tensor ids_on_device(const Tensor& ids, int64_t n_row) {
  QINFER_CHECK(ids.dtype() == DType::kI32, "embedding: ids must be I32, got ",
               dtype_name(ids.dtype()));
  if (ids.device() == Device::kCuda) return ids;
  const int32_t* p = ids.data_as<int32_t>();
  for (int64_t i = 0; i < ids.numel(); ++i)
    QINFER_CHECK(p[i] >= 0 && p[i] < n_row, "embedding: id ", p[i], " at index ", i,
                 " is out of range [0, ", n_row, ")");
  return ids.to(Device::kCuda);
}

}  // namespace

void embedding(const Tensor& table, const Tensor& ids, Tensor& out) {
  check_cuda_tensor(table, "embedding", "table");
  check_f32(out, "embedding", "out");
  QINFER_CHECK(table.ndim() == 2 && out.ndim() == 2 && out.dim(1) == table.dim(1) &&
                   out.dim(0) == ids.numel(),
               "embedding: table ", shape_str(table.shape()), ", ids ", shape_str(ids.shape()),
               ", out ", shape_str(out.shape()), " do not match");
  const int64_t n = ids.numel(), n_row = table.dim(0), d = table.dim(1);
  if (n == 0) return;
  Tensor dev_ids = ids_on_device(ids, n_row);
  const int32_t* id = dev_ids.data_as<int32_t>();
  float* o = out.data_as<float>();
  cudaStream_t s = stream();
  switch (table.dtype()) {
    case DType::kF32:
      embedding_kernel<<<unsigned(n), 256, 0, s>>>(table.data_as<float>(), id, n_row, d, o);
      break;
    case DType::kBF16:
      embedding_kernel<<<unsigned(n), 256, 0, s>>>(table.data_as<__nv_bfloat16>(), id, n_row, d, o);
      break;
    case DType::kF16:
      embedding_kernel<<<unsigned(n), 256, 0, s>>>(table.data_as<__half>(), id, n_row, d, o);
      break;
    default:
      QINFER_FAIL("embedding: unsupported (table dtype ", dtype_name(table.dtype()),
                  ", device cuda)");
  }
  QINFER_CUDA_CHECK_LAUNCH();
}

void rms_norm(const Tensor& x, const Tensor& weight, float eps, Tensor& y) {
  check_f32(x, "rms_norm", "x");
  check_f32(weight, "rms_norm", "weight");
  check_f32(y, "rms_norm", "y");
  QINFER_CHECK(x.ndim() == 2 && y.shape() == x.shape() && weight.numel() == x.dim(1),
               "rms_norm: x ", shape_str(x.shape()), ", weight ", shape_str(weight.shape()),
               ", y ", shape_str(y.shape()), " do not match");
  if (x.numel() == 0) return;
  rms_norm_kernel<<<unsigned(x.dim(0)), 256, 0, stream()>>>(
      x.data_as<float>(), weight.data_as<float>(), x.dim(1), eps, y.data_as<float>());
  QINFER_CUDA_CHECK_LAUNCH();
}

void rope(Tensor& x, const Tensor& positions, const Tensor& inv_freq, int64_t n_rot_head,
          int64_t head_dim) {
  check_f32(x, "rope", "x");
  QINFER_CHECK(inv_freq.dtype() == DType::kF32, "rope: inv_freq must be F32");
  QINFER_CHECK(positions.dtype() == DType::kI32, "rope: positions must be I32");
  QINFER_CHECK(x.ndim() == 2 && x.dim(1) >= n_rot_head * head_dim && head_dim % 2 == 0 &&
                   positions.numel() == x.dim(0) && inv_freq.numel() == head_dim / 2,
               "rope: x ", shape_str(x.shape()), ", positions ", shape_str(positions.shape()),
               ", inv_freq ", shape_str(inv_freq.shape()), " do not match n_rot_head ",
               n_rot_head, " head_dim ", head_dim);
  const int64_t total = x.dim(0) * n_rot_head * (head_dim / 2);
  if (total == 0) return;
  // Small host tensors (positions, the frequency table) are uploaded here.
  const Tensor pos = positions.device() == Device::kCuda ? positions : positions.to(Device::kCuda);
  const Tensor freq = inv_freq.device() == Device::kCuda ? inv_freq : inv_freq.to(Device::kCuda);
  rope_kernel<<<grid_for(total, 256), 256, 0, stream()>>>(
      x.data_as<float>(), x.dim(0), x.dim(1), pos.data_as<int32_t>(), freq.data_as<float>(),
      n_rot_head, head_dim);
  QINFER_CUDA_CHECK_LAUNCH();
}

void silu_mul(const Tensor& gate_up, Tensor& out) {
  check_f32(gate_up, "silu_mul", "gate_up");
  check_f32(out, "silu_mul", "out");
  QINFER_CHECK(gate_up.ndim() == 2 && out.ndim() == 2 && gate_up.dim(0) == out.dim(0) &&
                   gate_up.dim(1) == 2 * out.dim(1),
               "silu_mul: gate_up ", shape_str(gate_up.shape()), " and out ",
               shape_str(out.shape()), " do not match");
  if (out.numel() == 0) return;
  silu_mul_kernel<<<grid_for(out.numel(), 256), 256, 0, stream()>>>(
      gate_up.data_as<float>(), out.dim(0), out.dim(1), out.data_as<float>());
  QINFER_CUDA_CHECK_LAUNCH();
}

void add(Tensor& x, const Tensor& y) {
  check_f32(x, "add", "x");
  check_f32(y, "add", "y");
  QINFER_CHECK(x.numel() == y.numel(), "add: x ", shape_str(x.shape()), " and y ",
               shape_str(y.shape()), " differ in size");
  if (x.numel() == 0) return;
  add_kernel<<<grid_for(x.numel(), 256), 256, 0, stream()>>>(x.data_as<float>(),
                                                               y.data_as<float>(), x.numel());
  QINFER_CUDA_CHECK_LAUNCH();
}

}  // namespace qinfer::ops::cuda

// Roofline ceilings measured on the device in the same run as a benchmark (cuda_ops.h).
#include <algorithm>
#include <vector>

#include "ops/cuda/cuda_common.h"
#include "ops/cuda/cuda_ops.h"
#include "ops/cuda/event_timing.h"
#include "ops/cuda/linear_cuda.h"
#include "ops/cuda/linear_gemm.h"

namespace qinfer::ops::cuda {
namespace {

// Fills a device buffer with a non-zero pattern of finite values (zeros run faster).
void fill_nonzero(void* p, size_t bytes, uint8_t byte) {
  QINFER_CUDA_CHECK(cudaMemsetAsync(p, byte, bytes, stream()));
}

}  // namespace

double measure_copy_bandwidth_gbs(size_t bytes) {
  Tensor a = Tensor::empty(DType::kU8, {int64_t(bytes)}, Device::kCuda);
  Tensor b = Tensor::empty(DType::kU8, {int64_t(bytes)}, Device::kCuda);
  fill_nonzero(a.data(), bytes, 0x3c);
  const double ms = time_ms([&] {
    QINFER_CUDA_CHECK(cudaMemcpyAsync(b.data(), a.data(), bytes, cudaMemcpyDeviceToDevice,
                                      stream()));
  }, 10, 5);
  return 2.0 * double(bytes) / (ms * 1e-3) / 1e9;
}

double measure_gemm_tflops(int64_t m, bool fp8) {
  const DType dt = fp8 ? DType::kF8E4M3 : DType::kBF16;
  Tensor w = Tensor::empty(dt, {m, m}, Device::kCuda);
  Tensor x = Tensor::empty(dt, {m, m}, Device::kCuda);
  Tensor y = Tensor::empty(DType::kF32, {m, m}, Device::kCuda);
  Tensor s = Tensor::empty(DType::kF32, {m}, Device::kCuda);
  // 0x3c: FP8 1.5, BF16 0x3c3c = 0.0115; finite, non-zero.
  fill_nonzero(w.data(), w.nbytes(), 0x3c);
  fill_nonzero(x.data(), x.nbytes(), 0x3c);
  fill_f32(s.data_as<float>(), m, 0.5f, stream());
  const double ms = time_ms([&] {
    gemm_lt(dt, w.data(), x.data(), y.data_as<float>(), m, m, m,
            fp8 ? s.data_as<float>() : nullptr, fp8 ? s.data_as<float>() : nullptr, stream());
  }, 10, 5);
  return 2.0 * double(m) * double(m) * double(m) / (ms * 1e-3) / 1e12;
}

std::string gpu_name() {
  cudaDeviceProp prop{};
  ensure_init();
  QINFER_CUDA_CHECK(cudaGetDeviceProperties(&prop, 0));
  return prop.name;
}

size_t gpu_memory_bytes() {
  size_t free_b = 0, total_b = 0;
  ensure_init();
  QINFER_CUDA_CHECK(cudaMemGetInfo(&free_b, &total_b));
  return total_b;
}

size_t gpu_free_bytes() {
  size_t free_b = 0, total_b = 0;
  ensure_init();
  QINFER_CUDA_CHECK(cudaMemGetInfo(&free_b, &total_b));
  return free_b;
}

}  // namespace qinfer::ops::cuda

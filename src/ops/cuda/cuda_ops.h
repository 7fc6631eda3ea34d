// Host-side entry points of the CUDA backend, callable from plain C++ (no CUDA headers).
// Each mirrors the op of the same name in src/ops/*.h (same contract, tensors on the GPU).
// In a build without CUDA each throws an Error naming the op and device.
#pragma once

#include <string>
#include <vector>

#include "core/tensor.h"
#include "ops/attention.h"
#include "ops/linear.h"

namespace qinfer::ops::cuda {

bool available();  // built with CUDA and a device is present
void linear(const LinearWeight& w, const Tensor& x, Tensor& y);
void embedding(const Tensor& table, const Tensor& ids, Tensor& out);
void rms_norm(const Tensor& x, const Tensor& weight, float eps, Tensor& y);
void rope(Tensor& x, const Tensor& positions, const Tensor& inv_freq, int64_t n_rot_head,
          int64_t head_dim);
void silu_mul(const Tensor& gate_up, Tensor& out);
void add(Tensor& x, const Tensor& y);
// seqs' block tables are host memory; the backend uploads them.
void attention(const Tensor& qkv, const std::vector<AttentionSeq>& seqs, const AttentionDims& dims,
               Tensor& k_cache, Tensor& v_cache, Tensor& out);

// max |x| over an F32 tensor on the GPU (waits for the result: calibration).
float absmax(const Tensor& x);

// Waits for all queued GPU work (for timing from the host).
void synchronize();

// With QINFER_CUDA_PROBE=1: writes the probed kernels' block timelines (probe.cuh) to `path`;
// otherwise does nothing.
void probe_dump(const char* path);

// Ceilings for rooflines, measured on this GPU (engineer F: `qinfer bench`):
//   HBM bandwidth in GB/s from a device-to-device copy of `bytes` (read + write counted);
//   FP8 (or BF16 when fp8 is false) tensor-core rate in TFLOP/s from an m x m x m cuBLASLt GEMM.
double measure_copy_bandwidth_gbs(size_t bytes);
double measure_gemm_tflops(int64_t m, bool fp8);
// Device name and memory (bytes) for reports.
std::string gpu_name();
size_t gpu_memory_bytes();
size_t gpu_free_bytes();  // free device memory now (bytes)

}  // namespace qinfer::ops::cuda

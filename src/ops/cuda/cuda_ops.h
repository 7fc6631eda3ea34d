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

// How the FP8 GEMMs (prefill, batches over 8 rows) accumulate. Fast (the default; vLLM's
// sm90 CUTLASS scaled_mm kernels run this way): every k step of 32 products adds into the
// tensor core's own accumulator, which keeps ~13 mantissa bits (CUTLASS's FP8FastAccum
// mainloops, cuBLASLt's FAST_ACCUM); the error per output grows with the depth, ~1 % of the
// largest outputs at the 8B down_proj's 14,336. Promoted (QINFER_CUDA_FP8_FAST_ACCUM=0): the
// partial sums of each 128-deep run go into fp32 registers, ~1e-4; cuBLASLt's 8192^3 GEMM then
// runs at 1,173-1,187 TFLOP/s against 1,454-1,528 (H100, bench/results/gpu_run_s31.cmd). The
// GEMVs of batches up to 8 rows always promote. set_fp8_fast_accum overrides the switch (tests
// run both ways in one process); GEMM plans are cached per mode.
bool fp8_fast_accum();
void set_fp8_fast_accum(bool fast);
// Device name and memory (bytes) for reports.
std::string gpu_name();
size_t gpu_memory_bytes();
size_t gpu_free_bytes();  // free device memory now (bytes)

}  // namespace qinfer::ops::cuda

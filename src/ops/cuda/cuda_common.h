// Shared host-side plumbing of the CUDA backend: error checking, the process-wide stream,
// the cuBLASLt handle and scratch buffers. Host code only (no kernels), so .cc files may
// include it; kernels live in the .cu files, in anonymous namespaces.
#pragma once

#include <cublasLt.h>
#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

#include "core/error.h"
#include "core/tensor.h"

namespace qinfer::ops::cuda {

[[noreturn]] void fail_cuda(cudaError_t e, const char* what, const char* file, int line);
[[noreturn]] void fail_cublas(cublasStatus_t s, const char* what, const char* file, int line);

}  // namespace qinfer::ops::cuda

// One checking macro for CUDA runtime calls and one for cuBLAS(Lt); both throw
// qinfer::Error naming the call, the file and the line.
#define QINFER_CUDA_CHECK(call)                                                        \
  do {                                                                                 \
    cudaError_t qinfer_e_ = (call);                                                    \
    if (qinfer_e_ != cudaSuccess)                                                      \
      ::qinfer::ops::cuda::fail_cuda(qinfer_e_, #call, __FILE__, __LINE__);            \
  } while (0)

#define QINFER_CUBLAS_CHECK(call)                                                      \
  do {                                                                                 \
    cublasStatus_t qinfer_s_ = (call);                                                 \
    if (qinfer_s_ != CUBLAS_STATUS_SUCCESS)                                            \
      ::qinfer::ops::cuda::fail_cublas(qinfer_s_, #call, __FILE__, __LINE__);          \
  } while (0)

// After a kernel launch: reports a bad launch configuration at the launch site.
#define QINFER_CUDA_CHECK_LAUNCH() QINFER_CUDA_CHECK(cudaGetLastError())

namespace qinfer::ops::cuda {

// Initializes the backend once (device 0, allocator, copy function). Throws if no device.
void ensure_init();

// The stream every op runs on. One stream keeps ops ordered without host synchronization;
// the caching allocator relies on that order to reuse freed blocks safely.
cudaStream_t stream();

// cuBLASLt handle and a workspace of kGemmWorkspaceBytes bytes on the device.
inline constexpr size_t kGemmWorkspaceBytes = size_t(32) << 20;
cublasLtHandle_t cublaslt();
void* gemm_workspace();

// Device properties read once.
int sm_count();
int compute_capability();  // major * 10 + minor
// Whether kernels with sm_90a-only code can run: the build carries sm_90a code
// (QINFER_HAVE_SM90A) and the device is a Hopper (compute capability 9.x).
bool sm90a_available();
size_t smem_per_sm();              // shared memory of a multiprocessor (bytes)
size_t smem_reserved_per_block();  // what the system takes of it for each resident block

// Whether kernels launch with programmatic dependent launch (Hopper; QINFER_CUDA_PDL=0 turns
// it off). pdl.cuh has the device side.
bool pdl_enabled();

// Block timelines (probe.cuh): compiled into the kernels only in a build configured with
// -DQINFER_CUDA_PROBES=ON (they cost registers), and written when QINFER_CUDA_PROBE=1. The ring
// the probed kernels write, null data when off (QINFER_CUDA_PROBE=1 in a build without them is
// an error), and its launch numbers: probe_launch() gives each probed launch (each node of a
// captured graph) its own number. probe_dump writes the ring's records (kProbeWords u64 each:
// launch << 32 | block, multiprocessor, kProbeStamps timestamps in ns, 0 where unset).
#if defined(QINFER_CUDA_PROBES)
inline constexpr bool kProbesBuilt = true;
#else
inline constexpr bool kProbesBuilt = false;
#endif
inline constexpr int kProbeStamps = 6;
inline constexpr int kProbeWords = 2 + kProbeStamps;
struct ProbeRing {
  uint64_t* data = nullptr;
  unsigned long long* count = nullptr;
  unsigned long long records = 0;
};
ProbeRing probe_ring();
uint32_t probe_launch();

// Raw device memory from the caching allocator (for scratch buffers that are not Tensors).
void* device_alloc(size_t bytes);
void device_free(void* p, size_t bytes);

// A device buffer that grows on demand and is kept for reuse (scratch for quantized
// activations, split-K partials). Not thread-safe; the backend runs one stream.
class ScratchBuffer {
 public:
  ScratchBuffer() = default;
  ScratchBuffer(const ScratchBuffer&) = delete;
  ScratchBuffer& operator=(const ScratchBuffer&) = delete;
  ~ScratchBuffer();
  void* get(size_t bytes);

 private:
  void* p_ = nullptr;
  size_t bytes_ = 0;
  std::vector<std::pair<void*, size_t>> retired_;
};

// Page-locked host memory for asynchronous copies, rewritten only once the copy that last used
// it has run: reuse() waits for the event record() placed after that copy (not for the whole
// stream), then grows the buffer where needed (geometrically; contents dropped). The staging of
// UploadRing (fused_ops.h) and of the GPU sampler.
class PinnedStaging {
 public:
  PinnedStaging() = default;
  PinnedStaging(const PinnedStaging&) = delete;
  PinnedStaging& operator=(const PinnedStaging&) = delete;
  ~PinnedStaging();
  void* reuse(size_t bytes);
  void record(cudaStream_t s);  // after the copy that reads or fills data()
  void wait();                  // until the last record() has run
  void* data() const { return host_; }
  size_t size() const { return bytes_; }

 private:
  void* host_ = nullptr;
  size_t bytes_ = 0;
  cudaEvent_t used_ = nullptr;
  // Outgrown buffers, freed with this one: cudaFreeHost waits for the whole device, which in
  // a step would drain the queue the host keeps ahead of the GPU (25 such waits of 24-71 ms
  // in the 8B offline run's first steps, H100 bench/results/gpu_run_s34.cmd q1).
  std::vector<void*> retired_;
};

// Checks that a tensor lives on the CUDA device, naming the op and argument if not.
void check_cuda_tensor(const Tensor& t, const char* op, const char* arg);

}  // namespace qinfer::ops::cuda

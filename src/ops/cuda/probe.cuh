// Block timelines for a few kernels (a measurement tool: compiled in only with
// -DQINFER_CUDA_PROBES=ON, and written only with QINFER_CUDA_PROBE=1): each
// probed block's first thread writes one record of its kernel's launch number, its block, its
// multiprocessor and up to kProbeStamps %globaltimer stamps (start, after the PDL wait, and
// more the kernel picks) into a ring in device memory; probe_dump (cuda_common.h) writes the ring
// to a file for tools/probe_summary.py. CUPTI gives each kernel's start and end; this gives
// when a kernel's blocks were released by their wait and where their time after it went.
// The probes cost registers: the qkv GEMV went from 110 to 116 a thread, and an 8B attention
// block (BF16 cache, 168 registers) then no longer fit beside a qkv block on a multiprocessor
// (one of its four register files holds 3 qkv warps), so probed 8B timelines show the
// attention starting later than it does unprobed (bench/results/gpu_run_s18.cmd q12). Built
// in by default they took the 8B's batch-1 decode from ~306 to ~302 tok/s even when off (q15).
// Include from .cu files only.
#pragma once

#include <cstdint>

#include "ops/cuda/cuda_common.h"

namespace qinfer::ops::cuda {

__device__ __forceinline__ uint64_t probe_now() {
  uint64_t t;
  asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(t)::"memory");
  return t;
}

// Whether this launch records: false at compile time in a build without probes, so that the
// stamps and their registers are compiled away.
__device__ __forceinline__ bool probing(const ProbeRing& r) {
  return kProbesBuilt && r.data != nullptr;
}

__device__ __forceinline__ void probe_write(const ProbeRing& r, uint32_t launch,
                                            const uint64_t (&t)[kProbeStamps]) {
  if (!probing(r) || threadIdx.x != 0) return;
  uint32_t smid;
  asm volatile("mov.u32 %0, %%smid;" : "=r"(smid));
  const unsigned long long slot = atomicAdd(r.count, 1ull) % r.records;
  uint64_t* rec = r.data + slot * kProbeWords;
  const uint32_t blk = blockIdx.x + gridDim.x * (blockIdx.y + gridDim.y * blockIdx.z);
  rec[0] = (uint64_t(launch) << 32) | blk;
  rec[1] = smid;
  for (int i = 0; i < kProbeStamps; ++i) rec[2 + i] = t[i];
}

}  // namespace qinfer::ops::cuda

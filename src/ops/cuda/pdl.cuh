// Programmatic dependent launch (Hopper), shared by every kernel file: a kernel launched with
// launch_pdl() may start while the previous kernel on the stream is still running; pdl_wait()
// blocks until that kernel has finished and its writes are visible, so nothing before it may
// read what earlier kernels wrote (or write what they read). pdl_trigger() lets the next
// PDL-launched kernel start early. Both are no-ops below sm_90 (griddepcontrol exists from
// sm_90; the sm_80 / sm_89 builds compile them away, and the host launches without the
// attribute there). QINFER_CUDA_PDL=0 turns the attribute off. Include from .cu files only.
#pragma once

#include <cuda_runtime.h>

#include <utility>

#include "ops/cuda/cuda_common.h"

namespace qinfer::ops::cuda {

__device__ __forceinline__ void pdl_wait() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("griddepcontrol.wait;" ::: "memory");
#endif
}
__device__ __forceinline__ void pdl_trigger() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("griddepcontrol.launch_dependents;" ::: "memory");
#endif
}

// Thread-block clusters of (1, 1, z) blocks (sm_90): the launch attribute, and how many such
// clusters of `kernel` with `threads` threads and `smem` bytes a block fit on the GPU at once
// (cudaOccupancyMaxActiveClusters; its error, if any, is returned and cleared).
inline cudaLaunchAttribute cluster_z_attr(unsigned z) {
  cudaLaunchAttribute a{};
  a.id = cudaLaunchAttributeClusterDimension;
  a.val.clusterDim.x = 1;
  a.val.clusterDim.y = 1;
  a.val.clusterDim.z = z;
  return a;
}
template <typename... KArgs>
cudaError_t active_clusters_z(void (*kernel)(KArgs...), unsigned z, unsigned threads,
                              size_t smem, int* n) {
  cudaLaunchConfig_t cfg{};
  cfg.gridDim = dim3(1, 1, z);
  cfg.blockDim = dim3(threads);
  cfg.dynamicSmemBytes = smem;
  cudaLaunchAttribute attr[1] = {cluster_z_attr(z)};
  cfg.attrs = attr;
  cfg.numAttrs = 1;
  *n = 0;
  const cudaError_t e = cudaOccupancyMaxActiveClusters(n, kernel, &cfg);
  if (e != cudaSuccess) (void)cudaGetLastError();
  return e;
}

// Launches kernel<<<grid, block, smem, s>>>(args...) with programmatic stream serialization
// when PDL is on (the kernel must pdl_wait() before touching what earlier kernels wrote), its
// blocks in clusters of (1, 1, cluster_z) where cluster_z > 1 (sm_90; grid.z a multiple).
template <typename... KArgs, typename... Args>
void launch_pdl_cluster_on(cudaStream_t s, void (*kernel)(KArgs...), dim3 grid, dim3 block,
                           size_t smem, unsigned cluster_z, Args&&... args) {
  cudaLaunchConfig_t cfg{};
  cfg.gridDim = grid;
  cfg.blockDim = block;
  cfg.dynamicSmemBytes = smem;
  cfg.stream = s;
  cudaLaunchAttribute attr[2];
  unsigned n = 0;
  if (cluster_z > 1) attr[n++] = cluster_z_attr(cluster_z);
  if (pdl_enabled()) {
    attr[n].id = cudaLaunchAttributeProgrammaticStreamSerialization;
    attr[n].val.programmaticStreamSerializationAllowed = 1;
    ++n;
  }
  cfg.attrs = attr;
  cfg.numAttrs = n;
  QINFER_CUDA_CHECK(cudaLaunchKernelEx(&cfg, kernel, std::forward<Args>(args)...));
}

template <typename... KArgs, typename... Args>
void launch_pdl_smem_on(cudaStream_t s, void (*kernel)(KArgs...), dim3 grid, dim3 block,
                        size_t smem, Args&&... args) {
  launch_pdl_cluster_on(s, kernel, grid, block, smem, 1u, std::forward<Args>(args)...);
}

template <typename... KArgs, typename... Args>
void launch_pdl_smem(void (*kernel)(KArgs...), dim3 grid, dim3 block, size_t smem,
                     Args&&... args) {
  launch_pdl_smem_on(stream(), kernel, grid, block, smem, std::forward<Args>(args)...);
}

template <typename... KArgs, typename... Args>
void launch_pdl(void (*kernel)(KArgs...), dim3 grid, dim3 block, Args&&... args) {
  launch_pdl_smem(kernel, grid, block, 0, std::forward<Args>(args)...);
}

}  // namespace qinfer::ops::cuda

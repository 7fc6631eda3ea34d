// The Hopper bulk-copy engine and its mbarriers (sm_90), shared by the kernels that stream
// weights into shared memory (gemv_bulk.cu, attention_o.cu): a copy global -> shared of a
// multiple of 16 bytes completes by decrementing the transaction count of an mbarrier, which
// a thread armed with the bytes to expect; waiting threads poll the barrier's phase parity.
// Include from .cu files only; device code for sm_90 and later.
#pragma once

#include <cstdint>

#include "ops/cuda/mma.cuh"

namespace qinfer::ops::cuda::bulk {

#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
__device__ __forceinline__ void mbar_init(uint64_t* bar, int count) {
  asm volatile("mbarrier.init.shared::cta.b64 [%0], %1;" ::"r"(mma::smem_addr(bar)), "r"(count));
}
__device__ __forceinline__ void mbar_wait(uint64_t* bar, uint32_t parity) {
  asm volatile(
      "{\n .reg .pred p;\n"
      "WAIT_%=:\n"
      " mbarrier.try_wait.parity.shared::cta.b64 p, [%0], %1;\n"
      " @!p bra WAIT_%=;\n}" ::"r"(mma::smem_addr(bar)),
      "r"(parity)
      : "memory");
}
__device__ __forceinline__ void mbar_arrive(uint64_t* bar) {
  asm volatile("mbarrier.arrive.shared::cta.b64 _, [%0];" ::"r"(mma::smem_addr(bar)) : "memory");
}
__device__ __forceinline__ void mbar_expect(uint64_t* bar, uint32_t bytes) {
  asm volatile("mbarrier.arrive.expect_tx.shared::cta.b64 _, [%0], %1;" ::"r"(mma::smem_addr(bar)),
               "r"(bytes)
               : "memory");
}
// Bulk copy of `bytes` (a multiple of 16, both addresses 16-byte aligned) global -> shared,
// counted on `bar`, with an L2 cache policy (createpolicy; the weight streams use evict_first:
// each weight byte is read once a step and should not push the activations or the KV cache
// out of L2).
__device__ __forceinline__ void bulk_load(void* dst, const void* src, uint32_t bytes, uint64_t* bar,
                                          uint64_t policy) {
  asm volatile(
      "cp.async.bulk.shared::cluster.global.mbarrier::complete_tx::bytes.L2::cache_hint"
      " [%0], [%1], %2, [%3], %4;" ::"r"(mma::smem_addr(dst)),
      "l"(src), "r"(bytes), "r"(mma::smem_addr(bar)), "l"(policy)
      : "memory");
}
#endif

}  // namespace qinfer::ops::cuda::bulk

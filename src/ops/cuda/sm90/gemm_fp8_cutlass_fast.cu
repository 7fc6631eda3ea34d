// The data-parallel FP8 GEMM tiles on CUTLASS's FP8FastAccum mainloops (Fp8GemmArgs's
// fast_accum): the wgmmas of a tile's whole k loop add into one accumulator, with no promotion
// of each 128-deep run into separate fp32 registers. Same tiles, scheduler, epilogue and
// programmatic dependent launch as gemm_fp8_cutlass.cu.
#define CUTLASS_ENABLE_GDC_FOR_SM90 1
#define CUTE_SM90_EXTENDED_MMA_SHAPES_ENABLED 1
#include "ops/cuda/sm90/gemm_fp8_cutlass.cuh"

namespace qinfer::ops::cuda::sm90 {

bool run_fast(Fp8GemmTile tile, const Fp8GemmArgs& a, cudaStream_t s) {
  if (a.bf16_out)
    return !a.accumulate &&
           run_data_parallel<CoopFast, PingpongFast, false, cutlass::bfloat16_t>(tile, a, s);
  return a.accumulate ? run_data_parallel<CoopFast, PingpongFast, true>(tile, a, s)
                      : run_data_parallel<CoopFast, PingpongFast, false>(tile, a, s);
}

}  // namespace qinfer::ops::cuda::sm90

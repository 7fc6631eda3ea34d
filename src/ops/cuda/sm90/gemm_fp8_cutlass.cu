// The data-parallel FP8 GEMM tiles (CUTLASS's persistent scheduler), launched under
// programmatic dependent launch: the GEMM's prologue (barriers, TMA descriptors) overlaps the
// previous kernel's tail, and its last tiles let the next kernel launch. This file holds the
// promoting mainloops; the FP8FastAccum ones are gemm_fp8_cutlass_fast.cu (Fp8GemmArgs's
// fast_accum), each its own translation unit so that the two compile in parallel.
#define CUTLASS_ENABLE_GDC_FOR_SM90 1
// wgmma's N = 224 instruction (cute's "extended" shapes) for the 128 x 224 tile.
#define CUTE_SM90_EXTENDED_MMA_SHAPES_ENABLED 1
#include "ops/cuda/sm90/gemm_fp8_cutlass.cuh"

namespace qinfer::ops::cuda {

bool gemm_fp8_sm90_run(Fp8GemmTile tile, const Fp8GemmArgs& a, cudaStream_t s) {
  using namespace sm90;
  const bool data_parallel =
      tile != Fp8GemmTile::k128x128StreamK && tile != Fp8GemmTile::k128x128Split2;
  if (!data_parallel) return !a.bf16_out && run_streamk(tile, a, s);
  if (a.fast_accum) return run_fast(tile, a, s);
  if (a.bf16_out)
    return !a.accumulate &&
           run_data_parallel<Coop, Pingpong, false, cutlass::bfloat16_t>(tile, a, s);
  return a.accumulate ? run_data_parallel<Coop, Pingpong, true>(tile, a, s)
                      : run_data_parallel<Coop, Pingpong, false>(tile, a, s);
}

}  // namespace qinfer::ops::cuda

// The data-parallel FP8 GEMM tiles (CUTLASS's persistent scheduler), launched under
// programmatic dependent launch: the GEMM's prologue (barriers, TMA descriptors) overlaps the
// previous kernel's tail, and its last tiles let the next kernel launch.
#define CUTLASS_ENABLE_GDC_FOR_SM90 1
// wgmma's N = 224 instruction (cute's "extended" shapes) for the 128 x 224 tile.
#define CUTE_SM90_EXTENDED_MMA_SHAPES_ENABLED 1
#include "ops/cuda/sm90/gemm_fp8_cutlass.cuh"

namespace qinfer::ops::cuda {
namespace {

using namespace cute;
using sm90::Coop;
using sm90::CoopEpi;
using sm90::Pingpong;
using sm90::PingpongEpi;
using Persistent = cutlass::gemm::PersistentScheduler;

template <bool kAcc, class D = float>
bool dispatch(Fp8GemmTile tile, const Fp8GemmArgs& a, cudaStream_t s) {
  using One = Shape<_1, _1, _1>;
  switch (tile) {
    case Fp8GemmTile::k128x128:
      return sm90::Fp8Gemm<Shape<_128, _128, _128>, One, Coop, CoopEpi, Persistent, kAcc,
                           D>::run(a, 1, s);
    case Fp8GemmTile::k64x128:
      return sm90::Fp8Gemm<Shape<_64, _128, _128>, One, Pingpong, PingpongEpi, Persistent, kAcc,
                           D>::run(a, 1, s);
    case Fp8GemmTile::k128x64:
      return sm90::Fp8Gemm<Shape<_128, _64, _128>, One, Coop, CoopEpi, Persistent, kAcc,
                           D>::run(a, 1, s);
    case Fp8GemmTile::k128x224:
      return sm90::Fp8Gemm<Shape<_128, _224, _128>, One, Coop, CoopEpi, Persistent, kAcc,
                           D>::run(a, 1, s);
    default:
      return !a.bf16_out && sm90::run_streamk(tile, a, s);
  }
}

}  // namespace

bool gemm_fp8_sm90_run(Fp8GemmTile tile, const Fp8GemmArgs& a, cudaStream_t s) {
  if (a.bf16_out) return !a.accumulate && dispatch<false, cutlass::bfloat16_t>(tile, a, s);
  return a.accumulate ? dispatch<true>(tile, a, s) : dispatch<false>(tile, a, s);
}

}  // namespace qinfer::ops::cuda

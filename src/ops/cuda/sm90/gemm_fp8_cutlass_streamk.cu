// The FP8 GEMM tiles on CUTLASS's stream-K scheduler: stream-K proper (the last wave's k loops
// spread over every SM) and a fixed two-way split of each tile's k loop, both reduced through
// the workspace. No programmatic dependent launch here (see gemm_fp8_cutlass.cuh).
#include "ops/cuda/sm90/gemm_fp8_cutlass.cuh"

namespace qinfer::ops::cuda::sm90 {
namespace {

using namespace cute;
using StreamK = cutlass::gemm::StreamKScheduler;
using Tile128 = Shape<_128, _128, _128>;

template <bool kAcc>
bool dispatch(Fp8GemmTile tile, const Fp8GemmArgs& a, cudaStream_t s) {
  Fp8GemmArgs b = a;
  b.pdl = false;
  switch (tile) {
    case Fp8GemmTile::k128x128StreamK:
      return Fp8Gemm<Tile128, Shape<_1, _1, _1>, Coop, CoopEpi, StreamK, kAcc>::run(b, 1, s);
    case Fp8GemmTile::k128x128Split2:
      return Fp8Gemm<Tile128, Shape<_1, _1, _1>, Coop, CoopEpi, StreamK, kAcc>::run(b, 2, s);
    default: return false;
  }
}

}  // namespace

bool run_streamk(Fp8GemmTile tile, const Fp8GemmArgs& a, cudaStream_t s) {
  return a.accumulate ? dispatch<true>(tile, a, s) : dispatch<false>(tile, a, s);
}

}  // namespace qinfer::ops::cuda::sm90

// FP8 W8A8 GEMM on Hopper from CUTLASS 3 (TMA, warp-specialized wgmma), with the per-token x
// per-channel scales and the residual add in its epilogue (a CUTLASS epilogue visitor tree):
//   y (n, n_out) F32 = x_scale[r] * (w_scale[c] * (x · wᵀ)[r, c]) (+ y[r, c] when accumulating)
// The tile shapes are the point: cuBLASLt offers one 128 x 128 algorithm for these scales, so
// at 129-256 rows the 4096-wide projections run 64 tiles on 132 SMs. Included by the two .cu
// files of this folder (built for sm_90a only, their own library target).
#pragma once

#include "ops/cuda/sm90/gemm_fp8_sm90.h"

#include <cute/tensor.hpp>
#include <cutlass/cutlass.h>
#include <cutlass/epilogue/collective/collective_builder.hpp>
#include <cutlass/epilogue/fusion/sm90_callbacks_tma_warpspecialized.hpp>
#include <cutlass/gemm/collective/collective_builder.hpp>
#include <cutlass/gemm/device/gemm_universal_adapter.h>
#include <cutlass/gemm/kernel/gemm_universal.hpp>
#include <cutlass/util/packed_stride.hpp>

#include <cstdint>

namespace qinfer::ops::cuda::sm90 {

using namespace cute;
namespace fusion = cutlass::epilogue::fusion;

constexpr auto kRound = cutlass::FloatRoundStyle::round_to_nearest;

// The epilogue tree: w_scale varies along n_out (a row broadcast in CUTLASS's terms), x_scale
// along the tokens (a column broadcast); with kAccumulate the source C (= y) is added.
template <class TileShape, bool kAccumulate, class ElementD>
struct ScaledEpilogue {
  using WScale = fusion::Sm90RowBroadcast<0, TileShape, float, float, Stride<_0, _1, _0>>;
  using XScale = fusion::Sm90ColBroadcast<0, TileShape, float, float, Stride<_1, _0, _0>>;
  using Mul = fusion::Sm90Compute<cutlass::multiplies, float, float, kRound>;
  using MulAdd = fusion::Sm90Compute<cutlass::homogeneous_multiply_add, float, float, kRound>;
  using MulOut = fusion::Sm90Compute<cutlass::multiplies, ElementD, float, kRound>;
  using ScaledAcc = fusion::Sm90EVT<Mul, WScale, fusion::Sm90AccFetch>;
  using Tree = std::conditional_t<
      kAccumulate, fusion::Sm90EVT<MulAdd, XScale, ScaledAcc, fusion::Sm90SrcFetch<float>>,
      fusion::Sm90EVT<MulOut, XScale, ScaledAcc>>;

  static typename Tree::Arguments args(const float* x_scale, const float* w_scale) {
    typename ScaledAcc::Arguments scaled{{w_scale, 0.0f, {}}, {}, {}};
    if constexpr (kAccumulate)
      return {{x_scale, 0.0f, {}}, scaled, {}, {}};
    else
      return {{x_scale, 0.0f, {}}, scaled, {}};
  }
};

// ElementD: float, or cutlass::bfloat16_t (without accumulation) for the BF16 gate_up.
template <class TileShape, class ClusterShape, class KernelSchedule, class EpilogueSchedule,
          class Scheduler, bool kAccumulate, class ElementD = float>
struct Fp8Gemm {
  static_assert(!kAccumulate || std::is_same_v<ElementD, float>);
  using Epi = ScaledEpilogue<TileShape, kAccumulate, ElementD>;
  static constexpr int kAlignD = 16 / int(sizeof(ElementD));
  using ElementC = std::conditional_t<kAccumulate, float, void>;
  using RowMajor = cutlass::layout::RowMajor;
  using ColMajor = cutlass::layout::ColumnMajor;
  using CollectiveEpilogue = typename cutlass::epilogue::collective::CollectiveBuilder<
      cutlass::arch::Sm90, cutlass::arch::OpClassTensorOp, TileShape, ClusterShape,
      cutlass::epilogue::collective::EpilogueTileAuto, float, float, ElementC, RowMajor, kAlignD,
      ElementD, RowMajor, kAlignD, EpilogueSchedule, typename Epi::Tree>::CollectiveOp;
  using CollectiveMainloop = typename cutlass::gemm::collective::CollectiveBuilder<
      cutlass::arch::Sm90, cutlass::arch::OpClassTensorOp, cutlass::float_e4m3_t, RowMajor, 16,
      cutlass::float_e4m3_t, ColMajor, 16, float, TileShape, ClusterShape,
      cutlass::gemm::collective::StageCountAutoCarveout<static_cast<int>(
          sizeof(typename CollectiveEpilogue::SharedStorage))>,
      KernelSchedule>::CollectiveOp;
  using Kernel = cutlass::gemm::kernel::GemmUniversal<Shape<int, int, int, int>, CollectiveMainloop,
                                                      CollectiveEpilogue, Scheduler>;
  using Gemm = cutlass::gemm::device::GemmUniversalAdapter<Kernel>;

  static bool run(const Fp8GemmArgs& a, int splits, cudaStream_t s) {
    const int m = int(a.n), n = int(a.n_out), k = int(a.n_in);
    auto stride_a = cutlass::make_cute_packed_stride(typename Kernel::StrideA{}, {m, k, 1});
    auto stride_b = cutlass::make_cute_packed_stride(typename Kernel::StrideB{}, {n, k, 1});
    auto stride_d = cutlass::make_cute_packed_stride(typename Kernel::StrideD{}, {m, n, 1});
    typename Kernel::Arguments args{
        cutlass::gemm::GemmUniversalMode::kGemm,
        {m, n, k, 1},
        {static_cast<const cutlass::float_e4m3_t*>(a.x), stride_a,
         static_cast<const cutlass::float_e4m3_t*>(a.w), stride_b},
        {{}, kAccumulate ? static_cast<const float*>(a.y) : nullptr, stride_d,
         static_cast<ElementD*>(a.y), stride_d}};
    args.epilogue.thread = Epi::args(a.x_scale, a.w_scale);
    if constexpr (std::is_same_v<Scheduler, cutlass::gemm::StreamKScheduler>) {
      if (splits > 1) {
        args.scheduler.splits = splits;
        args.scheduler.decomposition_mode =
            cutlass::gemm::kernel::detail::DecompositionMode::SplitK;
      }
    }
    Gemm gemm;
    if (gemm.can_implement(args) != cutlass::Status::kSuccess) return false;
    if (Gemm::get_workspace_size(args) > a.workspace_bytes) return false;
    if (gemm.initialize(args, a.workspace, s) != cutlass::Status::kSuccess) return false;
    return gemm.run(s, nullptr, a.pdl) == cutlass::Status::kSuccess;
  }
};

using Coop = cutlass::gemm::KernelTmaWarpSpecializedCooperative;
using CoopEpi = cutlass::epilogue::TmaWarpSpecializedCooperative;
using Pingpong = cutlass::gemm::KernelTmaWarpSpecializedPingpong;
using PingpongEpi = cutlass::epilogue::TmaWarpSpecialized;
using CoopFast = cutlass::gemm::KernelTmaWarpSpecializedCooperativeFP8FastAccum;
using PingpongFast = cutlass::gemm::KernelTmaWarpSpecializedPingpongFP8FastAccum;

// The data-parallel tiles (CUTLASS's persistent scheduler) with the mainloop schedules CoopK
// (two consumer warpgroups on one tile) and PingK (ping-pong), F32 (kAcc: y +=) or D outputs.
// False for the stream-K tiles and for shapes CUTLASS declines.
template <class CoopK, class PingK, bool kAcc, class D = float>
bool run_data_parallel(Fp8GemmTile tile, const Fp8GemmArgs& a, cudaStream_t s) {
  using One = Shape<_1, _1, _1>;
  using Persistent = cutlass::gemm::PersistentScheduler;
  switch (tile) {
    case Fp8GemmTile::k128x128:
      return Fp8Gemm<Shape<_128, _128, _128>, One, CoopK, CoopEpi, Persistent, kAcc, D>::run(a, 1,
                                                                                            s);
    case Fp8GemmTile::k64x128:
      return Fp8Gemm<Shape<_64, _128, _128>, One, PingK, PingpongEpi, Persistent, kAcc, D>::run(
          a, 1, s);
    case Fp8GemmTile::k128x64:
      return Fp8Gemm<Shape<_128, _64, _128>, One, CoopK, CoopEpi, Persistent, kAcc, D>::run(a, 1,
                                                                                           s);
    case Fp8GemmTile::k128x224:
      return Fp8Gemm<Shape<_128, _224, _128>, One, CoopK, CoopEpi, Persistent, kAcc, D>::run(a, 1,
                                                                                            s);
    case Fp8GemmTile::k128x192:
      return Fp8Gemm<Shape<_128, _192, _128>, One, CoopK, CoopEpi, Persistent, kAcc, D>::run(a, 1,
                                                                                             s);
    default: return false;
  }
}

// The data-parallel tiles on the FP8FastAccum schedules (gemm_fp8_cutlass_fast.cu).
bool run_fast(Fp8GemmTile tile, const Fp8GemmArgs& a, cudaStream_t s);

// The stream-K / split-K tiles (gemm_fp8_cutlass_streamk.cu, compiled without programmatic
// dependent launch: CUTLASS 4.2's stream-K scheduler does not compile with it).
bool run_streamk(Fp8GemmTile tile, const Fp8GemmArgs& a, cudaStream_t s);

}  // namespace qinfer::ops::cuda::sm90

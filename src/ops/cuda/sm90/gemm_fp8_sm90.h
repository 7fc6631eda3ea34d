// FP8 W8A8 GEMMs of our own tile shapes on Hopper (CUTLASS 3, sm_90a), for the batch sizes
// where cuBLASLt's one algorithm for per-token x per-channel scales leaves SMs idle.
// The kernels are built only when CUTLASS's headers are found and the build targets sm_90a
// (QINFER_HAVE_CUTLASS_SM90); this header needs neither. linear_gemm.h's gemm_fp8_scaled is
// the callers' entry point.
#pragma once

#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>

namespace qinfer::ops::cuda {

// Tile shapes (tokens x output features x k, all 128 deep in k), each with CUTLASS's
// persistent tile scheduler unless named otherwise.
enum class Fp8GemmTile {
  k128x128,         // two consumer warpgroups on one 128 x 128 tile (cuBLASLt's shape)
  k64x128,          // ping-pong: two consumer warpgroups, a 64 x 128 tile each
  k128x64,          // two consumer warpgroups on one 128 x 64 tile
  k128x128StreamK,  // 128 x 128, stream-K: the k loop of the last wave split over the SMs
  k128x128Split2,   // 128 x 128, every tile's k loop split in two (reduced in the workspace)
  k128x224,         // two consumer warpgroups on one 128 x 224 tile (a 28672-wide gate_up
                    // is 128 such columns: two full waves of 2 x 128 tiles on 132 SMs)
  k128x192,         // two consumer warpgroups on one 128 x 192 tile (a 6144-wide qkv at
                    // 257-512 rows is 128 such tiles: one wave on 132 SMs)
};
inline constexpr int kFp8GemmTiles = 7;

struct Fp8GemmArgs {
  const void* w;         // (n_out, n_in) E4M3, row-major
  const void* x;         // (n, n_in) E4M3, row-major
  void* y;               // (n, n_out) F32, or BF16 when bf16_out
  int64_t n, n_in, n_out;
  const float* x_scale;  // (n)
  const float* w_scale;  // (n_out)
  bool accumulate;       // y += ..., else y = ... (F32 only)
  bool bf16_out;         // y in BF16 (no accumulation; the data-parallel tiles only)
  void* workspace;       // device scratch for split / stream-K partial tiles
  size_t workspace_bytes;
  bool pdl;              // launch with programmatic stream serialization
  bool fast_accum;       // the data-parallel tiles without promotion (CUTLASS's FP8FastAccum
                         // schedules): every k step adds into the tensor core's own
                         // accumulator, as vLLM's sm90 kernels do; else the partial sums of
                         // each 128-deep k run are promoted into fp32 registers
};

// Runs one GEMM; false (nothing ran) when CUTLASS cannot implement it or it needs more
// workspace than given. Needs n_in % 16 == 0, n_out % 4 == 0 and 16-byte aligned pointers.
bool gemm_fp8_sm90_run(Fp8GemmTile tile, const Fp8GemmArgs& a, cudaStream_t s);

}  // namespace qinfer::ops::cuda

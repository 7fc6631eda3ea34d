// cuBLASLt GEMMs behind ops::cuda::linear for prefill and large batches.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "core/dtype.h"

namespace qinfer::ops::cuda {

// y (n, n_out) F32 = x (n, n_in) · w (n_out, n_in)ᵀ, both operands of dtype `ab`
// (F8_E4M3, BF16, F16 or F32), fp32 accumulation. For FP8, when x_scale (n) and w_scale
// (n_out) are given, they are applied inside cuBLASLt (outer-vector scale mode) if this
// cuBLASLt/GPU supports it; otherwise the caller applies them (kUnscaled). kNoAlgorithm:
// cuBLASLt has no kernel for this shape and nothing ran.
enum class GemmResult { kDone, kUnscaled, kNoAlgorithm };
// accumulate: y += x · wᵀ instead of y = x · wᵀ (beta = 1). y_dtype: F32 (default) or, for an
// FP8 GEMM with the scales inside, BF16 (y then holds (n, n_out) BF16, accumulate reading and
// writing it in BF16 with the sum in fp32; kNoAlgorithm when cuBLASLt has no such kernel, and
// the caller takes the F32 route).
GemmResult gemm_lt(DType ab, const void* w, const void* x, void* y, int64_t n, int64_t n_in,
                   int64_t n_out, const float* x_scale, const float* w_scale, cudaStream_t stream,
                   bool accumulate = false, DType y_dtype = DType::kF32);

// Whether the FP8 GEMM of these shapes applies the per-token / per-channel scales inside
// cuBLASLt (then it can also accumulate into y: D = scales ⊙ (x · wᵀ) + y).
bool gemm_lt_scales_inside(int64_t n, int64_t n_in, int64_t n_out);

// Whether an FP8 GEMM with the scales inside can add into a BF16 y (gemm_lt with accumulate
// and y_dtype BF16) for these shapes, at no cost against the F32 route: cuBLASLt has such a
// kernel and gemm_fp8_tile would not pick a CUTLASS tile (those have no BF16 accumulation;
// over_tiles: also where it would, cuBLASLt then taking the GEMM).
bool gemm_fp8_add_bf16_applies(int64_t n, int64_t n_in, int64_t n_out, const void* w,
                               bool over_tiles = false);

// FP8 W8A8 with the per-token x_scale (n) and per-channel w_scale (n_out) applied inside:
// y = (accumulate: y +) x_scale ⊙ (x · wᵀ) ⊙ w_scale, F32. Runs our CUTLASS tile where
// gemm_fp8_tile picks one (Hopper builds with CUTLASS), else cuBLASLt's outer-vector scale
// mode; kNoAlgorithm when neither can (nothing ran; the caller falls back).
// y_dtype BF16: y holds (n, n_out) BF16 (not with accumulate).
GemmResult gemm_fp8_scaled(const void* w, const void* x, void* y, int64_t n, int64_t n_in,
                           int64_t n_out, const float* x_scale, const float* w_scale,
                           bool accumulate, cudaStream_t stream, DType y_dtype = DType::kF32);

// The CUTLASS tile gemm_fp8_scaled runs for these shapes (an Fp8GemmTile value), or -1 for
// cuBLASLt. QINFER_CUDA_FP8_GEMM overrides the measured choice: "lt" (always cuBLASLt) or a
// tile's name from fp8_gemm_tile_name (forced wherever it can run).
int gemm_fp8_tile(int64_t n, int64_t n_in, int64_t n_out);
const char* fp8_gemm_tile_name(int tile);  // "lt" for -1
// Runs one CUTLASS tile (benchmarks, tests); false when it cannot take these shapes (or this
// build / GPU has none), having done nothing.
bool gemm_fp8_run_tile(int tile, const void* w, const void* x, void* y, int64_t n, int64_t n_in,
                       int64_t n_out, const float* x_scale, const float* w_scale, bool accumulate,
                       cudaStream_t stream, DType y_dtype = DType::kF32);
int fp8_gemm_tile_count();                  // 0 when built without CUTLASS

// Whether cuBLASLt can take these shapes for dtype ab (FP8 needs dims that are multiples
// of 16 and 16-byte aligned pointers).
bool gemm_lt_supported(DType ab, int64_t n, int64_t n_in, int64_t n_out, const void* w,
                       const void* x, const void* y);

}  // namespace qinfer::ops::cuda

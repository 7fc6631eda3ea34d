// CPU kernels behind the ops of src/ops/*.h, on raw host pointers (shapes as in the headers).
// The plain loops in *_cpu.cc are the reference; vec_*.cc provide the vector primitives
// each ISA level uses (chosen at run time by ops_isa()).
#pragma once

#include <cstdint>
#include <vector>

#include "core/dtype.h"
#include "ops/attention.h"

namespace qinfer::ops::cpu {

// Vector primitives over contiguous F32 arrays, one table per ISA level.
struct VecKernels {
  float (*dot)(const float* a, const float* b, int64_t n);
  void (*axpy)(float a, const float* x, float* y, int64_t n);                       // y += a * x
  void (*scale_mul)(const float* x, float s, const float* w, float* y, int64_t n);  // y = x*s*w
  void (*add)(float* x, const float* y, int64_t n);                                 // x += y
  void (*silu_mul)(const float* g, const float* u, float* y, int64_t n);  // y = silu(g) * u
};
const VecKernels& vec_scalar();
const VecKernels& vec_avx2();
const VecKernels& vec_avx512();
const VecKernels& vec();  // the level ops_isa() selects

void embedding(const void* table, DType dt, int64_t n_row, int64_t d, const int32_t* ids, int64_t n,
               float* out);
void rms_norm(const float* x, const float* w, float eps, int64_t n, int64_t d, float* y);
// x: n rows of `row_stride` floats; rotates the first n_rot_head heads of each row.
void rope(float* x, int64_t n, int64_t row_stride, const int32_t* pos, const float* inv_freq,
          int64_t n_rot_head, int64_t head_dim);
void silu_mul(const float* gate_up, int64_t n, int64_t inter, float* out);
void add(float* x, const float* y, int64_t n);
void attention(const float* qkv, const std::vector<AttentionSeq>& seqs, const AttentionDims& dims,
               float* k_cache, float* v_cache, int64_t n_block, int64_t block_size, float* out);

}  // namespace qinfer::ops::cpu

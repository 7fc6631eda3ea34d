// The vectorized dense linear kernels (linear_dense_avx2.cc, linear_dense_avx512.cc); the
// reference loop and the run-time choice between them are in linear_dense.cc.
#pragma once

#include "ops/linear.h"

namespace qinfer::ops::cpu {

void linear_dense_scalar(const LinearWeight& w, const float* x, int64_t n, float* y);
void linear_dense_avx2(const LinearWeight& w, const float* x, int64_t n, float* y);
void linear_dense_avx512(const LinearWeight& w, const float* x, int64_t n, float* y);

}  // namespace qinfer::ops::cpu

// add: the residual connection, x += y elementwise.
//
// Contract
//   x: any shape, F32 (updated in place)
//   y: same element count, dtype and device as x
#pragma once

#include "core/tensor.h"

namespace qinfer::ops {

void add(Tensor& x, const Tensor& y);

}  // namespace qinfer::ops

// embedding: out[i] = table[ids[i]], rows widened to F32. Also used to gather rows of an
// activation (the model picks the hidden states that need logits with it).
//
// Contract
//   table: (n_row, d) F32 / F16 / BF16, row-major
//   ids:   (n) I32, each in [0, n_row); an id out of range throws an Error naming it
//   out:   (n, d) F32, preallocated, same device as table
#pragma once

#include "core/tensor.h"

namespace qinfer::ops {

void embedding(const Tensor& table, const Tensor& ids, Tensor& out);

}  // namespace qinfer::ops

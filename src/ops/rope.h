// rope: rotary position embedding, NeoX / transformers layout ("rotate_half": the first and
// second halves of each head form the pairs), applied in place.
//
//   for head h < n_rot_head, j < head_dim/2, with a = pos * inv_freq[j] (fp32 product):
//     x1 = x[h, j], x2 = x[h, j + head_dim/2]
//     x[h, j]              = x1 * cos(a) - x2 * sin(a)
//     x[h, j + head_dim/2] = x2 * cos(a) + x1 * sin(a)
//   which is transformers' q * cos + rotate_half(q) * sin with cos/sin in float32.
//
// Contract
//   x:         (n, w) F32 with w >= n_rot_head * head_dim; heads are the first
//              n_rot_head * head_dim columns of each row (q then k of a fused qkv row)
//   positions: (n) I32, the position of each row's token
//   inv_freq:  (head_dim / 2) F32 (io::rope_inv_freq)
#pragma once

#include "core/tensor.h"

namespace qinfer::ops {

void rope(Tensor& x, const Tensor& positions, const Tensor& inv_freq, int64_t n_rot_head,
          int64_t head_dim);

}  // namespace qinfer::ops

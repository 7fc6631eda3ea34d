// Builds a model's linear layers from a checkpoint in whatever format it stores them
// (dense F32/F16/BF16, compressed-tensors FP8, ...). The model never branches on the format.
#pragma once

#include <string>
#include <vector>

#include "io/checkpoint.h"
#include "ops/linear.h"

namespace qinfer::quant {

// `modules` are Hugging Face module names ("model.layers.0.self_attn.q_proj"); when there are
// several (q/k/v, gate/up) their output rows are concatenated into one fused layer named
// `fused_name`, merging quantization parameters the way vLLM does (docs/FORMATS.md).
// Checks each tensor's shape against (n_out_i, n_in) and names file and tensor on error.
ops::LinearWeight load_linear(const io::Checkpoint& ck, const std::vector<std::string>& modules,
                              const std::vector<int64_t>& n_out, int64_t n_in,
                              const std::string& fused_name, bool has_bias);

}  // namespace qinfer::quant

#include "core/error.h"
#include "io/checkpoint.h"
#include "ops/linear.h"

namespace qinfer::quant {

// Placeholder until compressed-tensors support lands (issue: FP8 checkpoints): a checkpoint
// with a quantization_config is rejected rather than misread.
bool is_quantized_module(const io::Checkpoint& ck, const std::string&) {
  QINFER_CHECK(ck.config.quantization_config.is_null(), ck.path,
               ": quantized checkpoints (quantization_config) are not supported yet");
  return false;
}

ops::LinearWeight load_quantized(const io::Checkpoint&, const std::vector<std::string>&,
                                 const std::vector<int64_t>&, int64_t, const std::string& name) {
  QINFER_FAIL(name, ": quantized weights are not supported yet");
}

}  // namespace qinfer::quant

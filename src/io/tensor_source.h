// TensorSource: named tensors of a checkpoint, whatever the file format (safetensors single
// or sharded, GGUF). Names are Hugging Face's (`model.layers.0.self_attn.q_proj.weight`).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/tensor.h"

namespace qinfer::io {

class TensorSource {
 public:
  virtual ~TensorSource() = default;
  virtual bool has(const std::string& name) const = 0;
  // The tensor as stored (a CPU view into mapped memory or an owned buffer). Throws an
  // Error naming the tensor and the file when it is missing.
  virtual Tensor get(const std::string& name) const = 0;
  virtual std::vector<std::string> names() const = 0;
  // The file a tensor lives in (for error messages).
  virtual std::string file_of(const std::string& name) const = 0;

  // get() that also checks dtype-independent shape; the message names file, tensor, both shapes.
  Tensor get_checked(const std::string& name, const Shape& expected) const;
};

}  // namespace qinfer::io

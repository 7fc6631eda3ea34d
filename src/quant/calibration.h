// Static activation calibration: the absmax of every Linear layer's input over all calibration
// tokens (llm-compressor's "static_minmax" observer for a symmetric per-tensor scale).
// The model reports fused layers (q/k/v as "<prefix>.qkv_proj", gate/up as
// "<prefix>.gate_up_proj"); their members see the same input, so each member gets the fused
// layer's absmax, which is what llm-compressor measures on the unfused modules.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "ops/linear.h"

namespace qinfer::quant {

class ActivationAbsmax {
 public:
  // Pass as the model's LinearObserver: [&](auto& w, auto& x) { obs.observe(w, x); }.
  void observe(const ops::LinearWeight& w, const Tensor& x);
  // module name -> absmax over every token seen (unfused names).
  std::map<std::string, float> module_absmax() const;

 private:
  std::map<std::string, float> absmax_;  // by the model's (fused) layer name
};

// The Hugging Face modules behind one of the model's layer names.
std::vector<std::string> unfused_modules(const std::string& layer_name);

}  // namespace qinfer::quant

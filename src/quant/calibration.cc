#include "quant/calibration.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "ops/cuda/cuda_ops.h"

namespace qinfer::quant {

void ActivationAbsmax::observe(const ops::LinearWeight& w, const Tensor& x) {
  QINFER_CHECK(x.dtype() == DType::kF32, "calibration: ", w.name, ": expected F32 activations");
  float m = 0.0f;
  if (x.device() == Device::kCuda) {
    m = ops::cuda::absmax(x);
  } else {
    const float* p = x.data_as<float>();
    for (int64_t i = 0; i < x.numel(); ++i) m = std::max(m, std::fabs(p[i]));
  }
  float& a = absmax_[w.name];
  a = std::max(a, m);
}

std::map<std::string, float> ActivationAbsmax::module_absmax() const {
  std::map<std::string, float> out;
  for (const auto& [name, a] : absmax_)
    for (const std::string& m : unfused_modules(name)) out[m] = a;
  return out;
}

std::vector<std::string> unfused_modules(const std::string& layer_name) {
  auto strip = [&](const std::string& suffix, std::string* prefix) {
    if (layer_name.size() < suffix.size() ||
        layer_name.compare(layer_name.size() - suffix.size(), suffix.size(), suffix) != 0)
      return false;
    *prefix = layer_name.substr(0, layer_name.size() - suffix.size());
    return true;
  };
  std::string p;
  if (strip("qkv_proj", &p)) return {p + "q_proj", p + "k_proj", p + "v_proj"};
  if (strip("gate_up_proj", &p)) return {p + "gate_proj", p + "up_proj"};
  return {layer_name};
}

}  // namespace qinfer::quant

#include "quant/fp8_quantizer.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "core/dtype.h"
#include "core/error.h"
#include "core/thread_pool.h"
#include "quant/compressed_tensors.h"

namespace qinfer::quant {

namespace fs = std::filesystem;

namespace {

// Rounds to dtype d as a torch tensor of that dtype would hold the value.
float round_to(DType d, float v) {
  switch (d) {
    case DType::kBF16:
      return bf16_to_f32(f32_to_bf16(v));
    case DType::kF16:
      return f16_to_f32(f32_to_f16(v));
    default:
      return v;
  }
}

// torch.finfo(d).eps: compressed-tensors replaces a zero scale by it.
float eps_of(DType d) {
  switch (d) {
    case DType::kBF16:
      return 0.0078125f;  // 2^-7
    case DType::kF16:
      return 0.0009765625f;  // 2^-10
    default:
      return std::numeric_limits<float>::epsilon();
  }
}

void store(Tensor& t, size_t i, float v) {
  switch (t.dtype()) {
    case DType::kBF16:
      t.data_as<uint16_t>()[i] = f32_to_bf16(v);
      return;
    case DType::kF16:
      t.data_as<uint16_t>()[i] = f32_to_f16(v);
      return;
    case DType::kF32:
      t.data_as<float>()[i] = v;
      return;
    default:
      QINFER_FAIL("store: unsupported scale dtype ", dtype_name(t.dtype()));
  }
}

Json sorted(const Json& j) {
  if (j.is_object()) {
    std::vector<std::string> keys;
    for (const auto& kv : j.items()) keys.push_back(kv.key());
    std::sort(keys.begin(), keys.end());
    Json out = Json::object();
    for (const std::string& k : keys) out[k] = sorted(j.at(k));
    return out;
  }
  if (j.is_array()) {
    Json out = Json::array();
    for (const Json& e : j) out.push_back(sorted(e));
    return out;
  }
  return j;
}

Json args_json(const char* strategy, bool dynamic, const char* observer) {
  Json a = {{"dynamic", dynamic}, {"group_size", nullptr}, {"num_bits", 8}};
  if (observer) a["observer"] = observer;
  a["strategy"] = strategy;
  a["symmetric"] = true;
  a["type"] = "float";
  return a;
}

Json json_list(const std::vector<std::string>& v) {
  Json a = Json::array();
  for (const auto& s : v) a.push_back(s);
  return a;
}

}  // namespace

Fp8Scheme parse_fp8_scheme(const std::string& name) {
  if (name == "fp8") return {"fp8", true, ops::ActQuant::kStaticPerTensor, nullptr};
  if (name == "fp8-dynamic" || name == "FP8_DYNAMIC")
    return {"fp8-dynamic", true, ops::ActQuant::kDynamicPerToken, "FP8_DYNAMIC"};
  if (name == "fp8-per-tensor" || name == "FP8")
    return {"fp8-per-tensor", false, ops::ActQuant::kStaticPerTensor, "FP8"};
  QINFER_FAIL("--scheme '", name, "' is not supported (fp8, fp8-dynamic, fp8-per-tensor)");
}

QuantizedWeight quantize_weight_fp8(const Tensor& w, bool per_channel) {
  const DType d = w.dtype();
  QINFER_CHECK(w.ndim() == 2 && (d == DType::kBF16 || d == DType::kF16 || d == DType::kF32),
               "quantize_weight_fp8: expected a 2-D BF16/F16/F32 weight, got ", dtype_name(d), " ",
               shape_str(w.shape()));
  const int64_t n_out = w.dim(0), n_in = w.dim(1);
  QuantizedWeight r;
  r.q = Tensor::empty(DType::kF8E4M3, {n_out, n_in});
  r.scale = per_channel ? Tensor::empty(d, {n_out, 1}) : Tensor::empty(d, {1});
  const void* src = w.data();
  auto scale_of = [&](int64_t o0, int64_t o1) {
    float amax = 0.0f;
    for (int64_t i = o0 * n_in; i < o1 * n_in; ++i)
      amax = std::max(amax, std::fabs(load_as_f32(src, d, size_t(i))));
    const float s = round_to(d, amax / kFp8E4M3Max);
    return s == 0.0f ? eps_of(d) : s;
  };
  // Rows in parallel (the per-tensor absmax first): the result does not depend on the split.
  float s_tensor = 0.0f;
  if (!per_channel) {
    std::vector<float> part(size_t(ThreadPool::global().size()), 0.0f);
    parallel_for(n_out, [&](int64_t o0, int64_t o1, int t) {
      for (int64_t i = o0 * n_in; i < o1 * n_in; ++i)
        part[size_t(t)] = std::max(part[size_t(t)], std::fabs(load_as_f32(src, d, size_t(i))));
    });
    const float amax = *std::max_element(part.begin(), part.end());
    s_tensor = round_to(d, amax / kFp8E4M3Max);
    if (s_tensor == 0.0f) s_tensor = eps_of(d);
    store(r.scale, 0, s_tensor);
  }
  uint8_t* q = r.q.data_as<uint8_t>();
  parallel_for(n_out, [&](int64_t o0, int64_t o1, int) {
    for (int64_t o = o0; o < o1; ++o) {
      float s = s_tensor;
      if (per_channel) {
        s = scale_of(o, o + 1);
        store(r.scale, size_t(o), s);
      }
      for (int64_t k = 0; k < n_in; ++k) {
        const size_t i = size_t(o * n_in + k);
        // x / scale in the weight's dtype, then clamp, then round to E4M3 (two roundings, as
        // compressed-tensors does for a BF16 model).
        const float v = round_to(d, load_as_f32(src, d, i) / s);
        q[i] = f32_to_fp8e4m3(std::clamp(v, -kFp8E4M3Max, kFp8E4M3Max));
      }
    }
  });
  return r;
}

float input_scale_from_absmax(float absmax, DType d) {
  const float s = round_to(d, round_to(d, absmax) / kFp8E4M3Max);
  return s == 0.0f ? eps_of(d) : s;
}

bool is_linear_weight(const std::string& tensor, std::string* module) {
  static const char* kSuffixes[] = {".q_proj.weight",   ".k_proj.weight",    ".v_proj.weight",
                                    ".o_proj.weight",   ".gate_proj.weight", ".up_proj.weight",
                                    ".down_proj.weight"};
  bool hit = tensor == "lm_head.weight";
  for (const char* s : kSuffixes) {
    const std::string suf(s);
    hit = hit || (tensor.size() > suf.size() &&
                  tensor.compare(tensor.size() - suf.size(), suf.size(), suf) == 0);
  }
  if (hit && module) *module = tensor.substr(0, tensor.size() - 7);
  return hit;
}

Json fp8_quantization_config(const Fp8Scheme& s, const std::vector<std::string>& ignore) {
  const bool stat = s.act == ops::ActQuant::kStaticPerTensor;
  Json group = {
      {"format", nullptr},
      {"input_activations",
       stat ? args_json("tensor", false, "static_minmax") : args_json("token", true, nullptr)},
      {"output_activations", nullptr},
      {"targets", {"Linear"}},
      {"weights", args_json(s.weight_per_channel ? "channel" : "tensor", false, nullptr)}};
  // compressed-tensors 0.20 ModelCompressor.update_config: version, quant_method,
  // sparsity_config {}, transform_config {}, then QuantizationConfig.model_dump().
  Json qc = {{"config_groups", {{"group_0", group}}},
             {"format", "float-quantized"},
             {"global_compression_ratio", nullptr},
             {"ignore", json_list(ignore)},
             {"kv_cache_scheme", nullptr},
             {"moe_sparsity_config", nullptr},
             {"quant_method", "compressed-tensors"},
             {"quantization_status", "compressed"},
             {"sparsity_config", Json::object()},
             {"transform_config", Json::object()},
             {"version", "0.20.0"}};
  return sorted(qc);
}

std::string fp8_recipe_yaml(const Fp8Scheme& s, const std::vector<std::string>& ignore) {
  std::string ig = "[";
  for (size_t i = 0; i < ignore.size(); ++i) ig += (i ? ", " : "") + ignore[i];
  ig += "]";
  std::string y = "default_stage:\n  default_modifiers:\n    QuantizationModifier:\n";
  if (s.preset) {
    y += str_cat("      targets: [Linear]\n      ignore: ", ig, "\n      scheme: ", s.preset, "\n");
    return y;
  }
  // No preset equals this scheme: spell out its config group.
  y += str_cat(
      "      config_groups:\n        group_0:\n          targets: [Linear]\n"
      "          weights: {num_bits: 8, type: float, strategy: channel, symmetric: true, "
      "dynamic: false}\n"
      "          input_activations: {num_bits: 8, type: float, strategy: tensor, symmetric: "
      "true, dynamic: false, observer: static_minmax}\n      ignore: ",
      ig, "\n");
  return y;
}

}  // namespace qinfer::quant

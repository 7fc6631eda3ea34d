// compressed-tensors FP8 checkpoints: config parsing, scheme matching and loading with vLLM's
// fusion rules (docs/FORMATS.md, "compressed-tensors (FP8)").
#include "quant/compressed_tensors.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <regex>

#include "core/dtype.h"
#include "core/error.h"

namespace qinfer::quant {

namespace {

std::optional<CtArgs> parse_args(const Json& j, const std::string& where) {
  if (j.is_null()) return std::nullopt;
  QINFER_CHECK(j.is_object(), where, ": expected an object or null");
  auto field = [&](const char* k) -> const Json& {
    QINFER_CHECK(j.contains(k), where, ".", k, " is missing");
    return j.at(k);
  };
  const Json& bits = field("num_bits");
  QINFER_CHECK(bits.is_number_integer() && bits.get<int64_t>() == 8, where,
               ".num_bits = ", bits.dump(), ": only 8-bit FP8 (E4M3) is supported");
  const Json& type = field("type");
  QINFER_CHECK(type.is_string() && type.get<std::string>() == "float", where,
               ".type = ", type.dump(), ": only \"float\" (FP8 E4M3) is supported");
  if (j.contains("symmetric") && !j.at("symmetric").is_null())
    QINFER_CHECK(j.at("symmetric").is_boolean() && j.at("symmetric").get<bool>(), where,
                 ".symmetric must be true (asymmetric FP8 is not supported)");
  if (j.contains("group_size") && !j.at("group_size").is_null())
    QINFER_FAIL(where, ".group_size = ", j.at("group_size").dump(),
                ": group-wise FP8 is not supported");
  if (j.contains("block_structure") && !j.at("block_structure").is_null())
    QINFER_FAIL(where, ".block_structure: block-wise FP8 is not supported");
  CtArgs a;
  const Json& st = field("strategy");
  QINFER_CHECK(st.is_string(), where, ".strategy must be a string");
  const std::string s = st.get<std::string>();
  if (s == "tensor") {
    a.strategy = CtStrategy::kTensor;
  } else if (s == "channel") {
    a.strategy = CtStrategy::kChannel;
  } else if (s == "token") {
    a.strategy = CtStrategy::kToken;
  } else {
    QINFER_FAIL(where, ".strategy = \"", s, "\": only tensor, channel and token are supported");
  }
  if (j.contains("dynamic") && !j.at("dynamic").is_null()) {
    const Json& d = j.at("dynamic");
    QINFER_CHECK(d.is_boolean(), where, ".dynamic = ", d.dump(),
                 ": only true/false are supported (\"local\" is not)");
    a.dynamic = d.get<bool>();
  }
  return a;
}

std::vector<std::string> parse_names(const Json& j, const std::string& where) {
  std::vector<std::string> out;
  if (j.is_null()) return out;
  QINFER_CHECK(j.is_array(), where, ": expected a list of strings");
  for (const Json& e : j) {
    QINFER_CHECK(e.is_string(), where, ": expected a list of strings, found ", e.dump());
    out.push_back(e.get<std::string>());
  }
  return out;
}

// A group's weights/activations must be a combination vLLM runs: weights tensor|channel,
// static; activations none, static tensor, or dynamic token.
void check_group(const CtGroup& g, const std::string& where) {
  QINFER_CHECK(g.weights.has_value(), where, ".weights is null: activation-only quantization ",
               "is not supported");
  QINFER_CHECK(!g.weights->dynamic, where, ".weights.dynamic must be false");
  QINFER_CHECK(g.weights->strategy != CtStrategy::kToken, where,
               ".weights.strategy \"token\" is not supported (tensor or channel)");
  if (g.input_activations) {
    const CtArgs& a = *g.input_activations;
    const bool ok = (!a.dynamic && a.strategy == CtStrategy::kTensor) ||
                    (a.dynamic && a.strategy == CtStrategy::kToken);
    QINFER_CHECK(ok, where, ".input_activations: only static per-tensor or dynamic per-token ",
                 "FP8 activations are supported");
  }
}

bool regex_match_prefix(const std::string& pattern, const std::string& name) {
  // Python's re.match: anchored at the start, not at the end.
  try {
    return std::regex_search(name, std::regex(pattern), std::regex_constants::match_continuous);
  } catch (const std::regex_error& e) {
    QINFER_FAIL("quantization_config: bad regex \"re:", pattern, "\": ", e.what());
  }
}

bool name_matches(const std::string& target, const std::string& name) {
  if (target.rfind("re:", 0) == 0) return regex_match_prefix(target.substr(3), name);
  return target == name;
}

}  // namespace

CtConfig parse_ct_config(const Json& qc, const std::string& source) {
  const std::string where = source + ": quantization_config";
  QINFER_CHECK(qc.is_object(), where, " must be an object");
  const std::string method = qc.value("quant_method", std::string());
  QINFER_CHECK(method == "compressed-tensors", where, ".quant_method = \"", method,
               "\": only \"compressed-tensors\" is supported");
  const std::string format = qc.value("format", std::string());
  QINFER_CHECK(format == "float-quantized", where, ".format = \"", format,
               "\": only \"float-quantized\" (FP8) is supported");
  if (qc.contains("quantization_status") && !qc.at("quantization_status").is_null()) {
    const std::string st = qc.at("quantization_status").get<std::string>();
    QINFER_CHECK(st == "compressed", where, ".quantization_status = \"", st,
                 "\": only compressed checkpoints (stored FP8) are supported");
  }
  if (qc.contains("sparsity_config") && qc.at("sparsity_config").is_object() &&
      !qc.at("sparsity_config").empty())
    QINFER_FAIL(where, ".sparsity_config: sparse checkpoints are not supported");
  CtConfig c;
  QINFER_CHECK(qc.contains("config_groups") && qc.at("config_groups").is_object(), where,
               ".config_groups is missing");
  for (const auto& [name, g] : qc.at("config_groups").items()) {
    const std::string gw = where + ".config_groups." + name;
    QINFER_CHECK(g.is_object(), gw, " must be an object");
    CtGroup group;
    group.name = name;
    group.targets = parse_names(g.value("targets", Json()), gw + ".targets");
    QINFER_CHECK(!group.targets.empty(), gw, ".targets is empty");
    group.weights = parse_args(g.value("weights", Json()), gw + ".weights");
    group.input_activations =
        parse_args(g.value("input_activations", Json()), gw + ".input_activations");
    QINFER_CHECK(g.value("output_activations", Json()).is_null(), gw,
                 ".output_activations: output quantization is not supported");
    const Json fmt = g.value("format", Json());
    QINFER_CHECK(fmt.is_null() || fmt == "float-quantized", gw, ".format = ", fmt.dump(),
                 ": only \"float-quantized\" is supported");
    check_group(group, gw);
    c.groups.push_back(std::move(group));
  }
  QINFER_CHECK(!c.groups.empty(), where, ".config_groups is empty");
  c.ignore = parse_names(qc.value("ignore", Json()), where + ".ignore");
  c.kv_cache = parse_args(qc.value("kv_cache_scheme", Json()), where + ".kv_cache_scheme");
  if (c.kv_cache)
    QINFER_CHECK(!c.kv_cache->dynamic && c.kv_cache->strategy == CtStrategy::kTensor, where,
                 ".kv_cache_scheme: only static per-tensor FP8 KV cache is supported");
  return c;
}

const CtGroup* match_group(const CtConfig& c, const std::string& module,
                           const std::string& class_name) {
  for (const std::string& ig : c.ignore)
    if (name_matches(ig, module)) return nullptr;
  // target -> group, a later group taking over a target (compressed-tensors' target_to_scheme);
  // then exact names, then regexes (alphabetical, as match_targets sorts), then class names.
  std::map<std::string, const CtGroup*> by_target;
  for (const CtGroup& g : c.groups)
    for (const std::string& t : g.targets) by_target[t] = &g;
  auto it = by_target.find(module);
  if (it != by_target.end()) return it->second;
  for (const auto& [t, g] : by_target)
    if (t.rfind("re:", 0) == 0 && regex_match_prefix(t.substr(3), module)) return g;
  it = by_target.find(class_name);
  return it == by_target.end() ? nullptr : it->second;
}

bool is_quantized_module(const io::Checkpoint& ck, const std::string& module) {
  if (ck.config.quantization_config.is_null()) return false;
  const CtConfig c = parse_ct_config(ck.config.quantization_config, ck.path + "/config.json");
  return match_group(c, module) != nullptr;
}

std::vector<float> read_scales(const io::TensorSource& src, const std::string& name,
                               int64_t expected) {
  QINFER_CHECK(src.has(name), "tensor '", name, "' is missing (required by the FP8 scheme)");
  Tensor t = src.get(name);
  const DType dt = t.dtype();
  QINFER_CHECK(dt == DType::kF32 || dt == DType::kBF16 || dt == DType::kF16, src.file_of(name),
               ": tensor '", name, "' has dtype ", dtype_name(dt),
               "; scales must be BF16, F16 or F32");
  const Shape& s = t.shape();
  const bool ok = expected == 1 ? t.numel() == 1 && s.size() <= 2
                                : (s == Shape{expected} || s == Shape{expected, 1});
  QINFER_CHECK(ok, src.file_of(name), ": tensor '", name, "' has shape ", shape_str(s),
               ", expected ", expected == 1 ? "[] or [1]" : str_cat("[", expected, ", 1]"));
  std::vector<float> v(size_t(t.numel()));
  for (size_t i = 0; i < v.size(); ++i) {
    v[i] = load_as_f32(t.data(), dt, i);
    QINFER_CHECK(std::isfinite(v[i]) && v[i] > 0.0f, src.file_of(name), ": tensor '", name,
                 "' element ", i, " is ", v[i], "; scales must be finite and > 0");
  }
  return v;
}

void requantize_shard(const uint8_t* w, int64_t n, float s, float s_max, uint8_t* out) {
  const float inv = 1.0f / s_max;
  for (int64_t i = 0; i < n; ++i) {
    const float dq = f16_to_f32(f32_to_f16(fp8e4m3_to_f32(w[i]) * s));
    out[i] = f32_to_fp8e4m3(std::clamp(dq * inv, -kFp8E4M3Max, kFp8E4M3Max));
  }
}

KvCacheScales load_kv_cache_scales(const io::Checkpoint& ck) {
  KvCacheScales r;
  if (ck.config.quantization_config.is_null()) return r;
  const CtConfig c = parse_ct_config(ck.config.quantization_config, ck.path + "/config.json");
  if (!c.kv_cache) return r;
  r.fp8 = true;
  for (int64_t l = 0; l < ck.config.n_layer; ++l) {
    const std::string p = str_cat("model.layers.", l, ".self_attn.");
    r.k_scale.push_back(
        ck.tensors->has(p + "k_scale") ? read_scales(*ck.tensors, p + "k_scale", 1)[0] : 1.0f);
    r.v_scale.push_back(
        ck.tensors->has(p + "v_scale") ? read_scales(*ck.tensors, p + "v_scale", 1)[0] : 1.0f);
  }
  return r;
}

}  // namespace qinfer::quant

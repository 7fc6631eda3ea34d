#include "io/model_config.h"

#include <cmath>
#include <filesystem>

#include "core/error.h"

namespace qinfer::io {

namespace {

int64_t get_int(const Json& j, const char* key, const std::string& src, bool required,
                int64_t fallback = 0) {
  if (!j.contains(key) || j[key].is_null()) {
    QINFER_CHECK(!required, src, ": missing required field '", key, "'");
    return fallback;
  }
  QINFER_CHECK(j[key].is_number_integer(), src, ": field '", key, "' must be an integer");
  return j[key].get<int64_t>();
}

float get_float(const Json& j, const char* key, const std::string& src, float fallback) {
  if (!j.contains(key) || j[key].is_null()) return fallback;
  QINFER_CHECK(j[key].is_number(), src, ": field '", key, "' must be a number");
  return j[key].get<float>();
}

bool get_bool(const Json& j, const char* key, const std::string& src, bool fallback) {
  if (!j.contains(key) || j[key].is_null()) return fallback;
  QINFER_CHECK(j[key].is_boolean(), src, ": field '", key, "' must be true or false");
  return j[key].get<bool>();
}

std::vector<int64_t> get_id_list(const Json& j, const char* key, const std::string& src) {
  std::vector<int64_t> r;
  if (!j.contains(key) || j[key].is_null()) return r;
  const Json& v = j[key];
  if (v.is_number_integer()) {
    r.push_back(v.get<int64_t>());
  } else {
    QINFER_CHECK(v.is_array(), src, ": field '", key, "' must be an integer or a list");
    for (const Json& x : v) {
      QINFER_CHECK(x.is_number_integer(), src, ": field '", key, "' has a non-integer entry");
      r.push_back(x.get<int64_t>());
    }
  }
  return r;
}

}  // namespace

ModelConfig parse_model_config(const Json& j, const std::string& src) {
  QINFER_CHECK(j.is_object(), src, ": not a JSON object");
  ModelConfig c;
  std::string arch;
  if (j.contains("architectures") && j["architectures"].is_array() &&
      !j["architectures"].empty() && j["architectures"][0].is_string())
    arch = j["architectures"][0].get<std::string>();
  std::string model_type = j.value("model_type", std::string());
  QINFER_CHECK(arch == "LlamaForCausalLM" || (arch.empty() && model_type == "llama"), src,
               ": unsupported architecture '", arch.empty() ? model_type : arch,
               "' (qinfer runs LlamaForCausalLM / model_type llama)");
  c.architecture = "LlamaForCausalLM";
  c.vocab_size = get_int(j, "vocab_size", src, true);
  c.hidden_size = get_int(j, "hidden_size", src, true);
  c.intermediate_size = get_int(j, "intermediate_size", src, true);
  c.n_layer = get_int(j, "num_hidden_layers", src, true);
  c.n_head = get_int(j, "num_attention_heads", src, true);
  c.n_head_kv = get_int(j, "num_key_value_heads", src, false, c.n_head);
  QINFER_CHECK(c.vocab_size > 0 && c.hidden_size > 0 && c.intermediate_size > 0 &&
                   c.n_layer > 0 && c.n_head > 0 && c.n_head_kv > 0,
               src, ": sizes must be positive");
  QINFER_CHECK(c.n_head % c.n_head_kv == 0, src, ": num_attention_heads (", c.n_head,
               ") is not a multiple of num_key_value_heads (", c.n_head_kv, ")");
  if (j.contains("head_dim") && !j["head_dim"].is_null()) {
    c.head_dim = get_int(j, "head_dim", src, true);
  } else {
    QINFER_CHECK(c.hidden_size % c.n_head == 0, src, ": hidden_size ", c.hidden_size,
                 " is not divisible by num_attention_heads ", c.n_head);
    c.head_dim = c.hidden_size / c.n_head;
  }
  QINFER_CHECK(c.head_dim > 0 && c.head_dim % 2 == 0, src, ": head_dim must be positive and even");
  c.max_position_embeddings = get_int(j, "max_position_embeddings", src, false, 2048);
  c.rms_norm_eps = get_float(j, "rms_norm_eps", src, 1e-6f);
  c.rope_theta = get_float(j, "rope_theta", src, 10000.0f);
  if (j.contains("hidden_act") && j["hidden_act"].is_string()) {
    std::string act = j["hidden_act"].get<std::string>();
    QINFER_CHECK(act == "silu", src, ": hidden_act '", act, "' is not supported (only silu)");
  }
  const Json* rs = nullptr;
  if (j.contains("rope_scaling") && !j["rope_scaling"].is_null()) rs = &j["rope_scaling"];
  // transformers >= 5 writes rope_parameters {rope_type, rope_theta, factor, ...} instead.
  if (!rs && j.contains("rope_parameters") && j["rope_parameters"].is_object()) {
    rs = &j["rope_parameters"];
    c.rope_theta = get_float(*rs, "rope_theta", src, c.rope_theta);
  }
  if (rs) {
    QINFER_CHECK(rs->is_object(), src, ": rope_scaling must be an object or null");
    std::string type = rs->value("rope_type", rs->value("type", std::string("default")));
    if (type == "default") {
      c.rope_scaling.type = RopeScalingType::kNone;
    } else if (type == "linear") {
      c.rope_scaling.type = RopeScalingType::kLinear;
      c.rope_scaling.factor = get_float(*rs, "factor", src, 1.0f);
    } else if (type == "llama3") {
      c.rope_scaling.type = RopeScalingType::kLlama3;
      c.rope_scaling.factor = get_float(*rs, "factor", src, 8.0f);
      c.rope_scaling.low_freq_factor = get_float(*rs, "low_freq_factor", src, 1.0f);
      c.rope_scaling.high_freq_factor = get_float(*rs, "high_freq_factor", src, 4.0f);
      c.rope_scaling.original_max_position_embeddings =
          get_int(*rs, "original_max_position_embeddings", src, false, 8192);
      QINFER_CHECK(c.rope_scaling.high_freq_factor != c.rope_scaling.low_freq_factor, src,
                   ": rope_scaling high_freq_factor must differ from low_freq_factor");
    } else {
      QINFER_FAIL(src, ": rope_scaling type '", type,
                  "' is not supported (default, linear, llama3)");
    }
    QINFER_CHECK(c.rope_scaling.factor > 0, src, ": rope_scaling factor must be positive");
  }
  c.tie_word_embeddings = get_bool(j, "tie_word_embeddings", src, false);
  c.attention_bias = get_bool(j, "attention_bias", src, false);
  c.mlp_bias = get_bool(j, "mlp_bias", src, false);
  // transformers 5 writes "dtype" (older versions "torch_dtype"); either may be null.
  for (const char* key : {"torch_dtype", "dtype"}) {
    if (j.contains(key) && j[key].is_string()) {
      c.torch_dtype = j[key].get<std::string>();
      break;
    }
  }
  if (j.contains("bos_token_id") && j["bos_token_id"].is_number_integer())
    c.bos_token_id = j["bos_token_id"].get<int64_t>();
  c.eos_token_ids = get_id_list(j, "eos_token_id", src);
  if (j.contains("quantization_config") && !j["quantization_config"].is_null())
    c.quantization_config = j["quantization_config"];
  else if (j.contains("compression_config") && !j["compression_config"].is_null())
    c.quantization_config = j["compression_config"];
  return c;
}

ModelConfig load_model_config(const std::string& dir) {
  const std::string path = (std::filesystem::path(dir) / "config.json").string();
  QINFER_CHECK(std::filesystem::exists(path), dir, ": no config.json");
  return parse_model_config(read_json_file(path), path);
}

Json model_config_to_json(const ModelConfig& c) {
  Json j = Json::object();
  j["architectures"] = {"LlamaForCausalLM"};
  j["attention_bias"] = c.attention_bias;
  j["attention_dropout"] = 0.0;
  if (c.bos_token_id) j["bos_token_id"] = *c.bos_token_id;
  if (c.eos_token_ids.size() == 1)
    j["eos_token_id"] = c.eos_token_ids[0];
  else if (!c.eos_token_ids.empty())
    j["eos_token_id"] = c.eos_token_ids;
  j["head_dim"] = c.head_dim;
  j["hidden_act"] = "silu";
  j["hidden_size"] = c.hidden_size;
  j["initializer_range"] = 0.02;
  j["intermediate_size"] = c.intermediate_size;
  j["max_position_embeddings"] = c.max_position_embeddings;
  j["mlp_bias"] = c.mlp_bias;
  j["model_type"] = "llama";
  j["num_attention_heads"] = c.n_head;
  j["num_hidden_layers"] = c.n_layer;
  j["num_key_value_heads"] = c.n_head_kv;
  j["pretraining_tp"] = 1;
  j["rms_norm_eps"] = c.rms_norm_eps;
  switch (c.rope_scaling.type) {
    case RopeScalingType::kNone: j["rope_scaling"] = nullptr; break;
    case RopeScalingType::kLinear:
      j["rope_scaling"] = {{"factor", c.rope_scaling.factor}, {"rope_type", "linear"}};
      break;
    case RopeScalingType::kLlama3:
      j["rope_scaling"] = {
          {"factor", c.rope_scaling.factor},
          {"high_freq_factor", c.rope_scaling.high_freq_factor},
          {"low_freq_factor", c.rope_scaling.low_freq_factor},
          {"original_max_position_embeddings", c.rope_scaling.original_max_position_embeddings},
          {"rope_type", "llama3"}};
      break;
  }
  j["rope_theta"] = c.rope_theta;
  j["tie_word_embeddings"] = c.tie_word_embeddings;
  j["torch_dtype"] = c.torch_dtype;
  j["use_cache"] = true;
  j["vocab_size"] = c.vocab_size;
  if (!c.quantization_config.is_null()) j["quantization_config"] = c.quantization_config;
  return j;
}

GenerationConfig parse_generation_config(const Json& j, const std::string& src) {
  QINFER_CHECK(j.is_object(), src, ": not a JSON object");
  GenerationConfig g;
  if (j.contains("bos_token_id") && j["bos_token_id"].is_number_integer())
    g.bos_token_id = j["bos_token_id"].get<int64_t>();
  g.eos_token_ids = get_id_list(j, "eos_token_id", src);
  if (j.contains("temperature") && !j["temperature"].is_null())
    g.temperature = get_float(j, "temperature", src, 1.0f);
  if (j.contains("top_p") && !j["top_p"].is_null()) g.top_p = get_float(j, "top_p", src, 1.0f);
  if (j.contains("top_k") && !j["top_k"].is_null()) g.top_k = get_int(j, "top_k", src, false);
  if (j.contains("min_p") && !j["min_p"].is_null()) g.min_p = get_float(j, "min_p", src, 0.0f);
  if (j.contains("repetition_penalty") && !j["repetition_penalty"].is_null())
    g.repetition_penalty = get_float(j, "repetition_penalty", src, 1.0f);
  if (j.contains("do_sample") && !j["do_sample"].is_null())
    g.do_sample = get_bool(j, "do_sample", src, false);
  if (j.contains("max_new_tokens") && !j["max_new_tokens"].is_null())
    g.max_new_tokens = get_int(j, "max_new_tokens", src, false);
  return g;
}

GenerationConfig load_generation_config(const std::string& dir) {
  const std::string path = (std::filesystem::path(dir) / "generation_config.json").string();
  if (!std::filesystem::exists(path)) return {};
  return parse_generation_config(read_json_file(path), path);
}

std::vector<float> rope_inv_freq(const ModelConfig& c) {
  const int64_t dim = c.head_dim;
  std::vector<float> inv(size_t(dim / 2));
  for (int64_t i = 0; i < dim / 2; ++i) {
    // transformers: 1.0 / (base ** (arange(0, dim, 2).float() / dim)), float32.
    float e = float(2 * i) / float(dim);
    inv[size_t(i)] = 1.0f / std::pow(c.rope_theta, e);
  }
  const RopeScaling& rs = c.rope_scaling;
  if (rs.type == RopeScalingType::kLinear) {
    for (float& f : inv) f /= rs.factor;
  } else if (rs.type == RopeScalingType::kLlama3) {
    // transformers _compute_llama3_parameters (Llama 3.1 release formula).
    const float old_ctx = float(rs.original_max_position_embeddings);
    const float low_wavelen = old_ctx / rs.low_freq_factor;
    const float high_wavelen = old_ctx / rs.high_freq_factor;
    const float pi = 3.14159265358979323846f;
    for (float& f : inv) {
      const float wavelen = 2.0f * pi / f;
      float scaled = wavelen > low_wavelen ? f / rs.factor : f;
      const bool medium = !(wavelen < high_wavelen) && !(wavelen > low_wavelen);
      if (medium) {
        const float smooth =
            (old_ctx / wavelen - rs.low_freq_factor) / (rs.high_freq_factor - rs.low_freq_factor);
        scaled = (1.0f - smooth) * scaled / rs.factor + smooth * scaled;
      }
      f = scaled;
    }
  }
  return inv;
}

}  // namespace qinfer::io

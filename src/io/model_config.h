// config.json (transformers LlamaConfig) and generation_config.json, validated.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/json.h"

namespace qinfer::io {

enum class RopeScalingType { kNone, kLinear, kLlama3 };

struct RopeScaling {
  RopeScalingType type = RopeScalingType::kNone;
  float factor = 1.0f;
  float low_freq_factor = 1.0f;                  // llama3
  float high_freq_factor = 4.0f;                 // llama3
  int64_t original_max_position_embeddings = 8192;  // llama3
};

struct ModelConfig {
  std::string architecture = "LlamaForCausalLM";
  int64_t vocab_size = 0;
  int64_t hidden_size = 0;
  int64_t intermediate_size = 0;
  int64_t n_layer = 0;        // num_hidden_layers
  int64_t n_head = 0;         // num_attention_heads
  int64_t n_head_kv = 0;      // num_key_value_heads (defaults to n_head)
  int64_t head_dim = 0;       // explicit, or hidden_size / n_head
  int64_t max_position_embeddings = 2048;
  float rms_norm_eps = 1e-6f;
  float rope_theta = 10000.0f;
  RopeScaling rope_scaling;
  bool tie_word_embeddings = false;
  bool attention_bias = false;
  bool mlp_bias = false;
  std::string torch_dtype = "float32";
  std::optional<int64_t> bos_token_id;
  std::vector<int64_t> eos_token_ids;  // eos_token_id: int or list
  // The raw quantization_config (or compression_config), null when absent; the quant layer
  // interprets it.
  Json quantization_config;
};

// Parses and validates; `source` names the file in error messages.
ModelConfig parse_model_config(const Json& j, const std::string& source = "config.json");
ModelConfig load_model_config(const std::string& dir);
// The config.json transformers would write for this config (used by converters/quantizers).
Json model_config_to_json(const ModelConfig& c);

struct GenerationConfig {
  std::optional<int64_t> bos_token_id;
  std::vector<int64_t> eos_token_ids;
  std::optional<float> temperature;
  std::optional<float> top_p;
  std::optional<int64_t> top_k;
  std::optional<float> min_p;
  std::optional<float> repetition_penalty;
  std::optional<bool> do_sample;
  std::optional<int64_t> max_new_tokens;
};

GenerationConfig parse_generation_config(const Json& j,
                                         const std::string& source = "generation_config.json");
// Missing file -> empty config.
GenerationConfig load_generation_config(const std::string& dir);

// Rotary inverse frequencies (head_dim / 2 of them), exactly as transformers'
// ROPE_INIT_FUNCTIONS compute them in float32: default, linear (inv_freq / factor) and
// llama3 (wavelength-dependent smoothing between factor and 1).
std::vector<float> rope_inv_freq(const ModelConfig& c);

}  // namespace qinfer::io

// config.json / generation_config.json parsing, and io::rope_inv_freq against the values
// transformers computes (model.model.rotary_emb.inv_freq, stored by tools/make_golden.py).
#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "core/error.h"
#include "io/model_config.h"
#include "io/safetensors.h"

namespace qinfer::io {
namespace {

Json base() {
  return Json::parse(R"({"architectures": ["LlamaForCausalLM"], "model_type": "llama",
    "vocab_size": 128256, "hidden_size": 2048, "intermediate_size": 8192,
    "num_hidden_layers": 16, "num_attention_heads": 32, "num_key_value_heads": 8,
    "rms_norm_eps": 1e-05, "rope_theta": 500000.0, "tie_word_embeddings": true,
    "bos_token_id": 128000, "eos_token_id": 128001})");
}

void expect_error(const Json& j, const std::string& part) {
  try {
    parse_model_config(j, "cfg.json");
    FAIL() << "no error; expected one mentioning '" << part << "'";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("cfg.json"), std::string::npos) << e.what();
  }
}

TEST(ModelConfig, Llama32Shapes) {
  ModelConfig c = parse_model_config(base());
  EXPECT_EQ(c.n_head, 32);
  EXPECT_EQ(c.n_head_kv, 8);
  EXPECT_EQ(c.head_dim, 64);  // hidden / heads
  EXPECT_TRUE(c.tie_word_embeddings);
  EXPECT_FLOAT_EQ(c.rope_theta, 500000.0f);
  EXPECT_EQ(c.eos_token_ids, (std::vector<int64_t>{128001}));
  EXPECT_EQ(c.rope_scaling.type, RopeScalingType::kNone);
}

TEST(ModelConfig, DtypeMayBeNullOrEitherKey) {
  Json j = base();
  j["dtype"] = nullptr;  // transformers 5 writes this for some models
  EXPECT_EQ(parse_model_config(j).torch_dtype, "float32");
  j["dtype"] = "bfloat16";
  EXPECT_EQ(parse_model_config(j).torch_dtype, "bfloat16");
  j["torch_dtype"] = "float16";
  EXPECT_EQ(parse_model_config(j).torch_dtype, "float16");
}

TEST(ModelConfig, GqaDefaultsAndExplicitHeadDim) {
  Json j = base();
  j.erase("num_key_value_heads");
  EXPECT_EQ(parse_model_config(j).n_head_kv, 32);  // MHA when absent
  j = base();
  j["head_dim"] = 128;  // head_dim != hidden / heads
  EXPECT_EQ(parse_model_config(j).head_dim, 128);
  j = base();
  j["num_key_value_heads"] = 5;
  expect_error(j, "num_key_value_heads");
}

TEST(ModelConfig, EosIntOrList) {
  Json j = base();
  j["eos_token_id"] = {128001, 128008, 128009};
  EXPECT_EQ(parse_model_config(j).eos_token_ids, (std::vector<int64_t>{128001, 128008, 128009}));
  Json g = Json::parse(R"({"eos_token_id": [1, 2], "temperature": 0.6, "top_p": 0.9})");
  GenerationConfig gc = parse_generation_config(g);
  EXPECT_EQ(gc.eos_token_ids, (std::vector<int64_t>{1, 2}));
  EXPECT_FLOAT_EQ(*gc.temperature, 0.6f);
  EXPECT_FLOAT_EQ(*gc.top_p, 0.9f);
  EXPECT_FALSE(gc.top_k.has_value());
}

TEST(ModelConfig, RopeScalingTypes) {
  Json j = base();
  j["rope_scaling"] = Json::parse(R"({"rope_type": "llama3", "factor": 32.0, "low_freq_factor": 1.0,
      "high_freq_factor": 4.0, "original_max_position_embeddings": 8192})");
  ModelConfig c = parse_model_config(j);
  EXPECT_EQ(c.rope_scaling.type, RopeScalingType::kLlama3);
  EXPECT_FLOAT_EQ(c.rope_scaling.factor, 32.0f);
  j["rope_scaling"] = Json::parse(R"({"type": "linear", "factor": 2.0})");  // older key
  EXPECT_EQ(parse_model_config(j).rope_scaling.type, RopeScalingType::kLinear);
  j["rope_scaling"] = nullptr;
  EXPECT_EQ(parse_model_config(j).rope_scaling.type, RopeScalingType::kNone);
  j["rope_scaling"] = Json::parse(R"({"rope_type": "yarn", "factor": 4.0})");
  expect_error(j, "yarn");
}

// transformers >= 5 writes rope_parameters (with rope_theta inside) instead.
TEST(ModelConfig, RopeParametersOfTransformers5) {
  Json j = base();
  j.erase("rope_theta");
  j["rope_parameters"] = Json::parse(R"({"rope_type": "llama3", "rope_theta": 500000.0,
      "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
      "original_max_position_embeddings": 8192})");
  ModelConfig c = parse_model_config(j);
  EXPECT_FLOAT_EQ(c.rope_theta, 500000.0f);
  EXPECT_EQ(c.rope_scaling.type, RopeScalingType::kLlama3);
  EXPECT_FLOAT_EQ(c.rope_scaling.factor, 8.0f);
}

TEST(ModelConfig, RejectsUnsupportedArchitectureAndBadFields) {
  Json j = base();
  j["architectures"] = {"MistralForCausalLM"};
  expect_error(j, "MistralForCausalLM");
  j = base();
  j.erase("hidden_size");
  expect_error(j, "hidden_size");
  j = base();
  j["hidden_act"] = "gelu";
  expect_error(j, "gelu");
}

// io::rope_inv_freq against transformers' inv_freq for each golden checkpoint: default rope
// (theta 1e4, head_dim 16 and 8), llama3 scaling (theta 5e5) and linear scaling (head_dim 32).
TEST(RopeInvFreq, MatchesTransformers) {
  for (const char* name :
       {"tied_mha_f32", "gqa2_llama3_bf16", "gqa4_hd32_bias_linear_f16", "gqa8_bf16"}) {
    const std::string dir = std::string(QINFER_SOURCE_DIR) + "/tests/golden/data/" + name;
    ModelConfig c = load_model_config(dir);
    SafetensorsFile ref(dir + "/reference.safetensors");
    Tensor want = ref.get("inv_freq");
    std::vector<float> got = rope_inv_freq(c);
    ASSERT_EQ(int64_t(got.size()), want.numel()) << name;
    for (size_t i = 0; i < got.size(); ++i) {
      const float w = want.data_as<float>()[i];
      EXPECT_NEAR(got[i], w, 2e-7f * std::fabs(w)) << name << " inv_freq[" << i << "]";
    }
  }
}

}  // namespace
}  // namespace qinfer::io

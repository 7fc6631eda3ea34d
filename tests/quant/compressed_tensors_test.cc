// compressed-tensors FP8: config parsing (good and bad), scheme matching, and loading with
// vLLM's fusion rules, on small in-memory checkpoints. Expected values are computed here from
// the published formulas (vLLM requantize_with_max_scale / convert_to_channelwise).
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <map>
#include <memory>

#include "core/dtype.h"
#include "core/error.h"
#include "quant/compressed_tensors.h"
#include "quant/linear_loader.h"

namespace qinfer::quant {
namespace {

class MapSource : public io::TensorSource {
 public:
  std::map<std::string, Tensor> t;
  bool has(const std::string& n) const override { return t.count(n) != 0; }
  Tensor get(const std::string& n) const override {
    QINFER_CHECK(has(n), "mem: tensor '", n, "' is missing");
    return t.at(n);
  }
  std::vector<std::string> names() const override {
    std::vector<std::string> r;
    for (const auto& kv : t) r.push_back(kv.first);
    return r;
  }
  std::string file_of(const std::string&) const override { return "mem.safetensors"; }
};

Json args(const char* strategy, bool dynamic) {
  return Json{{"num_bits", 8},         {"type", "float"},      {"symmetric", true},
              {"group_size", nullptr}, {"strategy", strategy}, {"dynamic", dynamic}};
}

Json config(const char* w_strategy, Json acts) {
  Json g = {{"targets", {"Linear"}},
            {"weights", args(w_strategy, false)},
            {"input_activations", acts},
            {"output_activations", nullptr},
            {"format", nullptr}};
  return Json{{"config_groups", {{"group_0", g}}},
              {"quant_method", "compressed-tensors"},
              {"format", "float-quantized"},
              {"quantization_status", "compressed"},
              {"ignore", {"lm_head"}},
              {"kv_cache_scheme", nullptr}};
}

Tensor f32(std::vector<float> v, Shape shape) {
  Tensor t = Tensor::empty(DType::kF32, shape);
  std::memcpy(t.data(), v.data(), v.size() * 4);
  return t;
}

Tensor bf16(std::vector<float> v, Shape shape) {
  Tensor t = Tensor::empty(DType::kBF16, shape);
  for (size_t i = 0; i < v.size(); ++i) t.data_as<uint16_t>()[i] = f32_to_bf16(v[i]);
  return t;
}

Tensor fp8_weight(int64_t rows, int64_t cols, int seed) {
  Tensor t = Tensor::empty(DType::kF8E4M3, {rows, cols});
  for (int64_t i = 0; i < rows * cols; ++i) {
    uint8_t b = uint8_t((i * 37 + seed * 101) & 0xff);
    if ((b & 0x7f) == 0x7f) b = 0x10;
    t.data_as<uint8_t>()[i] = b;
  }
  return t;
}

struct Fixture {
  std::shared_ptr<MapSource> src = std::make_shared<MapSource>();
  io::Checkpoint ck;
  explicit Fixture(Json qc) {
    ck.path = "mem";
    ck.config.n_layer = 1;
    ck.config.quantization_config = std::move(qc);
    ck.tensors = src;
  }
};

const std::vector<std::string> kQkv = {"model.layers.0.self_attn.q_proj",
                                       "model.layers.0.self_attn.k_proj",
                                       "model.layers.0.self_attn.v_proj"};

TEST(CtConfig, ParsesFp8Static) {
  CtConfig c = parse_ct_config(config("tensor", args("tensor", false)));
  ASSERT_EQ(c.groups.size(), 1u);
  EXPECT_EQ(c.groups[0].weights->strategy, CtStrategy::kTensor);
  EXPECT_FALSE(c.groups[0].input_activations->dynamic);
  EXPECT_EQ(c.ignore, std::vector<std::string>{"lm_head"});
  EXPECT_FALSE(c.kv_cache.has_value());
}

void expect_error(const Json& qc, const std::string& needle) {
  try {
    parse_ct_config(qc);
    ADD_FAILURE() << "no error; expected one mentioning '" << needle << "'";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos)
        << "message '" << e.what() << "' does not mention '" << needle << "'";
  }
}

TEST(CtConfig, RejectsWhatWeDoNotImplement) {
  Json qc = config("channel", args("token", true));
  Json bad = qc;
  bad["quant_method"] = "gptq";
  expect_error(bad, "quant_method");
  bad = qc;
  bad["format"] = "naive-quantized";
  expect_error(bad, "format");
  bad = qc;
  bad["config_groups"]["group_0"]["weights"]["num_bits"] = 4;
  expect_error(bad, "num_bits");
  bad = qc;
  bad["config_groups"]["group_0"]["weights"]["type"] = "int";
  expect_error(bad, "type");
  bad = qc;
  bad["config_groups"]["group_0"]["weights"]["strategy"] = "group";
  expect_error(bad, "strategy");
  bad = qc;
  bad["config_groups"]["group_0"]["weights"]["symmetric"] = false;
  expect_error(bad, "symmetric");
  bad = qc;
  bad["config_groups"]["group_0"]["input_activations"]["dynamic"] = "local";
  expect_error(bad, "dynamic");
  bad = qc;
  bad["config_groups"]["group_0"]["input_activations"]["strategy"] = "channel";
  expect_error(bad, "input_activations");
  bad = qc;
  bad["config_groups"]["group_0"]["output_activations"] = args("tensor", false);
  expect_error(bad, "output_activations");
  bad = qc;
  bad["quantization_status"] = "frozen";
  expect_error(bad, "quantization_status");
  bad = qc;
  bad["kv_cache_scheme"] = args("token", true);
  expect_error(bad, "kv_cache_scheme");
}

TEST(CtConfig, MatchingOrderIgnoreExactRegexClass) {
  Json qc = config("tensor", nullptr);
  Json g1 = qc["config_groups"]["group_0"];
  g1["targets"] = {"re:.*down_proj$"};
  g1["weights"] = args("channel", false);
  Json g2 = g1;
  g2["targets"] = {"model.layers.0.mlp.down_proj"};
  qc["config_groups"]["group_1"] = g1;
  qc["config_groups"]["group_2"] = g2;
  qc["ignore"] = {"lm_head", "re:model.layers.1.mlp"};
  CtConfig c = parse_ct_config(qc);
  EXPECT_EQ(match_group(c, "lm_head"), nullptr);
  EXPECT_EQ(match_group(c, "model.layers.1.mlp.up_proj"), nullptr);
  EXPECT_EQ(match_group(c, "model.layers.0.mlp.down_proj")->name, "group_2");  // exact name
  EXPECT_EQ(match_group(c, "model.layers.3.mlp.down_proj")->name, "group_1");  // regex
  EXPECT_EQ(match_group(c, "model.layers.3.mlp.up_proj")->name, "group_0");    // class
}

// Per-tensor weights, static activations, fused q/k/v: input scale = max, every shard
// re-quantized onto the max weight scale through float16 (vLLM requantize_with_max_scale).
TEST(CtLoad, FusedPerTensorStaticRequantizesToMaxScale) {
  Fixture f(config("tensor", args("tensor", false)));
  const float ws[] = {0.01f, 0.03f, 0.02f}, is[] = {0.5f, 0.25f, 0.75f};
  for (int i = 0; i < 3; ++i) {
    f.src->t[kQkv[i] + ".weight"] = fp8_weight(4, 8, i);
    f.src->t[kQkv[i] + ".weight_scale"] = bf16({ws[i]}, {1});
    f.src->t[kQkv[i] + ".input_scale"] = f32({is[i]}, {1});
  }
  ops::LinearWeight w = load_linear(f.ck, kQkv, {4, 4, 4}, 8, "qkv_proj", false);
  EXPECT_EQ(w.n_out, 12);
  EXPECT_EQ(w.act_quant, ops::ActQuant::kStaticPerTensor);
  EXPECT_EQ(w.input_scale, 0.75f);
  ASSERT_EQ(w.weight_scale.numel(), 1);
  const float s_max = bf16_to_f32(f32_to_bf16(0.03f));
  EXPECT_EQ(w.weight_scale.data_as<float>()[0], s_max);
  for (int i = 0; i < 3; ++i) {
    const float s = bf16_to_f32(f32_to_bf16(ws[i]));
    const uint8_t* src = f.src->t[kQkv[i] + ".weight"].data_as<uint8_t>();
    for (int k = 0; k < 32; ++k) {
      float dq = f16_to_f32(f32_to_f16(fp8e4m3_to_f32(src[k]) * s));
      uint8_t want = f32_to_fp8e4m3(std::fmin(std::fmax(dq * (1.0f / s_max), -448.f), 448.f));
      ASSERT_EQ(w.weight.data_as<uint8_t>()[i * 32 + k], want) << "shard " << i << " elem " << k;
    }
  }
}

TEST(CtLoad, FusedPerChannelDynamicConcatenates) {
  Fixture f(config("channel", args("token", true)));
  for (int i = 0; i < 3; ++i) {
    f.src->t[kQkv[i] + ".weight"] = fp8_weight(2, 16, i);
    f.src->t[kQkv[i] + ".weight_scale"] = f32({0.1f * (i + 1), 0.2f * (i + 1)}, {2, 1});
  }
  ops::LinearWeight w = load_linear(f.ck, kQkv, {2, 2, 2}, 16, "qkv_proj", false);
  EXPECT_EQ(w.act_quant, ops::ActQuant::kDynamicPerToken);
  ASSERT_EQ(w.weight_scale.numel(), 6);
  for (int i = 0; i < 3; ++i) {
    EXPECT_FLOAT_EQ(w.weight_scale.data_as<float>()[2 * i], 0.1f * (i + 1));
    EXPECT_FLOAT_EQ(w.weight_scale.data_as<float>()[2 * i + 1], 0.2f * (i + 1));
    EXPECT_EQ(
        std::memcmp(w.weight.data_as<uint8_t>() + 32 * i, f.src->t[kQkv[i] + ".weight"].data(), 32),
        0);
  }
}

TEST(CtLoad, WeightOnlyPerTensorBecomesChannelwise) {
  Fixture f(config("tensor", nullptr));
  const std::vector<std::string> gu = {"model.layers.0.mlp.gate_proj",
                                       "model.layers.0.mlp.up_proj"};
  for (int i = 0; i < 2; ++i) {
    f.src->t[gu[i] + ".weight"] = fp8_weight(3, 16, i);
    f.src->t[gu[i] + ".weight_scale"] = f32({0.5f + i}, {});
  }
  ops::LinearWeight w = load_linear(f.ck, gu, {3, 3}, 16, "gate_up_proj", false);
  EXPECT_EQ(w.act_quant, ops::ActQuant::kNone);
  ASSERT_EQ(w.weight_scale.numel(), 6);
  EXPECT_EQ(w.weight_scale.data_as<float>()[2], 0.5f);
  EXPECT_EQ(w.weight_scale.data_as<float>()[3], 1.5f);
}

TEST(CtLoad, IgnoredModuleStaysDense) {
  Fixture f(config("channel", args("token", true)));
  f.src->t["lm_head.weight"] = bf16(std::vector<float>(32, 0.5f), {4, 8});
  ops::LinearWeight w = load_linear(f.ck, {"lm_head"}, {4}, 8, "lm_head", false);
  EXPECT_EQ(w.weight.dtype(), DType::kBF16);
}

void expect_load_error(Fixture& f, const std::string& needle) {
  try {
    load_linear(f.ck, {kQkv[0]}, {4}, 8, "q", false);
    ADD_FAILURE() << "no error; expected one mentioning '" << needle << "'";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos)
        << "message '" << e.what() << "' does not mention '" << needle << "'";
  }
}

TEST(CtLoad, BadTensorsNameTheTensor) {
  const std::string q = kQkv[0];
  Fixture f(config("channel", args("tensor", false)));
  f.src->t[q + ".weight"] = fp8_weight(4, 8, 0);
  f.src->t[q + ".input_scale"] = f32({0.5f}, {1});
  expect_load_error(f, q + ".weight_scale");  // missing
  f.src->t[q + ".weight_scale"] = f32({1, 1, 1}, {3, 1});
  expect_load_error(f, q + ".weight_scale");  // wrong shape
  f.src->t[q + ".weight_scale"] = f32({1, NAN, 1, 1}, {4, 1});
  expect_load_error(f, q + ".weight_scale");  // NaN
  f.src->t[q + ".weight_scale"] = f32({1, 1, 0, 1}, {4, 1});
  expect_load_error(f, q + ".weight_scale");  // zero
  f.src->t[q + ".weight_scale"] = f32({1, 1, 1, 1}, {4, 1});
  f.src->t[q + ".input_scale"] = f32({INFINITY}, {1});
  expect_load_error(f, q + ".input_scale");  // Inf
  f.src->t[q + ".input_scale"] = f32({0.5f}, {1});
  f.src->t[q + ".weight"] = fp8_weight(4, 9, 0);
  expect_load_error(f, q + ".weight");  // wrong shape
  f.src->t[q + ".weight"] = bf16(std::vector<float>(32, 1.0f), {4, 8});
  expect_load_error(f, q + ".weight");  // not FP8
  f.src->t[q + ".weight"] = fp8_weight(4, 8, 0);
  Tensor i8 = Tensor::empty(DType::kI8, {4, 1});
  f.src->t[q + ".weight_scale"] = i8;
  expect_load_error(f, q + ".weight_scale");  // bad dtype
}

TEST(CtKvCache, ReadsPerLayerScales) {
  Json qc = config("tensor", args("tensor", false));
  qc["kv_cache_scheme"] = args("tensor", false);
  Fixture f(qc);
  f.ck.config.n_layer = 2;
  f.src->t["model.layers.0.self_attn.k_scale"] = f32({0.25f}, {});
  f.src->t["model.layers.0.self_attn.v_scale"] = bf16({0.5f}, {1});
  KvCacheScales s = load_kv_cache_scales(f.ck);
  ASSERT_TRUE(s.fp8);
  EXPECT_EQ(s.k_scale, (std::vector<float>{0.25f, 1.0f}));
  EXPECT_EQ(s.v_scale, (std::vector<float>{0.5f, 1.0f}));
}

}  // namespace
}  // namespace qinfer::quant

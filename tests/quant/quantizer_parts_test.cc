// Pieces of the quantizer: the streaming safetensors writer (read back by io's validated
// reader), shard planning, fused-layer names, scheme names, llm-compressor's zero-scale rule.
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>

#include "core/dtype.h"
#include "core/error.h"
#include "io/safetensors.h"
#include "quant/calibration.h"
#include "quant/fp8_quantizer.h"
#include "quant/safetensors_stream.h"

namespace qinfer::quant {
namespace {

namespace fs = std::filesystem;

TEST(SafetensorsStream, WritesWhatIoReadsBackAndChecksThePlan) {
  const std::string path =
      (fs::temp_directory_path() / ("qinfer_stream_" + std::to_string(::getpid()))).string();
  Tensor a = Tensor::zeros(DType::kF32, {2, 3});
  for (int i = 0; i < 6; ++i) a.data_as<float>()[i] = float(i) + 0.5f;
  Tensor b = Tensor::zeros(DType::kF8E4M3, {5});
  b.data_as<uint8_t>()[4] = 0x38;  // 1.0
  {
    SafetensorsStreamWriter w(path, {{"a", DType::kF32, {2, 3}}, {"b", DType::kF8E4M3, {5}}},
                              {{"format", "pt"}});
    EXPECT_THROW(w.write("b", b), Error);  // out of plan order
    w.write("a", a);
    EXPECT_THROW(w.write("b", a), Error);  // wrong dtype/shape
    w.write("b", b);
    w.finish();
  }
  io::SafetensorsFile f(path);
  EXPECT_EQ(f.get("a").to_f32().data_as<float>()[5], 5.5f);
  EXPECT_EQ(f.get("b").data_as<uint8_t>()[4], 0x38);
  EXPECT_EQ(f.metadata().at("format"), "pt");
  fs::remove(path);
  SafetensorsStreamWriter short_w(path, {{"a", DType::kF32, {2, 3}}}, {});
  EXPECT_THROW(short_w.finish(), Error);  // a planned tensor never written
  fs::remove(path);
}

TEST(SafetensorsStream, ShardPlanAndNames) {
  std::vector<PlannedTensor> p = {{"a", DType::kF32, {10}},  // 40 bytes
                                  {"b", DType::kF32, {10}},
                                  {"c", DType::kF32, {30}}};  // 120 bytes, alone
  auto s = plan_shards(p, 100);
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(s[0].size(), 2u);
  EXPECT_EQ(s[1][0].name, "c");
  EXPECT_EQ(shard_file_name(0, 1), "model.safetensors");
  EXPECT_EQ(shard_file_name(1, 3), "model-00002-of-00003.safetensors");
}

TEST(Calibration, FusedLayersMapToTheirModules) {
  EXPECT_EQ(unfused_modules("model.layers.3.self_attn.qkv_proj"),
            (std::vector<std::string>{"model.layers.3.self_attn.q_proj",
                                      "model.layers.3.self_attn.k_proj",
                                      "model.layers.3.self_attn.v_proj"}));
  EXPECT_EQ(
      unfused_modules("model.layers.0.mlp.gate_up_proj"),
      (std::vector<std::string>{"model.layers.0.mlp.gate_proj", "model.layers.0.mlp.up_proj"}));
  EXPECT_EQ(unfused_modules("model.layers.0.mlp.down_proj"),
            (std::vector<std::string>{"model.layers.0.mlp.down_proj"}));
  ActivationAbsmax obs;
  ops::LinearWeight w;
  w.name = "model.layers.0.self_attn.qkv_proj";
  Tensor x = Tensor::zeros(DType::kF32, {2, 2});
  x.data_as<float>()[3] = -7.0f;
  obs.observe(w, x);
  x.data_as<float>()[3] = 3.0f;
  obs.observe(w, x);  // the max over calls
  EXPECT_EQ(obs.module_absmax().at("model.layers.0.self_attn.k_proj"), 7.0f);
}

TEST(Fp8Quantizer, SchemesLinearNamesAndZeroScale) {
  EXPECT_FALSE(parse_fp8_scheme("FP8").weight_per_channel);
  EXPECT_EQ(parse_fp8_scheme("FP8_DYNAMIC").name, "fp8-dynamic");
  EXPECT_TRUE(parse_fp8_scheme("fp8").weight_per_channel);
  std::string m;
  EXPECT_TRUE(is_linear_weight("model.layers.2.mlp.up_proj.weight", &m));
  EXPECT_EQ(m, "model.layers.2.mlp.up_proj");
  EXPECT_TRUE(is_linear_weight("lm_head.weight", &m));
  EXPECT_FALSE(is_linear_weight("model.layers.2.input_layernorm.weight", &m));
  EXPECT_FALSE(is_linear_weight("model.layers.2.mlp.up_proj.bias", &m));
  // An all-zero row gets torch.finfo(bfloat16).eps as its scale (compressed-tensors).
  Tensor w = Tensor::zeros(DType::kBF16, {2, 4});
  w.data_as<uint16_t>()[5] = f32_to_bf16(1.0f);
  QuantizedWeight q = quantize_weight_fp8(w, true);
  EXPECT_EQ(bf16_to_f32(q.scale.data_as<uint16_t>()[0]), 0.0078125f);
  EXPECT_EQ(bf16_to_f32(q.scale.data_as<uint16_t>()[1]), bf16_to_f32(f32_to_bf16(1.0f / 448)));
  EXPECT_EQ(q.q.data_as<uint8_t>()[5], 0x7e);  // 1 / s = 448
  EXPECT_EQ(input_scale_from_absmax(0.0f, DType::kBF16), 0.0078125f);
}

}  // namespace
}  // namespace qinfer::quant

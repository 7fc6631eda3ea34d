// LlamaModel::load on damaged copies of a golden checkpoint (errors name the tensor and the
// file), plus the contract's bookkeeping: weight bytes, KV block bytes, the linear observer.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "core/error.h"
#include "io/checkpoint.h"
#include "io/safetensors.h"
#include "model/llama.h"

namespace qinfer::model {
namespace {

namespace fs = std::filesystem;

const std::string kSrc = std::string(QINFER_SOURCE_DIR) + "/tests/golden/data/tied_mha_f32";

// A copy of the fixture whose tensors pass through `edit` (which may add, drop or replace).
template <typename Edit>
std::string damaged_copy(const std::string& name, Edit edit, Json config_patch = Json::object()) {
  const fs::path d =
      fs::temp_directory_path() / ("qinfer_load_test_" + std::to_string(::getpid())) / name;
  fs::create_directories(d);
  io::SafetensorsFile src(kSrc + "/model.safetensors");
  std::vector<std::pair<std::string, Tensor>> ts;
  for (const std::string& n : src.names()) ts.emplace_back(n, src.get(n));
  edit(ts);
  io::write_safetensors((d / "model.safetensors").string(), ts);
  Json cfg = read_json_file(kSrc + "/config.json");
  for (auto it = config_patch.begin(); it != config_patch.end(); ++it) cfg[it.key()] = it.value();
  std::ofstream(d / "config.json") << cfg.dump(2);
  return d.string();
}

void expect_load_error(const std::string& dir, std::initializer_list<std::string> parts) {
  try {
    LlamaModel::load(io::open_checkpoint(dir));
    FAIL() << "no error loading " << dir;
  } catch (const Error& e) {
    for (const std::string& p : parts)
      EXPECT_NE(std::string(e.what()).find(p), std::string::npos) << e.what();
  }
}

TEST(LlamaLoad, WrongShapeNamesTensorAndFile) {
  const std::string d = damaged_copy("shape", [](auto& ts) {
    for (auto& [n, t] : ts)
      if (n == "model.layers.1.self_attn.k_proj.weight") t = Tensor::zeros(DType::kF32, {32, 64});
  });
  expect_load_error(d, {"model.layers.1.self_attn.k_proj.weight", "model.safetensors", "[32, 64]"});
}

TEST(LlamaLoad, MissingTensorIsNamed) {
  const std::string d = damaged_copy("missing", [](auto& ts) {
    std::erase_if(ts, [](const auto& p) { return p.first == "model.layers.0.mlp.up_proj.weight"; });
  });
  expect_load_error(d, {"model.layers.0.mlp.up_proj.weight"});
}

TEST(LlamaLoad, LayerBeyondConfigIsAnError) {
  const std::string d = damaged_copy(
      "layers", [](auto&) {}, Json{{"num_hidden_layers", 1}});
  expect_load_error(d, {"model.layers.1.", "num_hidden_layers"});
}

TEST(LlamaLoad, VocabMismatchNamesEmbedding) {
  const std::string d = damaged_copy(
      "vocab", [](auto&) {}, Json{{"vocab_size", 600}});
  expect_load_error(d, {"model.embed_tokens.weight", "[600, 64]"});
}

TEST(LlamaLoad, BookkeepingAndObserver) {
  io::Checkpoint ck = io::open_checkpoint(kSrc);
  auto m = LlamaModel::load(ck);
  const io::ModelConfig& c = m->config();
  // Layers' linear weights + tied lm_head (the embedding) + norms, F32 here.
  const size_t layer = size_t(c.hidden_size * ((c.n_head + 2 * c.n_head_kv) * c.head_dim) +
                              c.n_head * c.head_dim * c.hidden_size +
                              3 * c.hidden_size * c.intermediate_size + 2 * c.hidden_size);
  EXPECT_EQ(m->weight_bytes(),
            4 * (size_t(c.n_layer) * layer + size_t(c.vocab_size * c.hidden_size + c.hidden_size)));
  EXPECT_EQ(m->kv_block_bytes(16), size_t(2 * c.n_layer * 16 * c.n_head_kv * c.head_dim * 4));
  std::vector<std::string> seen;
  m->set_linear_observer([&](const ops::LinearWeight& w, const Tensor& x) {
    EXPECT_EQ(x.dim(1), w.n_in) << w.name;
    seen.push_back(w.name);
  });
  KvCache kv = m->allocate_kv_cache(2, 16);
  Tensor logits = m->forward(
      {.tokens = {5, 6, 7}, .seqs = {{.n_past = 0, .n_new = 3, .block_table = {1}}}}, kv);
  EXPECT_EQ(logits.shape(), (Shape{1, c.vocab_size}));
  ASSERT_EQ(seen.size(), size_t(4 * c.n_layer + 1));
  EXPECT_EQ(seen[0], "model.layers.0.self_attn.qkv_proj");
  EXPECT_EQ(seen[3], "model.layers.0.mlp.down_proj");
  // A token id outside the vocabulary is an error, not a wild read.
  EXPECT_THROW(m->forward({.tokens = {int32_t(c.vocab_size)},
                           .seqs = {{.n_past = 3, .n_new = 1, .block_table = {1}}}},
                          kv),
               Error);
}

}  // namespace
}  // namespace qinfer::model

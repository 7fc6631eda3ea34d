// engine::Generator and engine::perplexity on the golden checkpoints against transformers:
// greedy generation equals generate(), stop ids / stop strings / max_tokens end it as vLLM
// does, and the sliding-window perplexity equals the transformers guide's loop.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "engine/generator.h"
#include "io/checkpoint.h"
#include "io/safetensors.h"
#include "model/llama.h"
#include "tokenizer/tokenizer.h"

namespace qinfer {
namespace {

std::string case_dir(const std::string& name) {
  return std::string(QINFER_SOURCE_DIR) + "/tests/golden/data/" + name;
}

std::vector<int32_t> ids_of(const Tensor& t) {
  Tensor f = t.to_f32();
  std::vector<int32_t> r;
  for (int64_t i = 0; i < f.numel(); ++i) r.push_back(int32_t(f.data_as<float>()[i]));
  return r;
}

class GeneratorGolden : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    ck_ = io::open_checkpoint(case_dir(GetParam()));
    model_ = model::LlamaModel::load(ck_);
    // The fixtures have no tokenizer of their own; any tokenizer covering their ids will do
    // for the text side (Llama 3.1's covers ids < 128000).
    tok_ = tokenizer::Tokenizer::from_dir(std::string(QINFER_SHARED_DIR) +
                                          "/models/llama3.1-tokenizer");
    io::SafetensorsFile ref(case_dir(GetParam()) + "/reference.safetensors");
    prompt_ = ids_of(ref.get("prompt_a"));
    greedy_ = ids_of(ref.get("greedy_a"));
    ppl_ids_ = ids_of(ref.get("ppl_ids"));
    Tensor p = ref.get("ppl").to_f32();
    ppl_ = p.data_as<float>()[0];
    nll_ = p.data_as<float>()[1];
  }

  engine::GenerateResult run(engine::GenerateOptions opt, std::string* streamed = nullptr) {
    engine::Generator gen(*model_, *tok_, engine::eos_token_ids(ck_.config, ck_.generation));
    return gen.generate(prompt_, opt, [&](std::string_view s) {
      if (streamed) streamed->append(s);
    });
  }

  io::Checkpoint ck_;
  std::unique_ptr<model::LlamaModel> model_;
  std::unique_ptr<tokenizer::Tokenizer> tok_;
  std::vector<int32_t> prompt_, greedy_, ppl_ids_;
  float ppl_ = 0, nll_ = 0;
};

engine::GenerateOptions greedy(int64_t max_tokens) {
  return {.sampling = {.temperature = 0.0f}, .max_tokens = max_tokens, .prefill_chunk = 5};
}

TEST_P(GeneratorGolden, GreedyEqualsTransformersGenerate) {
  std::string streamed;
  engine::GenerateResult r = run(greedy(8), &streamed);
  EXPECT_EQ(r.prompt_ids, prompt_);
  EXPECT_EQ(r.completion_ids, greedy_);
  EXPECT_EQ(r.finish_reason, "length");
  EXPECT_EQ(r.text, tok_->decode(greedy_, true));
  EXPECT_EQ(streamed, r.text);
  ASSERT_EQ(r.logprobs.size(), 8u);
  for (const auto& s : r.logprobs) EXPECT_LE(s.logprob, 0.0f);
}

TEST_P(GeneratorGolden, MaxTokensAndStopTokenIds) {
  engine::GenerateResult r = run(greedy(3));
  EXPECT_EQ(r.completion_ids, std::vector<int32_t>(greedy_.begin(), greedy_.begin() + 3));
  EXPECT_EQ(r.finish_reason, "length");
  // Stops at the first occurrence of the stop id, which stays in completion_ids.
  engine::GenerateOptions opt = greedy(8);
  opt.stop_token_ids = {greedy_[4]};
  r = run(opt);
  const auto first = std::find(greedy_.begin(), greedy_.end(), greedy_[4]);
  EXPECT_EQ(r.completion_ids, std::vector<int32_t>(greedy_.begin(), first + 1));
  EXPECT_EQ(r.finish_reason, "stop");
}

// A stop string spanning a token boundary: output is the text before it, streamed the same.
TEST_P(GeneratorGolden, StopStringAcrossTokens) {
  const std::string full = tok_->decode(greedy_, true);
  const std::string head =
      tok_->decode(std::vector<int32_t>(greedy_.begin(), greedy_.begin() + 3), true);
  const std::string upto4 =
      tok_->decode(std::vector<int32_t>(greedy_.begin(), greedy_.begin() + 4), true);
  ASSERT_GT(upto4.size(), head.size());
  ASSERT_GE(head.size(), 1u);
  // The last byte of token 3's text plus the first byte of token 4's.
  const std::string stop = full.substr(head.size() - 1, 2);
  const size_t cut = full.find(stop);
  std::string streamed;
  engine::GenerateOptions opt = greedy(8);
  opt.stop = {stop};
  engine::GenerateResult r = run(opt, &streamed);
  EXPECT_EQ(r.finish_reason, "stop");
  EXPECT_EQ(r.text, full.substr(0, cut)) << "stop string '" << stop << "'";
  EXPECT_EQ(streamed, r.text);
}

TEST_P(GeneratorGolden, PerplexityEqualsTransformersGuide) {
  engine::PerplexityResult r = engine::perplexity(*model_, ppl_ids_, 16, 6, 5);
  EXPECT_NEAR(r.mean_nll, nll_, 1e-4 * std::fabs(nll_)) << "ppl " << r.ppl << " vs " << ppl_;
  EXPECT_NEAR(r.ppl, ppl_, 1e-4 * ppl_);
}

INSTANTIATE_TEST_SUITE_P(Cases, GeneratorGolden,
                         ::testing::Values("tied_mha_f32", "gqa2_llama3_bf16",
                                           "gqa4_hd32_bias_linear_f16", "gqa8_bf16"));

}  // namespace
}  // namespace qinfer

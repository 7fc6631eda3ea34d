// FP8 checkpoints end to end through the real model: each fixture under tests/quant/data/
// (tools/make_fp8_fixtures.py: compressed-tensors layout, reference forward in torch computing
// every Linear the way vLLM does) must give the reference log-probabilities within 2e-2 and the
// same greedy continuation.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "core/cpu_features.h"
#include "core/json.h"
#include "io/checkpoint.h"
#include "model/llama.h"
#include "ops/cpu/isa.h"
#include "quant/compressed_tensors.h"

namespace qinfer {
namespace {

const std::string kData = std::string(QINFER_SOURCE_DIR) + "/tests/quant/data/";

// Runs `tokens` from position 0 in one prefill; returns log-softmax rows for every position.
std::vector<std::vector<float>> logprobs(model::LlamaModel& m, const std::vector<int32_t>& tokens) {
  const int64_t bs = 16, n_block = (int64_t(tokens.size()) + bs - 1) / bs;
  model::KvCache kv = m.allocate_kv_cache(n_block, bs);
  model::Batch b;
  b.tokens = tokens;
  model::SeqInput s;
  s.n_new = int64_t(tokens.size());
  for (int32_t i = 0; i < n_block; ++i) s.block_table.push_back(i);
  s.logits_all = true;
  b.seqs.push_back(s);
  Tensor logits = m.forward(b, kv);
  const int64_t V = logits.dim(1);
  std::vector<std::vector<float>> out;
  for (int64_t r = 0; r < logits.dim(0); ++r) {
    const float* row = logits.data_as<float>() + r * V;
    double mx = *std::max_element(row, row + V), sum = 0.0;
    for (int64_t v = 0; v < V; ++v) sum += std::exp(double(row[v]) - mx);
    std::vector<float> lp(static_cast<size_t>(V));
    for (int64_t v = 0; v < V; ++v) lp[size_t(v)] = float(row[v] - mx - std::log(sum));
    out.push_back(std::move(lp));
  }
  return out;
}

// Greedy decoding with the KV cache: prefill, then one token per step.
std::vector<int32_t> greedy(model::LlamaModel& m, const std::vector<int32_t>& prompt, int n_new) {
  const int64_t bs = 16, n_block = 4;
  model::KvCache kv = m.allocate_kv_cache(n_block, bs);
  std::vector<int32_t> table = {0, 1, 2, 3}, out;
  model::Batch b;
  b.tokens = prompt;
  b.seqs.push_back(model::SeqInput{0, int64_t(prompt.size()), table, true, false});
  int64_t n_past = 0;
  for (int t = 0; t < n_new; ++t) {
    Tensor logits = m.forward(b, kv);
    const float* row = logits.data_as<float>();
    const int32_t next = int32_t(std::max_element(row, row + logits.dim(1)) - row);
    out.push_back(next);
    n_past += b.seqs[0].n_new;
    b.tokens = {next};
    b.seqs[0] = model::SeqInput{n_past, 1, table, true, false};
  }
  return out;
}

void check_against_reference(model::LlamaModel& m, const Json& ref);

class Fp8Golden : public ::testing::TestWithParam<std::string> {};

// Every kernel level the CPU has (the scalar loops and the AVX-512 kernel) must pass.
TEST_P(Fp8Golden, MatchesVllmStyleReference) {
  const std::string dir = kData + GetParam();
  io::Checkpoint ck = io::open_checkpoint(dir);
  std::unique_ptr<model::LlamaModel> m = model::LlamaModel::load(ck);
  const Json ref = read_json_file(dir + "/reference.json");
  std::vector<CpuIsa> levels = {CpuIsa::kScalar};
  if (cpu_isa() != CpuIsa::kScalar) levels.push_back(cpu_isa());
  for (CpuIsa isa : levels) {
    ops::cpu::set_ops_isa(isa);
    SCOPED_TRACE(cpu_isa_name(isa));
    check_against_reference(*m, ref);
  }
  ops::cpu::set_ops_isa(CpuIsa::kAvx512);
}

void check_against_reference(model::LlamaModel& m, const Json& ref) {
  const std::string name = ::testing::UnitTest::GetInstance()->current_test_info()->value_param();
  for (size_t p = 0; p < ref["prompts"].size(); ++p) {
    const std::vector<int32_t> prompt = ref["prompts"][p].get<std::vector<int32_t>>();
    const auto got = logprobs(m, prompt);
    const Json& want = ref["logprobs"][p];
    ASSERT_EQ(got.size(), want.size());
    double worst = 0.0;
    size_t worst_pos = 0, worst_tok = 0;
    for (size_t i = 0; i < got.size(); ++i)
      for (size_t v = 0; v < got[i].size(); ++v) {
        // Compare where the reference probability is not negligible (log p > -20).
        const double w = want[i][v].get<double>();
        if (w < -20.0) continue;
        const double d = std::fabs(got[i][v] - w);
        if (d > worst) worst = d, worst_pos = i, worst_tok = v;
      }
    EXPECT_LT(worst, 2e-2) << name << " prompt " << p << ": log-prob differs by " << worst
                           << " at position " << worst_pos << ", token " << worst_tok;
    const std::vector<int32_t> ids = greedy(m, prompt, int(ref["greedy"][p].size()));
    const std::vector<int32_t> want_ids = ref["greedy"][p].get<std::vector<int32_t>>();
    for (size_t t = 0; t < ids.size(); ++t) {
      const double margin = ref["greedy_margin"][p][t].get<double>();
      if (ids[t] != want_ids[t] && margin < 2e-2) break;  // a near tie: either choice is right
      ASSERT_EQ(ids[t], want_ids[t]) << name << " prompt " << p << " greedy step " << t
                                     << " (reference top-2 margin " << margin << ")";
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Combos, Fp8Golden,
                         ::testing::Values("fp8_w_tensor_a_static", "fp8_w_tensor_a_dynamic",
                                           "fp8_w_channel_a_static", "fp8_w_channel_a_dynamic",
                                           "fp8_w_channel_a_none"));

TEST(Fp8Golden, FixturesLoadAsTheirSchemes) {
  io::Checkpoint ck = io::open_checkpoint(kData + "fp8_w_tensor_a_static");
  EXPECT_TRUE(quant::is_quantized_module(ck, "model.layers.0.self_attn.q_proj"));
  EXPECT_FALSE(quant::is_quantized_module(ck, "lm_head"));
  EXPECT_FALSE(quant::load_kv_cache_scales(ck).fp8);
}

}  // namespace
}  // namespace qinfer

// FP8 checkpoints end to end through the real model: each fixture under tests/quant/data/
// (tools/make_fp8_fixtures.py: compressed-tensors layout, reference forward in torch computing
// every Linear the way vLLM does) must give the reference log-probabilities within 2e-2 and the
// same greedy continuation.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "core/cpu_features.h"
#include "core/json.h"
#include "io/checkpoint.h"
#include "ops/cuda/cuda_ops.h"
#include "ops/cuda/fused_ops.h"
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

class Fp8GoldenCuda : public ::testing::TestWithParam<std::string> {};

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

// The same fixtures on the GPU (skipped without one). The first 8 tokens of the 10-token prompt
// take the decode GEMVs (fp32 sums of exact FP8 products): within the CPU's 2e-2 of the
// reference. The whole prompt (more than 8 rows: the tensor-core GEMMs) runs with the residual
// stream in BF16 wherever cuBLASLt can add into it (ops::cuda::set_resid_bf16_mode(2); at these
// widths the default leaves o and down to a CUTLASS tile and the stream to F32) and in F32 (0).
// There the GPU is not within 2e-2 in either mode: the FP8 tensor cores add with fewer bits than
// fp32 (~14, DeepSeek-V3 measured on Hopper), ~1e-4 off the exact sums, which flips some FP8
// codes of the next projection's input, and in these 64-wide random models one flipped code
// moves log-probs by tenths. Every GEMM route gives the same numbers (cuBLASLt with the scales
// inside or in our epilogue, the CUTLASS tiles, fast or promoted accumulation) and the generic
// path on GEMVs only (QINFER_CUDA_GENERIC=1 QINFER_CUDA_GEMV_ONLY=1) is exact (H100,
// bench/results/gpu_run_s38.cmd q2-q10: worst 0.44-0.95 nats in F32, 0.76-0.88 in BF16). So the
// whole prompt is held to 1.2 nats (an operand, scale or layout error is several), both modes
// are printed, and they must differ where activations are quantized, which shows the BF16
// stream ran.
TEST_P(Fp8GoldenCuda, ResidualStreamBf16AndF32StayNearVllmStyleReference) {
  if (!ops::cuda::available()) GTEST_SKIP() << "no CUDA device";
  const std::string dir = kData + GetParam();
  io::Checkpoint ck = io::open_checkpoint(dir);
  std::unique_ptr<model::LlamaModel> m =
      model::LlamaModel::load(ck, {.device = Device::kCuda, .kv_cache_dtype = DType::kF32});
  const Json ref = read_json_file(dir + "/reference.json");
  const std::vector<int32_t> prompt = ref["prompts"][0].get<std::vector<int32_t>>();
  ASSERT_GT(prompt.size(), 8u) << "the prompt must take the GEMM path";
  const Json& want = ref["logprobs"][0];
  const auto worst_of = [&](const std::vector<std::vector<float>>& lp) {
    double worst = 0.0;
    for (size_t i = 0; i < lp.size(); ++i)
      for (size_t v = 0; v < lp[i].size(); ++v) {
        const double w = want[i][v].get<double>();
        if (w >= -20.0) worst = std::max(worst, std::fabs(lp[i][v] - w));
      }
    return worst;
  };
  const std::vector<int32_t> head(prompt.begin(), prompt.begin() + 8);
  EXPECT_LT(worst_of(logprobs(*m, head)), 2e-2) << GetParam() << ": the first 8 tokens (GEMVs)";
  std::vector<std::vector<float>> lp[3];
  for (int mode : {2, 0}) {
    ops::cuda::set_resid_bf16_mode(mode);
    lp[mode] = logprobs(*m, prompt);
    ASSERT_EQ(lp[mode].size(), want.size());
    const double worst = worst_of(lp[mode]);
    std::printf("%s resid_bf16_mode %d: worst log-prob difference %.4f\n", GetParam().c_str(),
                mode, worst);
    EXPECT_LT(worst, 1.2) << GetParam() << " resid_bf16_mode " << mode;
  }
  ops::cuda::set_resid_bf16_mode(1);
  if (GetParam().find("a_none") == std::string::npos) {
    EXPECT_NE(lp[2], lp[0]) << "the BF16 residual stream did not run";
  } else {
    EXPECT_EQ(lp[2], lp[0]) << "weight-only FP8 keeps the F32 stream";
  }
}

INSTANTIATE_TEST_SUITE_P(Combos, Fp8GoldenCuda,
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

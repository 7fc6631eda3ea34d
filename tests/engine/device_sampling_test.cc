// The engine's device-sampling path, on the CPU: the arrays plan_samples packs for the GPU
// sampler (penalty entries, bans, parameters), the CPU implementation of the GPU contract
// (sample_rows_host) against engine::Sampler with the same seeds, and whole requests through
// the engine with SampleOn::kDevice against SampleOn::kHost: identical tokens, text,
// log-probabilities and finish reasons.
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <random>

#include "engine/device_sampling.h"
#include "engine/engine.h"
#include "fake_model.h"

namespace qinfer::engine {
namespace {

using testing::FakeModel;

TEST(DeviceSampling, PlanPacksPenaltiesBansAndParameters) {
  const std::vector<int32_t> prompt = {5, 3, 5, 9}, gen = {3, 7, 7, 200000}, ban = {2, 8};
  SamplingParams pen{.temperature = 0.7f,
                     .top_k = 5000,
                     .min_p = 0.25f,
                     .repetition_penalty = 1.3f,
                     .presence_penalty = 0.5f,
                     .frequency_penalty = 0.2f,
                     .top_logprobs = 3};
  SamplingParams freq_only{
      .temperature = 0.0f, .top_k = 4, .frequency_penalty = 0.1f, .logprobs = false};
  SamplingParams plain{.temperature = 0.0f};
  std::vector<RowToSample> rows = {{.logits_row = 2,
                                    .params = &pen,
                                    .prompt = prompt,
                                    .generated = gen,
                                    .banned = ban,
                                    .uniform = 0.25},
                                   {.logits_row = 0,
                                    .params = &freq_only,
                                    .prompt = prompt,
                                    .generated = gen,
                                    .banned = {},
                                    .uniform = 0.5},
                                   {.logits_row = 1,
                                    .params = &plain,
                                    .prompt = prompt,
                                    .generated = gen,
                                    .banned = {},
                                    .uniform = 0.75}};
  ops::cuda::SampleBatch b = plan_samples(rows, 1000);
  ASSERT_EQ(b.rows.size(), 3u);
  const ops::cuda::SampleRow& r0 = b.rows[0];
  EXPECT_EQ(r0.logits_row, 2);
  EXPECT_EQ(r0.top_k, 0) << "top_k >= vocab is off";
  EXPECT_EQ(r0.log_min_p, std::log(0.25f));
  EXPECT_EQ(r0.uniform, 0.25);
  EXPECT_EQ(r0.n_top, 3);
  EXPECT_EQ(r0.want_logprob, 1);
  // Distinct ids ascending; the out-of-range generated id is dropped (the CPU sampler skips it).
  std::vector<std::tuple<int32_t, int32_t, int32_t>> want = {
      {3, 1, 1}, {5, 0, 1}, {7, 2, 1}, {9, 0, 1}};
  ASSERT_EQ(r0.penalty_end - r0.penalty_begin, int32_t(want.size()));
  for (size_t i = 0; i < want.size(); ++i) {
    const ops::cuda::SamplePenalty& e = b.penalties[size_t(r0.penalty_begin) + i];
    EXPECT_EQ(std::make_tuple(e.id, e.count, e.in_context), want[i]) << "entry " << i;
  }
  EXPECT_EQ(std::vector<int32_t>(b.bans.begin() + r0.ban_begin, b.bans.begin() + r0.ban_end), ban);
  // Frequency only: generated ids with counts, nothing in context.
  const ops::cuda::SampleRow& r1 = b.rows[1];
  EXPECT_EQ(r1.top_k, 4);
  EXPECT_EQ(r1.uniform, 0.0) << "greedy rows carry no uniform";
  EXPECT_EQ(r1.want_logprob, 0);
  want = {{3, 1, 0}, {7, 2, 0}};
  ASSERT_EQ(r1.penalty_end - r1.penalty_begin, int32_t(want.size()));
  for (size_t i = 0; i < want.size(); ++i) {
    const ops::cuda::SamplePenalty& e = b.penalties[size_t(r1.penalty_begin) + i];
    EXPECT_EQ(std::make_tuple(e.id, e.count, e.in_context), want[i]) << "entry " << i;
  }
  EXPECT_EQ(b.rows[2].penalty_begin, b.rows[2].penalty_end) << "no penalties, no entries";
  EXPECT_EQ(b.rows[2].ban_begin, b.rows[2].ban_end);
  std::vector<int32_t> bad = {1000};
  rows[2].banned = bad;
  EXPECT_THROW(plan_samples(rows, 1000), Error);
}

// Parameter sets covering every step of the sampler, alone and together.
std::vector<SamplingParams> param_grid() {
  return {
      {.temperature = 0.0f},
      {.temperature = 0.0f, .repetition_penalty = 1.5f, .top_logprobs = 5},
      {.temperature = 1.0f},
      {.temperature = 0.7f, .top_k = 20},
      {.temperature = 1.3f, .top_p = 0.8f},
      {.temperature = 1.0f, .min_p = 0.05f},
      {.temperature = 0.9f, .top_k = 50, .top_p = 0.9f, .min_p = 0.02f, .top_logprobs = 20},
      {.temperature = 1.0f,
       .repetition_penalty = 1.2f,
       .presence_penalty = 0.4f,
       .frequency_penalty = 0.3f,
       .top_logprobs = 2},
      {.temperature = 0.5f, .top_k = 1},
      {.temperature = 2.0f, .top_p = 0.3f, .presence_penalty = -1.0f, .logprobs = false},
  };
}

// Logits on few distinct levels (many ties at every cut) or continuous.
std::vector<float> random_row(std::mt19937_64& rng, int64_t vocab, bool ties) {
  std::normal_distribution<float> d(0.0f, 2.0f);
  std::vector<float> l(static_cast<size_t>(vocab));
  for (float& v : l) v = ties ? std::round(d(rng)) : d(rng);
  return l;
}

TEST(DeviceSampling, HostContractMatchesSamplerWithTheSameSeed) {
  const int64_t V = 3000;
  std::mt19937_64 rng(11);
  int n_checked = 0;
  for (const SamplingParams& base : param_grid()) {
    for (bool ties : {false, true}) {
      SamplingParams p = base;
      p.seed = 1234 + uint64_t(n_checked);
      Sampler cpu(p), dev(p);  // the same RNG stream; dev only hands out its uniforms
      std::vector<int32_t> prompt = {1, 2, 3, 40, 40}, gen;
      for (int step = 0; step < 12; ++step) {
        std::vector<float> row = random_row(rng, V, ties);
        SampleResult want = cpu.sample(row, prompt, gen);
        Tensor logits = Tensor::empty(DType::kF32, {2, V});
        std::copy(row.begin(), row.end(), logits.data_as<float>() + V);
        RowToSample r{.logits_row = 1,
                      .params = &dev.params(),
                      .prompt = prompt,
                      .generated = gen,
                      .banned = {},
                      .uniform = p.temperature > 0.0f ? dev.next_uniform() : 0.0};
        SampleResult got = to_sample_result(sample_rows_host(logits, plan_samples({&r, 1}, V))[0]);
        ASSERT_EQ(got.token, want.token) << "params #" << n_checked << " step " << step;
        EXPECT_EQ(got.logprob, want.logprob);
        ASSERT_EQ(got.top.size(), want.top.size());
        for (size_t k = 0; k < want.top.size(); ++k) EXPECT_EQ(got.top[k].id, want.top[k].id);
        gen.push_back(want.token);
      }
      ++n_checked;
    }
  }
}

// FakeModel's next-token recurrence with a broad, deterministic spread over the vocabulary
// (a function of the row's hot token), so that temperature / top-k / top-p / penalties all
// have something to choose from; recomputation after preemption gives the same rows.
class SpreadModel final : public model::LlamaModel {
 public:
  const io::ModelConfig& config() const override { return inner_.config(); }
  Device device() const override { return Device::kCpu; }
  size_t weight_bytes() const override { return 0; }
  size_t kv_block_bytes(int64_t bs) const override { return inner_.kv_block_bytes(bs); }
  model::KvCache allocate_kv_cache(int64_t n_block, int64_t bs) const override {
    return inner_.allocate_kv_cache(n_block, bs);
  }
  void set_linear_observer(LinearObserver) override {}
  Tensor forward(const model::Batch& batch, model::KvCache& kv) override {
    Tensor out = inner_.forward(batch, kv);
    const int64_t V = out.dim(1);
    for (int64_t r = 0; r < out.dim(0); ++r) {
      float* row = out.data_as<float>() + r * V;
      const int64_t hot = std::max_element(row, row + V) - row;
      for (int64_t v = 0; v < V; ++v) {
        uint64_t h = uint64_t(hot * 1000003 + v) * 0x9E3779B97F4A7C15ull;
        h ^= h >> 29;
        // Most of the vocabulary far below a few hundred plausible tokens.
        row[v] += (v >= 1000 && v < 1400) ? float(h % 1000) / 250.0f : -8.0f;
      }
    }
    return out;
  }

 private:
  FakeModel inner_;
};

std::shared_ptr<const tokenizer::Tokenizer> llama3_tokenizer() {
  static std::shared_ptr<const tokenizer::Tokenizer> tok =
      tokenizer::Tokenizer::from_dir(std::string(QINFER_SHARED_DIR) + "/models/llama3.1-tokenizer");
  return tok;
}

struct Outputs {
  std::map<int, std::vector<int32_t>> ids;
  std::map<int, std::string> text;
  std::map<int, int> finish;
  std::map<int, std::vector<Logprob>> logprobs;
  std::vector<std::optional<Logprob>> prompt_logprobs;
};

std::map<std::string, Outputs> run_requests(SampleOn where, const std::vector<Request>& reqs) {
  EngineOptions opt{.max_model_len = 128,
                    .max_num_seqs = 8,
                    .max_num_batched_tokens = 40,
                    .kv_cache_bytes = 12 * 2 * 16 * 4,
                    .eos_token_ids = {128009},
                    .sample_on = where};
  Engine eng(std::make_shared<SpreadModel>(), llama3_tokenizer(), opt);
  std::map<std::string, Outputs> res;
  for (const Request& r : reqs) {
    eng.validate(r);
    const std::string id = r.id;
    EXPECT_TRUE(eng.submit(r, [&res, id](RequestOutput&& o) {
      Outputs& out = res[id];
      for (SeqDelta& d : o.seqs) {
        out.ids[d.index].insert(out.ids[d.index].end(), d.token_ids.begin(), d.token_ids.end());
        out.text[d.index] += d.text;
        if (d.finish) out.finish[d.index] = int(*d.finish);
        for (auto& l : d.logprobs) out.logprobs[d.index].push_back(l);
      }
      if (!o.prompt_logprobs.empty()) out.prompt_logprobs = o.prompt_logprobs;
    }));
  }
  for (int steps = 0; !eng.idle() && steps < 10000; ++steps) eng.step();
  EXPECT_GT(eng.metrics().preemptions, 0u) << "the test meant to force preemption";
  return res;
}

TEST(DeviceSampling, EngineDevicePathMatchesHostPath) {
  std::vector<Request> reqs;
  int i = 0;
  for (const SamplingParams& base : param_grid()) {
    Request r{.id = "r" + std::to_string(i),
              .prompt = {128000},
              .sampling = base,
              .max_tokens = 24 + i % 5};
    for (int j = 0; j < 6 + i; ++j) r.prompt.push_back(int32_t(2000 + (i * 131 + j * 17) % 3000));
    r.sampling.seed = 100 + uint64_t(i);
    if (i % 3 == 0) r.logprobs = i % 2 ? 0 : 4;
    if (i == 2) r.n = 3;  // forks: seeds 102, 103, 104 on a shared row
    if (i == 4) r.min_tokens = 5, r.stop_token_ids = {1001, 1002, 1003};  // bans
    if (i == 5) r.prompt_logprobs = 2;  // forces the host path for its prefill steps
    if (i == 6) r.stop = {"e"};
    reqs.push_back(std::move(r));
    ++i;
  }
  const auto host = run_requests(SampleOn::kHost, reqs);
  const auto device = run_requests(SampleOn::kDevice, reqs);
  for (const Request& r : reqs) {
    const Outputs& h = host.at(r.id);
    const Outputs& d = device.at(r.id);
    EXPECT_EQ(d.ids, h.ids) << r.id;
    EXPECT_EQ(d.text, h.text) << r.id;
    EXPECT_EQ(d.finish, h.finish) << r.id;
    ASSERT_EQ(d.logprobs.size(), h.logprobs.size()) << r.id;
    for (const auto& [idx, lps] : h.logprobs) {
      const std::vector<Logprob>& dl = d.logprobs.at(idx);
      ASSERT_EQ(dl.size(), lps.size()) << r.id;
      for (size_t k = 0; k < lps.size(); ++k) {
        EXPECT_EQ(dl[k].id, lps[k].id);
        EXPECT_EQ(dl[k].logprob, lps[k].logprob);
        EXPECT_EQ(dl[k].top, lps[k].top);
      }
    }
    EXPECT_EQ(d.prompt_logprobs.size(), h.prompt_logprobs.size()) << r.id;
  }
  // Sanity: random requests really sampled (different seeds, different tokens).
  EXPECT_NE(host.at("r2").ids.at(0), host.at("r2").ids.at(1));
}

}  // namespace
}  // namespace qinfer::engine

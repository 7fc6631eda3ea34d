// ops::cuda::sample_rows (the GPU sampler) against its CPU contract engine::sample_rows_host,
// which is engine::Sampler row by row (device_sampling_test.cc ties the two), over random
// logits: Llama 3's vocabulary and a small one, continuous values and few levels (ties at every
// cut), every parameter combination, penalties, bans, rows sharing a logits row. Tokens and
// top-logprob ids must be identical (the draw is exact integer arithmetic on both sides);
// log-probabilities agree to float rounding. Skips without a GPU (CI). Lives with the engine
// tests because the reference is engine code.
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <random>

#include "core/dtype.h"
#include "core/error.h"
#include "engine/device_sampling.h"
#include "ops/cuda/cuda_ops.h"
#include "ops/cuda/fused_ops.h"

namespace qinfer::engine {
namespace {

#define SKIP_WITHOUT_CUDA()                                        \
  do {                                                             \
    if (!ops::cuda::available()) GTEST_SKIP() << "no CUDA device"; \
  } while (0)

std::vector<SamplingParams> grid() {
  std::vector<SamplingParams> g;
  for (float t : {0.0f, 0.6f, 1.0f, 1.7f})
    for (int64_t k : {int64_t(0), int64_t(1), int64_t(7), int64_t(50)})
      for (float p : {1.0f, 0.95f, 0.5f, 0.05f})
        for (float mp : {0.0f, 0.1f}) {
          SamplingParams s{.temperature = t, .top_k = k, .top_p = p, .min_p = mp};
          const size_t i = g.size();
          if (i % 3 == 0) s.repetition_penalty = 1.3f;
          if (i % 5 == 1) s.presence_penalty = 0.7f, s.frequency_penalty = -0.4f;
          s.top_logprobs = int64_t(i % 4 == 0 ? 20 : i % 7);
          s.logprobs = i % 6 != 5;
          g.push_back(s);
        }
  return g;
}

struct Case {
  int64_t vocab;
  bool ties;
};

// Compares one batch; returns the number of rows checked.
int check_batch(const Tensor& host_logits, const ops::cuda::SampleBatch& batch,
                const std::string& what) {
  Tensor want_logits = host_logits.to(Device::kCpu);  // a copy: bans write into it
  Tensor dev = host_logits.to(Device::kCuda);
  const std::vector<ops::cuda::SampleOut> want = sample_rows_host(want_logits, batch);
  const std::vector<ops::cuda::SampleOut> got = ops::cuda::sample_rows(dev, batch);
  EXPECT_EQ(got.size(), want.size());
  for (size_t i = 0; i < want.size() && i < got.size(); ++i) {
    const ops::cuda::SampleRow& r = batch.rows[i];
    const std::string where = what + " row " + std::to_string(i) + " (T " +
                              std::to_string(r.temperature) + ", top_k " + std::to_string(r.top_k) +
                              ", top_p " + std::to_string(r.top_p) + ", min_p " +
                              std::to_string(r.min_p) + ", u " + std::to_string(r.uniform) + ")";
    EXPECT_EQ(got[i].token, want[i].token) << where;
    EXPECT_NEAR(got[i].logprob, want[i].logprob, 2e-4 + 1e-6 * std::fabs(want[i].logprob)) << where;
    EXPECT_EQ(got[i].n_top, want[i].n_top) << where;
    for (int k = 0; k < want[i].n_top && k < got[i].n_top; ++k) {
      EXPECT_EQ(got[i].top_id[k], want[i].top_id[k]) << where << " top " << k;
      EXPECT_NEAR(got[i].top_logprob[k], want[i].top_logprob[k], 2e-4) << where << " top " << k;
    }
  }
  // The bans were applied in place on the device too.
  Tensor back = dev.to(Device::kCpu);
  const int64_t V = host_logits.dim(1);
  for (const ops::cuda::SampleRow& r : batch.rows)
    for (int32_t j = r.ban_begin; j < r.ban_end; ++j)
      EXPECT_EQ(back.data_as<float>()[int64_t(r.logits_row) * V + batch.bans[size_t(j)]],
                -INFINITY);
  return int(want.size());
}

TEST(CudaSampling, MatchesCpuSamplerOverParameterGrid) {
  SKIP_WITHOUT_CUDA();
  const uint64_t seed = std::random_device{}();
  std::mt19937_64 rng(seed);
  const std::vector<SamplingParams> params = grid();
  int n_rows = 0;
  for (Case c : {Case{128256, false}, Case{128256, true}, Case{1000, false}, Case{1000, true}}) {
    const int64_t n_logits = 24;
    Tensor logits = Tensor::empty(DType::kF32, {n_logits, c.vocab});
    std::normal_distribution<float> nd(0.0f, 3.0f);
    float* l = logits.data_as<float>();
    for (int64_t i = 0; i < logits.numel(); ++i) l[i] = c.ties ? std::round(nd(rng)) : nd(rng);
    // A row with a single huge maximum and one all equal.
    for (int64_t v = 0; v < c.vocab; ++v) l[3 * c.vocab + v] = 1.0f;
    l[5 * c.vocab + 17] = 80.0f;
    std::vector<std::vector<int32_t>> ctx(params.size()), gen(params.size()), bans(params.size());
    std::vector<RowToSample> rows;
    std::uniform_real_distribution<double> u01(0.0, 1.0);
    for (size_t i = 0; i < params.size(); ++i) {
      for (int j = 0; j < 40; ++j) ctx[i].push_back(int32_t(rng() % uint64_t(c.vocab)));
      for (int j = 0; j < 25; ++j) gen[i].push_back(int32_t(rng() % 60));  // repeats
      if (i % 9 == 4) bans[i] = {int32_t(rng() % uint64_t(c.vocab)), 17, 0};
      rows.push_back({.logits_row = int64_t(i % size_t(n_logits)),
                      .params = &params[i],
                      .prompt = ctx[i],
                      .generated = gen[i],
                      .banned = bans[i],
                      .uniform = u01(rng)});
    }
    n_rows += check_batch(logits, plan_samples(rows, c.vocab),
                          "vocab " + std::to_string(c.vocab) + (c.ties ? " ties" : "") + " seed " +
                              std::to_string(seed));
  }
  EXPECT_EQ(n_rows, 4 * int(params.size()));
}

// Few rows (a decode batch of 1-3): the raw argmax runs over chunks of the row in several blocks
// (sample_kernel's row_argmax), so the first maximum must win across chunk boundaries: maxima
// tied in two chunks, at the last id, an all-equal row, an all -inf row, -inf entries; greedy
// with and without logprobs, and a sampled row.
TEST(CudaSampling, FewRowsArgmaxAcrossChunks) {
  SKIP_WITHOUT_CUDA();
  const int64_t V = 128256;
  std::mt19937_64 rng(11);
  std::normal_distribution<float> nd(0.0f, 2.0f);
  const int kinds = 7;
  Tensor logits = Tensor::empty(DType::kF32, {kinds, V});
  float* l = logits.data_as<float>();
  for (int64_t i = 0; i < logits.numel(); ++i) l[i] = nd(rng);
  l[0 * V + 90000] = 50.0f, l[0 * V + 5000] = 50.0f;  // tied in two chunks: 5000
  l[1 * V + V - 1] = 50.0f;                           // the last id
  for (int64_t v = 0; v < V; ++v) l[2 * V + v] = 0.25f, l[3 * V + v] = -INFINITY;
  for (int64_t v = 0; v < V; v += 3) l[4 * V + v] = -INFINITY;  // banned-like entries
  l[4 * V + 70001] = 40.0f;
  l[5 * V + 4095] = 30.0f, l[5 * V + 4096] = 30.0f;  // either side of a chunk edge: 4095
  const SamplingParams greedy{.temperature = 0.0f, .logprobs = false};
  const SamplingParams greedy_lp{.temperature = 0.0f, .top_logprobs = 3};
  const SamplingParams sampled{.temperature = 0.7f, .top_k = 20};
  for (const SamplingParams* p : {&greedy, &greedy_lp, &sampled})
    for (int n : {1, 3}) {
      for (int first = 0; first + n <= kinds; ++first) {
        std::vector<RowToSample> rows;
        for (int i = 0; i < n; ++i)
          rows.push_back({.logits_row = first + i, .params = p, .prompt = {}, .generated = {},
                          .banned = {}, .uniform = 0.3});
        // The all -inf row (3) only greedy without log-probabilities.
        if (p != &greedy && first <= 3 && first + n > 3) continue;
        check_batch(logits, plan_samples(rows, V),
                    "few rows from " + std::to_string(first) + " n " + std::to_string(n) +
                        " T " + std::to_string(p->temperature));
      }
    }
}

// Decode-like use: each step's uniform from the sequence's own Sampler, against that
// Sampler's own sample() on the same rows.
TEST(CudaSampling, SeededSequencesPickTheSameTokensAsTheCpuSampler) {
  SKIP_WITHOUT_CUDA();
  const int64_t V = 128256, n_seq = 16;
  std::mt19937_64 rng(7);
  std::vector<Sampler> cpu, gpu;
  std::vector<std::vector<int32_t>> generated(n_seq);
  const std::vector<int32_t> prompt = {128000, 791, 4062, 14198};
  for (int64_t s = 0; s < n_seq; ++s) {
    SamplingParams p{.temperature = 0.8f,
                     .top_k = s % 2 ? 40 : 0,
                     .top_p = s % 3 ? 0.9f : 1.0f,
                     .repetition_penalty = s % 4 == 0 ? 1.1f : 1.0f,
                     .seed = 42 + uint64_t(s),
                     .top_logprobs = 2};
    cpu.emplace_back(p);
    gpu.emplace_back(p);
  }
  std::normal_distribution<float> nd(0.0f, 2.5f);
  for (int step = 0; step < 8; ++step) {
    Tensor logits = Tensor::empty(DType::kF32, {n_seq, V});
    for (int64_t i = 0; i < logits.numel(); ++i) logits.data_as<float>()[i] = nd(rng);
    std::vector<RowToSample> rows;
    for (int64_t s = 0; s < n_seq; ++s)
      rows.push_back({.logits_row = s,
                      .params = &gpu[size_t(s)].params(),
                      .prompt = prompt,
                      .generated = generated[size_t(s)],
                      .banned = {},
                      .uniform = gpu[size_t(s)].next_uniform()});
    Tensor dev = logits.to(Device::kCuda);
    const std::vector<ops::cuda::SampleOut> got =
        ops::cuda::sample_rows(dev, plan_samples(rows, V));
    for (int64_t s = 0; s < n_seq; ++s) {
      const SampleResult want =
          cpu[size_t(s)].sample(std::span<const float>(logits.data_as<float>() + s * V, size_t(V)),
                                prompt, generated[size_t(s)]);
      ASSERT_EQ(got[size_t(s)].token, want.token) << "sequence " << s << " step " << step;
      generated[size_t(s)].push_back(want.token);
    }
  }
}

// Not a test of speed (no assertion): prints what sampling 256 rows of Llama 3's vocabulary
// costs on this GPU, for the log.
// The lm_head's own greedy samples (sampling_cuda.h: linear_act_greedy, finish_greedy,
// note_greedy), as the model's decode steps use them: a batch of plain greedy rows gets them
// (the host sampler's tokens on the same logits, also in sampled_tokens_device()), step after
// step (the keys start from zero each time); any other batch on those logits goes through the
// sampler's kernel; a record set overwritten before its ticket was waited on is an error.
TEST(CudaSampling, GreedyRowsMadeByTheLmHead) {
  SKIP_WITHOUT_CUDA();
  const int64_t V = 5003, n_in = 256;
  std::mt19937_64 rng(5);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  ops::LinearWeight w;
  w.name = "lm_head";
  w.n_out = V;
  w.n_in = n_in;
  {
    Tensor wh = Tensor::empty(DType::kBF16, {V, n_in});
    for (int64_t i = 0; i < wh.numel(); ++i) wh.data_as<uint16_t>()[i] = f32_to_bf16(nd(rng));
    w.weight = wh.to(Device::kCuda);
  }
  unsigned long long* keys = ops::cuda::greedy_keys_device();
  ASSERT_NE(keys, nullptr);
  uint32_t tag = 100;
  // One decode step's lm_head over n random rows: its logits (n, V) on the device.
  struct Step {
    Tensor logits, act_data, tag;
  };
  auto lm_head = [&](int64_t n, bool note) {
    Step st;
    Tensor x = Tensor::empty(DType::kF32, {n, n_in});
    for (int64_t i = 0; i < x.numel(); ++i) x.data_as<float>()[i] = nd(rng);
    Tensor xd = x.to(Device::kCuda);
    ops::cuda::Act act;
    act.spec = ops::cuda::act_spec(w, n);
    st.act_data = Tensor::empty(DType::kU8, {int64_t(ops::cuda::act_bytes(act.spec, n))},
                                Device::kCuda);
    act.data = st.act_data.data();
    act.n = n;
    ops::cuda::to_act(xd.data_as<float>(), n, act);
    st.logits = Tensor::empty(DType::kF32, {n, V}, Device::kCuda);
    EXPECT_TRUE(ops::cuda::linear_act_greedy(w, act, st.logits.data_as<float>(), keys));
    Tensor th = Tensor::empty(DType::kI32, {1});
    th.data_as<int32_t>()[0] = int32_t(++tag);
    st.tag = th.to(Device::kCuda);
    ops::cuda::finish_greedy(int(n), st.tag.data_as<int32_t>());
    if (note) ops::cuda::note_greedy(st.logits.data_as<float>(), int(n), tag);
    return st;
  };
  const SamplingParams greedy{.temperature = 0.0f, .logprobs = false};
  const SamplingParams greedy_lp{.temperature = 0.0f, .top_logprobs = 2};
  auto rows_of = [&](int64_t n, const SamplingParams* last) {
    std::vector<RowToSample> rows;
    for (int64_t i = 0; i < n; ++i)
      rows.push_back({.logits_row = i, .params = i == n - 1 ? last : &greedy, .prompt = {},
                      .generated = {}, .banned = {}, .uniform = 0.0});
    return plan_samples(rows, V);
  };
  for (int rep = 0; rep < 3; ++rep) {
    for (int64_t n : {1, 4, 8}) {
      for (const SamplingParams* last : {&greedy, &greedy_lp}) {
        Step st = lm_head(n, true);
        const ops::cuda::SampleBatch batch = rows_of(n, last);
        Tensor host = st.logits.to(Device::kCpu);
        const std::vector<ops::cuda::SampleOut> want = sample_rows_host(host, batch);
        const std::vector<ops::cuda::SampleOut> got = ops::cuda::sample_rows(st.logits, batch);
        std::vector<int32_t> fed(static_cast<size_t>(n));
        ops::cuda::copy_to_host_async(fed.data(), ops::cuda::sampled_tokens_device(),
                                      size_t(n) * sizeof(int32_t));
        ops::cuda::synchronize();
        const std::string where = "rep " + std::to_string(rep) + " n " + std::to_string(n) +
                                  (last == &greedy ? " greedy" : " one row with logprobs");
        ASSERT_EQ(got.size(), size_t(n)) << where;
        for (int64_t i = 0; i < n; ++i) {
          EXPECT_EQ(got[size_t(i)].token, want[size_t(i)].token) << where << " row " << i;
          EXPECT_EQ(fed[size_t(i)], want[size_t(i)].token) << where << " row " << i;
          EXPECT_EQ(got[size_t(i)].n_top, want[size_t(i)].n_top) << where << " row " << i;
        }
      }
    }
  }
  // Rows in another order than the logits': the sampler's kernel.
  {
    Step st = lm_head(2, true);
    std::vector<RowToSample> rows = {
        {.logits_row = 1, .params = &greedy, .prompt = {}, .generated = {}, .banned = {}},
        {.logits_row = 0, .params = &greedy, .prompt = {}, .generated = {}, .banned = {}}};
    const ops::cuda::SampleBatch batch = plan_samples(rows, V);
    Tensor host = st.logits.to(Device::kCpu);
    const std::vector<ops::cuda::SampleOut> want = sample_rows_host(host, batch);
    const std::vector<ops::cuda::SampleOut> got = ops::cuda::sample_rows(st.logits, batch);
    ASSERT_EQ(got.size(), 2u);
    EXPECT_EQ(got[0].token, want[0].token);
    EXPECT_EQ(got[1].token, want[1].token);
  }
  // Two steps of the same record set (tags two apart) before the first is read.
  {
    Step a = lm_head(1, true);
    const ops::cuda::SampleTicket ta = ops::cuda::sample_rows_async(a.logits, rows_of(1, &greedy));
    ++tag;  // skip a tag: the next step writes the same set
    Step b = lm_head(1, true);
    const ops::cuda::SampleTicket tb = ops::cuda::sample_rows_async(b.logits, rows_of(1, &greedy));
    ops::cuda::synchronize();  // the second step has written the set
    EXPECT_THROW(ops::cuda::sample_rows_wait(ta), Error);
    Tensor host = b.logits.to(Device::kCpu);
    const std::vector<ops::cuda::SampleOut> want = sample_rows_host(host, rows_of(1, &greedy));
    const std::vector<ops::cuda::SampleOut> got = ops::cuda::sample_rows_wait(tb);
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0].token, want[0].token);
  }
}

TEST(CudaSampling, ReportsBatchTime) {
  SKIP_WITHOUT_CUDA();
  const int64_t V = 128256, n = 256;
  Tensor logits = Tensor::empty(DType::kF32, {n, V});
  std::mt19937_64 rng(3);
  std::normal_distribution<float> nd(0.0f, 2.5f);
  for (int64_t i = 0; i < logits.numel(); ++i) logits.data_as<float>()[i] = nd(rng);
  Tensor dev = logits.to(Device::kCuda);
  for (const SamplingParams& p : {SamplingParams{.temperature = 0.0f, .logprobs = false},
                                  SamplingParams{.temperature = 0.0f, .top_logprobs = 5},
                                  SamplingParams{.temperature = 1.0f, .logprobs = false},
                                  SamplingParams{.temperature = 0.8f,
                                  .top_k = 50,
                                  .top_p = 0.9f,
                                  .min_p = 0.05f,
                                  .repetition_penalty = 1.1f,
                                  .top_logprobs = 5}}) {
    std::vector<int32_t> ctx(1000);
    for (auto& t : ctx) t = int32_t(rng() % uint64_t(V));
    std::vector<RowToSample> rows;
    for (int64_t s = 0; s < n; ++s)
      rows.push_back({.logits_row = s,
                      .params = &p,
                      .prompt = ctx,
                      .generated = {},
                      .banned = {},
                      .uniform = 0.5});
    const ops::cuda::SampleBatch b = plan_samples(rows, V);
    ops::cuda::sample_rows(dev, b);  // warm-up
    const auto t0 = std::chrono::steady_clock::now();
    const int reps = 5;
    for (int i = 0; i < reps; ++i) ops::cuda::sample_rows(dev, b);
    const double ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count() /
        reps;
    std::printf(
        "sample_rows: %lld rows x %lld, T %.1f top_k %lld top_p %.2f logprobs %d: %.3f ms\n",
        (long long)n, (long long)V, p.temperature, (long long)p.top_k, p.top_p, int(p.top_logprobs),
        ms);
  }
}

}  // namespace
}  // namespace qinfer::engine

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

#include "engine/device_sampling.h"
#include "ops/cuda/cuda_ops.h"

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

// engine::Sampler against the published semantics (vLLM / HF / OpenAI), with fixed seeds:
// masks of min_p / top_k / top_p are exactly the expected token sets, penalties follow their
// formulas, draws follow the renormalized distribution (chi-square), seeds reproduce.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <random>
#include <vector>

#include "core/error.h"
#include "engine/sampler.h"

namespace qinfer::engine {
namespace {

// Logits whose softmax is exactly `probs`.
std::vector<float> logits_of(const std::vector<double>& probs) {
  std::vector<float> l;
  for (double p : probs) l.push_back(float(std::log(p)));
  return l;
}

std::vector<int> kept(const std::vector<float>& l) {
  std::vector<int> r;
  for (size_t i = 0; i < l.size(); ++i)
    if (std::isfinite(l[i])) r.push_back(int(i));
  return r;
}

// probs in token order: token 3 most likely, then 0, 4, 1, 2.
const std::vector<double> kProbs = {0.25, 0.1, 0.05, 0.45, 0.15};

TEST(Sampler, GreedyIsArgmaxWithLowestIdOnTies) {
  Sampler s({.temperature = 0.0f});
  EXPECT_EQ(s.sample(logits_of(kProbs), {}, {}).token, 3);
  std::vector<float> tie = {1.0f, 5.0f, 5.0f, 2.0f};
  EXPECT_EQ(s.sample(tie, {}, {}).token, 1);
}

TEST(Sampler, MinPMasksBelowFractionOfMax) {
  // threshold 0.3 * 0.45 = 0.135: keeps 0.45, 0.25, 0.15.
  Sampler s({.min_p = 0.3f});
  EXPECT_EQ(kept(s.processed_logits(logits_of(kProbs), {}, {})), (std::vector<int>{0, 3, 4}));
}

TEST(Sampler, TopKKeepsKLargest) {
  Sampler s({.top_k = 2});
  EXPECT_EQ(kept(s.processed_logits(logits_of(kProbs), {}, {})), (std::vector<int>{0, 3}));
  Sampler all({.top_k = -1});
  EXPECT_EQ(kept(all.processed_logits(logits_of(kProbs), {}, {})).size(), 5u);
}

TEST(Sampler, TopPKeepsSmallestSetReachingP) {
  // Sorted: 0.45, 0.25 (0.70), 0.15 (0.85), ... top_p 0.7 -> cum before token 0 is 0.45 < 0.7,
  // before token 4 is 0.70, not < 0.7 (float rounding aside, use 0.69 and 0.71).
  Sampler a({.top_p = 0.69f});
  EXPECT_EQ(kept(a.processed_logits(logits_of(kProbs), {}, {})), (std::vector<int>{0, 3}));
  Sampler b({.top_p = 0.71f});
  EXPECT_EQ(kept(b.processed_logits(logits_of(kProbs), {}, {})), (std::vector<int>{0, 3, 4}));
  Sampler c({.top_p = 0.1f});
  EXPECT_EQ(kept(c.processed_logits(logits_of(kProbs), {}, {})), (std::vector<int>{3}));
}

TEST(Sampler, TopPAppliesAfterTopK) {
  // top_k 3 renormalizes to 0.45/0.85, 0.25/0.85, 0.15/0.85 = .529, .294, .176;
  // top_p 0.8 then keeps .529 + .294 = .823 >= 0.8 -> two tokens.
  Sampler s({.top_k = 3, .top_p = 0.8f});
  EXPECT_EQ(kept(s.processed_logits(logits_of(kProbs), {}, {})), (std::vector<int>{0, 3}));
}

TEST(Sampler, RepetitionPenaltyDividesPositiveMultipliesNegative) {
  Sampler s({.temperature = 0.0f, .repetition_penalty = 2.0f});
  std::vector<float> l = {4.0f, -4.0f, 4.0f, 1.0f};
  std::vector<int32_t> prompt = {0}, gen = {1, 1};
  std::vector<float> p = s.processed_logits(l, prompt, gen);
  EXPECT_EQ(p, (std::vector<float>{2.0f, -8.0f, 4.0f, 1.0f}));
}

TEST(Sampler, PresenceAndFrequencyOverGeneratedOnly) {
  Sampler s({.temperature = 0.0f, .presence_penalty = 0.5f, .frequency_penalty = 0.25f});
  std::vector<float> l = {1.0f, 1.0f, 1.0f};
  std::vector<int32_t> prompt = {0, 0, 0}, gen = {1, 2, 2, 2};
  std::vector<float> p = s.processed_logits(l, prompt, gen);
  EXPECT_FLOAT_EQ(p[0], 1.0f);
  EXPECT_FLOAT_EQ(p[1], 1.0f - 0.5f - 0.25f);
  EXPECT_FLOAT_EQ(p[2], 1.0f - 0.5f - 0.75f);
}

// OpenAI's logit_bias: added to the logits before the penalties and everything after them;
// log-probabilities stay those of the raw row.
TEST(Sampler, LogitBiasAddsBeforePenaltiesAndKeepsRawLogprobs) {
  SamplingParams p{.temperature = 0.0f, .repetition_penalty = 2.0f};
  p.logit_bias = {{1, 10.0f}, {2, -3.0f}, {7, 5.0f}};  // 7: past this row, skipped
  Sampler s(p);
  std::vector<float> l = {4.0f, -4.0f, 4.0f, 1.0f};
  std::vector<int32_t> prompt = {1}, gen = {};
  // token 1: (-4 + 10) = 6 > 0, in context: / 2 -> 3; token 2: 4 - 3 = 1.
  EXPECT_EQ(s.processed_logits(l, prompt, gen), (std::vector<float>{4.0f, 3.0f, 1.0f, 1.0f}));
  // Greedy follows the bias; the logprob is the raw row's.
  SamplingParams g{.temperature = 0.0f};
  g.logit_bias = {{3, 100.0f}};
  Sampler sg(g);
  const SampleResult r = sg.sample(l, {}, {});
  EXPECT_EQ(r.token, 3);
  double lse = 0;
  for (float v : l) lse += std::exp(double(v));
  EXPECT_NEAR(r.logprob, 1.0 - std::log(lse), 1e-5);
  // -100 bans the argmax under sampling too.
  SamplingParams b{.temperature = 1.0f, .seed = 7};
  b.logit_bias = {{0, -100.0f}, {2, -100.0f}};
  Sampler sb(b);
  for (int i = 0; i < 200; ++i) {
    const int32_t t = sb.sample(l, {}, {}).token;
    EXPECT_TRUE(t == 1 || t == 3) << t;
  }
  SamplingParams bad{};
  bad.logit_bias = {{0, 101.0f}};
  EXPECT_THROW(validate(bad), Error);
}

TEST(Sampler, TemperatureScalesLogits) {
  Sampler s({.temperature = 0.5f});
  std::vector<float> p = s.processed_logits(std::vector<float>{1.0f, -2.0f}, {}, {});
  EXPECT_EQ(p, (std::vector<float>{2.0f, -4.0f}));
}

// Chi-square goodness of fit of 40000 draws (top_k 3 + temperature 1) against the
// renormalized probabilities; 2 degrees of freedom, critical value 13.8 at p = 0.001.
TEST(Sampler, DrawsFollowTheTruncatedDistribution) {
  Sampler s({.top_k = 3, .seed = 7});
  const std::vector<float> l = logits_of(kProbs);
  std::map<int32_t, int> count;
  const int n = 40000;
  for (int i = 0; i < n; ++i) ++count[s.sample(l, {}, {}).token];
  ASSERT_EQ(count.size(), 3u) << "a masked token was drawn";
  const double z = 0.45 + 0.25 + 0.15;
  double chi2 = 0;
  for (auto [tok, c] : count) {
    const double e = n * kProbs[size_t(tok)] / z;
    chi2 += (c - e) * (c - e) / e;
  }
  EXPECT_LT(chi2, 13.8);
}

TEST(Sampler, SameSeedSameTokensOtherSeedOthers) {
  const std::vector<float> l = logits_of({0.2, 0.2, 0.2, 0.2, 0.2});
  auto draw = [&](uint64_t seed) {
    Sampler s({.seed = seed});
    std::vector<int32_t> r;
    for (int i = 0; i < 32; ++i) r.push_back(s.sample(l, {}, {}).token);
    return r;
  };
  EXPECT_EQ(draw(42), draw(42));
  EXPECT_NE(draw(42), draw(43));
}

TEST(Sampler, LogprobsAreRawLogSoftmax) {
  Sampler s({.temperature = 0.0f, .repetition_penalty = 3.0f, .top_logprobs = 2});
  SampleResult r = s.sample(logits_of(kProbs), std::vector<int32_t>{3}, {});
  // The penalty changes the choice (3 -> 0) but not the reported log-probabilities.
  EXPECT_EQ(r.token, 0);
  EXPECT_NEAR(r.logprob, std::log(0.25), 1e-6);
  ASSERT_EQ(r.top.size(), 2u);
  EXPECT_EQ(r.top[0].id, 3);
  EXPECT_NEAR(r.top[0].logprob, std::log(0.45), 1e-6);
  EXPECT_EQ(r.top[1].id, 0);
}

// top_p over a large vocabulary, peaked (decided within the first few hundred tokens) and
// flat (needs the full sort), against a plain full sort in this test.
TEST(Sampler, TopPLargeVocabularyMatchesFullSort) {
  for (float spread : {4.0f, 0.05f}) {
    std::mt19937_64 rng(5);
    std::normal_distribution<float> d(0.0f, spread);
    std::vector<float> l(50000);
    for (float& v : l) v = d(rng);
    const float top_p = 0.9f;
    std::vector<int> order(l.size());
    for (size_t i = 0; i < l.size(); ++i) order[i] = int(i);
    std::sort(order.begin(), order.end(),
              [&](int a, int b) { return l[size_t(a)] > l[size_t(b)]; });
    double mx = l[size_t(order[0])], total = 0, cum = 0;
    for (float v : l) total += std::exp(double(v) - mx);
    std::vector<int> want;
    for (int t : order) {
      want.push_back(t);
      cum += std::exp(double(l[size_t(t)]) - mx) / total;
      if (cum >= top_p) break;
    }
    std::sort(want.begin(), want.end());
    Sampler s({.top_p = top_p});
    EXPECT_EQ(kept(s.processed_logits(l, {}, {})), want) << "spread " << spread;
  }
}

TEST(Sampler, RejectsOutOfRangeParams) {
  EXPECT_THROW(Sampler({.temperature = -1.0f}), Error);
  EXPECT_THROW(Sampler({.top_k = -2}), Error);
  EXPECT_THROW(Sampler({.top_p = 0.0f}), Error);
  EXPECT_THROW(Sampler({.min_p = 1.5f}), Error);
  EXPECT_THROW(Sampler({.repetition_penalty = 0.0f}), Error);
  EXPECT_THROW(Sampler({.presence_penalty = 3.0f}), Error);
}

}  // namespace
}  // namespace qinfer::engine

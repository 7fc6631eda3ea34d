#include "engine/sampler.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <unordered_map>

#include "core/error.h"

namespace qinfer::engine {

namespace {

constexpr float kNegInf = -std::numeric_limits<float>::infinity();

// log_softmax in double for accuracy over a large vocabulary.
std::vector<float> log_softmax(std::span<const float> x) {
  double mx = -std::numeric_limits<double>::infinity();
  for (float v : x) mx = std::max(mx, double(v));
  double sum = 0;
  for (float v : x) sum += std::exp(double(v) - mx);
  const double lse = mx + std::log(sum);
  std::vector<float> r(x.size());
  for (size_t i = 0; i < x.size(); ++i) r[i] = float(double(x[i]) - lse);
  return r;
}

void apply_penalties(const SamplingParams& p, std::vector<float>& l,
                     std::span<const int32_t> prompt, std::span<const int32_t> generated) {
  const int64_t V = int64_t(l.size());
  if (p.repetition_penalty != 1.0f) {
    std::vector<bool> seen(l.size(), false);
    for (auto span : {prompt, generated})
      for (int32_t t : span)
        if (t >= 0 && t < V) seen[size_t(t)] = true;
    for (size_t i = 0; i < l.size(); ++i)
      if (seen[i]) l[i] = l[i] > 0 ? l[i] / p.repetition_penalty : l[i] * p.repetition_penalty;
  }
  if (p.presence_penalty != 0.0f || p.frequency_penalty != 0.0f) {
    std::unordered_map<int32_t, int64_t> count;
    for (int32_t t : generated)
      if (t >= 0 && t < V) ++count[t];
    for (const auto& [t, c] : count)
      l[size_t(t)] -= p.presence_penalty + p.frequency_penalty * float(c);
  }
}

// Masks (to -inf) every token outside min_p / top_k / top_p, on temperature-scaled logits.
void apply_truncation(const SamplingParams& p, std::vector<float>& l) {
  const size_t V = l.size();
  const float mx = *std::max_element(l.begin(), l.end());
  if (p.min_p > 0.0f) {
    // p_i < min_p * p_max  <=>  l_i < l_max + log(min_p)
    const float cut = mx + std::log(p.min_p);
    for (float& v : l)
      if (v < cut) v = kNegInf;
  }
  const bool use_k = p.top_k > 0 && size_t(p.top_k) < V;
  if (!use_k && p.top_p >= 1.0f) return;
  std::vector<int32_t> order(V);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](int32_t a, int32_t b) { return l[size_t(a)] > l[size_t(b)]; });
  if (use_k) {
    const float kth = l[size_t(order[size_t(p.top_k - 1)])];
    for (float& v : l)
      if (v < kth) v = kNegInf;
  }
  if (p.top_p < 1.0f) {
    double sum = 0;
    for (float v : l) sum += std::exp(double(v) - mx);
    double cum = 0;
    size_t i = 0;
    for (; i < V; ++i) {
      cum += std::exp(double(l[size_t(order[i])]) - mx) / sum;
      if (cum >= double(p.top_p)) break;
    }
    for (size_t j = i + 1; j < V; ++j) l[size_t(order[j])] = kNegInf;
  }
}

}  // namespace

void validate(const SamplingParams& p) {
  QINFER_CHECK(std::isfinite(p.temperature) && p.temperature >= 0.0f,
               "sampling: temperature must be >= 0, got ", p.temperature);
  QINFER_CHECK(p.top_k >= -1, "sampling: top_k must be -1, 0 (off) or positive, got ", p.top_k);
  QINFER_CHECK(p.top_p > 0.0f && p.top_p <= 1.0f, "sampling: top_p must be in (0, 1], got ",
               p.top_p);
  QINFER_CHECK(p.min_p >= 0.0f && p.min_p <= 1.0f, "sampling: min_p must be in [0, 1], got ",
               p.min_p);
  QINFER_CHECK(std::isfinite(p.repetition_penalty) && p.repetition_penalty > 0.0f,
               "sampling: repetition_penalty must be > 0, got ", p.repetition_penalty);
  QINFER_CHECK(p.presence_penalty >= -2.0f && p.presence_penalty <= 2.0f,
               "sampling: presence_penalty must be in [-2, 2], got ", p.presence_penalty);
  QINFER_CHECK(p.frequency_penalty >= -2.0f && p.frequency_penalty <= 2.0f,
               "sampling: frequency_penalty must be in [-2, 2], got ", p.frequency_penalty);
  QINFER_CHECK(p.top_logprobs >= 0, "sampling: top_logprobs must be >= 0, got ", p.top_logprobs);
}

Sampler::Sampler(const SamplingParams& params) : params_(params) {
  validate(params_);
  rng_.seed(params_.seed
                ? *params_.seed
                : (uint64_t(std::random_device{}()) << 32) ^ uint64_t(std::random_device{}()));
}

std::vector<float> Sampler::processed_logits(std::span<const float> logits,
                                             std::span<const int32_t> prompt,
                                             std::span<const int32_t> generated) const {
  QINFER_CHECK(!logits.empty(), "sampling: empty logits row");
  std::vector<float> l(logits.begin(), logits.end());
  apply_penalties(params_, l, prompt, generated);
  if (params_.temperature == 0.0f) return l;
  for (float& v : l) v /= params_.temperature;
  apply_truncation(params_, l);
  return l;
}

SampleResult Sampler::sample(std::span<const float> logits, std::span<const int32_t> prompt,
                             std::span<const int32_t> generated) {
  std::vector<float> l = processed_logits(logits, prompt, generated);
  SampleResult r;
  if (params_.temperature == 0.0f) {
    r.token = int32_t(std::max_element(l.begin(), l.end()) - l.begin());
  } else {
    const float mx = *std::max_element(l.begin(), l.end());
    double sum = 0;
    for (float v : l) sum += std::exp(double(v) - mx);
    const double u = std::uniform_real_distribution<double>(0.0, 1.0)(rng_) * sum;
    double cum = 0;
    r.token = -1;
    for (size_t i = 0; i < l.size(); ++i) {
      if (l[i] == kNegInf) continue;
      cum += std::exp(double(l[i]) - mx);
      r.token = int32_t(i);  // the last kept token absorbs rounding at the top end
      if (u < cum) break;
    }
  }
  const std::vector<float> lp = log_softmax(logits);
  r.logprob = lp[size_t(r.token)];
  if (params_.top_logprobs > 0) {
    const size_t n = std::min(size_t(params_.top_logprobs), lp.size());
    std::vector<int32_t> idx(lp.size());
    std::iota(idx.begin(), idx.end(), 0);
    std::partial_sort(idx.begin(), idx.begin() + long(n), idx.end(), [&](int32_t a, int32_t b) {
      return lp[size_t(a)] > lp[size_t(b)] || (lp[size_t(a)] == lp[size_t(b)] && a < b);
    });
    for (size_t i = 0; i < n; ++i) r.top.push_back({idx[i], lp[size_t(idx[i])]});
  }
  return r;
}

}  // namespace qinfer::engine

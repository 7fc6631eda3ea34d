#include "engine/sampler.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <numeric>
#include <unordered_map>

#include "core/error.h"
#include "ops/cuda/sampling_math.h"

namespace qinfer::engine {

namespace sampling = ops::sampling;

bool has_penalties(const SamplingParams& p) {
  return p.repetition_penalty != 1.0f || p.presence_penalty != 0.0f ||
         p.frequency_penalty != 0.0f;
}

namespace {

constexpr float kNegInf = -std::numeric_limits<float>::infinity();

// log Σ exp(x): one pass of float exps, summed in double for a 128k-entry vocabulary.
double log_sum_exp(std::span<const float> x) {
  const float mx = *std::max_element(x.begin(), x.end());
  if (mx == kNegInf) return -std::numeric_limits<double>::infinity();
  double sum = 0;
  for (float v : x) sum += std::exp(v - mx);
  return double(mx) + std::log(sum);
}

// Descending by logit, ascending id among equal logits: one total order for every cut.
struct ByLogitDesc {
  const float* l;
  bool operator()(int32_t a, int32_t b) const { return l[a] > l[b] || (l[a] == l[b] && a < b); }
};

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

// The kept tokens of `l` (finite logits), most likely first: only as far as needed to decide
// top_p when the head of the distribution holds the weight (a 128k-entry sort is the slow case).
std::vector<int32_t> sorted_head(const std::vector<float>& l, uint64_t weight_needed, float mx) {
  std::vector<int32_t> idx;
  for (size_t i = 0; i < l.size(); ++i)
    if (l[i] != kNegInf) idx.push_back(int32_t(i));
  const ByLogitDesc by{l.data()};
  for (size_t head = 256; head < idx.size(); head *= 8) {
    std::partial_sort(idx.begin(), idx.begin() + long(head), idx.end(), by);
    uint64_t cum = 0;
    for (size_t i = 0; i < head; ++i) cum += sampling::weight(l[size_t(idx[i])], mx);
    if (cum >= weight_needed) {
      idx.resize(head);
      return idx;
    }
  }
  std::sort(idx.begin(), idx.end(), by);
  return idx;
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
  if (p.top_k > 0 && size_t(p.top_k) < V) {
    // The k-th largest logit; ties with it are kept (vLLM masks logits < the k-th value).
    std::vector<float> vals(l);
    std::nth_element(vals.begin(), vals.begin() + (p.top_k - 1), vals.end(), std::greater<>());
    const float kth = vals[size_t(p.top_k - 1)];
    for (float& v : l)
      if (v < kth) v = kNegInf;
  }
  if (p.top_p < 1.0f) {
    // Over the draw's fixed-point weights (sampling_math.h): keep token j while the weight of
    // the tokens before it is below top_p * total, i.e. up to the first whose inclusive sum
    // reaches it.
    uint64_t total = 0;
    for (float v : l) total += sampling::weight(v, mx);
    const uint64_t need = sampling::top_p_threshold(p.top_p, total);
    const std::vector<int32_t> order = sorted_head(l, need, mx);
    uint64_t cum = 0;
    size_t i = 0;
    for (; i < order.size(); ++i) {
      cum += sampling::weight(l[size_t(order[i])], mx);
      if (cum >= need) break;
    }
    std::vector<bool> keep(V, false);
    for (size_t j = 0; j <= i && j < order.size(); ++j) keep[size_t(order[j])] = true;
    for (size_t t = 0; t < V; ++t)
      if (!keep[t]) l[t] = kNegInf;
  }
}

// Anything that changes the logits before greedy / temperature (steps 0-2).
bool changes_logits(const SamplingParams& p) {
  return has_penalties(p) || !p.logit_bias.empty();
}

std::vector<float> processed_logits(const SamplingParams& p, std::span<const float> logits,
                                    std::span<const int32_t> prompt,
                                    std::span<const int32_t> generated) {
  QINFER_CHECK(!logits.empty(), "sampling: empty logits row");
  std::vector<float> l(logits.begin(), logits.end());
  for (const auto& [t, b] : p.logit_bias)
    if (t >= 0 && size_t(t) < l.size()) l[size_t(t)] += b;
  apply_penalties(p, l, prompt, generated);
  if (p.temperature == 0.0f) return l;
  for (float& v : l) v /= p.temperature;
  apply_truncation(p, l);
  return l;
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
  for (const auto& [t, b] : p.logit_bias)
    QINFER_CHECK(t >= 0 && std::isfinite(b) && b >= -100.0f && b <= 100.0f,
                 "sampling: logit_bias must map token ids to values in [-100, 100], got ", t,
                 ": ", b);
}

Sampler::Sampler(const SamplingParams& params) : params_(params) {
  validate(params_);
  rng_.seed(params_.seed
                ? *params_.seed
                : (uint64_t(std::random_device{}()) << 32) ^ uint64_t(std::random_device{}()));
}

double Sampler::next_uniform() { return std::uniform_real_distribution<double>(0.0, 1.0)(rng_); }

std::vector<float> Sampler::processed_logits(std::span<const float> logits,
                                             std::span<const int32_t> prompt,
                                             std::span<const int32_t> generated) const {
  return engine::processed_logits(params_, logits, prompt, generated);
}

SampleResult Sampler::sample(std::span<const float> logits, std::span<const int32_t> prompt,
                             std::span<const int32_t> generated) {
  const double u = params_.temperature == 0.0f ? 0.0 : next_uniform();
  return sample_row(params_, logits, prompt, generated, u);
}

SampleResult sample_row(const SamplingParams& p, std::span<const float> logits,
                        std::span<const int32_t> prompt, std::span<const int32_t> generated,
                        double u) {
  QINFER_CHECK(!logits.empty(), "sampling: empty logits row");
  SampleResult r;
  if (p.temperature == 0.0f && !changes_logits(p)) {
    // Greedy on the raw row: no copy (the lowest id among equal maxima, as argmax).
    r.token = int32_t(std::max_element(logits.begin(), logits.end()) - logits.begin());
  } else {
    std::vector<float> l = processed_logits(p, logits, prompt, generated);
    if (p.temperature == 0.0f) {
      r.token = int32_t(std::max_element(l.begin(), l.end()) - l.begin());
    } else {
      // Inverse CDF in token-id order over exact integer weights (sampling_math.h).
      const float mx = *std::max_element(l.begin(), l.end());
      uint64_t total = 0;
      for (float v : l) total += sampling::weight(v, mx);
      r.token = -1;
      if (total > 0) {
        const uint64_t target = sampling::draw_target(u, total);
        uint64_t cum = 0;
        for (size_t i = 0; i < l.size(); ++i) {
          cum += sampling::weight(l[i], mx);
          if (cum > target) {
            r.token = int32_t(i);
            break;
          }
        }
      }
      if (r.token < 0)
        r.token = int32_t(std::max_element(logits.begin(), logits.end()) - logits.begin());
    }
  }
  if (p.logprobs || p.top_logprobs > 0) {
    const double lse = log_sum_exp(logits);
    r.logprob = float(double(logits[size_t(r.token)]) - lse);
    const size_t n = std::min(size_t(p.top_logprobs), logits.size());
    if (n > 0) {
      std::vector<int32_t> idx(logits.size());
      std::iota(idx.begin(), idx.end(), 0);
      std::partial_sort(idx.begin(), idx.begin() + long(n), idx.end(), ByLogitDesc{logits.data()});
      for (size_t i = 0; i < n; ++i)
        r.top.push_back({idx[i], float(double(logits[size_t(idx[i])]) - lse)});
    }
  }
  return r;
}

}  // namespace qinfer::engine

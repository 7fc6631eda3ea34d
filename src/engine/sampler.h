// Next-token sampling with the semantics of vLLM's sampler (and Hugging Face's where vLLM
// follows it):
//
//   0. logit_bias: bias[t] added to token t's logit (OpenAI's logit_bias; vLLM applies it
//      before the penalties)
//   1. repetition_penalty r over every token of prompt + generated (HF / vLLM):
//        logit > 0 ? logit / r : logit * r
//   2. presence / frequency penalties over generated tokens only (OpenAI / vLLM):
//        logit -= presence_penalty * [count > 0] + frequency_penalty * count
//   3. temperature == 0: greedy (argmax; the lowest id among equal maxima)
//      otherwise logits / temperature, then
//   4. min_p: drop tokens whose probability is below min_p * (the largest probability)
//   5. top_k: keep the k largest logits (ties with the k-th are kept)
//   6. top_p: keep the smallest set of most likely tokens whose probability sum reaches top_p
//   7. draw from the renormalized distribution with the request's own RNG
//      (std::mt19937_64 seeded by `seed`: the same seed gives the same tokens).
//
// The draw inverts the CDF of one uniform u in [0, 1) (std::uniform_real_distribution<double>
// over the RNG) in token-id order, over fixed-point weights round(exp(l - max) * 2^45) whose
// sums are exact (src/ops/cuda/sampling_math.h); top_p sums the same weights. The GPU sampler
// (src/ops/cuda/sampling_cuda.h) does the same integer arithmetic with the same uniform, drawn
// by the host from the same RNG, so a seed picks the same tokens on the CPU and on the GPU.
// (Tokens below p_max * 2^-46 have weight 0 and are never drawn.)
//
// Log-probabilities are those of the raw model output, log_softmax(logits) before any bias,
// penalty or temperature (vLLM's default logprobs mode "raw_logprobs").
#pragma once

#include <cstdint>
#include <optional>
#include <random>
#include <span>
#include <utility>
#include <vector>

namespace qinfer::engine {

struct SamplingParams {
  float temperature = 1.0f;           // 0 = greedy
  int64_t top_k = 0;                  // 0 or -1 = all tokens
  float top_p = 1.0f;                 // (0, 1]
  float min_p = 0.0f;                 // [0, 1]
  float repetition_penalty = 1.0f;    // > 0; 1 = off
  float presence_penalty = 0.0f;      // [-2, 2]
  float frequency_penalty = 0.0f;     // [-2, 2]
  std::optional<uint64_t> seed = {};  // none: seeded from std::random_device
  // (token id, bias in [-100, 100]) added to the logits first; ids past the vocabulary are an
  // error of the caller (the server checks them), the sampler skips them.
  std::vector<std::pair<int32_t, float>> logit_bias = {};
  int64_t top_logprobs = 0;           // how many most likely tokens to report with each step
  // Compute SampleResult::logprob (a log-sum-exp over the vocabulary). Callers that do not
  // report log-probabilities turn it off; top_logprobs > 0 computes it regardless.
  bool logprobs = true;
};

// Throws an Error naming the field when a value is out of range.
void validate(const SamplingParams& p);

// Whether the penalties (repetition, presence, frequency) are on: sampling then reads the
// sequence's tokens so far.
bool has_penalties(const SamplingParams& p);

struct TokenLogprob {
  int32_t id = 0;
  float logprob = 0.0f;
};

struct SampleResult {
  int32_t token = 0;
  float logprob = 0.0f;           // of `token`, raw log_softmax (0 when not asked for)
  std::vector<TokenLogprob> top;  // top_logprobs most likely, descending
};

class Sampler {
 public:
  explicit Sampler(const SamplingParams& params);

  // logits: one row (vocab). prompt and generated: the sequence so far (for penalties).
  SampleResult sample(std::span<const float> logits, std::span<const int32_t> prompt,
                      std::span<const int32_t> generated);

  // Steps 1-6 only: the processed logits, with -inf for every masked token (for tests and
  // for callers that combine distributions).
  std::vector<float> processed_logits(std::span<const float> logits,
                                      std::span<const int32_t> prompt,
                                      std::span<const int32_t> generated) const;

  const SamplingParams& params() const { return params_; }

  // The uniform that sample() would draw next, for sampling this row elsewhere (on the GPU):
  // sample() draws exactly one per call when temperature > 0 and none when greedy, so a
  // caller that draws it here instead keeps the sequence's stream of random numbers intact.
  double next_uniform();

 private:
  SamplingParams params_;
  std::mt19937_64 rng_;
};

// Sampler::sample with an explicit uniform u in [0, 1) (unused when greedy): one row, no RNG.
SampleResult sample_row(const SamplingParams& p, std::span<const float> logits,
                        std::span<const int32_t> prompt, std::span<const int32_t> generated,
                        double u);

}  // namespace qinfer::engine

#include "server/sampling_fields.h"

#include "server/api_error.h"

namespace qinfer::server {

SamplingFields default_sampling_fields(const io::GenerationConfig& g) {
  SamplingFields f;
  if (g.temperature) f.temperature = *g.temperature;
  if (g.top_p) f.top_p = *g.top_p;
  if (g.top_k) f.top_k = *g.top_k;
  if (g.min_p) f.min_p = *g.min_p;
  if (g.repetition_penalty) f.repetition_penalty = *g.repetition_penalty;
  return f;
}

void validate_sampling_fields(const SamplingFields& f) {
  if (f.temperature < 0)
    throw bad_request(str_cat("temperature must be non-negative, got ", f.temperature),
                      "temperature");
  if (!(f.top_p > 0 && f.top_p <= 1))
    throw bad_request(str_cat("top_p must be in (0, 1], got ", f.top_p), "top_p");
  if (f.top_k < -1) throw bad_request(str_cat("top_k must be -1 (disable), or at least 1, got ",
                                              f.top_k), "top_k");
  if (!(f.min_p >= 0 && f.min_p <= 1))
    throw bad_request(str_cat("min_p must be in [0, 1], got ", f.min_p), "min_p");
  if (!(f.presence_penalty >= -2 && f.presence_penalty <= 2))
    throw bad_request(str_cat("presence_penalty must be in [-2, 2], got ", f.presence_penalty),
                      "presence_penalty");
  if (!(f.frequency_penalty >= -2 && f.frequency_penalty <= 2))
    throw bad_request(str_cat("frequency_penalty must be in [-2, 2], got ", f.frequency_penalty),
                      "frequency_penalty");
  for (const auto& [t, b] : f.logit_bias)
    if (!(b >= -100 && b <= 100))
      throw bad_request(str_cat("logit_bias values must be in [-100, 100], got ", b, " for token ",
                                t), "logit_bias");
  if (!(f.repetition_penalty > 0))
    throw bad_request(str_cat("repetition_penalty must be greater than zero, got ",
                              f.repetition_penalty), "repetition_penalty");
}

engine::SamplingParams to_sampling_params(const SamplingFields& f) {
  engine::SamplingParams p;
  p.temperature = float(f.temperature);
  p.top_p = float(f.top_p);
  p.top_k = f.top_k <= 0 ? 0 : f.top_k;
  p.min_p = float(f.min_p);
  p.presence_penalty = float(f.presence_penalty);
  p.frequency_penalty = float(f.frequency_penalty);
  p.repetition_penalty = float(f.repetition_penalty);
  if (f.seed) p.seed = uint64_t(*f.seed);
  p.logit_bias = f.logit_bias;
  return p;
}

}  // namespace qinfer::server

// The sampling fields of a request as the protocol states them, their defaults (vLLM takes
// unspecified ones from generation_config.json: temperature, top_p, top_k, min_p,
// repetition_penalty) and their validation (vLLM's SamplingParams._verify_args ranges).
#pragma once

#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

#include "io/model_config.h"
#include "qinfer/request.h"

namespace qinfer::server {

struct SamplingFields {
  double temperature = 1.0;
  double top_p = 1.0;
  int64_t top_k = 0;  // 0 or -1: off
  double min_p = 0.0;
  double presence_penalty = 0.0;
  double frequency_penalty = 0.0;
  double repetition_penalty = 1.0;
  std::optional<int64_t> seed;
  std::vector<std::pair<int32_t, float>> logit_bias;  // token id -> bias in [-100, 100]
};

SamplingFields default_sampling_fields(const io::GenerationConfig& g);
// Throws ApiError 400 naming the field.
void validate_sampling_fields(const SamplingFields& f);
engine::SamplingParams to_sampling_params(const SamplingFields& f);

}  // namespace qinfer::server

// Sampling next to the logits (the GPU), the plain C++ half: which row each sequence samples
// from, its parameters, penalty and ban arrays, and the uniform drawn from its own RNG, packed
// into the arrays ops::cuda::sample_rows uploads (src/ops/cuda/sampling_cuda.h); and the CPU
// implementation of that same contract (through engine::sample_row), which is the reference
// of the GPU sampler's tests and what the engine runs when "device" logits are on the host.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "core/tensor.h"
#include "engine/sampler.h"
#include "ops/cuda/sampling_cuda.h"

namespace qinfer::engine {

// One sequence's next token to sample.
struct RowToSample {
  int64_t logits_row = 0;
  const SamplingParams* params = nullptr;  // with top_logprobs set (Sampler::params())
  std::span<const int32_t> prompt;
  std::span<const int32_t> generated;
  std::span<const int32_t> banned;  // masked to -inf first (min_tokens' stop tokens)
  double uniform = 0.0;             // Sampler::next_uniform() when temperature > 0, else 0
};

// Packs rows for ops::cuda::sample_rows. Penalty entries (distinct ids, ascending, within
// [0, vocab) as the CPU sampler counts them) are built only for rows whose parameters have
// penalties; bans must lie in [0, vocab).
ops::cuda::SampleBatch plan_samples(std::span<const RowToSample> rows, int64_t vocab);

// The parameters a packed row stands for (seed unset: the row carries its uniform).
SamplingParams params_of(const ops::cuda::SampleRow& r);

// ops::cuda::sample_rows on host logits (n_rows, vocab) F32, row by row with
// engine::sample_row (in parallel); bans overwrite `logits` with -inf as on the GPU.
std::vector<ops::cuda::SampleOut> sample_rows_host(Tensor& logits,
                                                   const ops::cuda::SampleBatch& batch);

SampleResult to_sample_result(const ops::cuda::SampleOut& o);

}  // namespace qinfer::engine

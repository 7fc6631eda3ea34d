// Next-token sampling on the GPU, next to the logits: only the chosen tokens and their
// log-probabilities come back to the host (a few KB instead of (rows, vocab) floats).
// Callable from plain C++ (no CUDA headers). The semantics are engine::Sampler's
// (src/engine/sampler.h), row by row; engine::sample_rows_host (src/engine/device_sampling.h)
// is the CPU implementation of this same contract and the reference of its tests.
//
// Per sampled row, in order:
//   banned tokens (min_tokens: stop tokens not yet allowed) are set to -inf IN PLACE in the
//   logits, before anything else (so log-probabilities see them masked, as on the CPU);
//   raw log_softmax for the chosen token and the n_top most likely (ties: lower id first);
//   repetition penalty over `in_context` tokens, presence / frequency over `count`;
//   temperature 0: argmax (lowest id on ties); else logits / temperature, min_p, top_k (ties
//   with the k-th kept), top_p (a prefix of the order logit desc, id asc), then the draw:
//   the first token in id order whose inclusive prefix sum of fixed-point weights
//   (sampling_math.h) exceeds draw_target(uniform, total) -- the CPU sampler's inverse CDF,
//   bit for bit, so the same uniform gives the same token on both devices.
#pragma once

#include <cstdint>
#include <vector>

#include "core/tensor.h"
#include "ops/cuda/sampling_math.h"

namespace qinfer::ops::cuda {

// One row to sample (plain data, uploaded as is).
struct SampleRow {
  int32_t logits_row = 0;           // row of the logits tensor (several rows may share one)
  float temperature = 1.0f;         // 0: greedy
  int32_t top_k = 0;                // 0: off
  float top_p = 1.0f;               // 1: off
  float min_p = 0.0f;               // 0: off
  float log_min_p = 0.0f;           // std::log(min_p), computed on the host as the CPU does
  float repetition_penalty = 1.0f;  // 1: off
  float presence_penalty = 0.0f;
  float frequency_penalty = 0.0f;
  int32_t want_logprob = 0;   // fill SampleOut::logprob
  int32_t n_top = 0;          // top log-probabilities to report (<= kMaxTopLogprobs)
  double uniform = 0.0;       // in [0, 1), drawn by the host from the sequence's RNG
  int32_t penalty_begin = 0;  // [begin, end) into SampleBatch::penalties
  int32_t penalty_end = 0;
  int32_t ban_begin = 0;  // [begin, end) into SampleBatch::bans
  int32_t ban_end = 0;
};

// A token the penalties touch, for one row; a row's entries have distinct ids.
struct SamplePenalty {
  int32_t id = 0;
  int32_t count = 0;       // occurrences among the generated tokens (presence / frequency)
  int32_t in_context = 0;  // 1: in prompt + generated (repetition penalty)
};

struct SampleBatch {
  std::vector<SampleRow> rows;
  std::vector<SamplePenalty> penalties;
  std::vector<int32_t> bans;
};

struct SampleOut {
  int32_t token = 0;
  float logprob = 0.0f;  // raw log_softmax of token (0 unless want_logprob or n_top)
  int32_t n_top = 0;
  int32_t top_id[sampling::kMaxTopLogprobs] = {};
  float top_logprob[sampling::kMaxTopLogprobs] = {};
};

// logits: (n_rows, vocab) F32 on the GPU, as LlamaModel::forward_device returns them; banned
// tokens are overwritten with -inf. Returns one SampleOut per batch row (synchronizes).
// Throws when this build has no CUDA backend.
std::vector<SampleOut> sample_rows(Tensor& logits, const SampleBatch& batch);

// sample_rows without waiting for the GPU: queues the uploads, the kernels and the copy of the
// results to page-locked host memory on the backend stream and returns. sample_rows_wait
// returns the SampleOuts once they are there. Each call also leaves row i's token at entry i of
// sampled_tokens_device(), in stream order, so that the next forward pass can read its input
// tokens there (model::Batch::token_from) before the host has seen them: the host prepares and
// queues step N+1 while the GPU still runs step N. Two calls may be outstanding; a third reuses
// the first one's buffers, and waiting on that first ticket afterwards is an error.
struct SampleTicket {
  uint64_t id = 0;  // 0: nothing was queued (no rows)
  int slot = 0;
  int n = 0;
};
SampleTicket sample_rows_async(Tensor& logits, const SampleBatch& batch);
std::vector<SampleOut> sample_rows_wait(const SampleTicket& ticket);

// Greedy rows sampled by the lm_head itself, for decode steps of up to kMaxGreedyRows rows:
// the lm_head's GEMV (fused_ops.h linear_act_greedy) leaves each row's maximum greedy_key
// (sampling_math.h) in greedy_keys_device(); finish_greedy, queued right after it, turns them
// into samples; and sample_rows_async, finding its batch made of the plain greedy rows of
// those very logits (note_greedy), queues nothing. Between two greedy decode steps the GPU
// then runs no sampler kernel and the host launches none.
inline constexpr int kMaxGreedyRows = 8;
// The lm_head's blocks spread their atomic maxima of a row over kGreedyParts partial maxima,
// kGreedyStride u64 (128 bytes, an L2 line each) apart: block b adds to part b % kGreedyParts.
// One address a row (with a barrier before the blocks' first loads) made the 1B's 164 us
// lm_head 5.5 us longer; spread, it is within 0.6 us of the plain one (H100, 16,032 blocks a
// row; bench/results/gpu_run_s29.cmd q1, q3). Row r's part p: keys[(r kGreedyParts + p) kGreedyStride].
inline constexpr int kGreedyParts = 32;
inline constexpr int kGreedyStride = 16;
inline constexpr int kGreedyKeyWords = kMaxGreedyRows * kGreedyParts * kGreedyStride;

// (kGreedyKeyWords) u64 on the GPU at a fixed address (graphs bake it in), zero between
// steps: the lm_head's partial maxima. Null when it cannot be allocated now (first use inside
// a CUDA graph capture): the caller then leaves the lm_head unfused.
unsigned long long* greedy_keys_device();

// Queues the kernel that makes samples of the first n rows' keys (programmatic launch: it waits
// for the kernel before it, the lm_head, to end): row i's token (greedy_token of the largest
// of its parts) at
// sampled_tokens_device()[i] and, with logprob 0 and no top entries, in record set (*tag & 1)
// of page-locked host memory, stamped with *tag; the parts back to zero. tag: a device I32 (the
// step's metadata), so that a graph's replays write the set of their own step.
void finish_greedy(int n, const int32_t* tag);

// The host's half: the forward just queued (in stream order, before the sample_rows_async
// call that follows it) finish_greedy for logits (n, vocab) with this tag value; null logits:
// it did not. The next sample_rows_async call takes the note (and clears it); it skips its own
// kernel when every row of its batch is row i of those logits with temperature 0 and no
// penalties, bans, logprobs or top logprobs, and otherwise samples as always.
void note_greedy(const float* logits, int n, uint32_t tag);

// (kMaxFedRows) I32 on the GPU at a fixed address (CUDA graphs bake it in): the tokens of the
// latest sample_rows / sample_rows_async call, by batch row.
inline constexpr int kMaxFedRows = 1 << 16;
const int32_t* sampled_tokens_device();

}  // namespace qinfer::ops::cuda

// The engine's public request and output types. A request is a tokenized prompt plus how to
// sample and when to stop; the engine answers with a stream of RequestOutput deltas, one per
// step in which the request made progress. These types never mention HTTP or JSON.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "engine/sampler.h"

namespace qinfer {

struct Request {
  std::string id{};                       // unique (the server uses "chatcmpl-…" / "cmpl-…")
  std::vector<int32_t> prompt{};          // token ids, BOS included when the model wants it
  engine::SamplingParams sampling{};      // temperature, top_k/p, min_p, penalties, seed
  int64_t max_tokens = 16;              // 0: only compute the prompt (prompt logprobs)
  int64_t min_tokens = 0;               // EOS / stop tokens are masked until this many
  std::vector<std::string> stop{};        // stop strings, cut from the output
  std::vector<int32_t> stop_token_ids{};  // extra stop tokens besides EOS
  bool ignore_eos = false;
  bool include_stop_str_in_output = false;
  bool skip_special_tokens = true;      // in the detokenized text
  int n = 1;                            // independent samples sharing the prompt's KV
  std::optional<int> logprobs{};          // per sampled token: its logprob + this many top ones
  std::optional<int> prompt_logprobs{};   // per prompt token (echo): logprob + top ones
};

enum class FinishReason { kStop, kLength, kAbort };
const char* finish_reason_name(FinishReason r);

struct Logprob {
  int32_t id = 0;
  float logprob = 0.0f;
  std::vector<std::pair<int32_t, float>> top{};  // most likely first
};

// What one sample (choice) produced since the previous output.
struct SeqDelta {
  int index = 0;
  std::vector<int32_t> token_ids{};
  std::string text{};                      // newly completed text (stop strings held back)
  std::vector<Logprob> logprobs{};    // one per token id when logprobs were asked for
  std::optional<FinishReason> finish{};
  std::optional<std::string> stop_str{};   // the stop string that ended it
  std::optional<int32_t> stop_token{};     // the stop token (EOS or stop_token_ids) that did
};

struct RequestOutput {
  std::string request_id{};
  std::vector<SeqDelta> seqs{};            // the samples that progressed (by index)
  // First output only: one entry per prompt token (the first has no logprob).
  std::vector<std::optional<Logprob>> prompt_logprobs{};
  int64_t n_prompt = 0;
  int64_t n_generated = 0;               // over all samples so far
  bool finished = false;                 // every sample has finished (last output)
  std::string error{};                     // set when the engine failed the request
};

// Called from the engine thread: must not block.
using OutputCallback = std::function<void(RequestOutput&&)>;

}  // namespace qinfer

// Engine-private state of requests (groups of samples) and sequences, shared by engine.cc
// (the step) and engine_requests.cc (what happens to a request's tokens).
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <vector>

#include "engine/engine.h"
#include "engine/sampler.h"
#include "engine/stop_checker.h"
#include "ops/cuda/sampling_cuda.h"

namespace qinfer::engine {

// Seconds on the monotonic clock (latency metrics).
inline double now_s() {
  using namespace std::chrono;
  return duration<double>(steady_clock::now().time_since_epoch()).count();
}

// log_softmax(row)[id] and the `top` most likely tokens (ties: lower id first), for prompt
// logprobs (the sampler reports them for sampled tokens).
Logprob token_logprob(const float* row, int64_t vocab, int32_t id, int top);

struct Engine::Group {
  Request req;
  OutputCallback cb;
  double arrival = 0.0;
  double first_token = 0.0;
  std::vector<SeqCtx*> seqs;              // by choice index, as forks create them
  std::map<int, SeqDelta> deltas;         // progress since the last output
  std::vector<std::optional<Logprob>> prompt_lp;  // (n_prompt) when asked for
  int64_t n_prompt_lp = 1;                // prompt positions recorded so far (0 has none)
  bool prompt_lp_sent = false;
  bool prompt_done = false;               // first token sampled (TTFT, prompt tokens)
  int n_finished = 0;
  int64_t n_generated = 0;
  std::optional<FinishReason> last_reason;
  std::string error;                      // the engine failed the request
};

struct Engine::SeqCtx {
  int64_t id = 0;           // Sequence::id, the key in Engine::seqs_
  Sequence* seq = nullptr;  // null once finished
  Group* group = nullptr;
  int index = 0;
  std::unique_ptr<tokenizer::IncrementalDecoder> decoder;
  StopChecker stop;
  std::unique_ptr<Sampler> sampler;
  double last_token = 0.0;
};

struct Engine::SampleJob {
  SeqCtx* sc = nullptr;  // valid while the step runs; in flight, found again by seq_id
  int64_t seq_id = 0;
  int64_t pos = 0;  // index in Sequence::tokens of the token sampled
  int64_t row = 0;  // of the step's logits
  SampleResult result;
};

// A sequence's token that step N+1 computes before the host has seen it (AsyncSteps): its
// value comes from the device (model::Batch::token_from) and lands in Sequence::tokens once
// step N's samples are back.
inline constexpr int32_t kPendingToken = -1;

struct Engine::InFlight {
  std::vector<SampleJob> jobs;        // job i is row i of the sampling batch
  ops::cuda::SampleTicket ticket;     // device sampling: the results on their way
  bool on_device = false;             // else every job's result is set
  std::vector<int32_t> host_tokens;   // host results' tokens, the fed array of a CPU model
};

// The tokens a sequence may not sample yet: with fewer than min_tokens generated, the stop
// tokens (EOS unless ignore_eos, and stop_token_ids) are masked (vLLM's logits processor).
std::vector<int32_t> banned_tokens(const Request& req, const Sequence& seq,
                                   const std::vector<int32_t>& eos_token_ids);

inline bool wants_prompt_rows(const Sequence& s, int64_t first) {
  return s.prompt_logits && first < s.n_prompt;
}

inline bool group_running(const Engine::Group& g) {
  for (const Engine::SeqCtx* sc : g.seqs)
    if (sc->seq && sc->seq->status == SeqStatus::kRunning) return true;
  return false;
}

}  // namespace qinfer::engine

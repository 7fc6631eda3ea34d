// The engine: a bounded request queue in front of a step loop on its own thread. Each step
// schedules (scheduler.h), copies shared KV blocks that are about to be written, runs ONE
// model forward over every scheduled sequence (prefill chunks and decodes together),
// samples, detokenizes, checks stop conditions and hands each request its delta through
// its callback. The engine only talks to model::LlamaModel, so any backend plugs in.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "engine/metrics.h"
#include "engine/scheduler.h"
#include "engine/step_trace.h"
#include "model/llama.h"
#include "qinfer/request.h"
#include "tokenizer/tokenizer.h"

namespace qinfer::ops::cuda {
struct SampleTicket;
}

namespace qinfer::engine {

// Where a step's next tokens are sampled. kHost copies the logits to the host (always, for a
// step in which a request wants prompt logprobs); kDevice samples next to the logits
// (LlamaModel::forward_device + ops::cuda::sample_rows; with host logits, e.g. a CPU model, the
// same path runs engine::sample_rows_host: tests use that); kAuto is kDevice when the model runs
// on CUDA. The outputs are the same either way (src/engine/sampler.h).
enum class SampleOn { kAuto, kHost, kDevice };

// Whether the host queues step N+1 before step N's sampled tokens are back (vLLM's async
// scheduling): the next step reads those tokens on the device (model::Batch::token_from), and
// step N's tokens are detokenized, stop-checked and streamed while the GPU runs step N+1. A
// sequence that stops at step N has also been computed in step N+1; that sample is dropped.
// Steps whose sampling needs the previous tokens on the host (penalties, host sampling on a
// GPU model) and steps that could preempt wait for them first. kAuto: on for CUDA models. The
// outputs are the same either way.
enum class AsyncSteps { kAuto, kOn, kOff };

struct EngineOptions {
  int64_t max_model_len = 0;             // 0: the model's max_position_embeddings
  int64_t max_num_seqs = 256;
  int64_t max_num_batched_tokens = 2048;
  int64_t max_queue = 1024;              // requests waiting for admission; more are refused
  int64_t block_size = 16;
  int64_t kv_cache_bytes = 0;            // 0: enough for max_num_seqs sequences, capped at 4 GiB
  std::vector<int32_t> eos_token_ids{};    // stop tokens unless ignore_eos
  SampleOn sample_on = SampleOn::kAuto;
  AsyncSteps async_steps = AsyncSteps::kAuto;
};

class Engine {
 public:
  Engine(std::shared_ptr<model::LlamaModel> model,
         std::shared_ptr<const tokenizer::Tokenizer> tok, EngineOptions opt);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Checks a request against the engine's limits; throws qinfer::Error with a message for
  // the client (prompt past max_model_len, n past max_num_seqs, token ids out of range...).
  void validate(const Request& req) const;
  // Queues a request; false when the queue is full (the server answers 429). The callback
  // runs on the engine thread.
  bool submit(Request req, OutputCallback cb);
  // Cancels a request (client gone): its blocks are freed at the next step; no more
  // outputs are delivered.
  void abort(const std::string& request_id);

  // Runs the step loop on a thread until stop(); or drive step() by hand (tests).
  void start();
  // Stops the loop. With drain, waits until every queued and running request finished.
  void stop(bool drain);
  // One step; false when there was nothing to do.
  bool step();

  EngineMetrics metrics() const;
  int64_t max_model_len() const { return max_model_len_; }
  int64_t n_block() const { return n_block_; }
  const EngineOptions& options() const { return opt_; }
  const tokenizer::Tokenizer& tokenizer() const { return *tok_; }
  const model::LlamaModel& model() const { return *model_; }
  bool idle() const;

  // Per-request and per-sequence state, defined in engine_internal.h.
  struct Group;
  struct SeqCtx;

 private:
  void loop();
  bool step_body(double* forward_s, int64_t* n_decode);
  void drain_inbox();
  void start_group(Request&& req, OutputCallback&& cb);
  bool sample_on_device(const SchedulerOutput& out) const;
  void run_forward(const SchedulerOutput& out, bool device, Tensor* logits);
  void copy_blocks(const std::vector<BlockCopy>& copies);
  void record_prompt_logprobs(SeqCtx& sc, int64_t first_pos, const float* rows, int64_t n);
  // Sampling a row takes three phases so that the costly middle one (the sampler over the
  // vocabulary) runs in parallel over the sequences of a step.
  struct SampleJob;
  void prepare_samples(SeqCtx& sc, int64_t row, std::vector<SampleJob>* jobs);
  void draw(SampleJob& job, const float* logits) const;
  // The device path's draw of every job at once (device_sampling.h).
  // With logits on the GPU the draw is queued (*ticket); else the results are set.
  void draw_on_device(std::vector<SampleJob>& jobs, Tensor& logits,
                      ops::cuda::SampleTicket* ticket);
  void apply_sample(SampleJob& job);
  // Step N's samples, queued and not yet applied (AsyncSteps).
  struct InFlight;
  bool async_steps() const;
  // Queues (device) or draws (host) the step's samples into *f.
  void launch_samples(std::vector<SampleJob>&& jobs, Tensor& logits, bool device, InFlight* f);
  // Waits for the samples of *inflight_ and applies those of sequences still running.
  void land_inflight();
  // Leaves `f` in flight: its sequences get a placeholder token the next step reads on the
  // device (false, with nothing changed, where that is not possible).
  bool defer(InFlight&& f);
  void emit_all();
  void finish_seq(SeqCtx& sc, FinishReason reason);
  void cancel_group(Group& g, FinishReason reason, const std::string& error);
  void update_gauges();

  std::shared_ptr<model::LlamaModel> model_;
  std::shared_ptr<const tokenizer::Tokenizer> tok_;
  EngineOptions opt_;
  int64_t max_model_len_ = 0;
  int64_t vocab_ = 0;
  int64_t n_block_ = 0;
  model::KvCache kv_;
  Tensor logits_buf_;  // (rows, vocab) F32, reused by every step's forward
  std::unique_ptr<Scheduler> sched_;
  std::unique_ptr<InFlight> inflight_;
  std::unique_ptr<StepTrace> trace_ = StepTrace::from_env();  // QINFER_STEP_TRACE

  // Engine-thread state.
  std::unordered_map<std::string, std::unique_ptr<Group>> groups_;
  std::unordered_map<int64_t, std::unique_ptr<SeqCtx>> seqs_;  // by Sequence::id
  int64_t next_seq_id_ = 1;
  double last_step_start_ = 0.0;

  // Shared with submitting threads.
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::condition_variable cv_idle_;
  std::deque<std::pair<Request, OutputCallback>> inbox_;
  std::vector<std::string> aborts_;
  int64_t n_in_flight_ = 0;  // accepted and not finished
  bool stop_ = false;
  bool draining_ = false;
  std::thread thread_;
  EngineMetrics metrics_;  // guarded by mu_
};

}  // namespace qinfer::engine

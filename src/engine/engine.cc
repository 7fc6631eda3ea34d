#include "engine/engine.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <unordered_map>

#include "core/log.h"
#include "core/thread_pool.h"
#include "engine/device_sampling.h"
#include "engine/engine_internal.h"

namespace qinfer::engine {

Engine::Engine(std::shared_ptr<model::LlamaModel> model,
               std::shared_ptr<const tokenizer::Tokenizer> tok, EngineOptions opt)
    : model_(std::move(model)), tok_(std::move(tok)), opt_(std::move(opt)) {
  QINFER_CHECK(model_ && tok_, "engine: needs a model and a tokenizer");
  const io::ModelConfig& c = model_->config();
  vocab_ = c.vocab_size;
  max_model_len_ = opt_.max_model_len > 0 ? opt_.max_model_len : c.max_position_embeddings;
  QINFER_CHECK(max_model_len_ <= c.max_position_embeddings || opt_.max_model_len > 0,
               "engine: max_model_len ", max_model_len_, " exceeds the model's ",
               c.max_position_embeddings);
  int64_t bs = opt_.block_size;
  size_t block_bytes = model_->kv_block_bytes(bs);
  int64_t per_seq = (max_model_len_ + bs - 1) / bs;
  if (opt_.kv_cache_bytes > 0) {
    n_block_ = int64_t(size_t(opt_.kv_cache_bytes) / block_bytes);
  } else {
    const size_t cap = size_t(4) << 30;
    n_block_ = std::min<int64_t>(per_seq * opt_.max_num_seqs, int64_t(cap / block_bytes));
  }
  // One sequence of max_model_len must always fit, or preemption could never make room.
  QINFER_CHECK(n_block_ >= per_seq, "engine: the KV cache holds ", n_block_, " blocks of ", bs,
               " positions (", n_block_ * bs, " tokens) but max_model_len is ", max_model_len_,
               ": raise --kv-cache-memory or lower --max-model-len");
  kv_ = model_->allocate_kv_cache(n_block_, bs);
  sched_ = std::make_unique<Scheduler>(
      SchedulerOptions{.max_num_seqs = opt_.max_num_seqs,
                       .max_num_batched_tokens = opt_.max_num_batched_tokens},
      n_block_, bs);
  metrics_.n_block = n_block_;
  QINFER_LOG(kInfo, "engine: KV cache ", n_block_, " blocks x ", bs, " positions (",
             (double(n_block_) * double(block_bytes)) / double(1 << 20), " MiB), max_model_len ",
             max_model_len_, ", max_num_seqs ", opt_.max_num_seqs);
}

Engine::~Engine() { stop(false); }

void Engine::validate(const Request& req) const {
  int64_t n_prompt = int64_t(req.prompt.size());
  QINFER_CHECK(n_prompt > 0, "the prompt is empty");
  for (int32_t t : req.prompt)
    QINFER_CHECK(t >= 0 && t < vocab_, "prompt token id ", t, " is out of range [0, ", vocab_,
                 ")");
  QINFER_CHECK(req.max_tokens >= 0, "max_tokens must be at least 0, got ", req.max_tokens);
  QINFER_CHECK(req.min_tokens >= 0 && req.min_tokens <= req.max_tokens,
               "min_tokens must be in [0, max_tokens], got ", req.min_tokens);
  QINFER_CHECK(n_prompt + req.max_tokens <= max_model_len_,
               "This model's maximum context length is ", max_model_len_,
               " tokens. However, you requested ", n_prompt + req.max_tokens, " tokens (",
               n_prompt, " in the messages, ", req.max_tokens,
               " in the completion). Please reduce the length of the messages or completion.");
  QINFER_CHECK(req.n >= 1 && req.n <= opt_.max_num_seqs, "n must be in [1, ",
               opt_.max_num_seqs, "], got ", req.n);
  for (int32_t t : req.stop_token_ids)
    QINFER_CHECK(t >= 0 && t < vocab_, "stop_token_ids: ", t, " is out of range");
  if (req.logprobs) QINFER_CHECK(*req.logprobs >= 0 && *req.logprobs <= 20,
                                 "logprobs must be in [0, 20], got ", *req.logprobs);
  if (req.prompt_logprobs)
    QINFER_CHECK(*req.prompt_logprobs >= 0 && *req.prompt_logprobs <= 20,
                 "prompt_logprobs must be in [0, 20], got ", *req.prompt_logprobs);
  engine::validate(req.sampling);
}

bool Engine::submit(Request req, OutputCallback cb) {
  std::lock_guard<std::mutex> lock(mu_);
  if (stop_ || draining_) return false;
  if (int64_t(inbox_.size()) + metrics_.n_waiting >= opt_.max_queue) return false;
  ++n_in_flight_;
  inbox_.emplace_back(std::move(req), std::move(cb));
  cv_.notify_one();
  return true;
}

void Engine::abort(const std::string& request_id) {
  std::lock_guard<std::mutex> lock(mu_);
  aborts_.push_back(request_id);
  cv_.notify_one();
}

void Engine::start() {
  QINFER_CHECK(!thread_.joinable(), "engine: already started");
  thread_ = std::thread([this] { loop(); });
}

void Engine::stop(bool drain) {
  {
    std::unique_lock<std::mutex> lock(mu_);
    draining_ = true;
    if (drain && thread_.joinable())
      cv_idle_.wait(lock, [this] { return n_in_flight_ == 0; });
    stop_ = true;
    cv_.notify_all();
  }
  if (thread_.joinable()) thread_.join();
  // Whatever is left is aborted so that every waiting client gets its last output.
  drain_inbox();
  std::vector<Group*> left;
  for (auto& [id, g] : groups_) left.push_back(g.get());
  for (Group* g : left) cancel_group(*g, FinishReason::kAbort, "the server is shutting down");
}

bool Engine::idle() const {
  std::lock_guard<std::mutex> lock(mu_);
  return n_in_flight_ == 0;
}

EngineMetrics Engine::metrics() const {
  std::lock_guard<std::mutex> lock(mu_);
  return metrics_;
}

void Engine::loop() {
  for (;;) {
    double t0 = now_s();
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [this] {
        return stop_ || !inbox_.empty() || !aborts_.empty() || !groups_.empty();
      });
      if (stop_) return;
    }
    try {
      if (!step()) {
        std::lock_guard<std::mutex> lock(mu_);
        ++metrics_.empty_steps;
        metrics_.idle_seconds += now_s() - t0;
      } else {
        std::lock_guard<std::mutex> lock(mu_);
        metrics_.idle_seconds += std::max(0.0, last_step_start_ - t0);
      }
    } catch (const std::exception& e) {
      // A failing step fails the requests in it, never the process.
      QINFER_LOG(kError, "engine: step failed: ", e.what());
      std::vector<Group*> all;
      for (auto& [id, g] : groups_) all.push_back(g.get());
      for (Group* g : all) cancel_group(*g, FinishReason::kAbort, e.what());
    }
  }
}

void Engine::drain_inbox() {
  std::deque<std::pair<Request, OutputCallback>> inbox;
  std::vector<std::string> aborts;
  {
    std::lock_guard<std::mutex> lock(mu_);
    inbox.swap(inbox_);
    aborts.swap(aborts_);
  }
  for (auto& [req, cb] : inbox) start_group(std::move(req), std::move(cb));
  for (const std::string& id : aborts) {
    auto it = groups_.find(id);
    if (it != groups_.end()) cancel_group(*it->second, FinishReason::kAbort, "");
  }
}

bool Engine::step() {
  double t0 = now_s();
  last_step_start_ = t0;
  double forward_s = 0.0;
  int64_t n_decode = 0;
  // The step's locals (the logits of every row, possibly 100+ MB) are freed inside the timed
  // region: that is engine time too.
  if (!step_body(&forward_s, &n_decode)) return false;
  std::lock_guard<std::mutex> lock(mu_);
  ++metrics_.steps;
  double step_s = now_s() - t0;
  metrics_.step.observe(step_s);
  metrics_.decode_token_step_seconds += step_s * double(n_decode);
  metrics_.decode_tokens += uint64_t(n_decode);
  metrics_.forward.observe(forward_s);
  return true;
}

bool Engine::step_body(double* forward_s, int64_t* n_decode) {
  const double t0 = now_s();
  if (trace_) trace_->mark(StepTrace::kBegin);
  drain_inbox();
  // A step over placeholder tokens must not preempt (a preempted sequence's tokens become its
  // prompt): where a decode token for every running sequence might not find a block, the
  // samples in flight land first.
  const bool land_first = inflight_ && sched_->blocks().n_free() < sched_->n_running();
  if (land_first) land_inflight();
  if (trace_) trace_->mark(StepTrace::kLanded);
  SchedulerOutput out = sched_->schedule();
  if (trace_) trace_->mark(StepTrace::kScheduled);
  if (out.empty()) {
    const bool landed = inflight_ != nullptr;
    if (landed) land_inflight();
    emit_all();
    update_gauges();
    if (trace_ && landed) trace_->end_step(0, 0, land_first, 0);
    return landed;
  }
  copy_blocks(out.copies);
  const bool device = sample_on_device(out);
  Tensor logits;
  double tf = now_s();
  run_forward(out, device, &logits);
  *forward_s = now_s() - tf;
  if (trace_) trace_->mark(StepTrace::kLaunched);
  const double t_sched = tf - t0, t1 = now_s();
  sched_->commit(out);
  int64_t row = 0;
  std::vector<SampleJob> jobs;
  for (const ScheduledSeq& s : out.seqs) {
    SeqCtx& sc = *seqs_.at(s.seq->id);
    int64_t first = s.seq->n_computed - s.n_new;
    if (wants_prompt_rows(*s.seq, first)) {  // never on the device path: host logits
      record_prompt_logprobs(sc, first, logits.data_as<float>() + row * vocab_, s.n_new);
      row += s.n_new;
      if (s.sample) prepare_samples(sc, row - 1, &jobs);
    } else if (s.sample) {
      prepare_samples(sc, row, &jobs);
      row += 1;
    }
  }
  for (const SampleJob& j : jobs) *n_decode += j.sc->seq->n_generated() > 0;
  const double t2 = now_s();
  if (trace_) trace_->mark(StepTrace::kPrepared);
  // The previous step's samples land after this step's are queued, while the GPU runs this
  // step, unless this step's sampling reads the tokens they bring (penalties; the host
  // sampler).
  bool needs_history = !device;
  for (const SampleJob& j : jobs)
    needs_history = needs_history || has_penalties(j.sc->sampler->params());
  if (inflight_ && needs_history) {
    land_inflight();
    // A sequence that just stopped has nothing more to sample.
    std::erase_if(jobs, [](const SampleJob& j) { return j.sc->seq == nullptr; });
  }
  InFlight f;
  launch_samples(std::move(jobs), logits, device, &f);
  if (inflight_) land_inflight();
  const double t3 = now_s();
  if (trace_) trace_->mark(StepTrace::kDrawn);
  if (!async_steps() || !defer(std::move(f))) {
    inflight_ = std::make_unique<InFlight>(std::move(f));
    land_inflight();
  }
  const double t4 = now_s();
  if (trace_) trace_->mark(StepTrace::kApplied);
  emit_all();
  update_gauges();
  const double t5 = now_s();
  if (trace_) {
    trace_->mark(StepTrace::kEmitted);
    trace_->end_step(int64_t(out.seqs.size()), out.n_tokens, land_first,
                     int64_t(out.preempted.size()));
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    metrics_.schedule_seconds += t_sched;
    metrics_.prepare_seconds += t2 - t1;
    metrics_.draw_seconds += t3 - t2;
    metrics_.apply_seconds += t4 - t3;
    metrics_.emit_seconds += t5 - t4;
  }
  return true;
}

bool Engine::async_steps() const {
  return opt_.async_steps == AsyncSteps::kOn ||
         (opt_.async_steps == AsyncSteps::kAuto && model_->device() == Device::kCuda);
}

void Engine::launch_samples(std::vector<SampleJob>&& jobs, Tensor& logits, bool device,
                            InFlight* f) {
  f->jobs = std::move(jobs);
  if (f->jobs.empty()) return;
  if (device) {
    draw_on_device(f->jobs, logits, &f->ticket);
    f->on_device = logits.device() == Device::kCuda;
  } else {
    // Each sequence has its own sampler (and RNG), so rows are drawn in parallel; what
    // follows (detokenize, stop checks, outputs) stays in order on this thread.
    const float* base = logits.defined() ? logits.data_as<float>() : nullptr;
    parallel_for(int64_t(f->jobs.size()), [&](int64_t b, int64_t e, int) {
      for (int64_t i = b; i < e; ++i) draw(f->jobs[size_t(i)], base);
    });
  }
  if (!f->on_device)
    for (const SampleJob& j : f->jobs) f->host_tokens.push_back(j.result.token);
}

bool Engine::defer(InFlight&& f) {
  if (f.jobs.empty()) return false;
  // The next step reads the tokens on the model's device: the GPU sampler's output for a CUDA
  // model, host_tokens for a CPU one.
  if (f.on_device != (model_->device() == Device::kCuda)) return false;
  for (SampleJob& j : f.jobs) {
    auto it = seqs_.find(j.seq_id);
    if (it == seqs_.end() || it->second->seq == nullptr) continue;
    Sequence& seq = *it->second->seq;
    const Request& req = it->second->group->req;
    QINFER_CHECK(int64_t(seq.tokens.size()) == j.pos, "engine: sequence ", seq.id, " has ",
                 seq.tokens.size(), " tokens, its sample is token ", j.pos);
    // A token that ends the sequence by length needs no next step.
    if (j.pos + 1 - seq.n_prompt < req.max_tokens && j.pos + 1 < max_model_len_)
      seq.tokens.push_back(kPendingToken);
  }
  inflight_ = std::make_unique<InFlight>(std::move(f));
  return true;
}

void Engine::land_inflight() {
  std::unique_ptr<InFlight> f = std::move(inflight_);
  const double t0 = now_s();
  if (f->on_device) {
    const std::vector<ops::cuda::SampleOut> outs = ops::cuda::sample_rows_wait(f->ticket);
    for (size_t i = 0; i < f->jobs.size(); ++i) f->jobs[i].result = to_sample_result(outs[i]);
    std::lock_guard<std::mutex> lock(mu_);
    metrics_.device_wait_seconds += now_s() - t0;
  }
  for (SampleJob& j : f->jobs) {
    auto it = seqs_.find(j.seq_id);
    if (it == seqs_.end() || it->second->seq == nullptr) continue;  // finished meanwhile
    j.sc = it->second.get();
    apply_sample(j);
  }
}

bool Engine::sample_on_device(const SchedulerOutput& out) const {
  if (opt_.sample_on == SampleOn::kHost) return false;
  if (opt_.sample_on == SampleOn::kAuto && model_->device() != Device::kCuda) return false;
  for (const ScheduledSeq& s : out.seqs) {
    // Prompt logprobs read every row on the host; the GPU sampler has no logit_bias.
    if (wants_prompt_rows(*s.seq, s.seq->n_computed)) return false;
    if (!seqs_.at(s.seq->id)->group->req.sampling.logit_bias.empty()) return false;
  }
  return true;
}

void Engine::run_forward(const SchedulerOutput& out, bool device, Tensor* logits) {
  model::Batch batch;
  int64_t n_rows = 0;
  // Placeholder tokens come from the samples in flight: row j of their batch.
  std::unordered_map<int64_t, int32_t> fed_row;
  if (inflight_)
    for (size_t j = 0; j < inflight_->jobs.size(); ++j)
      fed_row[inflight_->jobs[j].seq_id] = int32_t(j);
  for (const ScheduledSeq& s : out.seqs) {
    const Sequence& seq = *s.seq;
    for (int64_t i = seq.n_computed; i < seq.n_computed + s.n_new; ++i) {
      const int32_t tok = seq.tokens[size_t(i)];
      if (tok == kPendingToken) {
        auto it = fed_row.find(seq.id);
        QINFER_CHECK(it != fed_row.end() && i == int64_t(seq.tokens.size()) - 1,
                     "engine: sequence ", seq.id, " has a pending token with no sample in flight");
        batch.token_from.resize(batch.tokens.size(), -1);
        batch.token_from.push_back(it->second);
        batch.tokens.push_back(0);
      } else {
        if (!batch.token_from.empty()) batch.token_from.push_back(-1);
        batch.tokens.push_back(tok);
      }
    }
    bool all = wants_prompt_rows(seq, seq.n_computed);
    batch.seqs.push_back({.n_past = seq.n_computed, .n_new = s.n_new,
                          .block_table = seq.block_table, .logits_last = s.sample || all,
                          .logits_all = all});
    n_rows += all ? s.n_new : (s.sample ? 1 : 0);
  }
  if (!batch.token_from.empty()) {
    batch.token_from.resize(batch.tokens.size(), -1);
    batch.fed = inflight_->on_device ? ops::cuda::sampled_tokens_device()
                                     : inflight_->host_tokens.data();
  }
  // Device: the logits stay where the model computed them (a CPU model returns host ones).
  // Host: into a buffer kept across steps, no fresh (rows, vocab) allocation to fault in.
  *logits = device ? model_->forward_device(batch, kv_)
                   : model_->forward_into(batch, kv_, logits_buf_);
  QINFER_CHECK(n_rows == 0 || (logits->dim(0) == n_rows && logits->dim(1) == vocab_),
               "engine: model returned logits ", shape_str(logits->shape()), ", expected (",
               n_rows, ", ", vocab_, ")");
}

void Engine::copy_blocks(const std::vector<BlockCopy>& copies) {
  // K/V are (n_layer, n_block, block_size, n_head_kv, head_dim): a block of one layer is
  // contiguous, so a copy is n_layer memcpys per tensor on the cache's device.
  if (copies.empty()) return;
  size_t pos_bytes = size_t(kv_.n_head_kv * kv_.head_dim) * dtype_size(kv_.k.dtype());
  size_t block_bytes = pos_bytes * size_t(kv_.block_size);
  size_t layer_bytes = block_bytes * size_t(kv_.n_block);
  Device d = kv_.k.device();
  for (const BlockCopy& c : copies) {
    for (Tensor* t : {&kv_.k, &kv_.v}) {
      auto* base = static_cast<uint8_t*>(t->data());
      for (int64_t l = 0; l < kv_.n_layer; ++l) {
        uint8_t* layer = base + size_t(l) * layer_bytes;
        copy_bytes(layer + size_t(c.dst) * block_bytes, d, layer + size_t(c.src) * block_bytes,
                   d, pos_bytes * size_t(c.n_pos));
      }
    }
  }
}

void Engine::update_gauges() {
  int64_t running = 0, waiting = 0;
  for (auto& [id, g] : groups_) (group_running(*g) ? running : waiting) += 1;
  std::lock_guard<std::mutex> lock(mu_);
  metrics_.n_running = running;
  metrics_.n_waiting = waiting + int64_t(inbox_.size());
  metrics_.kv_usage = sched_->blocks().usage();
  metrics_.preemptions = uint64_t(sched_->n_preemptions());
}

}  // namespace qinfer::engine

// What happens to one request inside the engine: it becomes a sequence (forked into n once
// its prompt is computed), each sampled token is detokenized, checked against the stop
// conditions and collected into the request's next output.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <span>

#include "core/log.h"
#include "engine/engine.h"
#include "engine/device_sampling.h"
#include "engine/engine_internal.h"

namespace qinfer {

const char* finish_reason_name(FinishReason r) {
  switch (r) {
    case FinishReason::kStop: return "stop";
    case FinishReason::kLength: return "length";
    case FinishReason::kAbort: return "abort";
  }
  return "unknown";
}

}  // namespace qinfer

namespace qinfer::engine {
Logprob token_logprob(const float* row, int64_t vocab, int32_t id, int top) {
  // log_softmax(x)_i = x_i - (max + log Σ exp(x_j - max)), over the raw logits (vLLM's
  // default logprobs mode: before temperature and penalties).
  float mx = -INFINITY;
  for (int64_t i = 0; i < vocab; ++i) mx = std::max(mx, row[i]);
  double sum = 0.0;
  for (int64_t i = 0; i < vocab; ++i) sum += std::exp(double(row[i] - mx));
  float lse = mx + float(std::log(sum));
  Logprob out{.id = id, .logprob = row[id] - lse, .top = {}};
  if (top > 0) {
    std::vector<int32_t> idx(static_cast<size_t>(vocab));
    for (int64_t i = 0; i < vocab; ++i) idx[size_t(i)] = int32_t(i);
    int k = int(std::min<int64_t>(top, vocab));
    std::partial_sort(idx.begin(), idx.begin() + k, idx.end(), [row](int32_t a, int32_t b) {
      return row[a] > row[b] || (row[a] == row[b] && a < b);
    });
    for (int i = 0; i < k; ++i) out.top.emplace_back(idx[size_t(i)], row[idx[size_t(i)]] - lse);
  }
  return out;
}

void Engine::start_group(Request&& req, OutputCallback&& cb) {
  auto g = std::make_unique<Group>();
  g->arrival = now_s();
  g->cb = std::move(cb);
  auto seq = std::make_unique<Sequence>();
  seq->id = next_seq_id_++;
  seq->tokens = req.prompt;
  seq->n_prompt = int64_t(req.prompt.size());
  seq->n_fork = req.max_tokens == 0 ? 1 : req.n;
  seq->prompt_logits = req.prompt_logprobs.has_value();
  if (req.prompt_logprobs) g->prompt_lp.resize(req.prompt.size());
  g->req = std::move(req);
  auto sc = std::make_unique<SeqCtx>();
  sc->group = g.get();
  sc->index = 0;
  sc->id = seq->id;
  sc->seq = sched_->add(std::move(seq));
  g->seqs.push_back(sc.get());
  seqs_[sc->seq->id] = std::move(sc);
  std::string id = g->req.id;
  groups_[id] = std::move(g);
}

void Engine::record_prompt_logprobs(SeqCtx& sc, int64_t first, const float* rows, int64_t n) {
  // Row j (position first + j) predicts the token at position first + j + 1.
  Group& g = *sc.group;
  const Sequence& seq = *sc.seq;
  for (int64_t j = 0; j < n; ++j) {
    int64_t p = first + j + 1;
    if (p >= seq.n_prompt) break;
    if (p < g.n_prompt_lp) continue;  // already recorded before a preemption
    g.prompt_lp[size_t(p)] = token_logprob(rows + j * vocab_, vocab_, seq.tokens[size_t(p)],
                                           *g.req.prompt_logprobs);
    g.n_prompt_lp = p + 1;
  }
}

std::vector<int32_t> banned_tokens(const Request& req, const Sequence& seq,
                                   const std::vector<int32_t>& eos_token_ids) {
  std::vector<int32_t> out;
  if (seq.n_generated() >= req.min_tokens) return out;
  if (!req.ignore_eos) out = eos_token_ids;
  out.insert(out.end(), req.stop_token_ids.begin(), req.stop_token_ids.end());
  return out;
}

void Engine::prepare_samples(SeqCtx& sc, int64_t row, std::vector<SampleJob>* jobs) {
  Group& g = *sc.group;
  if (!g.prompt_done) {
    g.prompt_done = true;
    g.first_token = now_s();
    std::lock_guard<std::mutex> lock(mu_);
    metrics_.prompt_tokens += uint64_t(sc.seq->n_prompt);
    metrics_.ttft.observe(g.first_token - g.arrival);
  }
  if (g.req.max_tokens == 0) {  // prompt only (echo with max_tokens 0)
    for (int i = 1; i < g.req.n; ++i) g.deltas[i].finish = FinishReason::kLength;
    g.n_finished += g.req.n - 1;
    finish_seq(sc, FinishReason::kLength);
    return;
  }
  std::vector<SeqCtx*> targets = {&sc};
  if (sc.seq->n_fork > 1) {
    std::vector<Sequence*> kids = sched_->fork(sc.seq, sc.seq->n_fork - 1);
    for (Sequence* k : kids) {
      k->id = next_seq_id_++;
      auto c = std::make_unique<SeqCtx>();
      c->group = &g;
      c->index = int(g.seqs.size());
      c->seq = k;
      c->id = k->id;
      g.seqs.push_back(c.get());
      targets.push_back(c.get());
      seqs_[k->id] = std::move(c);
    }
  }
  for (SeqCtx* t : targets) {
    if (!t->sampler) {
      // vLLM's parallel sampling: sample i of a seeded request uses seed + i.
      SamplingParams sp = g.req.sampling;
      if (sp.seed) sp.seed = *sp.seed + uint64_t(t->index);
      sp.top_logprobs = g.req.logprobs.value_or(0);
      t->sampler = std::make_unique<Sampler>(sp);
      t->decoder = std::make_unique<tokenizer::IncrementalDecoder>(*tok_,
                                                                   g.req.skip_special_tokens);
      t->stop = StopChecker(g.req.stop, g.req.include_stop_str_in_output);
    }
    jobs->push_back({.sc = t, .seq_id = t->id, .pos = int64_t(t->seq->tokens.size()),
                     .row = row, .result = {}});
  }
}

void Engine::draw(SampleJob& job, const float* logits) const {
  SeqCtx& sc = *job.sc;
  const Sequence& seq = *sc.seq;
  const float* row = logits + job.row * vocab_;
  const std::vector<int32_t> banned = banned_tokens(sc.group->req, seq, opt_.eos_token_ids);
  std::vector<float> work;
  if (!banned.empty()) {  // min_tokens: stop tokens cannot be sampled yet
    work.assign(row, row + vocab_);
    for (int32_t e : banned) work[size_t(e)] = -INFINITY;
  }
  std::span<const int32_t> all(seq.tokens);
  job.result = sc.sampler->sample(
      banned.empty() ? std::span<const float>(row, size_t(vocab_)) : std::span<const float>(work),
      all.first(size_t(seq.n_prompt)), all.subspan(size_t(seq.n_prompt)));
}

void Engine::draw_on_device(std::vector<SampleJob>& jobs, Tensor& logits,
                            ops::cuda::SampleTicket* ticket) {
  if (jobs.empty()) return;
  std::vector<std::vector<int32_t>> banned(jobs.size());
  std::vector<RowToSample> rows;
  rows.reserve(jobs.size());
  for (size_t i = 0; i < jobs.size(); ++i) {
    SeqCtx& sc = *jobs[i].sc;
    const Sequence& seq = *sc.seq;
    banned[i] = banned_tokens(sc.group->req, seq, opt_.eos_token_ids);
    const SamplingParams& p = sc.sampler->params();
    std::span<const int32_t> all(seq.tokens);
    rows.push_back({.logits_row = jobs[i].row,
                    .params = &p,
                    .prompt = all.first(size_t(seq.n_prompt)),
                    .generated = all.subspan(size_t(seq.n_prompt)),
                    .banned = banned[i],
                    // The draw the host sampler would make, from the sequence's own RNG.
                    .uniform = p.temperature > 0.0f ? sc.sampler->next_uniform() : 0.0});
  }
  const ops::cuda::SampleBatch batch = plan_samples(rows, vocab_);
  if (logits.device() == Device::kCuda) {  // the results land later (Engine::land_inflight)
    *ticket = ops::cuda::sample_rows_async(logits, batch);
    return;
  }
  const std::vector<ops::cuda::SampleOut> outs = sample_rows_host(logits, batch);
  for (size_t i = 0; i < jobs.size(); ++i) jobs[i].result = to_sample_result(outs[i]);
}

void Engine::apply_sample(SampleJob& job) {
  SeqCtx& sc = *job.sc;
  Group& g = *sc.group;
  const Request& req = g.req;
  Sequence& seq = *sc.seq;
  const SampleResult& r = job.result;
  // job.pos is the token's index: the end of the sequence, or its placeholder (AsyncSteps).
  const int64_t pos = job.pos;
  bool masked = pos - seq.n_prompt < req.min_tokens;
  int32_t tok = r.token;
  if (pos == int64_t(seq.tokens.size())) {
    seq.tokens.push_back(tok);
  } else {
    QINFER_CHECK(pos + 1 == int64_t(seq.tokens.size()) && seq.tokens.back() == kPendingToken,
                 "engine: sample for token ", pos, " of sequence ", seq.id, " with ",
                 seq.tokens.size(), " tokens");
    seq.tokens.back() = tok;
  }
  SeqDelta& d = g.deltas[sc.index];
  d.index = sc.index;
  d.token_ids.push_back(tok);
  if (req.logprobs) {
    Logprob lp{.id = tok, .logprob = r.logprob, .top = {}};
    for (const auto& t : r.top) lp.top.emplace_back(t.id, t.logprob);
    d.logprobs.push_back(std::move(lp));
  }
  double t = now_s();
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++metrics_.generation_tokens;
    if (sc.last_token > 0) metrics_.itl.observe(t - sc.last_token);
  }
  sc.last_token = t;
  ++g.n_generated;

  bool is_stop_token =
      (!req.ignore_eos && std::count(opt_.eos_token_ids.begin(), opt_.eos_token_ids.end(), tok)) ||
      std::count(req.stop_token_ids.begin(), req.stop_token_ids.end(), tok);
  if (is_stop_token && !masked) {
    d.text += sc.stop.flush();  // held text was not a stop string after all
    d.stop_token = tok;
    finish_seq(sc, FinishReason::kStop);
    return;
  }
  d.text += sc.stop.push(sc.decoder->push(tok));
  if (sc.stop.stopped()) {
    d.stop_str = sc.stop.matched();
    finish_seq(sc, FinishReason::kStop);
    return;
  }
  if (pos + 1 - seq.n_prompt >= req.max_tokens || pos + 1 >= max_model_len_) {
    d.text += sc.stop.push(sc.decoder->flush());
    if (sc.stop.stopped()) {
      d.stop_str = sc.stop.matched();
      finish_seq(sc, FinishReason::kStop);
      return;
    }
    d.text += sc.stop.flush();
    finish_seq(sc, FinishReason::kLength);
  }
}

void Engine::finish_seq(SeqCtx& sc, FinishReason reason) {
  Group& g = *sc.group;
  SeqDelta& d = g.deltas[sc.index];
  d.index = sc.index;
  d.finish = reason;
  if (sc.seq) {
    sched_->finish(sc.seq);
    sc.seq = nullptr;
  }
  ++g.n_finished;
  g.last_reason = reason;
}

void Engine::emit_all() {
  std::vector<std::string> done;
  for (auto& [id, gp] : groups_) {
    Group& g = *gp;
    bool finished = g.n_finished >= g.req.n;
    bool first_out = g.prompt_lp_sent == false && g.prompt_done;
    if (g.deltas.empty() && !finished && !first_out) continue;
    RequestOutput out;
    out.request_id = g.req.id;
    out.n_prompt = int64_t(g.req.prompt.size());
    out.n_generated = g.n_generated;
    out.finished = finished;
    out.error = g.error;
    for (auto& [idx, d] : g.deltas) out.seqs.push_back(std::move(d));
    g.deltas.clear();
    if (first_out) {
      g.prompt_lp_sent = true;
      out.prompt_logprobs = std::move(g.prompt_lp);
    }
    if (finished) {
      // Count the request before its last output reaches the client, so a client that
      // scrapes /metrics right after its response sees it.
      std::lock_guard<std::mutex> lock(mu_);
      metrics_.e2e.observe(now_s() - g.arrival);
      ++metrics_.finished[finish_reason_name(g.last_reason.value_or(FinishReason::kStop))];
    }
    g.cb(std::move(out));
    if (finished) done.push_back(id);
  }
  for (const std::string& id : done) {
    Group& g = *groups_.at(id);
    for (SeqCtx* sc : g.seqs) seqs_.erase(sc->id);
    std::lock_guard<std::mutex> lock(mu_);
    groups_.erase(id);
    --n_in_flight_;
    cv_idle_.notify_all();
  }
}

void Engine::cancel_group(Group& g, FinishReason reason, const std::string& error) {
  for (int i = 0; i < g.req.n; ++i) {
    SeqCtx* sc = i < int(g.seqs.size()) ? g.seqs[size_t(i)] : nullptr;
    if (sc && !sc->seq) continue;  // finished already
    if (sc) {
      sched_->finish(sc->seq);
      sc->seq = nullptr;
    }
    g.deltas[i].index = i;
    g.deltas[i].finish = reason;
  }
  g.n_finished = g.req.n;
  g.last_reason = reason;
  g.prompt_lp_sent = true;
  g.error = error;
  emit_all();
}

}  // namespace qinfer::engine

#include "engine/scheduler.h"

#include <algorithm>

#include "core/error.h"

namespace qinfer::engine {

Scheduler::Scheduler(SchedulerOptions opt, int64_t n_block, int64_t block_size)
    : opt_(opt), blocks_(n_block, block_size) {
  QINFER_CHECK(opt_.max_num_seqs > 0, "scheduler: max_num_seqs must be positive");
  QINFER_CHECK(opt_.max_num_batched_tokens > 0,
               "scheduler: max_num_batched_tokens must be positive");
}

Sequence* Scheduler::add(std::unique_ptr<Sequence> seq) {
  QINFER_CHECK(seq && !seq->tokens.empty(), "scheduler: a sequence needs at least one token");
  seq->status = SeqStatus::kWaiting;
  seq->n_computed = 0;
  Sequence* p = seq.get();
  owned_.push_back(std::move(seq));
  waiting_.push_back(p);
  return p;
}

int64_t Scheduler::blocks_needed(const Sequence& seq, int64_t n_pos) const {
  int64_t have = int64_t(seq.block_table.size());
  int64_t need = std::max<int64_t>(0, blocks_.blocks_for(n_pos) - have);
  // The first position written lies in a partly filled block shared with a sibling: it is
  // copied first (copy-on-write), which takes one more block.
  int64_t bs = blocks_.block_size();
  int64_t first = seq.n_computed / bs;
  if (seq.n_computed % bs != 0 && first < have &&
      blocks_.ref_count(seq.block_table[size_t(first)]) > 1)
    ++need;
  return need;
}

bool Scheduler::reserve(Sequence* seq, int64_t n_pos, std::vector<BlockCopy>* copies) {
  if (blocks_needed(*seq, n_pos) > blocks_.n_free()) return false;
  int64_t bs = blocks_.block_size();
  int64_t first = seq->n_computed / bs;
  if (seq->n_computed % bs != 0 && first < int64_t(seq->block_table.size())) {
    int32_t& b = seq->block_table[size_t(first)];
    if (blocks_.ref_count(b) > 1) {
      int32_t fresh = blocks_.allocate();
      copies->push_back({.src = b, .dst = fresh, .n_pos = seq->n_computed % bs});
      blocks_.decref(b);
      b = fresh;
    }
  }
  while (int64_t(seq->block_table.size()) < blocks_.blocks_for(n_pos))
    seq->block_table.push_back(blocks_.allocate());
  return true;
}

void Scheduler::preempt(Sequence* seq, SchedulerOutput* out) {
  auto it = std::find(running_.begin(), running_.end(), seq);
  QINFER_CHECK(it != running_.end(), "scheduler: preempting a sequence that is not running");
  running_.erase(it);
  n_seats_ -= seats(*seq);
  blocks_.free_table(&seq->block_table);
  seq->n_computed = 0;
  seq->status = SeqStatus::kWaiting;
  ++seq->n_preempt;
  ++n_preemptions_;
  waiting_.push_front(seq);
  out->preempted.push_back(seq);
}

SchedulerOutput Scheduler::schedule() {
  SchedulerOutput out;
  int64_t budget = opt_.max_num_batched_tokens;
  // 1. Running sequences, oldest first; preempt from the newest end when blocks run out.
  for (size_t i = 0; i < running_.size() && budget > 0;) {
    Sequence* seq = running_[i];
    int64_t n_new = std::min(seq->n_uncomputed(), budget);
    if (n_new <= 0) {
      ++i;
      continue;
    }
    bool self_preempted = false;
    while (!reserve(seq, seq->n_computed + n_new, &out.copies)) {
      Sequence* victim = running_.back();
      preempt(victim, &out);
      if (victim == seq) {
        self_preempted = true;
        break;
      }
    }
    if (self_preempted) break;
    out.seqs.push_back({.seq = seq, .n_new = n_new,
                        .sample = seq->n_computed + n_new == int64_t(seq->tokens.size())});
    budget -= n_new;
    ++i;
  }
  // 2. Waiting sequences in arrival order; none while this step had to preempt (the
  // cache is full) so that a preempted sequence is not re-admitted straight away.
  while (out.preempted.empty() && !waiting_.empty() && budget > 0) {
    Sequence* seq = waiting_.front();
    if (n_seats_ > 0 && n_seats_ + seats(*seq) > opt_.max_num_seqs) break;
    int64_t n_new = std::min(seq->n_uncomputed(), budget);
    if (!reserve(seq, n_new, &out.copies)) break;
    waiting_.pop_front();
    seq->status = SeqStatus::kRunning;
    seq->arrival = next_arrival_++;
    running_.push_back(seq);
    n_seats_ += seats(*seq);
    out.seqs.push_back({.seq = seq, .n_new = n_new,
                        .sample = n_new == int64_t(seq->tokens.size())});
    budget -= n_new;
  }
  for (const ScheduledSeq& s : out.seqs) out.n_tokens += s.n_new;
  return out;
}

void Scheduler::commit(const SchedulerOutput& out) {
  for (const ScheduledSeq& s : out.seqs) s.seq->n_computed += s.n_new;
}

std::vector<Sequence*> Scheduler::fork(Sequence* parent, int n) {
  auto it = std::find(running_.begin(), running_.end(), parent);
  QINFER_CHECK(it != running_.end(), "scheduler: fork of a sequence that is not running");
  QINFER_CHECK(n >= 0 && parent->n_fork == n + 1, "scheduler: fork of ", n,
               " children, expected ", parent->n_fork - 1);
  std::vector<Sequence*> children;
  std::vector<Sequence*> inserted;
  for (int k = 0; k < n; ++k) {
    auto child = std::make_unique<Sequence>(*parent);
    child->n_fork = 1;
    child->prompt_logits = false;
    for (int32_t b : child->block_table) blocks_.incref(b);
    children.push_back(child.get());
    owned_.push_back(std::move(child));
  }
  parent->n_fork = 1;  // seats are unchanged: the parent held n + 1 of them
  running_.insert(it + 1, children.begin(), children.end());
  return children;
}

void Scheduler::finish(Sequence* seq) {
  if (auto it = std::find(running_.begin(), running_.end(), seq); it != running_.end()) {
    running_.erase(it);
    n_seats_ -= seats(*seq);
  }
  if (auto it = std::find(waiting_.begin(), waiting_.end(), seq); it != waiting_.end())
    waiting_.erase(it);
  blocks_.free_table(&seq->block_table);
  seq->status = SeqStatus::kFinished;
  auto it = std::find_if(owned_.begin(), owned_.end(),
                         [&](const std::unique_ptr<Sequence>& p) { return p.get() == seq; });
  if (it != owned_.end()) owned_.erase(it);
}

std::vector<Sequence*> Scheduler::all() const {
  std::vector<Sequence*> v;
  for (const auto& p : owned_) v.push_back(p.get());
  return v;
}

}  // namespace qinfer::engine

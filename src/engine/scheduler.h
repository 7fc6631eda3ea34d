// Continuous-batching scheduler (the policy of vLLM V1's scheduler, Kwon et al. 2023 and
// Agrawal et al. 2024 "Sarathi-Serve" for chunked prefill). Each step gets a token budget:
//   1. running sequences first, oldest first: a decoding sequence takes 1 token, a sequence
//      still prefilling takes the next chunk of its prompt (at most the remaining budget);
//   2. then waiting sequences, in arrival order, while the batch has room (max_num_seqs)
//      and the KV cache has blocks for their first chunk.
// When a running sequence needs a block and none is free, the newest running sequence is
// preempted by recompute: its blocks are freed and it goes back to the front of the queue
// with prompt + generated tokens as its new prompt. No step ever runs out of blocks.
//
// The scheduler owns sequences and block tables only; it never sees HTTP, JSON, logits or
// the sampler.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <vector>

#include "engine/block_manager.h"

namespace qinfer::engine {

enum class SeqStatus { kWaiting, kRunning, kFinished };

struct Sequence {
  int64_t id = 0;                 // unique over the engine's life
  uint64_t group = 0;             // the request it belongs to
  int index = 0;                  // choice index within the request (0 .. n-1)
  std::vector<int32_t> tokens{};    // prompt + generated
  int64_t n_prompt = 0;           // tokens of the original prompt
  int64_t n_computed = 0;         // leading tokens whose K/V are in the cache
  std::vector<int32_t> block_table{};
  SeqStatus status = SeqStatus::kWaiting;
  int64_t arrival = 0;            // admission order; larger = newer = preempted first
  int n_fork = 1;                 // sequences this one becomes once its prompt is computed
  bool prompt_logits = false;     // wants a logits row per prompt token (prompt logprobs)
  int64_t n_preempt = 0;

  int64_t n_generated() const { return int64_t(tokens.size()) - n_prompt; }
  int64_t n_uncomputed() const { return int64_t(tokens.size()) - n_computed; }
};

struct SchedulerOptions {
  int64_t max_num_seqs = 256;
  int64_t max_num_batched_tokens = 2048;  // the per-step token budget (prefill chunk size)
};

struct ScheduledSeq {
  Sequence* seq = nullptr;
  int64_t n_new = 0;        // tokens computed this step, positions n_computed .. + n_new
  bool sample = false;      // the chunk reaches the last token: sample the next one
};

struct BlockCopy {
  int32_t src = 0, dst = 0;
  int64_t n_pos = 0;  // leading positions of the block that hold data
};

struct SchedulerOutput {
  std::vector<ScheduledSeq> seqs{};
  std::vector<BlockCopy> copies{};       // copy-on-write: run before the forward
  std::vector<Sequence*> preempted;    // moved back to waiting this step
  int64_t n_tokens = 0;
  bool empty() const { return seqs.empty(); }
};

class Scheduler {
 public:
  Scheduler(SchedulerOptions opt, int64_t n_block, int64_t block_size);

  // Takes a new sequence (status waiting, n_computed 0) at the back of the queue.
  Sequence* add(std::unique_ptr<Sequence> seq);
  SchedulerOutput schedule();
  // Records that the scheduled chunks were computed (advances n_computed).
  void commit(const SchedulerOutput& out);
  // n sequences sharing the parent's blocks (reference counts) and tokens; they join the
  // running set right after the parent. Returns the children.
  std::vector<Sequence*> fork(Sequence* parent, int n);
  // Finishes (or cancels) a sequence: frees its blocks and forgets it.
  void finish(Sequence* seq);

  int64_t n_running() const { return int64_t(running_.size()); }
  int64_t n_waiting() const { return int64_t(waiting_.size()); }
  const BlockManager& blocks() const { return blocks_; }
  const SchedulerOptions& options() const { return opt_; }
  int64_t n_preemptions() const { return n_preemptions_; }
  std::vector<Sequence*> all() const;

 private:
  // Makes the sequence's block table cover n_pos positions, copying a shared last block
  // before it is written. False when there are not enough free blocks (nothing changes).
  bool reserve(Sequence* seq, int64_t n_pos, std::vector<BlockCopy>* copies);
  int64_t blocks_needed(const Sequence& seq, int64_t n_pos) const;
  void preempt(Sequence* seq, SchedulerOutput* out);
  int64_t seats(const Sequence& seq) const { return seq.n_fork; }

  SchedulerOptions opt_;
  BlockManager blocks_;
  std::vector<std::unique_ptr<Sequence>> owned_{};
  std::deque<Sequence*> waiting_;
  std::vector<Sequence*> running_;  // oldest first
  int64_t next_arrival_ = 0;
  int64_t n_seats_ = 0;              // running sequences counting pending forks
  int64_t n_preemptions_ = 0;
};

}  // namespace qinfer::engine

// Block manager and scheduler: admission, chunked prefill, preemption by recompute, forks
// sharing blocks with copy-on-write, cancellation. No model: the test plays the engine's
// part (commit, append a token) so every invariant is checked step by step.
#include <gtest/gtest.h>

#include <map>
#include <set>

#include "core/error.h"
#include "engine/scheduler.h"

namespace qinfer::engine {
namespace {

TEST(BlockManager, AllocateFreeRefcount) {
  BlockManager bm(4, 16);
  EXPECT_EQ(bm.n_free(), 4);
  EXPECT_EQ(bm.blocks_for(0), 0);
  EXPECT_EQ(bm.blocks_for(1), 1);
  EXPECT_EQ(bm.blocks_for(16), 1);
  EXPECT_EQ(bm.blocks_for(17), 2);
  int32_t a = bm.allocate();
  int32_t b = bm.allocate();
  EXPECT_NE(a, b);
  EXPECT_EQ(bm.n_free(), 2);
  bm.incref(a);
  bm.decref(a);
  EXPECT_EQ(bm.ref_count(a), 1);
  EXPECT_EQ(bm.n_free(), 2);
  bm.decref(a);
  EXPECT_EQ(bm.n_free(), 3);
  EXPECT_THROW(bm.decref(a), Error);  // double free is caught, not corrupting
  EXPECT_THROW(bm.incref(99), Error);
  bm.allocate();
  bm.allocate();
  bm.allocate();
  EXPECT_EQ(bm.n_free(), 0);
  EXPECT_THROW(bm.allocate(), Error);
  EXPECT_DOUBLE_EQ(bm.usage(), 1.0);
}

std::unique_ptr<Sequence> make_seq(int64_t id, int64_t n_prompt, int n_fork = 1) {
  auto s = std::make_unique<Sequence>();
  s->id = id;
  s->group = uint64_t(id);
  for (int64_t i = 0; i < n_prompt; ++i) s->tokens.push_back(int32_t(i + 1));
  s->n_prompt = n_prompt;
  s->n_fork = n_fork;
  return s;
}

// Plays the engine: commits the step and appends a token to every sequence that sampled.
void run_step(Scheduler& sch, const SchedulerOutput& out) {
  sch.commit(out);
  for (const ScheduledSeq& s : out.seqs)
    if (s.sample) s.seq->tokens.push_back(7);
}

// Every block referenced by a table has a reference count equal to the number of tables
// holding it, and used blocks = distinct referenced blocks.
void check_block_invariants(const Scheduler& sch) {
  std::map<int32_t, int> refs;
  for (Sequence* s : sch.all()) {
    if (s->status == SeqStatus::kRunning) {
      EXPECT_EQ(int64_t(s->block_table.size()), sch.blocks().blocks_for(s->n_computed))
          << "seq " << s->id << " table does not match its computed positions";
    }
    for (int32_t b : s->block_table) ++refs[b];
  }
  for (auto [b, n] : refs) EXPECT_EQ(sch.blocks().ref_count(b), n) << "block " << b;
  EXPECT_EQ(sch.blocks().n_used(), int64_t(refs.size()));
}

TEST(Scheduler, ChunkedPrefillDoesNotStallDecodes) {
  Scheduler sch({.max_num_seqs = 8, .max_num_batched_tokens = 32}, 64, 16);
  Sequence* shortp = sch.add(make_seq(1, 5));
  SchedulerOutput o1 = sch.schedule();
  ASSERT_EQ(o1.seqs.size(), 1u);
  EXPECT_EQ(o1.seqs[0].n_new, 5);
  EXPECT_TRUE(o1.seqs[0].sample);
  run_step(sch, o1);
  // A 100-token prompt arrives: it is prefilled in chunks of the remaining budget while
  // the running sequence keeps decoding one token every step.
  Sequence* longp = sch.add(make_seq(2, 100));
  int64_t prefilled = 0;
  int steps = 0;
  while (longp->n_computed < 100) {
    SchedulerOutput o = sch.schedule();
    ASSERT_EQ(o.seqs.size(), 2u) << "step " << steps;
    EXPECT_EQ(o.seqs[0].seq, shortp);
    EXPECT_EQ(o.seqs[0].n_new, 1);
    EXPECT_TRUE(o.seqs[0].sample);
    EXPECT_EQ(o.seqs[1].seq, longp);
    EXPECT_LE(o.n_tokens, 32);
    EXPECT_EQ(o.seqs[1].n_new, std::min<int64_t>(31, 100 - prefilled));
    EXPECT_EQ(o.seqs[1].sample, prefilled + o.seqs[1].n_new == 100);
    prefilled += o.seqs[1].n_new;
    run_step(sch, o);
    check_block_invariants(sch);
    ++steps;
  }
  EXPECT_EQ(steps, 4);  // ceil(100 / 31)
  EXPECT_EQ(shortp->n_generated(), 5);
}

TEST(Scheduler, AdmissionLimitedByMaxNumSeqsAndBlocks) {
  Scheduler sch({.max_num_seqs = 2, .max_num_batched_tokens = 1000}, 8, 16);
  sch.add(make_seq(1, 10));
  sch.add(make_seq(2, 10));
  sch.add(make_seq(3, 10));
  SchedulerOutput o = sch.schedule();
  EXPECT_EQ(o.seqs.size(), 2u);
  EXPECT_EQ(sch.n_running(), 2);
  EXPECT_EQ(sch.n_waiting(), 1);
  run_step(sch, o);
  // A group of n = 3 needs 3 seats: it waits until they are free.
  Scheduler sch2({.max_num_seqs = 3, .max_num_batched_tokens = 1000}, 8, 16);
  sch2.add(make_seq(1, 10));
  sch2.add(make_seq(2, 10, 3));
  EXPECT_EQ(sch2.schedule().seqs.size(), 1u);
  // KV: a 70-token prompt needs 5 of the 8 blocks, so a second one waits.
  Scheduler sch3({.max_num_seqs = 8, .max_num_batched_tokens = 1000}, 8, 16);
  sch3.add(make_seq(1, 70));
  sch3.add(make_seq(2, 70));
  SchedulerOutput o3 = sch3.schedule();
  EXPECT_EQ(o3.seqs.size(), 1u);
  EXPECT_EQ(sch3.blocks().n_used(), 5);
}

TEST(Scheduler, PreemptsNewestWhenBlocksRunOut) {
  // 4 blocks of 4 positions; two sequences of 7 prompt tokens each take 2 blocks.
  Scheduler sch({.max_num_seqs = 4, .max_num_batched_tokens = 100}, 4, 4);
  Sequence* a = sch.add(make_seq(1, 7));
  Sequence* b = sch.add(make_seq(2, 7));
  run_step(sch, sch.schedule());
  EXPECT_EQ(sch.blocks().n_free(), 0);
  // Both now hold 8 tokens, 7 computed: decoding the 8th fits in block 2 of each.
  run_step(sch, sch.schedule());
  check_block_invariants(sch);
  // The 9th position needs a fresh block for each: the newest (b) is preempted, a goes on.
  SchedulerOutput o = sch.schedule();
  ASSERT_EQ(o.preempted.size(), 1u);
  EXPECT_EQ(o.preempted[0], b);
  EXPECT_EQ(b->status, SeqStatus::kWaiting);
  EXPECT_EQ(b->n_computed, 0);
  EXPECT_EQ(b->tokens.size(), 9u);  // prompt + 2 generated become its prompt to recompute
  ASSERT_EQ(o.seqs.size(), 1u);
  EXPECT_EQ(o.seqs[0].seq, a);
  run_step(sch, o);
  check_block_invariants(sch);
  // When a finishes, b is re-admitted and recomputes all its tokens, then samples.
  sch.finish(a);
  SchedulerOutput o2 = sch.schedule();
  ASSERT_EQ(o2.seqs.size(), 1u);
  EXPECT_EQ(o2.seqs[0].seq, b);
  EXPECT_EQ(o2.seqs[0].n_new, 9);
  EXPECT_TRUE(o2.seqs[0].sample);
  run_step(sch, o2);
  check_block_invariants(sch);
  EXPECT_EQ(sch.n_preemptions(), 1);
}

TEST(Scheduler, ForkSharesPromptBlocksWithCopyOnWrite) {
  Scheduler sch({.max_num_seqs = 8, .max_num_batched_tokens = 100}, 16, 4);
  Sequence* p = sch.add(make_seq(1, 10, 3));  // 3 blocks, the last one half full
  SchedulerOutput o = sch.schedule();
  ASSERT_EQ(o.seqs.size(), 1u);
  sch.commit(o);
  EXPECT_EQ(sch.blocks().n_used(), 3);
  std::vector<Sequence*> kids = sch.fork(p, 2);
  ASSERT_EQ(kids.size(), 2u);
  EXPECT_EQ(sch.blocks().n_used(), 3);  // shared, not copied
  for (int32_t blk : p->block_table) EXPECT_EQ(sch.blocks().ref_count(blk), 3);
  p->tokens.push_back(100);
  kids[0]->tokens.push_back(101);
  kids[1]->tokens.push_back(102);
  check_block_invariants(sch);
  // Each writes position 10 into the shared third block: two copies, the last writer keeps
  // the original. Full blocks stay shared.
  SchedulerOutput d = sch.schedule();
  ASSERT_EQ(d.seqs.size(), 3u);
  EXPECT_EQ(d.copies.size(), 2u);
  for (const BlockCopy& c : d.copies) EXPECT_EQ(c.n_pos, 2);
  run_step(sch, d);
  check_block_invariants(sch);
  EXPECT_EQ(sch.blocks().n_used(), 5);
  EXPECT_EQ(sch.blocks().ref_count(p->block_table[0]), 3);
  std::set<int32_t> last = {p->block_table[2], kids[0]->block_table[2], kids[1]->block_table[2]};
  EXPECT_EQ(last.size(), 3u);
  // Cancelling the group frees everything.
  sch.finish(kids[0]);
  sch.finish(p);
  sch.finish(kids[1]);
  EXPECT_EQ(sch.blocks().n_used(), 0);
  EXPECT_EQ(sch.n_running(), 0);
}

TEST(Scheduler, CancelWaitingAndRunning) {
  Scheduler sch({.max_num_seqs = 1, .max_num_batched_tokens = 100}, 8, 16);
  Sequence* a = sch.add(make_seq(1, 20));
  Sequence* b = sch.add(make_seq(2, 20));
  run_step(sch, sch.schedule());
  EXPECT_EQ(sch.blocks().n_used(), 2);
  sch.finish(b);  // waiting
  EXPECT_EQ(sch.n_waiting(), 0);
  sch.finish(a);  // running
  EXPECT_EQ(sch.blocks().n_used(), 0);
  EXPECT_TRUE(sch.schedule().empty());
}

TEST(Scheduler, RandomWorkloadKeepsInvariants) {
  // Many sequences with forks through a small cache: every step keeps the block
  // invariants, never exceeds its budgets, and every sequence finishes.
  Scheduler sch({.max_num_seqs = 6, .max_num_batched_tokens = 24}, 20, 4);
  uint32_t rng = 12345;
  auto next = [&rng] { return (rng = rng * 1664525u + 1013904223u) >> 8; };
  int added = 0, finished = 0;
  std::map<Sequence*, int64_t> target;
  for (int step = 0; step < 5000 && (added < 40 || sch.n_running() + sch.n_waiting() > 0); ++step) {
    if (added < 40 && next() % 3 == 0) {
      int n = 1 + int(next() % 3);
      Sequence* s = sch.add(make_seq(added + 1, 1 + int64_t(next() % 30), n));
      target[s] = s->n_prompt + 1 + int64_t(next() % 12);
      ++added;
    }
    SchedulerOutput o = sch.schedule();
    EXPECT_LE(o.n_tokens, 24);
    EXPECT_LE(sch.n_running(), 6);
    sch.commit(o);
    for (const ScheduledSeq& s : o.seqs) {
      if (!s.sample) continue;
      if (s.seq->n_fork > 1) {
        for (Sequence* k : sch.fork(s.seq, s.seq->n_fork - 1)) {
          target[k] = target[s.seq];
          k->tokens.push_back(9);
        }
      }
      s.seq->tokens.push_back(9);
    }
    for (Sequence* s : sch.all())
      if (s->status == SeqStatus::kRunning && int64_t(s->tokens.size()) >= target[s] &&
          s->n_uncomputed() == 1) {
        target.erase(s);
        sch.finish(s);
        ++finished;
      }
    check_block_invariants(sch);
  }
  EXPECT_EQ(added, 40);
  EXPECT_GE(finished, 40);
  EXPECT_EQ(sch.n_running() + sch.n_waiting(), 0);
  EXPECT_EQ(sch.blocks().n_used(), 0);
}

}  // namespace
}  // namespace qinfer::engine

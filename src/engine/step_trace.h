// A host-side timeline of the engine's steps, for finding where the GPU waits on the host:
// with QINFER_STEP_TRACE=path, one CSV line a step with the wall-clock time (CLOCK_REALTIME
// nanoseconds, the clock CUPTI stamps its GPU records with on Linux, so the two timelines
// line up: tools/step_gaps.py) at each boundary of Engine::step_body, and the step's shape.
//
// Columns: step, the boundaries begin / landed (the samples in flight landed before
// scheduling, = begin when they were not) / scheduled / launched (the forward queued) /
// prepared / drawn (samples queued, the previous step's landed) / applied / emitted, then
// n_seq, n_tok, land_first (1 where the samples landed before scheduling), preempted.
#pragma once

#include <cstdint>
#include <cstdio>
#include <memory>

namespace qinfer::engine {

class StepTrace {
 public:
  enum Mark {
    kBegin,
    kLanded,
    kScheduled,
    kLaunched,
    kPrepared,
    kDrawn,
    kApplied,
    kEmitted,
    kMarks
  };

  // The trace QINFER_STEP_TRACE names, or null when it is unset (or cannot be written: logged).
  static std::unique_ptr<StepTrace> from_env();
  ~StepTrace();

  void mark(Mark m);  // now, for this step
  void end_step(int64_t n_seq, int64_t n_tok, bool land_first, int64_t preempted);

 private:
  explicit StepTrace(std::FILE* f) : f_(f) {}
  std::FILE* f_;
  int64_t step_ = 0;
  int64_t t_[kMarks] = {};
};

}  // namespace qinfer::engine

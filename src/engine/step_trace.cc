#include "engine/step_trace.h"

#include <chrono>
#include <cstdlib>

#include "core/log.h"

namespace qinfer::engine {

std::unique_ptr<StepTrace> StepTrace::from_env() {
  const char* path = std::getenv("QINFER_STEP_TRACE");
  if (path == nullptr || *path == '\0') return nullptr;
  std::FILE* f = std::fopen(path, "w");
  if (f == nullptr) {
    QINFER_LOG(kWarn, "QINFER_STEP_TRACE: cannot write ", path, "; no step trace");
    return nullptr;
  }
  std::fprintf(f,
               "step,begin_ns,landed_ns,scheduled_ns,launched_ns,prepared_ns,drawn_ns,"
               "applied_ns,emitted_ns,n_seq,n_tok,land_first,preempted\n");
  return std::unique_ptr<StepTrace>(new StepTrace(f));
}

StepTrace::~StepTrace() {
  std::fclose(f_);
}

void StepTrace::mark(Mark m) {
  using namespace std::chrono;
  t_[m] = duration_cast<nanoseconds>(system_clock::now().time_since_epoch()).count();
  if (m == kBegin)
    for (int i = kBegin + 1; i < kMarks; ++i) t_[i] = 0;
}

void StepTrace::end_step(int64_t n_seq, int64_t n_tok, bool land_first, int64_t preempted) {
  // A boundary the step did not pass (it had nothing to run) repeats the one before it.
  for (int i = kBegin + 1; i < kMarks; ++i)
    if (t_[i] == 0) t_[i] = t_[i - 1];
  std::fprintf(f_, "%lld", static_cast<long long>(step_++));
  for (int64_t t : t_) std::fprintf(f_, ",%lld", static_cast<long long>(t));
  std::fprintf(f_, ",%lld,%lld,%d,%lld\n", static_cast<long long>(n_seq),
               static_cast<long long>(n_tok), land_first ? 1 : 0,
               static_cast<long long>(preempted));
}

}  // namespace qinfer::engine

#include "core/error.h"
#include "ops/cpu/linear_cpu.h"

namespace qinfer::ops::cpu {

// Placeholder until the FP8 kernels land (issue: FP8 checkpoints).
void linear_fp8(const LinearWeight& w, const float*, int64_t, float*) {
  QINFER_FAIL("linear ", w.name, ": FP8 weights are not supported yet on the CPU");
}

}  // namespace qinfer::ops::cpu

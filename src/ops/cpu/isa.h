// Which kernel level the CPU ops use: cpu_isa() (the CPU's best, capped by QINFER_CPU_ISA),
// lowered further by set_ops_isa so that one test process can run every level and compare.
#pragma once

#include "core/cpu_features.h"

namespace qinfer::ops::cpu {

CpuIsa ops_isa();
// Caps the level at `isa` (never above what cpu_isa() allows). Not thread-safe against
// running ops: call it between forward passes (tests, benchmarks).
void set_ops_isa(CpuIsa isa);

}  // namespace qinfer::ops::cpu

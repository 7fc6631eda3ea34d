#include "ops/cpu/isa.h"

#include <atomic>

namespace qinfer::ops::cpu {

namespace {
std::atomic<int> g_cap{int(CpuIsa::kAvx512)};
}  // namespace

CpuIsa ops_isa() {
  const int best = int(cpu_isa());
  const int cap = g_cap.load(std::memory_order_relaxed);
  return CpuIsa(cap < best ? cap : best);
}

void set_ops_isa(CpuIsa isa) {
  g_cap.store(int(isa), std::memory_order_relaxed);
}

}  // namespace qinfer::ops::cpu

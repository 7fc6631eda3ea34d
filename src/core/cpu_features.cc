#include "core/cpu_features.h"

#include <cpuid.h>

#include <cstdlib>
#include <cstring>

namespace qinfer {

const CpuFeatures& cpu_features() {
  static const CpuFeatures f = [] {
    CpuFeatures r;
    unsigned a, b, c, d;
    if (__get_cpuid(1, &a, &b, &c, &d)) {
      r.fma = c & (1u << 12);
      r.f16c = c & (1u << 29);
    }
    if (__get_cpuid_count(7, 0, &a, &b, &c, &d)) {
      r.avx2 = b & (1u << 5);
      r.avx512f = b & (1u << 16);
      r.avx512bw = b & (1u << 30);
      r.avx512vl = b & (1u << 31);
      r.avx512vnni = c & (1u << 11);
    }
    if (__get_cpuid_count(7, 1, &a, &b, &c, &d)) r.avx512bf16 = a & (1u << 5);
    return r;
  }();
  return f;
}

CpuIsa cpu_isa() {
  static const CpuIsa isa = [] {
    const CpuFeatures& f = cpu_features();
    CpuIsa best = CpuIsa::kScalar;
    if (f.avx2 && f.fma && f.f16c) best = CpuIsa::kAvx2;
    if (best == CpuIsa::kAvx2 && f.avx512f && f.avx512bw && f.avx512vl && f.avx512bf16 &&
        f.avx512vnni)
      best = CpuIsa::kAvx512;
    if (const char* env = std::getenv("QINFER_CPU_ISA")) {
      CpuIsa cap = CpuIsa::kAvx512;
      if (std::strcmp(env, "scalar") == 0) cap = CpuIsa::kScalar;
      if (std::strcmp(env, "avx2") == 0) cap = CpuIsa::kAvx2;
      if (int(cap) < int(best)) best = cap;
    }
    return best;
  }();
  return isa;
}

const char* cpu_isa_name(CpuIsa isa) {
  switch (isa) {
    case CpuIsa::kScalar: return "scalar";
    case CpuIsa::kAvx2: return "avx2";
    case CpuIsa::kAvx512: return "avx512";
  }
  return "?";
}

}  // namespace qinfer

// Run-time CPU feature detection: kernels built with AVX-512 / AVX2 flags live in their own
// files (*_avx512.cc, *_avx2.cc) and are called only when the CPU reports the feature.
// QINFER_CPU_ISA=scalar|avx2|avx512 caps the level (tests use it to exercise each path).
#pragma once

namespace qinfer {

enum class CpuIsa { kScalar = 0, kAvx2 = 1, kAvx512 = 2 };

struct CpuFeatures {
  bool avx2 = false;
  bool fma = false;
  bool f16c = false;
  bool avx512f = false;
  bool avx512bw = false;
  bool avx512vl = false;
  bool avx512bf16 = false;
  bool avx512vnni = false;
};

const CpuFeatures& cpu_features();
// The best level both the CPU and QINFER_CPU_ISA allow.
CpuIsa cpu_isa();
const char* cpu_isa_name(CpuIsa isa);

}  // namespace qinfer

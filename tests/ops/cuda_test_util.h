// Helpers for the cross-backend op tests: the same op runs on the CPU (the reference) and on
// the GPU over fresh random inputs; outputs are poisoned (NaN) before the GPU writes them.
// Every test skips when no CUDA device is present (CI).
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>

#include "core/dtype.h"
#include "core/error.h"
#include "core/tensor.h"
#include "ops/cuda/cuda_ops.h"

namespace qinfer::testing {

#define QINFER_SKIP_WITHOUT_CUDA()                                              \
  do {                                                                          \
    if (!::qinfer::ops::cuda::available()) GTEST_SKIP() << "no CUDA device";    \
  } while (0)

// A fresh seed per test run (printed by the callers on failure), so that repeated runs
// explore different inputs; QINFER_TEST_SEED=N replays a printed one.
inline uint32_t fresh_seed() {
  if (const char* v = std::getenv("QINFER_TEST_SEED"); v != nullptr && *v != '\0')
    return uint32_t(std::strtoul(v, nullptr, 10));
  return std::random_device{}();
}

inline Tensor random_f32(Shape shape, std::mt19937& rng, float lo = -1.0f, float hi = 1.0f) {
  Tensor t = Tensor::empty(DType::kF32, std::move(shape));
  std::uniform_real_distribution<float> u(lo, hi);
  float* p = t.data_as<float>();
  for (int64_t i = 0; i < t.numel(); ++i) p[i] = u(rng);
  return t;
}

// A device tensor full of NaN: any element the op fails to write shows up in the compare.
inline Tensor poisoned_cuda(Shape shape) {
  Tensor h = Tensor::empty(DType::kF32, shape);
  float* p = h.data_as<float>();
  for (int64_t i = 0; i < h.numel(); ++i) p[i] = std::nanf("");
  return h.to(Device::kCuda);
}

struct Diff {
  double rel = 0.0;        // ||a - b|| / ||b||
  double max_abs = 0.0;
  int64_t worst = -1;
  int64_t n_nan = 0;
};

inline Diff compare(const Tensor& got, const Tensor& want) {
  Tensor g = got.to_f32(), w = want.to_f32();
  Diff d;
  double num = 0, den = 0;
  const float* a = g.data_as<float>();
  const float* b = w.data_as<float>();
  for (int64_t i = 0; i < g.numel(); ++i) {
    if (std::isnan(a[i]) != std::isnan(b[i])) {
      ++d.n_nan;
      continue;
    }
    const double e = double(a[i]) - double(b[i]);
    num += e * e;
    den += double(b[i]) * double(b[i]);
    if (std::fabs(e) > d.max_abs) d.max_abs = std::fabs(e), d.worst = i;
  }
  d.rel = den > 0 ? std::sqrt(num / den) : std::sqrt(num);
  return d;
}

inline std::string describe(const Diff& d, const Tensor& got, const Tensor& want) {
  Tensor g = got.to_f32(), w = want.to_f32();
  std::string s = "rel " + std::to_string(d.rel) + ", max |diff| " + std::to_string(d.max_abs) +
                  ", NaN mismatches " + std::to_string(d.n_nan);
  if (d.worst >= 0)
    s += ", worst at flat index " + std::to_string(d.worst) + ": got " +
         std::to_string(g.data_as<float>()[d.worst]) + " want " +
         std::to_string(w.data_as<float>()[d.worst]);
  return s;
}

}  // namespace qinfer::testing

// FP8 linear on the CPU: activation quantization against hand-computed values, the whole layer
// against a double-precision reference written here from the formulas (docs/FORMATS.md), and
// every ISA level against the scalar kernel.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "core/cpu_features.h"
#include "core/dtype.h"
#include "core/error.h"
#include "ops/cpu/linear_fp8_kernels.h"
#include "ops/linear.h"

namespace qinfer {
namespace {

using ops::ActQuant;
namespace fp8 = ops::cpu::fp8;

TEST(Fp8ActQuant, StaticMultipliesByReciprocalAndClamps) {
  const float x[] = {1.0f, -2.5f, 1000.0f, 0.3f, -0.001f};
  float q[5];
  fp8::quantize_row_static(x, 5, 1.0f / 0.5f, q);
  // x * 2 = 2, -5, 2000 -> clamp 448, 0.6 -> 0.625 (E4M3 step 1/16 in [0.5, 1)), -0.002 -> the
  // subnormal grid (step 2^-9): round(-0.002 * 512) = -1 -> -2^-9.
  EXPECT_EQ(q[0], 2.0f);
  EXPECT_EQ(q[1], -5.0f);
  EXPECT_EQ(q[2], 448.0f);
  EXPECT_EQ(q[3], 0.625f);
  EXPECT_EQ(q[4], -0.001953125f);
}

TEST(Fp8ActQuant, DynamicPerTokenScaleAndFloor) {
  const float x[] = {3.5f, -7.0f, 0.0f};
  float q[3];
  const float s = fp8::quantize_row_dynamic(x, 3, q);
  EXPECT_EQ(s, 7.0f / 448.0f);
  EXPECT_EQ(q[0], 224.0f);
  EXPECT_EQ(q[1], -448.0f);
  EXPECT_EQ(q[2], 0.0f);
  const float zeros[] = {0.0f, 0.0f};
  EXPECT_EQ(fp8::quantize_row_dynamic(zeros, 2, q), 1.0f / (448.0f * 512.0f));
}

// Static quantization multiplies by 1/s (vLLM inverts the scale); dynamic divides. Find inputs
// where the two differ after rounding to fp8 and check each path picks its own.
TEST(Fp8ActQuant, ReciprocalVersusDivisionIsObservable) {
  // x/s and x*(1/s) differ by an ulp at most, so they can only round to different fp8 values
  // right at a rounding boundary: aim x at s times the midpoint of 1 and 1.125.
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> u(0.001f, 0.1f);
  int found = 0;
  for (int t = 0; t < 100000 && found < 5; ++t) {
    const float s = u(rng);
    float x = 1.0625f * s;
    for (int step = 0; step < 4; ++step, x = std::nextafter(x, 1.0f)) {
      const float a = x * (1.0f / s), b = x / s;
      if (f32_to_fp8e4m3(a) == f32_to_fp8e4m3(b)) continue;
      ++found;
      float q[2];
      fp8::quantize_row_static(&x, 1, 1.0f / s, &q[0]);
      EXPECT_EQ(q[0], fp8e4m3_to_f32(f32_to_fp8e4m3(a))) << "x=" << x << " s=" << s;
      const float row[2] = {x, 448.0f * s};  // absmax/448 == s
      fp8::quantize_row_dynamic(row, 2, q);
      if (std::max(std::fabs(x), 448.0f * s) / 448.0f == s) {
        EXPECT_EQ(q[0], fp8e4m3_to_f32(f32_to_fp8e4m3(b))) << "x=" << x << " s=" << s;
      }
    }
  }
  EXPECT_GT(found, 0) << "no input where x*(1/s) and x/s round differently was found";
}

// The vectorized activation quantization is bit-identical to the scalar one: every fp8
// rounding midpoint and its f32 neighbours, the subnormal/normal boundary, ±0, ±448 and beyond,
// NaN, and random values.
TEST(Fp8ActQuant, Avx512MatchesScalarBitForBit) {
  if (cpu_isa() != CpuIsa::kAvx512) GTEST_SKIP() << "no AVX-512";
  std::vector<float> x;
  for (int c = 0; c < 0x7e; ++c) {
    const float lo = fp8e4m3_to_f32(uint8_t(c)), hi = fp8e4m3_to_f32(uint8_t(c + 1));
    const float mid = 0.5f * (lo + hi);
    for (float v : {lo, mid, std::nextafter(mid, 0.0f), std::nextafter(mid, 1000.0f)}) {
      x.push_back(v);
      x.push_back(-v);
    }
  }
  for (float v :
       {0.0f, -0.0f, 0.015625f, 0.0156249f, 448.0f, 460.0f, 1e30f, -1e30f, NAN, 1e-40f, -3e-3f})
    x.push_back(v);
  std::mt19937 rng(5);
  std::normal_distribution<float> nd(0.0f, 50.0f);
  for (int i = 0; i < 1001; ++i) x.push_back(nd(rng));  // odd length: exercises the tail
  const int64_t n = int64_t(x.size());
  std::vector<float> a(x.size()), b(x.size());
  auto same = [&](const char* what) {
    for (int64_t i = 0; i < n; ++i)
      ASSERT_TRUE(std::memcmp(&a[size_t(i)], &b[size_t(i)], 4) == 0 ||
                  (std::isnan(a[size_t(i)]) && std::isnan(b[size_t(i)])))
          << what << ": x = " << x[size_t(i)] << " scalar " << a[size_t(i)] << " avx512 "
          << b[size_t(i)];
  };
  for (float inv : {1.0f, 3.7f, 0.013f}) {
    fp8::quantize_row_static(x.data(), n, inv, a.data());
    fp8::quantize_row_static_avx512(x.data(), n, inv, 1.0f, b.data());
    same("static");
  }
  // Dynamic: one row without the huge values (they would set the scale), one with.
  for (int64_t len : {int64_t(1000), n}) {
    const float sa = fp8::quantize_row_dynamic(x.data() + n - len, len, a.data());
    const float sb = fp8::quantize_row_dynamic_avx512(x.data() + n - len, len, 2.0f, b.data());
    EXPECT_EQ(sa, sb);
    for (int64_t i = 0; i < len; ++i) b[size_t(i)] *= 0.5f;
    for (int64_t i = len; i < n; ++i) a[size_t(i)] = b[size_t(i)] = 0.0f;
    same("dynamic");
  }
}

struct Case {
  int64_t n, n_out, n_in;
  ActQuant act;
  bool per_channel, bias;
};

ops::LinearWeight make_weight(const Case& c, std::mt19937& rng, std::vector<uint8_t>& bytes) {
  std::uniform_int_distribution<int> code(0, 255);
  bytes.resize(size_t(c.n_out * c.n_in));
  for (auto& b : bytes) {
    do b = uint8_t(code(rng));
    while ((b & 0x7f) == 0x7f);  // no NaN codes
  }
  ops::LinearWeight w;
  w.name = "test";
  w.n_out = c.n_out;
  w.n_in = c.n_in;
  w.weight = Tensor::view(bytes.data(), DType::kF8E4M3, {c.n_out, c.n_in});
  w.weight_scale = Tensor::empty(DType::kF32, {c.per_channel ? c.n_out : 1});
  std::uniform_real_distribution<float> us(0.001f, 0.01f);
  for (int64_t i = 0; i < w.weight_scale.numel(); ++i) w.weight_scale.data_as<float>()[i] = us(rng);
  if (c.bias) {
    w.bias = Tensor::empty(DType::kF32, {c.n_out});
    for (int64_t i = 0; i < c.n_out; ++i) w.bias.data_as<float>()[i] = us(rng) * 100.0f;
  }
  w.act_quant = c.act;
  w.input_scale = 0.0123f;
  return w;
}

// The formulas of docs/FORMATS.md in double precision.
std::vector<double> reference(const ops::LinearWeight& w, const std::vector<float>& x, int64_t n) {
  std::vector<double> y(size_t(n * w.n_out));
  const uint8_t* W = w.weight.data_as<uint8_t>();
  for (int64_t i = 0; i < n; ++i) {
    std::vector<double> xq(size_t(w.n_in));
    double sx = 1.0;
    if (w.act_quant == ActQuant::kNone) {
      for (int64_t k = 0; k < w.n_in; ++k) xq[k] = x[i * w.n_in + k];
    } else {
      float amax = 0.0f;
      for (int64_t k = 0; k < w.n_in; ++k) amax = std::max(amax, std::fabs(x[i * w.n_in + k]));
      const bool stat = w.act_quant == ActQuant::kStaticPerTensor;
      const float s = stat ? w.input_scale : std::max(amax / 448.0f, 1.0f / (448.0f * 512.0f));
      sx = s;
      for (int64_t k = 0; k < w.n_in; ++k) {
        float v = stat ? x[i * w.n_in + k] * (1.0f / s) : x[i * w.n_in + k] / s;
        v = std::fmin(std::fmax(v, -448.0f), 448.0f);
        xq[k] = fp8e4m3_to_f32(f32_to_fp8e4m3(v));
      }
    }
    for (int64_t o = 0; o < w.n_out; ++o) {
      double acc = 0.0;
      for (int64_t k = 0; k < w.n_in; ++k) acc += xq[k] * fp8e4m3_to_f32(W[o * w.n_in + k]);
      const float* sw = w.weight_scale.data_as<float>();
      acc *= sx * sw[w.weight_scale.numel() > 1 ? o : 0];
      if (w.bias.defined()) acc += w.bias.data_as<float>()[o];
      y[i * w.n_out + o] = acc;
    }
  }
  return y;
}

class LinearFp8 : public ::testing::TestWithParam<Case> {};

TEST_P(LinearFp8, MatchesReferenceAtEveryIsa) {
  const Case c = GetParam();
  std::mt19937 rng(42);
  std::vector<uint8_t> bytes;
  ops::LinearWeight w = make_weight(c, rng, bytes);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  std::vector<float> x(size_t(c.n * c.n_in));
  for (auto& v : x) v = nd(rng);
  const std::vector<double> ref = reference(w, x, c.n);
  std::vector<CpuIsa> levels = {CpuIsa::kScalar};
  if (cpu_isa() == CpuIsa::kAvx512) levels.push_back(CpuIsa::kAvx512);
  for (CpuIsa isa : levels) {
    std::vector<float> y(size_t(c.n * c.n_out), -1.0f);
    fp8::linear_fp8_isa(w, x.data(), c.n, y.data(), isa);
    double max_rel = 0.0;
    for (size_t i = 0; i < y.size(); ++i) {
      // f32 accumulation of n_in exact products: error bounded by ~n_in * eps * sum|terms|.
      const double err = std::fabs(y[i] - ref[i]) / (1e-3 + std::fabs(ref[i]));
      max_rel = std::max(max_rel, err);
      ASSERT_LT(err, 2e-4) << cpu_isa_name(isa) << " element " << i << ": got " << y[i]
                           << ", reference " << ref[i];
    }
  }
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, LinearFp8,
    ::testing::Values(Case{1, 37, 64, ActQuant::kNone, true, false},
                      Case{1, 40, 67, ActQuant::kStaticPerTensor, false, true},
                      Case{3, 33, 128, ActQuant::kDynamicPerToken, true, true},
                      Case{5, 17, 200, ActQuant::kStaticPerTensor, true, false},
                      Case{37, 21, 48, ActQuant::kDynamicPerToken, false, false},
                      Case{9, 64, 15, ActQuant::kNone, false, true}));

TEST(LinearFp8Decode, EveryCodeDecodesExactly) {
  // One weight row per code; x = 1 picks the decoded value out exactly.
  std::vector<uint8_t> bytes;
  for (int c = 0; c < 256; ++c)
    if ((c & 0x7f) != 0x7f) bytes.push_back(uint8_t(c));
  const int64_t n_out = int64_t(bytes.size());
  std::vector<uint8_t> W(size_t(n_out * 16), 0);
  for (int64_t o = 0; o < n_out; ++o) W[size_t(o * 16 + 3)] = bytes[size_t(o)];
  for (CpuIsa isa : {CpuIsa::kScalar, CpuIsa::kAvx512}) {
    if (isa == CpuIsa::kAvx512 && cpu_isa() != CpuIsa::kAvx512) continue;
    const bool v = isa == CpuIsa::kAvx512;  // that kernel works with scaled x and sums
    std::vector<float> x(16, 0.0f);
    x[3] = v ? fp8::kAvx512XScale : 1.0f;
    std::vector<float> acc(static_cast<size_t>(n_out), 0.0f);
    (isa == CpuIsa::kAvx512 ? fp8::dot_fp8_avx512 : fp8::dot_fp8_scalar)(
        W.data(), 16, 0, n_out, x.data(), 1, acc.data(), n_out);
    for (int64_t o = 0; o < n_out; ++o)
      ASSERT_EQ(acc[size_t(o)] * (v ? fp8::kAvx512AccScale : 1.0f),
                fp8e4m3_to_f32(bytes[size_t(o)]))
          << cpu_isa_name(isa) << " code 0x" << std::hex << int(bytes[size_t(o)]);
  }
}

TEST(LinearFp8, DispatchThroughOpsLinear) {
  std::mt19937 rng(7);
  std::vector<uint8_t> bytes;
  ops::LinearWeight w =
      make_weight(Case{2, 8, 32, ActQuant::kDynamicPerToken, true, true}, rng, bytes);
  Tensor x = Tensor::zeros(DType::kF32, {2, 32});
  for (int64_t i = 0; i < 64; ++i) x.data_as<float>()[i] = float(i % 7) - 3.0f;
  Tensor y = Tensor::zeros(DType::kF32, {2, 8});
  ops::linear(w, x, y);
  std::vector<float> xv(x.data_as<float>(), x.data_as<float>() + 64);
  const std::vector<double> ref = reference(w, xv, 2);
  for (int64_t i = 0; i < 16; ++i)
    EXPECT_NEAR(y.data_as<float>()[i], ref[size_t(i)], 1e-4 * (1 + std::fabs(ref[size_t(i)])));
}

TEST(LinearFp8, RejectsBadScale) {
  std::mt19937 rng(7);
  std::vector<uint8_t> bytes;
  ops::LinearWeight w =
      make_weight(Case{1, 8, 32, ActQuant::kStaticPerTensor, true, false}, rng, bytes);
  w.input_scale = 0.0f;
  std::vector<float> x(32, 1.0f), y(8);
  EXPECT_THROW(fp8::linear_fp8_isa(w, x.data(), 1, y.data(), CpuIsa::kScalar), Error);
}

}  // namespace
}  // namespace qinfer

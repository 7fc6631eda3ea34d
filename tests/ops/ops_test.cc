// Every CPU op against the published formula evaluated in double precision in this file,
// once per kernel level (scalar / avx2 / avx512) and, for linear and embedding, per dtype.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "core/cpu_features.h"
#include "core/dtype.h"
#include "core/error.h"
#include "ops/add.h"
#include "ops/attention.h"
#include "ops/cpu/isa.h"
#include "ops/embedding.h"
#include "ops/linear.h"
#include "ops/rms_norm.h"
#include "ops/rope.h"
#include "ops/silu_mul.h"

namespace qinfer {
namespace {

Tensor random_f32(Shape s, uint64_t seed, float scale = 1.0f) {
  Tensor t = Tensor::empty(DType::kF32, std::move(s));
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> d(0.0f, scale);
  for (int64_t i = 0; i < t.numel(); ++i) t.data_as<float>()[i] = d(rng);
  return t;
}

// The same values stored as `dt` (rounded), plus their exact F32 widening for the reference.
Tensor cast_to(const Tensor& f, DType dt) {
  Tensor t = Tensor::empty(dt, f.shape());
  for (int64_t i = 0; i < f.numel(); ++i) {
    const float v = f.data_as<float>()[i];
    if (dt == DType::kF32) t.data_as<float>()[i] = v;
    if (dt == DType::kBF16) t.data_as<uint16_t>()[i] = f32_to_bf16(v);
    if (dt == DType::kF16) t.data_as<uint16_t>()[i] = f32_to_f16(v);
  }
  return t;
}

Tensor i32(const std::vector<int32_t>& v) {
  Tensor t = Tensor::empty(DType::kI32, {int64_t(v.size())});
  for (size_t i = 0; i < v.size(); ++i) t.data_as<int32_t>()[i] = v[i];
  return t;
}

// max |a - ref| <= atol + rtol * |ref|, printing the worst index.
::testing::AssertionResult close(const Tensor& a, const std::vector<double>& ref, double atol,
                                 double rtol) {
  if (size_t(a.numel()) != ref.size())
    return ::testing::AssertionFailure() << "size " << a.numel() << " vs " << ref.size();
  double worst = 0;
  size_t wi = 0;
  for (size_t i = 0; i < ref.size(); ++i) {
    const double diff = std::fabs(double(a.data_as<float>()[i]) - ref[i]);
    const double d = diff == 0 ? 0 : diff / (atol + rtol * std::fabs(ref[i]));
    if (!(d <= worst)) worst = d, wi = i;
  }
  if (worst <= 1.0) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << "element " << wi << ": got " << a.data_as<float>()[wi] << ", expected " << ref[wi]
         << " (" << worst << "x the tolerance)";
}

class OpsTest : public ::testing::TestWithParam<CpuIsa> {
 protected:
  void SetUp() override {
    if (int(GetParam()) > int(cpu_isa())) GTEST_SKIP() << "CPU lacks " << cpu_isa_name(GetParam());
    ops::cpu::set_ops_isa(GetParam());
  }
  void TearDown() override { ops::cpu::set_ops_isa(CpuIsa::kAvx512); }
};

TEST_P(OpsTest, LinearAllDtypesAndShapes) {
  // n_in 70 leaves a tail narrower than a register; n_out 37 a partial row tile; n 9 a
  // partial token tile.
  for (DType dt : {DType::kF32, DType::kBF16, DType::kF16}) {
    for (auto [n, n_in, n_out] : {std::tuple<int64_t, int64_t, int64_t>{1, 64, 37},
                                  {9, 70, 37},
                                  {5, 256, 130},
                                  {4, 16, 4}}) {
      ops::LinearWeight w;
      w.name = "test";
      w.n_in = n_in;
      w.n_out = n_out;
      w.weight = cast_to(random_f32({n_out, n_in}, 1), dt);
      w.bias = random_f32({n_out}, 2);
      Tensor wf = w.weight.to_f32();
      Tensor x = random_f32({n, n_in}, 3);
      Tensor y = Tensor::empty(DType::kF32, {n, n_out});
      ops::linear(w, x, y);
      std::vector<double> ref(size_t(n * n_out));
      for (int64_t i = 0; i < n; ++i)
        for (int64_t o = 0; o < n_out; ++o) {
          double s = w.bias.data_as<float>()[o];
          for (int64_t k = 0; k < n_in; ++k)
            s += double(x.data_as<float>()[i * n_in + k]) * wf.data_as<float>()[o * n_in + k];
          ref[size_t(i * n_out + o)] = s;
        }
      EXPECT_TRUE(close(y, ref, 1e-4 * std::sqrt(double(n_in)), 1e-5))
          << dtype_name(dt) << " n=" << n << " n_in=" << n_in << " n_out=" << n_out;
    }
  }
}

TEST_P(OpsTest, EmbeddingWidensRows) {
  for (DType dt : {DType::kF32, DType::kBF16, DType::kF16}) {
    Tensor table = cast_to(random_f32({10, 24}, 4), dt);
    Tensor tf = table.to_f32();
    Tensor out = Tensor::empty(DType::kF32, {3, 24});
    ops::embedding(table, i32({7, 0, 7}), out);
    std::vector<double> ref;
    for (int r : {7, 0, 7})
      for (int k = 0; k < 24; ++k) ref.push_back(tf.data_as<float>()[r * 24 + k]);
    EXPECT_TRUE(close(out, ref, 0, 0)) << dtype_name(dt);
  }
  Tensor table = random_f32({10, 4}, 4), out = Tensor::empty(DType::kF32, {1, 4});
  EXPECT_THROW(ops::embedding(table, i32({10}), out), Error);
  EXPECT_THROW(ops::embedding(table, i32({-1}), out), Error);
}

TEST_P(OpsTest, RmsNormMatchesFormula) {
  const int64_t n = 3, d = 67;
  Tensor x = random_f32({n, d}, 5, 3.0f), w = random_f32({d}, 6);
  Tensor y = Tensor::empty(DType::kF32, {n, d});
  ops::rms_norm(x, w, 1e-5f, y);
  std::vector<double> ref;
  for (int64_t i = 0; i < n; ++i) {
    double ss = 0;
    for (int64_t k = 0; k < d; ++k)
      ss += double(x.data_as<float>()[i * d + k]) * x.data_as<float>()[i * d + k];
    const double r = 1.0 / std::sqrt(ss / double(d) + 1e-5);
    for (int64_t k = 0; k < d; ++k)
      ref.push_back(x.data_as<float>()[i * d + k] * r * w.data_as<float>()[k]);
  }
  EXPECT_TRUE(close(y, ref, 1e-6, 1e-5));
  ops::rms_norm(x, w, 1e-5f, x);  // in place
  EXPECT_TRUE(close(x, ref, 1e-6, 1e-5));
}

TEST_P(OpsTest, RopeRotatesHalvesOfLeadingHeads) {
  const int64_t n = 4, hd = 8, n_rot = 3, width = 5 * hd;
  Tensor x = random_f32({n, width}, 7), x0 = random_f32({n, width}, 7);
  const std::vector<int32_t> pos = {0, 1, 17, 4000};
  Tensor inv = Tensor::empty(DType::kF32, {hd / 2});
  for (int64_t j = 0; j < hd / 2; ++j) inv.data_as<float>()[j] = std::pow(10000.0f, -2.0f * j / hd);
  ops::rope(x, i32(pos), inv, n_rot, hd);
  std::vector<double> ref(size_t(n * width));
  for (int64_t i = 0; i < n; ++i)
    for (int64_t c = 0; c < width; ++c) {
      const float* r = x0.data_as<float>() + i * width;
      const int64_t h = c / hd, j = c % hd, half = hd / 2;
      if (h >= n_rot) {
        ref[size_t(i * width + c)] = r[c];
        continue;
      }
      const double a = double(float(pos[size_t(i)]) * inv.data_as<float>()[j % half]);
      const double x1 = r[h * hd + j % half], x2 = r[h * hd + j % half + half];
      ref[size_t(i * width + c)] =
          j < half ? x1 * std::cos(a) - x2 * std::sin(a) : x2 * std::cos(a) + x1 * std::sin(a);
    }
  EXPECT_TRUE(close(x, ref, 1e-5, 1e-5));
}

TEST_P(OpsTest, SiluMulAndAdd) {
  const int64_t n = 3, inter = 45;
  Tensor gu = random_f32({n, 2 * inter}, 8, 4.0f), out = Tensor::empty(DType::kF32, {n, inter});
  gu.data_as<float>()[0] = -100.0f;  // exp overflow region
  gu.data_as<float>()[1] = 100.0f;
  ops::silu_mul(gu, out);
  std::vector<double> ref;
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < inter; ++j) {
      const double g = gu.data_as<float>()[i * 2 * inter + j],
                   u = gu.data_as<float>()[i * 2 * inter + inter + j];
      ref.push_back(g / (1.0 + std::exp(-g)) * u);
    }
  EXPECT_TRUE(close(out, ref, 1e-6, 1e-5));
  Tensor a = random_f32({5, 13}, 9), b = random_f32({5, 13}, 10);
  std::vector<double> sum;
  for (int64_t i = 0; i < a.numel(); ++i)
    sum.push_back(double(a.data_as<float>()[i]) + b.data_as<float>()[i]);
  ops::add(a, b);
  EXPECT_TRUE(close(a, sum, 1e-6, 1e-6));
}

// Two sequences (one continuing after 5 cached positions), GQA 3:1, scattered blocks.
TEST_P(OpsTest, PagedAttentionMatchesDenseCausalSoftmax) {
  const int64_t nh = 6, nkv = 2, hd = 20, bs = 4, n_block = 8;
  const std::vector<int32_t> bt0 = {6, 1, 3}, bt1 = {0, 7};
  const std::vector<int64_t> past = {5, 0}, nnew = {4, 7};
  const int64_t n_tok = 11, w = (nh + 2 * nkv) * hd;
  // Full K/V history of each sequence: positions 0..past+new.
  std::vector<Tensor> hist = {random_f32({9, w}, 11), random_f32({7, w}, 12)};
  Tensor kc = Tensor::zeros(DType::kF32, {n_block, bs, nkv, hd});
  Tensor vc = Tensor::zeros(DType::kF32, {n_block, bs, nkv, hd});
  // Pre-fill sequence 0's first 5 positions into the cache, as an earlier step would have.
  for (int64_t p = 0; p < 5; ++p) {
    const int64_t row = bt0[size_t(p / bs)] * bs + p % bs;
    for (int64_t c = 0; c < nkv * hd; ++c) {
      kc.data_as<float>()[row * nkv * hd + c] = hist[0].data_as<float>()[p * w + nh * hd + c];
      vc.data_as<float>()[row * nkv * hd + c] =
          hist[0].data_as<float>()[p * w + (nh + nkv) * hd + c];
    }
  }
  Tensor qkv = Tensor::empty(DType::kF32, {n_tok, w});
  for (int64_t t = 0; t < 4; ++t)
    for (int64_t c = 0; c < w; ++c)
      qkv.data_as<float>()[t * w + c] = hist[0].data_as<float>()[(5 + t) * w + c];
  for (int64_t t = 0; t < 7; ++t)
    for (int64_t c = 0; c < w; ++c)
      qkv.data_as<float>()[(4 + t) * w + c] = hist[1].data_as<float>()[t * w + c];
  std::vector<ops::AttentionSeq> seqs = {{5, 4, bt0.data(), 3}, {0, 7, bt1.data(), 2}};
  const float scale = 1.0f / std::sqrt(float(hd));
  Tensor out = Tensor::empty(DType::kF32, {n_tok, nh * hd});
  ops::attention(qkv, seqs, {.n_head = nh, .n_head_kv = nkv, .head_dim = hd, .scale = scale}, kc,
                 vc, out);
  std::vector<double> ref;
  for (int s = 0; s < 2; ++s)
    for (int64_t i = 0; i < nnew[size_t(s)]; ++i) {
      const int64_t p = past[size_t(s)] + i;
      const float* H = hist[size_t(s)].data_as<float>();
      for (int64_t h = 0; h < nh; ++h) {
        const int64_t kvh = h / (nh / nkv);
        std::vector<double> sc;
        double mx = -1e300, sum = 0;
        for (int64_t j = 0; j <= p; ++j) {
          double d = 0;
          for (int64_t c = 0; c < hd; ++c)
            d += double(H[p * w + h * hd + c]) * H[j * w + (nh + kvh) * hd + c];
          sc.push_back(d * scale);
          mx = std::max(mx, sc.back());
        }
        for (double& v : sc) sum += (v = std::exp(v - mx));
        for (int64_t c = 0; c < hd; ++c) {
          double o = 0;
          for (int64_t j = 0; j <= p; ++j)
            o += sc[size_t(j)] / sum * H[j * w + (nh + nkv + kvh) * hd + c];
          ref.push_back(o);
        }
      }
    }
  EXPECT_TRUE(close(out, ref, 1e-5, 1e-5));
  // A block table too short for the positions is an error, not a wild write.
  std::vector<ops::AttentionSeq> bad = {{5, 4, bt0.data(), 2}, {0, 7, bt1.data(), 2}};
  EXPECT_THROW(
      ops::attention(qkv, bad, {.n_head = nh, .n_head_kv = nkv, .head_dim = hd, .scale = scale}, kc,
                     vc, out),
      Error);
}

INSTANTIATE_TEST_SUITE_P(Isa, OpsTest,
                         ::testing::Values(CpuIsa::kScalar, CpuIsa::kAvx2, CpuIsa::kAvx512),
                         [](const auto& info) { return std::string(cpu_isa_name(info.param)); });

}  // namespace
}  // namespace qinfer

// ops::linear on the GPU against (1) the CPU backend and (2) a float64 evaluation of the
// documented formulas (src/ops/linear.h, docs/FORMATS.md: vLLM's FP8 activation quantization),
// over every weight format, activation-quant mode, scale granularity and batch sizes that take
// the GEMV path (n <= 8) and the cuBLASLt path (n > 8), including odd shapes.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <cmath>
#include <cstring>
#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "core/dtype.h"
#include "ops/cuda/fused_ops.h"
#include "ops/cuda/sampling_cuda.h"
#include "ops/cuda/sampling_math.h"
#include "ops/linear.h"
#include "ops/rms_norm.h"
#include "ops/silu_mul.h"
#include "cuda_test_util.h"
#ifdef QINFER_HAVE_CUDA
#include "ops/cuda/cuda_common.h"
#include "ops/cuda/linear_gemm.h"
#endif

namespace qinfer {
namespace {

using ops::ActQuant;
using ops::LinearWeight;

struct Case {
  DType wt;
  ActQuant aq;
  bool per_channel;
  bool bias;
};

LinearWeight make_weight(const Case& c, int64_t n_out, int64_t n_in, std::mt19937& rng) {
  LinearWeight w;
  w.name = "test.proj";
  w.n_out = n_out;
  w.n_in = n_in;
  w.weight = Tensor::empty(c.wt, {n_out, n_in});
  std::normal_distribution<float> nd(0.0f, 1.0f);
  for (int64_t i = 0; i < n_out * n_in; ++i) {
    const float v = nd(rng);
    switch (c.wt) {
      case DType::kF8E4M3: w.weight.data_as<uint8_t>()[i] = f32_to_fp8e4m3(v * 96.0f); break;
      case DType::kBF16: w.weight.data_as<uint16_t>()[i] = f32_to_bf16(v * 0.05f); break;
      case DType::kF16: w.weight.data_as<uint16_t>()[i] = f32_to_f16(v * 0.05f); break;
      default: w.weight.data_as<float>()[i] = v * 0.05f; break;
    }
  }
  if (c.wt == DType::kF8E4M3) {
    w.weight_scale = testing::random_f32({c.per_channel ? n_out : 1}, rng, 2e-4f, 1e-3f);
    w.act_quant = c.aq;
    if (c.aq == ActQuant::kStaticPerTensor) w.input_scale = 3.0f / 448.0f;
  }
  if (c.bias) w.bias = testing::random_f32({n_out}, rng);
  return w;
}

LinearWeight to_cuda(const LinearWeight& w) {
  LinearWeight d = w;
  d.weight = w.weight.to(Device::kCuda);
  if (w.weight_scale.defined()) d.weight_scale = w.weight_scale.to(Device::kCuda);
  if (w.bias.defined()) d.bias = w.bias.to(Device::kCuda);
  return d;
}

// float64 evaluation of the contract. The activation quantization itself is done in float,
// as the formula is specified (docs/FORMATS.md: x / s for dynamic scales, x * (1 / s) for a
// static one, rounded to fp32, then to FP8 nearest-even). mag, when given, gets the largest
// sum of the products' magnitudes over the outputs (in y's units): the scale of the rounding an
// fp32 accumulation may leave, which a sum that cancels to near zero does not show.
Tensor reference(const LinearWeight& w, const Tensor& x, double* mag = nullptr) {
  const int64_t n = x.dim(0), k = w.n_in;
  Tensor y = Tensor::empty(DType::kF32, {n, w.n_out});
  Tensor wf = w.weight.to_f32();
  std::vector<double> xv(size_t(n * k)), sx(size_t(n), 1.0);
  const float* xp = x.data_as<float>();
  const bool quant = w.is_fp8() && w.act_quant != ActQuant::kNone;
  for (int64_t i = 0; i < n; ++i) {
    float s = 1.0f;
    if (quant && w.act_quant == ActQuant::kStaticPerTensor) s = w.input_scale;
    if (quant && w.act_quant == ActQuant::kDynamicPerToken) {
      float m = 0.0f;
      for (int64_t j = 0; j < k; ++j) m = std::max(m, std::fabs(xp[i * k + j]));
      s = std::max(m / kFp8E4M3Max, 1.0f / (kFp8E4M3Max * 512.0f));
    }
    sx[size_t(i)] = s;
    for (int64_t j = 0; j < k; ++j) {
      const float v = xp[i * k + j];
      const float q = w.act_quant == ActQuant::kStaticPerTensor ? v * (1.0f / s) : v / s;
      xv[size_t(i * k + j)] =
          quant ? fp8e4m3_to_f32(f32_to_fp8e4m3(std::clamp(q, -kFp8E4M3Max, kFp8E4M3Max))) : v;
    }
  }
  if (mag != nullptr) *mag = 0.0;
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t o = 0; o < w.n_out; ++o) {
      double acc = 0, abs_sum = 0;
      for (int64_t j = 0; j < k; ++j) {
        const double t = xv[size_t(i * k + j)] * wf.data_as<float>()[o * k + j];
        acc += t;
        abs_sum += std::fabs(t);
      }
      double ws = 1.0;
      if (w.is_fp8()) ws = w.weight_scale.data_as<float>()[w.weight_scale.numel() == 1 ? 0 : o];
      acc = acc * sx[size_t(i)] * ws;
      if (mag != nullptr) *mag = std::max(*mag, abs_sum * sx[size_t(i)] * std::fabs(ws));
      if (w.bias.defined()) acc += w.bias.data_as<float>()[o];
      y.data_as<float>()[i * w.n_out + o] = float(acc);
    }
  }
  return y;
}

// What fast accumulation (ops::cuda::fp8_fast_accum) adds to an FP8 GEMM's error relative to
// max |y|: each k step of 32 products lands in an accumulator of ~13 mantissa bits, losing
// ~2^-14 of the partial sum; over n_in / 32 steps whose partial sums average about half the
// final magnitude, n_in x 2^-20. Measured on the H100: 2.7-3.1e-3 at n_in 14,336-16,400
// (bench/results/gpu_run_s31.cmd q1) against this 1.4-1.6e-2; an operand or scale mix-up is
// O(1). Promoted accumulation adds nothing here.
double fp8_accum_tol(int64_t n_in) {
  return ops::cuda::fp8_fast_accum() ? double(n_in) * std::ldexp(1.0, -20) : 0.0;
}

double tolerance(const Case& c, int64_t n, int64_t n_in) {
  // n > 8 runs on tensor cores: BF16 splits x into two BF16 halves (~2^-16 relative);
  // FP8 products are exact but Hopper's FP8 accumulation is narrower than fp32.
  if (n > 8 && c.wt == DType::kBF16) return 1e-4;
  if (n > 8 && c.wt == DType::kF8E4M3) return 2e-3 + fp8_accum_tol(n_in);
  return 1e-4;
}

std::string case_name(const Case& c, int64_t n, int64_t n_in, int64_t n_out) {
  const char* aq[] = {"none", "static", "dynamic"};
  return str_cat(dtype_name(c.wt), " act=", aq[int(c.aq)],
                 c.per_channel ? " per-channel" : " per-tensor", c.bias ? " +bias" : "",
                 " n=", n, " n_in=", n_in, " n_out=", n_out);
}

TEST(LinearCuda, MatchesCpuAndFormulaAcrossFormatsAndShapes) {
  QINFER_SKIP_WITHOUT_CUDA();
  const uint32_t seed = testing::fresh_seed();
  std::mt19937 rng(seed);
  std::vector<Case> cases;
  for (ActQuant aq : {ActQuant::kNone, ActQuant::kStaticPerTensor, ActQuant::kDynamicPerToken})
    for (bool pc : {false, true}) cases.push_back({DType::kF8E4M3, aq, pc, false});
  cases.push_back({DType::kF8E4M3, ActQuant::kDynamicPerToken, true, true});
  for (DType dt : {DType::kBF16, DType::kF16, DType::kF32})
    cases.push_back({dt, ActQuant::kNone, false, dt == DType::kBF16});
  const std::vector<std::pair<int64_t, int64_t>> shapes = {
      {64, 48}, {100, 37}, {512, 256}, {4096, 160}, {48, 1}};
  for (const Case& c : cases) {
    for (auto [n_in, n_out] : shapes) {
      for (int64_t n : {1, 2, 5, 8, 9, 32, 67}) {
        const std::string name = case_name(c, n, n_in, n_out) + " seed=" + std::to_string(seed);
        LinearWeight w = make_weight(c, n_out, n_in, rng);
        Tensor x = testing::random_f32({n, n_in}, rng, -2.0f, 2.0f);
        x.data_as<float>()[rng() % size_t(n * n_in)] = 9.0f;  // an outlier sets a row's scale
        double mag = 0.0;
        Tensor want = reference(w, x, &mag);
        Tensor y = testing::poisoned_cuda({n, n_out});
        ops::linear(to_cuda(w), x.to(Device::kCuda), y);
        // Relative to y, or, where the sums cancel (one output of 48 products can come out at
        // 1e-3 of its terms), to the terms' magnitudes: the rounding of the fp32 accumulation.
        const double tol = tolerance(c, n, n_in);
        const auto close = [&](const testing::Diff& d) {
          return d.n_nan == 0 && (d.rel < tol || d.max_abs <= tol * mag);
        };
        testing::Diff d = testing::compare(y, want);
        ASSERT_TRUE(close(d)) << name << " vs float64 formula: " << testing::describe(d, y, want)
                              << " (terms' magnitude " << mag << ")";
        Tensor cpu = Tensor::empty(DType::kF32, {n, n_out});
        ops::linear(w, x, cpu);
        testing::Diff dc = testing::compare(y, cpu);
        ASSERT_TRUE(close(dc)) << name << " vs CPU backend: " << testing::describe(dc, y, cpu)
                               << " (terms' magnitude " << mag << ")";
      }
    }
  }
}

// Llama-3.1-8B projection shapes at decode (GEMV) and prefill (cuBLASLt) batch sizes.
TEST(LinearCuda, LlamaShapes) {
  QINFER_SKIP_WITHOUT_CUDA();
  const uint32_t seed = testing::fresh_seed();
  std::mt19937 rng(seed);
  const std::vector<std::tuple<Case, int64_t, int64_t>> cases = {
      {{DType::kF8E4M3, ActQuant::kDynamicPerToken, true, false}, 4096, 6144},
      {{DType::kF8E4M3, ActQuant::kDynamicPerToken, true, false}, 14336, 4096},
      {{DType::kF8E4M3, ActQuant::kStaticPerTensor, false, false}, 4096, 1024},
      {{DType::kBF16, ActQuant::kNone, false, false}, 4096, 1000}};
  for (const auto& [c, n_in, n_out] : cases) {
    for (int64_t n : {1, 32}) {
      const std::string name = case_name(c, n, n_in, n_out) + " seed=" + std::to_string(seed);
      LinearWeight w = make_weight(c, n_out, n_in, rng);
      Tensor x = testing::random_f32({n, n_in}, rng, -2.0f, 2.0f);
      Tensor want = reference(w, x);
      Tensor y = testing::poisoned_cuda({n, n_out});
      ops::linear(to_cuda(w), x.to(Device::kCuda), y);
      testing::Diff d = testing::compare(y, want);
      ASSERT_TRUE(d.n_nan == 0 && d.rel < tolerance(c, n, n_in))
          << name << " vs float64 formula: " << testing::describe(d, y, want);
    }
  }
}

// The CUDA fast path (ops/cuda/fused_ops.h): each activation producer (plain copy, add +
// rms_norm, silu * mul) writes the form act_spec asks for (slot layout for the GEMV, FP8 codes
// for the tensor cores, row-major otherwise), and linear_act (storing or adding into y) must
// equal the float64 formula applied to the CPU backend's version of that activation.
struct DeviceAct {
  Tensor data, scale;
  ops::cuda::Act act;
  DeviceAct(const LinearWeight& w, int64_t n) {
    act.spec = ops::cuda::act_spec(w, n);
    data = Tensor::empty(DType::kU8, {int64_t(ops::cuda::act_bytes(act.spec, n))}, Device::kCuda);
    scale = Tensor::empty(DType::kF32, {n}, Device::kCuda);
    act.data = data.data();
    act.scale = scale.data_as<float>();
    act.n = n;
  }
};

TEST(FusedCuda, ActivationProducersFeedLinearAct) {
  QINFER_SKIP_WITHOUT_CUDA();
  const uint32_t seed = testing::fresh_seed();
  std::mt19937 rng(seed);
  std::vector<Case> cases;
  for (ActQuant aq : {ActQuant::kNone, ActQuant::kStaticPerTensor, ActQuant::kDynamicPerToken})
    for (bool pc : {false, true}) cases.push_back({DType::kF8E4M3, aq, pc, aq == ActQuant::kNone});
  for (DType dt : {DType::kBF16, DType::kF16, DType::kF32})
    cases.push_back({dt, ActQuant::kNone, false, dt == DType::kBF16});
  const std::vector<std::pair<int64_t, int64_t>> shapes = {
      {64, 48}, {100, 37}, {512, 256}, {4096, 160}, {1040, 1}};
  // Both producer implementations (classic, vectorized: ops::cuda::set_producer_path).
  for (int path : {1, 2}) {
  ops::cuda::set_producer_path(path);
  for (const Case& c : cases) {
    for (auto [n_in, n_out] : shapes) {
      for (int64_t n : {1, 2, 3, 5, 8, 9, 32}) {
        const std::string name = case_name(c, n, n_in, n_out) + " producers=" +
                                 std::to_string(path) + " seed=" + std::to_string(seed);
        const LinearWeight w = make_weight(c, n_out, n_in, rng);
        const LinearWeight wd = to_cuda(w);
        const double tol = tolerance(c, n, n_in);
        DeviceAct a(wd, n);
        // A producer that computes x (norm, silu) before quantizing it may round an element to
        // the neighbouring FP8 code where the CPU's float arithmetic did not (rsqrtf vs
        // 1 / sqrtf, expf): one code step in a row moves the output by ~1e-3.
        const double tol_q =
            c.wt == DType::kF8E4M3 && c.aq != ActQuant::kNone ? std::max(tol, 5e-3) : tol;
        // mag: reference()'s magnitude of the products, for outputs whose sums cancel (as in
        // MatchesCpuAndFormulaAcrossFormatsAndShapes).
        auto check = [&](const Tensor& y, const Tensor& want, const char* what, double mag) {
          const bool computed = std::string(what) == "rms_norm_act" ||
                                std::string(what) == "silu_mul_act";
          const double t = computed ? tol_q : tol;
          testing::Diff d = testing::compare(y, want);
          ASSERT_TRUE(d.n_nan == 0 && (d.rel < t || d.max_abs <= t * mag))
              << name << " " << what << ": " << testing::describe(d, y, want)
              << " (products' magnitude " << mag << ")";
        };
        double mag = 0.0;
        // Plain copy, storing.
        Tensor x = testing::random_f32({n, n_in}, rng, -2.0f, 2.0f);
        Tensor xd = x.to(Device::kCuda);
        ops::cuda::to_act(xd.data_as<float>(), n, a.act);
        Tensor y = testing::poisoned_cuda({n, n_out});
        ops::cuda::linear_act(wd, a.act, y.data_as<float>(), false);
        const Tensor want_x = reference(w, x, &mag);
        check(y, want_x, "to_act", mag);
        // Every split factor of the warp-per-row GEMV, not just the one picked, with the
        // tensor-core GEMV off (W8A8 on sm_90 otherwise takes it: FP8 codes, no split).
        {
          ops::cuda::set_gemv_bulk(1, 0);
          DeviceAct ab(wd, n);
          ops::cuda::to_act(xd.data_as<float>(), n, ab.act);
          for (int split : {1, 2, 4, 8}) {
            ops::cuda::set_gemv_split(split);
            Tensor ys = testing::poisoned_cuda({n, n_out});
            ops::cuda::linear_act(wd, ab.act, ys.data_as<float>(), false);
            ops::cuda::set_gemv_split(0);
            check(ys, want_x, str_cat("split ", split).c_str(), mag);
          }
          ops::cuda::set_gemv_bulk(0, 0);
        }
        // Adding into y.
        Tensor y0 = testing::random_f32({n, n_out}, rng);
        Tensor ya = y0.to(Device::kCuda);
        ops::cuda::linear_act(wd, a.act, ya.data_as<float>(), true);
        Tensor want_acc = reference(w, x, &mag);
        for (int64_t i = 0; i < want_acc.numel(); ++i)
          want_acc.data_as<float>()[i] += y0.data_as<float>()[i];
        check(ya, want_acc, "accumulate", mag);
        // hid += add, then rms_norm.
        Tensor add = testing::random_f32({n, n_in}, rng, -0.5f, 0.5f);
        Tensor nw = testing::random_f32({n_in}, rng, 0.5f, 1.5f);
        Tensor hid = xd.to(Device::kCuda);
        Tensor add_d = add.to(Device::kCuda);
        ops::cuda::rms_norm_act(hid.data_as<float>(), add_d.data_as<float>(), nw.to(Device::kCuda),
                                1e-5f, n, a.act);
        Tensor sum = x.to(Device::kCpu);
        for (int64_t i = 0; i < sum.numel(); ++i)
          sum.data_as<float>()[i] = x.data_as<float>()[i] + add.data_as<float>()[i];
        testing::Diff dh = testing::compare(hid, sum);
        ASSERT_TRUE(dh.n_nan == 0 && dh.max_abs == 0.0) << name << " hid += add: "
                                                         << testing::describe(dh, hid, sum);
        Tensor xn = Tensor::empty(DType::kF32, {n, n_in});
        ops::rms_norm(sum, nw, 1e-5f, xn);
        Tensor yn = testing::poisoned_cuda({n, n_out});
        ops::cuda::linear_act(wd, a.act, yn.data_as<float>(), false);
        const Tensor want_n = reference(w, xn, &mag);
        check(yn, want_n, "rms_norm_act", mag);
        // silu(gate) * up.
        Tensor gu = testing::random_f32({n, 2 * n_in}, rng, -3.0f, 3.0f);
        Tensor act = Tensor::empty(DType::kF32, {n, n_in});
        ops::silu_mul(gu, act);
        Tensor gud = gu.to(Device::kCuda);
        ops::cuda::silu_mul_act(gud.data_as<float>(), n, n_in, a.act);
        Tensor ys = testing::poisoned_cuda({n, n_out});
        ops::cuda::linear_act(wd, a.act, ys.data_as<float>(), false);
        const Tensor want_s = reference(w, act, &mag);
        check(ys, want_s, "silu_mul_act", mag);
      }
    }
  }
  }
  ops::cuda::set_producer_path(0);
}

// The tensor-core GEMV for W8A8 decode (gemv_bulk: n <= 8, sm_90) where the shapes above do
// not reach: rows per SM well past the ring's depth (every stage slot reused many times), 14 KiB
// rows in 2 KiB pieces, ragged last tiles, 1 KiB pieces, the smallest ring (two stages) and a
// full-size one, x in shared memory (up to 8 rows of 14 KiB) or read from global memory,
// storing and adding into y; against the float64 formula and against the
// warp-per-row GEMV on the same inputs.
// The bulk GEMV against fp32 sums: wgmma's FP8 products are added with 13 mantissa bits (the
// H100's e8m13 accumulator) in runs of 128 before fp32 registers take them, ~1.2e-4 relative
// at worst seen (bench/results/gpu_run_s25.cmd q2); a wrong operand layout is O(1).
constexpr double kTensorCoreRel = 4e-4;

TEST(FusedCuda, BulkGemvRingAndPieces) {
  QINFER_SKIP_WITHOUT_CUDA();
  const uint32_t seed = testing::fresh_seed();
  std::mt19937 rng(seed);
  const std::vector<std::tuple<Case, int64_t, int64_t>> cases = {
      {{DType::kF8E4M3, ActQuant::kDynamicPerToken, true, false}, 1024, 8200},
      {{DType::kF8E4M3, ActQuant::kStaticPerTensor, false, true}, 14336, 600},
      {{DType::kF8E4M3, ActQuant::kDynamicPerToken, false, true}, 4160, 1999},
      {{DType::kF8E4M3, ActQuant::kStaticPerTensor, true, false}, 192, 77}};
  for (const auto& [c, n_in, n_out] : cases) {
    const LinearWeight w = make_weight(c, n_out, n_in, rng);
    const LinearWeight wd = to_cuda(w);
    for (int64_t n : {1, 2, 5, 8}) {
      const std::string name = case_name(c, n, n_in, n_out) + " seed=" + std::to_string(seed);
      Tensor x = testing::random_f32({n, n_in}, rng, -2.0f, 2.0f);
      Tensor xd = x.to(Device::kCuda);
      const Tensor want = reference(w, x);
      Tensor y0 = testing::random_f32({n, n_out}, rng);
      Tensor want_acc = want.to(Device::kCpu);
      for (int64_t i = 0; i < want_acc.numel(); ++i)
        want_acc.data_as<float>()[i] += y0.data_as<float>()[i];
      ops::cuda::set_gemv_bulk(1, 0);
      DeviceAct slot(wd, n);
      ASSERT_EQ(slot.act.spec.layout, ops::cuda::ActLayout::kSlotF32) << name;
      ops::cuda::to_act(xd.data_as<float>(), n, slot.act);
      Tensor classic = testing::poisoned_cuda({n, n_out});
      ops::cuda::linear_act(wd, slot.act, classic.data_as<float>(), false);
      // 48 KiB: 8 KiB of partial sums and two 17 KiB stages of 1 KiB pieces (more where x's
      // rows in shared memory leave less); 227 KiB: six stages of 2 KiB pieces, or eight of
      // 1 KiB; flag 4: x read from global memory, not copied to shared memory; flag 8: the
      // products on mma.sync where n <= 2 and n_in % 1024 == 0 would put them on wgmma.
      for (auto [kib, flags] : {std::pair{48, 2}, std::pair{0, 0}, std::pair{227, 0},
                                std::pair{227, 2}, std::pair{0, 4}, std::pair{48, 6},
                                std::pair{0, 8}, std::pair{48, 10}}) {
        const std::string what = str_cat(name, " ring ", kib, " KiB flags ", flags);
        ops::cuda::set_gemv_bulk(2, kib, flags);
        DeviceAct a(wd, n);
        ASSERT_EQ(a.act.spec.layout, ops::cuda::ActLayout::kCodesU8) << what;
        ops::cuda::to_act(xd.data_as<float>(), n, a.act);
        Tensor y = testing::poisoned_cuda({n, n_out});
        ops::cuda::linear_act(wd, a.act, y.data_as<float>(), false);
        Tensor ya = y0.to(Device::kCuda);
        ops::cuda::linear_act(wd, a.act, ya.data_as<float>(), true);
        ops::cuda::set_gemv_bulk(0, 0);
        using Check = std::tuple<const Tensor*, const Tensor*, const char*>;
        for (const auto& [got, ref, label] :
             {Check{&y, &want, "store"}, Check{&ya, &want_acc, "accumulate"},
              Check{&y, &classic, "vs warp-per-row GEMV"}}) {
          // wgmma adds FP8 products with 13 mantissa bits (e8m13) over runs of 128: ~1e-4
          // relative against fp32 sums (mma.sync's HMMA path: ~1e-7).
          testing::Diff d = testing::compare(*got, *ref);
          ASSERT_TRUE(d.n_nan == 0 && d.rel < kTensorCoreRel)
              << what << " " << label << ": " << testing::describe(d, *got, *ref);
        }
      }
    }
  }
}

// The producer inside the decode GEMV (linear_from_f32: gemv_bulk's prologue makes x's FP8 codes
// from F32 rows, normalized or not): against the producer kernel + linear_act on the same
// inputs (to_act's path bit for bit; the norm's sum of squares is added in another order, so
// there a code may move by one step), against the float64 formula, storing and adding into y,
// dynamic and static quantization, Llama-8B / 1B widths and small odd ones, n = 1 and 2; and
// that it declines (returns false, y untouched) where it does not apply.
TEST(FusedCuda, LinearFromF32MakesTheActivationInsideTheGemv) {
  QINFER_SKIP_WITHOUT_CUDA();
  const uint32_t seed = testing::fresh_seed();
  std::mt19937 rng(seed);
  const std::vector<std::tuple<Case, int64_t, int64_t>> cases = {
      {{DType::kF8E4M3, ActQuant::kDynamicPerToken, true, false}, 4096, 6144},
      {{DType::kF8E4M3, ActQuant::kDynamicPerToken, true, false}, 2048, 3000},
      {{DType::kF8E4M3, ActQuant::kStaticPerTensor, false, true}, 4096, 517},
      {{DType::kF8E4M3, ActQuant::kDynamicPerToken, false, true}, 192, 77},
      {{DType::kF8E4M3, ActQuant::kDynamicPerToken, true, false}, 3136, 33}};
  ops::cuda::set_gemv_bulk(2, 0);
  ops::cuda::set_gemv_prologue(2);
  for (const auto& [c, n_in, n_out] : cases) {
    const LinearWeight w = make_weight(c, n_out, n_in, rng);
    const LinearWeight wd = to_cuda(w);
    for (int64_t n : {1, 2}) {
      const std::string name = case_name(c, n, n_in, n_out) + " seed=" + std::to_string(seed);
      Tensor x = testing::random_f32({n, n_in}, rng, -2.0f, 2.0f);
      Tensor nw = testing::random_f32({n_in}, rng, 0.5f, 1.5f);
      Tensor xd = x.to(Device::kCuda), nwd = nw.to(Device::kCuda);
      Tensor xn = Tensor::empty(DType::kF32, {n, n_in});
      ops::rms_norm(x, nw, 1e-5f, xn);
      Tensor y0 = testing::random_f32({n, n_out}, rng);
      for (bool norm : {false, true}) {
        for (bool acc : {false, true}) {
          const std::string what = str_cat(name, norm ? " rms_norm" : " to_act",
                                           acc ? " accumulate" : " store");
          // Unfused: the producer kernel, then the GEMV over its codes.
          DeviceAct a(wd, n);
          ASSERT_EQ(a.act.spec.layout, ops::cuda::ActLayout::kCodesU8) << what;
          if (norm) {
            Tensor h = x.to(Device::kCuda);
            ops::cuda::rms_norm_act(h.data_as<float>(), nullptr, nwd, 1e-5f, n, a.act);
          } else {
            ops::cuda::to_act(xd.data_as<float>(), n, a.act);
          }
          Tensor unfused = acc ? y0.to(Device::kCuda) : testing::poisoned_cuda({n, n_out});
          ops::cuda::linear_act(wd, a.act, unfused.data_as<float>(), acc);
          Tensor fused = acc ? y0.to(Device::kCuda) : testing::poisoned_cuda({n, n_out});
          ASSERT_TRUE(ops::cuda::linear_from_f32(wd, xd.data_as<float>(), norm ? &nwd : nullptr,
                                                 1e-5f, n, fused.data_as<float>(), acc))
              << what;
          Tensor want = reference(w, norm ? xn : x);
          if (acc)
            for (int64_t i = 0; i < want.numel(); ++i)
              want.data_as<float>()[i] += y0.data_as<float>()[i];
          testing::Diff du = testing::compare(fused, unfused);
          if (norm) {  // one code step of an element moves y by ~1e-3 of its scale (see above)
            ASSERT_TRUE(du.n_nan == 0 && du.rel < 5e-3) << what << " vs producer + GEMV: "
                                                        << testing::describe(du, fused, unfused);
          } else {
            ASSERT_TRUE(du.n_nan == 0 && du.max_abs == 0.0)
                << what << " vs to_act + GEMV: " << testing::describe(du, fused, unfused);
          }
          testing::Diff dr = testing::compare(fused, want);
          ASSERT_TRUE(dr.n_nan == 0 && dr.rel < (norm ? 5e-3 : kTensorCoreRel))
              << what << " vs formula: " << testing::describe(dr, fused, want);
        }
      }
    }
  }
  // Where it does not apply: 3 rows, rows over 4096, switched off.
  const Case dyn{DType::kF8E4M3, ActQuant::kDynamicPerToken, true, false};
  for (auto [n, n_in, mode] : {std::tuple{int64_t(3), int64_t(256), 2},
                               std::tuple{int64_t(1), int64_t(4160), 2},
                               std::tuple{int64_t(1), int64_t(256), 1}}) {
    ops::cuda::set_gemv_prologue(mode);
    const LinearWeight wd = to_cuda(make_weight(dyn, 40, n_in, rng));
    Tensor x = testing::random_f32({n, n_in}, rng).to(Device::kCuda);
    Tensor y = testing::poisoned_cuda({n, 40});
    EXPECT_FALSE(ops::cuda::linear_from_f32(wd, x.data_as<float>(), nullptr, 0.0f, n,
                                            y.data_as<float>(), false))
        << "n=" << n << " n_in=" << n_in << " mode=" << mode;
    const Tensor after = y.to(Device::kCpu);
    for (int64_t i = 0; i < after.numel(); ++i)
      ASSERT_TRUE(std::isnan(after.data_as<float>()[i])) << "y was written at " << i;
  }
  ops::cuda::set_gemv_prologue(0);
  ops::cuda::set_gemv_bulk(0, 0);
}

// The MLP in two GEMVs (mlp_from_f32: gate_up pairs each block's gate and up rows and writes
// silu(gate) * up with each block's max |h|, down quantizes h in its prologue) against the same
// MLP through the producer kernel: linear_from_f32 (gate_up), silu_mul_act, linear_act (down,
// adding into the residual stream), bit for bit; and against the float64 formula. Widths of
// the 1B model and small odd ones (a few rows per block: ragged tiles), a gate_up with a bias
// (the up rows' bias is the second half), dynamic and static gate_up quantization, dynamic and
// static down quantization (static: gate_up writes h's codes, the same bytes as silu_mul_act's),
// n = 1, 2.
TEST(FusedCuda, MlpFromF32EqualsTheProducerPath) {
  QINFER_SKIP_WITHOUT_CUDA();
  const uint32_t seed = testing::fresh_seed();
  std::mt19937 rng(seed);
  struct MlpCase {
    Case gu, down;
    int64_t hidden, inter;
  };
  const Case dyn_down{DType::kF8E4M3, ActQuant::kDynamicPerToken, true, false};
  const std::vector<MlpCase> cases = {
      {{DType::kF8E4M3, ActQuant::kDynamicPerToken, true, false}, dyn_down, 2048, 8192},
      {{DType::kF8E4M3, ActQuant::kStaticPerTensor, false, true}, dyn_down, 192, 320},
      {{DType::kF8E4M3, ActQuant::kDynamicPerToken, true, true}, dyn_down, 1024, 2112},
      {{DType::kF8E4M3, ActQuant::kStaticPerTensor, true, false},
       {DType::kF8E4M3, ActQuant::kStaticPerTensor, true, false}, 2048, 8192},
      {{DType::kF8E4M3, ActQuant::kDynamicPerToken, false, true},
       {DType::kF8E4M3, ActQuant::kStaticPerTensor, false, true}, 192, 320}};
  ops::cuda::set_gemv_bulk(2, 0);
  ops::cuda::set_gemv_prologue(2);
  for (const MlpCase& mc : cases) {
    const LinearWeight gu = make_weight(mc.gu, 2 * mc.inter, mc.hidden, rng);
    const LinearWeight down = make_weight(mc.down, mc.hidden, mc.inter, rng);
    const bool static_down = mc.down.aq == ActQuant::kStaticPerTensor;
    const LinearWeight gud = to_cuda(gu), downd = to_cuda(down);
    for (int64_t n : {1, 2}) {
      const std::string name =
          str_cat(case_name(mc.gu, n, mc.hidden, 2 * mc.inter), " inter=", mc.inter,
                  static_down ? " static down" : "", " seed=", seed);
      Tensor x = testing::random_f32({n, mc.hidden}, rng, -2.0f, 2.0f);
      Tensor nw = testing::random_f32({mc.hidden}, rng, 0.5f, 1.5f);
      Tensor nwd = nw.to(Device::kCuda);
      Tensor res = testing::random_f32({n, mc.hidden}, rng);  // the residual stream
      // The producer path.
      Tensor xd = x.to(Device::kCuda);
      Tensor g = testing::poisoned_cuda({n, 2 * mc.inter});
      ASSERT_TRUE(ops::cuda::linear_from_f32(gud, xd.data_as<float>(), &nwd, 1e-5f, n,
                                             g.data_as<float>(), false))
          << name;
      DeviceAct a(downd, n);
      ASSERT_EQ(a.act.spec.layout, ops::cuda::ActLayout::kCodesU8) << name;
      ops::cuda::silu_mul_act(g.data_as<float>(), n, mc.inter, a.act);
      Tensor want_dev = res.to(Device::kCuda);
      ops::cuda::linear_act(downd, a.act, want_dev.data_as<float>(), true);
      // Two GEMVs.
      Tensor h = testing::poisoned_cuda({n, mc.inter});
      Tensor got = res.to(Device::kCuda);
      ASSERT_TRUE(ops::cuda::mlp_from_f32(gud, downd, xd.data_as<float>(), nwd, 1e-5f, n,
                                          h.data_as<float>(), got.data_as<float>()))
          << name;
      const testing::Diff d = testing::compare(got, want_dev);
      ASSERT_TRUE(d.n_nan == 0 && d.max_abs == 0.0)
          << name << " vs producer path: " << testing::describe(d, got, want_dev);
      if (static_down) {  // h's buffer holds the codes: silu_mul_act's bytes
        const Tensor codes = a.data.to(Device::kCpu), hb = h.to(Device::kCpu);
        const auto* want_c = codes.data_as<uint8_t>();
        const auto* got_c = reinterpret_cast<const uint8_t*>(hb.data_as<float>());
        for (int64_t i = 0; i < n * mc.inter; ++i)
          ASSERT_EQ(got_c[i], want_c[i]) << name << " code " << i;
      }
      // h against silu(gate) * up of the producer path's gate_up output.
      Tensor gh = g.to(Device::kCpu), hh = h.to(Device::kCpu);
      Tensor ref_h = Tensor::empty(DType::kF32, {n, mc.inter});
      ops::silu_mul(gh, ref_h);
      const testing::Diff dh = testing::compare(hh, ref_h);
      ASSERT_TRUE(static_down || (dh.n_nan == 0 && dh.rel < 1e-6))
          << name << " h: " << testing::describe(dh, hh, ref_h);
      // The float64 formula from the CPU's norm: one FP8 step of an element moves y ~1e-3.
      Tensor xn = Tensor::empty(DType::kF32, {n, mc.hidden});
      ops::rms_norm(x, nw, 1e-5f, xn);
      Tensor act = Tensor::empty(DType::kF32, {n, mc.inter});
      ops::silu_mul(reference(gu, xn), act);
      Tensor want = reference(down, act);
      for (int64_t i = 0; i < want.numel(); ++i) want.data_as<float>()[i] += res.data_as<float>()[i];
      const testing::Diff dr = testing::compare(got, want);
      ASSERT_TRUE(dr.n_nan == 0 && dr.rel < 3e-2) << name << " vs formula: " << testing::describe(dr, got, want);
    }
  }
  // A weight-only FP8 down projection is not taken (the producer path runs).
  const LinearWeight gu = to_cuda(make_weight(cases[1].gu, 640, 192, rng));
  const LinearWeight st =
      to_cuda(make_weight({DType::kF8E4M3, ActQuant::kNone, true, false}, 192, 320, rng));
  Tensor x = testing::random_f32({1, 192}, rng).to(Device::kCuda);
  Tensor nwd = testing::random_f32({192}, rng, 0.5f, 1.5f).to(Device::kCuda);
  Tensor h = testing::poisoned_cuda({1, 320}), y = testing::poisoned_cuda({1, 192});
  EXPECT_FALSE(ops::cuda::mlp_from_f32(gu, st, x.data_as<float>(), nwd, 1e-5f, 1,
                                       h.data_as<float>(), y.data_as<float>()));
  ops::cuda::set_gemv_prologue(0);
  ops::cuda::set_gemv_bulk(0, 0);
}

// Prefill-sized batches (n >= 64: FP8 codes for the tensor cores, no shared-memory row cache,
// rows of Llama-8B width and wider, past the vectorized producers' 16384), both producer
// implementations; the gate_up GEMM may write BF16 (linear_act_bf16) for
// silu_mul_act_bf16. Each against the float64 formula on the CPU backend's activation.
TEST(FusedCuda, PrefillProducersAndBf16GateUp) {
  QINFER_SKIP_WITHOUT_CUDA();
  const uint32_t seed = testing::fresh_seed();
  std::mt19937 rng(seed);
  const std::vector<Case> cases = {{DType::kF8E4M3, ActQuant::kDynamicPerToken, true, false},
                                   {DType::kF8E4M3, ActQuant::kDynamicPerToken, false, false},
                                   {DType::kF8E4M3, ActQuant::kStaticPerTensor, true, false}};
  const std::vector<std::pair<int64_t, int64_t>> shapes = {{4096, 48}, {4112, 32}, {14336, 32},
                                                           {16400, 16}};
  for (int path : {1, 2}) {
  ops::cuda::set_producer_path(path);
  for (const Case& c : cases) {
    for (auto [n_in, n_out] : shapes) {
      for (int64_t n : {64, 131}) {
        const std::string name = case_name(c, n, n_in, n_out) + " producers=" +
                                 std::to_string(path) + " seed=" + std::to_string(seed);
        const LinearWeight w = make_weight(c, n_out, n_in, rng);
        const LinearWeight wd = to_cuda(w);
        DeviceAct a(wd, n);
        ASSERT_EQ(a.act.spec.layout, ops::cuda::ActLayout::kCodesU8) << name;
        // One FP8 code step of a computed element moves the output by ~1e-3 (see above); the
        // GEMM's accumulation adds fp8_accum_tol.
        const double tol_acc = fp8_accum_tol(n_in);
        const double tol_q = 5e-3 + tol_acc;
        auto check = [&](const Tensor& y, const Tensor& want, const char* what, double tol) {
          testing::Diff d = testing::compare(y, want);
          ASSERT_TRUE(d.n_nan == 0 && d.rel < tol)
              << name << " " << what << ": " << testing::describe(d, y, want);
        };
        // hid += add, rms_norm.
        Tensor x = testing::random_f32({n, n_in}, rng, -2.0f, 2.0f);
        Tensor add = testing::random_f32({n, n_in}, rng, -0.5f, 0.5f);
        Tensor nw = testing::random_f32({n_in}, rng, 0.5f, 1.5f);
        Tensor hid = x.to(Device::kCuda);
        Tensor add_d = add.to(Device::kCuda);
        ops::cuda::rms_norm_act(hid.data_as<float>(), add_d.data_as<float>(),
                                nw.to(Device::kCuda), 1e-5f, n, a.act);
        Tensor sum = x.to(Device::kCpu);
        for (int64_t i = 0; i < sum.numel(); ++i) sum.data_as<float>()[i] += add.data_as<float>()[i];
        Tensor xn = Tensor::empty(DType::kF32, {n, n_in});
        ops::rms_norm(sum, nw, 1e-5f, xn);
        Tensor yn = testing::poisoned_cuda({n, n_out});
        ops::cuda::linear_act(wd, a.act, yn.data_as<float>(), false);
        check(yn, reference(w, xn), "rms_norm_act", tol_q);
        // to_act.
        Tensor xd = x.to(Device::kCuda);
        ops::cuda::to_act(xd.data_as<float>(), n, a.act);
        Tensor yt = testing::poisoned_cuda({n, n_out});
        ops::cuda::linear_act(wd, a.act, yt.data_as<float>(), false);
        check(yt, reference(w, x), "to_act", 2e-3 + tol_acc);
        // silu(gate) * up from F32 and from BF16 (values rounded to BF16 on the host first, so
        // both sides see the same inputs).
        Tensor gu = testing::random_f32({n, 2 * n_in}, rng, -3.0f, 3.0f);
        for (int64_t i = 0; i < gu.numel(); ++i)
          gu.data_as<float>()[i] = bf16_to_f32(f32_to_bf16(gu.data_as<float>()[i]));
        Tensor act = Tensor::empty(DType::kF32, {n, n_in});
        ops::silu_mul(gu, act);
        const Tensor want = reference(w, act);
        Tensor gud = gu.to(Device::kCuda);
        ops::cuda::silu_mul_act(gud.data_as<float>(), n, n_in, a.act);
        Tensor ys = testing::poisoned_cuda({n, n_out});
        ops::cuda::linear_act(wd, a.act, ys.data_as<float>(), false);
        check(ys, want, "silu_mul_act", tol_q);
        Tensor gu_bf = Tensor::empty(DType::kBF16, {n, 2 * n_in});
        for (int64_t i = 0; i < gu.numel(); ++i)
          gu_bf.data_as<uint16_t>()[i] = f32_to_bf16(gu.data_as<float>()[i]);
        Tensor gu_bfd = gu_bf.to(Device::kCuda);
        ops::cuda::silu_mul_act_bf16(gu_bfd.data(), n, n_in, a.act);
        Tensor yb = testing::poisoned_cuda({n, n_out});
        ops::cuda::linear_act(wd, a.act, yb.data_as<float>(), false);
        check(yb, want, "silu_mul_act_bf16", tol_q);
        // The GEMM writing BF16: the formula rounded to BF16 (2^-9 relative), FP8 accumulation.
        Tensor y16 = Tensor::empty(DType::kBF16, {n, n_out}, Device::kCuda);
        if (ops::cuda::linear_act_bf16(wd, a.act, y16.data())) {
          Tensor got = y16.to(Device::kCpu).to_f32();
          check(got, want, "linear_act_bf16", 6e-3 + tol_acc);
        } else {
          std::printf("%s: linear_act_bf16 has no cuBLASLt kernel here (F32 route)\n",
                      name.c_str());
        }
      }
    }
  }
  }
  ops::cuda::set_producer_path(0);
}

// The BF16 residual stream (llama_cuda.cc's resid_bf16): embedding_rows_bf16 and
// gather_rows_bf16 copy BF16 rows exactly; rms_norm_act_bf16 writes the bytes rms_norm_act
// writes from the same values in F32 (both producer paths, codes and F32 rows); and
// linear_act_add_bf16 adds the FP8 GEMM into a BF16 y as the float64 formula rounded once to
// BF16 says, wherever linear_add_bf16_applies (at least the 8B's o and down at 512 rows).
TEST(FusedCuda, Bf16ResidualStream) {
  QINFER_SKIP_WITHOUT_CUDA();
  const uint32_t seed = testing::fresh_seed();
  std::mt19937 rng(seed);
  namespace cu = ops::cuda;
  const auto to_bf16 = [](const Tensor& f) {
    Tensor b = Tensor::empty(DType::kBF16, f.shape());
    for (int64_t i = 0; i < f.numel(); ++i)
      b.data_as<uint16_t>()[i] = f32_to_bf16(f.data_as<float>()[i]);
    return b;
  };
  // Embedding rows (ids out of range give NaN rows, as embedding_rows) and a gather.
  {
    const int64_t vocab = 50, d = 264, n = 13;
    Tensor table = to_bf16(testing::random_f32({vocab, d}, rng, -1.0f, 1.0f));
    std::vector<int32_t> ids(static_cast<size_t>(n), 0);
    for (int64_t i = 0; i < n; ++i) ids[size_t(i)] = int32_t((i * 7) % vocab);
    ids[3] = int32_t(vocab);  // out of range
    Tensor ids_d = Tensor::empty(DType::kI32, {n}, Device::kCuda);
    cu::copy_to_device_async(ids_d.data(), ids.data(), ids.size() * 4);
    Tensor rows = Tensor::empty(DType::kBF16, {n, d}, Device::kCuda);
    cu::embedding_rows_bf16(table.to(Device::kCuda), ids_d.data_as<int32_t>(), n, rows.data());
    const std::vector<int32_t> pick = {12, 0, 3, 7};
    Tensor pick_d = Tensor::empty(DType::kI32, {int64_t(pick.size())}, Device::kCuda);
    cu::copy_to_device_async(pick_d.data(), pick.data(), pick.size() * 4);
    Tensor sel = Tensor::empty(DType::kBF16, {int64_t(pick.size()), d}, Device::kCuda);
    cu::gather_rows_bf16(rows.data(), pick_d.data_as<int32_t>(), int64_t(pick.size()), d,
                         sel.data());
    Tensor got = rows.to(Device::kCpu), got_sel = sel.to(Device::kCpu);
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < d; ++j) {
        const uint16_t v = got.data_as<uint16_t>()[i * d + j];
        if (i == 3)
          ASSERT_TRUE(std::isnan(bf16_to_f32(v))) << "row " << i << " col " << j;
        else
          ASSERT_EQ(v, table.data_as<uint16_t>()[ids[size_t(i)] * d + j])
              << "row " << i << " col " << j << " seed=" << seed;
      }
    for (size_t r = 0; r < pick.size(); ++r)
      ASSERT_EQ(0, std::memcmp(got_sel.data_as<uint16_t>() + r * d,
                               got.data_as<uint16_t>() + pick[r] * d, size_t(d) * 2))
          << "gathered row " << r;
  }
  // The norm: same bytes as from F32 values, for FP8 codes (static, dynamic) and F32 rows (a
  // BF16 weight at n > 8), both producer paths.
  const std::vector<Case> cases = {{DType::kF8E4M3, ActQuant::kStaticPerTensor, true, false},
                                   {DType::kF8E4M3, ActQuant::kDynamicPerToken, true, false},
                                   {DType::kBF16, ActQuant::kNone, false, false}};
  for (int path : {1, 2}) {
    cu::set_producer_path(path);
    for (const Case& c : cases)
      for (int64_t n_in : {4096, 2048, 272})
        for (int64_t n : {9, 70}) {
          const std::string name = case_name(c, n, n_in, 16) + " producers=" +
                                   std::to_string(path) + " seed=" + std::to_string(seed);
          const LinearWeight wd = to_cuda(make_weight(c, 16, n_in, rng));
          Tensor h16 = to_bf16(testing::random_f32({n, n_in}, rng, -3.0f, 3.0f));
          Tensor h32 = h16.to_f32();
          Tensor nw = testing::random_f32({n_in}, rng, 0.5f, 1.5f).to(Device::kCuda);
          DeviceAct a16(wd, n), a32(wd, n);
          Tensor h16d = h16.to(Device::kCuda), h32d = h32.to(Device::kCuda);
          cu::rms_norm_act_bf16(h16d.data(), nw, 1e-5f, n, a16.act);
          cu::rms_norm_act(h32d.data_as<float>(), nullptr, nw, 1e-5f, n, a32.act);
          const Tensor d16 = a16.data.to(Device::kCpu), d32 = a32.data.to(Device::kCpu);
          const size_t bytes = cu::act_bytes(a16.act.spec, n) - 256;
          ASSERT_EQ(0, std::memcmp(d16.data(), d32.data(), bytes)) << name << " activation";
          if (c.wt == DType::kF8E4M3) {
            const Tensor s16 = a16.scale.to(Device::kCpu), s32 = a32.scale.to(Device::kCpu);
            ASSERT_EQ(0, std::memcmp(s16.data(), s32.data(), size_t(n) * 4)) << name << " scales";
          }
        }
  }
  cu::set_producer_path(0);
  // Where the default mode takes the BF16 add: the 8B's o and down at 512 rows (cuBLASLt's),
  // not at 64 rows (a CUTLASS tile's) nor at 8 (the GEMV's).
  const Case st{DType::kF8E4M3, ActQuant::kStaticPerTensor, true, false};
  for (int64_t n_in : {4096, 14336}) {
    const LinearWeight wd = to_cuda(make_weight(st, 4096, n_in, rng));
    EXPECT_TRUE(cu::linear_add_bf16_applies(wd, 512)) << n_in << " inputs at 512 rows";
    EXPECT_FALSE(cu::linear_add_bf16_applies(wd, 64)) << n_in << " inputs at 64 rows";
    EXPECT_FALSE(cu::linear_add_bf16_applies(wd, 8)) << n_in << " inputs at 8 rows";
    cu::set_resid_bf16_mode(0);
    EXPECT_FALSE(cu::linear_add_bf16_applies(wd, 512)) << "mode 0";
    cu::set_resid_bf16_mode(1);
  }
  // The add itself, on cuBLASLt at every shape (mode 2), against the float64 formula.
  cu::set_resid_bf16_mode(2);
  int applied = 0;
  for (const Case& c : {Case{DType::kF8E4M3, ActQuant::kStaticPerTensor, true, false},
                        Case{DType::kF8E4M3, ActQuant::kDynamicPerToken, false, false}})
    for (auto [n_in, n_out, n] : std::vector<std::tuple<int64_t, int64_t, int64_t>>{
             {2048, 128, 520}, {4096, 64, 300}, {576, 192, 77}, {256, 96, 9}}) {
      const std::string name = case_name(c, n, n_in, n_out) + " seed=" + std::to_string(seed);
      const LinearWeight w = make_weight(c, n_out, n_in, rng);
      const LinearWeight wd = to_cuda(w);
      const bool applies = cu::linear_add_bf16_applies(wd, n);
      DeviceAct a(wd, n);
      Tensor x = testing::random_f32({n, n_in}, rng, -2.0f, 2.0f);
      Tensor xd = x.to(Device::kCuda);
      cu::to_act(xd.data_as<float>(), n, a.act);
      Tensor y0 = to_bf16(testing::random_f32({n, n_out}, rng, -1.0f, 1.0f));
      Tensor yd = y0.to(Device::kCuda);
      if (!applies) {
        EXPECT_FALSE(cu::linear_act_add_bf16(wd, a.act, yd.data())) << name;
        continue;
      }
      ++applied;
      ASSERT_TRUE(cu::linear_act_add_bf16(wd, a.act, yd.data())) << name;
      double mag = 0.0;
      Tensor want = reference(w, x, &mag);
      const Tensor y0f = y0.to_f32();
      for (int64_t i = 0; i < want.numel(); ++i) want.data_as<float>()[i] += y0f.data_as<float>()[i];
      const Tensor got = yd.to(Device::kCpu).to_f32();
      // BF16's rounding (2^-9 of each output) over the GEMM's FP8 accumulation.
      const testing::Diff d = testing::compare(got, want);
      ASSERT_TRUE(d.n_nan == 0 && d.rel < 6e-3 + fp8_accum_tol(n_in))
          << name << ": " << testing::describe(d, got, want);
    }
  cu::set_resid_bf16_mode(1);
  EXPECT_GE(applied, 6) << "too few shapes took the BF16 add";
}

// The element-wise static producer (a static per-tensor input scale: codes need no row
// reduction, fused.cu's silu_mul_static_kernel, taken by the default producer path) writes
// the classic row producer's bytes: codes and row scales, F32 and BF16 gate_up, decode and
// prefill batch sizes, widths 48 to 14336; to_act's vectorized and classic paths likewise.
TEST(FusedCuda, StaticProducersMatchRowProducersBitForBit) {
  QINFER_SKIP_WITHOUT_CUDA();
  const uint32_t seed = testing::fresh_seed();
  std::mt19937 rng(seed);
  const Case c{DType::kF8E4M3, ActQuant::kStaticPerTensor, true, false};
  int compared = 0;
  for (int64_t n_in : {14336, 4096, 1040, 48}) {
    const LinearWeight wd = to_cuda(make_weight(c, 16, n_in, rng));
    for (int64_t n : {1, 3, 77, 256}) {
      // Codes are for the tensor cores (n_in a multiple of 16); small batches of weights the
      // GEMV does not take get F32 slots, which no element-wise producer writes.
      if (ops::cuda::act_spec(wd, n).layout != ops::cuda::ActLayout::kCodesU8) continue;
      ++compared;
      const std::string name =
          str_cat("n=", n, " n_in=", n_in, " scale=", wd.input_scale, " seed=", seed);
      Tensor x = testing::random_f32({n, n_in}, rng, -4.0f, 4.0f);
      Tensor gu = testing::random_f32({n, 2 * n_in}, rng, -6.0f, 6.0f);
      Tensor gu_bf = Tensor::empty(DType::kBF16, {n, 2 * n_in});
      for (int64_t i = 0; i < gu.numel(); ++i)
        gu_bf.data_as<uint16_t>()[i] = f32_to_bf16(gu.data_as<float>()[i]);
      Tensor xd = x.to(Device::kCuda), gud = gu.to(Device::kCuda), gbd = gu_bf.to(Device::kCuda);
      for (int what = 0; what < 3; ++what) {
        Tensor codes[2], scales[2];
        for (int path : {1, 2}) {
          ops::cuda::set_producer_path(path);
          DeviceAct a(wd, n);
          if (what == 0) ops::cuda::to_act(xd.data_as<float>(), n, a.act);
          if (what == 1) ops::cuda::silu_mul_act(gud.data_as<float>(), n, n_in, a.act);
          if (what == 2) ops::cuda::silu_mul_act_bf16(gbd.data(), n, n_in, a.act);
          codes[path - 1] = a.data.to(Device::kCpu);
          scales[path - 1] = a.scale.to(Device::kCpu);
        }
        const char* op = what == 0 ? "to_act" : what == 1 ? "silu_mul_act" : "silu_mul_act_bf16";
        const int64_t stride = ops::cuda::act_spec(wd, n).row_stride;
        for (int64_t r = 0; r < n; ++r) {
          ASSERT_EQ(scales[0].data_as<float>()[r], scales[1].data_as<float>()[r])
              << name << " " << op << " row " << r << " scale";
          ASSERT_EQ(0, std::memcmp(codes[0].data_as<uint8_t>() + r * stride,
                                   codes[1].data_as<uint8_t>() + r * stride, size_t(n_in)))
              << name << " " << op << " row " << r << " codes";
        }
      }
    }
  }
  EXPECT_GE(compared, 12) << "too few shapes took FP8 codes";
  ops::cuda::set_producer_path(0);
}

// linear_bf16_input (the runner's lm_head when logits only pick tokens): x rounded to BF16 and
// one GEMM. Against the float64 formula on the rounded x it is as close as the two-GEMM path is
// to the exact formula (fp32 accumulation only); against F32 x it differs by x's rounding
// (2^-9 relative per element), which the two-GEMM path does not. Not taken at n <= 8 or for
// other weight types.
// linear_act_greedy (the lm_head of a decode step): y bit for bit linear_act's, and each row's
// key the argmax of y as the GPU sampler takes it (the lowest id among equal logits; a row of
// NaN: token 0), for each weight format the slot GEMV reads, 1-8 rows and every split factor,
// over random weights (with a bias) and over weights and inputs of a few levels, whose exact
// integer sums tie at the maximum.
TEST(FusedCuda, GreedyLmHeadKeysAreTheArgmaxOfItsLogits) {
  QINFER_SKIP_WITHOUT_CUDA();
  const uint32_t seed = testing::fresh_seed();
  std::mt19937 rng(seed);
  const int64_t n_in = 256, n_out = 1003;
  const int64_t kKeyBytes = int64_t(ops::cuda::kGreedyKeyWords) * 8;
  std::uniform_int_distribution<int> level(-1, 1);
  int tied_rows = 0;
  for (DType wt : {DType::kBF16, DType::kF8E4M3, DType::kF32}) {
    for (bool ties : {false, true}) {
      LinearWeight w = make_weight({wt, ActQuant::kNone, false, !ties}, n_out, n_in, rng);
      if (ties) {
        for (int64_t i = 0; i < n_out * n_in; ++i) {
          const float v = float(level(rng));
          switch (wt) {
            case DType::kF8E4M3: w.weight.data_as<uint8_t>()[i] = f32_to_fp8e4m3(v); break;
            case DType::kBF16: w.weight.data_as<uint16_t>()[i] = f32_to_bf16(v); break;
            default: w.weight.data_as<float>()[i] = v; break;
          }
        }
      }
      for (int64_t n : {1, 2, 3, 5, 8}) {
        const std::string name = str_cat(dtype_name(wt), ties ? " levels" : " random", " n=", n,
                                         " seed=", seed);
        Tensor x = testing::random_f32({n, n_in}, rng, -2.0f, 2.0f);
        float* xp = x.data_as<float>();
        LinearWeight wn = w;
        if (ties) {
          for (int64_t i = 0; i < x.numel(); ++i) xp[i] = level(rng) == 0 ? 0.5f : float(level(rng));
          // Row 0's largest output copied to output 0 (or 1): a tie the lower id must win. The
          // sums are exact (small integers and halves), so the host finds the maximum exactly.
          wn.weight = w.weight.to(Device::kCpu);
          const Tensor wf = wn.weight.to_f32();
          int64_t best = 0;
          double best_v = -1e30;
          for (int64_t o = 0; o < n_out; ++o) {
            double v = 0;
            for (int64_t j = 0; j < n_in; ++j) v += double(wf.data_as<float>()[o * n_in + j]) * xp[j];
            if (v > best_v) best_v = v, best = o;
          }
          const int64_t copy = best == 0 ? 1 : 0;
          const size_t row = size_t(n_in) * dtype_size(wt);
          auto* base = static_cast<uint8_t*>(wn.weight.data());
          std::memcpy(base + size_t(copy) * row, base + size_t(best) * row, row);
        }
        if (n >= 3)
          for (int64_t j = 0; j < n_in; ++j) xp[2 * n_in + j] = std::nanf("");
        const LinearWeight wd = to_cuda(wn);
        Tensor xd = x.to(Device::kCuda);
        DeviceAct a(wd, n);
        ASSERT_EQ(a.act.spec.layout, ops::cuda::ActLayout::kSlotF32) << name;
        ops::cuda::to_act(xd.data_as<float>(), n, a.act);
        for (int split : {0, 1, 2, 4, 8}) {
          ops::cuda::set_gemv_split(split);
          Tensor want = testing::poisoned_cuda({n, n_out});
          ops::cuda::linear_act(wd, a.act, want.data_as<float>(), false);
          const Tensor want_h = want.to(Device::kCpu);
          Tensor keys = Tensor::empty(DType::kU8, {kKeyBytes});
          std::memset(keys.data(), 0, size_t(kKeyBytes));
          Tensor keys_d = keys.to(Device::kCuda);
          Tensor y = testing::poisoned_cuda({n, n_out});
          const bool done = ops::cuda::linear_act_greedy(
              wd, a.act, y.data_as<float>(), static_cast<unsigned long long*>(keys_d.data()));
          ops::cuda::set_gemv_split(0);
          ASSERT_TRUE(done) << name;
          const Tensor y_h = y.to(Device::kCpu);
          ASSERT_EQ(std::memcmp(y_h.data(), want_h.data(), size_t(n * n_out) * sizeof(float)), 0)
              << name << " split " << split << ": y differs from linear_act's";
          const Tensor k_h = keys_d.to(Device::kCpu);
          // Row t's key: the largest of its parts; rows past n untouched.
          auto key_of = [&](int64_t t) {
            uint64_t key = 0;
            for (int part = 0; part < ops::cuda::kGreedyParts; ++part) {
              uint64_t k = 0;
              std::memcpy(&k, k_h.data_as<uint8_t>() + ((t * ops::cuda::kGreedyParts + part) *
                                                        ops::cuda::kGreedyStride) * 8, 8);
              key = std::max(key, k);
            }
            return key;
          };
          for (int64_t t = 0; t < n; ++t) {
            const float* row = y_h.data_as<float>() + t * n_out;
            int64_t arg = -1, at_max = 0;
            for (int64_t o = 0; o < n_out; ++o) {
              if (std::isnan(row[o])) continue;
              if (arg < 0 || row[o] > row[arg]) arg = o, at_max = 0;
              if (row[o] == row[arg]) ++at_max;
            }
            if (split == 0 && at_max > 1) ++tied_rows;
            EXPECT_EQ(ops::sampling::greedy_token(key_of(t)), arg < 0 ? 0 : int32_t(arg))
                << name << " split " << split << " row " << t << " (" << at_max
                << " outputs at the maximum)";
          }
          for (int64_t t = n; t < ops::cuda::kMaxGreedyRows; ++t)
            EXPECT_EQ(key_of(t), 0u) << name << " split " << split << ": key " << t << " written";
        }
      }
    }
  }
  EXPECT_GE(tied_rows, 15) << "each level case ties at row 0's maximum (seed " << seed << ")";
  // Where the slot GEMV does not run (W8A8 codes for the tensor-core GEMV, more than 8 rows),
  // nothing is done.
  const LinearWeight w8 =
      to_cuda(make_weight({DType::kF8E4M3, ActQuant::kStaticPerTensor, false, false}, 256, 256,
                          rng));
  DeviceAct a8(w8, 1);
  if (a8.act.spec.layout != ops::cuda::ActLayout::kSlotF32) {
    Tensor y = testing::poisoned_cuda({1, 256});
    Tensor keys = Tensor::empty(DType::kU8, {kKeyBytes}, Device::kCuda);
    EXPECT_FALSE(ops::cuda::linear_act_greedy(w8, a8.act, y.data_as<float>(),
                                              static_cast<unsigned long long*>(keys.data())));
  }
}

TEST(LinearCuda, Bf16InputRoundsXAndRunsOneGemm) {
  QINFER_SKIP_WITHOUT_CUDA();
  const uint32_t seed = testing::fresh_seed();
  std::mt19937 rng(seed);
  for (bool bias : {false, true}) {
    for (auto [n, n_in, n_out] : std::vector<std::array<int64_t, 3>>{
             {9, 64, 48}, {32, 512, 1000}, {67, 4096, 160}, {256, 2048, 3000}}) {
      const std::string name = str_cat("n=", n, " n_in=", n_in, " n_out=", n_out,
                                       bias ? " +bias" : "", " seed=", seed);
      const LinearWeight w = make_weight({DType::kBF16, ActQuant::kNone, false, bias}, n_out,
                                         n_in, rng);
      Tensor x = testing::random_f32({n, n_in}, rng, -2.0f, 2.0f);
      Tensor xr = Tensor::empty(DType::kF32, {n, n_in});
      for (int64_t i = 0; i < x.numel(); ++i)
        xr.data_as<float>()[i] = bf16_to_f32(f32_to_bf16(x.data_as<float>()[i]));
      Tensor xd = x.to(Device::kCuda);
      Tensor y = testing::poisoned_cuda({n, n_out});
      ASSERT_TRUE(ops::cuda::linear_bf16_input(to_cuda(w), xd.data_as<float>(), n,
                                               y.data_as<float>()))
          << name;
      const testing::Diff d = testing::compare(y, reference(w, xr));
      EXPECT_TRUE(d.n_nan == 0 && d.rel < 1e-5)
          << name << " vs formula on BF16 x: " << testing::describe(d, y, reference(w, xr));
      const testing::Diff de = testing::compare(y, reference(w, x));
      EXPECT_TRUE(de.n_nan == 0 && de.rel > 1e-5 && de.rel < 1e-2)
          << name << " vs formula on F32 x (x's rounding expected): " << testing::describe(de, y,
                                                                                  reference(w, x));
    }
  }
  std::mt19937 r2(seed);
  Tensor x = testing::random_f32({8, 64}, r2).to(Device::kCuda);
  Tensor y = testing::poisoned_cuda({8, 48});
  const LinearWeight bf = to_cuda(make_weight({DType::kBF16, ActQuant::kNone, false, false}, 48, 64, r2));
  EXPECT_FALSE(ops::cuda::linear_bf16_input(bf, x.data_as<float>(), 8, y.data_as<float>()));
  const LinearWeight f8 = to_cuda(make_weight({DType::kF8E4M3, ActQuant::kDynamicPerToken, true, false}, 48, 64, r2));
  Tensor x9 = testing::random_f32({9, 64}, r2).to(Device::kCuda);
  Tensor y9 = testing::poisoned_cuda({9, 48});
  EXPECT_FALSE(ops::cuda::linear_bf16_input(f8, x9.data_as<float>(), 9, y9.data_as<float>()));
}

TEST(LinearCuda, RejectsUnsupportedActivationDtype) {
  QINFER_SKIP_WITHOUT_CUDA();
  std::mt19937 rng(1);
  LinearWeight w = to_cuda(make_weight({DType::kF8E4M3, ActQuant::kNone, false, false}, 16, 16, rng));
  Tensor x = Tensor::empty(DType::kI32, {1, 16}, Device::kCuda);
  Tensor y = Tensor::empty(DType::kF32, {1, 16}, Device::kCuda);
  EXPECT_THROW(ops::linear(w, x, y), Error);
}

// Each FP8 GEMM tile of our own (CUTLASS, Hopper) and the dispatching gemm_fp8_scaled against
// the float64 formula y (+ base) = x_scale[r] * w_scale[c] * sum_k x[r, k] w[c, k] over the
// decoded E4M3 codes, at odd row counts (partial tiles) and k loops of 4-32 tiles, writing and
// accumulating, under both accumulations (promoted, fast: fp8_accum_tol). At the down_proj's
// depth (14,336) the two must differ for every data-parallel tile and the dispatcher: the
// switch reaches the kernels. On a GPU without the tiles (or a build without CUTLASS) only
// the dispatcher runs.
#ifdef QINFER_HAVE_CUDA
TEST(LinearCuda, Fp8GemmTilesMatchFormula) {
  QINFER_SKIP_WITHOUT_CUDA();
  namespace cu = ops::cuda;
  const uint32_t seed = testing::fresh_seed();
  std::mt19937 rng(seed);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  std::uniform_real_distribution<float> us(0.25f, 2.0f);
  const int tiles = cu::fp8_gemm_tile_count();
  std::printf("FP8 GEMM tiles in this build: %d, seed %u\n", tiles, seed);
  for (auto [n, n_in, n_out] : std::vector<std::array<int64_t, 3>>{
           {9, 512, 48}, {67, 1024, 160}, {129, 4096, 272}, {300, 2048, 528}, {129, 14336, 64}}) {
    Tensor x = Tensor::empty(DType::kU8, {n, n_in}), w = Tensor::empty(DType::kU8, {n_out, n_in});
    for (int64_t i = 0; i < x.numel(); ++i) x.data_as<uint8_t>()[i] = f32_to_fp8e4m3(nd(rng));
    for (int64_t i = 0; i < w.numel(); ++i) w.data_as<uint8_t>()[i] = f32_to_fp8e4m3(nd(rng));
    Tensor xs = testing::random_f32({n}, rng, 0.25f, 2.0f);
    Tensor ws = testing::random_f32({n_out}, rng, 0.25f, 2.0f);
    Tensor base = testing::random_f32({n, n_out}, rng, -8.0f, 8.0f);
    Tensor want = Tensor::empty(DType::kF32, {n, n_out});
    for (int64_t r = 0; r < n; ++r)
      for (int64_t c = 0; c < n_out; ++c) {
        double acc = 0;
        for (int64_t k = 0; k < n_in; ++k)
          acc += double(fp8e4m3_to_f32(x.data_as<uint8_t>()[r * n_in + k])) *
                 double(fp8e4m3_to_f32(w.data_as<uint8_t>()[c * n_in + k]));
        want.data_as<float>()[r * n_out + c] =
            float(acc * xs.data_as<float>()[r] * ws.data_as<float>()[c]);
      }
    Tensor want_acc = Tensor::empty(DType::kF32, {n, n_out});
    for (int64_t i = 0; i < want.numel(); ++i)
      want_acc.data_as<float>()[i] = want.data_as<float>()[i] + base.data_as<float>()[i];
    Tensor xd = x.to(Device::kCuda), wd = w.to(Device::kCuda);
    Tensor xsd = xs.to(Device::kCuda), wsd = ws.to(Device::kCuda);
    const bool default_fast = cu::fp8_fast_accum();
    std::map<std::string, Tensor> by_mode[2];  // the F32 "=" outputs, per tile name
    for (bool fast : {false, true}) {
    cu::set_fp8_fast_accum(fast);
    const double tol = 2e-3 + fp8_accum_tol(n_in);
    for (bool accumulate : {false, true}) {
      const Tensor& expect = accumulate ? want_acc : want;
      // tile -1: the dispatcher (gemm_fp8_scaled), whatever it picks for these shapes.
      for (int t = -1; t < tiles; ++t) {
        const std::string name = str_cat("tile ", cu::fp8_gemm_tile_name(t), " n=", n, " n_in=",
                                         n_in, " n_out=", n_out, accumulate ? " +=" : " =",
                                         fast ? " fast" : " promoted", " seed=", seed);
        Tensor y = accumulate ? base.to(Device::kCuda) : testing::poisoned_cuda({n, n_out});
        bool ran;
        if (t < 0) {
          ran = cu::gemm_fp8_scaled(wd.data(), xd.data(), y.data_as<float>(), n, n_in, n_out,
                                    xsd.data_as<float>(), wsd.data_as<float>(), accumulate,
                                    cu::stream()) == cu::GemmResult::kDone;
        } else {
          ran = cu::gemm_fp8_run_tile(t, wd.data(), xd.data(), y.data_as<float>(), n, n_in,
                                      n_out, xsd.data_as<float>(), wsd.data_as<float>(),
                                      accumulate, cu::stream());
        }
        ASSERT_TRUE(ran) << name << ": did not run";
        const testing::Diff d = testing::compare(y, expect);
        // Hopper's FP8 accumulation is narrower than fp32 (as tolerance() says for cuBLASLt).
        EXPECT_TRUE(d.n_nan == 0 && d.rel < tol) << name << ": " << testing::describe(d, y, expect);
        if (!accumulate) by_mode[fast][cu::fp8_gemm_tile_name(t)] = y.to(Device::kCpu);
      }
    }
    // BF16 outputs (the prefill's gate_up): the data-parallel tiles and the dispatcher write
    // the formula rounded to BF16; the stream-K tiles decline them.
    for (int t = -1; t < tiles; ++t) {
      const std::string name = str_cat("tile ", cu::fp8_gemm_tile_name(t), " BF16 out n=", n,
                                       " n_in=", n_in, " n_out=", n_out,
                                       fast ? " fast" : " promoted", " seed=", seed);
      Tensor yb = Tensor::empty(DType::kBF16, {n, n_out}, Device::kCuda);
      bool ran;
      if (t < 0) {
        ran = cu::gemm_fp8_scaled(wd.data(), xd.data(), yb.data(), n, n_in, n_out,
                                  xsd.data_as<float>(), wsd.data_as<float>(), false,
                                  cu::stream(), DType::kBF16) == cu::GemmResult::kDone;
      } else {
        ran = cu::gemm_fp8_run_tile(t, wd.data(), xd.data(), yb.data(), n, n_in, n_out,
                                    xsd.data_as<float>(), wsd.data_as<float>(), false,
                                    cu::stream(), DType::kBF16);
      }
      const std::string tn = cu::fp8_gemm_tile_name(t);
      if (tn == "streamk" || tn == "split2") {
        EXPECT_FALSE(ran) << name;
        continue;
      }
      ASSERT_TRUE(ran) << name << ": did not run";
      const testing::Diff d = testing::compare(yb, want);
      EXPECT_TRUE(d.n_nan == 0 && d.rel < 5e-3 + fp8_accum_tol(n_in))
          << name << ": " << testing::describe(d, yb, want);
    }
    }  // fast
    cu::set_fp8_fast_accum(default_fast);
    if (n_in >= 14336) {
      for (const auto& [tile, promoted] : by_mode[0]) {
        if (tile == "streamk" || tile == "split2") continue;  // these always promote
        const testing::Diff d = testing::compare(by_mode[1].at(tile), promoted);
        EXPECT_GT(d.max_abs, 0.0) << "tile " << tile << " n_in=" << n_in
                                  << ": fast and promoted accumulation gave the same bits";
      }
    }
    // Shapes TMA cannot take (rows of n_in bytes not a multiple of 16) are declined untouched.
    for (int t = 0; t < tiles; ++t)
      EXPECT_FALSE(cu::gemm_fp8_run_tile(t, wd.data(), xd.data(), nullptr, n, n_in - 8, n_out,
                                         xsd.data_as<float>(), wsd.data_as<float>(), false,
                                         cu::stream()));
  }
}
#endif  // QINFER_HAVE_CUDA

}  // namespace
}  // namespace qinfer

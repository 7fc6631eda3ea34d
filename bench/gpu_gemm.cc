// FP8 W8A8 GEMM benchmark: cuBLASLt's outer-vector-scale algorithm against each of our CUTLASS
// tiles (ops::cuda::gemm_fp8_run_tile), on the Llama-3.1-8B layer shapes at the batch sizes the
// engine runs them (decode batches of 16-512 rows, prefill chunks of 1024-2048). o_proj and
// down_proj accumulate into the residual (y += ...), as the model runs them. Each cell is us
// per call (CUDA-graph replay, weights rotated so they never sit in L2) and its TFLOP/s as a
// ratio to the 8192^3 FP8 GEMM rate measured in the same run; every tile's output is checked
// against cuBLASLt's (max |diff| / max |y|). The "pick" column is what gemm_fp8_tile chooses.
// F32 outputs only (the BF16 output of the prefill's gate_up is checked by the op test).
// Accumulation as the engine's (ops::cuda::fp8_fast_accum, QINFER_CUDA_FP8_FAST_ACCUM): under
// fast accumulation cuBLASLt and the data-parallel tiles each carry a depth-dependent error
// (the stream-K tiles promote), so the check against cuBLASLt allows two of them.
//
//   gpu_gemm [--out FILE.json] [--n 256,512]
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "core/json.h"
#include "core/tensor.h"

#ifdef QINFER_HAVE_CUDA
#include "gpu_bench_data.h"
#include "ops/cuda/cuda_common.h"
#include "ops/cuda/cuda_ops.h"
#include "ops/cuda/event_timing.h"
#include "ops/cuda/linear_gemm.h"

namespace qinfer {
namespace {

namespace cu = ops::cuda;
using bench::random_device;

constexpr int kReps = 5;

std::vector<float> to_host(const Tensor& t) {
  std::vector<float> v(size_t(t.numel()));
  copy_bytes(v.data(), Device::kCpu, t.data(), Device::kCuda, t.nbytes());
  return v;
}

double fp8_peak_tflops() {
  const int64_t m = 8192;
  Tensor w = random_device(DType::kF8E4M3, m * m, 1), x = random_device(DType::kF8E4M3, m * m, 2);
  Tensor s = random_device(DType::kF32, m, 3);
  Tensor y = Tensor::empty(DType::kF32, {m * m}, Device::kCuda);
  const double ms = cu::time_ms([&] {
    cu::gemm_lt(DType::kF8E4M3, w.data(), x.data(), y.data_as<float>(), m, m, m,
                s.data_as<float>(), s.data_as<float>(), cu::stream());
  }, 10, kReps);
  return 2.0 * double(m) * m * m / (ms * 1e-3) / 1e12;
}

int run(const std::string& out_path, const std::vector<int64_t>& ns) {
  QINFER_CHECK(cu::available(), "gpu_gemm: no CUDA device");
  cudaDeviceProp prop{};
  QINFER_CUDA_CHECK(cudaGetDeviceProperties(&prop, 0));
  const double peak = fp8_peak_tflops();
  const int tiles = cu::fp8_gemm_tile_count();
  Json j;
  j["device"] = prop.name;
  j["fp8_gemm_8192_tflops"] = peak;
  const bool fast = cu::fp8_fast_accum();
  j["fp8_accumulation"] = fast ? "fast" : "promoted";
  std::printf("device %s | FP8 GEMM 8192^3 %.0f TFLOP/s | %d CUTLASS tiles | %s accumulation\n",
              prop.name, peak, tiles, fast ? "fast" : "promoted");
  std::printf("us per call (ratio of its TFLOP/s to the 8192^3 rate); err = max|diff| / max|y| "
              "against cuBLASLt\n");
  std::printf("%-13s %5s %15s", "linear", "n", "cuBLASLt");
  for (int t = 0; t < tiles; ++t) std::printf(" %15s", cu::fp8_gemm_tile_name(t));
  std::printf(" %8s %8s %8s %9s\n", "best", "x lt", "pick", "max err");
  for (const bench::LinearShape& l : bench::kLinears8B) {
    const size_t wbytes = size_t(l.n_out * l.n_in);
    const int copies = int(std::clamp<size_t>((size_t(256) << 20) / wbytes + 1, 1, 16));
    std::vector<Tensor> ws;
    for (int c = 0; c < copies; ++c)
      ws.push_back(random_device(DType::kF8E4M3, l.n_out * l.n_in, 100 + uint64_t(c)));
    const Tensor wscale = random_device(DType::kF32, l.n_out, 7);
    for (int64_t n : ns) {
      const Tensor x = random_device(DType::kF8E4M3, n * l.n_in, 11);
      const Tensor xscale = random_device(DType::kF32, n, 12);
      const Tensor base = random_device(DType::kF32, n * l.n_out, 13);
      Tensor y = Tensor::empty(DType::kF32, {n * l.n_out}, Device::kCuda);
      const double flop = 2.0 * double(n) * double(l.n_out) * double(l.n_in);
      // One call on y = base (accumulating) or on garbage, for the comparison.
      auto reference = [&](auto&& call) {
        copy_bytes(y.data(), Device::kCuda, base.data(), Device::kCuda, y.nbytes());
        const bool ok = call(0);
        cu::synchronize();
        return ok ? to_host(y) : std::vector<float>{};
      };
      auto lt = [&](int i) {
        return cu::gemm_lt(DType::kF8E4M3, ws[size_t(i) % ws.size()].data(), x.data(),
                           y.data_as<float>(), n, l.n_in, l.n_out, xscale.data_as<float>(),
                           wscale.data_as<float>(), cu::stream(),
                           l.accumulate) == cu::GemmResult::kDone;
      };
      const std::vector<float> ref = reference(lt);
      QINFER_CHECK(!ref.empty(), "gpu_gemm: cuBLASLt has no algorithm for ", l.name, " n=", n);
      float ref_max = 0;
      for (float v : ref) ref_max = std::max(ref_max, std::fabs(v));
      const double lt_ms = cu::time_graph_ms([&](int i) { lt(i); }, 20, kReps);
      Json r{{"linear", l.name}, {"n", n}, {"n_out", l.n_out}, {"n_in", l.n_in},
             {"accumulate", l.accumulate}, {"lt_us", lt_ms * 1e3},
             {"lt_ratio", flop / (lt_ms * 1e-3) / 1e12 / peak}};
      std::printf("%-13s %5lld %7.1f (%5.3f)", l.name, (long long)n, lt_ms * 1e3,
                  flop / (lt_ms * 1e-3) / 1e12 / peak);
      double best_ms = lt_ms;
      std::string best = "lt";
      double max_err = 0;
      for (int t = 0; t < tiles; ++t) {
        auto tile = [&](int i) {
          return cu::gemm_fp8_run_tile(t, ws[size_t(i) % ws.size()].data(), x.data(),
                                       y.data_as<float>(), n, l.n_in, l.n_out,
                                       xscale.data_as<float>(), wscale.data_as<float>(),
                                       l.accumulate, cu::stream());
        };
        const std::vector<float> out = reference(tile);
        if (out.empty()) {
          std::printf(" %15s", "-");
          continue;
        }
        double err = 0;
        for (size_t i = 0; i < out.size(); ++i)
          err = std::max(err, double(std::fabs(out[i] - ref[i])));
        err /= std::max(ref_max, 1e-30f);
        max_err = std::max(max_err, err);
        const double ms = cu::time_graph_ms([&](int i) { tile(i); }, 20, kReps);
        const double ratio = flop / (ms * 1e-3) / 1e12 / peak;
        std::printf(" %7.1f (%5.3f)", ms * 1e3, ratio);
        r[str_cat(cu::fp8_gemm_tile_name(t), "_us")] = ms * 1e3;
        r[str_cat(cu::fp8_gemm_tile_name(t), "_err")] = err;
        if (ms < best_ms) {
          best_ms = ms;
          best = cu::fp8_gemm_tile_name(t);
        }
      }
      const char* pick = cu::fp8_gemm_tile_name(cu::gemm_fp8_tile(n, l.n_in, l.n_out));
      std::printf(" %8s %8.3f %8s %9.2e\n", best.c_str(), lt_ms / best_ms, pick, max_err);
      r["best"] = best;
      r["best_speedup"] = lt_ms / best_ms;
      r["pick"] = pick;
      r["max_err"] = max_err;
      j["gemm"].push_back(r);
      // Promoted: ~1e-4 apart. Fast: each side up to ~n_in x 2^-20 of max |y| (cuda_ops.h).
      const double allowed = 1e-3 + (fast ? double(l.n_in) * std::ldexp(1.0, -19) : 0.0);
      QINFER_CHECK(max_err < allowed, "gpu_gemm: ", l.name, " n=", n,
                   ": a CUTLASS tile differs from cuBLASLt by ", max_err, " of max |y|");
    }
  }
  if (!out_path.empty()) write_json_file(out_path, j);
  return 0;
}

}  // namespace
}  // namespace qinfer
#endif

int main(int argc, char** argv) {
  std::string out;
  std::vector<int64_t> ns = {16, 32, 64, 128, 192, 256, 320, 384, 512, 1024, 2048};
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::string(argv[i]) == "--out") out = argv[i + 1];
    if (std::string(argv[i]) == "--n") {
      ns.clear();
      std::stringstream ss(argv[i + 1]);
      for (std::string v; std::getline(ss, v, ',');) ns.push_back(std::stoll(v));
    }
  }
#ifdef QINFER_HAVE_CUDA
  try {
    return qinfer::run(out, ns);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "gpu_gemm: %s\n", e.what());
    return 1;
  }
#else
  (void)out;
  std::printf("gpu_gemm: built without CUDA; nothing to measure\n");
  return 0;
#endif
}

// Kernel experiment: how much do the 8B layer GEMMs leave on the table by taking cuBLASLt's
// first heuristic answer (ops/cuda/linear_gemm.cc make_plan asks for one algorithm)? For each
// layer GEMM as the engine runs it (FP8 TN, outer-vector scales, fast accumulation, F32 output
// with y += for o / down, BF16 output for gate_up) at decode and prefill batch sizes, this asks
// the heuristic for up to 16 algorithms, times each (median of 5 x 20 calls, weights rotated
// over copies larger than L2) and prints the first's time, the best's and its rank, as ratios
// to the 8192^3 FP8 rate measured in the same run. Check: every algorithm's output against the
// first's (max |diff| / max |y|, fast accumulation allows a few FP8 ulps).
//
//   lt_algos [--n 512,2048] [--out FILE.json]
#include <cublasLt.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "../gpu_bench_data.h"
#include "core/json.h"
#include "core/tensor.h"
#include "ops/cuda/cuda_common.h"
#include "ops/cuda/event_timing.h"

namespace qinfer {
namespace {

namespace cu = ops::cuda;

constexpr int kReps = 5;

using bench::random_device;

// A layer GEMM as the engine runs it (bench::kLinears8B); gate_up writes BF16, as in a
// prefill (linear_act_bf16).
struct Shape {
  const char* name;
  int64_t m, k;  // n_out, n_in
  bool accumulate, bf16_out;
};
Shape engine_shape(const bench::LinearShape& l) {
  return {l.name, l.n_out, l.n_in, l.accumulate, std::strcmp(l.name, "gate_up_proj") == 0};
}

struct Lt {
  cublasLtMatmulDesc_t desc = nullptr;
  cublasLtMatrixLayout_t a = nullptr, b = nullptr, d = nullptr;
  ~Lt() {
    if (desc) cublasLtMatmulDescDestroy(desc);
    if (a) cublasLtMatrixLayoutDestroy(a);
    if (b) cublasLtMatrixLayoutDestroy(b);
    if (d) cublasLtMatrixLayoutDestroy(d);
  }
};

// The engine's descriptor (linear_gemm.cc make_plan) with the scale pointers set.
void make_desc(Lt& lt, const Shape& s, int64_t n, const float* ws, const float* xs) {
  QINFER_CUBLAS_CHECK(cublasLtMatmulDescCreate(&lt.desc, CUBLAS_COMPUTE_32F, CUDA_R_32F));
  cublasOperation_t opT = CUBLAS_OP_T, opN = CUBLAS_OP_N;
  QINFER_CUBLAS_CHECK(
      cublasLtMatmulDescSetAttribute(lt.desc, CUBLASLT_MATMUL_DESC_TRANSA, &opT, sizeof(opT)));
  QINFER_CUBLAS_CHECK(
      cublasLtMatmulDescSetAttribute(lt.desc, CUBLASLT_MATMUL_DESC_TRANSB, &opN, sizeof(opN)));
  int8_t fast = 1;
  QINFER_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(lt.desc, CUBLASLT_MATMUL_DESC_FAST_ACCUM,
                                                     &fast, sizeof(fast)));
  int32_t mode = CUBLASLT_MATMUL_MATRIX_SCALE_OUTER_VEC_32F;
  QINFER_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(lt.desc, CUBLASLT_MATMUL_DESC_A_SCALE_MODE,
                                                     &mode, sizeof(mode)));
  QINFER_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(lt.desc, CUBLASLT_MATMUL_DESC_B_SCALE_MODE,
                                                     &mode, sizeof(mode)));
  QINFER_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(lt.desc, CUBLASLT_MATMUL_DESC_A_SCALE_POINTER,
                                                     &ws, sizeof(ws)));
  QINFER_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(lt.desc, CUBLASLT_MATMUL_DESC_B_SCALE_POINTER,
                                                     &xs, sizeof(xs)));
  QINFER_CUBLAS_CHECK(
      cublasLtMatrixLayoutCreate(&lt.a, CUDA_R_8F_E4M3, uint64_t(s.k), uint64_t(s.m), s.k));
  QINFER_CUBLAS_CHECK(
      cublasLtMatrixLayoutCreate(&lt.b, CUDA_R_8F_E4M3, uint64_t(s.k), uint64_t(n), s.k));
  QINFER_CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&lt.d, s.bf16_out ? CUDA_R_16BF : CUDA_R_32F,
                                                 uint64_t(s.m), uint64_t(n), s.m));
}

// Up to kMaxAlgos of the heuristic's algorithms for lt, best first; returns how many.
constexpr int kMaxAlgos = 16;
int heuristics(const Lt& lt, int count, cublasLtMatmulHeuristicResult_t (&r)[kMaxAlgos]) {
  cublasLtMatmulPreference_t pref;
  QINFER_CUBLAS_CHECK(cublasLtMatmulPreferenceCreate(&pref));
  size_t wsb = cu::kGemmWorkspaceBytes;
  QINFER_CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(
      pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &wsb, sizeof(wsb)));
  int found = 0;
  const cublasStatus_t st = cublasLtMatmulAlgoGetHeuristic(
      cu::cublaslt(), lt.desc, lt.a, lt.b, lt.d, lt.d, pref, std::min(count, kMaxAlgos), r, &found);
  cublasLtMatmulPreferenceDestroy(pref);
  QINFER_CUBLAS_CHECK(st);
  return found;
}

// The output as floats.
std::vector<float> read_out(const Tensor& y, int64_t count, bool bf16) {
  std::vector<float> f(count);
  if (bf16) {
    std::vector<uint16_t> h(count);
    QINFER_CUDA_CHECK(cudaMemcpy(h.data(), y.data(), count * 2, cudaMemcpyDeviceToHost));
    for (int64_t i = 0; i < count; ++i) {
      const uint32_t u = uint32_t(h[i]) << 16;
      std::memcpy(&f[i], &u, 4);
    }
  } else {
    QINFER_CUDA_CHECK(cudaMemcpy(f.data(), y.data(), count * 4, cudaMemcpyDeviceToHost));
  }
  return f;
}

int run(int argc, char** argv) {
  std::vector<int64_t> ns = {512, 2048};
  std::string out;
  for (int i = 1; i < argc; ++i) {
    const std::string f = argv[i];
    if (f == "--out" && i + 1 < argc) {
      out = argv[++i];
    } else if (f == "--n" && i + 1 < argc) {
      ns.clear();
      std::stringstream ss(argv[++i]);
      for (std::string t; std::getline(ss, t, ',');) ns.push_back(std::stoll(t));
    } else {
      throw Error("lt_algos: unknown argument '" + f + "' (--n LIST --out FILE)");
    }
  }
  cu::ensure_init();
  cudaStream_t st = cu::stream();
  const int64_t kBig = 8192;
  // The 8192^3 FP8 rate with the heuristic's first algorithm, as gpu_gemm measures it.
  double peak = 0;
  {
    const Shape big{"8192^3", kBig, kBig, false, false};
    Tensor w = random_device(DType::kF8E4M3, kBig * kBig, 1);
    Tensor x = random_device(DType::kF8E4M3, kBig * kBig, 2);
    Tensor sc = random_device(DType::kF32, kBig, 3);
    Tensor y = Tensor::empty(DType::kF32, {kBig * kBig}, Device::kCuda);
    Lt lt;
    make_desc(lt, big, kBig, sc.data_as<float>(), sc.data_as<float>());
    cublasLtMatmulHeuristicResult_t r[kMaxAlgos];
    QINFER_CHECK(heuristics(lt, 1, r) == 1,
                 "lt_algos: no cuBLASLt algorithm for the 8192^3 FP8 GEMM");
    const float alpha = 1, beta = 0;
    const double ms = cu::time_ms(
        [&] {
          QINFER_CUBLAS_CHECK(cublasLtMatmul(
              cu::cublaslt(), lt.desc, &alpha, w.data(), lt.a, x.data(), lt.b, &beta, y.data(),
              lt.d, y.data(), lt.d, &r[0].algo, cu::gemm_workspace(), cu::kGemmWorkspaceBytes, st));
        },
        5, 5);
    peak = 2.0 * kBig * kBig * kBig / (ms * 1e-3) / 1e12;
  }
  std::printf("8192^3 FP8 (fast accumulation): %.0f TFLOP/s\n\n", peak);
  std::printf("%-13s %6s %6s | %9s %6s | %9s %6s %5s | %7s %9s\n", "gemm", "rows", "algos",
              "first us", "ratio", "best us", "ratio", "rank", "gain", "max diff");
  Json res = Json::object();
  res["peak_tflops"] = peak;
  Json rows = Json::array();
  uint64_t seed = 10;
  for (const bench::LinearShape& l : bench::kLinears8B) {
    const Shape s = engine_shape(l);
    // Weight copies past L2 (50 MB), rotated call by call.
    const int copies = int(std::max<int64_t>(2, (128ll << 20) / (s.m * s.k) + 1));
    std::vector<Tensor> w;
    for (int c = 0; c < copies; ++c) w.push_back(random_device(DType::kF8E4M3, s.m * s.k, ++seed));
    Tensor ws = random_device(DType::kF32, s.m, ++seed);
    for (int64_t n : ns) {
      Tensor x = random_device(DType::kF8E4M3, n * s.k, ++seed);
      Tensor xs = random_device(DType::kF32, n, ++seed);
      Tensor y = Tensor::empty(DType::kU8, {n * s.m * 4}, Device::kCuda);
      Lt lt;
      make_desc(lt, s, n, ws.data_as<float>(), xs.data_as<float>());
      cublasLtMatmulHeuristicResult_t r[kMaxAlgos];
      const int found = heuristics(lt, kMaxAlgos, r);
      const float alpha = 1, beta = s.accumulate ? 1.0f : 0.0f;
      std::vector<double> us(found);
      std::vector<float> ref;
      double max_diff = 0;
      for (int a = 0; a < found; ++a) {
        const auto call = [&](int i) {
          // y += each call for o / down: values grow, but the time does not depend on them.
          QINFER_CUBLAS_CHECK(cublasLtMatmul(cu::cublaslt(), lt.desc, &alpha, w[i % copies].data(),
                                             lt.a, x.data(), lt.b, &beta, y.data(), lt.d, y.data(),
                                             lt.d, &r[a].algo, cu::gemm_workspace(),
                                             cu::kGemmWorkspaceBytes, st));
        };
        // Check: one call from a zeroed y (with w[0]) against the first algorithm's.
        QINFER_CUDA_CHECK(cudaMemsetAsync(y.data(), 0, n * s.m * 4, st));
        call(0);
        QINFER_CUDA_CHECK(cudaStreamSynchronize(st));
        std::vector<float> got = read_out(y, n * s.m, s.bf16_out);
        if (a == 0) {
          ref = got;
        } else {
          float mx = 0, d = 0;
          for (size_t i = 0; i < got.size(); ++i) {
            mx = std::max(mx, std::fabs(ref[i]));
            d = std::max(d, std::fabs(got[i] - ref[i]));
          }
          max_diff = std::max(max_diff, double(d / std::max(mx, 1e-30f)));
        }
        us[a] = cu::time_ms(call, 20, kReps) * 1e3;
      }
      if (found == 0) continue;
      const int best = int(std::min_element(us.begin(), us.end()) - us.begin());
      const double flops = 2.0 * double(n) * s.m * s.k;
      const auto ratio = [&](double t) { return flops / (t * 1e-6) / 1e12 / peak; };
      std::printf("%-13s %6lld %6d | %9.1f %6.3f | %9.1f %6.3f %5d | %6.1f%% %9.2e\n", s.name,
                  (long long)n, found, us[0], ratio(us[0]), us[best], ratio(us[best]), best,
                  100.0 * (us[0] / us[best] - 1.0), max_diff);
      rows.push_back({{"gemm", s.name},
                      {"rows", n},
                      {"algos", found},
                      {"first_us", us[0]},
                      {"best_us", us[best]},
                      {"best_rank", best},
                      {"all_us", us},
                      {"ratio_first", ratio(us[0])},
                      {"ratio_best", ratio(us[best])},
                      {"max_rel_diff", max_diff}});
    }
  }
  res["rows"] = rows;
  if (!out.empty()) write_json_file(out, res);
  return 0;
}

}  // namespace
}  // namespace qinfer

int main(int argc, char** argv) {
  try {
    return qinfer::run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "lt_algos: %s\n", e.what());
    return 1;
  }
}

#include "ops/cuda/linear_gemm.h"

#include <map>
#include <memory>
#include <tuple>

#include "ops/cuda/cuda_common.h"

namespace qinfer::ops::cuda {
namespace {

cudaDataType_t cuda_type(DType t) {
  switch (t) {
    case DType::kF8E4M3: return CUDA_R_8F_E4M3;
    case DType::kBF16: return CUDA_R_16BF;
    case DType::kF16: return CUDA_R_16F;
    case DType::kF32: return CUDA_R_32F;
    default: QINFER_FAIL("gemm: unsupported dtype ", dtype_name(t), " on cuda");
  }
}

// RAII owners of cuBLASLt descriptors.
struct MatmulDesc {
  cublasLtMatmulDesc_t d = nullptr;
  ~MatmulDesc() {
    if (d) cublasLtMatmulDescDestroy(d);
  }
};
struct Layout {
  cublasLtMatrixLayout_t l = nullptr;
  ~Layout() {
    if (l) cublasLtMatrixLayoutDestroy(l);
  }
};
struct Preference {
  cublasLtMatmulPreference_t p = nullptr;
  ~Preference() {
    if (p) cublasLtMatmulPreferenceDestroy(p);
  }
};

// A planned GEMM: descriptors plus the heuristic's algorithm, cached per shape because the
// heuristic query costs more than a decode-sized GEMM.
struct Plan {
  MatmulDesc desc;
  Layout a, b, d;
  cublasLtMatmulAlgo_t algo{};
  bool ok = false;
};

using PlanKey = std::tuple<int, int64_t, int64_t, int64_t, bool, int>;
std::map<PlanKey, std::unique_ptr<Plan>> g_plans;

// cuBLASLt is column-major: D (m × n) = op(A) (m × k) · B (k × n) with m = n_out, k = n_in,
// n = tokens. The row-major weight (n_out, n_in) is the column-major k × m matrix A with
// op = T; the row-major x (n, n_in) is the column-major k × n matrix B; D (m × n) column-major
// is the row-major y (n, n_out). FP8 on Hopper requires exactly this "TN" form.
std::unique_ptr<Plan> make_plan(DType ab, int64_t n, int64_t k, int64_t m, bool vec_scales,
                                DType y_dtype) {
  auto plan = std::make_unique<Plan>();
  const cudaDataType_t t = cuda_type(ab);
  cublasComputeType_t compute = CUBLAS_COMPUTE_32F;
  QINFER_CUBLAS_CHECK(cublasLtMatmulDescCreate(&plan->desc.d, compute, CUDA_R_32F));
  cublasOperation_t opT = CUBLAS_OP_T, opN = CUBLAS_OP_N;
  QINFER_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(plan->desc.d, CUBLASLT_MATMUL_DESC_TRANSA,
                                                     &opT, sizeof(opT)));
  QINFER_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(plan->desc.d, CUBLASLT_MATMUL_DESC_TRANSB,
                                                     &opN, sizeof(opN)));
  if (vec_scales) {
    int32_t mode = CUBLASLT_MATMUL_MATRIX_SCALE_OUTER_VEC_32F;
    if (cublasLtMatmulDescSetAttribute(plan->desc.d, CUBLASLT_MATMUL_DESC_A_SCALE_MODE, &mode,
                                       sizeof(mode)) != CUBLAS_STATUS_SUCCESS ||
        cublasLtMatmulDescSetAttribute(plan->desc.d, CUBLASLT_MATMUL_DESC_B_SCALE_MODE, &mode,
                                       sizeof(mode)) != CUBLAS_STATUS_SUCCESS)
      return plan;  // not ok: the caller falls back
    // Scale pointers must be set for the heuristic to see the mode; the real pointers
    // are set per call.
    const void* dummy = gemm_workspace();
    QINFER_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(
        plan->desc.d, CUBLASLT_MATMUL_DESC_A_SCALE_POINTER, &dummy, sizeof(dummy)));
    QINFER_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(
        plan->desc.d, CUBLASLT_MATMUL_DESC_B_SCALE_POINTER, &dummy, sizeof(dummy)));
  }
  QINFER_CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&plan->a.l, t, uint64_t(k), uint64_t(m), k));
  QINFER_CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&plan->b.l, t, uint64_t(k), uint64_t(n), k));
  QINFER_CUBLAS_CHECK(
      cublasLtMatrixLayoutCreate(&plan->d.l, cuda_type(y_dtype), uint64_t(m), uint64_t(n), m));
  Preference pref;
  QINFER_CUBLAS_CHECK(cublasLtMatmulPreferenceCreate(&pref.p));
  size_t ws = kGemmWorkspaceBytes;
  QINFER_CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(
      pref.p, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws, sizeof(ws)));
  cublasLtMatmulHeuristicResult_t res{};
  int found = 0;
  cublasStatus_t st = cublasLtMatmulAlgoGetHeuristic(cublaslt(), plan->desc.d, plan->a.l,
                                                     plan->b.l, plan->d.l, plan->d.l, pref.p, 1,
                                                     &res, &found);
  if (st == CUBLAS_STATUS_SUCCESS && found > 0) {
    plan->algo = res.algo;
    plan->ok = true;
  }
  return plan;
}

Plan* get_plan(DType ab, int64_t n, int64_t k, int64_t m, bool vec_scales,
               DType y_dtype = DType::kF32) {
  PlanKey key{int(ab), n, k, m, vec_scales, int(y_dtype)};
  auto it = g_plans.find(key);
  if (it == g_plans.end())
    it = g_plans.emplace(key, make_plan(ab, n, k, m, vec_scales, y_dtype)).first;
  return it->second.get();
}

bool aligned16(const void* p) { return reinterpret_cast<uintptr_t>(p) % 16 == 0; }

}  // namespace

bool gemm_lt_supported(DType ab, int64_t n, int64_t n_in, int64_t n_out, const void* w,
                       const void* x, const void* y) {
  if (n == 0 || n_in == 0 || n_out == 0) return false;
  if (!aligned16(w) || !aligned16(x) || !aligned16(y)) return false;
  if (ab == DType::kF8E4M3) {
    // FP8 tensor cores: compute capability 8.9+, all dimensions multiples of 16.
    return compute_capability() >= 89 && n_in % 16 == 0 && n_out % 16 == 0;
  }
  return n_in % 8 == 0 && n_out % 4 == 0;
}

bool gemm_lt_scales_inside(int64_t n, int64_t n_in, int64_t n_out) {
  return get_plan(DType::kF8E4M3, n, n_in, n_out, true)->ok;
}

GemmResult gemm_lt(DType ab, const void* w, const void* x, void* y, int64_t n, int64_t n_in,
                   int64_t n_out, const float* x_scale, const float* w_scale, cudaStream_t stream,
                   bool accumulate, DType y_dtype) {
  const bool want_scales = ab == DType::kF8E4M3 && x_scale != nullptr && w_scale != nullptr;
  if (y_dtype != DType::kF32) {
    // Narrow outputs only where the scales are applied inside (no F32 epilogue after).
    QINFER_CHECK(y_dtype == DType::kBF16 && want_scales && !accumulate,
                 "gemm_lt: a ", dtype_name(y_dtype), " output needs an FP8 GEMM with scales");
    Plan* plan = get_plan(ab, n, n_in, n_out, true, y_dtype);
    if (!plan->ok) return GemmResult::kNoAlgorithm;
    QINFER_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(
        plan->desc.d, CUBLASLT_MATMUL_DESC_A_SCALE_POINTER, &w_scale, sizeof(w_scale)));
    QINFER_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(
        plan->desc.d, CUBLASLT_MATMUL_DESC_B_SCALE_POINTER, &x_scale, sizeof(x_scale)));
    const float alpha = 1.0f, beta = 0.0f;
    QINFER_CUBLAS_CHECK(cublasLtMatmul(cublaslt(), plan->desc.d, &alpha, w, plan->a.l, x,
                                       plan->b.l, &beta, y, plan->d.l, y, plan->d.l, &plan->algo,
                                       gemm_workspace(), kGemmWorkspaceBytes, stream));
    return GemmResult::kDone;
  }
  Plan* plan = get_plan(ab, n, n_in, n_out, want_scales);
  bool scaled = want_scales;
  if (!plan->ok && want_scales) {
    plan = get_plan(ab, n, n_in, n_out, false);
    scaled = false;
  }
  if (!plan->ok) return GemmResult::kNoAlgorithm;
  if (scaled) {
    QINFER_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(
        plan->desc.d, CUBLASLT_MATMUL_DESC_A_SCALE_POINTER, &w_scale, sizeof(w_scale)));
    QINFER_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(
        plan->desc.d, CUBLASLT_MATMUL_DESC_B_SCALE_POINTER, &x_scale, sizeof(x_scale)));
  }
  const float alpha = 1.0f, beta = accumulate ? 1.0f : 0.0f;
  QINFER_CUBLAS_CHECK(cublasLtMatmul(cublaslt(), plan->desc.d, &alpha, w, plan->a.l, x,
                                     plan->b.l, &beta, y, plan->d.l, y, plan->d.l, &plan->algo,
                                     gemm_workspace(), kGemmWorkspaceBytes, stream));
  return scaled || !want_scales ? GemmResult::kDone : GemmResult::kUnscaled;
}

}  // namespace qinfer::ops::cuda

#include "ops/cuda/linear_gemm.h"

#include <atomic>
#include <climits>
#include <cstdlib>
#include <iterator>
#include <map>
#include <memory>
#include <string>
#include <tuple>

#include "core/env.h"
#include "ops/cuda/cuda_common.h"
#include "ops/cuda/cuda_ops.h"
#include "ops/cuda/sm90/gemm_fp8_sm90.h"  // declarations only; defined with CUTLASS

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

// fp8_fast_accum's state: -1 not read yet (QINFER_CUDA_FP8_FAST_ACCUM, default 1), else 0 / 1.
std::atomic<int> g_fast_accum{-1};

// (dtype, n, k, m, vec_scales, y dtype, fast accumulation)
using PlanKey = std::tuple<int, int64_t, int64_t, int64_t, bool, int, bool>;
std::map<PlanKey, std::unique_ptr<Plan>> g_plans;

// cuBLASLt is column-major: D (m × n) = op(A) (m × k) · B (k × n) with m = n_out, k = n_in,
// n = tokens. The row-major weight (n_out, n_in) is the column-major k × m matrix A with
// op = T; the row-major x (n, n_in) is the column-major k × n matrix B; D (m × n) column-major
// is the row-major y (n, n_out). FP8 on Hopper requires exactly this "TN" form.
// fast: FP8 with cuBLASLt's FAST_ACCUM (fp8_fast_accum), where the heuristic offers it.
std::unique_ptr<Plan> make_plan(DType ab, int64_t n, int64_t k, int64_t m, bool vec_scales,
                                DType y_dtype, bool fast) {
  auto plan = std::make_unique<Plan>();
  const cudaDataType_t t = cuda_type(ab);
  cublasComputeType_t compute = CUBLAS_COMPUTE_32F;
  QINFER_CUBLAS_CHECK(cublasLtMatmulDescCreate(&plan->desc.d, compute, CUDA_R_32F));
  cublasOperation_t opT = CUBLAS_OP_T, opN = CUBLAS_OP_N;
  QINFER_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(plan->desc.d, CUBLASLT_MATMUL_DESC_TRANSA,
                                                     &opT, sizeof(opT)));
  QINFER_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(plan->desc.d, CUBLASLT_MATMUL_DESC_TRANSB,
                                                     &opN, sizeof(opN)));
  const auto set_fast_accum = [&](int8_t on) {
    QINFER_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(
        plan->desc.d, CUBLASLT_MATMUL_DESC_FAST_ACCUM, &on, sizeof(on)));
  };
  if (fast) set_fast_accum(1);
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
  if ((st != CUBLAS_STATUS_SUCCESS || found == 0) && fast) {
    // No fast-accumulating algorithm for these scales: the default accumulation then.
    set_fast_accum(0);
    st = cublasLtMatmulAlgoGetHeuristic(cublaslt(), plan->desc.d, plan->a.l, plan->b.l,
                                        plan->d.l, plan->d.l, pref.p, 1, &res, &found);
  }
  if (st == CUBLAS_STATUS_SUCCESS && found > 0) {
    plan->algo = res.algo;
    plan->ok = true;
  }
  return plan;
}

Plan* get_plan(DType ab, int64_t n, int64_t k, int64_t m, bool vec_scales,
               DType y_dtype = DType::kF32) {
  const bool fast = ab == DType::kF8E4M3 && fp8_fast_accum();
  PlanKey key{int(ab), n, k, m, vec_scales, int(y_dtype), fast};
  auto it = g_plans.find(key);
  if (it == g_plans.end())
    it = g_plans.emplace(key, make_plan(ab, n, k, m, vec_scales, y_dtype, fast)).first;
  return it->second.get();
}

bool aligned16(const void* p) { return reinterpret_cast<uintptr_t>(p) % 16 == 0; }

}  // namespace

bool fp8_fast_accum() {
  int f = g_fast_accum.load(std::memory_order_relaxed);
  if (f < 0) {
    f = env_int("QINFER_CUDA_FP8_FAST_ACCUM", 1) != 0 ? 1 : 0;
    g_fast_accum.store(f, std::memory_order_relaxed);
  }
  return f != 0;
}

void set_fp8_fast_accum(bool fast) { g_fast_accum.store(fast ? 1 : 0); }

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

bool gemm_fp8_add_bf16_applies(int64_t n, int64_t n_in, int64_t n_out, const void* w,
                               bool over_tiles) {
  // Only where cuBLASLt runs anyway (unless over_tiles): the CUTLASS tiles have no BF16
  // accumulating epilogue.
  return aligned16(w) && compute_capability() >= 89 && n_in % 16 == 0 && n_out % 16 == 0 &&
         (over_tiles || gemm_fp8_tile(n, n_in, n_out) < 0) &&
         get_plan(DType::kF8E4M3, n, n_in, n_out, true, DType::kBF16)->ok;
}

GemmResult gemm_lt(DType ab, const void* w, const void* x, void* y, int64_t n, int64_t n_in,
                   int64_t n_out, const float* x_scale, const float* w_scale, cudaStream_t stream,
                   bool accumulate, DType y_dtype) {
  const bool want_scales = ab == DType::kF8E4M3 && x_scale != nullptr && w_scale != nullptr;
  if (y_dtype != DType::kF32) {
    // Narrow outputs only where the scales are applied inside (no F32 epilogue after).
    QINFER_CHECK(y_dtype == DType::kBF16 && want_scales,
                 "gemm_lt: a ", dtype_name(y_dtype), " output needs an FP8 GEMM with scales");
    Plan* plan = get_plan(ab, n, n_in, n_out, true, y_dtype);
    if (!plan->ok) return GemmResult::kNoAlgorithm;
    QINFER_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(
        plan->desc.d, CUBLASLT_MATMUL_DESC_A_SCALE_POINTER, &w_scale, sizeof(w_scale)));
    QINFER_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(
        plan->desc.d, CUBLASLT_MATMUL_DESC_B_SCALE_POINTER, &x_scale, sizeof(x_scale)));
    const float alpha = 1.0f, beta = accumulate ? 1.0f : 0.0f;
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

namespace {

// Fp8GemmTile's names, in its order.
constexpr const char* kTileNames[] = {"128x128", "64x128",  "128x64", "streamk",
                                      "split2",  "128x224", "128x192"};
static_assert(std::size(kTileNames) == kFp8GemmTiles);

#ifdef QINFER_HAVE_CUTLASS_SM90
constexpr int kTiles = kFp8GemmTiles;
#else
constexpr int kTiles = 0;
#endif

// QINFER_CUDA_FP8_GEMM: tile -2 = the measured choice, -1 = cuBLASLt, else a forced tile,
// for batches of at most max_n rows ("TILE:MAX_N"; cuBLASLt above).
struct Forced {
  int tile = -2;
  int64_t max_n = INT64_MAX;
};

const Forced& forced_tile() {
  static const Forced f = [] {
    Forced r;
    const char* v = std::getenv("QINFER_CUDA_FP8_GEMM");
    if (v == nullptr || *v == 0 || std::string(v) == "auto") return r;
    std::string name = v;
    if (const size_t colon = name.find(':'); colon != std::string::npos) {
      r.max_n = std::atoll(name.c_str() + colon + 1);
      name.resize(colon);
    }
    if (name == "lt") {
      r.tile = -1;
      return r;
    }
    for (int i = 0; i < kTiles; ++i)
      if (name == kTileNames[i]) {
        r.tile = i;
        return r;
      }
    std::string known = kTiles ? " one of" : " (none in this build: no CUTLASS)";
    for (int i = 0; i < kTiles; ++i) known += std::string(i ? ", " : " ") + kTileNames[i];
    QINFER_FAIL("QINFER_CUDA_FP8_GEMM=", v, ": expected auto, lt or TILE[:MAX_ROWS] with TILE",
                known);
  }();
  return f;
}

}  // namespace

const char* fp8_gemm_tile_name(int tile) {
  return tile >= 0 && tile < kTiles ? kTileNames[tile] : "lt";
}
int fp8_gemm_tile_count() { return kTiles; }

int gemm_fp8_tile(int64_t n, int64_t n_in, int64_t n_out) {
  if (kTiles == 0 || compute_capability() != 90) return -1;
  const Forced& forced = forced_tile();
  if (forced.tile != -2) return n <= forced.max_n ? forced.tile : -1;
  (void)n_in;  // every tile is 128 deep in k: the k loop does not change the choice
  // A wave model fitted to bench/gpu_gemm's measurements on the H100 (PERFORMANCE.md): a
  // GEMM takes waves x (tile area) x (the tile's cost per element), the 64-wide tiles costing
  // 1.15x cuBLASLt's 128 x 128 per element (more operand bytes per MAC). A narrow tile runs
  // only when the model has it 25 % faster, which holds for batches of up to 64 rows, and for
  // the 4096-wide projections up to ~256 (cuBLASLt's 128 x 128 tiles fill a wave only halfway).
  // The margins below (25 %, 5 %) leave near-ties to cuBLASLt.
  struct Candidate {
    int tile;
    int64_t tm, tn;
    double per_element;
  };
  const auto cost = [&](const Candidate& c) {
    const int64_t tiles = (n + c.tm - 1) / c.tm * ((n_out + c.tn - 1) / c.tn);
    const int64_t waves = (tiles + sm_count() - 1) / sm_count();
    return double(waves) * double(c.tm * c.tn) * c.per_element;
  };
  const Candidate lt{-1, 128, 128, 1.0};
  const Candidate wide{int(Fp8GemmTile::k64x128), 64, 128, 1.15};
  const Candidate tall{int(Fp8GemmTile::k128x64), 128, 64, 1.15};
  // Equal cost: the tile that pads fewer rows (128 x 64 when n fills its 128-row tiles).
  const bool tall_pads_less = (n + 127) / 128 * 128 <= (n + 63) / 64 * 64;
  const double c_wide = cost(wide), c_tall = cost(tall);
  const Candidate& narrow =
      c_tall < c_wide || (c_tall == c_wide && tall_pads_less) ? tall : wide;
  if (cost(narrow) <= 0.75 * cost(lt)) return narrow.tile;
  // The 128 x 224 tile fills the last wave differently; it runs where the model has it 5 %
  // faster. Under promoted accumulation it costs 0.92x per element (fewer operand bytes per
  // MAC: the 28672-wide gate_up from 128 rows on, 1.05-1.2x measured; qkv at 384-512 rows).
  // Fast accumulation speeds cuBLASLt's kernel up more than this tile's (gate_up at 2048 rows:
  // 342 against 384 us, 1.12x; at 256 rows a tie, 1.14x by the model's areas;
  // bench/results/gpu_run_s31.cmd q2), so there it costs 1.13x and gate_up stays on cuBLASLt.
  const double price224 = fp8_fast_accum() ? 1.13 : 0.92;
  const Candidate wide224{int(Fp8GemmTile::k128x224), 128, 224, price224};
  // The 128 x 192 tile, priced as the 128 x 224 one: a 6144-wide qkv at 257-512 rows is 128
  // of them, one wave, where cuBLASLt runs two of 128 x 128 and the 224-wide tile 112. H100
  // (bench/results/gpu_run_s37.cmd q1): qkv at 384 / 512 rows 21.4 / 23.8 us against
  // cuBLASLt's 24.3 / 25.1 (224: 23.5 / 24.5); 8B offline 512 x 1000/1000 +0.3 %
  // (QINFER_CUDA_TILE192=0 leaves it out, for A/B runs).
  static const bool use192 = env_switch("QINFER_CUDA_TILE192", 1) != 0;
  const Candidate wide192{int(Fp8GemmTile::k128x192), 128, 192, price224};
  const Candidate& big = use192 && cost(wide192) < cost(wide224) ? wide192 : wide224;
  return cost(big) <= 0.95 * cost(lt) ? big.tile : -1;
}

bool gemm_fp8_run_tile(int tile, const void* w, const void* x, void* y, int64_t n, int64_t n_in,
                       int64_t n_out, const float* x_scale, const float* w_scale, bool accumulate,
                       cudaStream_t stream, DType y_dtype) {
  QINFER_CHECK(y_dtype == DType::kF32 || (y_dtype == DType::kBF16 && !accumulate),
               "gemm_fp8: a ", dtype_name(y_dtype), " output", accumulate ? " accumulating" : "",
               " is not supported");
  if (tile < 0 || tile >= kTiles || compute_capability() != 90 ||
      !gemm_lt_supported(DType::kF8E4M3, n, n_in, n_out, w, x, y))
    return false;
#ifdef QINFER_HAVE_CUTLASS_SM90
  const Fp8GemmArgs a{.w = w, .x = x, .y = y, .n = n, .n_in = n_in, .n_out = n_out,
                      .x_scale = x_scale, .w_scale = w_scale, .accumulate = accumulate,
                      .bf16_out = y_dtype == DType::kBF16, .workspace = gemm_workspace(),
                      .workspace_bytes = kGemmWorkspaceBytes, .pdl = pdl_enabled(),
                      .fast_accum = fp8_fast_accum()};
  return gemm_fp8_sm90_run(Fp8GemmTile(tile), a, stream);
#else
  (void)x_scale, (void)w_scale, (void)accumulate, (void)stream;
  return false;
#endif
}

GemmResult gemm_fp8_scaled(const void* w, const void* x, void* y, int64_t n, int64_t n_in,
                           int64_t n_out, const float* x_scale, const float* w_scale,
                           bool accumulate, cudaStream_t stream, DType y_dtype) {
  if (!gemm_lt_supported(DType::kF8E4M3, n, n_in, n_out, w, x, y)) return GemmResult::kNoAlgorithm;
  if (const int tile = gemm_fp8_tile(n, n_in, n_out);
      tile >= 0 && gemm_fp8_run_tile(tile, w, x, y, n, n_in, n_out, x_scale, w_scale, accumulate,
                                     stream, y_dtype))
    return GemmResult::kDone;
  if (accumulate && !gemm_lt_scales_inside(n, n_in, n_out)) return GemmResult::kNoAlgorithm;
  return gemm_lt(DType::kF8E4M3, w, x, y, n, n_in, n_out, x_scale, w_scale, stream, accumulate,
                 y_dtype);
}

}  // namespace qinfer::ops::cuda

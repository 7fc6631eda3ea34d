// GPU attention benchmark (src/ops/cuda/attention_cuda.h) at Llama-3.1-8B dims (32 query
// heads, 8 KV heads, head_dim 128, blocks of 16), per cache dtype:
//   prefill: one sequence of 2048 new tokens, one layer: rope_kv_write, as GB/s of the bytes it
//            must move (read the qkv rows, write back q and k, write K/V to the cache) and a
//            ratio to a device-to-device copy measured in the same run; then attention_prefill,
//            as TFLOP/s of the causal attention (4 n_head head_dim Σ_i (i + 1) FLOPs) and as a
//            ratio to a large BF16 cuBLASLt GEMM measured in the same run;
//   decode:  attention_decode (CUDA cores) and, for BF16 / FP8 caches, attention_decode_tc
//            (tensor cores) side by side at batch 1 / 32 (contexts 1024 / 8192), 128 (1024 /
//            1500 / 8192), 256 (1024 / 1500) and 512 (1500: the 8B offline batch), replayed
//            from a CUDA graph, as GB/s of K/V read
//            and a ratio to a device-to-device copy measured in the same run;
//   decode_rope: attention_decode_rope (RoPE + cache write + decode, the model's graph path)
//            at batch 1 and 4, contexts 128 / 512 / 2048 / 8192, with the split count and
//            caller-owned partials the model's graph for that context would have (capacity
//            pow2(max(blocks, 16)) x 16 positions), replayed from a CUDA graph, in us per call
//            under both decode paths of set_attention_latency_path (classic | latency), so
//            one run is the A/B of QINFER_CUDA_ATTN_LATENCY. Back-to-back calls overlap
//            through PDL as the model's layers do (the latency path's pre-wait reads hide
//            behind the previous call); QINFER_CUDA_PDL=0 times them serialized.
// Prints a table; --out FILE writes the numbers as JSON (decode rows carry the tensor-core
// kernel's numbers as tc_* fields).
//
// --case CACHE:BATCHxCTX (repeatable, e.g. F8_E4M3:256x1500) limits the decode table to those
// rows, and --tc-only to the tensor-core kernel (one launch to aim a profiler at).
//
//   gpu_attention [--out FILE.json] [--prefill-only | --decode-only | --rope-only]
//                 [--case CACHE:BATCHxCTX ...] [--tc-only]
#include <algorithm>
#include <cstdio>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "core/json.h"
#include "core/tensor.h"
#include "ops/cuda/cuda_ops.h"

#ifdef QINFER_HAVE_CUDA
#include "gpu_bench_data.h"
#include "ops/cuda/event_timing.h"
#include "ops/cuda/attention_cuda.h"
#include "ops/cuda/attention_decode_tc.h"
#include "ops/cuda/cuda_common.h"

namespace qinfer {
namespace {

namespace cu = ops::cuda;
using bench::Batch;
using bench::kBlock;
using bench::kDims;
using bench::kHead;
using bench::kHeadDim;
using bench::kHeadKv;
using bench::make_batch;
using ops::cuda::time_graph_ms;
using ops::cuda::time_ms;

// Repetitions of each timing (the median is reported).
constexpr int kReps = 7;

// Prefill: 2048 tokens, one layer.
void run_prefill(Json& j, double hbm, double bf16_peak) {
  const int n = 2048;
  const double flops = 4.0 * kHead * kHeadDim * (double(n) * (n + 1) / 2);
  std::printf("\nprefill, 1 sequence x %d tokens, 1 layer (%.1f GFLOP causal)\n", n, flops / 1e9);
  std::printf("%-8s %12s %10s %8s %14s %10s %8s %18s\n", "cache", "rope_kv us", "rope GB/s",
              "ratio", "attention us", "TFLOP/s", "ratio", "32 layers attn ms");
  for (DType dt : {DType::kBF16, DType::kF8E4M3, DType::kF32}) {
    Batch B = make_batch(1, 0, n, dt);
    const double rope_ms = time_ms(
        [&] {
          cu::rope_kv_write(B.qkv.data_as<float>(), B.b, kDims, B.inv_freq.data_as<float>(), B.kv,
                            cu::stream());
        },
        20, kReps);
    const double attn_ms = time_ms(
        [&] {
          cu::attention_prefill(B.qkv.data_as<float>(), B.b, kDims, B.kv, B.out.data_as<float>(),
                                cu::stream());
        },
        20, kReps);
    const double tf = flops / (attn_ms * 1e-3) / 1e12;
    // rope_kv_write's bytes: the qkv rows read, the q and k heads written back, K and V stored.
    const double rope_bytes =
        double(n) * kHeadDim *
        (4.0 * (kHead + 2 * kHeadKv) + 4.0 * (kHead + kHeadKv) + 2.0 * kHeadKv * dtype_size(dt));
    const double rope_gbs = rope_bytes / (rope_ms * 1e-3) / 1e9;
    const std::string name(dtype_name(dt));
    std::printf("%-8s %12.1f %10.0f %8.3f %14.1f %10.1f %8.3f %18.2f\n", name.c_str(),
                rope_ms * 1e3, rope_gbs, rope_gbs / hbm, attn_ms * 1e3, tf, tf / bf16_peak,
                32 * (attn_ms + rope_ms));
    j["prefill"].push_back({{"cache", name},
                            {"tokens", n},
                            {"rope_kv_ms", rope_ms},
                            {"rope_kv_gbs", rope_gbs},
                            {"rope_kv_ratio_to_hbm_copy", rope_gbs / hbm},
                            {"attention_ms", attn_ms},
                            {"tflops", tf},
                            {"ratio_to_bf16_gemm", tf / bf16_peak},
                            {"layers32_ms", 32 * (attn_ms + rope_ms)}});
  }
}

// --case / --tc-only (main).
std::vector<std::string> g_cases;
bool g_tc_only = false;

bool case_wanted(const std::string& cache, int batch, int ctx) {
  if (g_cases.empty()) return true;
  const std::string key = cache + ":" + std::to_string(batch) + "x" + std::to_string(ctx);
  return std::find(g_cases.begin(), g_cases.end(), key) != g_cases.end();
}

// Decode: one new token per sequence, both kernels on the same batch.
void run_decode(Json& j, double hbm) {
  std::printf(
      "\ndecode (CUDA-graph replay of 20 calls; planned splits): CUDA cores | tensor cores\n");
  std::printf("%-8s %6s %6s | %6s %9s %8s %6s | %6s %9s %8s %6s %7s\n", "cache", "batch", "ctx",
              "splits", "us/call", "KV GB/s", "ratio", "splits", "us/call", "KV GB/s", "ratio",
              "speedup");
  const std::pair<int, int> cases[] = {{1, 1024},   {1, 8192},   {32, 1024},
                                       {32, 8192},  {128, 1024}, {128, 1500},
                                       {128, 8192}, {256, 1024}, {256, 1500},
                                       {512, 1500}};
  for (DType dt : {DType::kBF16, DType::kF8E4M3, DType::kF32}) {
    for (auto [batch, ctx] : cases) {
      const std::string name(dtype_name(dt));
      if (!case_wanted(name, batch, ctx)) continue;
      Batch B = make_batch(batch, ctx - 1, 1, dt);
      const double bytes = double(batch) * ctx * kHeadKv * kHeadDim * 2 * double(dtype_size(dt));
      // --tc-only: the CUDA-core kernel is not run (its columns print "-", its fields are left
      // out, and so is the speedup).
      Json row = {{"cache", name}, {"batch", batch}, {"ctx", ctx}};
      double ms = 0.0;
      if (g_tc_only) {
        std::printf("%-8s %6d %6d | %6s %9s %8s %6s |", name.c_str(), batch, ctx, "-", "-", "-",
                    "-");
      } else {
        ms = time_graph_ms(
            [&] {
              cu::attention_decode(B.qkv.data_as<float>(), B.b, kDims, B.kv,
                                   B.out.data_as<float>(), cu::stream());
            },
            20, kReps);
        const int splits = cu::attention_decode_splits(batch, ctx, kDims);
        const double gbs = bytes / (ms * 1e-3) / 1e9;
        row["splits"] = splits;
        row["ms"] = ms;
        row["kv_gbs"] = gbs;
        row["ratio_to_hbm_copy"] = gbs / hbm;
        std::printf("%-8s %6d %6d | %6d %9.1f %8.0f %6.3f |", name.c_str(), batch, ctx, splits,
                    ms * 1e3, gbs, gbs / hbm);
      }
      if (cu::attention_decode_tc_supported(kDims, B.kv)) {
        const double tc_ms = time_graph_ms(
            [&] {
              cu::attention_decode_tc(B.qkv.data_as<float>(), B.b, kDims, B.kv,
                                      B.out.data_as<float>(), cu::stream());
            },
            20, kReps);
        const int tc_splits = cu::attention_decode_tc_splits(batch, ctx, kDims);
        const double tc_gbs = bytes / (tc_ms * 1e-3) / 1e9;
        std::printf(" %6d %9.1f %8.0f %6.3f", tc_splits, tc_ms * 1e3, tc_gbs, tc_gbs / hbm);
        if (g_tc_only)
          std::printf(" %7s\n", "-");
        else
          std::printf(" %7.2f\n", ms / tc_ms);
        row["tc_splits"] = tc_splits;
        row["tc_ms"] = tc_ms;
        row["tc_kv_gbs"] = tc_gbs;
        row["tc_ratio_to_hbm_copy"] = tc_gbs / hbm;
        if (!g_tc_only) row["tc_speedup"] = ms / tc_ms;
      } else {
        std::printf(" %6s\n", "-");
      }
      j["decode"].push_back(row);
    }
  }
  std::printf(
      "\n(the replaced F32 kernel, bench/results/gpu_kernels_h100_final.json: batch 1 ctx "
      "1024 20.7 us, ctx 8192 59.7 us, batch 32 ctx 1024 163.4 us)\n");
}

// Microseconds per attention_decode_rope call on B at the split count the model's graph for
// this context would plan under `path` (set_attention_latency_path), with caller-owned
// partials as the graph has. Returns (splits, us).
std::pair<int, double> time_decode_rope(Batch& B, int path) {
  cu::set_attention_latency_path(path);
  const int blocks = B.b.max_blocks;
  int width = 16;
  while (width < blocks) width *= 2;
  cu::AttnBatch b = B.b;
  b.n_split = cu::attention_decode_splits(b.n_tok, width * kBlock, kDims);
  const size_t bytes =
      std::max<size_t>(cu::attention_decode_scratch_bytes(b.n_tok, kDims, b.n_split), 16);
  void* partials = cu::device_alloc(bytes);
  cu::attention_decode_scratch_init(partials, b.n_tok, kDims, b.n_split, cu::stream());
  b.partials = static_cast<float*>(partials);
  const double ms = time_graph_ms(
      [&] {
        cu::attention_decode_rope(B.qkv.data_as<float>(), b, kDims, B.inv_freq.data_as<float>(),
                                  B.kv, B.out.data_as<float>(), cu::stream());
      },
      20, kReps);
  cu::synchronize();
  cu::device_free(partials, bytes);
  cu::set_attention_latency_path(0);
  return {b.n_split, ms * 1e3};
}

// The fused decode path (RoPE + cache write + attention), classic against latency kernels.
void run_decode_rope(Json& j) {
  std::printf(
      "\ndecode_rope (attention_decode_rope, CUDA-graph replay of 20 calls; the graph's splits):"
      " classic | latency\n");
  std::printf("%-8s %6s %6s | %6s %9s | %6s %9s | %7s\n", "cache", "batch", "ctx", "splits",
              "us/call", "splits", "us/call", "speedup");
  for (DType dt : {DType::kBF16, DType::kF8E4M3, DType::kF32})
    for (int batch : {1, 4})
      for (int ctx : {128, 512, 2048, 8192}) {
        Batch B = make_batch(batch, ctx - 1, 1, dt);
        const auto [c_splits, c_us] = time_decode_rope(B, 1);
        const auto [l_splits, l_us] = time_decode_rope(B, 2);
        const std::string name(dtype_name(dt));
        std::printf("%-8s %6d %6d | %6d %9.1f | %6d %9.1f | %7.2f\n", name.c_str(), batch, ctx,
                    c_splits, c_us, l_splits, l_us, c_us / l_us);
        j["decode_rope"].push_back({{"cache", name},
                                    {"batch", batch},
                                    {"ctx", ctx},
                                    {"classic_splits", c_splits},
                                    {"classic_us", c_us},
                                    {"latency_splits", l_splits},
                                    {"latency_us", l_us},
                                    {"speedup", c_us / l_us}});
      }
  std::printf(
      "(latency = decode_cluster_kernel where the GPU has clusters and the batch is small; "
      "classic otherwise, then both columns match)\n");
}

int run(const std::string& out_path, bool prefill_only, bool decode_only, bool rope_only) {
  QINFER_CHECK(cu::available(), "gpu_attention: no CUDA device");
  Json j;
  j["device"] = cu::gpu_name();
  const double hbm = cu::measure_copy_bandwidth_gbs(size_t(1) << 30);
  const double bf16_peak = cu::measure_gemm_tflops(8192, false);
  j["hbm_copy_gbs"] = hbm;
  j["bf16_gemm_8192_tflops"] = bf16_peak;
  std::printf("device %s | HBM copy %.0f GB/s | BF16 GEMM 8192^3 %.0f TFLOP/s\n",
              cu::gpu_name().c_str(), hbm, bf16_peak);

  if (!decode_only && !rope_only) run_prefill(j, hbm, bf16_peak);
  if (!prefill_only && !rope_only) run_decode(j, hbm);
  if (!prefill_only && g_cases.empty()) run_decode_rope(j);
  if (!out_path.empty()) write_json_file(out_path, j);
  return 0;
}

}  // namespace
}  // namespace qinfer
#endif

int main(int argc, char** argv) {
  std::string out;
  bool prefill_only = false, decode_only = false, rope_only = false;
  for (int i = 1; i < argc; ++i) {
    if (std::string(argv[i]) == "--out" && i + 1 < argc) out = argv[i + 1];
    if (std::string(argv[i]) == "--prefill-only") prefill_only = true;
    if (std::string(argv[i]) == "--decode-only") decode_only = true;
    if (std::string(argv[i]) == "--rope-only") rope_only = true;
#ifdef QINFER_HAVE_CUDA
    if (std::string(argv[i]) == "--case" && i + 1 < argc) qinfer::g_cases.push_back(argv[i + 1]);
    if (std::string(argv[i]) == "--tc-only") qinfer::g_tc_only = true;
#endif
  }
#ifdef QINFER_HAVE_CUDA
  try {
    return qinfer::run(out, prefill_only, decode_only, rope_only);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "gpu_attention: %s\n", e.what());
    return 1;
  }
#else
  (void)out;
  (void)prefill_only;
  (void)decode_only;
  (void)rope_only;
  std::printf("gpu_attention: built without CUDA; nothing to measure\n");
  return 0;
#endif
}

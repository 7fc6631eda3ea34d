// GPU kernel benchmark: the two ceilings measured in the same run (HBM bandwidth from a
// device-to-device copy; FP8 and BF16 tensor-core rates from large cuBLASLt GEMMs), then the
// Llama-3.1-8B-shaped linear layers through ops::linear (decode GEMV at n = 1..8 as a ratio
// to HBM bandwidth, prefill GEMM at n = 2048 as a ratio to the FP8 rate), paged attention for
// decode, and a decode step modeled as the sum of the measured kernels.
//
//   gpu_kernels [--out FILE.json]
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "core/json.h"
#include "core/tensor.h"
#include "ops/attention.h"
#include "ops/cuda/cuda_ops.h"
#include "ops/cuda/fused_ops.h"
#include "ops/linear.h"

#ifdef QINFER_HAVE_CUDA
#include "ops/cuda/event_timing.h"
#include "ops/cuda/cuda_common.h"
#include "ops/cuda/linear_gemm.h"

namespace qinfer {
namespace {

namespace cu = ops::cuda;
using ops::cuda::time_graph_ms;
using ops::cuda::time_ms;

// Repetitions of each timing (the median is reported).
constexpr int kReps = 5;

// Random bytes that decode to finite FP8 / BF16 values (never zeros: they run faster).
std::vector<uint8_t> g_host;
void init_host(size_t bytes) {
  std::mt19937_64 rng(42);
  g_host.resize(bytes);
  for (size_t i = 0; i < bytes; i += 8) {
    uint64_t v = rng();
    std::memcpy(&g_host[i], &v, std::min<size_t>(8, bytes - i));
  }
}

Tensor random_device(DType dt, Shape shape) {
  Tensor t = Tensor::empty(dt, shape, Device::kCuda);
  const size_t n = t.nbytes();
  std::vector<uint8_t> buf(std::min(n, g_host.size()));
  for (size_t off = 0; off < n; off += buf.size()) {
    const size_t len = std::min(buf.size(), n - off);
    std::memcpy(buf.data(), g_host.data(), len);
    if (dt == DType::kF8E4M3) {
      for (size_t i = 0; i < len; ++i) buf[i] &= 0xB7;  // |v| <= 2^(6-7)*1.875: finite
    } else if (dt == DType::kBF16) {
      for (size_t i = 1; i < len; i += 2) buf[i] = uint8_t((buf[i] & 0x80) | 0x3C | (buf[i] & 1));
    } else if (dt == DType::kF32) {
      for (size_t i = 3; i < len; i += 4) buf[i] = uint8_t((buf[i] & 0x80) | 0x3E);
    }
    copy_bytes(static_cast<char*>(t.data()) + off, Device::kCuda, buf.data(), Device::kCpu, len);
  }
  return t;
}

double hbm_bandwidth_gbs() {
  const size_t bytes = size_t(1) << 30;
  Tensor a = random_device(DType::kU8, {int64_t(bytes)});
  Tensor b = Tensor::empty(DType::kU8, {int64_t(bytes)}, Device::kCuda);
  double ms = time_ms([&](int) {
    QINFER_CUDA_CHECK(cudaMemcpyAsync(b.data(), a.data(), bytes, cudaMemcpyDeviceToDevice,
                                      cu::stream()));
  }, 10, kReps);
  return 2.0 * double(bytes) / (ms * 1e-3) / 1e9;  // read + write
}

double gemm_tflops(DType dt, int64_t m) {
  Tensor w = random_device(dt, {m, m});
  Tensor x = random_device(dt, {m, m});
  Tensor y = Tensor::empty(DType::kF32, {m, m}, Device::kCuda);
  Tensor s = random_device(DType::kF32, {m});
  const bool fp8 = dt == DType::kF8E4M3;
  double ms = time_ms([&](int) {
    cu::gemm_lt(dt, w.data(), x.data(), y.data_as<float>(), m, m, m,
                fp8 ? s.data_as<float>() : nullptr, fp8 ? s.data_as<float>() : nullptr,
                cu::stream());
  }, 10, kReps);
  return 2.0 * double(m) * m * m / (ms * 1e-3) / 1e12;
}

struct Shape8B {
  const char* name;
  int64_t n_out, n_in;
};
const Shape8B kLinears[] = {{"qkv_proj", 6144, 4096},
                            {"o_proj", 4096, 4096},
                            {"gate_up_proj", 28672, 4096},
                            {"down_proj", 4096, 14336},
                            {"lm_head", 128256, 4096}};

ops::LinearWeight make_linear(DType dt, int64_t n_out, int64_t n_in) {
  ops::LinearWeight w;
  w.name = "bench";
  w.n_out = n_out;
  w.n_in = n_in;
  w.weight = random_device(dt, {n_out, n_in});
  if (dt == DType::kF8E4M3) {
    w.weight_scale = random_device(DType::kF32, {n_out});
    w.act_quant = ops::ActQuant::kDynamicPerToken;
  }
  return w;
}

// ms per call of ops::linear with n rows, rotating over enough weight copies that the
// weights never sit in L2 (50 MB on H100) between calls.
// fast = true: the model's CUDA path, linear_act over an activation already produced in the
// form act_spec asks for (the slot-layout GEMV for n <= 8; its producer is a separate kernel).
double linear_ms(DType dt, const Shape8B& s, int64_t n, bool fast = false) {
  const size_t bytes = size_t(s.n_out * s.n_in) * dtype_size(dt);
  const int copies = int(std::clamp<size_t>((size_t(200) << 20) / bytes + 1, 1, 8));
  std::vector<ops::LinearWeight> ws;
  for (int i = 0; i < copies; ++i) ws.push_back(make_linear(dt, s.n_out, s.n_in));
  Tensor x = random_device(DType::kF32, {n, s.n_in});
  Tensor y = Tensor::empty(DType::kF32, {n, s.n_out}, Device::kCuda);
  if (fast) {
    cu::Act a;
    a.spec = cu::act_spec(ws[0], n);
    Tensor buf = Tensor::empty(DType::kU8, {int64_t(cu::act_bytes(a.spec, n))}, Device::kCuda);
    Tensor sc = Tensor::empty(DType::kF32, {n}, Device::kCuda);
    a.data = buf.data();
    a.scale = sc.data_as<float>();
    cu::to_act(x.data_as<float>(), n, a);
    auto call = [&](int i) { cu::linear_act(ws[size_t(i) % ws.size()], a, y.data_as<float>(), false); };
    return n >= 256 ? time_ms(call, 5, kReps) : time_graph_ms(call, 40, kReps);
  }
  auto call = [&](int i) { cu::linear(ws[size_t(i) % ws.size()], x, y); };
  return n >= 256 ? time_ms(call, 5, kReps) : time_graph_ms(call, 40, kReps);
}

double attention_ms(int64_t ctx, int64_t batch) {
  const int64_t bs = 16, nkv = 8, hd = 128, nh = 32;
  const int64_t blocks_per = (ctx + 1 + bs - 1) / bs;
  Tensor kc = random_device(DType::kF32, {blocks_per * batch, bs, nkv, hd});
  Tensor vc = random_device(DType::kF32, {blocks_per * batch, bs, nkv, hd});
  Tensor qkv = random_device(DType::kF32, {batch, (nh + 2 * nkv) * hd});
  Tensor out = Tensor::empty(DType::kF32, {batch, nh * hd}, Device::kCuda);
  std::vector<std::vector<int32_t>> tables(static_cast<size_t>(batch));
  std::vector<ops::AttentionSeq> seqs;
  for (int64_t b = 0; b < batch; ++b) {
    for (int64_t i = 0; i < blocks_per; ++i) tables[size_t(b)].push_back(int32_t(b * blocks_per + i));
    seqs.push_back({.n_past = ctx, .n_new = 1, .block_table = tables[size_t(b)].data(),
                    .n_block_table = blocks_per});
  }
  ops::AttentionDims d{.n_head = nh, .n_head_kv = nkv, .head_dim = hd, .scale = 0.088f};
  return time_graph_ms([&](int) { cu::attention(qkv, seqs, d, kc, vc, out); }, 20, kReps);
}

int run(const std::string& out_path) {
  QINFER_CHECK(cu::available(), "gpu_kernels: no CUDA device");
  init_host(size_t(64) << 20);
  cudaDeviceProp prop{};
  QINFER_CUDA_CHECK(cudaGetDeviceProperties(&prop, 0));
  Json j;
  j["device"] = prop.name;
  const double hbm = hbm_bandwidth_gbs();
  const double fp8_peak = gemm_tflops(DType::kF8E4M3, 8192);
  const double bf16_peak = gemm_tflops(DType::kBF16, 8192);
  j["hbm_copy_gbs"] = hbm;
  j["fp8_gemm_8192_tflops"] = fp8_peak;
  j["bf16_gemm_8192_tflops"] = bf16_peak;
  std::printf("device %s\nHBM copy %.0f GB/s | FP8 GEMM 8192^3 %.0f TFLOP/s | BF16 %.0f TFLOP/s\n",
              prop.name, hbm, fp8_peak, bf16_peak);
  std::printf("\n(n <= 8: CUDA-graph replay of 40 calls; n = 2048: stream launches)\n");
  std::printf("%-14s %-6s %5s %10s %10s %8s %10s %8s\n", "linear", "dtype", "n", "us/call",
              "GB/s|TF/s", "ratio", "fast us", "ratio");
  double decode_layer_ms = 0, lm_head_ms = 0;
  for (const Shape8B& s : kLinears) {
    for (DType dt : {DType::kF8E4M3, DType::kBF16}) {
      for (int64_t n : {1, 2, 4, 8, 2048}) {
        if (dt == DType::kBF16 && n != 1 && n != 2048) continue;
        const double ms = linear_ms(dt, s, n);
        const double fast_ms = linear_ms(dt, s, n, true);
        Json r{{"linear", s.name}, {"dtype", std::string(dtype_name(dt))},
                         {"n", n}, {"n_out", s.n_out}, {"n_in", s.n_in}, {"ms", ms},
                         {"fast_ms", fast_ms}};
        double rate, ratio, fast_ratio;
        if (n <= 8) {
          const double bytes = double(s.n_out * s.n_in) * double(dtype_size(dt)) +
                               double(n) * double(s.n_in + s.n_out) * 4.0;
          rate = bytes / (ms * 1e-3) / 1e9;
          ratio = rate / hbm;
          fast_ratio = bytes / (fast_ms * 1e-3) / 1e9 / hbm;
          r["gbs"] = rate;
          r["ratio_to_hbm"] = ratio;
          r["fast_ratio_to_hbm"] = fast_ratio;
          if (dt == DType::kF8E4M3 && n == 1 && std::string(s.name) != "lm_head")
            decode_layer_ms += fast_ms;
          if (dt == DType::kBF16 && n == 1 && std::string(s.name) == "lm_head") lm_head_ms = fast_ms;
        } else {
          rate = 2.0 * double(n) * double(s.n_out) * double(s.n_in) / (ms * 1e-3) / 1e12;
          ratio = rate / (dt == DType::kF8E4M3 ? fp8_peak : bf16_peak);
          r["tflops"] = rate;
          r["ratio_to_gemm_peak"] = ratio;
          fast_ratio = 2.0 * double(n) * double(s.n_out) * double(s.n_in) / (fast_ms * 1e-3) /
                       1e12 / (dt == DType::kF8E4M3 ? fp8_peak : bf16_peak);
        }
        std::printf("%-14s %-6s %5lld %10.1f %10.1f %8.3f %10.1f %8.3f\n", s.name,
                    std::string(dtype_name(dt)).c_str(), (long long)n, ms * 1e3, rate, ratio,
                    fast_ms * 1e3, fast_ratio);
        j["linear"].push_back(r);
      }
    }
  }
  // The GEMV's split factor (warps per output row), forced to each value: what the automatic
  // pick (the "fast" column above) is chosen from.
  std::printf("\n%-14s %-6s %5s %10s %10s %10s %10s\n", "gemv split", "dtype", "n", "S=1 us",
              "S=2 us", "S=4 us", "S=8 us");
  for (const Shape8B& s : kLinears) {
    for (DType dt : {DType::kF8E4M3, DType::kBF16}) {
      for (int64_t n : {1, 4}) {
        if (dt == DType::kBF16 && n != 1) continue;
        Json r{{"linear", s.name}, {"dtype", std::string(dtype_name(dt))}, {"n", n}};
        std::printf("%-14s %-6s %5lld", s.name, std::string(dtype_name(dt)).c_str(), (long long)n);
        cu::set_gemv_bulk(1, 0);  // the split is the warp-per-row GEMV's
        for (int split : {1, 2, 4, 8}) {
          cu::set_gemv_split(split);
          const double ms = linear_ms(dt, s, n, true);
          r[str_cat("split_", split, "_ms")] = ms;
          std::printf(" %10.1f", ms * 1e3);
        }
        cu::set_gemv_split(0);
        cu::set_gemv_bulk(0, 0);
        std::printf("\n");
        j["gemv_split"].push_back(r);
      }
    }
  }
  // The decode GEMV: warp-per-row (fused.cu) against the tensor-core bulk-copy one (gemv_bulk.cu)
  // with its launch options (set_gemv_bulk: ring KiB, flags), on the 8B and 1B shapes. Each cell is
  // us per call and the ratio of weight bytes / time to the HBM copy rate. "copy only" skips
  // the arithmetic: the rate at which the ring alone streams.
  struct BulkVariant {
    const char* label;
    int mode, kib, flags;
  };
  const BulkVariant variants[] = {{"warp", 1, 0, 0},         {"bulk tc", 2, 160, 0},
                                  {"x global", 2, 160, 4},   {"copy only", 2, 160, 1},
                                  {"1K pieces", 2, 160, 2},  {"tc 224", 2, 224, 0},
                                  {"mma.sync", 2, 160, 8}};
  const Shape8B k1B[] = {{"1b_qkv", 3072, 2048},   {"1b_o", 2048, 2048},
                         {"1b_gate_up", 16384, 2048}, {"1b_down", 2048, 8192},
                         {"1b_lm_head", 128256, 2048}};
  std::printf("\n%-12s %3s", "gemv", "n");
  for (const BulkVariant& v : variants) std::printf(" %15s", v.label);
  std::printf("\n");
  std::vector<Shape8B> bulk_shapes(std::begin(kLinears), std::end(kLinears));
  bulk_shapes.insert(bulk_shapes.end(), std::begin(k1B), std::end(k1B));
  for (const Shape8B& s : bulk_shapes) {
    const bool head = std::string(s.name).find("lm_head") != std::string::npos;
    const DType dt = head ? DType::kBF16 : DType::kF8E4M3;
    for (int64_t n : {1, 2, 4, 8}) {
      if (head && n != 1) continue;
      const double bytes = double(s.n_out * s.n_in) * double(dtype_size(dt));
      Json r{{"linear", s.name}, {"dtype", std::string(dtype_name(dt))}, {"n", n},
             {"n_out", s.n_out}, {"n_in", s.n_in}};
      std::printf("%-12s %3lld", s.name, (long long)n);
      for (const BulkVariant& v : variants) {
        cu::set_gemv_bulk(v.mode, v.kib, v.flags);
        const double ms = linear_ms(dt, s, n, true);
        const double ratio = bytes / (ms * 1e-3) / 1e9 / hbm;
        std::printf(" %7.1f (%5.3f)", ms * 1e3, ratio);
        r[str_cat(v.label, " ms")] = ms;
        r[str_cat(v.label, " ratio")] = ratio;
      }
      cu::set_gemv_bulk(0, 0, -1);
      std::printf("\n");
      j["gemv_bulk"].push_back(r);
    }
  }
  std::printf("\n%-20s %8s %10s %10s\n", "attention decode", "batch", "ctx", "us/call");
  double attn_1k = 0;
  for (auto [batch, ctx] : std::vector<std::pair<int64_t, int64_t>>{{1, 1024}, {1, 8192},
                                                                    {32, 1024}}) {
    const double ms = attention_ms(ctx, batch);
    if (batch == 1 && ctx == 1024) attn_1k = ms;
    const double bytes = double(batch) * double(ctx) * 8 * 128 * 4 * 2;
    std::printf("%-20s %8lld %10lld %10.1f  (%.0f GB/s of K/V)\n", "8B dims", (long long)batch,
                (long long)ctx, ms * 1e3, bytes / (ms * 1e-3) / 1e9);
    j["attention"].push_back({{"batch", batch}, {"ctx", ctx}, {"ms", ms},
                              {"kv_gbs", bytes / (ms * 1e-3) / 1e9}});
  }
  // Modeled batch-1 decode of Llama-3.1-8B FP8: 32 layers of the four linears plus attention
  // at context 1024, plus lm_head. Leaves out the small ops (norms, rope, residual adds).
  const double step_ms = 32 * (decode_layer_ms + attn_1k) + lm_head_ms;
  const double weight_bytes = 32.0 * (6144 + 4096 + 28672) * 4096 + 32.0 * 4096 * 14336 +
                              128256.0 * 4096 * 2;  // BF16 lm_head
  const double roofline_ms = weight_bytes / (hbm * 1e9) * 1e3;
  j["modeled_8b_decode"] = {{"step_ms", step_ms}, {"tok_s", 1e3 / step_ms},
                            {"roofline_ms", roofline_ms}, {"ratio", roofline_ms / step_ms}};
  std::printf("\nmodeled 8B FP8 batch-1 decode (kernel sum, ctx 1024): %.3f ms/token = %.0f tok/s;"
              " weight-read roofline %.3f ms (%.0f tok/s); ratio %.2f\n",
              step_ms, 1e3 / step_ms, roofline_ms, 1e3 / roofline_ms, roofline_ms / step_ms);
  if (!out_path.empty()) {
    write_json_file(out_path, j);
  }
  return 0;
}

}  // namespace
}  // namespace qinfer
#endif

int main(int argc, char** argv) {
  std::string out;
  for (int i = 1; i + 1 < argc; ++i)
    if (std::string(argv[i]) == "--out") out = argv[i + 1];
#ifdef QINFER_HAVE_CUDA
  try {
    return qinfer::run(out);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "gpu_kernels: %s\n", e.what());
    return 1;
  }
#else
  (void)out;
  std::printf("gpu_kernels: built without CUDA; nothing to measure\n");
  return 0;
#endif
}

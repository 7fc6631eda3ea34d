// `qinfer bench`: latency (batch 1: prefill time for a prompt length, decode ms/token) and
// throughput (N prompts, input/output lengths, max concurrency) of the model on a device,
// printed as a table and written as JSON with roofline ratios measured in the same run:
//   decode: (weight bytes + KV bytes read per step) / measured HBM copy bandwidth
//   prefill: linear + attention FLOPs / measured FP8 (or BF16) tensor-core GEMM rate
// Throughput mode batches statically (waves of --max-concurrency sequences: prefill each,
// then decode the wave together); the engine's continuous batching is measured elsewhere.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <random>

#include "cli.h"
#include "core/error.h"
#include "core/json.h"
#include "io/checkpoint.h"
#include "model/llama.h"
#include "ops/cuda/cuda_ops.h"

namespace qinfer::cli {
namespace {

const char* kUsage = R"(qinfer bench --model DIR [options]

  --device cuda|cpu         where the model runs (default cuda)
  --mode latency|throughput (default latency)
  latency:    --prompt-len P (default 128)  --decode-len D (default 128)
  throughput: --num-prompts N (default 64)  --input-len I (default 1000)
              --output-len O (default 1000) --max-concurrency C (default 64)
  --seed S                  random prompt tokens (default 0)
  --out FILE.json           write the results)";

constexpr int64_t kBlock = 16;

struct BenchOptions {
  int64_t prompt_len, decode_len, num_prompts, input_len, output_len, max_concurrency, seed;
};

double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

int32_t argmax_row(const Tensor& logits, int64_t r) {
  const int64_t V = logits.dim(1);
  const float* p = logits.data_as<float>() + r * V;
  return int32_t(std::max_element(p, p + V) - p);
}

struct Ceilings {
  double hbm_gbs = 0, gemm_tflops = 0;
};

Ceilings measure(Device d, bool fp8) {
  Ceilings c;
  if (d != Device::kCuda) return c;
  c.hbm_gbs = ops::cuda::measure_copy_bandwidth_gbs(size_t(1) << 30);
  c.gemm_tflops = ops::cuda::measure_gemm_tflops(8192, fp8);
  return c;
}

// FLOPs of a prefill of p tokens: 2 per weight per token in the linears, plus causal
// attention (QK and PV: 2 * 2 * n_head * head_dim per (query, key) pair, p²/2 pairs).
double prefill_flops(const io::ModelConfig& c, size_t weight_params, int64_t p) {
  const double attn = 4.0 * double(c.n_layer * c.n_head * c.head_dim) * double(p) * double(p) / 2;
  return 2.0 * double(weight_params) * double(p) + attn;
}

Json run_latency(model::LlamaModel& m, const BenchOptions& o, const Ceilings& ceil,
                 size_t params) {
  const io::ModelConfig& c = m.config();
  const int64_t P = o.prompt_len, D = o.decode_len;
  std::mt19937 rng(uint32_t(o.seed));
  std::vector<int32_t> prompt(static_cast<size_t>(P));
  for (auto& t : prompt) t = int32_t(rng() % uint32_t(c.vocab_size));
  const int64_t n_block = (P + D + kBlock - 1) / kBlock;
  model::KvCache kv = m.allocate_kv_cache(n_block, kBlock);
  model::SeqInput s{.n_past = 0, .n_new = P, .block_table = {}, .logits_last = true,
                    .logits_all = false};
  for (int32_t i = 0; i < n_block; ++i) s.block_table.push_back(i);
  model::Batch b{.tokens = prompt, .seqs = {s}};
  m.forward(b, kv);  // warm-up: kernel plans, allocator
  double t0 = now_s();
  Tensor logits = m.forward(b, kv);  // returns logits on the host: the GPU has finished
  const double prefill_ms = (now_s() - t0) * 1e3;
  std::vector<double> step_ms;
  int32_t next = argmax_row(logits, 0);
  for (int64_t i = 0; i < D; ++i) {
    model::Batch d{.tokens = {next}, .seqs = {s}};
    d.seqs[0].n_past = P + i;
    d.seqs[0].n_new = 1;
    t0 = now_s();
    Tensor l = m.forward(d, kv);
    step_ms.push_back((now_s() - t0) * 1e3);
    next = argmax_row(l, 0);
  }
  std::vector<double> sorted = step_ms;
  std::sort(sorted.begin(), sorted.end());
  const double med = sorted[sorted.size() / 2];
  // Bytes one decode step must read: every weight once, the KV cache of the context.
  const double kv_bytes = double(m.kv_block_bytes(kBlock)) / kBlock * double(P + D / 2);
  const double step_bytes = double(m.weight_bytes()) + kv_bytes;
  const double flops = prefill_flops(c, params, P);
  Json j{{"mode", "latency"}, {"prompt_len", P}, {"decode_len", D},
         {"prefill_ms", prefill_ms}, {"decode_ms_per_token_median", med},
         {"decode_tok_s", 1e3 / med}, {"decode_bytes_per_step", step_bytes},
         {"prefill_flops", flops}};
  std::printf("%-34s %12s\n", "metric", "value");
  std::printf("%-34s %12.2f\n", "prefill ms (TTFT)", prefill_ms);
  std::printf("%-34s %12.3f\n", "decode ms/token (median)", med);
  std::printf("%-34s %12.1f\n", "decode tok/s", 1e3 / med);
  if (ceil.hbm_gbs > 0) {
    const double roof_ms = step_bytes / (ceil.hbm_gbs * 1e9) * 1e3;
    const double pre_roof_ms = flops / (ceil.gemm_tflops * 1e12) * 1e3;
    j["decode_roofline_ms"] = roof_ms;
    j["decode_ratio_to_roofline"] = roof_ms / med;
    j["prefill_roofline_ms"] = pre_roof_ms;
    j["prefill_ratio_to_roofline"] = pre_roof_ms / prefill_ms;
    std::printf("%-34s %12.3f (%.0f tok/s)\n", "decode roofline ms/token", roof_ms, 1e3 / roof_ms);
    std::printf("%-34s %12.3f\n", "decode ratio to roofline", roof_ms / med);
    std::printf("%-34s %12.2f\n", "prefill roofline ms (GEMM rate)", pre_roof_ms);
    std::printf("%-34s %12.3f\n", "prefill ratio to roofline", pre_roof_ms / prefill_ms);
  }
  return j;
}

Json run_throughput(model::LlamaModel& m, const BenchOptions& o) {
  const io::ModelConfig& c = m.config();
  const int64_t N = o.num_prompts, I = o.input_len, O = o.output_len, C = o.max_concurrency;
  std::mt19937 rng(uint32_t(o.seed));
  const int64_t per_seq = (I + O + kBlock - 1) / kBlock;
  const int64_t wave_max = std::min(N, C);
  model::KvCache kv = m.allocate_kv_cache(per_seq * wave_max, kBlock);
  const double t0 = now_s();
  double prefill_s = 0;
  for (int64_t first = 0; first < N; first += wave_max) {
    const int64_t W = std::min(wave_max, N - first);
    std::vector<model::SeqInput> seqs(static_cast<size_t>(W));
    std::vector<int32_t> next(static_cast<size_t>(W));
    const double tp = now_s();
    for (int64_t w = 0; w < W; ++w) {
      auto& s = seqs[size_t(w)];
      for (int64_t b = 0; b < per_seq; ++b) s.block_table.push_back(int32_t(w * per_seq + b));
      s.n_new = I;
      model::Batch b;
      for (int64_t i = 0; i < I; ++i) b.tokens.push_back(int32_t(rng() % uint32_t(c.vocab_size)));
      b.seqs = {s};
      next[size_t(w)] = argmax_row(m.forward(b, kv), 0);
    }
    prefill_s += now_s() - tp;
    for (int64_t step = 1; step < O; ++step) {
      model::Batch b;
      for (int64_t w = 0; w < W; ++w) {
        auto& s = seqs[size_t(w)];
        s.n_past = I + step - 1;
        s.n_new = 1;
        b.tokens.push_back(next[size_t(w)]);
        b.seqs.push_back(s);
      }
      Tensor l = m.forward(b, kv);
      for (int64_t w = 0; w < W; ++w) next[size_t(w)] = argmax_row(l, w);
    }
  }
  const double total = now_s() - t0;
  const double out_tok_s = double(N * O) / total;
  std::printf("%-34s %12.1f\n", "output tok/s", out_tok_s);
  std::printf("%-34s %12.1f\n", "total tok/s (in + out)", double(N * (I + O)) / total);
  std::printf("%-34s %12.2f\n", "wall s (prefill s)", total);
  std::printf("%-34s %12.2f\n", "  of which prefill s", prefill_s);
  return Json{{"mode", "throughput"}, {"num_prompts", N}, {"input_len", I}, {"output_len", O},
              {"max_concurrency", C}, {"wall_s", total}, {"prefill_s", prefill_s},
              {"output_tok_s", out_tok_s}};
}

int run_bench(Args& args) {
  const std::string path = args.require("model");
  const std::string dev = args.get_or("device", "cuda");
  const std::string mode = args.get_or("mode", "latency");
  QINFER_CHECK(dev == "cuda" || dev == "cpu", "--device must be cuda or cpu, got ", dev);
  QINFER_CHECK(mode == "latency" || mode == "throughput", "--mode must be latency or throughput");
  const Device d = dev == "cuda" ? Device::kCuda : Device::kCpu;
  QINFER_CHECK(d == Device::kCpu || ops::cuda::available(),
               "--device cuda: no CUDA device (or this build has no CUDA backend)");
  const std::string out = args.get_or("out", "");
  const BenchOptions o{.prompt_len = args.get_int("prompt-len", 128),
                       .decode_len = args.get_int("decode-len", 128),
                       .num_prompts = args.get_int("num-prompts", 64),
                       .input_len = args.get_int("input-len", 1000),
                       .output_len = args.get_int("output-len", 1000),
                       .max_concurrency = args.get_int("max-concurrency", 64),
                       .seed = args.get_int("seed", 0)};
  args.finish();
  QINFER_CHECK(o.prompt_len > 0 && o.decode_len > 0 && o.num_prompts > 0 && o.input_len > 0 &&
                   o.output_len > 0 && o.max_concurrency > 0,
               "qinfer bench: lengths and counts must be positive");
  io::Checkpoint ck = io::open_checkpoint(path);
  const double tl = now_s();
  std::unique_ptr<model::LlamaModel> m = model::LlamaModel::load(ck, {.device = d});
  const double load_s = now_s() - tl;
  const io::ModelConfig& c = m->config();
  const bool fp8 = !c.quantization_config.is_null();
  const size_t params = size_t(c.n_layer) * size_t(c.hidden_size) *
                            size_t((c.n_head + 2 * c.n_head_kv) * c.head_dim +
                                   c.n_head * c.head_dim + 3 * c.intermediate_size) +
                        size_t(c.vocab_size * c.hidden_size);
  std::printf("model %s: %lld layers, hidden %lld, %.2f GB of weights; device %s; load %.1f s\n",
              path.c_str(), (long long)c.n_layer, (long long)c.hidden_size,
              double(m->weight_bytes()) / 1e9,
              d == Device::kCuda ? ops::cuda::gpu_name().c_str() : "cpu", load_s);
  const Ceilings ceil = measure(d, fp8);
  if (ceil.hbm_gbs > 0)
    std::printf("measured: HBM copy %.0f GB/s, %s GEMM %.0f TFLOP/s\n", ceil.hbm_gbs,
                fp8 ? "FP8" : "BF16", ceil.gemm_tflops);
  Json j = mode == "latency" ? run_latency(*m, o, ceil, params) : run_throughput(*m, o);
  j["model"] = path;
  j["device"] = d == Device::kCuda ? ops::cuda::gpu_name() : "cpu";
  j["weight_bytes"] = m->weight_bytes();
  j["hbm_copy_gbs"] = ceil.hbm_gbs;
  j["gemm_tflops"] = ceil.gemm_tflops;
  j["gemm_dtype"] = fp8 ? "fp8" : "bf16";
  if (!out.empty()) write_json_file(out, j);
  return 0;
}

Registrar reg({.name = "bench",
               .summary = "measure prefill/decode latency or offline throughput on a device",
               .usage = kUsage,
               .flags = {},
               .run = run_bench});

}  // namespace
}  // namespace qinfer::cli

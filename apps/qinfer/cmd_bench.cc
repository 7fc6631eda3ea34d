// `qinfer bench`: latency (batch 1: prefill time for a prompt length, decode ms/token) and
// throughput (N prompts, input/output lengths, max concurrency) of the model on a device,
// printed as a table and written as JSON with roofline ratios measured in the same run:
//   decode: (weight bytes + KV bytes read per step) / measured HBM copy bandwidth
//   prefill: linear + attention FLOPs / measured FP8 (or BF16) tensor-core GEMM rate
// Throughput mode drives the real engine (engine::Engine: continuous batching, chunked
// prefill, paged KV cache, sampling as the server does it): N random-token prompts, greedy,
// ignore_eos so that each produces exactly --output-len tokens, at most --max-concurrency
// running at once, all submitted at t = 0 (vLLM's `bench throughput` setting).
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <random>

#include "cli.h"
#include "core/error.h"
#include "core/json.h"
#include "engine/engine.h"
#include "engine/generator.h"
#include "io/checkpoint.h"
#include "model/llama.h"
#include "ops/cuda/cuda_ops.h"
#include "ops/cuda/sampling_cuda.h"
#include "tokenizer/tokenizer.h"

namespace qinfer::cli {
namespace {

const char* kUsage = R"(qinfer bench --model DIR [options]

  --device cuda|cpu|auto    where the model runs (default cuda)
  --mode latency|throughput (default latency)
  latency:    --prompt-len P (default 128)  --decode-len D (default 128)
  throughput: --num-prompts N (default 1000)  --input-len I (default 1000)
              --output-len O (default 1000)  --max-concurrency C (default 256)
              --max-num-batched-tokens T  tokens per engine step (default 2048)
              --gpu-memory-utilization F  KV cache = F x GPU memory - weights - reserve (as serve)
                                          (default 0.9), capped at what C sequences need
              --kv-cache-gib G            KV cache size instead (CPU: the engine's default)
              --tokenizer DIR             when the checkpoint has no tokenizer.json
              --sample-on auto|host|device  where tokens are sampled (default auto: the
                                          GPU when the model runs there)
              --async-scheduling auto|on|off  queue step N+1 while the GPU runs step N
                                          (default auto: on for cuda)
  --kv-cache-dtype auto|bf16|fp8|f32  (default auto: the device's default)
  --seed S                  random prompt tokens (default 0)
  --out FILE.json           write the results)";

constexpr int64_t kBlock = 16;

struct BenchOptions {
  int64_t prompt_len, decode_len, num_prompts, input_len, output_len, max_concurrency, seed;
  int64_t max_num_batched_tokens;
  double gpu_memory_utilization, kv_cache_gib;  // kv_cache_gib 0: from the utilization
  std::string tokenizer_dir;
  engine::SampleOn sample_on;
  engine::AsyncSteps async_steps;
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
  // Warm-up (kernel plans, allocator); it also shows where forward_device leaves the logits:
  // on the host for a model that runs on the CPU or through QINFER_CUDA_GENERIC=1.
  const bool on_gpu = m.forward_device(b, kv).device() == Device::kCuda;
  // The prefill is timed 5 times (it rewrites the same cache slots); the median is reported.
  std::vector<double> prefill_runs;
  Tensor logits;
  for (int r = 0; r < 5; ++r) {
    const double tp = now_s();
    logits = m.forward(b, kv);  // returns logits on the host: the GPU has finished
    prefill_runs.push_back((now_s() - tp) * 1e3);
  }
  std::sort(prefill_runs.begin(), prefill_runs.end());
  const double prefill_ms = prefill_runs[prefill_runs.size() / 2];
  double t0 = now_s();
  std::vector<double> step_ms;
  int32_t next = argmax_row(logits, 0);
  // A decode step as the engine runs it: on the GPU the logits stay there and the greedy token
  // is picked next to them (ops::cuda::sample_rows), so only the token comes back. With async
  // scheduling (the default there) step i reads its input token from the sampler's output on
  // the GPU (Batch::token_from) and is queued before step i-1's token reaches the host; the host
  // then waits for that token, so an iteration lasts one GPU step.
  const bool async = on_gpu && o.async_steps != engine::AsyncSteps::kOff;
  ops::cuda::SampleBatch greedy;
  greedy.rows.push_back(ops::cuda::SampleRow{.temperature = 0.0f});
  ops::cuda::SampleTicket prev;
  std::vector<int32_t> generated;
  for (int64_t i = 0; i < D; ++i) {
    model::Batch d{.tokens = {next}, .seqs = {s}};
    d.seqs[0].n_past = P + i;
    d.seqs[0].n_new = 1;
    if (async && i > 0) {
      d.token_from = {0};
      d.fed = ops::cuda::sampled_tokens_device();
    }
    t0 = now_s();
    if (on_gpu) {
      Tensor l = m.forward_device(d, kv);
      const ops::cuda::SampleTicket t = ops::cuda::sample_rows_async(l, greedy);
      if (!async || i > 0) {
        next = ops::cuda::sample_rows_wait(async ? prev : t)[0].token;
        generated.push_back(next);
      }
      prev = t;
      step_ms.push_back((now_s() - t0) * 1e3);
    } else {
      Tensor l = m.forward(d, kv);
      step_ms.push_back((now_s() - t0) * 1e3);
      next = argmax_row(l, 0);
      generated.push_back(next);
    }
  }
  if (async) generated.push_back(ops::cuda::sample_rows_wait(prev)[0].token);
  // QINFER_CUDA_PROBE=1 (a -DQINFER_CUDA_PROBES=ON build): the decode steps' block timelines
  // (tools/probe_summary.py).
  if (const char* probe = std::getenv("QINFER_CUDA_PROBE_OUT"); on_gpu && probe != nullptr)
    ops::cuda::probe_dump(probe);
  std::vector<double> sorted = step_ms;
  std::sort(sorted.begin(), sorted.end());
  const double med = sorted[sorted.size() / 2];
  // Bytes one decode step must read: every weight once, the KV cache of the context.
  const double kv_bytes = double(m.kv_block_bytes(kBlock)) / kBlock * double(P + D / 2);
  const double step_bytes = double(m.weight_bytes()) + kv_bytes;
  const double flops = prefill_flops(c, params, P);
  Json j{{"mode", "latency"}, {"prompt_len", P}, {"decode_len", D},
         {"prefill_ms", prefill_ms}, {"prefill_ms_runs", prefill_runs},
         {"decode_ms_per_token_median", med}, {"decode_sampling", on_gpu ? "device" : "host"},
         {"async_scheduling", async}, {"decode_tokens_head", std::vector<int32_t>(
             generated.begin(), generated.begin() + std::min<size_t>(generated.size(), 16))},
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

// KV-cache bytes for the engine: --kv-cache-gib, else on the GPU what --gpu-memory-utilization
// leaves (gpu_kv_cache_bytes, as `serve` sizes it), at most what max_concurrency full sequences
// need; 0 (the engine's default) on the CPU.
int64_t kv_cache_bytes(const model::LlamaModel& m, const BenchOptions& o) {
  const int64_t per_seq = (o.input_len + o.output_len + kBlock - 1) / kBlock;
  const double need = double(per_seq * o.max_concurrency) * double(m.kv_block_bytes(kBlock));
  if (o.kv_cache_gib > 0) return int64_t(o.kv_cache_gib * double(int64_t(1) << 30));
  if (m.device() != Device::kCuda) return 0;
  const double budget = double(gpu_kv_cache_bytes(o.gpu_memory_utilization,
                                                  o.max_num_batched_tokens));
  return int64_t(std::min(budget, need));
}

Json run_throughput(std::shared_ptr<model::LlamaModel> m,
                    std::shared_ptr<const tokenizer::Tokenizer> tok, const io::Checkpoint& ck,
                    const BenchOptions& o) {
  const io::ModelConfig& c = m->config();
  const int64_t N = o.num_prompts, I = o.input_len, O = o.output_len, C = o.max_concurrency;
  engine::EngineOptions eopt{.max_model_len = I + O,
                             .max_num_seqs = C,
                             .max_num_batched_tokens = o.max_num_batched_tokens,
                             .max_queue = N + 1,
                             .block_size = kBlock,
                             .kv_cache_bytes = kv_cache_bytes(*m, o),
                             .eos_token_ids = engine::eos_token_ids(c, ck.generation),
                             .sample_on = o.sample_on,
                             .async_steps = o.async_steps};
  engine::Engine eng(m, tok, eopt);
  // Random ordinary tokens (below Llama 3's specials at 128000).
  std::mt19937 rng(uint32_t(o.seed));
  const uint32_t n_ordinary = uint32_t(std::min<int64_t>(c.vocab_size, 128000));
  std::vector<int64_t> n_out(static_cast<size_t>(N), 0);
  int64_t n_done = 0;
  const double t0 = now_s();
  for (int64_t i = 0; i < N; ++i) {
    Request r{.id = std::to_string(i), .prompt = {}, .sampling = {}, .max_tokens = O};
    for (int64_t j = 0; j < I; ++j) r.prompt.push_back(int32_t(rng() % n_ordinary));
    r.sampling.temperature = 0.0f;
    r.sampling.logprobs = false;
    r.ignore_eos = true;
    eng.validate(r);
    QINFER_CHECK(eng.submit(std::move(r), [&n_out, &n_done, i](RequestOutput&& out) {
      for (const SeqDelta& d : out.seqs) n_out[size_t(i)] += int64_t(d.token_ids.size());
      n_done += out.finished;
    }), "qinfer bench: the engine refused request ", i);
  }
  while (!eng.idle()) eng.step();
  const double total = now_s() - t0;
  QINFER_CHECK(n_done == N, "qinfer bench: ", n_done, " of ", N, " requests finished");
  for (int64_t i = 0; i < N; ++i)
    QINFER_CHECK(n_out[size_t(i)] == O, "qinfer bench: request ", i, " produced ",
                 n_out[size_t(i)], " tokens, expected ", O);
  const engine::EngineMetrics mt = eng.metrics();
  const int64_t kv_tokens = eng.n_block() * kBlock;
  const double out_tok_s = double(N * O) / total;
  const double total_tok_s = double(N * (I + O)) / total;
  const double ttft_ms = mt.ttft.count ? mt.ttft.sum / double(mt.ttft.count) * 1e3 : 0.0;
  const double itl_ms = mt.itl.count ? mt.itl.sum / double(mt.itl.count) * 1e3 : 0.0;
  std::printf("%-34s %12.1f\n", "output tok/s", out_tok_s);
  std::printf("%-34s %12.1f\n", "total tok/s (in + out)", total_tok_s);
  std::printf("%-34s %12.2f\n", "wall s", total);
  std::printf("%-34s %12.1f\n", "mean TTFT ms", ttft_ms);
  std::printf("%-34s %12.2f\n", "mean ITL ms", itl_ms);
  std::printf("%-34s %12llu\n", "engine steps", (unsigned long long)mt.steps);
  std::printf("%-34s %12.2f\n", "  of which in model forward s", mt.forward.sum);
  // Device path: the step time outside the forward's launches and the wait for the GPU's
  // tokens (scheduling before, outputs after): the GPU is idle then, unless async scheduling
  // has queued the next step (then this host work overlaps it).
  const double host_ms =
      mt.steps ? (mt.step.sum - mt.forward.sum - mt.device_wait_seconds) / double(mt.steps) * 1e3
               : 0.0;
  std::printf("%-34s %12.3f\n", "host ms per step (GPU idle)", host_ms);
  const double per = mt.steps ? 1e3 / double(mt.steps) : 0.0;
  const Json phases{{"schedule", mt.schedule_seconds * per}, {"forward_launch", mt.forward.sum * per},
                    {"prepare", mt.prepare_seconds * per}, {"draw", mt.draw_seconds * per},
                    {"apply", mt.apply_seconds * per}, {"emit", mt.emit_seconds * per}};
  std::printf("%-34s", "  ms per step by phase");
  for (auto it = phases.begin(); it != phases.end(); ++it)
    std::printf(" %s %.3f", it.key().c_str(), it.value().get<double>());
  std::printf("\n");
  std::printf("%-34s %12llu\n", "preemptions", (unsigned long long)mt.preemptions);
  std::printf("%-34s %12lld\n", "KV cache capacity tokens", (long long)kv_tokens);
  return Json{{"mode", "throughput"}, {"num_prompts", N}, {"input_len", I}, {"output_len", O},
              {"max_concurrency", C}, {"max_num_batched_tokens", o.max_num_batched_tokens},
              {"wall_s", total}, {"output_tok_s", out_tok_s}, {"total_tok_s", total_tok_s},
              {"mean_ttft_ms", ttft_ms}, {"mean_itl_ms", itl_ms}, {"steps", mt.steps},
              {"forward_s", mt.forward.sum}, {"device_wait_s", mt.device_wait_seconds},
              {"host_ms_per_step", host_ms}, {"ms_per_step_by_phase", phases},
              {"preemptions", mt.preemptions},
              {"async_scheduling", o.async_steps == engine::AsyncSteps::kOn    ? "on"
                                   : o.async_steps == engine::AsyncSteps::kOff ? "off"
                                                                               : "auto"},
              {"sample_on", o.sample_on == engine::SampleOn::kHost     ? "host"
                            : o.sample_on == engine::SampleOn::kDevice ? "device"
                                                                       : "auto"},
              {"kv_cache_tokens", kv_tokens}};
}

int run_bench(Args& args) {
  const std::string path = args.require("model");
  const std::string dev = args.get_or("device", "cuda");
  const std::string mode = args.get_or("mode", "latency");
  QINFER_CHECK(mode == "latency" || mode == "throughput", "--mode must be latency or throughput");
  const Device d = parse_device(dev);
  const std::string out = args.get_or("out", "");
  BenchOptions o{.prompt_len = args.get_int("prompt-len", 128),
                       .decode_len = args.get_int("decode-len", 128),
                       .num_prompts = args.get_int("num-prompts", 1000),
                       .input_len = args.get_int("input-len", 1000),
                       .output_len = args.get_int("output-len", 1000),
                       .max_concurrency = args.get_int("max-concurrency", 256),
                       .seed = args.get_int("seed", 0),
                       .max_num_batched_tokens = args.get_int("max-num-batched-tokens", 2048),
                       .gpu_memory_utilization = args.get_double("gpu-memory-utilization", 0.9),
                       .kv_cache_gib = args.get_double("kv-cache-gib", 0.0),
                       .tokenizer_dir = args.get_or("tokenizer", ""),
                       .sample_on = engine::SampleOn::kAuto,
                       .async_steps =
                           parse_async_scheduling(args.get_or("async-scheduling", "auto"))};
  const std::string sample_on = args.get_or("sample-on", "auto");
  QINFER_CHECK(sample_on == "auto" || sample_on == "host" || sample_on == "device",
               "--sample-on must be auto, host or device, got ", sample_on);
  if (sample_on == "host") o.sample_on = engine::SampleOn::kHost;
  if (sample_on == "device") o.sample_on = engine::SampleOn::kDevice;
  const std::string kv_name = args.get_or("kv-cache-dtype", "auto");
  args.finish();
  const std::optional<DType> kv_dtype = parse_kv_cache_dtype(kv_name);
  QINFER_CHECK(o.prompt_len > 0 && o.decode_len > 0 && o.num_prompts > 0 && o.input_len > 0 &&
                   o.output_len > 0 && o.max_concurrency > 0,
               "qinfer bench: lengths and counts must be positive");
  io::Checkpoint ck = io::open_checkpoint(path);
  const double tl = now_s();
  std::shared_ptr<model::LlamaModel> m =
      model::LlamaModel::load(ck, {.device = d, .kv_cache_dtype = kv_dtype});
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
  const bool fast_accum = d == Device::kCuda && fp8 && ops::cuda::fp8_fast_accum();
  if (ceil.hbm_gbs > 0)
    std::printf("measured: HBM copy %.0f GB/s, %s GEMM %.0f TFLOP/s%s\n", ceil.hbm_gbs,
                fp8 ? "FP8" : "BF16", ceil.gemm_tflops,
                fp8 ? (fast_accum ? " (fast accumulation)" : " (promoted accumulation)") : "");
  Json j;
  if (mode == "latency") {
    j = run_latency(*m, o, ceil, params);
  } else {
    QINFER_CHECK(!ck.tokenizer_json.is_null() || !o.tokenizer_dir.empty(), "qinfer bench: ",
                 path, " has no tokenizer.json; pass --tokenizer DIR");
    std::shared_ptr<const tokenizer::Tokenizer> tok =
        o.tokenizer_dir.empty()
            ? tokenizer::Tokenizer::from_json(ck.tokenizer_json, ck.tokenizer_config)
            : tokenizer::Tokenizer::from_dir(o.tokenizer_dir);
    j = run_throughput(m, tok, ck, o);
  }
  j["model"] = path;
  j["device"] = d == Device::kCuda ? ops::cuda::gpu_name() : "cpu";
  j["weight_bytes"] = m->weight_bytes();
  j["hbm_copy_gbs"] = ceil.hbm_gbs;
  j["gemm_tflops"] = ceil.gemm_tflops;
  j["gemm_dtype"] = fp8 ? "fp8" : "bf16";
  if (d == Device::kCuda && fp8) j["fp8_accumulation"] = fast_accum ? "fast" : "promoted";
  // What made this file: the command and every QINFER_* switch in the environment.
  j["command"] = command_line();
  Json env = Json::object();
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string kv = *e;
    if (kv.rfind("QINFER_", 0) == 0 && kv.find('=') != std::string::npos)
      env[kv.substr(0, kv.find('='))] = kv.substr(kv.find('=') + 1);
  }
  j["env"] = env;
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

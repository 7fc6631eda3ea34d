// CPU decode / prefill throughput of a Llama-3.2-1B-shaped BF16 model against the memory
// roofline measured in the same run.
//
//   cpu_decode [--model DIR] [--decode-tokens N] [--prefill-tokens N] [--out results/x.json]
//
// Without --model it writes a random checkpoint with Llama 3.2 1B's shapes (hidden 2048,
// 16 layers, 32 heads, 8 KV heads, intermediate 8192, vocab 128256, tied embeddings, BF16)
// to $TMPDIR/qinfer_bench_llama1b (reused by later runs; never committed).
// Roofline: decode reads every weight once per token, so tok/s <= read bandwidth / bytes.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "core/cpu_features.h"
#include "core/json.h"
#include "core/thread_pool.h"
#include "io/checkpoint.h"
#include "io/model_config.h"
#include "io/safetensors.h"
#include "model/llama.h"
#include "ops/cpu/isa.h"

#define QINFER_STREAM_BW_NO_MAIN
#include "stream_bw.cc"

namespace fs = std::filesystem;
using namespace qinfer;

namespace {

io::ModelConfig llama1b_config() {
  io::ModelConfig c;
  c.vocab_size = 128256;
  c.hidden_size = 2048;
  c.intermediate_size = 8192;
  c.n_layer = 16;
  c.n_head = 32;
  c.n_head_kv = 8;
  c.head_dim = 64;
  c.max_position_embeddings = 131072;
  c.rms_norm_eps = 1e-5f;
  c.rope_theta = 500000.0f;
  c.rope_scaling = {.type = io::RopeScalingType::kLlama3,
                    .factor = 32.0f,
                    .low_freq_factor = 1.0f,
                    .high_freq_factor = 4.0f,
                    .original_max_position_embeddings = 8192};
  c.tie_word_embeddings = true;
  c.torch_dtype = "bfloat16";
  c.bos_token_id = 128000;
  c.eos_token_ids = {128001};
  return c;
}

// BF16 values ~ N(0, std) from a fast generator (the values only need to be finite and varied).
Tensor random_bf16(Shape s, float std, uint64_t seed) {
  Tensor t = Tensor::empty(DType::kBF16, std::move(s));
  uint16_t* p = t.data_as<uint16_t>();
  const int64_t n = t.numel();
  parallel_for(n, [&](int64_t b, int64_t e, int) {
    std::mt19937_64 rng(seed * 1000003u + uint64_t(b));
    for (int64_t i = b; i < e; ++i) {
      // Sum of 4 uniforms: close enough to a normal, cheap.
      const uint64_t r = rng();
      float u = 0;
      for (int k = 0; k < 4; ++k) u += float((r >> (16 * k)) & 0xffff) / 65535.0f;
      p[i] = f32_to_bf16((u - 2.0f) * 1.7320508f * std);
    }
  });
  return t;
}

void write_checkpoint(const std::string& dir, const io::ModelConfig& c) {
  fs::create_directories(dir);
  std::vector<std::pair<std::string, Tensor>> ts;
  const int64_t h = c.hidden_size, hd = c.head_dim, I = c.intermediate_size;
  uint64_t seed = 1;
  ts.emplace_back("model.embed_tokens.weight", random_bf16({c.vocab_size, h}, 0.02f, seed++));
  for (int64_t l = 0; l < c.n_layer; ++l) {
    const std::string p = "model.layers." + std::to_string(l) + ".";
    const float s_in = 1.0f / std::sqrt(float(h)), s_i = 1.0f / std::sqrt(float(I));
    ts.emplace_back(p + "input_layernorm.weight", random_bf16({h}, 0.1f, seed++));
    ts.emplace_back(p + "self_attn.q_proj.weight", random_bf16({c.n_head * hd, h}, s_in, seed++));
    ts.emplace_back(p + "self_attn.k_proj.weight",
                    random_bf16({c.n_head_kv * hd, h}, s_in, seed++));
    ts.emplace_back(p + "self_attn.v_proj.weight",
                    random_bf16({c.n_head_kv * hd, h}, s_in, seed++));
    ts.emplace_back(p + "self_attn.o_proj.weight", random_bf16({h, c.n_head * hd}, s_in, seed++));
    ts.emplace_back(p + "post_attention_layernorm.weight", random_bf16({h}, 0.1f, seed++));
    ts.emplace_back(p + "mlp.gate_proj.weight", random_bf16({I, h}, s_in, seed++));
    ts.emplace_back(p + "mlp.up_proj.weight", random_bf16({I, h}, s_in, seed++));
    ts.emplace_back(p + "mlp.down_proj.weight", random_bf16({h, I}, s_i, seed++));
  }
  ts.emplace_back("model.norm.weight", random_bf16({h}, 0.1f, seed++));
  io::write_safetensors(dir + "/model.safetensors", ts, {{"format", "pt"}});
  std::ofstream(dir + "/config.json") << io::model_config_to_json(c).dump(2);
}

// /proc/loadavg's 1-minute figure: the machine is shared, and the record says how busy it was.
double load_average() {
  std::ifstream f("/proc/loadavg");
  double l = -1;
  f >> l;
  return l;
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

std::string arg(int argc, char** argv, const std::string& name, const std::string& fallback) {
  for (int i = 1; i + 1 < argc; ++i)
    if (argv[i] == "--" + name) return argv[i + 1];
  return fallback;
}

}  // namespace

int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    if (std::string(argv[i]) == "--help" || std::string(argv[i]) == "-h") {
      std::printf(
          "cpu_decode [--model DIR] [--decode-tokens N] [--prefill-tokens N] [--out FILE]\n"
          "  Batch-1 decode and prefill on the CPU next to the measured read bandwidth.\n"
          "  Without --model, writes a random Llama-3.2-1B-shaped BF16 checkpoint to\n"
          "  $TMPDIR/qinfer_bench_llama1b. The JSON goes to bench/results/ unless --out.\n");
      return 0;
    }
  }
  std::string cmd;
  for (int i = 0; i < argc; ++i) cmd += (i ? " " : "") + std::string(argv[i]);
  const char* tmp = std::getenv("TMPDIR");
  std::string dir = arg(argc, argv, "model", "");
  if (dir.empty()) {
    dir = std::string(tmp ? tmp : "/tmp") + "/qinfer_bench_llama1b";
    if (!fs::exists(dir + "/model.safetensors")) {
      std::printf("writing a random Llama-3.2-1B-shaped BF16 checkpoint to %s ...\n", dir.c_str());
      write_checkpoint(dir, llama1b_config());
    }
  }
  const int64_t n_decode = std::atoll(arg(argc, argv, "decode-tokens", "32").c_str());
  const int64_t n_prefill = std::atoll(arg(argc, argv, "prefill-tokens", "512").c_str());
  char date[32];
  const std::time_t now = std::time(nullptr);
  std::strftime(date, sizeof date, "%Y-%m-%d", std::gmtime(&now));
  const std::string out =
      arg(argc, argv, "out",
          fs::path(__FILE__).parent_path().string() + "/results/cpu_decode_" + date + ".json");

  io::Checkpoint ck = io::open_checkpoint(dir);
  auto model = model::LlamaModel::load(ck);
  const double weight_gb = double(model->weight_bytes()) / 1e9;
  // Touch every weight page once so the first timed step does not pay for page faults.
  const int64_t ctx = n_prefill + n_decode + 16;
  model::KvCache kv = model->allocate_kv_cache((ctx + 15) / 16, 16);
  std::vector<int32_t> bt(size_t((ctx + 15) / 16));
  for (size_t i = 0; i < bt.size(); ++i) bt[i] = int32_t(i);
  std::mt19937 rng(1);
  std::vector<int32_t> prompt(static_cast<size_t>(n_prefill));
  for (int32_t& t : prompt) t = int32_t(rng() % uint32_t(model->config().vocab_size));
  model->forward({.tokens = {1}, .seqs = {{.n_past = 0, .n_new = 1, .block_table = bt}}}, kv);

  const double load_before = load_average();
  const double bw = bench::stream_read_gbs(size_t(1) << 30, 5);
  // Prefill: the whole prompt in one forward pass (logits of the last token only).
  auto t0 = std::chrono::steady_clock::now();
  const std::clock_t c0 = std::clock();
  Tensor logits = model->forward(
      {.tokens = prompt, .seqs = {{.n_past = 0, .n_new = n_prefill, .block_table = bt}}}, kv);
  const double prefill_s = seconds_since(t0);
  // CPU seconds of all threads: on a shared machine, the work rate while actually running.
  const double prefill_cpu_s = double(std::clock() - c0) / CLOCKS_PER_SEC;
  // Decode: one token per step after the prompt, in rounds of 4 tokens, each round next to
  // its own bandwidth probe. The machine is shared, so bandwidth drifts; the median of the
  // per-round ratios compares decode with the roofline of the same moment.
  constexpr int64_t kRound = 4;
  std::vector<double> ratios;
  double decode_s = 0;
  int64_t done = 0;
  while (done < n_decode) {
    const double bw_round = bench::stream_read_gbs(size_t(512) << 20, 2);
    const int64_t n = std::min(kRound, n_decode - done);
    t0 = std::chrono::steady_clock::now();
    for (int64_t i = done; i < done + n; ++i)
      logits = model->forward({.tokens = {int32_t(i + 5)},
                               .seqs = {{.n_past = n_prefill + i, .n_new = 1, .block_table = bt}}},
                              kv);
    const double s = seconds_since(t0);
    decode_s += s;
    ratios.push_back(double(n) / s * weight_gb / bw_round);
    done += n;
  }
  std::sort(ratios.begin(), ratios.end());
  const double median_ratio = ratios[ratios.size() / 2];
  const double bw_after = bench::stream_read_gbs(size_t(1) << 30, 5);
  const double load_after = load_average();

  const double decode_tps = double(n_decode) / decode_s;
  const double roofline_tps = std::max(bw, bw_after) / weight_gb;
  const double prefill_tps = double(n_prefill) / prefill_s;
  // 2 flops per weight per token in the layers (lm_head runs on the last token only).
  const io::ModelConfig& c = model->config();
  const double layer_params = double(c.n_layer) * double(c.hidden_size) *
                              double((c.n_head + 2 * c.n_head_kv) * c.head_dim +
                                     c.n_head * c.head_dim + 3 * c.intermediate_size);
  const double prefill_flop =
      2.0 * layer_params * double(n_prefill) + 2.0 * double(c.vocab_size * c.hidden_size);
  const double prefill_gflops = prefill_flop / prefill_s / 1e9;
  const double prefill_gflops_cpu = prefill_flop / prefill_cpu_s / 1e9;
  std::printf("\nmodel: %s (weights %.3f GB, BF16), %d threads, ISA %s\n", dir.c_str(), weight_gb,
              ThreadPool::global().size(), cpu_isa_name(ops::cpu::ops_isa()));
  std::printf("machine load average (1 min): %.2f before, %.2f after\n", load_before, load_after);
  std::printf("%-34s %12s\n", "metric", "value");
  std::printf("%-34s %12.2f\n", "read bandwidth before (GB/s)", bw);
  std::printf("%-34s %12.2f\n", "read bandwidth after (GB/s)", bw_after);
  std::printf("%-34s %12.2f\n", "decode roofline (tok/s)", roofline_tps);
  std::printf("%-34s %12.2f\n", "decode batch 1 (tok/s)", decode_tps);
  std::printf("%-34s %11.1f%%\n", "decode / roofline (overall)", 100.0 * decode_tps / roofline_tps);
  std::printf("%-34s %11.1f%%\n", "decode / roofline (median round)", 100.0 * median_ratio);
  std::printf("%-34s %12.2f\n", "prefill tokens", double(n_prefill));
  std::printf("%-34s %12.2f\n", "prefill (tok/s)", prefill_tps);
  std::printf("%-34s %12.2f\n", "prefill GFLOP/s", prefill_gflops);
  std::printf("%-34s %12.2f\n", "prefill GFLOP per CPU-second", prefill_gflops_cpu);

  Json j = {{"command", cmd},
            {"date_utc", date},
            {"model", dir},
            {"weight_bytes", model->weight_bytes()},
            {"threads", ThreadPool::global().size()},
            {"load_average_1min", {load_before, load_after}},
            {"isa", cpu_isa_name(ops::cpu::ops_isa())},
            {"read_bandwidth_gbs", {bw, bw_after}},
            {"decode_tokens", n_decode},
            {"decode_tok_s", decode_tps},
            {"decode_roofline_tok_s", roofline_tps},
            {"decode_fraction_of_roofline", decode_tps / roofline_tps},
            {"decode_fraction_of_roofline_median_round", median_ratio},
            {"decode_round_fractions", ratios},
            {"prefill_tokens", n_prefill},
            {"prefill_tok_s", prefill_tps},
            {"prefill_gflops", prefill_gflops},
            {"prefill_gflop_per_cpu_second", prefill_gflops_cpu}};
  fs::create_directories(fs::path(out).parent_path());
  std::ofstream(out) << j.dump(2) << "\n";
  std::printf("\nwrote %s\n", out.c_str());
  return 0;
}

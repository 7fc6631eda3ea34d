// CPU decode of a Llama-3.2-1B-shaped model: BF16 against the same weights quantized to FP8
// (dynamic per-token and static per-tensor activations), each against its memory roofline
// (weight bytes per token / read bandwidth measured in the same run); and the time
// `qinfer quantize` takes on it (weights, and calibration extrapolated from a few samples).
//
//   cpu_fp8_decode [--model BF16_DIR] [--decode-tokens 32] [--calib-samples 2]
//                  [--calib-seq-len 2048] [--decode-only]
//                  [--out bench/results/cpu_fp8_DATE.json]
//
// The three models are loaded together and decode in turns, one token each (the machine is
// shared: interleaving spreads other processes' load evenly). --decode-only reuses the FP8
// checkpoints an earlier run wrote and skips the quantize timing.
//
// BF16_DIR defaults to $TMPDIR/qinfer_bench_llama1b, the random checkpoint bench/cpu_decode
// writes (run it first). The FP8 checkpoints go next to it (never committed).
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
#include "model/llama.h"
#include "ops/cpu/isa.h"
#include "quant/calibration.h"
#include "quant/fp8_quantizer.h"

#define QINFER_STREAM_BW_NO_MAIN
#include "stream_bw.cc"

namespace fs = std::filesystem;
using namespace qinfer;

namespace {

double since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

std::string arg(int argc, char** argv, const std::string& name, const std::string& fallback) {
  for (int i = 1; i + 1 < argc; ++i)
    if (argv[i] == "--" + name) return argv[i + 1];
  return fallback;
}

std::vector<int32_t> table(int64_t n_block) {
  std::vector<int32_t> t(static_cast<size_t>(n_block));
  for (size_t i = 0; i < t.size(); ++i) t[i] = int32_t(i);
  return t;
}

struct DecodeResult {
  std::string name;
  size_t weight_bytes = 0;
  double tok_s = 0;
};

// A model loaded for decoding, with its KV cache and position.
struct Runner {
  std::string name;
  io::Checkpoint ck;
  std::unique_ptr<model::LlamaModel> m;
  model::KvCache kv;
  std::vector<int32_t> bt;
  int64_t n_past = 0;
  double seconds = 0;  // timed decode steps
  int64_t steps = 0;

  Runner(std::string n, const std::string& dir, int64_t ctx)
      : name(std::move(n)), ck(io::open_checkpoint(dir)), m(model::LlamaModel::load(ck)) {
    kv = m->allocate_kv_cache((ctx + 15) / 16, 16);
    bt = table((ctx + 15) / 16);
    std::vector<int32_t> prompt(16);
    for (size_t i = 0; i < prompt.size(); ++i) prompt[i] = int32_t(1000 + 7 * i);
    m->forward({.tokens = prompt, .seqs = {{.n_past = 0, .n_new = 16, .block_table = bt}}}, kv);
    n_past = 16;
    step(false);  // touches every weight page
  }
  void step(bool timed) {
    const auto t0 = std::chrono::steady_clock::now();
    m->forward({.tokens = {int32_t(n_past % 1000 + 5)},
                .seqs = {{.n_past = n_past, .n_new = 1, .block_table = bt}}},
               kv);
    ++n_past;
    if (timed) seconds += since(t0), ++steps;
  }
};

// The three models decode in turn, one token each per round (rotating who goes first), so
// that load from other processes on the shared machine falls on all of them alike.
std::vector<DecodeResult> decode_interleaved(
    const std::vector<std::pair<std::string, std::string>>& models, int64_t n_decode) {
  std::vector<std::unique_ptr<Runner>> rs;
  for (const auto& [name, dir] : models)
    rs.push_back(std::make_unique<Runner>(name, dir, n_decode + 48));
  for (int64_t t = 0; t < n_decode; ++t)
    for (size_t i = 0; i < rs.size(); ++i) rs[(size_t(t) + i) % rs.size()]->step(true);
  std::vector<DecodeResult> out;
  for (const auto& r : rs)
    out.push_back({r->name, r->m->weight_bytes(), double(r->steps) / r->seconds});
  return out;
}

struct QuantTiming {
  double weights_s = 0;  // quantizing every weight (fp8-dynamic: no calibration)
  double calib_s = 0;    // calibration forward passes (fp8-per-tensor)
};

// FP8_DYNAMIC (timed: the weights alone), then FP8 static with a timed calibration on random
// tokens (the scales' values do not matter for decode speed).
QuantTiming quantize_both(const std::string& dir, const std::string& dyn_dir,
                          const std::string& stat_dir, int64_t n_calib, int64_t calib_len) {
  QuantTiming qt;
  io::Checkpoint ck = io::open_checkpoint(dir);
  quant::QuantizeJob job;
  job.in = &ck;
  job.out_dir = dyn_dir;
  job.scheme = quant::parse_fp8_scheme("fp8-dynamic");
  auto t0 = std::chrono::steady_clock::now();
  quant::write_fp8_checkpoint(job);
  qt.weights_s = since(t0);
  std::printf("quantized weights (fp8-dynamic) in %.1f s\n", qt.weights_s);
  {
    auto m = model::LlamaModel::load(ck);
    quant::ActivationAbsmax obs;
    m->set_linear_observer([&](const ops::LinearWeight& w, const Tensor& x) { obs.observe(w, x); });
    model::KvCache kv = m->allocate_kv_cache((calib_len + 15) / 16, 16);
    const std::vector<int32_t> bt = table((calib_len + 15) / 16);
    std::mt19937 rng(3);
    t0 = std::chrono::steady_clock::now();
    for (int64_t s = 0; s < n_calib; ++s) {
      std::vector<int32_t> ids(static_cast<size_t>(calib_len));
      for (int32_t& t : ids) t = int32_t(rng() % 128000);
      m->forward({.tokens = ids, .seqs = {{.n_past = 0, .n_new = calib_len, .block_table = bt}}},
                 kv);
      std::printf("calibration sample %lld/%lld: %.1f s so far\n", (long long)(s + 1),
                  (long long)n_calib, since(t0));
    }
    qt.calib_s = since(t0);
    job.input_absmax = obs.module_absmax();
  }
  job.out_dir = stat_dir;
  job.scheme = quant::parse_fp8_scheme("fp8-per-tensor");
  quant::write_fp8_checkpoint(job);
  return qt;
}

}  // namespace

int main(int argc, char** argv) {
  std::string cmd;
  for (int i = 0; i < argc; ++i) cmd += (i ? " " : "") + std::string(argv[i]);
  const char* tmp = std::getenv("TMPDIR");
  const std::string base = std::string(tmp ? tmp : "/tmp") + "/qinfer_bench_llama1b";
  const std::string dir = arg(argc, argv, "model", base);
  if (!fs::exists(dir + "/config.json")) {
    std::fprintf(stderr, "%s: no checkpoint; run bench/cpu_decode first (it writes one)\n",
                 dir.c_str());
    return 1;
  }
  const int64_t n_decode = std::atoll(arg(argc, argv, "decode-tokens", "32").c_str());
  const int64_t n_calib = std::atoll(arg(argc, argv, "calib-samples", "2").c_str());
  const int64_t calib_len = std::atoll(arg(argc, argv, "calib-seq-len", "2048").c_str());
  bool decode_only = false;
  for (int i = 1; i < argc; ++i) decode_only |= std::string(argv[i]) == "--decode-only";
  char date[32];
  const std::time_t now = std::time(nullptr);
  std::strftime(date, sizeof date, "%Y-%m-%d", std::gmtime(&now));
  const std::string out =
      arg(argc, argv, "out",
          fs::path(__FILE__).parent_path().string() + "/results/cpu_fp8_" + date + ".json");

  // 1. Quantize: FP8_DYNAMIC (no calibration), and FP8 static with a timed calibration.
  const std::string dyn_dir = dir + "_fp8_dynamic", stat_dir = dir + "_fp8_static";
  QuantTiming qt;
  if (!decode_only) qt = quantize_both(dir, dyn_dir, stat_dir, n_calib, calib_len);
  const double quant_weights_s = qt.weights_s, calib_s = qt.calib_s;
  const double per_sample_s = calib_s / double(n_calib);
  const double est_512_s = per_sample_s * 512.0 + quant_weights_s;

  // 2. Decode.
  const double bw = bench::stream_read_gbs(size_t(1) << 30, 5);
  const std::vector<DecodeResult> rs = decode_interleaved(
      {{"bf16", dir}, {"fp8 dynamic (FP8_DYNAMIC)", dyn_dir}, {"fp8 static (FP8)", stat_dir}},
      n_decode);
  const double bw_after = bench::stream_read_gbs(size_t(1) << 30, 5);
  const double bwm = std::max(bw, bw_after);

  std::printf("\n%d threads, ISA %s, read bandwidth %.2f / %.2f GB/s (before / after)\n",
              ThreadPool::global().size(), cpu_isa_name(ops::cpu::ops_isa()), bw, bw_after);
  std::printf("%-26s %10s %10s %10s %10s %10s\n", "model", "weights GB", "tok/s", "roofline",
              "of roof", "vs bf16");
  Json runs = Json::array();
  for (const DecodeResult& r : rs) {
    const double roof = bwm / (double(r.weight_bytes) / 1e9);
    std::printf("%-26s %10.3f %10.2f %10.2f %9.1f%% %9.2fx\n", r.name.c_str(),
                double(r.weight_bytes) / 1e9, r.tok_s, roof, 100.0 * r.tok_s / roof,
                r.tok_s / rs[0].tok_s);
    runs.push_back({{"model", r.name},
                    {"weight_bytes", r.weight_bytes},
                    {"decode_tok_s", r.tok_s},
                    {"roofline_tok_s", roof},
                    {"fraction_of_roofline", r.tok_s / roof},
                    {"speedup_vs_bf16", r.tok_s / rs[0].tok_s}});
  }
  if (!decode_only)
    std::printf(
        "\nquantize time: weights %.1f s; calibration %.1f s per %lld-token sample "
        "(measured on %lld) -> 512 samples x %lld tokens estimated %.0f s (%.1f h)\n",
        quant_weights_s, per_sample_s, (long long)calib_len, (long long)n_calib,
        (long long)calib_len, est_512_s, est_512_s / 3600.0);
  Json j = {{"command", cmd},
            {"date_utc", date},
            {"model", dir},
            {"threads", ThreadPool::global().size()},
            {"isa", cpu_isa_name(ops::cpu::ops_isa())},
            {"read_bandwidth_gbs", {bw, bw_after}},
            {"decode_tokens", n_decode},
            {"decode_interleaved", true},
            {"decode", runs},
            {"decode_only", decode_only}};
  if (!decode_only) {
    j["quantize_weights_s"] = quant_weights_s;
    j["calibration_samples_measured"] = n_calib;
    j["calibration_seq_len"] = calib_len;
    j["calibration_s_per_sample"] = per_sample_s;
    j["quantize_fp8_static_512_samples_estimated_s"] = est_512_s;
    j["note"] = "the 512-sample time is extrapolated linearly from the measured samples";
  }
  fs::create_directories(fs::path(out).parent_path());
  std::ofstream(out) << j.dump(2) << "\n";
  std::printf("wrote %s\n", out.c_str());
  return 0;
}

// `qinfer serve [MODEL]`: the OpenAI-compatible server (a drop-in for `vllm serve` for Llama
// models). Loads the checkpoint, sizes the paged KV cache, starts the engine's step loop and
// the HTTP server; SIGTERM / SIGINT shut down gracefully and exit 0.
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <thread>

#include "cli.h"
#include "core/error.h"
#include "core/log.h"
#include "engine/engine.h"
#include "engine/generator.h"
#include "io/checkpoint.h"
#include "io/default_model.h"
#include "model/llama.h"
#include "ops/cuda/cuda_ops.h"
#include "server/server.h"
#include "tokenizer/tokenizer.h"

namespace qinfer::cli {
namespace {

// "4G", "512M", "1048576" -> bytes.
int64_t parse_bytes(const std::string& s) {
  char* end = nullptr;
  double v = std::strtod(s.c_str(), &end);
  QINFER_CHECK(end != s.c_str() && v >= 0, "--kv-cache-memory: '", s, "' is not a size");
  std::string unit(end);
  double mul = 1;
  if (unit == "K" || unit == "KiB" || unit == "k") mul = 1024.0;
  else if (unit == "M" || unit == "MiB") mul = 1024.0 * 1024;
  else if (unit == "G" || unit == "GiB") mul = 1024.0 * 1024 * 1024;
  else QINFER_CHECK(unit.empty(), "--kv-cache-memory: unknown unit '", unit, "' (K, M, G)");
  return int64_t(v * mul);
}

std::vector<std::string> split_names(const std::string& s) {
  std::vector<std::string> out;
  size_t a = 0;
  while (a <= s.size()) {
    size_t b = s.find(',', a);
    if (b == std::string::npos) b = s.size();
    if (b > a) out.push_back(s.substr(a, b - a));
    a = b + 1;
  }
  return out;
}

int run_serve(Args& args) {
  std::optional<std::string> model_opt = args.get("model");
  QINFER_CHECK(args.positionals().size() <= 1, "usage: qinfer serve [MODEL] [options]");
  std::string model_path = !args.positionals().empty() ? args.positionals()[0]
                           : model_opt                 ? *model_opt
                                                       : io::default_model_path();
  server::ServerOptions sopt;
  sopt.host = args.get_or("host", "0.0.0.0");
  sopt.port = int(args.get_int("port", 8000));
  const char* env_key = std::getenv("QINFER_API_KEY");
  sopt.api_key = args.get_or("api-key", env_key ? env_key : "");
  sopt.max_body_bytes = size_t(args.get_int("max-body-bytes", 32 << 20));
  sopt.shutdown_timeout_s = args.get_double("shutdown-timeout", 30.0);
  engine::EngineOptions eopt;
  eopt.max_model_len = args.get_int("max-model-len", 0);
  eopt.max_num_seqs = args.get_int("max-num-seqs", 256);
  eopt.max_num_batched_tokens = args.get_int("max-num-batched-tokens", 2048);
  eopt.max_queue = args.get_int("max-queue", 1024);
  eopt.block_size = args.get_int("block-size", 16);
  eopt.async_steps = parse_async_scheduling(args.get_or("async-scheduling", "auto"));
  if (auto m = args.get("kv-cache-memory")) eopt.kv_cache_bytes = parse_bytes(*m);
  const std::string device = args.get_or("device", "auto");
  const double gpu_util = args.get_double("gpu-memory-utilization", 0.9);
  const std::string kv_dtype = args.get_or("kv-cache-dtype", "auto");
  std::string gen_cfg = args.get_or("generation-config", "auto");
  std::string names = args.get_or("served-model-name", "");
  args.finish();
  QINFER_CHECK(gpu_util > 0.0 && gpu_util <= 1.0, "--gpu-memory-utilization must be in (0, 1], got ",
               gpu_util);
  const std::optional<DType> kv_cache_dtype = parse_kv_cache_dtype(kv_dtype);
  QINFER_CHECK(gen_cfg == "auto" || gen_cfg == "vllm",
               "--generation-config must be auto (the model's defaults) or vllm (none)");

  // Signals go to one thread (sigwait), so block them before any thread starts:
  // the CUDA runtime and the thread pool start threads that would otherwise inherit an
  // unblocked SIGTERM and let its default action kill the process.
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGTERM);
  sigaddset(&sigs, SIGINT);
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);
  std::signal(SIGPIPE, SIG_IGN);  // a client that hangs up must not kill the server

  const Device dev = parse_device(device);  // after the signal mask: may start CUDA threads
  io::Checkpoint ck = io::open_checkpoint(model_path);
  QINFER_CHECK(!ck.tokenizer_json.is_null(), "serve: ", model_path, " has no tokenizer.json");
  std::shared_ptr<const tokenizer::Tokenizer> tok =
      tokenizer::Tokenizer::from_json(ck.tokenizer_json, ck.tokenizer_config);
  model::LoadOptions lopt;
  lopt.device = dev;
  lopt.kv_cache_dtype = kv_cache_dtype;

  std::shared_ptr<model::LlamaModel> model = model::LlamaModel::load(ck, lopt);
  if (lopt.device == Device::kCuda && !eopt.kv_cache_bytes)
    eopt.kv_cache_bytes = gpu_kv_cache_bytes(gpu_util, eopt.max_num_batched_tokens);
  eopt.eos_token_ids = engine::eos_token_ids(ck.config, ck.generation);

  engine::Engine eng(model, tok, eopt);
  server::ServeConfig cfg;
  cfg.model_names = names.empty() ? std::vector<std::string>{model_path} : split_names(names);
  cfg.model_path = model_path;
  cfg.version = QINFER_VERSION;
  cfg.max_model_len = eng.max_model_len();
  cfg.max_num_seqs = eopt.max_num_seqs;
  cfg.vocab_size = ck.config.vocab_size;
  if (gen_cfg == "auto") cfg.generation = ck.generation;
  cfg.eos_ids = eopt.eos_token_ids;
  cfg.tok = tok.get();
  server::Server srv(eng, cfg, sopt);
  int port = srv.bind();
  eng.start();
  std::thread sig_thread([&] {
    int sig = 0;
    sigwait(&sigs, &sig);
    QINFER_LOG(kInfo, "serve: got signal ", sig);
    srv.shutdown();
  });
  QINFER_LOG(kInfo, "serve: ", cfg.model_names.front(), " on http://", sopt.host, ":", port,
             " (max_model_len ", cfg.max_model_len, ")");
  srv.run();
  sig_thread.join();
  eng.stop(false);
  QINFER_LOG(kInfo, "serve: stopped");
  return 0;
}

Registrar reg({.name = "serve",
               .summary = "OpenAI-compatible HTTP server (like `vllm serve`)",
               .usage = R"(qinfer serve [MODEL] [options]
  MODEL                        checkpoint directory or .gguf (default: the default model)
  --model MODEL                same as the positional
  --host HOST                  listen address (default 0.0.0.0)
  --port PORT                  (default 8000; 0 = any free port)
  --api-key KEY                require "Authorization: Bearer KEY" on /v1/* (or $QINFER_API_KEY)
  --served-model-name NAMES    comma-separated names clients use as "model" (default: MODEL)
  --max-model-len N            context length (default: the model's max_position_embeddings)
  --max-num-seqs N             sequences decoded together (default 256)
  --max-num-batched-tokens N   tokens per engine step; long prompts are chunked (default 2048)
  --max-queue N                waiting requests before 429 (default 1024)
  --kv-cache-memory SIZE       KV-cache budget, e.g. 2G (default on cuda: --gpu-memory-utilization;
                               on cpu: max_num_seqs full sequences, <= 4G)
  --gpu-memory-utilization F   share of the GPU's memory for weights + KV cache (default 0.9)
  --kv-cache-dtype auto|bf16|fp8|f32  KV-cache element type (auto: bf16 on cuda, f32 on cpu;
                               fp8 uses the checkpoint's k_scale/v_scale, cuda only)
  --block-size N               KV block size in positions (default 16)
  --async-scheduling auto|on|off  queue step N+1 while the GPU runs step N (default auto: on
                               for cuda; outputs are the same either way)
  --max-body-bytes N           larger request bodies get 413 (default 33554432)
  --generation-config auto|vllm  auto: sampling defaults from generation_config.json
  --shutdown-timeout S         SIGTERM: seconds in-flight requests may finish (default 30)
  --device auto|cpu|cuda       (default auto: cuda when a GPU is present))",
               .flags = {},
               .run = run_serve});

}  // namespace
}  // namespace qinfer::cli

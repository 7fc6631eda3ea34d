// `qinfer quantize`: a dense (BF16/F16/F32) checkpoint -> an FP8 compressed-tensors checkpoint
// that vLLM and transformers load, as llm-compressor's QuantizationModifier would write it
// (docs/FORMATS.md, "qinfer quantize").
//
// Memory: weights are quantized tensor by tensor, streaming from the mmap'd input into the
// output shards (one weight matrix in memory at a time). Calibration (static schemes) runs the
// whole model over the samples; the model's weights are the mmap'd file, not a copy, so the
// extra memory is the activations of one sample and the KV cache for --seq-len tokens.
#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>

#include <unistd.h>

#include "cli.h"
#include "core/error.h"
#include "core/json.h"
#include "io/checkpoint.h"
#include "model/llama.h"
#include "ops/cuda/cuda_ops.h"
#include "quant/calibration.h"
#include "quant/fp8_quantizer.h"
#include "tokenizer/chat_template.h"
#include "tokenizer/tokenizer.h"

namespace qinfer::cli {
namespace {

// Redrawn in place on a terminal; elsewhere (logs, CI) only the final line is printed.
void progress_bar(const char* what, size_t done, size_t total, double t0) {
  static const bool tty = isatty(2);
  if (!tty && done != total) return;
  const int width = 30;
  const int fill = total ? int(width * double(done) / double(total)) : width;
  const double el =
      std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count() -
      t0;
  std::fprintf(stderr, "\r%-12s [%s%s] %zu/%zu  %.0fs", what, std::string(fill, '#').c_str(),
               std::string(width - fill, ' ').c_str(), done, total, el);
  if (done == total) std::fprintf(stderr, "\n");
}

double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// A calibration sample: plain text, or chat messages to render with the tokenizer's template.
struct Sample {
  std::string text;
  Json messages;  // null unless chat
};

// Calibration samples: .jsonl with {"text": ...} or {"messages": [...]} per line, or plain text
// with samples separated by blank lines. With --chat-template every sample becomes a chat:
// "messages" as given, "text" as one user message.
std::vector<Sample> read_samples(const std::string& path, bool chat) {
  std::ifstream in(path);
  QINFER_CHECK(in.good(), path, ": cannot read the calibration file");
  std::vector<Sample> out;
  auto add_text = [&](std::string t) {
    Sample smp;
    if (chat) smp.messages = Json::array({Json{{"role", "user"}, {"content", t}}});
    smp.text = std::move(t);
    out.push_back(std::move(smp));
  };
  std::string line;
  const bool jsonl = path.size() > 6 && path.substr(path.size() - 6) == ".jsonl";
  if (jsonl) {
    for (size_t n = 1; std::getline(in, line); ++n) {
      if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
      Json j;
      try {
        j = Json::parse(line);
      } catch (const std::exception& e) {
        QINFER_FAIL(path, ":", n, ": not JSON: ", e.what());
      }
      QINFER_CHECK(j.is_object(), path, ":", n, ": expected an object");
      if (j.contains("messages")) {
        QINFER_CHECK(chat, path, ":", n, ": \"messages\" samples need --chat-template");
        QINFER_CHECK(j["messages"].is_array(), path, ":", n, ": \"messages\" must be a list");
        out.push_back(Sample{"", j["messages"]});
      } else {
        QINFER_CHECK(j.contains("text") && j["text"].is_string(), path, ":", n,
                     ": expected a \"text\" string or a \"messages\" list");
        add_text(j["text"].get<std::string>());
      }
    }
  } else {
    std::string cur;
    while (std::getline(in, line)) {
      if (line.find_first_not_of(" \t\r") == std::string::npos) {
        if (!cur.empty()) add_text(cur);
        cur.clear();
      } else {
        cur += cur.empty() ? line : "\n" + line;
      }
    }
    if (!cur.empty()) add_text(cur);
  }
  QINFER_CHECK(!out.empty(), path, ": no calibration samples");
  return out;
}

// Token ids of one sample as llm-compressor's examples prepare them: chats rendered with
// apply_chat_template(tokenize=False) and tokenized without special tokens (the template has
// BOS); plain text tokenized with them.
std::vector<int32_t> sample_ids(const tokenizer::Tokenizer& tok, const Sample& s) {
  if (s.messages.is_null()) return tok.encode(s.text, true);
  tokenizer::ChatTemplateInput in;
  in.messages = s.messages;
  in.add_generation_prompt = false;
  return tok.encode(tokenizer::apply_chat_template(tok, in), false);
}

std::map<std::string, float> calibrate(const io::Checkpoint& ck, const std::string& file,
                                       int64_t n_samples, int64_t seq_len, bool chat,
                                       Device device) {
  auto tok = tokenizer::Tokenizer::from_json(ck.tokenizer_json, ck.tokenizer_config);
  std::vector<Sample> samples = read_samples(file, chat);
  if (int64_t(samples.size()) > n_samples) samples.resize(size_t(n_samples));
  // On the GPU the calibration forward runs the generic op path (the observer sees every
  // linear's input) with an F32 KV cache, as on the CPU; the absmax is reduced on the device.
  auto m = model::LlamaModel::load(ck, {.device = device, .kv_cache_dtype = DType::kF32});
  quant::ActivationAbsmax obs;
  m->set_linear_observer([&](const ops::LinearWeight& w, const Tensor& x) { obs.observe(w, x); });
  const int64_t bs = 16, n_block = (seq_len + bs - 1) / bs;
  model::KvCache kv = m->allocate_kv_cache(n_block, bs);
  std::vector<int32_t> table(static_cast<size_t>(n_block));
  for (int64_t i = 0; i < n_block; ++i) table[size_t(i)] = int32_t(i);
  const double t0 = now_s();
  size_t n_tok = 0;
  for (size_t i = 0; i < samples.size(); ++i) {
    progress_bar("calibrating", i, samples.size(), t0);
    std::vector<int32_t> ids = sample_ids(*tok, samples[i]);
    if (int64_t(ids.size()) > seq_len) ids.resize(size_t(seq_len));
    if (ids.empty()) continue;
    model::Batch b;
    b.tokens = ids;
    b.seqs.push_back(model::SeqInput{0, int64_t(ids.size()), table, true, false});
    m->forward(b, kv);
    n_tok += ids.size();
  }
  progress_bar("calibrating", samples.size(), samples.size(), t0);
  std::fprintf(stderr, "calibration: %zu samples, %zu tokens, %.1f s\n", samples.size(), n_tok,
               now_s() - t0);
  return obs.module_absmax();
}

int run_quantize(Args& args) {
  const std::string in = args.require("model");
  const std::string out = args.require("output");
  const quant::Fp8Scheme scheme = quant::parse_fp8_scheme(args.get_or("scheme", "fp8-dynamic"));
  const std::optional<std::string> calib = args.get("calibration");
  const int64_t n_samples = args.get_int("num-samples", 512);
  const int64_t seq_len = args.get_int("seq-len", 2048);
  std::vector<std::string> ignore = args.get_all("ignore");
  const bool chat = args.flag("chat-template");
  const int64_t shard_mb = args.get_int("max-shard-mb", 5000);
  const std::string device = args.get_or("device", "auto");
  args.finish();
  const Device dev = parse_device(device);
  if (ignore.empty()) ignore = {"lm_head"};
  QINFER_CHECK(n_samples > 0 && seq_len > 0, "qinfer quantize: --num-samples and --seq-len ",
               "must be positive");
  const bool stat = scheme.act == ops::ActQuant::kStaticPerTensor;
  QINFER_CHECK(!stat || calib, "qinfer quantize: --scheme ", scheme.name,
               " has static activation scales and needs --calibration FILE.jsonl|txt");
  QINFER_CHECK(stat || !calib, "qinfer quantize: --scheme ", scheme.name,
               " has dynamic activations; --calibration is not used");
  QINFER_CHECK(!chat || stat, "qinfer quantize: --chat-template applies to calibration only");
  io::Checkpoint ck = io::open_checkpoint(in);
  quant::QuantizeJob job;
  job.in = &ck;
  job.out_dir = out;
  job.scheme = scheme;
  job.ignore = ignore;
  job.max_shard_bytes = size_t(shard_mb) << 20;
  const double t0 = now_s();
  if (stat)
    job.input_absmax = calibrate(ck, *calib, n_samples, seq_len, chat, dev);
  const double t1 = now_s();
  job.progress = [t1](size_t done, size_t total, const std::string&) {
    progress_bar("quantizing", done, total, t1);
  };
  const quant::QuantizeStats st = quant::write_fp8_checkpoint(job);
  std::printf(
      "%s: %zu Linear layers as FP8 (%s), %zu shard(s), %.1f MB -> %.1f MB, "
      "%.1f s (calibration %.1f s)\n",
      out.c_str(), st.n_quantized, scheme.name.c_str(), st.n_shards, st.bytes_in / 1e6,
      st.bytes_out / 1e6, now_s() - t0, t1 - t0);
  return 0;
}

Registrar reg(
    {.name = "quantize",
     .summary = "quantize a checkpoint to FP8 (compressed-tensors, vLLM-compatible)",
     .usage = "qinfer quantize --model IN --output OUT [--scheme fp8|fp8-dynamic|"
              "fp8-per-tensor]\n"
              "                [--calibration FILE.jsonl|txt] [--num-samples 512] "
              "[--seq-len 2048]\n"
              "                [--ignore lm_head]... [--chat-template] [--max-shard-mb 5000]\n"
              "                [--device auto|cpu|cuda]  (calibration forward; auto: cuda if present)\n"
              "  fp8             weights per channel, static per-tensor activations "
              "(calibrated)\n"
              "  fp8-dynamic     llm-compressor FP8_DYNAMIC: weights per channel, dynamic "
              "per-token activations\n"
              "  fp8-per-tensor  llm-compressor FP8: weights per tensor, static per-tensor "
              "activations (calibrated)",
     .flags = {"chat-template"},
     .run = run_quantize});

}  // namespace
}  // namespace qinfer::cli

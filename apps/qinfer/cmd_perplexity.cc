// `qinfer perplexity`: sliding-window perplexity of a text file, the loop of Hugging Face's
// perplexity guide (engine::perplexity), so the number compares with transformers'.
#include <cstdio>
#include <fstream>
#include <sstream>

#include "cli.h"
#include "core/error.h"
#include "core/json.h"
#include "engine/generator.h"
#include "io/checkpoint.h"
#include "io/default_model.h"
#include "model/llama.h"
#include "tokenizer/tokenizer.h"

namespace qinfer::cli {
namespace {

const char* kUsage = R"(qinfer perplexity [--model DIR|FILE.gguf] --file TEXT_FILE [options]

Perplexity of the file's text (encoded with BOS) with a sliding window, as in
https://huggingface.co/docs/transformers/perplexity.

  --model PATH      checkpoint directory or .gguf (default: the embedded default model)
  --file F          the text
  --tokenizer DIR   tokenizer files from another directory
  --context N       window length (default min(1024, max_position_embeddings))
  --stride S        distance between window starts (default context / 2)
  --json            print {ppl, mean_nll, n_tokens, n_windows, context, stride} as JSON
  --device auto|cpu|cuda    where the model runs (default auto: cuda when a GPU is present)
  --kv-cache-dtype auto|bf16|fp8|f32   (default auto: BF16 on cuda, F32 on cpu))";

int run_perplexity(Args& args) {
  const std::string model_path = args.get_or("model", "");
  const std::string file = args.require("file");
  const auto tok_dir = args.get("tokenizer");
  const auto context_arg = args.get_int_opt("context");
  const auto stride_arg = args.get_int_opt("stride");
  const bool as_json = args.flag("json");
  const std::string device = args.get_or("device", "auto");
  const std::string kv_dtype = args.get_or("kv-cache-dtype", "auto");
  args.finish();
  const model::LoadOptions lopt{.device = parse_device(device),
                                .kv_cache_dtype = parse_kv_cache_dtype(kv_dtype)};
  engine::ModelFiles files = engine::open_model_files(
      model_path.empty() ? io::default_model_path() : model_path, tok_dir.value_or(""));
  const io::Checkpoint& ck = files.ck;
  const int64_t context =
      context_arg ? *context_arg : std::min<int64_t>(1024, ck.config.max_position_embeddings);
  const int64_t stride = stride_arg ? *stride_arg : std::max<int64_t>(1, context / 2);
  std::ifstream in(file, std::ios::binary);
  QINFER_CHECK(in.good(), file, ": cannot open");
  std::stringstream ss;
  ss << in.rdbuf();
  const std::unique_ptr<tokenizer::Tokenizer>& tok = files.tok;
  const std::vector<int32_t> ids = tok->encode(ss.str(), true);
  auto model = model::LlamaModel::load(ck, lopt);
  engine::PerplexityResult r = engine::perplexity(*model, ids, context, stride);
  if (as_json) {
    Json out = {{"ppl", r.ppl},
                {"mean_nll", r.mean_nll},
                {"n_tokens", r.n_tokens},
                {"n_windows", r.n_windows},
                {"n_input_ids", r.n_input_ids},
                {"context", context},
                {"stride", stride}};
    std::printf("%s\n", out.dump().c_str());
  } else {
    std::printf(
        "perplexity %.4f (mean NLL %.6f over %lld tokens, %lld windows of %lld, stride %lld)\n",
        r.ppl, r.mean_nll, (long long)r.n_tokens, (long long)r.n_windows, (long long)context,
        (long long)stride);
  }
  return 0;
}

Registrar reg({.name = "perplexity",
               .summary = "sliding-window perplexity of a text file (CPU)",
               .usage = kUsage,
               .flags = {"json"},
               .run = run_perplexity});

}  // namespace
}  // namespace qinfer::cli

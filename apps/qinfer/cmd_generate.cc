// `qinfer generate`: one prompt through the model (GPU when present), text streamed to stdout (or one
// JSON object with --json). Sampling defaults come from generation_config.json for every
// field the user leaves out, as vLLM does.
#include <cstdio>
#include <optional>
#include <sstream>

#include "cli.h"
#include "core/error.h"
#include "core/json.h"
#include "engine/generator.h"
#include "io/checkpoint.h"
#include "io/default_model.h"
#include "model/llama.h"
#include "tokenizer/chat_template.h"
#include "tokenizer/tokenizer.h"

namespace qinfer::cli {
namespace {

const char* kUsage = R"(qinfer generate [--model DIR|FILE.gguf] --prompt TEXT [options]

Generates a completion and streams it to stdout.

  --model PATH              checkpoint directory or .gguf (default: the embedded default model)
  --prompt TEXT             the prompt (encoded with BOS, as transformers does)
  --prompt-ids 1,2,3        token ids instead of --prompt
  --tokenizer DIR           tokenizer files from another directory
  --chat                    make the prompt one user message under the model's chat template
  --max-tokens N            most tokens to generate (default 256)
  --temperature T           0 = greedy (default: generation_config.json, else 1.0)
  --top-p P, --top-k K, --min-p P, --repetition-penalty R
                            (defaults: generation_config.json, else off)
  --presence-penalty X, --frequency-penalty X   OpenAI semantics, default 0
  --seed S                  reproducible sampling
  --stop STR                stop string, may repeat; it is not part of the output
  --stop-token-id ID        stop token id, may repeat (the model's EOS ids always stop)
  --ignore-eos              keep going past EOS
  --json                    print {prompt_ids, completion_ids, text, finish_reason} instead
  --device auto|cpu|cuda    where the model runs (default auto: cuda when a GPU is present)
  --kv-cache-dtype auto|bf16|fp8|f32   (default auto: BF16 on cuda, F32 on cpu))";

std::vector<int32_t> parse_ids(const std::string& s) {
  std::vector<int32_t> ids;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ',')) {
    char* end = nullptr;
    long v = std::strtol(item.c_str(), &end, 10);
    QINFER_CHECK(!item.empty() && *end == '\0', "--prompt-ids: '", item, "' is not an integer");
    ids.push_back(int32_t(v));
  }
  return ids;
}

// User value, else generation_config.json's, else `fallback`.
template <typename T, typename U>
T pick(std::optional<double> user, const std::optional<U>& gen, T fallback) {
  if (user) return T(*user);
  if (gen) return T(*gen);
  return fallback;
}

engine::SamplingParams sampling_from(Args& args, const io::GenerationConfig& g) {
  engine::SamplingParams p{
      .temperature = pick<float>(args.get_double_opt("temperature"), g.temperature, 1.0f),
      .top_k = pick<int64_t>(args.get_double_opt("top-k"), g.top_k, int64_t(0)),
      .top_p = pick<float>(args.get_double_opt("top-p"), g.top_p, 1.0f),
      .min_p = pick<float>(args.get_double_opt("min-p"), g.min_p, 0.0f),
      .repetition_penalty =
          pick<float>(args.get_double_opt("repetition-penalty"), g.repetition_penalty, 1.0f),
      .presence_penalty = float(args.get_double("presence-penalty", 0.0)),
      .frequency_penalty = float(args.get_double("frequency-penalty", 0.0)),
  };
  if (auto s = args.get_int_opt("seed")) p.seed = uint64_t(*s);
  return p;
}

int run_generate(Args& args) {
  const std::string model_path = args.get_or("model", "");
  const auto prompt = args.get("prompt");
  const auto prompt_ids_arg = args.get("prompt-ids");
  const auto tok_dir = args.get("tokenizer");
  const bool chat = args.flag("chat"), as_json = args.flag("json");
  engine::ModelFiles files = engine::open_model_files(
      model_path.empty() ? io::default_model_path() : model_path, tok_dir.value_or(""));
  const io::Checkpoint& ck = files.ck;
  engine::GenerateOptions opt{
      .sampling = sampling_from(args, ck.generation),
      .max_tokens = args.get_int("max-tokens", 256),
      .stop_token_ids = {},
      .stop = args.get_all("stop"),
      .ignore_eos = args.flag("ignore-eos"),
  };
  for (const std::string& s : args.get_all("stop-token-id"))
    opt.stop_token_ids.push_back(parse_ids(s)[0]);
  const std::string device = args.get_or("device", "auto");
  const std::string kv_dtype = args.get_or("kv-cache-dtype", "auto");
  args.finish();
  const model::LoadOptions lopt{.device = parse_device(device),
                                .kv_cache_dtype = parse_kv_cache_dtype(kv_dtype)};
  QINFER_CHECK(prompt.has_value() != prompt_ids_arg.has_value(),
               "give exactly one of --prompt and --prompt-ids (see --help)");
  const std::unique_ptr<tokenizer::Tokenizer>& tok = files.tok;
  QINFER_CHECK(!chat || prompt, "--chat needs --prompt");
  std::vector<int32_t> ids;
  if (chat) {
    // As vLLM's chat path: render the template, then encode without adding BOS again (the
    // template writes it).
    tokenizer::ChatTemplateInput in{
        .messages = Json::array({Json{{"role", "user"}, {"content", *prompt}}}),
        .tools = Json(),
        .add_generation_prompt = true,
        .kwargs = Json::object()};
    ids = tok->encode(tokenizer::apply_chat_template(*tok, in), false);
  } else {
    ids = prompt ? tok->encode(*prompt, true) : parse_ids(*prompt_ids_arg);
  }
  auto model = model::LlamaModel::load(ck, lopt);
  engine::Generator gen(*model, *tok, engine::eos_token_ids(ck.config, ck.generation));
  engine::StreamCallback stream = nullptr;
  if (!as_json)
    stream = [](std::string_view piece) {
      std::fwrite(piece.data(), 1, piece.size(), stdout);
      std::fflush(stdout);
    };
  engine::GenerateResult r = gen.generate(ids, opt, stream);
  if (as_json) {
    Json out = {{"prompt_ids", r.prompt_ids},
                {"completion_ids", r.completion_ids},
                {"text", r.text},
                {"finish_reason", r.finish_reason}};
    std::printf("%s\n", out.dump(-1, ' ', false, Json::error_handler_t::replace).c_str());
  } else {
    std::printf("\n");
  }
  return 0;
}

Registrar reg({.name = "generate",
               .summary = "generate a completion for a prompt",
               .usage = kUsage,
               .flags = {"chat", "json", "ignore-eos"},
               .run = run_generate});

}  // namespace
}  // namespace qinfer::cli

// `qinfer chat`: an interactive conversation with a model on the CPU. Every turn renders the
// whole conversation with the model's chat template (as vLLM's chat endpoint does), encodes it
// without adding BOS again, and streams the reply. When stdin is not a terminal it reads a
// conversation instead: a JSON list of messages (or {"messages": [...]}) gets one assistant
// reply; plain text gets one reply per non-empty line.
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <iterator>
#include <optional>
#include <string>

#include "cli.h"
#include "core/error.h"
#include "core/json.h"
#include "engine/generator.h"
#include "io/checkpoint.h"
#include "io/default_model.h"
#include "model/llama.h"
#include "tokenizer/chat_template.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/tool_calls.h"

namespace qinfer::cli {
namespace {

const char* kUsage = R"(qinfer chat [--model DIR|FILE.gguf] [options]

Interactive chat: type a message, the reply streams back. /reset clears the conversation,
/exit (or end of input) quits. With stdin not a terminal, reads a JSON list of messages (or
{"messages": [...]}) and prints the next assistant reply, or one reply per line of plain text.

  --model PATH          checkpoint directory or .gguf (default: the embedded default model)
  --tokenizer DIR       tokenizer files from another directory
  --system TEXT         a system message at the start of the conversation
  --tools FILE          JSON list of tool schemas passed to the template; tool calls in the
                        reply are printed as OpenAI tool_calls JSON
  --max-tokens N        most tokens per reply (default 512)
  --temperature T, --top-p P, --top-k K   (defaults: generation_config.json)
  --seed S              reproducible sampling
  --device auto|cpu|cuda    where the model runs (default auto: cuda when a GPU is present))";

struct ChatSession {
  model::LlamaModel& model;
  const tokenizer::Tokenizer& tok;
  engine::Generator& gen;
  engine::GenerateOptions opt;
  Json tools;
  Json messages = Json::array();
};

// Generates the assistant's next message for s.messages, streaming it to stdout.
void reply(ChatSession& s) {
  tokenizer::ChatTemplateInput in{.messages = s.messages,
                                  .tools = s.tools,
                                  .add_generation_prompt = true,
                                  .kwargs = Json::object()};
  std::vector<int32_t> ids = s.tok.encode(tokenizer::apply_chat_template(s.tok, in), false);
  engine::GenerateResult r = s.gen.generate(ids, s.opt, [](std::string_view piece) {
    std::fwrite(piece.data(), 1, piece.size(), stdout);
    std::fflush(stdout);
  });
  std::printf("\n");
  Json msg = {{"role", "assistant"}, {"content", r.text}};
  if (!s.tools.is_null()) {
    tokenizer::ParsedToolOutput p = tokenizer::parse_llama3_tool_calls(r.text);
    if (p.tools_called()) {
      Json calls = Json::array();
      for (const auto& c : p.tool_calls)
        calls.push_back({{"id", c.id},
                         {"type", c.type},
                         {"function", {{"name", c.name}, {"arguments", c.arguments}}}});
      std::printf("tool_calls: %s\n",
                  calls.dump(-1, ' ', false, Json::error_handler_t::replace).c_str());
      // The template expects arguments as an object when it renders the call back.
      Json template_calls = Json::array();
      for (const auto& c : p.tool_calls)
        template_calls.push_back(
            {{"id", c.id},
             {"type", c.type},
             {"function", {{"name", c.name}, {"arguments", Json::parse(c.arguments)}}}});
      msg = {{"role", "assistant"}, {"tool_calls", template_calls}};
    }
  }
  s.messages.push_back(msg);
}

void interactive(ChatSession& s, const Json& initial) {
  std::string line;
  while (true) {
    std::printf("> ");
    std::fflush(stdout);
    if (!std::getline(std::cin, line)) break;
    if (line == "/exit" || line == "/quit") break;
    if (line == "/reset") {
      s.messages = initial;
      continue;
    }
    if (line.empty()) continue;
    s.messages.push_back({{"role", "user"}, {"content", line}});
    reply(s);
  }
  std::printf("\n");
}

void from_stdin(ChatSession& s) {
  std::string all((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
  Json conv = Json::parse(all, nullptr, /*allow_exceptions=*/false);
  if (conv.is_object() && conv.contains("messages")) conv = conv["messages"];
  if (conv.is_array()) {
    for (const Json& m : conv) s.messages.push_back(m);
    reply(s);
    return;
  }
  std::istringstream lines(all);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.empty()) continue;
    s.messages.push_back({{"role", "user"}, {"content", line}});
    reply(s);
  }
}

int run_chat(Args& args) {
  const std::string model_path = args.get_or("model", "");
  const auto tok_dir = args.get("tokenizer");
  const auto system = args.get("system");
  const auto tools_path = args.get("tools");
  io::Checkpoint ck =
      io::open_checkpoint(model_path.empty() ? io::default_model_path() : model_path);
  const io::GenerationConfig& g = ck.generation;
  engine::GenerateOptions opt{.max_tokens = args.get_int("max-tokens", 512)};
  opt.sampling.temperature =
      float(args.get_double_opt("temperature").value_or(g.temperature.value_or(1.0)));
  opt.sampling.top_p = float(args.get_double_opt("top-p").value_or(g.top_p.value_or(1.0)));
  opt.sampling.top_k = int64_t(args.get_double_opt("top-k").value_or(double(g.top_k.value_or(0))));
  if (auto seed = args.get_int_opt("seed")) opt.sampling.seed = uint64_t(*seed);
  const std::string device = args.get_or("device", "auto");
  args.finish();
  const Device dev = parse_device(device);
  std::unique_ptr<tokenizer::Tokenizer> tok =
      tok_dir ? tokenizer::Tokenizer::from_dir(*tok_dir)
              : tokenizer::Tokenizer::from_json(ck.tokenizer_json, ck.tokenizer_config);
  QINFER_CHECK(!tok->chat_template().empty(),
               "the model has no chat template (tokenizer_config.json)");
  auto model = model::LlamaModel::load(ck, {.device = dev});
  engine::Generator gen(*model, *tok, engine::eos_token_ids(ck.config, ck.generation));
  ChatSession s{.model = *model,
                .tok = *tok,
                .gen = gen,
                .opt = opt,
                .tools = tools_path ? read_json_file(*tools_path) : Json()};
  if (system) s.messages.push_back({{"role", "system"}, {"content", *system}});
  Json initial = s.messages;
  if (isatty(STDIN_FILENO)) {
    interactive(s, initial);
  } else {
    from_stdin(s);
  }
  return 0;
}

Registrar reg({.name = "chat",
               .summary = "chat with a model interactively (CPU), using its chat template",
               .usage = kUsage,
               .flags = {},
               .run = run_chat});

}  // namespace
}  // namespace qinfer::cli

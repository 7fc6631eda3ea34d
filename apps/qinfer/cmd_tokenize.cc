// `qinfer tokenize`: token ids of a text with a model's tokenizer (tokenizer files only are
// enough). --jsonl is a batch mode for differential tests: one JSON string per stdin line in,
// one JSON object per line out.
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>

#include "cli.h"
#include "core/error.h"
#include "core/json.h"
#include "tokenizer/chat_template.h"
#include "tokenizer/tokenizer.h"

namespace qinfer::cli {
namespace {

using tokenizer::Tokenizer;

Json token_strings(const Tokenizer& tok, const std::vector<int32_t>& ids) {
  Json tokens = Json::array();
  for (int32_t id : ids) tokens.push_back(tok.id_to_token(id));
  return tokens;
}

std::string dump(const Json& j) {
  // Replace invalid UTF-8 instead of throwing: the output must never crash on odd input.
  return j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

// Each line: a JSON string to encode. Output per line: ids, the decode of those ids (with and
// without special tokens) and the text an IncrementalDecoder streams for them.
int run_jsonl(const Tokenizer& tok, bool add_special) {
  std::string line;
  while (std::getline(std::cin, line)) {
    if (line.empty()) continue;
    std::string text = Json::parse(line).get<std::string>();
    std::vector<int32_t> ids = tok.encode(text, add_special);
    auto stream = [&](bool skip) {
      tokenizer::IncrementalDecoder inc(tok, skip);
      std::string s;
      for (int32_t id : ids) s += inc.push(id);
      return s + inc.flush();
    };
    Json out = {{"ids", ids},
                {"decoded", tok.decode(ids, false)},
                {"decoded_skip", tok.decode(ids, true)},
                {"streamed", stream(false)},
                {"streamed_skip", stream(true)}};
    std::cout << dump(out) << "\n";
  }
  std::cout.flush();
  return 0;
}

// Each line: {"template", "messages", "tools", "add_generation_prompt", "kwargs", "bos_token",
// "eos_token"}; "template" defaults to the model's. Output per line: {"text"} or {"error"}.
int run_chat_jsonl(const Tokenizer* tok) {
  std::string line;
  while (std::getline(std::cin, line)) {
    if (line.empty()) continue;
    Json req = Json::parse(line);
    tokenizer::ChatTemplateInput in{
        .messages = req.value("messages", Json::array()),
        .tools = req.value("tools", Json()),
        .add_generation_prompt = req.value("add_generation_prompt", true),
        .kwargs = req.value("kwargs", Json::object())};
    Json out;
    try {
      if (req.contains("template")) {
        out["text"] =
            tokenizer::render_chat_template(req["template"].get<std::string>(), in,
                                            req.value("bos_token", ""), req.value("eos_token", ""));
      } else {
        QINFER_CHECK(tok, "--chat-jsonl: no \"template\" and no --model");
        out["text"] = tokenizer::apply_chat_template(*tok, in);
      }
    } catch (const Error& e) {
      out = {{"error", e.what()}};
    }
    std::cout << dump(out) << "\n";
  }
  std::cout.flush();
  return 0;
}

int run_tokenize(Args& args) {
  if (args.flag("chat-jsonl")) {
    auto model = args.get("model");
    args.finish();
    auto tok = model ? Tokenizer::from_dir(*model) : nullptr;
    return run_chat_jsonl(tok.get());
  }
  std::string model = args.require("model");
  auto text = args.get("text");
  auto file = args.get("file");
  bool add_special = !args.flag("no-special");
  bool as_json = args.flag("json");
  bool jsonl = args.flag("jsonl");
  args.finish();
  auto tok = Tokenizer::from_dir(model);
  if (jsonl) return run_jsonl(*tok, add_special);
  QINFER_CHECK(text.has_value() != file.has_value(), "give exactly one of --text, --file, --jsonl");
  std::string input;
  if (text) {
    input = *text;
  } else {
    std::ifstream in(*file, std::ios::binary);
    QINFER_CHECK(in.good(), *file, ": cannot open");
    std::stringstream ss;
    ss << in.rdbuf();
    input = ss.str();
  }
  std::vector<int32_t> ids = tok->encode(input, add_special);
  if (as_json) {
    Json out = {{"ids", ids}, {"tokens", token_strings(*tok, ids)}, {"count", ids.size()}};
    std::printf("%s\n", dump(out).c_str());
    return 0;
  }
  for (size_t i = 0; i < ids.size(); ++i) std::printf("%s%d", i ? " " : "", ids[i]);
  std::printf("\n");
  return 0;
}

Registrar reg({.name = "tokenize",
               .summary = "print the token ids of a text",
               .usage = "qinfer tokenize --model DIR (--text T | --file F | --jsonl) "
                        "[--no-special] [--json]\n"
                        "  --model DIR    a model or tokenizer directory (tokenizer.json)\n"
                        "  --text T       the text to encode\n"
                        "  --file F       encode the contents of file F\n"
                        "  --jsonl        batch: each stdin line a JSON string; prints one JSON\n"
                        "                 object per line (ids, decoded, decoded_skip, streamed,\n"
                        "                 streamed_skip)\n"
                        "  --chat-jsonl   batch: each stdin line a chat-template request (JSON);\n"
                        "                 prints {\"text\"} or {\"error\"} per line\n"
                        "  --no-special   do not add BOS (the post-processor's tokens)\n"
                        "  --json         print {\"ids\", \"tokens\", \"count\"}",
               .flags = {"no-special", "json", "jsonl", "chat-jsonl"},
               .run = run_tokenize});

}  // namespace
}  // namespace qinfer::cli

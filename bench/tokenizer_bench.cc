// Tokenizer benchmark driver (bench/tokenizer_bench.py runs it beside the PyPI `tokenizers`
// package and prints the comparison):
//   tokenizer_bench encode MODEL_DIR TEXTS_JSON [MIN_SECONDS]
//     encodes each string of the JSON list in turn (single thread), repeating passes for at
//     least MIN_SECONDS; prints {"bytes", "tokens", "passes", "seconds_per_pass", "mb_per_s"}.
//   tokenizer_bench template MODEL_DIR [N]
//     renders the model's chat template for a 10-message conversation N times; prints
//     {"median_us", "p90_us", "chars"}.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/json.h"
#include "tokenizer/chat_template.h"
#include "tokenizer/tokenizer.h"

namespace {

using qinfer::Json;
using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

int bench_encode(const std::string& model, const std::string& texts_path, double min_seconds) {
  auto tok = qinfer::tokenizer::Tokenizer::from_dir(model);
  std::vector<std::string> texts =
      qinfer::read_json_file(texts_path).get<std::vector<std::string>>();
  size_t bytes = 0, tokens = 0;
  for (const auto& t : texts) bytes += t.size();
  for (const auto& t : texts) tokens += tok->encode(t, false).size();  // warm-up pass
  int passes = 0;
  auto t0 = Clock::now();
  size_t sink = 0;
  do {
    for (const auto& t : texts) sink += tok->encode(t, false).size();
    ++passes;
  } while (seconds_since(t0) < min_seconds);
  double per_pass = seconds_since(t0) / passes;
  Json out = {{"bytes", bytes},
              {"tokens", tokens},
              {"passes", passes},
              {"seconds_per_pass", per_pass},
              {"mb_per_s", double(bytes) / 1e6 / per_pass},
              {"check", sink / size_t(passes)}};
  std::printf("%s\n", out.dump().c_str());
  return 0;
}

Json conversation() {
  Json messages = Json::array();
  messages.push_back(
      {{"role", "system"}, {"content", "You are a helpful assistant. Answer briefly."}});
  for (int i = 0; i < 9; ++i) {
    bool user = i % 2 == 0;
    messages.push_back(
        {{"role", user ? "user" : "assistant"},
         {"content", user ? "Can you explain how attention works in transformers, "
                            "with a short example? Turn " +
                                std::to_string(i)
                          : "Attention weighs every token of the context by its "
                            "relevance to the current one: softmax(QK^T/sqrt(d))V. "
                            "For example, in 'the cat sat', 'sat' attends to 'cat'."}});
  }
  return messages;
}

int bench_template(const std::string& model, int n) {
  auto tok = qinfer::tokenizer::Tokenizer::from_dir(model);
  qinfer::tokenizer::ChatTemplateInput in{.messages = conversation(),
                                          .tools = Json(),
                                          .add_generation_prompt = true,
                                          .kwargs = Json::object()};
  size_t chars = qinfer::tokenizer::apply_chat_template(*tok, in).size();  // parses + caches
  std::vector<double> us;
  for (int i = 0; i < n; ++i) {
    auto t0 = Clock::now();
    chars = qinfer::tokenizer::apply_chat_template(*tok, in).size();
    us.push_back(seconds_since(t0) * 1e6);
  }
  std::sort(us.begin(), us.end());
  Json out = {{"median_us", us[us.size() / 2]},
              {"p90_us", us[us.size() * 9 / 10]},
              {"chars", chars},
              {"messages", in.messages.size()}};
  std::printf("%s\n", out.dump().c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    std::string mode = argc > 1 ? argv[1] : "";
    if (mode == "encode" && argc >= 4)
      return bench_encode(argv[2], argv[3], argc > 4 ? std::atof(argv[4]) : 2.0);
    if (mode == "template" && argc >= 3)
      return bench_template(argv[2], argc > 3 ? std::atoi(argv[3]) : 2000);
    std::fprintf(stderr,
                 "usage: tokenizer_bench encode MODEL_DIR TEXTS_JSON [MIN_SECONDS]\n"
                 "       tokenizer_bench template MODEL_DIR [N]\n");
    return 2;
  } catch (const qinfer::Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}

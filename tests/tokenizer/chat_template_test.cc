// apply_chat_template against transformers' own apply_chat_template(tokenize=False) for the
// official Llama 3.1 template (fixture by tools/tokenizer_make_chat_fixture.py), plus the
// prompt token ids, and template error reporting.
#include <gtest/gtest.h>

#include "core/error.h"
#include "core/json.h"
#include "tokenizer/chat_template.h"
#include "tokenizer/tokenizer.h"

namespace qinfer::tokenizer {
namespace {

const Tokenizer& llama3() {
  static auto t =
      Tokenizer::from_dir(std::string(QINFER_SHARED_DIR) + "/models/llama3.1-tokenizer");
  return *t;
}

// First differing byte, with context, for a readable failure.
std::string first_difference(const std::string& a, const std::string& b) {
  size_t i = 0;
  while (i < a.size() && i < b.size() && a[i] == b[i]) ++i;
  size_t from = i > 20 ? i - 20 : 0;
  return str_cat("at byte ", i, ": ours '", a.substr(from, 60), "' vs '", b.substr(from, 60), "'");
}

TEST(ChatTemplate, Llama31MatchesTransformers) {
  Json cases =
      read_json_file(std::string(QINFER_SOURCE_DIR) + "/tests/tokenizer/data/hf_chat_llama31.json");
  ASSERT_GE(cases.size(), 10u);
  for (const Json& c : cases) {
    ChatTemplateInput in{.messages = c["messages"],
                         .tools = c["tools"],
                         .add_generation_prompt = c["add_generation_prompt"].get<bool>(),
                         .kwargs = c["kwargs"]};
    const std::string name = c["name"].get<std::string>();
    if (c.contains("error")) {
      try {
        apply_chat_template(llama3(), in);
        ADD_FAILURE() << name << ": transformers raised '" << c["error"].get<std::string>()
                      << "', we did not";
      } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find(c["error"].get<std::string>()), std::string::npos)
            << e.what();
        EXPECT_NE(std::string(e.what()).find("chat template line "), std::string::npos) << e.what();
      }
      continue;
    }
    std::string text = apply_chat_template(llama3(), in);
    const std::string want = c["text"].get<std::string>();
    EXPECT_EQ(text, want) << name << ": " << first_difference(text, want);
    EXPECT_EQ(llama3().encode(text, false), c["ids"].get<std::vector<int32_t>>()) << name;
  }
}

TEST(ChatTemplate, ErrorsNameTheLine) {
  ChatTemplateInput in{.messages = Json::array(),
                       .tools = Json(),
                       .add_generation_prompt = true,
                       .kwargs = Json::object()};
  auto error_of = [&](const std::string& tmpl) -> std::string {
    try {
      render_chat_template(tmpl, in, "<s>", "</s>");
    } catch (const Error& e) {
      return e.what();
    }
    return "";
  };
  EXPECT_NE(error_of("line 1\n{{ raise_exception('boom') }}").find("line 2: boom"),
            std::string::npos);
  EXPECT_NE(error_of("a\nb\n{% if %}").find("line 3"), std::string::npos);
  EXPECT_NE(error_of("{% for x in y %}").find("unclosed 'for'"), std::string::npos);
  EXPECT_NE(error_of("{{ x | nosuchfilter }}").find("nosuchfilter"), std::string::npos);
  EXPECT_NE(error_of("{% frobnicate %}").find("frobnicate"), std::string::npos);
  EXPECT_NE(error_of("{{ 'unterminated }}").find("unterminated"), std::string::npos);
  EXPECT_EQ(error_of("{{ messages | length }}"), "");
  // Hostile nesting is an error, not a stack overflow.
  EXPECT_NE(error_of("{{ " + std::string(100000, '(') + "1" + std::string(100000, ')') + " }}")
                .find("nested too deeply"),
            std::string::npos);
  std::string blocks;
  for (int i = 0; i < 5000; ++i) blocks += "{% if true %}";
  EXPECT_NE(error_of(blocks).find("nested too deeply"), std::string::npos);
}

TEST(ChatTemplate, NoTemplateIsAnError) {
  auto tok = Tokenizer::from_dir(std::string(QINFER_SHARED_DIR) + "/models/llama2-tokenizer");
  ChatTemplateInput in{.messages = Json::array({{{"role", "user"}, {"content", "hi"}}}),
                       .tools = Json(),
                       .add_generation_prompt = true,
                       .kwargs = Json::object()};
  EXPECT_THROW(apply_chat_template(*tok, in), Error);
}

}  // namespace
}  // namespace qinfer::tokenizer

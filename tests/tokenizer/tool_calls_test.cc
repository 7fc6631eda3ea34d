// Llama 3.x tool-call parsing, whole and streamed token by token through the real Llama 3.1
// tokenizer. Expected arguments are written as Python's json.dumps(..., ensure_ascii=False)
// prints them (vLLM's llama3_json parser output).
#include <gtest/gtest.h>

#include "tokenizer/tokenizer.h"
#include "tokenizer/tool_calls.h"

namespace qinfer::tokenizer {
namespace {

const Tokenizer& llama3() {
  static auto t =
      Tokenizer::from_dir(std::string(QINFER_SHARED_DIR) + "/models/llama3.1-tokenizer");
  return *t;
}

struct Expected {
  std::string name;
  std::string arguments;
};

// What a client assembles from streamed deltas.
struct Assembled {
  std::string content;
  std::vector<ToolCallDelta> firsts;
  std::vector<std::string> arguments;
};

void apply(Assembled& a, const StreamDelta& d) {
  a.content += d.content;
  for (const ToolCallDelta& t : d.tool_calls) {
    if (t.first) {
      ASSERT_EQ(size_t(t.index), a.firsts.size()) << "tool call indices must be 0, 1, ...";
      EXPECT_TRUE(t.id.rfind("call_", 0) == 0) << t.id;
      EXPECT_FALSE(t.name.empty());
      a.firsts.push_back(t);
      a.arguments.emplace_back();
    } else {
      ASSERT_LT(size_t(t.index), a.firsts.size()) << "arguments before the call's first delta";
      EXPECT_TRUE(t.id.empty() && t.name.empty());
    }
    a.arguments[size_t(t.index)] += t.arguments;
  }
}

// Streams `output` token by token (decoded incrementally, with or without special tokens).
Assembled stream(const std::string& output, bool skip_special) {
  const Tokenizer& tok = llama3();
  auto ids = tok.encode(output, false);
  IncrementalDecoder dec(tok, skip_special);
  ToolCallStreamParser parser;
  Assembled a;
  for (int32_t id : ids) apply(a, parser.push(dec.push(id)));
  apply(a, parser.push(dec.flush()));
  apply(a, parser.finish());
  return a;
}

void check(const std::string& output, const std::vector<Expected>& want,
           const std::string& want_content) {
  for (bool skip : {false, true}) {
    std::string decoded = llama3().decode(llama3().encode(output, false), skip);
    ParsedToolOutput p = parse_llama3_tool_calls(decoded);
    ASSERT_EQ(p.tool_calls.size(), want.size()) << decoded;
    EXPECT_EQ(p.content, want.empty() ? (want_content.empty() ? decoded : want_content) : "");
    for (size_t i = 0; i < want.size(); ++i) {
      EXPECT_EQ(p.tool_calls[i].name, want[i].name);
      EXPECT_EQ(p.tool_calls[i].arguments, want[i].arguments);
      EXPECT_EQ(p.tool_calls[i].type, "function");
      EXPECT_EQ(p.tool_calls[i].id.size(), 29u);
    }
    Assembled a = stream(output, skip);
    ASSERT_EQ(a.firsts.size(), want.size()) << "streamed: " << decoded;
    for (size_t i = 0; i < want.size(); ++i) {
      EXPECT_EQ(a.firsts[i].name, want[i].name);
      EXPECT_EQ(a.arguments[i], want[i].arguments) << "streamed arguments of call " << i;
    }
    EXPECT_EQ(a.content, p.content) << "streamed content";
  }
}

TEST(ToolCalls, CustomJsonCall) {
  check(
      R"({"name": "get_current_weather", "parameters": {"location": "Zürich, CH", "unit": "celsius"}}<|eot_id|>)",
      {{"get_current_weather", R"({"location": "Zürich, CH", "unit": "celsius"})"}}, "");
}

TEST(ToolCalls, ArgumentsKeyCompactJsonAndPythonTag) {
  check(
      R"(<|python_tag|>{"name":"f","arguments":{"n":1.50,"xs":[1,2,{"k":null}],"ok":true,"s":"a\"b\u00e9"}}<|eom_id|>)",
      {{"f", R"({"n": 1.5, "xs": [1, 2, {"k": null}], "ok": true, "s": "a\"bé"})"}}, "");
}

TEST(ToolCalls, SeveralCallsSeparatedBySemicolons) {
  check(
      R"({"name": "a", "parameters": {"x": 1}}; {"name": "b", "parameters": {}};{"name": "c", "parameters": {"y": "z"}})",
      {{"a", R"({"x": 1})"}, {"b", "{}"}, {"c", R"({"y": "z"})"}}, "");
}

TEST(ToolCalls, BuiltinToolCall) {
  check(R"(<|python_tag|>brave_search.call(query="current weather in Menlo Park, CA")<|eom_id|>)",
        {{"brave_search", R"({"query": "current weather in Menlo Park, CA"})"}}, "");
  check(R"(<|python_tag|>wolfram_alpha.call(query="solve x^2 = 4", n=2)<|eom_id|>)",
        {{"wolfram_alpha", R"({"query": "solve x^2 = 4", "n": 2})"}}, "");
}

TEST(ToolCalls, CodeInterpreter) {
  ParsedToolOutput p =
      parse_llama3_tool_calls("<|python_tag|>import math\nprint(math.pi)<|eom_id|>");
  ASSERT_EQ(p.tool_calls.size(), 1u);
  EXPECT_EQ(p.tool_calls[0].name, "code_interpreter");
  EXPECT_EQ(p.tool_calls[0].arguments, R"J({"code": "import math\nprint(math.pi)"})J");
}

TEST(ToolCalls, PlainTextStaysContent) {
  check("The weather in Zürich is sunny, 21 °C. {not a call}", {}, "");
  check("Hello.call me maybe", {}, "");
  check("   ", {}, "");
}

TEST(ToolCalls, MalformedJsonIsContentNeverACrash) {
  for (const char* bad :
       {R"({"name": "f", "parameters": {"x": 1})", R"({"name": "f"})",
        R"({"name": 3, "parameters": {}})", R"({"name": "f", "parameters": {"x": 1}} trailing)",
        "{", "{\"", R"({"name": "f", "parameters": {"x": tru}})", "\xFF\xFE{"}) {
    ParsedToolOutput p = parse_llama3_tool_calls(bad);
    EXPECT_FALSE(p.tools_called()) << bad;
    EXPECT_EQ(p.content, bad);
    // Streaming is optimistic: once a call's name went out it cannot be taken back, so a
    // call that breaks later ends the stream without content; otherwise the text comes back.
    ToolCallStreamParser s;
    Assembled a;
    for (const char* c = bad; *c; ++c) apply(a, s.push(std::string(1, *c)));
    apply(a, s.finish());
    if (a.firsts.empty()) {
      EXPECT_EQ(a.content, bad) << "streamed malformed output must come back as content";
    } else {
      EXPECT_EQ(a.content, "") << bad;
    }
  }
}

TEST(ToolCalls, StreamingEmitsNameBeforeArgumentsAndContentEarly) {
  ToolCallStreamParser s;
  StreamDelta d = s.push("{\"name\": \"get_weather\", \"parameters\": {\"city\": \"Paris\"");
  ASSERT_EQ(d.tool_calls.size(), 2u);
  EXPECT_TRUE(d.tool_calls[0].first);
  EXPECT_EQ(d.tool_calls[0].name, "get_weather");
  EXPECT_EQ(d.tool_calls[0].arguments, "");
  EXPECT_EQ(d.tool_calls[1].arguments, "{\"city\": \"Paris\"");
  d = s.push(", \"days\": 3}}");
  ASSERT_EQ(d.tool_calls.size(), 1u);
  EXPECT_EQ(d.tool_calls[0].arguments, ", \"days\": 3}");

  ToolCallStreamParser c;
  EXPECT_EQ(c.push("Hel").content, "");  // could still be "Hel.call("
  EXPECT_EQ(c.push("lo wor").content, "Hello wor");
  EXPECT_EQ(c.push("ld").content, "ld");
  EXPECT_TRUE(c.finish().empty());
}

}  // namespace
}  // namespace qinfer::tokenizer

namespace qinfer::tokenizer {
namespace {

// String arguments stream character by character, escapes included, and the fragments add up
// to the canonical arguments string.
TEST(ToolCalls, StringArgumentsStreamAsTheyArrive) {
  const std::string out =
      R"({"name": "run", "parameters": {"code": "print(\"h\u00e9llo\")\nx = '\ud83d\ude00'\t", "n": 2}})";
  ParsedToolOutput whole = parse_llama3_tool_calls(out);
  ASSERT_EQ(whole.tool_calls.size(), 1u);
  EXPECT_EQ(whole.tool_calls[0].arguments, R"J({"code": "print(\"héllo\")\nx = '😀'\t", "n": 2})J");
  ToolCallStreamParser s;
  std::string args;
  int fragments = 0;
  for (char c : out) {
    for (const ToolCallDelta& d : s.push(std::string(1, c)).tool_calls) {
      if (!d.first && !d.arguments.empty()) {
        ++fragments;
        args += d.arguments;
      }
    }
  }
  for (const ToolCallDelta& d : s.finish().tool_calls) args += d.arguments;
  EXPECT_EQ(args, whole.tool_calls[0].arguments);
  EXPECT_GT(fragments, 20) << "the code string should stream in many pieces";
}

}  // namespace
}  // namespace qinfer::tokenizer

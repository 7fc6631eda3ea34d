// Tool calls in Llama 3.1 / 3.2 / 3.3 outputs, mapped to OpenAI's tool_calls:
//  - custom tools: {"name": "f", "parameters": {...}} (or "arguments"), optionally after
//    <|python_tag|>, several separated by ';' (vLLM's llama3_json parser);
//  - built-in tools: <|python_tag|>brave_search.call(query="...") ending with <|eom_id|>;
//  - code interpreter: <|python_tag|> followed by Python code -> code_interpreter {"code"}.
// Text that is not a tool call, or is malformed, stays content: parsing never throws.
// function.arguments is a JSON string formatted as Python's json.dumps(ensure_ascii=False).
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace qinfer::tokenizer {

struct ToolCall {
  std::string id;  // "call_" + 24 random alphanumerics
  std::string type = "function";
  std::string name;       // function.name
  std::string arguments;  // function.arguments (a JSON object, as a string)
};

struct ParsedToolOutput {
  std::string content;  // the text when no tool was called, else ""
  std::vector<ToolCall> tool_calls;
  bool tools_called() const { return !tool_calls.empty(); }
};

// Parses a finished output (decoded with or without special tokens).
ParsedToolOutput parse_llama3_tool_calls(std::string_view text);

// One streamed piece of a tool call, as in OpenAI's chat.completion.chunk
// choices[].delta.tool_calls[]: the first delta of a call carries id, type and name (and
// arguments ""); later deltas carry only an arguments fragment to append.
struct ToolCallDelta {
  int index = 0;
  std::string id{};    // first delta only
  std::string name{};  // first delta only
  std::string arguments{};
  bool first = false;
};

struct StreamDelta {
  std::string content;  // append to message content
  std::vector<ToolCallDelta> tool_calls;
  bool empty() const { return content.empty() && tool_calls.empty(); }
};

// Streaming parser: push() text deltas as they are detokenized, finish() at the end. Text is
// held back only while it may still start a tool call (leading whitespace, a prefix of
// <|python_tag|>, "{", or a "name.call(" prefix). The concatenated deltas equal
// parse_llama3_tool_calls() of the whole text (content, names, arguments).
class ToolCallStreamParser {
 public:
  ToolCallStreamParser();
  ~ToolCallStreamParser();
  StreamDelta push(std::string_view delta);
  StreamDelta finish();

  struct State;  // defined in tool_calls.cc

 private:
  std::unique_ptr<State> s_;
};

}  // namespace qinfer::tokenizer

// Chat output -> OpenAI tool calls. With tool_choice auto/required the text is parsed as
// Llama 3.1 tool calls (tokenizer/tool_calls.h: vLLM's llama3_json, built-in tools); with a named
// tool_choice the whole text is that tool's arguments (vLLM forces this with guided decoding;
// qinfer does not constrain decoding, so the arguments are whatever the model wrote).
#pragma once

#include <string>

#include "core/json.h"
#include "server/protocol.h"

namespace qinfer::server {

struct ToolOutput {
  std::string content;       // text outside the calls
  Json calls = Json::array();  // [{"id", "type": "function", "function": {"name", "arguments"}}]
};

ToolOutput extract_tool_calls(const std::string& text, const ParsedRequest& pr);

}  // namespace qinfer::server

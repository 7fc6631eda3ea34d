#include "server/tool_output.h"

#include "server/protocol.h"
#include "tokenizer/tool_calls.h"

namespace qinfer::server {
namespace {

Json openai_call(const std::string& name, const Json& args) {
  Json call = Json::object();
  call["id"] = random_id("chatcmpl-tool-");
  call["type"] = "function";
  call["function"] = Json{{"name", name},
                          {"arguments", args.is_string() ? args.get<std::string>()
                                                         : args.dump(-1, ' ', false,
                                                                     Json::error_handler_t::replace)}};
  return call;
}

}  // namespace

ToolOutput extract_tool_calls(const std::string& text, const ParsedRequest& pr) {
  ToolOutput out;
  if (pr.tool_choice == ToolChoice::kNamed) {
    out.calls.push_back(openai_call(pr.named_tool, text));
    return out;
  }
  tokenizer::ParsedToolOutput parsed = tokenizer::parse_llama3_tool_calls(text);
  out.content = parsed.content;
  for (const tokenizer::ToolCall& c : parsed.tool_calls) {
    Json call = Json::object();
    call["id"] = c.id;
    call["type"] = c.type;
    call["function"] = Json{{"name", c.name}, {"arguments", c.arguments}};
    out.calls.push_back(std::move(call));
  }
  return out;
}

}  // namespace qinfer::server

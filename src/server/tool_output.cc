#include "server/tool_output.h"

#include "server/protocol.h"

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

// vLLM's llama3_json parser: the output (after an optional <|python_tag|>) is one or more
// JSON objects {"name": ..., "parameters" | "arguments": {...}} separated by ";". Anything
// else is plain content.
Json parse_llama3_json(const std::string& text) {
  std::string s = text;
  const std::string tag = "<|python_tag|>";
  if (s.rfind(tag, 0) == 0) s = s.substr(tag.size());
  size_t a = s.find_first_not_of(" \t\r\n");
  if (a == std::string::npos || s[a] != '{') return Json::array();
  Json calls = Json::array();
  size_t pos = a;
  while (pos < s.size()) {
    size_t end = pos;
    int depth = 0;
    bool in_str = false, esc = false;
    for (; end < s.size(); ++end) {
      char c = s[end];
      if (in_str) {
        if (esc) esc = false;
        else if (c == '\\') esc = true;
        else if (c == '"') in_str = false;
      } else if (c == '"') {
        in_str = true;
      } else if (c == '{') {
        ++depth;
      } else if (c == '}' && --depth == 0) {
        break;
      }
    }
    if (end >= s.size()) return Json::array();
    Json obj = Json::parse(s.substr(pos, end + 1 - pos), nullptr, false);
    if (obj.is_discarded() || !obj.is_object() || !obj.contains("name") ||
        !obj["name"].is_string())
      return Json::array();
    Json args = obj.contains("parameters") ? obj["parameters"]
                : obj.contains("arguments") ? obj["arguments"] : Json::object();
    calls.push_back(openai_call(obj["name"].get<std::string>(), args));
    pos = s.find_first_not_of(" \t\r\n", end + 1);
    if (pos == std::string::npos) break;
    if (s[pos] != ';') return Json::array();
    pos = s.find_first_not_of(" \t\r\n", pos + 1);
    if (pos == std::string::npos) break;
  }
  return calls;
}

}  // namespace

ToolOutput extract_tool_calls(const std::string& text, const ParsedRequest& pr) {
  ToolOutput out;
  if (pr.tool_choice == ToolChoice::kNamed) {
    out.calls.push_back(openai_call(pr.named_tool, text));
    return out;
  }
  out.calls = parse_llama3_json(text);
  if (out.calls.empty()) out.content = text;
  return out;
}

}  // namespace qinfer::server

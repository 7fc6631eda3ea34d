#include "tokenizer/tool_calls.h"

#include <optional>
#include <random>

#include "core/json.h"
#include "tokenizer/jinja.h"
#include "tokenizer/unicode.h"

namespace qinfer::tokenizer {
namespace {

constexpr std::string_view kPythonTag = "<|python_tag|>";

bool is_ws(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}
size_t skip_ws(std::string_view s, size_t i) {
  while (i < s.size() && is_ws(s[i])) ++i;
  return i;
}
bool ident_start(char c) {
  return std::isalpha(static_cast<unsigned char>(c)) || c == '_';
}
bool ident_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
}

std::string new_call_id() {
  static const char kAlnum[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  thread_local std::mt19937_64 rng{std::random_device{}()};
  std::string id = "call_";
  for (int i = 0; i < 24; ++i) id += kAlnum[rng() % 62];
  return id;
}

// Drops trailing end-of-message tokens (present when decoded with special tokens).
std::string_view strip_end_tokens(std::string_view t) {
  while (true) {
    size_t e = t.size();
    while (e > 0 && is_ws(t[e - 1])) --e;
    t = t.substr(0, e);
    bool cut = false;
    for (std::string_view tok : {"<|eom_id|>", "<|eot_id|>", "<|end_of_text|>"}) {
      if (t.size() >= tok.size() && t.substr(t.size() - tok.size()) == tok) {
        t.remove_suffix(tok.size());
        cut = true;
      }
    }
    if (!cut) return t;
  }
}

enum class Scan { kComplete, kIncomplete, kError };

// End of the JSON value starting at s[i]; a number that reaches the end of the text is
// incomplete unless at_end.
Scan json_value_end(std::string_view s, size_t i, bool at_end, size_t* end) {
  if (i >= s.size()) return Scan::kIncomplete;
  char c = s[i];
  if (c == '"') {
    for (size_t j = i + 1; j < s.size(); ++j) {
      if (s[j] == '\\') {
        ++j;
      } else if (s[j] == '"') {
        *end = j + 1;
        return Scan::kComplete;
      }
    }
    return Scan::kIncomplete;
  }
  if (c == '{' || c == '[') {
    int depth = 0;
    for (size_t j = i; j < s.size(); ++j) {
      char d = s[j];
      if (d == '"') {
        size_t e;
        Scan r = json_value_end(s, j, at_end, &e);
        if (r != Scan::kComplete) return r;
        j = e - 1;
      } else if (d == '{' || d == '[') {
        ++depth;
      } else if (d == '}' || d == ']') {
        if (--depth == 0) {
          *end = j + 1;
          return Scan::kComplete;
        }
      }
    }
    return Scan::kIncomplete;
  }
  for (std::string_view lit : {"true", "false", "null"}) {
    if (c != lit[0]) continue;
    std::string_view have = s.substr(i, lit.size());
    if (have == lit) {
      *end = i + lit.size();
      return Scan::kComplete;
    }
    return lit.substr(0, have.size()) == have && i + have.size() == s.size() ? Scan::kIncomplete
                                                                             : Scan::kError;
  }
  if (c == '-' || std::isdigit(static_cast<unsigned char>(c))) {
    size_t j = i + 1;
    while (j < s.size() && (std::isdigit(static_cast<unsigned char>(s[j])) || s[j] == '.' ||
                            s[j] == 'e' || s[j] == 'E' || s[j] == '+' || s[j] == '-'))
      ++j;
    if (j == s.size() && !at_end) return Scan::kIncomplete;
    *end = j;
    return Scan::kComplete;
  }
  return Scan::kError;
}

// json.dumps(json.loads(raw), ensure_ascii=False), or nullopt when raw is not JSON.
std::optional<std::string> canonical(std::string_view raw) {
  try {
    return jinja::to_json(jinja::Value::from_json(Json::parse(raw)), -1);
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

std::optional<std::string> json_string_value(std::string_view raw) {
  try {
    Json j = Json::parse(raw);
    if (!j.is_string()) return std::nullopt;
    return j.get<std::string>();
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

// The content of an unterminated JSON string (s starts after the opening quote), decoded up to
// the last complete character: an escape or UTF-8 sequence cut by the end waits.
std::string partial_json_string(std::string_view s) {
  std::string out;
  size_t i = 0;
  auto hex4 = [&](size_t at, uint32_t* v) {
    if (at + 4 > s.size()) return false;
    *v = 0;
    for (size_t k = at; k < at + 4; ++k) {
      char c = s[k];
      int d = std::isdigit(static_cast<unsigned char>(c)) ? c - '0'
              : (c >= 'a' && c <= 'f')                    ? c - 'a' + 10
              : (c >= 'A' && c <= 'F')                    ? c - 'A' + 10
                                                          : -1;
      if (d < 0) return false;
      *v = *v * 16 + uint32_t(d);
    }
    return true;
  };
  while (i < s.size()) {
    if (s[i] != '\\') {
      out += s[i++];
      continue;
    }
    if (i + 1 >= s.size()) break;
    char e = s[i + 1];
    if (e != 'u') {
      static const std::string_view kFrom = "\"\\/bfnrt", kTo = "\"\\/\b\f\n\r\t";
      size_t k = kFrom.find(e);
      if (k == std::string_view::npos) break;  // invalid: the final parse decides
      out += kTo[k];
      i += 2;
      continue;
    }
    uint32_t cp;
    if (!hex4(i + 2, &cp)) break;
    size_t used = 6;
    if (cp >= 0xD800 && cp < 0xDC00) {  // a surrogate pair needs its second half
      uint32_t lo;
      if (i + 12 > s.size() || s[i + 6] != '\\' || s[i + 7] != 'u' || !hex4(i + 8, &lo)) break;
      cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
      used = 12;
    }
    append_utf8(out, cp);
    i += used;
  }
  out.resize(complete_utf8_prefix(out));
  return out;
}

// A partially received {"name": ..., "parameters": {...}} object. args is the stable prefix
// of the canonical arguments string: complete members only, "}" once the object closed.
struct CallScan {
  Scan status = Scan::kIncomplete;
  size_t end = 0;
  std::optional<std::string> name;
  std::string args;
  bool has_args = false;
  bool args_complete = false;
};

// Scans the arguments object at s[i] ('{'), appending canonical members to out.args.
Scan scan_args_object(std::string_view s, size_t& i, bool at_end, CallScan& out) {
  out.args = "{";
  bool first = true;
  ++i;
  while (true) {
    i = skip_ws(s, i);
    if (i >= s.size()) return Scan::kIncomplete;
    if (s[i] == '}') {
      out.args += "}";
      out.args_complete = true;
      ++i;
      return Scan::kComplete;
    }
    if (!first) {
      if (s[i] != ',') return Scan::kError;
      i = skip_ws(s, i + 1);
    }
    size_t kend, vend;
    Scan r = json_value_end(s, i, at_end, &kend);
    if (r != Scan::kComplete) return r;
    auto key = json_string_value(s.substr(i, kend - i));
    if (!key) return Scan::kError;
    size_t v = skip_ws(s, kend);
    if (v >= s.size()) return Scan::kIncomplete;
    if (s[v] != ':') return Scan::kError;
    v = skip_ws(s, v + 1);
    std::string member =
        (first ? "" : ", ") + jinja::to_json(jinja::Value::string(*key), -1) + ": ";
    r = json_value_end(s, v, at_end, &vend);
    if (r == Scan::kIncomplete && v < s.size() && s[v] == '"') {
      // A string value streams as it arrives: its canonical form so far is a prefix of the
      // final one (json.dumps escapes character by character).
      std::string quoted =
          jinja::to_json(jinja::Value::string(partial_json_string(s.substr(v + 1))), -1);
      out.args += member + quoted.substr(0, quoted.size() - 1);
      return r;
    }
    if (r != Scan::kComplete) return r;
    auto value = canonical(s.substr(v, vend - v));
    if (!value) return Scan::kError;
    out.args += member + *value;
    first = false;
    i = vend;
  }
}

CallScan scan_call(std::string_view s, size_t i, bool at_end) {
  CallScan out;
  auto done = [&](Scan st) {
    out.status = st;
    return out;
  };
  bool first = true;
  ++i;  // '{'
  while (true) {
    i = skip_ws(s, i);
    if (i >= s.size()) return done(Scan::kIncomplete);
    if (s[i] == '}') {
      out.end = i + 1;
      return done(out.name && out.has_args && out.args_complete ? Scan::kComplete : Scan::kError);
    }
    if (!first) {
      if (s[i] != ',') return done(Scan::kError);
      i = skip_ws(s, i + 1);
    }
    first = false;
    size_t kend, vend;
    Scan r = json_value_end(s, i, at_end, &kend);
    if (r != Scan::kComplete) return done(r);
    auto key = json_string_value(s.substr(i, kend - i));
    if (!key) return done(Scan::kError);
    size_t v = skip_ws(s, kend);
    if (v >= s.size()) return done(Scan::kIncomplete);
    if (s[v] != ':') return done(Scan::kError);
    v = skip_ws(s, v + 1);
    if (v >= s.size()) return done(Scan::kIncomplete);
    bool is_args = (*key == "parameters" || *key == "arguments") && !out.has_args;
    if (is_args) out.has_args = true;
    if (is_args && s[v] == '{') {
      r = scan_args_object(s, v, at_end, out);
      if (r != Scan::kComplete) return done(r);
      i = v;
      continue;
    }
    r = json_value_end(s, v, at_end, &vend);
    if (r != Scan::kComplete) return done(r);
    std::string_view raw = s.substr(v, vend - v);
    if (*key == "name") {
      out.name = json_string_value(raw);
      if (!out.name) return done(Scan::kError);
    } else if (is_args) {
      auto value = canonical(raw);
      if (!value) return done(Scan::kError);
      out.args = *value;
      out.args_complete = true;
    } else if (!canonical(raw)) {
      return done(Scan::kError);
    }
    i = vend;
  }
}

// {...}; {...} from s[i]; nullopt when anything is malformed.
std::optional<std::vector<ToolCall>> parse_json_calls(std::string_view s, size_t i) {
  std::vector<ToolCall> calls;
  while (true) {
    if (i >= s.size() || s[i] != '{') return std::nullopt;
    CallScan c = scan_call(s, i, /*at_end=*/true);
    if (c.status != Scan::kComplete) return std::nullopt;
    calls.push_back(ToolCall{.id = new_call_id(), .name = *c.name, .arguments = c.args});
    i = skip_ws(s, c.end);
    if (i >= s.size()) return calls;
    if (s[i] != ';') return std::nullopt;
    i = skip_ws(s, i + 1);
    if (i >= s.size()) return calls;
  }
}

// A Python literal argument of a built-in call: a string, number, True/False/None.
std::optional<jinja::Value> python_literal(std::string_view s, size_t& i) {
  if (i >= s.size()) return std::nullopt;
  char q = s[i];
  if (q == '"' || q == '\'') {
    std::string out;
    for (size_t j = i + 1; j < s.size(); ++j) {
      if (s[j] == '\\' && j + 1 < s.size()) {
        char e = s[++j];
        out += e == 'n' ? '\n' : e == 't' ? '\t' : e == 'r' ? '\r' : e;
      } else if (s[j] == q) {
        i = j + 1;
        return jinja::Value::string(std::move(out));
      } else {
        out += s[j];
      }
    }
    return std::nullopt;
  }
  size_t j = i;
  while (j < s.size() && !is_ws(s[j]) && s[j] != ',' && s[j] != ')') ++j;
  std::string_view word = s.substr(i, j - i);
  i = j;
  if (word == "True" || word == "False") return jinja::Value::boolean(word == "True");
  if (word == "None") return jinja::Value::none();
  auto v = canonical(word);
  if (!v) return std::nullopt;
  return jinja::Value::from_json(Json::parse(*v));
}

// name.call(k="v", ...) spanning all of s.
std::optional<ToolCall> parse_builtin_call(std::string_view s) {
  size_t i = skip_ws(s, 0);
  size_t start = i;
  if (i >= s.size() || !ident_start(s[i])) return std::nullopt;
  while (i < s.size() && ident_char(s[i])) ++i;
  std::string name(s.substr(start, i - start));
  if (s.substr(i, 6) != ".call(") return std::nullopt;
  i += 6;
  jinja::Value args = jinja::Value::new_dict();
  while (true) {
    i = skip_ws(s, i);
    if (i < s.size() && s[i] == ')') break;
    size_t k = i;
    while (i < s.size() && ident_char(s[i])) ++i;
    if (i == k) return std::nullopt;
    std::string key(s.substr(k, i - k));
    i = skip_ws(s, i);
    if (i >= s.size() || s[i] != '=') return std::nullopt;
    i = skip_ws(s, i + 1);
    auto v = python_literal(s, i);
    if (!v) return std::nullopt;
    args.dict->set(key, *v);
    i = skip_ws(s, i);
    if (i < s.size() && s[i] == ',') ++i;
  }
  if (skip_ws(s, i + 1) != s.size()) return std::nullopt;
  return ToolCall{.id = new_call_id(), .name = name, .arguments = jinja::to_json(args, -1)};
}

// Could s (from position i) still grow into "name.call("? Sets *full when it already has.
bool builtin_prefix(std::string_view s, size_t i, bool* full) {
  *full = false;
  if (i >= s.size()) return true;
  if (!ident_start(s[i])) return false;
  while (i < s.size() && ident_char(s[i])) ++i;
  std::string_view rest = s.substr(i);
  std::string_view call = ".call(";
  if (rest.size() >= call.size()) {
    *full = rest.substr(0, call.size()) == call;
    return *full;
  }
  return call.substr(0, rest.size()) == rest;
}

}  // namespace

ParsedToolOutput parse_llama3_tool_calls(std::string_view text) {
  ParsedToolOutput out;
  std::string_view t = strip_end_tokens(text);
  size_t i = skip_ws(t, 0);
  bool tagged = t.substr(i, kPythonTag.size()) == kPythonTag;
  if (tagged) i = skip_ws(t, i + kPythonTag.size());
  if (i < t.size() && t[i] == '{') {
    if (auto calls = parse_json_calls(t, i)) {
      out.tool_calls = std::move(*calls);
      return out;
    }
  } else if (auto call = parse_builtin_call(t.substr(i))) {
    out.tool_calls.push_back(std::move(*call));
    return out;
  } else if (tagged && i < t.size()) {
    jinja::Value args = jinja::Value::new_dict();
    args.dict->set("code", jinja::Value::string(std::string(t.substr(i))));
    out.tool_calls.push_back(ToolCall{
        .id = new_call_id(), .name = "code_interpreter", .arguments = jinja::to_json(args, -1)});
    return out;
  }
  out.content = std::string(text);
  return out;
}

// ----------------------------------------------------------------------------- streaming

struct ToolCallStreamParser::State {
  enum class Mode { kUndecided, kContent, kJson, kDeferred, kDone };
  Mode mode = Mode::kUndecided;
  std::string text;
  size_t content_sent = 0;
  size_t call_start = 0;  // kJson: the current call's '{'
  int index = 0;          // kJson: the current call's index
  bool name_sent = false;
  size_t args_sent = 0;
  bool any_tool_delta = false;
  std::string id;
};

ToolCallStreamParser::ToolCallStreamParser() : s_(std::make_unique<State>()) {}
ToolCallStreamParser::~ToolCallStreamParser() = default;

StreamDelta ToolCallStreamParser::push(std::string_view delta) {
  State& s = *s_;
  s.text += delta;
  StreamDelta out;
  using M = State::Mode;
  if (s.mode == M::kUndecided) {
    std::string_view t = s.text;
    size_t i = skip_ws(t, 0);
    if (i >= t.size()) return out;
    std::string_view rest = t.substr(i);
    bool tagged = rest.substr(0, kPythonTag.size()) == kPythonTag;
    if (!tagged && kPythonTag.substr(0, rest.size()) == rest) return out;  // maybe the tag
    if (tagged) {
      i = skip_ws(t, i + kPythonTag.size());
      if (i >= t.size()) return out;
    }
    bool full = false;
    if (t[i] == '{') {
      s.mode = M::kJson;
      s.call_start = i;
    } else if (tagged) {
      s.mode = M::kDeferred;  // built-in call or code: decided on the whole text
    } else if (builtin_prefix(t, i, &full)) {
      if (!full) return out;
      s.mode = M::kDeferred;
    } else {
      s.mode = M::kContent;
    }
  }
  if (s.mode == M::kContent) {
    out.content = s.text.substr(s.content_sent);
    s.content_sent = s.text.size();
    return out;
  }
  if (s.mode != M::kJson) return out;
  std::string_view t = s.text;
  while (true) {
    CallScan c = scan_call(t, s.call_start, /*at_end=*/false);
    if (c.status == Scan::kError) {
      s.mode = s.any_tool_delta ? M::kDone : M::kDeferred;  // finish() decides from the whole text
      return out;
    }
    if (c.name && c.has_args && !s.name_sent) {  // a name and an arguments key: a call
      s.id = new_call_id();
      out.tool_calls.push_back(
          {.index = s.index, .id = s.id, .name = *c.name, .arguments = "", .first = true});
      s.name_sent = s.any_tool_delta = true;
    }
    if (s.name_sent && c.args.size() > s.args_sent) {
      out.tool_calls.push_back({.index = s.index, .arguments = c.args.substr(s.args_sent)});
      s.args_sent = c.args.size();
    }
    if (c.status != Scan::kComplete) return out;
    size_t i = skip_ws(t, c.end);
    if (i < t.size() && t[i] == ';') i = skip_ws(t, i + 1);
    if (i >= t.size() || t[i] != '{') {
      if (i < t.size() && !(t[i] == '<')) s.mode = M::kDone;  // trailing text: not a call list
      return out;
    }
    s.call_start = i;
    ++s.index;
    s.name_sent = false;
    s.args_sent = 0;
  }
}

StreamDelta ToolCallStreamParser::finish() {
  State& s = *s_;
  StreamDelta out;
  using M = State::Mode;
  if (s.mode == M::kContent) {
    out.content = s.text.substr(s.content_sent);
    s.content_sent = s.text.size();
    return out;
  }
  ParsedToolOutput final = parse_llama3_tool_calls(s.text);
  if (!final.tools_called()) {
    if (!s.any_tool_delta) out.content = s.text.substr(s.content_sent);
    s.content_sent = s.text.size();
    s.mode = M::kDone;
    return out;
  }
  // Emit whatever of the final calls has not been streamed yet.
  for (size_t k = 0; k < final.tool_calls.size(); ++k) {
    const ToolCall& call = final.tool_calls[k];
    int idx = int(k);
    bool started = s.any_tool_delta && (idx < s.index || (idx == s.index && s.name_sent));
    size_t sent = idx < s.index ? call.arguments.size() : idx == s.index ? s.args_sent : 0;
    if (!s.any_tool_delta) sent = 0;
    if (!started)
      out.tool_calls.push_back(
          {.index = idx, .id = call.id, .name = call.name, .arguments = "", .first = true});
    if (call.arguments.size() > sent)
      out.tool_calls.push_back({.index = idx, .arguments = call.arguments.substr(sent)});
  }
  s.mode = M::kDone;
  return out;
}

}  // namespace qinfer::tokenizer

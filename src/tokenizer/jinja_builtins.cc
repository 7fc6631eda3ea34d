// Filters, tests, methods and globals of the Jinja subset, with Python / jinja2 semantics.
#include <algorithm>
#include <cmath>
#include <ctime>

#include "core/error.h"
#include "tokenizer/jinja_eval.h"
#include "tokenizer/unicode.h"

namespace qinfer::tokenizer::jinja {
namespace {

Value function(std::string name, std::function<Value(Evaluator&, CallArgs&)> f) {
  Value v;
  v.kind = Value::Kind::kFunction;
  v.func = std::make_shared<Function>(Function{std::move(name), std::move(f)});
  return v;
}

bool py_space(uint32_t cp) {
  return (cp >= 9 && cp <= 13) || (cp >= 0x1C && cp <= 0x20) || cp == 0x85 || cp == 0xA0 ||
         cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 ||
         cp == 0x202F || cp == 0x205F || cp == 0x3000;
}

std::vector<uint32_t> code_points(std::string_view s) {
  std::vector<uint32_t> cps;
  for (size_t pos = 0; pos < s.size();) {
    size_t len;
    cps.push_back(decode_utf8(s, pos, &len));
    pos += len;
  }
  return cps;
}

// str.strip / lstrip / rstrip: whitespace, or the characters of `chars`.
std::string strip(std::string_view s, const Value* chars, bool left, bool right) {
  std::vector<uint32_t> set;
  bool use_set = chars && chars->is_string();
  if (use_set) set = code_points(chars->s);
  auto strip_cp = [&](uint32_t cp) {
    return use_set ? std::find(set.begin(), set.end(), cp) != set.end() : py_space(cp);
  };
  size_t b = 0, e = s.size(), len;
  if (left) {
    while (b < e && strip_cp(decode_utf8(s, b, &len))) b += len;
  }
  if (right) {
    while (e > b) {
      size_t start = e - 1;
      while (start > b && (static_cast<uint8_t>(s[start]) & 0xC0) == 0x80) --start;
      if (!strip_cp(decode_utf8(s, start, &len))) break;
      e = start;
    }
  }
  return std::string(s.substr(b, e - b));
}

std::string ascii_case(std::string s, bool upper) {
  for (char& c : s)
    c = static_cast<char>(upper ? std::toupper(static_cast<unsigned char>(c))
                                : std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string replace(const std::string& s, const std::string& from, const std::string& to,
                    int64_t count) {
  std::string out;
  if (from.empty()) {  // Python inserts `to` between characters
    std::vector<uint32_t> cps = code_points(s);
    int64_t done = 0;
    for (size_t i = 0; i <= cps.size(); ++i) {
      if (count < 0 || done < count) {
        out += to;
        ++done;
      }
      if (i < cps.size()) append_utf8(out, cps[i]);
    }
    return out;
  }
  size_t pos = 0;
  int64_t done = 0;
  for (size_t hit; (count < 0 || done < count) && (hit = s.find(from, pos)) != std::string::npos;
       pos = hit + from.size(), ++done) {
    out.append(s, pos, hit - pos);
    out += to;
  }
  out.append(s, pos);
  return out;
}

Value split(const std::string& s, const Value* sep, int64_t maxsplit) {
  List parts;
  if (!sep || sep->is_none()) {  // runs of whitespace, no empty strings
    std::vector<uint32_t> cps = code_points(s);
    size_t i = 0;
    while (i < cps.size()) {
      while (i < cps.size() && py_space(cps[i])) ++i;
      if (i >= cps.size()) break;
      std::string word;
      if (maxsplit >= 0 && int64_t(parts.size()) == maxsplit) {
        for (; i < cps.size(); ++i) append_utf8(word, cps[i]);
        std::string trimmed = strip(word, nullptr, false, true);
        parts.push_back(Value::string(trimmed));
        break;
      }
      for (; i < cps.size() && !py_space(cps[i]); ++i) append_utf8(word, cps[i]);
      parts.push_back(Value::string(std::move(word)));
    }
    return Value::new_list(std::move(parts));
  }
  const std::string& d = sep->s;
  QINFER_CHECK(!d.empty(), "chat template: empty separator");
  size_t pos = 0;
  for (size_t hit; (maxsplit < 0 || int64_t(parts.size()) < maxsplit) &&
                   (hit = s.find(d, pos)) != std::string::npos;
       pos = hit + d.size())
    parts.push_back(Value::string(s.substr(pos, hit - pos)));
  parts.push_back(Value::string(s.substr(pos)));
  return Value::new_list(std::move(parts));
}

int64_t int_arg(Evaluator& ev, const Value* v, int64_t fallback) {
  if (!v || v->is_none()) return fallback;
  if (!v->is_number()) ev.error("expected an integer argument");
  return v->kind == Value::Kind::kFloat  ? int64_t(v->f)
         : v->kind == Value::Kind::kBool ? v->b
                                         : v->i;
}

bool starts_or_ends(const Value& s, const Value* arg, bool ends) {
  if (!arg) return false;
  auto one = [&](const std::string& p) {
    if (p.size() > s.s.size()) return false;
    return ends ? s.s.compare(s.s.size() - p.size(), p.size(), p) == 0
                : s.s.compare(0, p.size(), p) == 0;
  };
  if (arg->is_list()) {
    for (const Value& p : *arg->list)
      if (p.is_string() && one(p.s)) return true;
    return false;
  }
  return arg->is_string() && one(arg->s);
}

// str.format: {} / {0} / {name} fields; conversions and format specs are not supported.
std::string brace_format(Evaluator& ev, const std::string& f, CallArgs& a) {
  std::string out;
  size_t auto_index = 0;
  for (size_t i = 0; i < f.size(); ++i) {
    char c = f[i];
    if ((c == '{' || c == '}') && i + 1 < f.size() && f[i + 1] == c) {
      out += c;
      ++i;
      continue;
    }
    if (c != '{') {
      out += c;
      continue;
    }
    size_t close = f.find('}', i);
    if (close == std::string::npos) ev.error("str.format: single '{'");
    std::string field = f.substr(i + 1, close - i - 1);
    if (field.find_first_of(":!") != std::string::npos)
      ev.error("str.format: format specs are not supported");
    const Value* v = nullptr;
    if (field.empty()) {
      v = a.get(auto_index++, "");
    } else if (std::isdigit(static_cast<unsigned char>(field[0]))) {
      v = a.get(size_t(std::atoi(field.c_str())), "");
    } else {
      v = a.kwarg(field);
    }
    if (!v) ev.error(str_cat("str.format: no argument for {", field, "}"));
    out += to_str(*v);
    i = close;
  }
  return out;
}

}  // namespace

// printf-style `fmt % args` (Python's str % operator and jinja's format filter): %s %r %d %i
// %f %%; args is one value or a list (tuple) of them.
std::string percent_format(Evaluator& ev, const std::string& fmt, const Value& args) {
  List items = args.is_list() ? *args.list : List{args};
  size_t next = 0;
  std::string out;
  for (size_t i = 0; i < fmt.size(); ++i) {
    if (fmt[i] != '%') {
      out += fmt[i];
      continue;
    }
    if (i + 1 >= fmt.size()) ev.error("incomplete format");
    char conv = fmt[++i];
    if (conv == '%') {
      out += '%';
      continue;
    }
    if (next >= items.size()) ev.error("not enough arguments for format string");
    const Value& v = items[next++];
    if (conv == 's') {
      out += to_str(v);
    } else if (conv == 'r') {
      out += repr(v);
    } else if ((conv == 'd' || conv == 'i') && v.is_number()) {
      out += std::to_string(v.kind == Value::Kind::kFloat  ? int64_t(v.f)
                            : v.kind == Value::Kind::kBool ? v.b
                                                           : v.i);
    } else if (conv == 'f' && v.is_number()) {
      char buf[64];
      std::snprintf(buf, sizeof(buf), "%f", v.as_double());
      out += buf;
    } else {
      ev.error(str_cat("unsupported format %", conv));
    }
  }
  if (next < items.size() && args.is_list())
    ev.error("not all arguments converted during string formatting");
  return out;
}

namespace {

Value string_method(Evaluator& ev, const Value& self, const std::string& name, CallArgs& a) {
  const std::string& s = self.s;
  if (name == "strip") return Value::string(strip(s, a.get(0, "chars"), true, true));
  if (name == "lstrip") return Value::string(strip(s, a.get(0, "chars"), true, false));
  if (name == "rstrip") return Value::string(strip(s, a.get(0, "chars"), false, true));
  if (name == "split") return split(s, a.get(0, "sep"), int_arg(ev, a.get(1, "maxsplit"), -1));
  if (name == "startswith") return Value::boolean(starts_or_ends(self, a.get(0, "prefix"), false));
  if (name == "endswith") return Value::boolean(starts_or_ends(self, a.get(0, "suffix"), true));
  if (name == "upper") return Value::string(ascii_case(s, true));
  if (name == "lower") return Value::string(ascii_case(s, false));
  if (name == "replace") {
    const Value* from = a.get(0, "old");
    const Value* to = a.get(1, "new");
    if (!from || !to || !from->is_string() || !to->is_string())
      ev.error("replace() needs two strings");
    return Value::string(replace(s, from->s, to->s, int_arg(ev, a.get(2, "count"), -1)));
  }
  if (name == "capitalize" || name == "title") {
    std::string out = ascii_case(s, false);
    bool start = true;
    for (char& c : out) {
      bool alpha = std::isalpha(static_cast<unsigned char>(c));
      if (alpha && start) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      start = name == "title" ? !alpha : false;
    }
    return Value::string(out);
  }
  if (name == "find" || name == "count" || name == "index") {
    const Value* sub = a.get(0, "sub");
    if (!sub || !sub->is_string()) ev.error(str_cat(name, "() needs a string"));
    if (name == "count") {
      int64_t n = 0;
      for (size_t p = 0; !sub->s.empty() && (p = s.find(sub->s, p)) != std::string::npos;
           p += sub->s.size())
        ++n;
      return Value::integer(n);
    }
    size_t p = s.find(sub->s);
    if (p == std::string::npos && name == "index") ev.error("substring not found");
    return Value::integer(p == std::string::npos ? -1 : int64_t(utf8_length(s.substr(0, p))));
  }
  if (name == "join") {
    const Value* items = a.get(0, "iterable");
    std::string out;
    if (items) {
      List l = iterate(ev, *items);
      for (size_t i = 0; i < l.size(); ++i) out += (i ? s : "") + to_str(l[i]);
    }
    return Value::string(out);
  }
  if (name == "format") return Value::string(brace_format(ev, s, a));
  if (name == "isdigit" || name == "isspace" || name == "isalpha" || name == "isalnum") {
    if (s.empty()) return Value::boolean(false);
    for (uint32_t cp : code_points(s)) {
      uint8_t cls = code_class(cp);
      bool ok = name == "isdigit"   ? (cp >= '0' && cp <= '9')
                : name == "isspace" ? py_space(cp)
                : name == "isalpha" ? (cls & kClassLetter) != 0
                                    : (cls & (kClassLetter | kClassNumber)) != 0;
      if (!ok) return Value::boolean(false);
    }
    return Value::boolean(true);
  }
  ev.error(str_cat("'str' object has no attribute '", name, "'"));
}

Value dict_method(Evaluator& ev, const Value& self, const std::string& name, CallArgs& a) {
  if (name == "items") {
    List out;
    for (const auto& [k, v] : self.dict->items)
      out.push_back(Value::new_list({Value::string(k), v}));
    return Value::new_list(std::move(out));
  }
  if (name == "keys" || name == "values") {
    List out;
    for (const auto& [k, v] : self.dict->items)
      out.push_back(name == "keys" ? Value::string(k) : v);
    return Value::new_list(std::move(out));
  }
  if (name == "get") {
    const Value* key = a.get(0, "key");
    if (!key) ev.error("get() needs a key");
    if (const Value* v = self.dict->find(key->is_string() ? key->s : to_str(*key))) return *v;
    const Value* def = a.get(1, "default");
    return def ? *def : Value::none();
  }
  ev.error(str_cat("dict method '", name, "' is not available (templates are immutable)"));
}

bool is_dict_method(const std::string& n) {
  return n == "items" || n == "keys" || n == "values" || n == "get" || n == "pop" ||
         n == "update" || n == "setdefault" || n == "clear" || n == "copy" || n == "popitem";
}

bool is_string_method(const std::string& n) {
  static const char* kNames[] = {"strip",    "lstrip",  "rstrip",  "split",   "startswith",
                                 "endswith", "upper",   "lower",   "replace", "capitalize",
                                 "title",    "find",    "count",   "index",   "join",
                                 "isdigit",  "isspace", "isalpha", "isalnum", "format"};
  for (const char* k : kNames)
    if (n == k) return true;
  return false;
}

}  // namespace

Value get_attr(Evaluator& ev, const Value& obj, const std::string& name) {
  if (obj.is_dict()) {
    if (!obj.dict->is_namespace && is_dict_method(name)) {
      Value self = obj;
      return function(
          name, [self, name](Evaluator& e, CallArgs& a) { return dict_method(e, self, name, a); });
    }
    if (const Value* v = obj.dict->find(name)) return *v;
    return Value::undefined(name);
  }
  if (obj.is_string()) {
    if (!is_string_method(name)) return Value::undefined(name);
    Value self = obj;
    return function(
        name, [self, name](Evaluator& e, CallArgs& a) { return string_method(e, self, name, a); });
  }
  if (obj.is_list()) {
    if (name == "append" || name == "pop" || name == "extend" || name == "insert" ||
        name == "remove")
      ev.error(str_cat("list.", name,
                       "() is not allowed (transformers renders templates in an "
                       "immutable sandbox)"));
    return Value::undefined(name);
  }
  if (obj.is_undefined()) ev.error(str_cat("'", obj.s.empty() ? "value" : obj.s, "' is undefined"));
  return Value::undefined(name);
}

List iterate(Evaluator& ev, const Value& v) {
  switch (v.kind) {
    case Value::Kind::kList:
      return *v.list;
    case Value::Kind::kDict: {
      List keys;
      for (const auto& [k, x] : v.dict->items) keys.push_back(Value::string(k));
      return keys;
    }
    case Value::Kind::kString: {
      List chars;
      for (size_t pos = 0; pos < v.s.size();) {
        size_t len;
        decode_utf8(v.s, pos, &len);
        chars.push_back(Value::string(v.s.substr(pos, len)));
        pos += len;
      }
      return chars;
    }
    case Value::Kind::kUndefined:
      return {};
    default:
      ev.error(str_cat("'", to_str(v), "' is not iterable"));
  }
}

namespace {

// select / reject / selectattr / rejectattr: keep items whose test result == keep.
Value filter_items(Evaluator& ev, const Value& seq, CallArgs& args, bool by_attr, bool keep) {
  List out;
  size_t first = by_attr ? 1 : 0;
  std::string attr;
  if (by_attr) {
    if (args.args.empty() || !args.args[0].is_string())
      ev.error("selectattr/rejectattr need an attribute name");
    attr = args.args[0].s;
  }
  std::string test = args.args.size() > first ? to_str(args.args[first]) : "";
  CallArgs test_args;
  for (size_t i = first + 1; i < args.args.size(); ++i) test_args.args.push_back(args.args[i]);
  for (const Value& item : iterate(ev, seq)) {
    Value subject = by_attr ? get_attr(ev, item, attr) : item;
    bool r = test.empty() ? truthy(subject) : apply_test(ev, test, subject, test_args);
    if (r == keep) out.push_back(item);
  }
  return Value::new_list(std::move(out));
}

Value map_items(Evaluator& ev, const Value& seq, CallArgs& args) {
  List out;
  if (const Value* attr = args.kwarg("attribute")) {
    const Value* def = args.kwarg("default");
    for (const Value& item : iterate(ev, seq)) {
      Value v = get_attr(ev, item, to_str(*attr));
      out.push_back(v.is_undefined() && def ? *def : v);
    }
    return Value::new_list(std::move(out));
  }
  if (args.args.empty() || !args.args[0].is_string())
    ev.error("map needs a filter name or attribute=");
  std::string name = args.args[0].s;
  CallArgs rest;
  rest.args.assign(args.args.begin() + 1, args.args.end());
  for (const Value& item : iterate(ev, seq)) out.push_back(apply_filter(ev, name, item, rest));
  return Value::new_list(std::move(out));
}

Value to_int(const Value& v, int64_t fallback) {
  if (v.kind == Value::Kind::kInt) return v;
  if (v.kind == Value::Kind::kBool) return Value::integer(v.b);
  if (v.kind == Value::Kind::kFloat) return Value::integer(int64_t(v.f));
  if (v.is_string()) {
    std::string t = strip(v.s, nullptr, true, true);
    char* end = nullptr;
    long long i = std::strtoll(t.c_str(), &end, 10);
    if (!t.empty() && *end == '\0') return Value::integer(i);
    double d = std::strtod(t.c_str(), &end);
    if (!t.empty() && *end == '\0') return Value::integer(int64_t(d));
  }
  return Value::integer(fallback);
}

}  // namespace

Value string_filter(Evaluator& ev, const std::string& name, const Value& v, CallArgs& a);

Value apply_filter(Evaluator& ev, const std::string& name, const Value& v, CallArgs& a) {
  if (name == "trim") return Value::string(strip(to_str(v), a.get(0, "chars"), true, true));
  if (name == "tojson") {
    const Value* indent = a.get(0, "indent");
    return Value::string(
        to_json(v, indent && !indent->is_none() ? int(int_arg(ev, indent, 0)) : -1));
  }
  if (name == "length" || name == "count") {
    if (v.is_string()) return Value::integer(int64_t(utf8_length(v.s)));
    if (v.is_list()) return Value::integer(int64_t(v.list->size()));
    if (v.is_dict()) return Value::integer(int64_t(v.dict->items.size()));
    if (v.is_undefined()) return Value::integer(0);
    ev.error(str_cat("object of type '", to_str(v), "' has no len()"));
  }
  if (name == "items") {
    if (v.is_undefined()) return Value::new_list();
    if (!v.is_dict()) ev.error("items filter needs a mapping");
    CallArgs none;
    return dict_method(ev, v, "items", none);
  }
  if (name == "join") {
    const Value* sep = a.get(0, "d");
    const Value* attr = a.get(1, "attribute");
    std::string out, d = sep ? to_str(*sep) : "";
    List items = iterate(ev, v);
    for (size_t i = 0; i < items.size(); ++i)
      out += (i ? d : "") + to_str(attr ? get_attr(ev, items[i], to_str(*attr)) : items[i]);
    return Value::string(out);
  }
  if (name == "reject" || name == "select") return filter_items(ev, v, a, false, name == "select");
  if (name == "rejectattr" || name == "selectattr")
    return filter_items(ev, v, a, true, name == "selectattr");
  if (name == "map") return map_items(ev, v, a);
  if (name == "first" || name == "last") {
    List items = iterate(ev, v);
    if (items.empty()) return Value::undefined(name);
    return name == "first" ? items.front() : items.back();
  }
  if (name == "list") return Value::new_list(iterate(ev, v));
  if (name == "reverse") {
    if (v.is_string()) {
      std::vector<uint32_t> cps = code_points(v.s);
      std::string out;
      for (auto it = cps.rbegin(); it != cps.rend(); ++it) append_utf8(out, *it);
      return Value::string(out);
    }
    List items = iterate(ev, v);
    std::reverse(items.begin(), items.end());
    return Value::new_list(std::move(items));
  }
  return string_filter(ev, name, v, a);
}

// Filters on scalars and strings (the rest of apply_filter).
Value string_filter(Evaluator& ev, const std::string& name, const Value& v, CallArgs& a) {
  if (name == "upper" || name == "lower")
    return Value::string(ascii_case(to_str(v), name == "upper"));
  if (name == "capitalize" || name == "title") {
    CallArgs none;
    return string_method(ev, Value::string(to_str(v)), name, none);
  }
  if (name == "replace") {
    Value s = Value::string(to_str(v));
    return string_method(ev, s, "replace", a);
  }
  if (name == "default" || name == "d") {
    const Value* def = a.get(0, "default_value");
    const Value* boolean = a.get(1, "boolean");
    bool use_default = v.is_undefined() || (boolean && truthy(*boolean) && !truthy(v));
    if (use_default) return def ? *def : Value::string("");
    return v;
  }
  if (name == "string") return Value::string(to_str(v));
  if (name == "int") return to_int(v, int_arg(ev, a.get(0, "default"), 0));
  if (name == "float") {
    if (v.is_number()) return Value::number(v.as_double());
    if (v.is_string()) {
      char* end = nullptr;
      std::string t = strip(v.s, nullptr, true, true);
      double d = std::strtod(t.c_str(), &end);
      if (!t.empty() && *end == '\0') return Value::number(d);
    }
    const Value* def = a.get(0, "default");
    return def ? *def : Value::number(0.0);
  }
  if (name == "abs") {
    if (v.kind == Value::Kind::kFloat) return Value::number(std::fabs(v.f));
    return Value::integer(std::llabs(int_arg(ev, &v, 0)));
  }
  if (name == "safe") return v;
  if (name == "format")
    return Value::string(percent_format(ev, to_str(v), Value::new_list(a.args)));
  if (name == "unique") {
    List out;
    for (const Value& x : iterate(ev, v)) {
      bool seen = false;
      for (const Value& y : out) seen = seen || equal(x, y);
      if (!seen) out.push_back(x);
    }
    return Value::new_list(std::move(out));
  }
  if (name == "indent") {
    int64_t width = int_arg(ev, a.get(0, "width"), 4);
    const Value* first = a.get(1, "first");
    const Value* blank = a.get(2, "blank");
    std::string pad(size_t(std::max<int64_t>(width, 0)), ' '), s = to_str(v), out;
    size_t pos = 0;
    bool is_first = true;
    while (pos <= s.size()) {
      size_t nl = s.find('\n', pos);
      std::string line = s.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
      bool indent_it =
          is_first ? (first && truthy(*first)) : (!line.empty() || (blank && truthy(*blank)));
      out += (indent_it ? pad : "") + line;
      if (nl == std::string::npos) break;
      out += '\n';
      pos = nl + 1;
      is_first = false;
    }
    return Value::string(out);
  }
  ev.error(str_cat("no filter named '", name, "'"));
}

bool apply_test(Evaluator& ev, const std::string& name, const Value& v, CallArgs& a) {
  using K = Value::Kind;
  if (name == "defined") return !v.is_undefined();
  if (name == "undefined") return v.is_undefined();
  if (name == "none") return v.is_none();
  if (name == "boolean") return v.kind == K::kBool;
  if (name == "true") return v.kind == K::kBool && v.b;
  if (name == "false") return v.kind == K::kBool && !v.b;
  if (name == "integer") return v.kind == K::kInt;
  if (name == "float") return v.kind == K::kFloat;
  if (name == "number") return v.is_number();
  if (name == "string") return v.is_string();
  if (name == "mapping") return v.is_dict();
  if (name == "iterable") return v.is_list() || v.is_dict() || v.is_string();
  if (name == "sequence") return v.is_list() || v.is_dict() || v.is_string();
  if (name == "callable") return v.kind == K::kFunction;
  if (name == "lower") return v.is_string() && ascii_case(v.s, false) == v.s;
  if (name == "upper") return v.is_string() && ascii_case(v.s, true) == v.s;
  const Value* other = a.get(0, "value");
  if (name == "equalto" || name == "eq" || name == "==" || name == "sameas")
    return other && equal(v, *other);
  if (name == "ne" || name == "!=") return !other || !equal(v, *other);
  if (name == "odd" || name == "even") {
    int64_t i = int_arg(ev, &v, 0);
    return (i % 2 != 0) == (name == "odd");
  }
  if (name == "divisibleby") {
    int64_t d = int_arg(ev, other, 1);
    return d != 0 && int_arg(ev, &v, 0) % d == 0;
  }
  if (name == "in") {
    if (!other) return false;
    if (other->is_string()) return v.is_string() && other->s.find(v.s) != std::string::npos;
    if (other->is_dict()) return v.is_string() && other->dict->find(v.s);
    for (const Value& x : iterate(ev, *other))
      if (equal(v, x)) return true;
    return false;
  }
  if (name == "lt" || name == "gt" || name == "le" || name == "ge") {
    if (!other || !v.is_number() || !other->is_number())
      ev.error(str_cat("test '", name, "' needs numbers"));
    double x = v.as_double(), y = other->as_double();
    return name == "lt" ? x < y : name == "gt" ? x > y : name == "le" ? x <= y : x >= y;
  }
  ev.error(str_cat("no test named '", name, "'"));
}

namespace {

std::vector<std::pair<std::string, Value>> make_globals() {
  std::vector<std::pair<std::string, Value>> g;
  auto set_global = [&](const char* name, Value v) { g.emplace_back(name, std::move(v)); };
  set_global("raise_exception", function("raise_exception", [](Evaluator& e, CallArgs& a) -> Value {
               e.error(a.args.empty() ? std::string("raise_exception") : to_str(a.args[0]));
             }));
  set_global("strftime_now", function("strftime_now", [](Evaluator& e, CallArgs& a) {
               if (a.args.empty() || !a.args[0].is_string())
                 e.error("strftime_now needs a format string");
               std::time_t now = std::time(nullptr);
               std::tm tm{};
               localtime_r(&now, &tm);
               char buf[256];
               size_t n = std::strftime(buf, sizeof(buf), a.args[0].s.c_str(), &tm);
               return Value::string(std::string(buf, n));
             }));
  set_global("namespace", function("namespace", [](Evaluator&, CallArgs& a) {
               Value ns = Value::new_dict();
               ns.dict->is_namespace = true;
               if (!a.args.empty() && a.args[0].is_dict())
                 for (const auto& [k, v] : a.args[0].dict->items) ns.dict->set(k, v);
               for (const auto& [k, v] : a.kwargs) ns.dict->set(k, v);
               return ns;
             }));
  set_global("dict", function("dict", [](Evaluator&, CallArgs& a) {
               Value d = Value::new_dict();
               if (!a.args.empty() && a.args[0].is_dict())
                 for (const auto& [k, v] : a.args[0].dict->items) d.dict->set(k, v);
               for (const auto& [k, v] : a.kwargs) d.dict->set(k, v);
               return d;
             }));
  set_global("range", function("range", [](Evaluator& e, CallArgs& a) {
               int64_t start = 0, stop = 0, step = 1;
               if (a.args.size() == 1) {
                 stop = int_arg(e, &a.args[0], 0);
               } else if (a.args.size() >= 2) {
                 start = int_arg(e, &a.args[0], 0);
                 stop = int_arg(e, &a.args[1], 0);
                 if (a.args.size() >= 3) step = int_arg(e, &a.args[2], 1);
               }
               if (step == 0) e.error("range() step must not be zero");
               List out;
               for (int64_t i = start; step > 0 ? i < stop : i > stop; i += step) {
                 out.push_back(Value::integer(i));
                 if (out.size() > 1000000) e.error("range() too large");
               }
               return Value::new_list(std::move(out));
             }));
  return g;
}

}  // namespace

// The builtins are immutable, so one set serves every render.
void install_globals(Evaluator& ev) {
  static const std::vector<std::pair<std::string, Value>> globals = make_globals();
  for (const auto& [name, v] : globals) ev.set_global(name, v);
}

}  // namespace qinfer::tokenizer::jinja

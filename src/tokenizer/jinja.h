// A Jinja2 subset for chat templates: lexer, parser and tree-walking evaluator. It follows
// Jinja2 as transformers configures it (ImmutableSandboxedEnvironment with trim_blocks=True,
// lstrip_blocks=True, the loopcontrols extension, a json.dumps-based tojson, raise_exception,
// strftime_now, namespace) so that rendered prompts are byte-identical to Python's.
// Errors are qinfer::Error "chat template line N: ...".
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/json.h"

namespace qinfer::tokenizer::jinja {

struct Value;
struct Dict;
struct Function;
using List = std::vector<Value>;

// A Python value as templates see it. Lists, dicts and functions are shared (reference
// semantics, as in Python); strings are UTF-8.
struct Value {
  enum class Kind : uint8_t {
    kUndefined,
    kNone,
    kBool,
    kInt,
    kFloat,
    kString,
    kList,
    kDict,
    kFunction
  };
  Kind kind = Kind::kUndefined;
  bool b = false;
  int64_t i = 0;
  double f = 0;
  std::string s;  // kString; kUndefined: the missing name (for error messages)
  std::shared_ptr<List> list;
  std::shared_ptr<Dict> dict;
  std::shared_ptr<Function> func;

  static Value undefined(std::string name = "") {
    Value v;
    v.s = std::move(name);
    return v;
  }
  static Value none() { return make(Kind::kNone); }
  static Value boolean(bool x) {
    Value v = make(Kind::kBool);
    v.b = x;
    return v;
  }
  static Value integer(int64_t x) {
    Value v = make(Kind::kInt);
    v.i = x;
    return v;
  }
  static Value number(double x) {
    Value v = make(Kind::kFloat);
    v.f = x;
    return v;
  }
  static Value string(std::string x) {
    Value v = make(Kind::kString);
    v.s = std::move(x);
    return v;
  }
  static Value new_list(List items = {});
  static Value new_dict();
  static Value from_json(const Json& j);

  bool is_undefined() const { return kind == Kind::kUndefined; }
  bool is_none() const { return kind == Kind::kNone; }
  bool is_string() const { return kind == Kind::kString; }
  bool is_list() const { return kind == Kind::kList; }
  bool is_dict() const { return kind == Kind::kDict; }
  bool is_number() const {
    return kind == Kind::kInt || kind == Kind::kFloat || kind == Kind::kBool;
  }
  double as_double() const {
    return kind == Kind::kFloat ? f : double(kind == Kind::kBool ? b : i);
  }

 private:
  static Value make(Kind k) {
    Value v;
    v.kind = k;
    return v;
  }
};

// Insertion-ordered string-keyed dict (Python 3.7+ dict order; nlohmann ordered_json order).
struct Dict {
  std::vector<std::pair<std::string, Value>> items;
  bool is_namespace = false;  // namespace(): attribute assignment allowed
  const Value* find(std::string_view key) const;
  void set(const std::string& key, Value v);
};

struct CallArgs {
  std::vector<Value> args;
  std::vector<std::pair<std::string, Value>> kwargs;
  const Value* kwarg(std::string_view name) const;
  // The argument at `pos` or named `name`, else nullptr.
  const Value* get(size_t pos, std::string_view name) const;
};

class Evaluator;
struct Function {
  std::string name;
  std::function<Value(Evaluator&, CallArgs&)> call;
};

// Python semantics shared by the evaluator and the builtins.
bool truthy(const Value& v);
bool equal(const Value& a, const Value& b);
std::string to_str(const Value& v);  // str(v)
std::string repr(const Value& v);    // repr(v)
// json.dumps(v, ensure_ascii=False, indent=indent (<0: None), separators=default).
std::string to_json(const Value& v, int indent);
Json to_json_value(const Value& v);
size_t utf8_length(std::string_view s);

struct Program;

class Template {
 public:
  explicit Template(std::string_view source);  // throws Error on a syntax error
  ~Template();
  Template(Template&&) noexcept;
  // context: a JSON object of variables. extra: variables that are already Values.
  std::string render(const Json& context,
                     const std::vector<std::pair<std::string, Value>>& extra = {}) const;

 private:
  std::unique_ptr<Program> program_;
};

}  // namespace qinfer::tokenizer::jinja

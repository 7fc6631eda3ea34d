// The tree-walking evaluator (internal to jinja_*.cc).
#pragma once

#include <string>
#include <vector>

#include "tokenizer/jinja_ast.h"

namespace qinfer::tokenizer::jinja {

class Evaluator {
 public:
  Evaluator();
  void set_global(const std::string& name, Value v) { assign(name, std::move(v)); }
  void render(const Body& body, std::string& out);

  Value eval(const Expr& e);
  Value lookup(const std::string& name) const;
  void assign(const std::string& name, Value v);
  int line() const { return line_; }
  [[noreturn]] void error(const std::string& msg) const { fail(line_, msg); }

 private:
  enum class Flow { kNormal, kBreak, kContinue };
  Flow exec(const Body& body, std::string& out);
  Flow exec_node(const Node& n, std::string& out);
  void exec_for(const Node& n, std::string& out);
  void exec_set(const Node& n);
  void bind(const std::vector<std::string>& targets, const Value& item);  // a, b = item
  Value make_macro(const Node& n);
  Value call(const Expr& e);
  Value binary(const std::string& op, const Value& a, const Value& b);
  Value subscript(const Value& obj, const Value& key);
  Value slice(const Value& obj, const Expr& e);
  CallArgs eval_args(const Expr& e, size_t first);

  std::vector<std::vector<std::pair<std::string, Value>>> scopes_;
  int line_ = 0;
  int depth_ = 0;
};

// Builtins (jinja_builtins.cc).
Value apply_filter(Evaluator& ev, const std::string& name, const Value& subject, CallArgs& args);
bool apply_test(Evaluator& ev, const std::string& name, const Value& subject, CallArgs& args);
// obj.name: a bound method of str / dict / list, or a dict item; undefined when missing.
Value get_attr(Evaluator& ev, const Value& obj, const std::string& name);
void install_globals(Evaluator& ev);
std::string percent_format(Evaluator& ev, const std::string& fmt, const Value& args);
// Python-style iteration: list items, dict keys, string characters.
List iterate(Evaluator& ev, const Value& v);

}  // namespace qinfer::tokenizer::jinja

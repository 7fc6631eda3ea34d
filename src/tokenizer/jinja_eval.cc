// Evaluation of the Jinja subset: statements, expressions and Python operator semantics.
#include "tokenizer/jinja_eval.h"

#include <cmath>

#include "core/error.h"

namespace qinfer::tokenizer::jinja {
namespace {

constexpr int kMaxDepth = 200;  // macro recursion guard

int64_t as_int(const Value& v) {
  return v.kind == Value::Kind::kBool ? v.b : v.i;
}
bool both_ints(const Value& a, const Value& b) {
  return a.is_number() && b.is_number() && a.kind != Value::Kind::kFloat &&
         b.kind != Value::Kind::kFloat;
}

const char* type_name(const Value& v) {
  switch (v.kind) {
    case Value::Kind::kUndefined:
      return "Undefined";
    case Value::Kind::kNone:
      return "NoneType";
    case Value::Kind::kBool:
      return "bool";
    case Value::Kind::kInt:
      return "int";
    case Value::Kind::kFloat:
      return "float";
    case Value::Kind::kString:
      return "str";
    case Value::Kind::kList:
      return "list";
    case Value::Kind::kDict:
      return "dict";
    case Value::Kind::kFunction:
      return "function";
  }
  return "?";
}

int compare(Evaluator& ev, const Value& a, const Value& b) {
  if (a.is_number() && b.is_number()) {
    double x = a.as_double(), y = b.as_double();
    return x < y ? -1 : x > y ? 1 : 0;
  }
  if (a.is_string() && b.is_string()) return a.s < b.s ? -1 : a.s > b.s ? 1 : 0;
  if (a.is_list() && b.is_list()) {
    for (size_t i = 0; i < a.list->size() && i < b.list->size(); ++i) {
      if (!equal((*a.list)[i], (*b.list)[i])) return compare(ev, (*a.list)[i], (*b.list)[i]);
    }
    return a.list->size() < b.list->size() ? -1 : a.list->size() > b.list->size() ? 1 : 0;
  }
  ev.error(str_cat("'<' not supported between instances of '", type_name(a), "' and '",
                   type_name(b), "'"));
}

// Python's floor division and modulo (results take the divisor's sign).
int64_t floor_div(int64_t a, int64_t b) {
  int64_t q = a / b;
  return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

}  // namespace

Evaluator::Evaluator() : scopes_(1) {
  install_globals(*this);
}

Value Evaluator::lookup(const std::string& name) const {
  for (auto s = scopes_.rbegin(); s != scopes_.rend(); ++s)
    for (auto v = s->rbegin(); v != s->rend(); ++v)
      if (v->first == name) return v->second;
  return Value::undefined(name);
}

void Evaluator::assign(const std::string& name, Value v) {
  for (auto& [k, old] : scopes_.back()) {
    if (k == name) {
      old = std::move(v);
      return;
    }
  }
  scopes_.back().emplace_back(name, std::move(v));
}

void Evaluator::render(const Body& body, std::string& out) {
  exec(body, out);
}

Evaluator::Flow Evaluator::exec(const Body& body, std::string& out) {
  for (const NodePtr& n : body) {
    Flow f = exec_node(*n, out);
    if (f != Flow::kNormal) return f;
  }
  return Flow::kNormal;
}

Evaluator::Flow Evaluator::exec_node(const Node& n, std::string& out) {
  line_ = n.line;
  switch (n.kind) {
    case Node::Kind::kText:
      out += n.text;
      break;
    case Node::Kind::kOutput: {
      Value v = eval(*n.expr);
      if (v.is_string()) {
        out += v.s;
      } else {
        out += to_str(v);
      }
      break;
    }
    case Node::Kind::kIf:
      for (size_t i = 0; i < n.conds.size(); ++i) {
        if (truthy(eval(*n.conds[i]))) return exec(n.bodies[i], out);
      }
      return exec(n.else_body, out);
    case Node::Kind::kFor:
      exec_for(n, out);
      break;
    case Node::Kind::kSet:
      exec_set(n);
      break;
    case Node::Kind::kSetBlock: {
      std::string captured;
      exec(n.body, captured);
      assign(n.targets[0], Value::string(std::move(captured)));
      break;
    }
    case Node::Kind::kMacro:
      assign(n.text, make_macro(n));
      break;
    case Node::Kind::kCallBlock: {
      // caller() renders the block body; it is visible to the called macro.
      Node caller_def;
      auto f = std::make_shared<Function>();
      f->name = "caller";
      const Node* np = &n;
      f->call = [np](Evaluator& ev, CallArgs& args) {
        ev.scopes_.emplace_back();
        for (size_t i = 0; i < np->params.size(); ++i) {
          const Value* a = args.get(i, np->params[i].first);
          ev.assign(np->params[i].first, a                      ? *a
                                         : np->params[i].second ? ev.eval(*np->params[i].second)
                                                                : Value::undefined());
        }
        std::string s;
        ev.exec(np->body, s);
        ev.scopes_.pop_back();
        return Value::string(std::move(s));
      };
      Value fv;
      fv.kind = Value::Kind::kFunction;
      fv.func = f;
      scopes_.emplace_back();
      assign("caller", fv);
      Value v = eval(*n.expr);
      scopes_.pop_back();
      out += to_str(v);
      break;
    }
    case Node::Kind::kBreak:
      return Flow::kBreak;
    case Node::Kind::kContinue:
      return Flow::kContinue;
    case Node::Kind::kBody:
      return exec(n.body, out);
  }
  return Flow::kNormal;
}

void Evaluator::bind(const std::vector<std::string>& targets, const Value& item) {
  if (targets.size() == 1) {
    assign(targets[0], item);
    return;
  }
  List parts = iterate(*this, item);
  if (parts.size() != targets.size())
    error(str_cat("cannot unpack ", parts.size(), " values into ", targets.size(), " names"));
  for (size_t k = 0; k < parts.size(); ++k) assign(targets[k], parts[k]);
}

void Evaluator::exec_for(const Node& n, std::string& out) {
  List items = iterate(*this, eval(*n.expr));
  scopes_.emplace_back();
  if (n.cond) {  // `for x in xs if cond`: filter first, loop.length counts the kept items
    List kept;
    for (Value& item : items) {
      bind(n.targets, item);
      if (truthy(eval(*n.cond))) kept.push_back(std::move(item));
    }
    items.swap(kept);
  }
  const int64_t len = int64_t(items.size());
  for (int64_t i = 0; i < len; ++i) {
    const Value& item = items[size_t(i)];
    bind(n.targets, item);
    Value loop = Value::new_dict();
    Dict& d = *loop.dict;
    d.items.reserve(10);
    d.items.emplace_back("index", Value::integer(i + 1));
    d.items.emplace_back("index0", Value::integer(i));
    d.items.emplace_back("revindex", Value::integer(len - i));
    d.items.emplace_back("revindex0", Value::integer(len - i - 1));
    d.items.emplace_back("first", Value::boolean(i == 0));
    d.items.emplace_back("last", Value::boolean(i == len - 1));
    d.items.emplace_back("length", Value::integer(len));
    d.items.emplace_back("previtem", i > 0 ? items[size_t(i - 1)] : Value::undefined("previtem"));
    d.items.emplace_back("nextitem",
                         i + 1 < len ? items[size_t(i + 1)] : Value::undefined("nextitem"));
    assign("loop", loop);
    Flow f = exec(n.body, out);
    if (f == Flow::kBreak) break;
  }
  scopes_.pop_back();
  if (len == 0) exec(n.else_body, out);
}

void Evaluator::exec_set(const Node& n) {
  Value v = eval(*n.expr);
  if (!n.text.empty()) {  // set ns.attr = v
    Value target = lookup(n.targets[0]);
    if (!target.is_dict() || !target.dict->is_namespace)
      error(str_cat("cannot assign attribute on non-namespace object '", n.targets[0], "'"));
    target.dict->set(n.text, std::move(v));
    return;
  }
  bind(n.targets, v);
}

Value Evaluator::make_macro(const Node& n) {
  auto f = std::make_shared<Function>();
  f->name = n.text;
  const Node* np = &n;
  f->call = [np](Evaluator& ev, CallArgs& args) {
    if (++ev.depth_ > kMaxDepth) ev.error("macro recursion too deep");
    Value caller = ev.lookup("caller");
    ev.scopes_.emplace_back();
    for (size_t i = 0; i < np->params.size(); ++i) {
      const auto& [name, def] = np->params[i];
      const Value* a = args.get(i, name);
      ev.assign(name, a ? *a : def ? ev.eval(*def) : Value::undefined(name));
    }
    if (!caller.is_undefined()) ev.assign("caller", caller);
    std::string s;
    ev.exec(np->body, s);
    ev.scopes_.pop_back();
    --ev.depth_;
    return Value::string(std::move(s));
  };
  Value v;
  v.kind = Value::Kind::kFunction;
  v.func = f;
  return v;
}

CallArgs Evaluator::eval_args(const Expr& e, size_t first) {
  CallArgs a;
  for (size_t i = first; i < e.args.size(); ++i) a.args.push_back(eval(*e.args[i]));
  for (const auto& [k, v] : e.kwargs) a.kwargs.emplace_back(k, eval(*v));
  return a;
}

Value Evaluator::call(const Expr& e) {
  Value callee = eval(*e.args[0]);
  CallArgs args = eval_args(e, 1);
  if (callee.kind != Value::Kind::kFunction) {
    error(callee.is_undefined() ? str_cat("'", callee.s, "' is undefined")
                                : str_cat("'", type_name(callee), "' object is not callable"));
  }
  int saved = line_;
  Value r = callee.func->call(*this, args);
  line_ = saved;
  return r;
}

Value Evaluator::subscript(const Value& obj, const Value& key) {
  if (obj.is_list() || obj.is_string()) {
    if (!key.is_number() || key.kind == Value::Kind::kFloat) {
      if (key.is_string() && obj.is_list()) return get_attr(*this, obj, key.s);
      error(str_cat("indices must be integers, not ", type_name(key)));
    }
    List chars;
    const List* seq = obj.list.get();
    if (obj.is_string()) {
      chars = iterate(*this, obj);
      seq = &chars;
    }
    int64_t i = as_int(key), n = int64_t(seq->size());
    if (i < 0) i += n;
    if (i < 0 || i >= n) return Value::undefined("[index]");
    return (*seq)[size_t(i)];
  }
  if (obj.is_dict()) {
    std::string k = key.is_string() ? key.s : to_str(key);
    if (const Value* v = obj.dict->find(k)) return *v;
    return Value::undefined(k);
  }
  if (obj.is_undefined()) error(str_cat("'", obj.s, "' is undefined"));
  error(str_cat("'", type_name(obj), "' object is not subscriptable"));
}

Value Evaluator::slice(const Value& obj, const Expr& e) {
  List chars;
  const List* seq = nullptr;
  if (obj.is_list()) {
    seq = obj.list.get();
  } else if (obj.is_string()) {
    chars = iterate(*this, obj);
    seq = &chars;
  } else {
    error(str_cat("cannot slice '", type_name(obj), "'"));
  }
  int64_t n = int64_t(seq->size());
  auto opt = [&](const ExprPtr& p, int64_t fallback) {
    if (!p) return fallback;
    Value v = eval(*p);
    if (v.is_none()) return fallback;
    if (!v.is_number()) error("slice indices must be integers");
    return as_int(v);
  };
  int64_t step = opt(e.args[3], 1);
  if (step == 0) error("slice step cannot be zero");
  auto clamp = [&](int64_t i, bool is_start) {
    if (i < 0) i += n;
    if (step > 0) return std::clamp<int64_t>(i, 0, n);
    return std::clamp<int64_t>(i, -1, n - 1) + (is_start ? 0 : 0);
  };
  int64_t start = e.args[1] ? clamp(opt(e.args[1], 0), true) : (step > 0 ? 0 : n - 1);
  int64_t stop = e.args[2] ? clamp(opt(e.args[2], 0), false) : (step > 0 ? n : -1);
  List out;
  for (int64_t i = start; step > 0 ? i < stop : i > stop; i += step)
    out.push_back((*seq)[size_t(i)]);
  if (obj.is_string()) {
    std::string s;
    for (const Value& c : out) s += c.s;
    return Value::string(std::move(s));
  }
  return Value::new_list(std::move(out));
}

Value Evaluator::binary(const std::string& op, const Value& a, const Value& b) {
  if (op == "==") return Value::boolean(equal(a, b));
  if (op == "!=") return Value::boolean(!equal(a, b));
  if (op == "<") return Value::boolean(compare(*this, a, b) < 0);
  if (op == "<=") return Value::boolean(compare(*this, a, b) <= 0);
  if (op == ">") return Value::boolean(compare(*this, a, b) > 0);
  if (op == ">=") return Value::boolean(compare(*this, a, b) >= 0);
  if (op == "in" || op == "notin") {
    bool found = false;
    if (b.is_string()) {
      if (!a.is_string()) error("'in <string>' requires string as left operand");
      found = b.s.find(a.s) != std::string::npos;
    } else if (b.is_list()) {
      for (const Value& x : *b.list) found = found || equal(a, x);
    } else if (b.is_dict()) {
      found = a.is_string() && b.dict->find(a.s) != nullptr;
    } else if (!b.is_undefined()) {
      error(str_cat("argument of type '", type_name(b), "' is not iterable"));
    }
    return Value::boolean(op == "in" ? found : !found);
  }
  if (op == "~") return Value::string(to_str(a) + to_str(b));
  if (op == "%" && a.is_string()) return Value::string(percent_format(*this, a.s, b));
  if (op == "+") {
    if (a.is_string() && b.is_string()) return Value::string(a.s + b.s);
    if (a.is_list() && b.is_list()) {
      List l = *a.list;
      l.insert(l.end(), b.list->begin(), b.list->end());
      return Value::new_list(std::move(l));
    }
  }
  if (op == "*" && (a.is_string() || a.is_list()) && both_ints(b, b)) {
    if (a.is_string()) {
      std::string s;
      for (int64_t i = 0; i < as_int(b); ++i) s += a.s;
      return Value::string(std::move(s));
    }
    List l;
    for (int64_t i = 0; i < as_int(b); ++i) l.insert(l.end(), a.list->begin(), a.list->end());
    return Value::new_list(std::move(l));
  }
  if (!a.is_number() || !b.is_number())
    error(str_cat("unsupported operand type(s) for ", op, ": '", type_name(a), "' and '",
                  type_name(b), "'"));
  if (both_ints(a, b)) {
    int64_t x = as_int(a), y = as_int(b);
    if (op == "+") return Value::integer(x + y);
    if (op == "-") return Value::integer(x - y);
    if (op == "*") return Value::integer(x * y);
    if ((op == "//" || op == "%" || op == "/") && y == 0) error("division by zero");
    if (op == "//") return Value::integer(floor_div(x, y));
    if (op == "%") return Value::integer(x - floor_div(x, y) * y);
    if (op == "**" && y >= 0) {
      int64_t r = 1;
      for (int64_t i = 0; i < y; ++i) r *= x;
      return Value::integer(r);
    }
  }
  double x = a.as_double(), y = b.as_double();
  if (op == "+") return Value::number(x + y);
  if (op == "-") return Value::number(x - y);
  if (op == "*") return Value::number(x * y);
  if (op == "**") return Value::number(std::pow(x, y));
  if (y == 0) error("division by zero");
  if (op == "/") return Value::number(x / y);
  if (op == "//") return Value::number(std::floor(x / y));
  if (op == "%") return Value::number(x - std::floor(x / y) * y);
  error(str_cat("unknown operator ", op));
}

Value Evaluator::eval(const Expr& e) {
  line_ = e.line;
  switch (e.kind) {
    case Expr::Kind::kLiteral:
      return e.value;
    case Expr::Kind::kName:
      return lookup(e.name);
    case Expr::Kind::kList:
    case Expr::Kind::kTuple: {
      List items;
      for (const ExprPtr& a : e.args) items.push_back(eval(*a));
      return Value::new_list(std::move(items));
    }
    case Expr::Kind::kDict: {
      Value d = Value::new_dict();
      for (size_t i = 0; i + 1 < e.args.size(); i += 2) {
        Value k = eval(*e.args[i]);
        d.dict->set(k.is_string() ? k.s : to_str(k), eval(*e.args[i + 1]));
      }
      return d;
    }
    case Expr::Kind::kAttr: {
      Value obj = eval(*e.args[0]);
      line_ = e.line;
      return get_attr(*this, obj, e.name);
    }
    case Expr::Kind::kIndex: {
      Value obj = eval(*e.args[0]);
      Value key = eval(*e.args[1]);
      line_ = e.line;
      return subscript(obj, key);
    }
    case Expr::Kind::kSlice:
      return slice(eval(*e.args[0]), e);
    case Expr::Kind::kCall:
      return call(e);
    case Expr::Kind::kFilter: {
      Value subject = eval(*e.args[0]);
      CallArgs args = eval_args(e, 1);
      line_ = e.line;
      return apply_filter(*this, e.name, subject, args);
    }
    case Expr::Kind::kTest: {
      Value subject = eval(*e.args[0]);
      CallArgs args = eval_args(e, 1);
      line_ = e.line;
      return Value::boolean(apply_test(*this, e.name, subject, args) != e.negate);
    }
    case Expr::Kind::kUnary: {
      Value v = eval(*e.args[0]);
      if (e.name == "not") return Value::boolean(!truthy(v));
      if (!v.is_number())
        error(str_cat("bad operand type for unary ", e.name, ": '", type_name(v), "'"));
      if (e.name == "+") return v;
      return v.kind == Value::Kind::kFloat ? Value::number(-v.f) : Value::integer(-as_int(v));
    }
    case Expr::Kind::kAnd: {
      Value a = eval(*e.args[0]);
      return truthy(a) ? eval(*e.args[1]) : a;
    }
    case Expr::Kind::kOr: {
      Value a = eval(*e.args[0]);
      return truthy(a) ? a : eval(*e.args[1]);
    }
    case Expr::Kind::kCond:
      if (truthy(eval(*e.args[1]))) return eval(*e.args[0]);
      return e.args[2] ? eval(*e.args[2]) : Value::undefined();
    case Expr::Kind::kBinary: {
      Value a = eval(*e.args[0]);
      Value b = eval(*e.args[1]);
      line_ = e.line;
      return binary(e.name, a, b);
    }
  }
  return Value::undefined();
}

Template::Template(std::string_view source) : program_(std::make_unique<Program>()) {
  program_->body = parse_template(source);
}
Template::~Template() = default;
Template::Template(Template&&) noexcept = default;

std::string Template::render(const Json& context,
                             const std::vector<std::pair<std::string, Value>>& extra) const {
  Evaluator ev;
  if (context.is_object())
    for (auto it = context.begin(); it != context.end(); ++it)
      ev.set_global(it.key(), Value::from_json(it.value()));
  for (const auto& [k, v] : extra) ev.set_global(k, v);
  std::string out;
  ev.render(program_->body, out);
  return out;
}

}  // namespace qinfer::tokenizer::jinja

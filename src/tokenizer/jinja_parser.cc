// Recursive-descent parser for the Jinja subset, with jinja2/parser.py's precedence:
// condexpr < or < and < not < compare < +,- < ~ < *,/,//,% < ** < unary < postfix/filter/test.
#include <set>

#include "core/error.h"
#include "tokenizer/jinja_ast.h"

namespace qinfer::tokenizer::jinja {
namespace {

using T = Tok::T;

ExprPtr make(Expr::Kind k, int line) {
  auto e = std::make_unique<Expr>();
  e->kind = k;
  e->line = line;
  return e;
}

class Parser {
 public:
  explicit Parser(std::vector<Tok> toks) : toks_(std::move(toks)) {}

  Body parse_all() {
    std::string stop;
    Body body = parse_body({}, &stop);
    if (!stop.empty()) fail(cur().line, str_cat("unexpected '", stop, "'"));
    return body;
  }

 private:
  const Tok& cur() const { return toks_[p_]; }
  const Tok& peek(size_t k = 1) const { return toks_[std::min(p_ + k, toks_.size() - 1)]; }
  bool is_op(std::string_view op) const { return cur().t == T::kOp && cur().s == op; }
  bool is_name(std::string_view n) const { return cur().t == T::kName && cur().s == n; }
  bool skip_op(std::string_view op) {
    if (!is_op(op)) return false;
    ++p_;
    return true;
  }
  bool skip_name(std::string_view n) {
    if (!is_name(n)) return false;
    ++p_;
    return true;
  }
  void expect_op(std::string_view op) {
    if (!skip_op(op)) fail(cur().line, str_cat("expected '", op, "', got '", describe(), "'"));
  }
  std::string expect_name() {
    if (cur().t != T::kName) fail(cur().line, str_cat("expected a name, got '", describe(), "'"));
    return toks_[p_++].s;
  }
  void expect_block_end() {
    if (cur().t != T::kBlockEnd) fail(cur().line, str_cat("expected '%}', got '", describe(), "'"));
    ++p_;
  }
  std::string describe() const {
    switch (cur().t) {
      case T::kEof:
        return "end of template";
      case T::kBlockEnd:
        return "%}";
      case T::kVarEnd:
        return "}}";
      default:
        return cur().s;
    }
  }

  // Parses until end of input or a block tag whose keyword is in `stops` (left unconsumed
  // after its {%: *stop gets the keyword).
  Body parse_body(const std::set<std::string>& stops, std::string* stop) {
    Body body;
    stop->clear();
    while (cur().t != T::kEof) {
      if (cur().t == T::kText) {
        auto n = std::make_unique<Node>();
        n->kind = Node::Kind::kText;
        n->line = cur().line;
        n->text = toks_[p_++].s;
        body.push_back(std::move(n));
      } else if (cur().t == T::kVarBegin) {
        auto n = std::make_unique<Node>();
        n->kind = Node::Kind::kOutput;
        n->line = toks_[p_++].line;
        n->expr = parse_tuple_expr();
        if (cur().t != T::kVarEnd)
          fail(cur().line, str_cat("expected '}}', got '", describe(), "'"));
        ++p_;
        body.push_back(std::move(n));
      } else if (cur().t == T::kBlockBegin) {
        const Tok& kw = peek();
        if (kw.t == T::kName && stops.count(kw.s)) {
          ++p_;
          *stop = toks_[p_++].s;
          return body;
        }
        ++p_;
        body.push_back(parse_statement());
      } else {
        fail(cur().line, str_cat("unexpected '", describe(), "'"));
      }
    }
    return body;
  }

  Body parse_until(const std::set<std::string>& stops, std::string* stop, const char* what,
                   int line) {
    Body b = parse_body(stops, stop);
    if (stop->empty()) fail(line, str_cat("unclosed '", what, "' block"));
    return b;
  }

  NodePtr parse_statement() {
    int line = cur().line;
    if (++block_depth_ > kMaxNesting) fail(line, "blocks nested too deeply");
    NodePtr n = parse_statement_inner(line);
    --block_depth_;
    return n;
  }

  NodePtr parse_statement_inner(int line) {
    std::string kw = expect_name();
    auto n = std::make_unique<Node>();
    n->line = line;
    std::string stop;
    if (kw == "if") {
      n->kind = Node::Kind::kIf;
      while (true) {
        n->conds.push_back(parse_expr());
        expect_block_end();
        n->bodies.push_back(parse_until({"elif", "else", "endif"}, &stop, "if", line));
        if (stop != "elif") break;
      }
      if (stop == "else") {
        expect_block_end();
        n->else_body = parse_until({"endif"}, &stop, "if", line);
      }
      expect_block_end();
    } else if (kw == "for") {
      parse_for(*n);
    } else if (kw == "set") {
      parse_set(*n);
    } else if (kw == "macro") {
      n->kind = Node::Kind::kMacro;
      n->text = expect_name();
      parse_params(*n);
      expect_block_end();
      n->body = parse_until({"endmacro"}, &stop, "macro", line);
      if (cur().t == T::kName) ++p_;  // {% endmacro name %}
      expect_block_end();
    } else if (kw == "call") {
      n->kind = Node::Kind::kCallBlock;
      if (is_op("(")) parse_params(*n);
      n->expr = parse_expr();
      expect_block_end();
      n->body = parse_until({"endcall"}, &stop, "call", line);
      expect_block_end();
    } else if (kw == "break" || kw == "continue") {
      n->kind = kw == "break" ? Node::Kind::kBreak : Node::Kind::kContinue;
      expect_block_end();
    } else if (kw == "generation") {  // transformers' AssistantTracker: renders its body
      n->kind = Node::Kind::kBody;
      expect_block_end();
      n->body = parse_until({"endgeneration"}, &stop, "generation", line);
      expect_block_end();
    } else {
      fail(line, str_cat("unknown or unsupported statement '", kw, "'"));
    }
    return n;
  }

  void parse_for(Node& n) {
    n.kind = Node::Kind::kFor;
    bool paren = skip_op("(");
    do {
      n.targets.push_back(expect_name());
    } while (skip_op(","));
    if (paren) expect_op(")");
    if (!skip_name("in")) fail(cur().line, "expected 'in' in for loop");
    n.expr = parse_or();  // no condexpr: a trailing `if` filters the loop
    if (skip_name("if")) n.cond = parse_expr();
    if (is_name("recursive")) fail(cur().line, "recursive for loops are not supported");
    expect_block_end();
    std::string stop;
    n.body = parse_until({"else", "endfor"}, &stop, "for", n.line);
    if (stop == "else") {
      expect_block_end();
      n.else_body = parse_until({"endfor"}, &stop, "for", n.line);
    }
    expect_block_end();
  }

  void parse_set(Node& n) {
    n.kind = Node::Kind::kSet;
    do {
      n.targets.push_back(expect_name());
    } while (skip_op(","));
    if (n.targets.size() == 1 && skip_op(".")) n.text = expect_name();
    if (skip_op("=")) {
      n.expr = parse_tuple_expr();
      expect_block_end();
      return;
    }
    if (n.targets.size() != 1 || !n.text.empty()) fail(n.line, "expected '=' in set");
    n.kind = Node::Kind::kSetBlock;
    expect_block_end();
    std::string stop;
    n.body = parse_until({"endset"}, &stop, "set", n.line);
    expect_block_end();
  }

  void parse_params(Node& n) {
    expect_op("(");
    while (!is_op(")")) {
      std::string name = expect_name();
      ExprPtr def;
      if (skip_op("=")) def = parse_expr();
      n.params.emplace_back(name, std::move(def));
      if (!skip_op(",")) break;
    }
    expect_op(")");
  }

  // expr[, expr...] -> a tuple when there is a comma.
  ExprPtr parse_tuple_expr() {
    int line = cur().line;
    ExprPtr first = parse_expr();
    if (!is_op(",")) return first;
    auto t = make(Expr::Kind::kTuple, line);
    t->args.push_back(std::move(first));
    while (skip_op(",")) {
      if (cur().t == T::kVarEnd || cur().t == T::kBlockEnd) break;
      t->args.push_back(parse_expr());
    }
    return t;
  }

  ExprPtr parse_expr() {
    int line = cur().line;
    // Bounded recursion: a hostile template must not overflow the stack.
    struct Guard {
      int& d;
      explicit Guard(int& depth, int l) : d(depth) {
        if (++d > kMaxNesting) fail(l, "expression nested too deeply");
      }
      ~Guard() { --d; }
    } guard(depth_, line);
    ExprPtr e = parse_or();
    while (skip_name("if")) {
      auto c = make(Expr::Kind::kCond, line);
      ExprPtr cond = parse_or();
      ExprPtr other = skip_name("else") ? parse_expr() : nullptr;
      c->args.push_back(std::move(e));
      c->args.push_back(std::move(cond));
      c->args.push_back(std::move(other));
      e = std::move(c);
    }
    return e;
  }

  ExprPtr binary(Expr::Kind k, std::string op, ExprPtr a, ExprPtr b, int line) {
    auto e = make(k, line);
    e->name = std::move(op);
    e->args.push_back(std::move(a));
    e->args.push_back(std::move(b));
    return e;
  }

  ExprPtr parse_or() {
    ExprPtr e = parse_and();
    while (is_name("or")) {
      int line = toks_[p_++].line;
      e = binary(Expr::Kind::kOr, "or", std::move(e), parse_and(), line);
    }
    return e;
  }

  ExprPtr parse_and() {
    ExprPtr e = parse_not();
    while (is_name("and")) {
      int line = toks_[p_++].line;
      e = binary(Expr::Kind::kAnd, "and", std::move(e), parse_not(), line);
    }
    return e;
  }

  ExprPtr parse_not() {
    if (is_name("not")) {
      auto e = make(Expr::Kind::kUnary, toks_[p_++].line);
      e->name = "not";
      e->args.push_back(parse_not());
      return e;
    }
    return parse_compare();
  }

  ExprPtr parse_compare() {
    ExprPtr e = parse_math1();
    while (true) {
      int line = cur().line;
      std::string op;
      if (cur().t == T::kOp && (cur().s == "==" || cur().s == "!=" || cur().s == "<" ||
                                cur().s == "<=" || cur().s == ">" || cur().s == ">=")) {
        op = toks_[p_++].s;
      } else if (is_name("in")) {
        ++p_;
        op = "in";
      } else if (is_name("not") && peek().t == T::kName && peek().s == "in") {
        p_ += 2;
        op = "notin";
      } else {
        return e;
      }
      e = binary(Expr::Kind::kBinary, op, std::move(e), parse_math1(), line);
    }
  }

  template <typename Next>
  ExprPtr parse_left(std::initializer_list<const char*> ops, Next next) {
    ExprPtr e = (this->*next)();
    while (cur().t == T::kOp) {
      bool found = false;
      for (const char* op : ops) found |= cur().s == op;
      if (!found) break;
      const Tok& t = toks_[p_++];
      e = binary(Expr::Kind::kBinary, t.s, std::move(e), (this->*next)(), t.line);
    }
    return e;
  }
  ExprPtr parse_math1() { return parse_left({"+", "-"}, &Parser::parse_concat); }
  ExprPtr parse_concat() { return parse_left({"~"}, &Parser::parse_math2); }
  ExprPtr parse_math2() { return parse_left({"*", "/", "//", "%"}, &Parser::parse_pow); }
  ExprPtr parse_pow() { return parse_left({"**"}, &Parser::parse_unary_filtered); }
  ExprPtr parse_unary_filtered() { return parse_unary(true); }

  ExprPtr parse_unary(bool with_filter) {
    if (depth_ + unary_depth_ > kMaxNesting) fail(cur().line, "expression nested too deeply");
    ++unary_depth_;
    ExprPtr e = parse_unary_inner(with_filter);
    --unary_depth_;
    return e;
  }

  ExprPtr parse_unary_inner(bool with_filter) {
    ExprPtr e;
    if (is_op("-") || is_op("+")) {
      e = make(Expr::Kind::kUnary, cur().line);
      e->name = toks_[p_++].s;
      e->args.push_back(parse_unary(false));
    } else {
      e = parse_primary();
    }
    e = parse_postfix(std::move(e));
    if (with_filter) e = parse_filters(std::move(e));
    return e;
  }

  ExprPtr parse_primary() {
    const Tok& t = cur();
    int line = t.line;
    if (t.t == T::kName) {
      ++p_;
      if (t.s == "true" || t.s == "True" || t.s == "false" || t.s == "False") {
        auto e = make(Expr::Kind::kLiteral, line);
        e->value = Value::boolean(t.s[0] == 't' || t.s[0] == 'T');
        return e;
      }
      if (t.s == "none" || t.s == "None") {
        auto e = make(Expr::Kind::kLiteral, line);
        e->value = Value::none();
        return e;
      }
      auto e = make(Expr::Kind::kName, line);
      e->name = t.s;
      return e;
    }
    if (t.t == T::kString) {
      std::string s;
      while (cur().t == T::kString) s += toks_[p_++].s;  // adjacent literals concatenate
      auto e = make(Expr::Kind::kLiteral, line);
      e->value = Value::string(std::move(s));
      return e;
    }
    if (t.t == T::kInt || t.t == T::kFloat) {
      ++p_;
      auto e = make(Expr::Kind::kLiteral, line);
      e->value = t.t == T::kInt ? Value::integer(t.i) : Value::number(t.f);
      return e;
    }
    if (skip_op("(")) {
      if (skip_op(")")) return make(Expr::Kind::kTuple, line);
      ExprPtr first = parse_expr();
      if (skip_op(")")) return first;
      auto tup = make(Expr::Kind::kTuple, line);
      tup->args.push_back(std::move(first));
      while (skip_op(",")) {
        if (is_op(")")) break;
        tup->args.push_back(parse_expr());
      }
      expect_op(")");
      return tup;
    }
    if (skip_op("[")) {
      auto e = make(Expr::Kind::kList, line);
      while (!is_op("]")) {
        e->args.push_back(parse_expr());
        if (!skip_op(",")) break;
      }
      expect_op("]");
      return e;
    }
    if (skip_op("{")) {
      auto e = make(Expr::Kind::kDict, line);
      while (!is_op("}")) {
        e->args.push_back(parse_expr());
        expect_op(":");
        e->args.push_back(parse_expr());
        if (!skip_op(",")) break;
      }
      expect_op("}");
      return e;
    }
    fail(line, str_cat("unexpected '", describe(), "'"));
  }

  void parse_call_args(Expr& e) {
    expect_op("(");
    while (!is_op(")")) {
      if (cur().t == T::kName && peek().t == T::kOp && peek().s == "=") {
        std::string key = toks_[p_].s;
        p_ += 2;
        e.kwargs.emplace_back(key, parse_expr());
      } else {
        e.args.push_back(parse_expr());
      }
      if (!skip_op(",")) break;
    }
    expect_op(")");
  }

  ExprPtr parse_postfix(ExprPtr e) {
    while (true) {
      int line = cur().line;
      if (skip_op(".")) {
        if (cur().t == T::kInt) {  // foo.0 is foo[0]
          auto idx = make(Expr::Kind::kIndex, line);
          auto lit = make(Expr::Kind::kLiteral, line);
          lit->value = Value::integer(toks_[p_++].i);
          idx->args.push_back(std::move(e));
          idx->args.push_back(std::move(lit));
          e = std::move(idx);
          continue;
        }
        auto a = make(Expr::Kind::kAttr, line);
        a->name = expect_name();
        a->args.push_back(std::move(e));
        e = std::move(a);
      } else if (skip_op("[")) {
        e = parse_subscript(std::move(e), line);
      } else if (is_op("(")) {
        auto c = make(Expr::Kind::kCall, line);
        c->args.push_back(std::move(e));
        parse_call_args(*c);
        e = std::move(c);
      } else {
        return e;
      }
    }
  }

  ExprPtr parse_subscript(ExprPtr subject, int line) {
    ExprPtr parts[3];
    int n_colons = 0;
    if (!is_op(":")) parts[0] = parse_expr();
    while (n_colons < 2 && skip_op(":")) {
      ++n_colons;
      if (!is_op(":") && !is_op("]")) parts[n_colons] = parse_expr();
    }
    expect_op("]");
    auto e = make(n_colons ? Expr::Kind::kSlice : Expr::Kind::kIndex, line);
    e->args.push_back(std::move(subject));
    if (!n_colons) {
      e->args.push_back(std::move(parts[0]));
    } else {
      for (auto& part : parts) e->args.push_back(std::move(part));
    }
    return e;
  }

  std::string dotted_name() {
    std::string name = expect_name();
    while (is_op(".") && peek().t == T::kName) {
      p_ += 1;
      name += "." + expect_name();
    }
    return name;
  }

  ExprPtr parse_filters(ExprPtr e) {
    while (true) {
      int line = cur().line;
      if (skip_op("|")) {
        auto f = make(Expr::Kind::kFilter, line);
        f->name = dotted_name();
        f->args.push_back(std::move(e));
        if (is_op("(")) parse_call_args(*f);
        e = std::move(f);
      } else if (skip_name("is")) {
        auto t = make(Expr::Kind::kTest, line);
        t->negate = skip_name("not");
        t->name = dotted_name();
        t->args.push_back(std::move(e));
        if (is_op("(")) {
          parse_call_args(*t);
        } else if ((cur().t == T::kName || cur().t == T::kString || cur().t == T::kInt ||
                    cur().t == T::kFloat || is_op("[") || is_op("{")) &&
                   !is_name("else") && !is_name("or") && !is_name("and")) {
          t->args.push_back(parse_postfix(parse_primary()));  // `is equalto 'x'`
        }
        e = std::move(t);
      } else if (is_op("(")) {
        auto c = make(Expr::Kind::kCall, line);
        c->args.push_back(std::move(e));
        parse_call_args(*c);
        e = std::move(c);
      } else {
        return e;
      }
    }
  }

  static constexpr int kMaxNesting = 200;
  std::vector<Tok> toks_;
  size_t p_ = 0;
  int depth_ = 0;
  int unary_depth_ = 0;
  int block_depth_ = 0;
};

}  // namespace

Body parse_template(std::string_view source) {
  return Parser(lex_template(source)).parse_all();
}

}  // namespace qinfer::tokenizer::jinja

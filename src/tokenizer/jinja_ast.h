// The Jinja subset's syntax tree (internal to jinja_*.cc).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "tokenizer/jinja.h"

namespace qinfer::tokenizer::jinja {

struct Expr;
using ExprPtr = std::unique_ptr<Expr>;

struct Expr {
  enum class Kind {
    kLiteral,  // value
    kName,     // name
    kList,     // args
    kTuple,    // args
    kDict,     // kwargs-like: keys in args (even), values (odd)
    kAttr,     // args[0].name
    kIndex,    // args[0][args[1]]
    kSlice,    // args[0][args[1]:args[2]:args[3]] (null = omitted)
    kCall,     // args[0](args[1..], kwargs)
    kFilter,   // args[0] | name(args[1..], kwargs)
    kTest,     // args[0] is [not] name(args[1..]); negate
    kUnary,    // op args[0]: "-", "+", "not"
    kBinary,   // args[0] op args[1]: arithmetic, comparison, "in", "notin", "~"
    kAnd,
    kOr,
    kCond,  // args[0] if args[1] else args[2] (args[2] may be null)
  };
  Kind kind;
  int line = 0;
  Value value;
  std::string name;  // kName, kAttr, kFilter, kTest; kUnary/kBinary: the operator
  bool negate = false;
  std::vector<ExprPtr> args;
  std::vector<std::pair<std::string, ExprPtr>> kwargs;
};

struct Node;
using NodePtr = std::unique_ptr<Node>;
using Body = std::vector<NodePtr>;

struct Node {
  enum class Kind {
    kText,       // text
    kOutput,     // {{ expr }}
    kIf,         // conds[i] -> bodies[i]; else_body
    kFor,        // for targets in expr [if cond]: body; else_body
    kSet,        // set targets = expr, or set target.attr = expr (attr non-empty)
    kSetBlock,   // set target %}body{% endset
    kMacro,      // macro name(params) body
    kCallBlock,  // call(caller params) expr %}body{% endcall
    kBreak,
    kContinue,
    kBody,  // body only ({% generation %} ... {% endgeneration %})
  };
  Kind kind;
  int line = 0;
  std::string text;  // kText; kMacro: name; kSet: attr
  ExprPtr expr;
  ExprPtr cond;
  std::vector<std::string> targets;
  std::vector<ExprPtr> conds;
  std::vector<Body> bodies;
  Body body;
  Body else_body;
  std::vector<std::pair<std::string, ExprPtr>> params;  // kMacro / kCallBlock: name, default
};

struct Tok {
  enum class T {
    kText,
    kVarBegin,
    kVarEnd,
    kBlockBegin,
    kBlockEnd,
    kName,
    kString,
    kInt,
    kFloat,
    kOp,
    kEof
  };
  T t;
  std::string s;
  int line = 0;
  int64_t i = 0;
  double f = 0;
};

std::vector<Tok> lex_template(std::string_view source);
[[noreturn]] void fail(int line, const std::string& msg);

struct Program {
  Body body;
};

Body parse_template(std::string_view source);

}  // namespace qinfer::tokenizer::jinja

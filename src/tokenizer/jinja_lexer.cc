// Jinja lexer: whitespace control as jinja2/lexer.py does it with trim_blocks and
// lstrip_blocks, string literals decoded like Python's unicode-escape.
#include <cctype>
#include <cstdlib>

#include "core/error.h"
#include "tokenizer/jinja_ast.h"
#include "tokenizer/unicode.h"

namespace qinfer::tokenizer::jinja {
namespace {

// Python's str.isspace() set (re's \s for str patterns is the same).
bool py_space(uint32_t cp) {
  return (cp >= 9 && cp <= 13) || (cp >= 0x1C && cp <= 0x20) || cp == 0x85 || cp == 0xA0 ||
         cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 ||
         cp == 0x202F || cp == 0x205F || cp == 0x3000;
}

// Byte offset just past the Python-whitespace run starting at pos.
size_t skip_py_space(std::string_view s, size_t pos) {
  while (pos < s.size()) {
    size_t len;
    if (!py_space(decode_utf8(s, pos, &len))) break;
    pos += len;
  }
  return pos;
}

// s without trailing Python whitespace.
std::string_view rstrip_py(std::string_view s) {
  size_t end = s.size();
  while (end > 0) {
    size_t start = end - 1;
    while (start > 0 && (static_cast<uint8_t>(s[start]) & 0xC0) == 0x80) --start;
    size_t len;
    if (!py_space(decode_utf8(s, start, &len))) break;
    end = start;
  }
  return s.substr(0, end);
}

int count_lines(std::string_view s) {
  int n = 0;
  for (char c : s) n += c == '\n';
  return n;
}

class Lexer {
 public:
  explicit Lexer(std::string_view source) {
    // jinja2 normalizes \r\n and \r to \n and drops one trailing newline
    // (keep_trailing_newline=False).
    src_.reserve(source.size());
    for (size_t i = 0; i < source.size(); ++i) {
      if (source[i] == '\r') {
        src_ += '\n';
        if (i + 1 < source.size() && source[i + 1] == '\n') ++i;
      } else {
        src_ += source[i];
      }
    }
    if (!src_.empty() && src_.back() == '\n') src_.pop_back();
  }

  std::vector<Tok> run() {
    size_t pos = 0;
    bool line_starting = true;
    while (pos < src_.size()) {
      size_t q = pos;
      while ((q = src_.find('{', q)) != std::string::npos) {
        if (q + 1 < src_.size() && (src_[q + 1] == '{' || src_[q + 1] == '%' || src_[q + 1] == '#'))
          break;
        ++q;
      }
      if (q == std::string::npos) {
        emit_text(std::string_view(src_).substr(pos));
        break;
      }
      char kind = src_[q + 1];
      char marker =
          q + 2 < src_.size() && (src_[q + 2] == '-' || src_[q + 2] == '+') ? src_[q + 2] : 0;
      std::string_view text = std::string_view(src_).substr(pos, q - pos);
      int text_lines = count_lines(text);
      if (marker == '-') {
        text = rstrip_py(text);
      } else if (marker != '+' && kind != '{') {  // lstrip_blocks
        size_t l = text.rfind('\n');
        l = l == std::string_view::npos ? 0 : l + 1;
        if ((l > 0 || line_starting) && l < text.size() && skip_py_space(text, l) == text.size())
          text = text.substr(0, l);
      }
      emit_text(text);
      line_ += text_lines;
      size_t start = q + 2 + (marker ? 1 : 0);
      pos = kind == '#' ? lex_comment(start) : lex_tag(start, kind);
      line_starting = pos > 0 && src_[pos - 1] == '\n';
    }
    toks_.push_back(Tok{Tok::T::kEof, "", line_});
    return std::move(toks_);
  }

 private:
  void emit_text(std::string_view text) {
    if (!text.empty()) toks_.push_back(Tok{Tok::T::kText, std::string(text), line_});
  }

  // After a tag's end marker: '-' strips following whitespace, '+' keeps it, plain drops one
  // newline (trim_blocks; blocks and comments only).
  size_t after_end(size_t pos, char marker, bool is_block) {
    if (marker == '-') return skip_py_space(src_, pos);
    if (marker != '+' && is_block && pos < src_.size() && src_[pos] == '\n') return pos + 1;
    return pos;
  }

  size_t lex_comment(size_t start) {
    size_t end = src_.find("#}", start);
    if (end == std::string::npos) fail(line_, "missing end of comment tag");
    char marker = end > start && (src_[end - 1] == '-' || src_[end - 1] == '+') ? src_[end - 1] : 0;
    size_t next = after_end(end + 2, marker, true);
    line_ += count_lines(std::string_view(src_).substr(start, next - start));
    return next;
  }

  size_t lex_tag(size_t pos, char kind) {
    bool block = kind == '%';
    toks_.push_back(Tok{block ? Tok::T::kBlockBegin : Tok::T::kVarBegin, "", line_});
    int depth = 0;
    const std::string_view s(src_);
    while (true) {
      while (pos < s.size() &&
             (s[pos] == ' ' || s[pos] == '\t' || s[pos] == '\n' || s[pos] == '\r')) {
        line_ += s[pos] == '\n';
        ++pos;
      }
      if (pos >= s.size()) fail(line_, block ? "missing end of block tag '%}'" : "missing '}}'");
      std::string_view end = block ? "%}" : "}}";
      if (block || depth == 0) {
        char marker = 0;
        size_t m = pos;
        if ((s[m] == '-' || (block && s[m] == '+')) && s.substr(m + 1, 2) == end) marker = s[m++];
        if (s.substr(m, 2) == end) {
          toks_.push_back(Tok{block ? Tok::T::kBlockEnd : Tok::T::kVarEnd, "", line_});
          size_t next = after_end(m + 2, marker, block);
          line_ += count_lines(s.substr(m + 2, next - m - 2));
          return next;
        }
      }
      pos = lex_token(pos, depth);
    }
  }

  size_t lex_token(size_t pos, int& depth) {
    const std::string_view s(src_);
    char c = s[pos];
    if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
      size_t e = pos;
      while (e < s.size() && (std::isalnum(static_cast<unsigned char>(s[e])) || s[e] == '_')) ++e;
      toks_.push_back(Tok{Tok::T::kName, std::string(s.substr(pos, e - pos)), line_});
      return e;
    }
    if (std::isdigit(static_cast<unsigned char>(c))) return lex_number(pos);
    if (c == '\'' || c == '"') return lex_string(pos);
    static const char* kOps2[] = {"//", "**", "==", "!=", ">=", "<="};
    for (const char* op : kOps2) {
      if (s.substr(pos, 2) == op) {
        toks_.push_back(Tok{Tok::T::kOp, op, line_});
        return pos + 2;
      }
    }
    if (std::string_view("+-/*%~[](){}=.:,|<>;").find(c) == std::string_view::npos)
      fail(line_, str_cat("unexpected character '", c, "'"));
    if (c == '(' || c == '[' || c == '{') ++depth;
    if (c == ')' || c == ']' || c == '}') --depth;
    toks_.push_back(Tok{Tok::T::kOp, std::string(1, c), line_});
    return pos + 1;
  }

  size_t lex_number(size_t pos) {
    const std::string_view s(src_);
    size_t e = pos;
    auto digits = [&] {
      while (e < s.size() && (std::isdigit(static_cast<unsigned char>(s[e])) || s[e] == '_')) ++e;
    };
    digits();
    bool is_float = false;
    if (e + 1 < s.size() && s[e] == '.' && std::isdigit(static_cast<unsigned char>(s[e + 1]))) {
      ++e;
      digits();
      is_float = true;
    }
    if (e < s.size() && (s[e] == 'e' || s[e] == 'E')) {
      size_t m = e + 1;
      if (m < s.size() && (s[m] == '+' || s[m] == '-')) ++m;
      if (m < s.size() && std::isdigit(static_cast<unsigned char>(s[m]))) {
        e = m;
        digits();
        is_float = true;
      }
    }
    std::string text;
    for (char ch : s.substr(pos, e - pos))
      if (ch != '_') text += ch;
    Tok t{is_float ? Tok::T::kFloat : Tok::T::kInt, text, line_};
    if (is_float) {
      t.f = std::strtod(text.c_str(), nullptr);
    } else {
      t.i = std::strtoll(text.c_str(), nullptr, 10);
    }
    toks_.push_back(t);
    return e;
  }

  // Python "unicode-escape" decoding of a string literal's body, as jinja2 does.
  size_t lex_string(size_t pos) {
    const std::string_view s(src_);
    char quote = s[pos];
    std::string out;
    size_t i = pos + 1;
    int start_line = line_;
    auto hex = [&](size_t at, int n) -> int64_t {
      if (at + size_t(n) > s.size()) return -1;
      int64_t v = 0;
      for (int k = 0; k < n; ++k) {
        char h = s[at + size_t(k)];
        int d = std::isdigit(static_cast<unsigned char>(h)) ? h - '0'
                : (h >= 'a' && h <= 'f')                    ? h - 'a' + 10
                : (h >= 'A' && h <= 'F')                    ? h - 'A' + 10
                                                            : -1;
        if (d < 0) return -1;
        v = v * 16 + d;
      }
      return v;
    };
    while (true) {
      if (i >= s.size()) fail(start_line, "unterminated string literal");
      char c = s[i];
      if (c == quote) break;
      if (c == '\n') ++line_;
      if (c != '\\' || i + 1 >= s.size()) {
        out += c;
        ++i;
        continue;
      }
      char e = s[i + 1];
      i += 2;
      switch (e) {
        case 'n':
          out += '\n';
          break;
        case 't':
          out += '\t';
          break;
        case 'r':
          out += '\r';
          break;
        case 'b':
          out += '\b';
          break;
        case 'f':
          out += '\f';
          break;
        case 'v':
          out += '\v';
          break;
        case 'a':
          out += '\a';
          break;
        case '\\':
          out += '\\';
          break;
        case '\'':
          out += '\'';
          break;
        case '"':
          out += '"';
          break;
        case '\n':
          ++line_;
          break;  // line continuation
        case 'x':
        case 'u':
        case 'U': {
          int n = e == 'x' ? 2 : e == 'u' ? 4 : 8;
          int64_t v = hex(i, n);
          if (v < 0 || v > 0x10FFFF) fail(line_, "bad \\x/\\u escape in string literal");
          append_utf8(out, uint32_t(v));
          i += size_t(n);
          break;
        }
        default:
          if (e >= '0' && e <= '7') {  // octal, up to 3 digits
            int v = e - '0';
            for (int k = 0; k < 2 && i < s.size() && s[i] >= '0' && s[i] <= '7'; ++k)
              v = v * 8 + (s[i++] - '0');
            append_utf8(out, uint32_t(v));
          } else {
            out += '\\';
            out += e;
          }
      }
    }
    toks_.push_back(Tok{Tok::T::kString, std::move(out), start_line});
    return i + 1;
  }

  std::string src_;
  std::vector<Tok> toks_;
  int line_ = 1;
};

}  // namespace

void fail(int line, const std::string& msg) {
  QINFER_FAIL("chat template line ", line, ": ", msg);
}

std::vector<Tok> lex_template(std::string_view source) {
  return Lexer(source).run();
}

}  // namespace qinfer::tokenizer::jinja

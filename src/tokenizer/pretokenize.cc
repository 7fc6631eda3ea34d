#include "tokenizer/pretokenize.h"

#include "tokenizer/unicode.h"

namespace qinfer::tokenizer {
namespace {

constexpr std::string_view kLlama3Pattern =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| "
    "?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
constexpr std::string_view kQwen2Pattern =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| "
    "?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
constexpr std::string_view kGpt2Pattern =
    "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

struct Cursor {
  std::string_view text;
  uint32_t cp(size_t pos, size_t* len) const { return decode_utf8(text, pos, len); }
  uint8_t cls(size_t pos, size_t* len) const { return code_class(cp(pos, len)); }
};

// End of the run of characters from pos whose class satisfies pred.
template <typename Pred>
size_t scan(const Cursor& c, size_t pos, Pred pred) {
  while (pos < c.text.size()) {
    size_t len;
    uint32_t cp = c.cp(pos, &len);
    if (!pred(cp, code_class(cp))) break;
    pos += len;
  }
  return pos;
}

bool is_other(uint8_t cls) {
  return (cls & (kClassLetter | kClassNumber | kClassSpace)) == 0;
}

// Length after the apostrophe of a contraction s|t|re|ve|m|ll|d at pos, 0 if none.
// case_insensitive follows Oniguruma's folding: 's' also matches 'S' and U+017F.
size_t contraction(std::string_view t, size_t pos, bool case_insensitive) {
  if (pos >= t.size()) return 0;
  auto lower = [&](size_t p) -> char {
    if (p >= t.size()) return 0;
    char ch = t[p];
    if (case_insensitive && ch >= 'A' && ch <= 'Z') ch = static_cast<char>(ch - 'A' + 'a');
    return ch;
  };
  char a = lower(pos);
  if (a == 's' || a == 't' || a == 'm' || a == 'd') return 1;
  if (case_insensitive && t.substr(pos, 2) == "\xC5\xBF") return 2;  // U+017F folds to 's'
  char b = lower(pos + 1);
  if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l')) return 2;
  return 0;
}

// \s*[\r\n]+ | \s+(?!\S) | \s+ at pos, where text[pos] is whitespace. with_newline_rule
// selects the Llama 3 pattern's first alternative.
size_t match_space(const Cursor& c, size_t pos, bool with_newline_rule) {
  size_t end = pos, last_start = pos, last_newline_end = 0;
  size_t n_chars = 0;
  while (end < c.text.size()) {
    size_t len;
    uint32_t cp = c.cp(end, &len);
    if (!(code_class(cp) & kClassSpace)) break;
    last_start = end;
    end += len;
    ++n_chars;
    if (cp == '\r' || cp == '\n') last_newline_end = end;
  }
  if (with_newline_rule && last_newline_end != 0) return last_newline_end;
  if (end == c.text.size()) return end;  // (?!\S) holds at the end of the text
  if (n_chars >= 2) return last_start;   // back off one so that whitespace follows
  return end;                            // \s+
}

}  // namespace

std::optional<SplitRegex> find_split_regex(std::string_view pattern) {
  if (pattern == kLlama3Pattern) return SplitRegex::kLlama3;
  if (pattern == kQwen2Pattern) return SplitRegex::kQwen2;
  if (pattern == kGpt2Pattern) return SplitRegex::kGpt2;
  return std::nullopt;
}

size_t match_llama3(std::string_view text, size_t pos, int max_digits) {
  Cursor c{text};
  size_t n0;
  uint32_t c0 = c.cp(pos, &n0);
  if (c0 == '\'') {
    size_t k = contraction(text, pos + 1, /*case_insensitive=*/true);
    if (k) return pos + 1 + k;
  }
  uint8_t cls0 = code_class(c0);
  auto letter = [](uint32_t, uint8_t cls) { return (cls & kClassLetter) != 0; };
  // [^\r\n\p{L}\p{N}]?\p{L}+
  if (cls0 & kClassLetter) return scan(c, pos + n0, letter);
  size_t next = pos + n0;
  if (!(cls0 & kClassNumber) && c0 != '\r' && c0 != '\n' && next < text.size()) {
    size_t n1;
    if (c.cls(next, &n1) & kClassLetter) return scan(c, next + n1, letter);
  }
  // \p{N}{1,3} (Qwen2: \p{N})
  if (cls0 & kClassNumber) {
    size_t end = next;
    for (int i = 1; i < max_digits && end < text.size(); ++i) {
      size_t len;
      if (!(c.cls(end, &len) & kClassNumber)) break;
      end += len;
    }
    return end;
  }
  // ` ?[^\s\p{L}\p{N}]+[\r\n]*`
  size_t start = pos;
  if (c0 == ' ' && next < text.size()) {
    size_t n1;
    if (is_other(c.cls(next, &n1))) start = next;
  }
  size_t n_start;
  if (start < text.size() && is_other(c.cls(start, &n_start))) {
    size_t end = scan(c, start, [](uint32_t, uint8_t cls) { return is_other(cls); });
    while (end < text.size() && (text[end] == '\r' || text[end] == '\n')) ++end;
    return end;
  }
  return match_space(c, pos, /*with_newline_rule=*/true);
}

size_t match_gpt2(std::string_view text, size_t pos) {
  Cursor c{text};
  size_t n0;
  uint32_t c0 = c.cp(pos, &n0);
  if (c0 == '\'') {
    size_t k = contraction(text, pos + 1, /*case_insensitive=*/false);
    if (k) return pos + 1 + k;
  }
  size_t start = pos, n_start = n0;
  uint8_t cls = code_class(c0);
  if (c0 == ' ' && pos + 1 < text.size()) {
    size_t n1;
    uint8_t cls1 = c.cls(pos + 1, &n1);
    if (!(cls1 & kClassSpace)) {  // ` ?` followed by a letter, number or other
      start = pos + 1;
      n_start = n1;
      cls = cls1;
    }
  }
  if (cls & kClassLetter)
    return scan(c, start + n_start, [](uint32_t, uint8_t k) { return (k & kClassLetter) != 0; });
  if (cls & kClassNumber)
    return scan(c, start + n_start, [](uint32_t, uint8_t k) { return (k & kClassNumber) != 0; });
  if (is_other(cls))
    return scan(c, start + n_start, [](uint32_t, uint8_t k) { return is_other(k); });
  return match_space(c, pos, /*with_newline_rule=*/false);
}

void split_isolated(SplitRegex re, std::string_view text, std::vector<std::string_view>& out) {
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = re == SplitRegex::kGpt2    ? match_gpt2(text, pos)
                 : re == SplitRegex::kQwen2 ? match_llama3(text, pos, 1)
                                            : match_llama3(text, pos, 3);
    out.push_back(text.substr(pos, end - pos));
    pos = end;
  }
}

}  // namespace qinfer::tokenizer

#include "tokenizer/unicode.h"

#include <algorithm>
#include <vector>

namespace qinfer::tokenizer {
namespace {

bool in_ranges(const CodeRange* ranges, size_t n, uint32_t cp) {
  const CodeRange* end = ranges + n;
  const CodeRange* it =
      std::upper_bound(ranges, end, cp, [](uint32_t c, const CodeRange& r) { return c < r.first; });
  return it != ranges && cp <= (it - 1)->last;
}

uint8_t classify_slow(uint32_t cp) {
  using namespace unicode_tables;
  uint8_t c = 0;
  if (in_ranges(kLetter, kLetter_size, cp)) c |= kClassLetter;
  if (in_ranges(kNumber, kNumber_size, cp)) c |= kClassNumber;
  if (in_ranges(kSpace, kSpace_size, cp)) c |= kClassSpace;
  if (in_ranges(kWord, kWord_size, cp)) c |= kClassWord;
  return c;
}

// The Basic Multilingual Plane and the next one cover nearly all text: a flat table there,
// binary search above.
constexpr uint32_t kFlatLimit = 0x20000;

const std::vector<uint8_t>& flat_table() {
  static const std::vector<uint8_t> table = [] {
    std::vector<uint8_t> t(kFlatLimit);
    for (uint32_t cp = 0; cp < kFlatLimit; ++cp) t[cp] = classify_slow(cp);
    return t;
  }();
  return table;
}

// Length of a well-formed UTF-8 sequence at s[pos] (RFC 3629 table 3-7), 0 if ill-formed;
// *valid_prefix gets how many bytes form a valid-but-maybe-truncated prefix.
size_t utf8_sequence(std::string_view s, size_t pos, uint32_t* cp, size_t* valid_prefix) {
  auto b0 = static_cast<uint8_t>(s[pos]);
  *valid_prefix = 0;
  if (b0 < 0x80) {
    *cp = b0;
    return 1;
  }
  size_t n;
  uint8_t lo = 0x80, hi = 0xBF;
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    n = 2;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    n = 3;
    if (b0 == 0xE0) lo = 0xA0;
    if (b0 == 0xED) hi = 0x9F;
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    n = 4;
    if (b0 == 0xF0) lo = 0x90;
    if (b0 == 0xF4) hi = 0x8F;
  } else {
    return 0;
  }
  uint32_t v = b0 & (0x7F >> n);
  *valid_prefix = 1;
  for (size_t i = 1; i < n; ++i) {
    if (pos + i >= s.size()) return 0;
    auto b = static_cast<uint8_t>(s[pos + i]);
    if (b < lo || b > hi) return 0;
    lo = 0x80;
    hi = 0xBF;
    v = (v << 6) | (b & 0x3F);
    *valid_prefix = i + 1;
  }
  *cp = v;
  return n;
}

}  // namespace

uint8_t code_class(uint32_t cp) {
  if (cp < kFlatLimit) return flat_table()[cp];
  return classify_slow(cp);
}

uint32_t decode_utf8(std::string_view text, size_t pos, size_t* len) {
  auto b0 = static_cast<uint8_t>(text[pos]);
  if (b0 < 0x80) {
    *len = 1;
    return b0;
  }
  uint32_t cp = 0;
  size_t prefix = 0;
  size_t n = utf8_sequence(text, pos, &cp, &prefix);
  if (n == 0) {
    *len = 1;
    return 0xFFFD;
  }
  *len = n;
  return cp;
}

void append_utf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

size_t complete_utf8_prefix(std::string_view s) {
  // Only the last (up to 3) bytes can be an incomplete character.
  size_t start = s.size() >= 3 ? s.size() - 3 : 0;
  for (size_t i = s.size(); i > start; --i) {
    auto b = static_cast<uint8_t>(s[i - 1]);
    if (b < 0x80) return s.size();
    if (b >= 0xC0) {  // lead byte at i-1
      uint32_t cp;
      size_t prefix;
      size_t n = utf8_sequence(s, i - 1, &cp, &prefix);
      if (n != 0) return s.size();
      // Truncated but possibly valid so far: hold it back; otherwise it is garbage, emit.
      return (i - 1 + prefix == s.size() && prefix > 0) ? i - 1 : s.size();
    }
  }
  return s.size();
}

std::string utf8_lossy(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  size_t pos = 0;
  while (pos < s.size()) {
    uint32_t cp;
    size_t prefix;
    size_t n = utf8_sequence(s, pos, &cp, &prefix);
    if (n != 0) {
      out.append(s.substr(pos, n));
      pos += n;
    } else {
      out += "\xEF\xBF\xBD";
      pos += prefix > 0 ? prefix : 1;
    }
  }
  return out;
}

bool is_valid_utf8(std::string_view s) {
  size_t pos = 0;
  while (pos < s.size()) {
    uint32_t cp;
    size_t prefix;
    size_t n = utf8_sequence(s, pos, &cp, &prefix);
    if (n == 0) return false;
    pos += n;
  }
  return true;
}

}  // namespace qinfer::tokenizer

namespace qinfer::tokenizer {
namespace {

struct ByteLevelTables {
  uint32_t to_char[256];
  int16_t to_byte[324];  // chars are < 256 + 68
  ByteLevelTables() {
    for (auto& b : to_byte) b = -1;
    uint32_t extra = 256;
    for (int b = 0; b < 256; ++b) {
      bool printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174);
      to_char[b] = printable ? uint32_t(b) : extra++;
      to_byte[to_char[b]] = int16_t(b);
    }
  }
};

const ByteLevelTables& byte_level_tables() {
  static const ByteLevelTables t;
  return t;
}

}  // namespace

uint32_t byte_to_unicode(uint8_t b) {
  return byte_level_tables().to_char[b];
}

int unicode_to_byte(uint32_t cp) {
  return cp < 324 ? byte_level_tables().to_byte[cp] : -1;
}

}  // namespace qinfer::tokenizer

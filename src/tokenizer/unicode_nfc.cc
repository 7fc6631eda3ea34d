#include "tokenizer/unicode_nfc.h"

#include <algorithm>
#include <vector>

#include "tokenizer/unicode.h"

namespace qinfer::tokenizer {
namespace {

// Hangul syllable arithmetic (Unicode 3.12).
constexpr uint32_t kSBase = 0xAC00, kLBase = 0x1100, kVBase = 0x1161, kTBase = 0x11A7;
constexpr uint32_t kLCount = 19, kVCount = 21, kTCount = 28, kNCount = kVCount * kTCount,
                   kSCount = kLCount * kNCount;

uint32_t combining_class(uint32_t cp) {
  using namespace nfc_tables;
  if (cp < 0x300) return 0;
  const CombiningClassRange* end = kCombiningClass + kCombiningClass_size;
  const CombiningClassRange* it =
      std::upper_bound(kCombiningClass, end, cp,
                       [](uint32_t c, const CombiningClassRange& r) { return c < r.first; });
  if (it == kCombiningClass || cp > (it - 1)->last) return 0;
  return (it - 1)->ccc;
}

void decompose(uint32_t cp, std::vector<uint32_t>& out) {
  using namespace nfc_tables;
  if (cp >= kSBase && cp < kSBase + kSCount) {
    uint32_t s = cp - kSBase;
    out.push_back(kLBase + s / kNCount);
    out.push_back(kVBase + (s % kNCount) / kTCount);
    if (s % kTCount) out.push_back(kTBase + s % kTCount);
    return;
  }
  if (cp >= 0xC0) {
    const Decomposition* end = kDecomposition + kDecomposition_size;
    const Decomposition* it = std::lower_bound(
        kDecomposition, end, cp, [](const Decomposition& d, uint32_t c) { return d.cp < c; });
    if (it != end && it->cp == cp) {
      decompose(it->first, out);
      if (it->second) decompose(it->second, out);
      return;
    }
  }
  out.push_back(cp);
}

// The primary composite of (a, b), or 0.
uint32_t compose(uint32_t a, uint32_t b) {
  using namespace nfc_tables;
  if (a >= kLBase && a < kLBase + kLCount && b >= kVBase && b < kVBase + kVCount)
    return kSBase + ((a - kLBase) * kVCount + (b - kVBase)) * kTCount;
  if (a >= kSBase && a < kSBase + kSCount && (a - kSBase) % kTCount == 0 && b > kTBase &&
      b < kTBase + kTCount)
    return a + (b - kTBase);
  const Composition* end = kComposition + kComposition_size;
  const Composition* it =
      std::lower_bound(kComposition, end, std::make_pair(a, b),
                       [](const Composition& c, const std::pair<uint32_t, uint32_t>& k) {
                         return c.first != k.first ? c.first < k.first : c.second < k.second;
                       });
  return it != end && it->first == a && it->second == b ? it->composite : 0;
}

}  // namespace

std::string nfc(std::string_view text) {
  bool ascii = true;
  for (char c : text) ascii = ascii && static_cast<uint8_t>(c) < 0x80;
  if (ascii) return std::string(text);
  std::vector<uint32_t> d;
  d.reserve(text.size());
  for (size_t pos = 0; pos < text.size();) {
    size_t len;
    decompose(decode_utf8(text, pos, &len), d);
    pos += len;
  }
  // Canonical ordering: stable sort of each run of non-starters by combining class.
  for (size_t i = 0; i < d.size();) {
    if (combining_class(d[i]) == 0) {
      ++i;
      continue;
    }
    size_t j = i;
    while (j < d.size() && combining_class(d[j]) != 0) ++j;
    std::stable_sort(d.begin() + long(i), d.begin() + long(j), [](uint32_t a, uint32_t b) {
      return combining_class(a) < combining_class(b);
    });
    i = j;
  }
  // Canonical composition (the reference algorithm of UAX #15).
  std::vector<uint32_t> out;
  out.reserve(d.size());
  size_t starter = 0;
  uint32_t last_class = 0;
  for (size_t i = 0; i < d.size(); ++i) {
    uint32_t ch = d[i], ch_class = combining_class(ch);
    if (i == 0) {
      out.push_back(ch);
      last_class = ch_class ? 256 : 0;
      continue;
    }
    uint32_t composite = compose(out[starter], ch);
    if (composite && (last_class < ch_class || last_class == 0)) {
      out[starter] = composite;
      continue;
    }
    if (ch_class == 0) starter = out.size();
    last_class = ch_class;
    out.push_back(ch);
  }
  std::string result;
  result.reserve(text.size());
  for (uint32_t cp : out) append_utf8(result, cp);
  return result;
}

}  // namespace qinfer::tokenizer

// Unicode Normalization Form C (UAX #15): canonical decomposition, canonical ordering by
// combining class, canonical composition (Hangul algorithmically). Tables come from Python's
// unicodedata via tools/tokenizer_gen_unicode.py.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace qinfer::tokenizer {

struct CombiningClassRange {
  uint32_t first;
  uint32_t last;
  uint32_t ccc;
};
struct Decomposition {
  uint32_t cp;
  uint32_t first;
  uint32_t second;  // 0 for a singleton
};
struct Composition {
  uint32_t first;
  uint32_t second;
  uint32_t composite;
};

namespace nfc_tables {
extern const CombiningClassRange kCombiningClass[];
extern const size_t kCombiningClass_size;
extern const Decomposition kDecomposition[];
extern const size_t kDecomposition_size;
extern const Composition kComposition[];  // sorted by (first, second)
extern const size_t kComposition_size;
}  // namespace nfc_tables

std::string nfc(std::string_view text);

}  // namespace qinfer::tokenizer

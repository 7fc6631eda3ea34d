// Pre-tokenizer regexes of the Llama family, as hand-written matchers that reproduce
// Oniguruma's leftmost-first backtracking semantics exactly (and run ~10x faster than a
// general regex engine). Patterns that are not one of these are rejected by name at load time.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace qinfer::tokenizer {

enum class SplitRegex {
  // Llama 3 / tiktoken cl100k-style:
  // (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|
  // \s*[\r\n]+|\s+(?!\S)|\s+
  kLlama3,
  // Qwen2: Llama 3's with \p{N} instead of \p{N}{1,3} (digits one by one).
  kQwen2,
  // GPT-2 (the ByteLevel pre-tokenizer's use_regex):
  // 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
  kGpt2,
};

// The SplitRegex whose pattern string (as written in tokenizer.json) is `pattern`.
std::optional<SplitRegex> find_split_regex(std::string_view pattern);

// End (byte offset) of the match that starts at `pos` (< text.size()); these patterns match
// at every position, so the result is always > pos.
// max_digits: 3 for Llama 3, 1 for Qwen2.
size_t match_llama3(std::string_view text, size_t pos, int max_digits = 3);
size_t match_gpt2(std::string_view text, size_t pos);

// Appends the pieces of `text` as the Split pre-tokenizer with behavior "Isolated" makes them
// (every match is a piece; these patterns leave no gaps).
void split_isolated(SplitRegex re, std::string_view text, std::vector<std::string_view>& out);

}  // namespace qinfer::tokenizer

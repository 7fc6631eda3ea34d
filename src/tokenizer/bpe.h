// The BPE model of Hugging Face `tokenizers` (models::bpe): ranked merges applied lowest rank
// first, leftmost first among equal ranks; optional ignore_merges (a word that is itself in the
// vocabulary is one token), byte_fallback (<0xXX> tokens for characters outside the
// vocabulary) and unk / fuse_unk.
#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace qinfer::tokenizer {

struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
using VocabMap = std::unordered_map<std::string, int32_t, StringHash, std::equal_to<>>;

// Open-addressing map from a token-id pair to (rank, merged id): the merge loop's hot lookup.
class MergeTable {
 public:
  void reserve(size_t n);
  void insert(int32_t left, int32_t right, int32_t rank, int32_t merged);
  // Returns false when (left, right) is not a merge.
  bool find(int32_t left, int32_t right, int32_t* rank, int32_t* merged) const;

 private:
  struct Slot {
    uint64_t key = kEmpty;
    int32_t rank = 0;
    int32_t merged = 0;
  };
  static constexpr uint64_t kEmpty = ~uint64_t{0};
  static uint64_t key(int32_t l, int32_t r) { return (uint64_t(uint32_t(l)) << 32) | uint32_t(r); }
  std::vector<Slot> slots_;
  size_t size_ = 0;
  uint64_t mask_ = 0;
};

struct BpeOptions {
  bool byte_level = false;  // words are raw bytes; the vocabulary was re-keyed to raw bytes
  bool byte_fallback = false;
  bool fuse_unk = false;
  bool ignore_merges = false;
  std::optional<int32_t> unk_id;
};

class BpeModel {
 public:
  // vocab keys are in the word representation (raw bytes when options.byte_level);
  // merges are (left, right) token strings in that representation, in rank order.
  BpeModel(VocabMap vocab, const std::vector<std::pair<std::string, std::string>>& merges,
           BpeOptions options);

  // Appends the ids of one pre-tokenized, normalized word.
  void encode_word(std::string_view word, std::vector<int32_t>& out) const;
  std::optional<int32_t> find(std::string_view token) const;

 private:
  struct Symbol {
    int32_t id;
    int32_t prev;
    int32_t next;
    bool alive;
  };
  void encode_piece(std::string_view piece, std::vector<int32_t>& out) const;
  void merge_piece(std::string_view piece, std::vector<int32_t>& out) const;
  void initial_symbols(std::string_view word, std::vector<Symbol>& syms) const;
  void merge_small(std::vector<Symbol>& syms) const;
  void merge_heap(std::vector<Symbol>& syms) const;

  VocabMap vocab_;
  MergeTable merges_;
  BpeOptions options_;
  int32_t byte_ids_[256];  // byte_level: id of each single byte; byte_fallback: <0xXX> ids
  // SentencePiece-style vocabularies: when no token has "\u2581" right after another
  // character, no merge can cross the start of a "\u2581"-run, so a long word (a whole
  // sentence) is merged piece by piece with the same result, and the pieces are cached.
  bool split_at_metaspace_ = false;
  // Merge results of short pieces (words repeat: "the", " of"...).
  mutable std::mutex cache_mu_;
  mutable std::unordered_map<std::string, std::vector<int32_t>, StringHash, std::equal_to<>> cache_;
};

}  // namespace qinfer::tokenizer

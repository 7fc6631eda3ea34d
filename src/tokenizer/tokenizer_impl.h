// The Tokenizer implementation: the `tokenizers` pipeline (added tokens -> normalizer ->
// pre-tokenizer -> BPE model -> post-processor; decoders for the way back), with the components
// that Llama-family tokenizer.json files use. Internal to src/tokenizer.
#pragma once

#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "tokenizer/bpe.h"
#include "tokenizer/pretokenize.h"
#include "tokenizer/tokenizer.h"

namespace qinfer::tokenizer {

struct AddedToken {
  int32_t id = 0;
  std::string content;
  bool single_word = false;
  bool lstrip = false;
  bool rstrip = false;
  bool normalized = false;
  bool special = false;
};

// Finds added tokens in text, leftmost-longest (as `tokenizers` does with aho-corasick).
class AddedTokenMatcher {
 public:
  void add(std::string_view content, int32_t index);
  bool empty() const { return nodes_.size() <= 1; }
  // First match at or after `from`: sets [*start, *end) and the token index; false if none.
  bool find(std::string_view text, size_t from, size_t* start, size_t* end, int32_t* index) const;

 private:
  struct Node {
    std::vector<std::pair<uint8_t, int32_t>> next;  // (byte, child node)
    int32_t index = -1;                             // token index when a token ends here
  };
  int32_t child(int32_t node, uint8_t b) const;
  std::vector<Node> nodes_{Node{}};
  bool first_byte_[256] = {};
};

struct NormalizerStep {
  enum class Kind { kPrepend, kReplace, kNfc };
  Kind kind;
  std::string from;  // Replace: pattern
  std::string to;    // Prepend: the prefix; Replace: the replacement
};

enum class SplitBehavior { kRemoved, kIsolated, kMergedWithPrevious, kMergedWithNext };

struct PreTokenizerStep {
  enum class Kind { kSplitRegex, kSplitString, kByteLevel, kMetaspace, kDigits };
  Kind kind = Kind::kSplitRegex;
  SplitRegex regex = SplitRegex::kLlama3;
  std::string pattern{};  // kSplitString: the literal; kMetaspace: the replacement
  SplitBehavior behavior = SplitBehavior::kIsolated;
  bool add_prefix_space = false;   // ByteLevel
  bool use_regex = false;          // ByteLevel: also split with the GPT-2 regex
  bool individual_digits = false;  // Digits: one piece per digit, else per run of digits
  enum class Prepend { kAlways, kFirst, kNever } prepend = Prepend::kAlways;  // Metaspace
  bool split = true;                                                          // Metaspace
};

struct DecoderStep {
  enum class Kind { kByteLevel, kReplace, kByteFallback, kFuse, kStrip, kMetaspace };
  Kind kind = Kind::kFuse;
  std::string from{};   // Replace: pattern; Strip: content; Metaspace: replacement
  std::string to{};     // Replace: replacement
  int start = 0;        // Strip
  int stop = 0;         // Strip
  bool prepend = true;  // Metaspace: strip the first token's leading space
};

// TemplateProcessing's "single" template: special ids around the sequence.
struct PostProcessor {
  std::vector<int32_t> prefix;
  std::vector<int32_t> suffix;
};

class HfTokenizer final : public Tokenizer {
 public:
  std::vector<int32_t> encode(std::string_view text, bool add_special_tokens) const override;
  std::string decode(std::span<const int32_t> ids, bool skip_special_tokens) const override;
  int64_t vocab_size() const override { return int64_t(id_to_token_.size()); }
  std::optional<int32_t> token_to_id(std::string_view token) const override;
  std::string id_to_token(int32_t id) const override;
  bool is_special(int32_t id) const override;
  std::optional<int32_t> bos_id() const override { return bos_id_; }
  std::optional<int32_t> eos_id() const override { return eos_id_; }
  std::string bos_token() const override { return bos_token_; }
  std::string eos_token() const override { return eos_token_; }
  const std::string& chat_template() const override { return chat_template_; }

  // Filled by the loader (tokenizer_load.cc).
  std::unique_ptr<BpeModel> model;
  std::vector<AddedToken> added;
  AddedTokenMatcher raw_matcher;         // added tokens with normalized=false
  AddedTokenMatcher normalized_matcher;  // added tokens with normalized=true
  std::vector<NormalizerStep> normalizer;
  std::vector<PreTokenizerStep> pre_tokenizer;
  std::vector<DecoderStep> decoder;
  PostProcessor post;
  std::vector<std::string> id_to_token_;  // tokens as written in tokenizer.json
  std::vector<uint8_t> special_;          // per id: an added token marked special
  VocabMap token_to_id_;                  // tokens as written, model vocab + added
  std::optional<int32_t> bos_id_, eos_id_;
  std::string bos_token_, eos_token_, chat_template_;

 private:
  // Calls emit(added_index, text): added_index >= 0 for a matched added token, else a segment.
  template <typename Emit>
  void split_added(const AddedTokenMatcher& m, std::string_view text, Emit&& emit) const;
  void encode_segment(std::string_view segment, bool at_start, std::vector<int32_t>& ids) const;
  void encode_normalized(std::string_view text, bool at_start, std::vector<int32_t>& ids) const;
  std::string normalize(std::string_view text) const;
  void pre_tokenize(std::string_view text, bool at_start, std::deque<std::string>& storage,
                    std::vector<std::string_view>& words) const;
};

// Applies the decoder chain to token strings (the `decode_chain` of each `tokenizers` decoder).
std::string run_decoders(const std::vector<DecoderStep>& steps, std::vector<std::string> tokens);

}  // namespace qinfer::tokenizer

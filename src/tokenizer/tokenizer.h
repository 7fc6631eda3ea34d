// Tokenizer built from a Hugging Face tokenizer.json (+ tokenizer_config.json): byte-level
// BPE (Llama 3.x) and SentencePiece-style BPE with byte fallback (LLaMA-1 / Llama 2).
// Token ids are exactly those of the `tokenizers` library for the same files.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/json.h"

namespace qinfer::tokenizer {

class Tokenizer {
 public:
  virtual ~Tokenizer() = default;

  // tokenizer_config may be null; it supplies the chat template and bos/eos token strings.
  static std::unique_ptr<Tokenizer> from_json(const Json& tokenizer_json,
                                              const Json& tokenizer_config);
  // Loads tokenizer.json / tokenizer_config.json from a directory.
  static std::unique_ptr<Tokenizer> from_dir(const std::string& dir);

  // add_special_tokens: apply the post-processor (BOS for Llama) as transformers does.
  virtual std::vector<int32_t> encode(std::string_view text,
                                      bool add_special_tokens = true) const = 0;
  virtual std::string decode(std::span<const int32_t> ids,
                             bool skip_special_tokens = false) const = 0;

  virtual int64_t vocab_size() const = 0;  // including added tokens
  virtual std::optional<int32_t> token_to_id(std::string_view token) const = 0;
  virtual std::string id_to_token(int32_t id) const = 0;  // "" when out of range
  virtual bool is_special(int32_t id) const = 0;
  virtual std::optional<int32_t> bos_id() const = 0;
  virtual std::optional<int32_t> eos_id() const = 0;
  virtual std::string bos_token() const = 0;
  virtual std::string eos_token() const = 0;

  // The chat template string from tokenizer_config.json ("" when there is none).
  virtual const std::string& chat_template() const = 0;
};

// Streaming detokenization: push ids one at a time; each call returns the newly completed
// text (never a partial UTF-8 character; bytes wait until the character completes).
class IncrementalDecoder {
 public:
  IncrementalDecoder(const Tokenizer& tok, bool skip_special_tokens);
  // Starts after `context` (the last prompt ids; vLLM uses up to 5): their text is not emitted,
  // but the first generated token is decoded after them, so a SentencePiece "▁word" keeps its
  // leading space as in vLLM's output text (without context, decode's Strip removes it).
  IncrementalDecoder(const Tokenizer& tok, bool skip_special_tokens,
                     std::span<const int32_t> context);
  std::string push(int32_t id);
  std::string flush();  // whatever is left (invalid trailing bytes become U+FFFD)

 private:
  const Tokenizer& tok_;
  bool skip_special_;
  std::vector<int32_t> ids_;
  size_t emitted_bytes_ = 0;  // total bytes returned so far
  size_t prefix_offset_ = 0;  // first id of the decode window
  size_t read_offset_ = 0;    // ids before this one have been emitted
};

}  // namespace qinfer::tokenizer

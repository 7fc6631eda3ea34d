// Token ids and decodes against the `tokenizers` library's, recorded by
// tools/tokenizer_make_fixtures.py for a multilingual corpus (tests/tokenizer/data/hf_ids.json).
#include <gtest/gtest.h>

#include <string>

#include "core/error.h"
#include "core/json.h"
#include "tokenizer/tokenizer.h"

namespace qinfer::tokenizer {
namespace {

const std::string kModels = std::string(QINFER_SHARED_DIR) + "/models/";
const std::string kData = std::string(QINFER_SOURCE_DIR) + "/tests/tokenizer/data/";

const Tokenizer& llama3() {
  static auto t = Tokenizer::from_dir(kModels + "llama3.1-tokenizer");
  return *t;
}
const Tokenizer& llama2() {
  static auto t = Tokenizer::from_dir(kModels + "llama2-tokenizer");
  return *t;
}

std::string show(const std::vector<int32_t>& ids, size_t at) {
  std::string s;
  for (size_t i = at; i < ids.size() && i < at + 6; ++i) s += std::to_string(ids[i]) + " ";
  return s;
}

void check_corpus(const Tokenizer& tok, const std::string& name) {
  Json corpus = read_json_file(kData + "corpus.json");
  Json want = read_json_file(kData + "hf_ids.json")[name];
  ASSERT_FALSE(want.is_null()) << name;
  for (auto it = corpus.begin(); it != corpus.end(); ++it) {
    const std::string text = it.value().get<std::string>();
    const Json& w = want[it.key()];
    auto ids = tok.encode(text, true);
    auto expected = w["ids"].get<std::vector<int32_t>>();
    size_t at = 0;
    while (at < ids.size() && at < expected.size() && ids[at] == expected[at]) ++at;
    EXPECT_EQ(ids, expected) << name << " / " << it.key() << ": first difference at token " << at
                             << ": ours " << show(ids, at) << " hf " << show(expected, at);
    EXPECT_EQ(tok.encode(text, false), w["ids_no_special"].get<std::vector<int32_t>>())
        << name << " / " << it.key();
    EXPECT_EQ(tok.decode(ids, false), w["decoded"].get<std::string>()) << name << " / " << it.key();
    EXPECT_EQ(tok.decode(ids, true), w["decoded_skip"].get<std::string>())
        << name << " / " << it.key();
  }
}

TEST(Tokenizer, Llama3CorpusMatchesHf) {
  check_corpus(llama3(), "llama3.1-tokenizer");
}
TEST(Tokenizer, Llama2CorpusMatchesHf) {
  check_corpus(llama2(), "llama2-tokenizer");
}

TEST(Tokenizer, SpecialTokensAndConfig) {
  const Tokenizer& t = llama3();
  EXPECT_EQ(t.vocab_size(), 128256);
  EXPECT_EQ(t.bos_id(), 128000);
  EXPECT_EQ(t.eos_id(), 128009);
  EXPECT_EQ(t.bos_token(), "<|begin_of_text|>");
  EXPECT_EQ(t.token_to_id("<|python_tag|>"), 128010);
  EXPECT_EQ(t.id_to_token(9906), "Hello");
  EXPECT_EQ(t.id_to_token(-1), "");
  EXPECT_TRUE(t.is_special(128009));
  EXPECT_FALSE(t.is_special(9906));
  EXPECT_NE(t.chat_template().find("Cutting Knowledge Date"), std::string::npos);
  EXPECT_EQ(llama2().bos_id(), 1);
  EXPECT_EQ(llama2().eos_id(), 2);
  EXPECT_EQ(llama2().vocab_size(), 32000);
}

// Streaming must give exactly the full decode, and never a partial UTF-8 character.
void check_incremental(const Tokenizer& tok, const std::string& text) {
  auto ids = tok.encode(text, false);
  IncrementalDecoder dec(tok, false);
  std::string streamed;
  for (int32_t id : ids) {
    std::string piece = dec.push(id);
    // No piece may end inside a character.
    if (!piece.empty()) {
      auto last = static_cast<uint8_t>(piece.back());
      EXPECT_TRUE(last < 0x80 || (last & 0xC0) == 0x80) << "piece ends with a lead byte";
    }
    streamed += piece;
  }
  streamed += dec.flush();
  EXPECT_EQ(streamed, tok.decode(ids, false)) << text;
}

TEST(Tokenizer, IncrementalDecodeMatchesFullDecode) {
  for (const char* text : {"Hello world, 你好世界 🎉👨‍👩‍👧 ภาษาไทย",
                           "  leading\n\nspaces é", "日本語"}) {
    check_incremental(llama3(), text);
    check_incremental(llama2(), text);
  }
}

TEST(Tokenizer, IncrementalDecodeHoldsIncompleteCharacters) {
  // Llama 2 spells rare characters with byte tokens <0xF0> <0x9F> <0x98> <0x80> (😀):
  // nothing may come out until the last byte.
  const Tokenizer& t = llama2();
  auto ids = t.encode("😀", false);
  IncrementalDecoder dec(t, false);
  std::string out;
  for (size_t i = 0; i < ids.size(); ++i) {
    std::string piece = dec.push(ids[i]);
    if (i + 1 < ids.size()) {
      EXPECT_EQ(piece.find("\xEF\xBF\xBD"), std::string::npos);
    }
    out += piece;
  }
  out += dec.flush();
  EXPECT_EQ(out, "😀");
}

// With prompt context, the first SentencePiece token keeps its space (vLLM's output text);
// without it, decode's Strip removes it (transformers' decode of the output ids alone).
TEST(Tokenizer, IncrementalDecodeWithPromptContext) {
  const Tokenizer& t = llama2();
  auto prompt = t.encode("Say hi:", true);
  auto out = t.encode("Hello there", false);  // "▁Hello" "▁there", as a model emits them
  std::span<const int32_t> tail(prompt);
  if (tail.size() > 5) tail = tail.subspan(tail.size() - 5);
  IncrementalDecoder with(t, true, tail), without(t, true);
  std::string a, b;
  for (int32_t id : out) {
    a += with.push(id);
    b += without.push(id);
  }
  a += with.flush();
  b += without.flush();
  EXPECT_EQ(a, " Hello there");
  EXPECT_EQ(b, "Hello there");
  std::vector<int32_t> all(prompt);
  all.insert(all.end(), out.begin(), out.end());
  EXPECT_EQ(t.decode(prompt, true) + a, t.decode(all, true));
}

TEST(Tokenizer, RejectsUnsupportedComponentsByName) {
  Json tj = {{"model", {{"type", "WordPiece"}, {"vocab", Json::object()}}}};
  try {
    Tokenizer::from_json(tj, Json());
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("WordPiece"), std::string::npos) << e.what();
  }
  Json bpe = {{"type", "BPE"}, {"vocab", {{"a", 0}}}, {"merges", Json::array()}};
  Json with_norm = {{"model", bpe}, {"normalizer", {{"type", "NFKC"}}}};
  EXPECT_THROW(Tokenizer::from_json(with_norm, Json()), Error);
  Json with_regex = {{"model", bpe},
                     {"pre_tokenizer",
                      {{"type", "Split"},
                       {"pattern", {{"Regex", "\\d+"}}},
                       {"behavior", "Isolated"},
                       {"invert", false}}}};
  try {
    Tokenizer::from_json(with_regex, Json());
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("\\d+"), std::string::npos) << e.what();
  }
  EXPECT_THROW(Tokenizer::from_dir("/nonexistent-dir"), Error);
}

TEST(Tokenizer, InvalidUtf8NeverCrashes) {
  std::string bad = "ok \xFF\xFE \xE4\xBD bad \xC0\x80";
  auto ids = llama3().encode(bad, true);
  EXPECT_FALSE(ids.empty());
  auto ids2 = llama2().encode(bad, true);
  EXPECT_FALSE(ids2.empty());
  EXPECT_EQ(llama3().decode(std::vector<int32_t>{999999, -5}, false), "");
}

}  // namespace
}  // namespace qinfer::tokenizer

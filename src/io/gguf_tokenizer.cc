// The tokenizer embedded in a GGUF (tokenizer.ggml.*) as the tokenizer.json /
// tokenizer_config.json pair Hugging Face ships for the same model:
//   model "gpt2"  -> byte-level BPE; tokenizer.ggml.pre picks the pre-tokenizer split
//                    (llama.cpp llama-vocab.cpp's table of pre-tokenizer regexes);
//   model "llama" -> SentencePiece BPE with byte fallback; merges recovered from the scores as
//                    transformers' generate_merges does (tokenization_utils_base.py).
// Token types (llama.cpp LLAMA_TOKEN_TYPE_*): 1 normal, 2 unknown, 3 control,
// 4 user-defined, 5 unused, 6 byte.
#include <algorithm>
#include <map>
#include <unordered_map>

#include "core/error.h"
#include "io/gguf.h"

namespace qinfer::io {

namespace {

constexpr int64_t kTypeUnknown = 2, kTypeControl = 3, kTypeUserDefined = 4;
constexpr size_t kMaxMergeTokenBytes = 1024;

const char* kLlama3Split =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}"
    "| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
const char* kQwen2Split =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}"
    "| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

Json byte_level(bool add_prefix_space, bool trim_offsets, bool use_regex) {
  return {{"type", "ByteLevel"},
          {"add_prefix_space", add_prefix_space},
          {"trim_offsets", trim_offsets},
          {"use_regex", use_regex}};
}

// The pre-tokenizer HF's tokenizer.json uses for the vocabularies llama.cpp names in
// tokenizer.ggml.pre. Returns null (and sets *ignore_merges) for the known ones; throws otherwise.
Json gpt2_pre_tokenizer(const std::string& pre, const std::string& file, bool* ignore_merges) {
  *ignore_merges = false;
  if (pre.empty() || pre == "default" || pre == "gpt-2" || pre == "gpt2")
    return byte_level(false, true, true);
  // Digits split one by one, then GPT-2's regex: StarCoder-family vocabularies. llama.cpp
  // writes this as the regex list {"\p{N}", GPT-2's}; HF's own tokenizer.json for these models
  // (SmolLM2, StarCoder) as Digits(individual_digits) + ByteLevel(use_regex), which isolates
  // every char::is_numeric() char, i.e. \p{N}: the same split, in HF's spelling.
  if (pre == "smollm" || pre == "starcoder" || pre == "refact" || pre == "codeshell" ||
      pre == "command-r" || pre == "exaone" || pre == "minerva-7b") {
    return {{"type", "Sequence"},
            {"pretokenizers",
             {{{"type", "Digits"}, {"individual_digits", true}}, byte_level(false, true, true)}}};
  }
  const char* split = nullptr;
  if (pre == "llama3" || pre == "llama-v3" || pre == "llama-bpe" || pre == "falcon3" ||
      pre == "smaug-bpe" || pre == "dbrx") {
    split = kLlama3Split;
    *ignore_merges = true;  // llama.cpp: a whole pre-token found in the vocab is not merged
  } else if (pre == "qwen2" || pre == "deepseek-r1-qwen" || pre == "megrez") {
    split = kQwen2Split;
  }
  QINFER_CHECK(split != nullptr, file, ": tokenizer.ggml.pre '", pre,
               "' is not supported (gpt2, smollm, starcoder, llama-bpe, qwen2 families)");
  return {{"type", "Sequence"},
          {"pretokenizers",
           {{{"type", "Split"},
             {"pattern", {{"Regex", split}}},
             {"behavior", "Isolated"},
             {"invert", false}},
            byte_level(false, true, false)}}};
}

// TemplateProcessing that adds BOS and/or EOS (ids, -1 for none) around each sequence, as in
// Llama's files.
Json template_processing(const std::vector<std::string>& tokens, int64_t bos, int64_t eos) {
  Json single = Json::array(), pair = Json::array(), special = Json::object();
  auto add_special = [&](int64_t id) {
    const std::string& t = tokens[size_t(id)];
    special[t] = {{"id", t}, {"ids", {id}}, {"tokens", {t}}};
  };
  auto sp = [&](int64_t id, int type_id) {
    return Json{{"SpecialToken", {{"id", tokens[size_t(id)]}, {"type_id", type_id}}}};
  };
  auto seq = [](const char* id, int type_id) {
    return Json{{"Sequence", {{"id", id}, {"type_id", type_id}}}};
  };
  if (bos >= 0) {
    single.push_back(sp(bos, 0));
    pair.push_back(sp(bos, 0));
    add_special(bos);
  }
  single.push_back(seq("A", 0));
  pair.push_back(seq("A", 0));
  if (eos >= 0) {
    single.push_back(sp(eos, 0));
    pair.push_back(sp(eos, 0));
    add_special(eos);
  }
  if (bos >= 0) pair.push_back(sp(bos, 1));
  pair.push_back(seq("B", 1));
  if (eos >= 0) pair.push_back(sp(eos, 1));
  return {{"type", "TemplateProcessing"},
          {"single", single},
          {"pair", pair},
          {"special_tokens", special}};
}

Json added_token(int64_t id, const std::string& content, bool special) {
  return {{"id", id},           {"content", content}, {"single_word", false},
          {"lstrip", false},    {"rstrip", false},    {"normalized", false},
          {"special", special}};
}

// Unicode code points of a UTF-8 string, as byte offsets (Python's len/slicing on str).
std::vector<size_t> code_point_starts(const std::string& s) {
  std::vector<size_t> r;
  for (size_t i = 0; i < s.size(); ++i)
    if ((uint8_t(s[i]) & 0xC0) != 0x80) r.push_back(i);
  return r;
}

// transformers' generate_merges(vocab, vocab_scores): every split of a token into two vocab
// pieces is a merge ranked by the whole token's score (best first), ties by piece lengths
// (longer first), then in vocab order.
std::vector<std::pair<std::string, std::string>> merges_from_scores(
    const std::vector<std::string>& tokens, const std::vector<double>& scores) {
  std::unordered_map<std::string, int64_t> id;  // Python dict: last assignment wins
  for (size_t i = 0; i < tokens.size(); ++i) id[tokens[i]] = int64_t(i);
  struct Merge {
    size_t l, r;  // byte length of the split point / of the whole token
    const std::string* tok;
    double score;
    size_t len_l, len_r;  // code points
  };
  std::vector<Merge> all;
  std::unordered_map<std::string, bool> seen;
  for (size_t t = 0; t < tokens.size(); ++t) {
    const std::string& tok = tokens[t];
    if (!seen.emplace(tok, true).second) continue;  // dict keeps the first position
    // Splitting is quadratic in the token's length; SentencePiece pieces are short (<= 16
    // code points by default), so a longer one only comes from a corrupt or hostile file.
    if (tok.size() > kMaxMergeTokenBytes) continue;
    const double score = scores[size_t(id[tok])];
    const std::vector<size_t> cps = code_point_starts(tok);
    std::vector<Merge> local;
    for (size_t k = 1; k < cps.size(); ++k) {
      const std::string l = tok.substr(0, cps[k]), r = tok.substr(cps[k]);
      if (id.count(l) && id.count(r)) local.push_back({cps[k], tok.size(), &tok, score, k, cps.size() - k});
    }
    std::stable_sort(local.begin(), local.end(), [&](const Merge& a, const Merge& b) {
      const auto ka = std::make_pair(id[a.tok->substr(0, a.l)], id[a.tok->substr(a.l)]);
      const auto kb = std::make_pair(id[b.tok->substr(0, b.l)], id[b.tok->substr(b.l)]);
      return ka < kb;
    });
    all.insert(all.end(), local.begin(), local.end());
  }
  // sorted(..., key=(score, len_l, len_r), reverse=True) is stable: equal keys keep order.
  std::stable_sort(all.begin(), all.end(), [](const Merge& a, const Merge& b) {
    return std::tie(a.score, a.len_l, a.len_r) > std::tie(b.score, b.len_l, b.len_r);
  });
  std::vector<std::pair<std::string, std::string>> r;
  r.reserve(all.size());
  for (const Merge& m : all) r.emplace_back(m.tok->substr(0, m.l), m.tok->substr(m.l));
  return r;
}

// Merges as HF writes them: "a b" strings, or [a, b] pairs when some piece holds a space.
Json merges_json(const std::vector<std::pair<std::string, std::string>>& merges) {
  bool pairs = false;
  for (const auto& [a, b] : merges)
    pairs = pairs || a.find(' ') != std::string::npos || b.find(' ') != std::string::npos;
  Json j = Json::array();
  for (const auto& [a, b] : merges) j.push_back(pairs ? Json{a, b} : Json(a + " " + b));
  return j;
}

// What gguf_tokenizer_to_hf needs from the tokenizer.ggml.* keys, validated.
struct GgufVocab {
  std::string model;  // "gpt2" or "llama"
  std::vector<std::string> tokens;
  std::vector<int64_t> types;
  std::optional<int64_t> bos, eos, unk, pad;
  bool add_bos = false, add_eos = false;
  bool spm() const { return model == "llama"; }
};

GgufVocab read_vocab(const GgufFile& f, const std::string& model) {
  const std::string& path = f.path();
  GgufVocab v;
  v.model = model;
  QINFER_CHECK(v.spm() || model == "gpt2", path, ": tokenizer.ggml.model '", model,
               "' is not supported (gpt2, llama)");
  v.tokens = f.get_string_array("tokenizer.ggml.tokens");
  QINFER_CHECK(!v.tokens.empty(), path, ": tokenizer.ggml.tokens is missing or empty");
  const int64_t n = int64_t(v.tokens.size());
  v.types = f.get_int_array("tokenizer.ggml.token_type");
  if (v.types.empty()) v.types.assign(v.tokens.size(), 1);
  QINFER_CHECK(int64_t(v.types.size()) == n, path, ": tokenizer.ggml.token_type has ",
               v.types.size(), " entries for ", n, " tokens");
  auto token_id = [&](const char* key) -> std::optional<int64_t> {
    auto id = f.get_int(key);
    if (id) QINFER_CHECK(*id >= 0 && *id < n, path, ": ", key, " ", *id, " is not a token id");
    return id;
  };
  v.bos = token_id("tokenizer.ggml.bos_token_id");
  v.eos = token_id("tokenizer.ggml.eos_token_id");
  v.unk = token_id("tokenizer.ggml.unknown_token_id");
  v.pad = token_id("tokenizer.ggml.padding_token_id");
  // llama.cpp adds BOS for SentencePiece vocabularies unless the file says otherwise.
  v.add_bos = f.get_bool("tokenizer.ggml.add_bos_token").value_or(v.spm());
  v.add_eos = f.get_bool("tokenizer.ggml.add_eos_token").value_or(false);
  return v;
}

std::vector<std::pair<std::string, std::string>> file_merges(const GgufFile& f) {
  std::vector<std::pair<std::string, std::string>> merges;
  for (const std::string& m : f.get_string_array("tokenizer.ggml.merges")) {
    const size_t sp = m.find(' ');
    QINFER_CHECK(sp != std::string::npos, f.path(), ": merge '", m, "' has no space");
    merges.emplace_back(m.substr(0, sp), m.substr(sp + 1));
  }
  return merges;
}

// The normalizer / pre-tokenizer / post-processor / decoder and BPE options of each family.
void spm_pipeline(const GgufFile& f, const GgufVocab& v, int64_t bos, int64_t eos, Json* tj,
                  Json* bpe) {
  const bool prefix = f.get_bool("tokenizer.ggml.add_space_prefix").value_or(true);
  Json replace = {{"type", "Replace"}, {"pattern", {{"String", " "}}}, {"content", "\u2581"}};
  (*tj)["normalizer"] =
      prefix ? Json{{"type", "Sequence"},
                    {"normalizers", {{{"type", "Prepend"}, {"prepend", "\u2581"}}, replace}}}
             : Json{{"type", "Sequence"}, {"normalizers", {replace}}};
  (*tj)["pre_tokenizer"] = nullptr;
  (*tj)["post_processor"] = template_processing(v.tokens, bos, eos);
  Json decoders = {{{"type", "Replace"}, {"pattern", {{"String", "\u2581"}}}, {"content", " "}},
                   {{"type", "ByteFallback"}},
                   {{"type", "Fuse"}}};
  if (prefix) decoders.push_back({{"type", "Strip"}, {"content", " "}, {"start", 1}, {"stop", 0}});
  (*tj)["decoder"] = {{"type", "Sequence"}, {"decoders", decoders}};
  const std::vector<double> scores = f.get_number_array("tokenizer.ggml.scores");
  QINFER_CHECK(scores.size() == v.tokens.size(), f.path(), ": tokenizer.ggml.scores has ",
               scores.size(), " entries for ", v.tokens.size(), " tokens");
  (*bpe)["unk_token"] = v.unk ? Json(v.tokens[size_t(*v.unk)]) : Json();
  (*bpe)["fuse_unk"] = true;
  (*bpe)["byte_fallback"] = true;
  (*bpe)["ignore_merges"] = false;
  (*bpe)["merges"] = merges_json(f.has("tokenizer.ggml.merges")
                                     ? file_merges(f)
                                     : merges_from_scores(v.tokens, scores));
}

void gpt2_pipeline(const GgufFile& f, const GgufVocab& v, int64_t bos, int64_t eos, Json* tj,
                   Json* bpe) {
  bool ignore_merges = false;
  (*tj)["normalizer"] = nullptr;
  (*tj)["pre_tokenizer"] = gpt2_pre_tokenizer(f.get_string("tokenizer.ggml.pre").value_or(""),
                                              f.path(), &ignore_merges);
  const Json bl = byte_level(true, false, true);
  (*tj)["post_processor"] =
      bos >= 0 || eos >= 0
          ? Json{{"type", "Sequence"}, {"processors", {bl, template_processing(v.tokens, bos, eos)}}}
          : bl;
  (*tj)["decoder"] = byte_level(true, true, true);
  const auto merges = file_merges(f);
  QINFER_CHECK(!merges.empty(), f.path(), ": a gpt2 tokenizer needs tokenizer.ggml.merges");
  (*bpe)["unk_token"] = nullptr;
  (*bpe)["fuse_unk"] = false;
  (*bpe)["byte_fallback"] = false;
  (*bpe)["ignore_merges"] = ignore_merges;
  (*bpe)["merges"] = merges_json(merges);
}

}  // namespace

void gguf_tokenizer_to_hf(const GgufFile& f, Json* tokenizer_json, Json* tokenizer_config) {
  *tokenizer_json = Json();
  *tokenizer_config = Json();
  const std::optional<std::string> model = f.get_string("tokenizer.ggml.model");
  if (!model || *model == "none") return;
  const GgufVocab v = read_vocab(f, *model);
  const int64_t n = int64_t(v.tokens.size());

  Json vocab = Json::object();
  for (int64_t i = 0; i < n; ++i)
    if (!vocab.contains(v.tokens[size_t(i)])) vocab[v.tokens[size_t(i)]] = i;
  Json added = Json::array(), decoder_map = Json::object();
  for (int64_t i = 0; i < n; ++i) {
    const int64_t ty = v.types[size_t(i)];
    const bool special = ty == kTypeControl || (v.spm() && ty == kTypeUnknown);
    if (!special && ty != kTypeUserDefined) continue;
    added.push_back(added_token(i, v.tokens[size_t(i)], special));
    Json d = added.back();
    d.erase("id");
    decoder_map[std::to_string(i)] = d;
  }

  Json tj = {{"version", "1.0"}, {"truncation", nullptr}, {"padding", nullptr},
             {"added_tokens", added}};
  Json bpe = {{"type", "BPE"}, {"dropout", nullptr}, {"unk_token", nullptr},
              {"continuing_subword_prefix", nullptr}, {"end_of_word_suffix", nullptr}};
  const int64_t bos = v.add_bos && v.bos ? *v.bos : -1;
  const int64_t eos = v.add_eos && v.eos ? *v.eos : -1;
  if (v.spm())
    spm_pipeline(f, v, bos, eos, &tj, &bpe);
  else
    gpt2_pipeline(f, v, bos, eos, &tj, &bpe);
  // Key order as tokenizers serializes a BPE model.
  Json model_json = Json::object();
  for (const char* k : {"type", "dropout", "unk_token", "continuing_subword_prefix",
                        "end_of_word_suffix", "fuse_unk", "byte_fallback", "ignore_merges"})
    model_json[k] = bpe[k];
  model_json["vocab"] = std::move(vocab);
  model_json["merges"] = std::move(bpe["merges"]);
  tj["model"] = std::move(model_json);
  *tokenizer_json = std::move(tj);

  auto tok_or_null = [&](std::optional<int64_t> id) {
    return id ? Json(v.tokens[size_t(*id)]) : Json();
  };
  Json tc = Json::object();
  tc["add_bos_token"] = v.add_bos;
  tc["add_eos_token"] = v.add_eos;
  tc["added_tokens_decoder"] = decoder_map;
  tc["bos_token"] = tok_or_null(v.bos);
  if (auto tmpl = f.get_string("tokenizer.chat_template")) tc["chat_template"] = *tmpl;
  tc["clean_up_tokenization_spaces"] = false;
  tc["eos_token"] = tok_or_null(v.eos);
  tc["model_max_length"] = f.get_int("llama.context_length").value_or(2048);
  tc["pad_token"] = tok_or_null(v.pad);
  tc["tokenizer_class"] = v.spm() ? "LlamaTokenizer" : "GPT2Tokenizer";
  tc["unk_token"] = tok_or_null(v.unk);
  if (v.spm()) tc["legacy"] = true;
  *tokenizer_config = std::move(tc);
}

}  // namespace qinfer::io

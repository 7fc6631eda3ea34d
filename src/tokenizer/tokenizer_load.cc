// Builds an HfTokenizer from tokenizer.json (+ tokenizer_config.json). Every component type
// that is not implemented is rejected with its JSON path, never silently ignored.
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/error.h"
#include "tokenizer/tokenizer_impl.h"
#include "tokenizer/unicode.h"

namespace qinfer::tokenizer {
namespace {

// The loader is a template over the JSON type: from_dir parses the 6 MB tokenizer.json with
// nlohmann::json (a sorted map: ~0.1 s) because ordered_json's linear-time key lookup makes a
// 128k-entry vocabulary take ~10 s; from_json takes the ordered Json of the public API.
template <typename J>
std::string type_of(const J& j, const std::string& where) {
  QINFER_CHECK(j.is_object() && j.contains("type") && j["type"].is_string(),
               "tokenizer.json: ", where, " has no \"type\"");
  return j["type"].template get<std::string>();
}

template <typename J>
bool flag(const J& j, const char* key, bool fallback = false) {
  return j.contains(key) && j[key].is_boolean() ? j[key].template get<bool>() : fallback;
}

template <typename J>
std::string string_pattern(const J& pattern, const std::string& where) {
  QINFER_CHECK(pattern.is_object() && pattern.contains("String"), "tokenizer.json: ", where,
               ": only {\"String\": ...} patterns are supported, got ", pattern.dump());
  return pattern["String"].template get<std::string>();
}

// GPT-2 byte-level text (e.g. "Ġthe") -> raw bytes (" the"); nullopt if a character is not
// in the byte-level alphabet.
std::optional<std::string> byte_level_to_raw(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t pos = 0; pos < s.size();) {
    size_t len;
    int b = unicode_to_byte(decode_utf8(s, pos, &len));
    if (b < 0) return std::nullopt;
    out += static_cast<char>(b);
    pos += len;
  }
  return out;
}

template <typename J>
void load_normalizer(const J& j, std::vector<NormalizerStep>& out) {
  if (j.is_null()) return;
  std::string type = type_of(j, "normalizer");
  if (type == "Sequence") {
    for (const auto& n : j["normalizers"]) load_normalizer(n, out);
  } else if (type == "Prepend") {
    out.push_back({NormalizerStep::Kind::kPrepend, "", j["prepend"].template get<std::string>()});
  } else if (type == "Replace") {
    out.push_back({NormalizerStep::Kind::kReplace,
                   string_pattern(j["pattern"], "normalizer Replace"),
                   j["content"].template get<std::string>()});
  } else if (type == "NFC") {
    out.push_back({NormalizerStep::Kind::kNfc, "", ""});
  } else {
    QINFER_FAIL("tokenizer.json: normalizer type \"", type,
                "\" is not supported (supported: "
                "Sequence, Prepend, Replace, NFC)");
  }
}

SplitBehavior parse_behavior(const std::string& b) {
  if (b == "Removed") return SplitBehavior::kRemoved;
  if (b == "Isolated") return SplitBehavior::kIsolated;
  if (b == "MergedWithPrevious") return SplitBehavior::kMergedWithPrevious;
  if (b == "MergedWithNext") return SplitBehavior::kMergedWithNext;
  QINFER_FAIL("tokenizer.json: Split behavior \"", b, "\" is not supported");
}

template <typename J>
void load_split(const J& j, std::vector<PreTokenizerStep>& out) {
  PreTokenizerStep s{.kind = PreTokenizerStep::Kind::kSplitString};
  QINFER_CHECK(!flag(j, "invert"), "tokenizer.json: Split with invert=true is not supported");
  s.behavior = parse_behavior(j["behavior"].template get<std::string>());
  const auto& p = j["pattern"];
  if (p.contains("Regex")) {
    auto pattern = p["Regex"].template get<std::string>();
    auto re = find_split_regex(pattern);
    QINFER_CHECK(re,
                 "tokenizer.json: Split regex is not one of the supported pre-tokenizer "
                 "patterns (Llama 3, Qwen2, GPT-2): ",
                 pattern);
    QINFER_CHECK(s.behavior == SplitBehavior::kIsolated,
                 "tokenizer.json: Split regex supports behavior Isolated only");
    s.kind = PreTokenizerStep::Kind::kSplitRegex;
    s.regex = *re;
  } else {
    s.pattern = string_pattern(p, "pre_tokenizer Split");
  }
  out.push_back(s);
}

template <typename J>
void load_pre_tokenizer(const J& j, std::vector<PreTokenizerStep>& out) {
  if (j.is_null()) return;
  std::string type = type_of(j, "pre_tokenizer");
  if (type == "Sequence") {
    for (const auto& p : j["pretokenizers"]) load_pre_tokenizer(p, out);
  } else if (type == "Split") {
    load_split(j, out);
  } else if (type == "ByteLevel") {
    out.push_back({.kind = PreTokenizerStep::Kind::kByteLevel,
                   .add_prefix_space = flag(j, "add_prefix_space"),
                   .use_regex = flag(j, "use_regex", true)});
  } else if (type == "Digits") {
    out.push_back({.kind = PreTokenizerStep::Kind::kDigits,
                   .individual_digits = flag(j, "individual_digits")});
  } else if (type == "Metaspace") {
    PreTokenizerStep s{.kind = PreTokenizerStep::Kind::kMetaspace};
    s.pattern = j["replacement"].template get<std::string>();
    std::string scheme = j.contains("prepend_scheme")
                             ? j["prepend_scheme"].template get<std::string>()
                             : (flag(j, "add_prefix_space", true) ? "always" : "never");
    s.prepend = scheme == "first"   ? PreTokenizerStep::Prepend::kFirst
                : scheme == "never" ? PreTokenizerStep::Prepend::kNever
                                    : PreTokenizerStep::Prepend::kAlways;
    s.split = flag(j, "split", true);
    out.push_back(s);
  } else {
    QINFER_FAIL("tokenizer.json: pre_tokenizer type \"", type,
                "\" is not supported (supported: "
                "Sequence, Split, ByteLevel, Metaspace, Digits)");
  }
}

template <typename J>
void load_decoder(const J& j, std::vector<DecoderStep>& out) {
  if (j.is_null()) return;
  std::string type = type_of(j, "decoder");
  using K = DecoderStep::Kind;
  if (type == "Sequence") {
    for (const auto& d : j["decoders"]) load_decoder(d, out);
  } else if (type == "ByteLevel") {
    out.push_back({.kind = K::kByteLevel});
  } else if (type == "Replace") {
    out.push_back({.kind = K::kReplace,
                   .from = string_pattern(j["pattern"], "decoder Replace"),
                   .to = j["content"].template get<std::string>()});
  } else if (type == "ByteFallback") {
    out.push_back({.kind = K::kByteFallback});
  } else if (type == "Fuse") {
    out.push_back({.kind = K::kFuse});
  } else if (type == "Strip") {
    out.push_back({.kind = K::kStrip,
                   .from = j["content"].template get<std::string>(),
                   .start = j["start"].template get<int>(),
                   .stop = j["stop"].template get<int>()});
  } else if (type == "Metaspace") {
    std::string scheme = j.contains("prepend_scheme")
                             ? j["prepend_scheme"].template get<std::string>()
                             : (flag(j, "add_prefix_space", true) ? "always" : "never");
    out.push_back({.kind = K::kMetaspace,
                   .from = j["replacement"].template get<std::string>(),
                   .prepend = scheme != "never"});
  } else {
    QINFER_FAIL("tokenizer.json: decoder type \"", type,
                "\" is not supported (supported: "
                "Sequence, ByteLevel, Replace, ByteFallback, Fuse, Strip, Metaspace)");
  }
}

template <typename J>
void load_post_processor(const J& j, const HfTokenizer& t, PostProcessor& post) {
  if (j.is_null()) return;
  std::string type = type_of(j, "post_processor");
  if (type == "Sequence") {
    for (const auto& p : j["processors"]) load_post_processor(p, t, post);
  } else if (type == "ByteLevel") {
    // Only adjusts offsets; ids are unchanged.
  } else if (type == "TemplateProcessing") {
    post = PostProcessor{};
    bool seen_sequence = false;
    for (const auto& piece : j["single"]) {
      if (piece.contains("Sequence")) {
        seen_sequence = true;
        continue;
      }
      auto name = piece["SpecialToken"]["id"].template get<std::string>();
      const auto& st = j["special_tokens"][name];
      for (const auto& id : st["ids"])
        (seen_sequence ? post.suffix : post.prefix).push_back(id.template get<int32_t>());
    }
  } else {
    QINFER_FAIL("tokenizer.json: post_processor type \"", type,
                "\" is not supported (supported: "
                "Sequence, ByteLevel, TemplateProcessing)");
  }
}

template <typename J>
void load_model(const J& m, HfTokenizer& t) {
  QINFER_CHECK(type_of(m, "model") == "BPE", "tokenizer.json: model type \"", type_of(m, "model"),
               "\" is not supported (supported: BPE)");
  for (const char* key : {"continuing_subword_prefix", "end_of_word_suffix"})
    QINFER_CHECK(!m.contains(key) || m[key].is_null() || m[key] == "", "tokenizer.json: model.",
                 key, " is not supported");
  QINFER_CHECK(!m.contains("dropout") || m["dropout"].is_null(),
               "tokenizer.json: model.dropout is not supported (inference never drops merges)");
  BpeOptions opt;
  for (const auto& s : t.pre_tokenizer)
    opt.byte_level |= s.kind == PreTokenizerStep::Kind::kByteLevel;
  opt.byte_fallback = flag(m, "byte_fallback");
  opt.fuse_unk = flag(m, "fuse_unk");
  opt.ignore_merges = flag(m, "ignore_merges");
  // Byte-level vocabularies are re-keyed to raw bytes so words never need converting.
  auto key = [&](const std::string& s) {
    if (!opt.byte_level) return s;
    return byte_level_to_raw(s).value_or(s);
  };
  VocabMap vocab;
  vocab.reserve(m["vocab"].size());
  t.token_to_id_.reserve(m["vocab"].size() + 1024);
  for (auto it = m["vocab"].begin(); it != m["vocab"].end(); ++it) {
    auto id = it.value().template get<int32_t>();
    QINFER_CHECK(id >= 0, "tokenizer.json: negative id for token ", it.key());
    if (size_t(id) >= t.id_to_token_.size()) t.id_to_token_.resize(size_t(id) + 1);
    t.id_to_token_[size_t(id)] = it.key();
    t.token_to_id_[it.key()] = id;
    vocab[key(it.key())] = id;
  }
  if (m.contains("unk_token") && m["unk_token"].is_string()) {
    auto it = t.token_to_id_.find(m["unk_token"].template get<std::string>());
    QINFER_CHECK(it != t.token_to_id_.end(), "tokenizer.json: model.unk_token is not in the vocab");
    opt.unk_id = it->second;
  }
  std::vector<std::pair<std::string, std::string>> merges;
  merges.reserve(m["merges"].size());
  for (const auto& mg : m["merges"]) {
    if (mg.is_string()) {
      auto s = mg.template get<std::string>();
      size_t sp = s.find(' ', 1);
      QINFER_CHECK(sp != std::string::npos, "tokenizer.json: merge \"", s, "\" has no space");
      merges.emplace_back(key(s.substr(0, sp)), key(s.substr(sp + 1)));
    } else {
      merges.emplace_back(key(mg[0].template get<std::string>()),
                          key(mg[1].template get<std::string>()));
    }
  }
  t.model = std::make_unique<BpeModel>(std::move(vocab), merges, opt);
}

template <typename J>
void load_added_tokens(const J& arr, HfTokenizer& t) {
  for (const auto& a : arr) {
    AddedToken tok{.id = a["id"].template get<int32_t>(),
                   .content = a["content"].template get<std::string>(),
                   .single_word = flag(a, "single_word"),
                   .lstrip = flag(a, "lstrip"),
                   .rstrip = flag(a, "rstrip"),
                   .normalized = flag(a, "normalized"),
                   .special = flag(a, "special")};
    QINFER_CHECK(tok.id >= 0, "tokenizer.json: added token ", tok.content, " has a negative id");
    if (size_t(tok.id) >= t.id_to_token_.size()) t.id_to_token_.resize(size_t(tok.id) + 1);
    t.id_to_token_[size_t(tok.id)] = tok.content;
    t.token_to_id_[tok.content] = tok.id;
    int32_t index = int32_t(t.added.size());
    (tok.normalized ? t.normalized_matcher : t.raw_matcher).add(tok.content, index);
    t.added.push_back(std::move(tok));
  }
}

// bos_token / eos_token are strings or {"content": ...} objects (older transformers).
std::string config_token(const Json& config, const char* key) {
  if (!config.is_object() || !config.contains(key)) return "";
  const Json& v = config[key];
  if (v.is_string()) return v.get<std::string>();
  if (v.is_object() && v.contains("content") && v["content"].is_string())
    return v["content"].get<std::string>();
  return "";
}

void load_config(const Json& config, HfTokenizer& t) {
  t.bos_token_ = config_token(config, "bos_token");
  t.eos_token_ = config_token(config, "eos_token");
  if (!t.bos_token_.empty()) t.bos_id_ = t.token_to_id(t.bos_token_);
  if (!t.eos_token_.empty()) t.eos_id_ = t.token_to_id(t.eos_token_);
  if (!config.is_object() || !config.contains("chat_template")) return;
  const Json& ct = config["chat_template"];
  if (ct.is_string()) {
    t.chat_template_ = ct.get<std::string>();
  } else if (ct.is_array()) {  // [{"name": ..., "template": ...}]: use "default"
    for (const Json& e : ct)
      if (e.value("name", "") == "default") t.chat_template_ = e.value("template", "");
  }
}

template <typename J>
std::unique_ptr<Tokenizer> build(const J& tj, const Json& config) {
  QINFER_CHECK(tj.is_object() && tj.contains("model"), "tokenizer.json: no \"model\"");
  auto t = std::make_unique<HfTokenizer>();
  auto get = [&](const char* k) { return tj.contains(k) ? tj[k] : J(); };
  load_normalizer(get("normalizer"), t->normalizer);
  load_pre_tokenizer(get("pre_tokenizer"), t->pre_tokenizer);
  for (size_t i = 0; i + 1 < t->pre_tokenizer.size(); ++i)
    QINFER_CHECK(t->pre_tokenizer[i].kind != PreTokenizerStep::Kind::kByteLevel,
                 "tokenizer.json: a ByteLevel pre-tokenizer must be the last one");
  load_decoder(get("decoder"), t->decoder);
  load_model(tj["model"], *t);
  if (tj.contains("added_tokens")) load_added_tokens(tj["added_tokens"], *t);
  t->special_.assign(t->id_to_token_.size(), 0);
  for (const AddedToken& a : t->added) t->special_[size_t(a.id)] = a.special;
  load_post_processor(get("post_processor"), *t, t->post);
  load_config(config, *t);
  return t;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  QINFER_CHECK(in.good(), path, ": cannot open");
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

std::unique_ptr<Tokenizer> Tokenizer::from_json(const Json& tokenizer_json,
                                                const Json& tokenizer_config) {
  return build(tokenizer_json, tokenizer_config);
}

std::unique_ptr<Tokenizer> Tokenizer::from_dir(const std::string& dir) {
  namespace fs = std::filesystem;
  std::string path = (fs::path(dir) / "tokenizer.json").string();
  QINFER_CHECK(fs::exists(path), dir,
               ": no tokenizer.json (only Hugging Face fast-tokenizer "
               "files are supported)");
  nlohmann::json tj;
  try {
    tj = nlohmann::json::parse(read_file(path));
  } catch (const nlohmann::json::exception& e) {
    QINFER_FAIL(path, ": invalid JSON: ", e.what());
  }
  Json config;
  std::string config_path = (fs::path(dir) / "tokenizer_config.json").string();
  if (fs::exists(config_path)) config = read_json_file(config_path);
  // transformers >= 4.43 may keep the template in its own file.
  std::string jinja_path = (fs::path(dir) / "chat_template.jinja").string();
  if (fs::exists(jinja_path)) {
    if (!config.is_object()) config = Json::object();
    config["chat_template"] = read_file(jinja_path);
  }
  try {
    return build(tj, config);
  } catch (const nlohmann::json::exception& e) {
    QINFER_FAIL(path, ": unexpected structure: ", e.what());
  }
}

}  // namespace qinfer::tokenizer

// Encoding and decoding with a loaded HfTokenizer; the loader is tokenizer_load.cc.
#include <algorithm>

#include "core/error.h"
#include "tokenizer/tokenizer_impl.h"
#include "tokenizer/unicode.h"
#include "tokenizer/unicode_nfc.h"

namespace qinfer::tokenizer {

void AddedTokenMatcher::add(std::string_view content, int32_t index) {
  if (content.empty()) return;
  int32_t node = 0;
  for (char ch : content) {
    auto b = static_cast<uint8_t>(ch);
    int32_t c = child(node, b);
    if (c < 0) {
      c = int32_t(nodes_.size());
      nodes_[node].next.emplace_back(b, c);
      nodes_.push_back(Node{});
    }
    node = c;
  }
  if (nodes_[node].index < 0) nodes_[node].index = index;
  first_byte_[static_cast<uint8_t>(content[0])] = true;
}

int32_t AddedTokenMatcher::child(int32_t node, uint8_t b) const {
  for (const auto& [byte, c] : nodes_[node].next)
    if (byte == b) return c;
  return -1;
}

bool AddedTokenMatcher::find(std::string_view text, size_t from, size_t* start, size_t* end,
                             int32_t* index) const {
  if (empty()) return false;
  for (size_t pos = from; pos < text.size(); ++pos) {
    if (!first_byte_[static_cast<uint8_t>(text[pos])]) continue;
    int32_t node = 0, best = -1;
    size_t best_end = 0;
    for (size_t i = pos; i < text.size(); ++i) {
      node = child(node, static_cast<uint8_t>(text[i]));
      if (node < 0) break;
      if (nodes_[node].index >= 0) {
        best = nodes_[node].index;
        best_end = i + 1;
      }
    }
    if (best >= 0) {
      *start = pos;
      *end = best_end;
      *index = best;
      return true;
    }
  }
  return false;
}

namespace {

bool is_word_char(uint32_t cp) {
  return code_class(cp) & kClassWord;
}

// The code point that ends at byte `end` of text (end > 0).
uint32_t last_cp(std::string_view text, size_t end) {
  size_t start = end - 1;
  while (start > 0 && (static_cast<uint8_t>(text[start]) & 0xC0) == 0x80) --start;
  size_t len;
  return decode_utf8(text, start, &len);
}

}  // namespace

template <typename Emit>
void HfTokenizer::split_added(const AddedTokenMatcher& m, std::string_view text,
                              Emit&& emit) const {
  size_t seg_start = 0, from = 0, start, end;
  int32_t index;
  while (m.find(text, from, &start, &end, &index)) {
    const AddedToken& tok = added[size_t(index)];
    if (tok.single_word) {
      size_t len = 0;
      bool left_ok = start == 0 || !is_word_char(last_cp(text, start));
      bool right_ok = end == text.size() || !is_word_char(decode_utf8(text, end, &len));
      if (!left_ok || !right_ok) {
        from = start + 1;
        continue;
      }
    }
    if (tok.lstrip) {
      while (start > seg_start) {
        size_t p = start - 1, len;
        while (p > seg_start && (static_cast<uint8_t>(text[p]) & 0xC0) == 0x80) --p;
        if (!is_space(decode_utf8(text, p, &len))) break;
        start = p;
      }
    }
    if (tok.rstrip) {
      size_t len;
      while (end < text.size() && is_space(decode_utf8(text, end, &len))) end += len;
    }
    if (start > seg_start) emit(-1, text.substr(seg_start, start - seg_start));
    emit(index, text.substr(start, end - start));
    seg_start = from = end;
  }
  if (seg_start < text.size()) emit(-1, text.substr(seg_start));
}

std::string HfTokenizer::normalize(std::string_view text) const {
  std::string s(text);
  for (const NormalizerStep& step : normalizer) {
    if (step.kind == NormalizerStep::Kind::kPrepend) {
      if (!s.empty()) s.insert(0, step.to);
    } else if (step.kind == NormalizerStep::Kind::kNfc) {
      s = nfc(s);
    } else if (!step.from.empty()) {
      std::string out;
      out.reserve(s.size());
      size_t pos = 0;
      for (size_t hit; (hit = s.find(step.from, pos)) != std::string::npos;
           pos = hit + step.from.size()) {
        out.append(s, pos, hit - pos);
        out += step.to;
      }
      out.append(s, pos);
      s.swap(out);
    }
  }
  return s;
}

namespace {

// Splits each piece on occurrences of a literal, per the Split behavior.
void split_literal(std::string_view piece, std::string_view lit, SplitBehavior behavior,
                   std::vector<std::string_view>& out) {
  size_t pos = 0, pending = 0;  // pending: start of text not yet emitted
  for (size_t hit; !lit.empty() && (hit = piece.find(lit, pos)) != std::string_view::npos;
       pos = hit + lit.size()) {
    size_t end = hit + lit.size();
    switch (behavior) {
      case SplitBehavior::kRemoved:
        if (hit > pending) out.push_back(piece.substr(pending, hit - pending));
        pending = end;
        break;
      case SplitBehavior::kIsolated:
        if (hit > pending) out.push_back(piece.substr(pending, hit - pending));
        out.push_back(piece.substr(hit, lit.size()));
        pending = end;
        break;
      case SplitBehavior::kMergedWithPrevious:
        out.push_back(piece.substr(pending, end - pending));
        pending = end;
        break;
      case SplitBehavior::kMergedWithNext:
        if (hit > pending) out.push_back(piece.substr(pending, hit - pending));
        pending = hit;
        break;
    }
  }
  if (pending < piece.size()) out.push_back(piece.substr(pending));
}

// The Digits pre-tokenizer: numeric characters (Rust's char::is_numeric, i.e. \p{N}) isolated,
// one per piece or a run per piece.
void split_digits(std::string_view piece, bool individual, std::vector<std::string_view>& out) {
  size_t start = 0, pos = 0;
  bool in_run = false;
  while (pos < piece.size()) {
    size_t len;
    bool digit = is_number(decode_utf8(piece, pos, &len));
    if (digit && (individual || !in_run)) {
      if (pos > start) out.push_back(piece.substr(start, pos - start));
      start = pos;
    } else if (!digit && in_run) {
      out.push_back(piece.substr(start, pos - start));
      start = pos;
    }
    in_run = digit;
    pos += len;
  }
  if (start < piece.size()) out.push_back(piece.substr(start));
}

}  // namespace

void HfTokenizer::pre_tokenize(std::string_view text, bool at_start,
                               std::deque<std::string>& storage,
                               std::vector<std::string_view>& words) const {
  words.assign(1, text);
  std::vector<std::string_view> next;
  for (const PreTokenizerStep& step : pre_tokenizer) {
    next.clear();
    for (size_t i = 0; i < words.size(); ++i) {
      std::string_view piece = words[i];
      switch (step.kind) {
        case PreTokenizerStep::Kind::kSplitRegex:
          split_isolated(step.regex, piece, next);
          break;
        case PreTokenizerStep::Kind::kSplitString:
          split_literal(piece, step.pattern, step.behavior, next);
          break;
        case PreTokenizerStep::Kind::kByteLevel:
          if (step.add_prefix_space && !piece.empty() && piece[0] != ' ') {
            storage.push_back(str_cat(" ", piece));
            piece = storage.back();
          }
          if (step.use_regex) {
            split_isolated(SplitRegex::kGpt2, piece, next);
          } else {
            next.push_back(piece);
          }
          break;
        case PreTokenizerStep::Kind::kDigits:
          split_digits(piece, step.individual_digits, next);
          break;
        case PreTokenizerStep::Kind::kMetaspace: {
          std::string s;
          for (char ch : piece) {
            if (ch == ' ') {
              s += step.pattern;
            } else {
              s += ch;
            }
          }
          bool prepend = step.prepend == PreTokenizerStep::Prepend::kAlways ||
                         (step.prepend == PreTokenizerStep::Prepend::kFirst && at_start && i == 0);
          if (prepend && s.compare(0, step.pattern.size(), step.pattern) != 0)
            s.insert(0, step.pattern);
          storage.push_back(std::move(s));
          if (step.split) {
            split_literal(storage.back(), step.pattern, SplitBehavior::kMergedWithNext, next);
          } else {
            next.push_back(storage.back());
          }
          break;
        }
      }
    }
    words.swap(next);
  }
}

void HfTokenizer::encode_normalized(std::string_view text, bool at_start,
                                    std::vector<int32_t>& ids) const {
  thread_local std::deque<std::string> storage;
  thread_local std::vector<std::string_view> words;
  storage.clear();
  pre_tokenize(text, at_start, storage, words);
  for (std::string_view w : words) model->encode_word(w, ids);
}

void HfTokenizer::encode_segment(std::string_view segment, bool at_start,
                                 std::vector<int32_t>& ids) const {
  if (normalizer.empty() && normalized_matcher.empty()) {
    encode_normalized(segment, at_start, ids);
    return;
  }
  std::string norm = normalizer.empty() ? std::string(segment) : normalize(segment);
  bool first = true;
  split_added(normalized_matcher, norm, [&](int32_t index, std::string_view part) {
    if (index >= 0) {
      ids.push_back(added[size_t(index)].id);
    } else {
      encode_normalized(part, at_start && first, ids);
    }
    first = false;
  });
}

std::vector<int32_t> HfTokenizer::encode(std::string_view text, bool add_special_tokens) const {
  std::vector<int32_t> ids;
  ids.reserve(text.size() / 3 + 4);
  if (add_special_tokens) ids.insert(ids.end(), post.prefix.begin(), post.prefix.end());
  bool first = true;
  split_added(raw_matcher, text, [&](int32_t index, std::string_view part) {
    if (index >= 0) {
      ids.push_back(added[size_t(index)].id);
    } else {
      encode_segment(part, first, ids);
    }
    first = false;
  });
  if (add_special_tokens) ids.insert(ids.end(), post.suffix.begin(), post.suffix.end());
  return ids;
}

std::string HfTokenizer::decode(std::span<const int32_t> ids, bool skip_special_tokens) const {
  std::vector<std::string> tokens;
  tokens.reserve(ids.size());
  for (int32_t id : ids) {
    if (id < 0 || size_t(id) >= id_to_token_.size()) continue;  // unknown ids are dropped
    if (skip_special_tokens && special_[size_t(id)]) continue;
    tokens.push_back(id_to_token_[size_t(id)]);
  }
  if (decoder.empty()) {
    std::string out;
    for (size_t i = 0; i < tokens.size(); ++i) out += (i ? " " : "") + tokens[i];
    return out;
  }
  return run_decoders(decoder, std::move(tokens));
}

std::optional<int32_t> HfTokenizer::token_to_id(std::string_view token) const {
  auto it = token_to_id_.find(token);
  if (it == token_to_id_.end()) return std::nullopt;
  return it->second;
}

std::string HfTokenizer::id_to_token(int32_t id) const {
  if (id < 0 || size_t(id) >= id_to_token_.size()) return "";
  return id_to_token_[size_t(id)];
}

bool HfTokenizer::is_special(int32_t id) const {
  return id >= 0 && size_t(id) < special_.size() && special_[size_t(id)];
}

}  // namespace qinfer::tokenizer

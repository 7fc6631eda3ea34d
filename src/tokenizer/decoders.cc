// Decoders (the `decode_chain` of each `tokenizers` decoder) and streaming detokenization.
#include <algorithm>

#include "core/error.h"
#include "tokenizer/tokenizer_impl.h"
#include "tokenizer/unicode.h"

namespace qinfer::tokenizer {
namespace {

// ByteLevel: every token's characters back to bytes (a token with a character outside the
// byte-level alphabet, e.g. an added token, contributes its UTF-8 as is), then one lossy
// UTF-8 string.
std::vector<std::string> byte_level(const std::vector<std::string>& tokens) {
  std::string bytes;
  for (const std::string& t : tokens) {
    size_t mark = bytes.size();
    bool ok = true;
    for (size_t pos = 0; pos < t.size();) {
      size_t len;
      int b = unicode_to_byte(decode_utf8(t, pos, &len));
      if (b < 0) {
        ok = false;
        break;
      }
      bytes += static_cast<char>(b);
      pos += len;
    }
    if (!ok) {
      bytes.resize(mark);
      bytes += t;
    }
  }
  return {utf8_lossy(bytes)};
}

// "<0xAB>" -> 0xAB, else -1.
int byte_token(const std::string& t) {
  if (t.size() != 6 || t.compare(0, 3, "<0x") != 0 || t[5] != '>') return -1;
  auto hex = [](char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  int hi = hex(t[3]), lo = hex(t[4]);
  return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
}

// ByteFallback: runs of <0xXX> tokens become their UTF-8 string, or one U+FFFD per byte when
// the run is not valid UTF-8.
std::vector<std::string> byte_fallback(std::vector<std::string> tokens) {
  std::vector<std::string> out;
  std::string run;
  size_t run_len = 0;
  auto flush = [&] {
    if (run_len == 0) return;
    if (is_valid_utf8(run)) {
      out.push_back(run);
    } else {
      for (size_t i = 0; i < run_len; ++i) out.push_back("\xEF\xBF\xBD");
    }
    run.clear();
    run_len = 0;
  };
  for (std::string& t : tokens) {
    int b = byte_token(t);
    if (b >= 0) {
      run += static_cast<char>(b);
      ++run_len;
    } else {
      flush();
      out.push_back(std::move(t));
    }
  }
  flush();
  return out;
}

std::string replace_all(const std::string& s, const std::string& from, const std::string& to) {
  if (from.empty()) return s;
  std::string out;
  size_t pos = 0;
  for (size_t hit; (hit = s.find(from, pos)) != std::string::npos; pos = hit + from.size()) {
    out.append(s, pos, hit - pos);
    out += to;
  }
  out.append(s, pos);
  return out;
}

// Strip: up to `start` leading and `stop` trailing copies of `content` (one character).
std::string strip(const std::string& t, const std::string& content, int start, int stop) {
  size_t b = 0, e = t.size();
  for (int i = 0;
       i < start && e - b >= content.size() && t.compare(b, content.size(), content) == 0; ++i)
    b += content.size();
  for (int i = 0; i < stop && e - b >= content.size() &&
                  t.compare(e - content.size(), content.size(), content) == 0;
       ++i)
    e -= content.size();
  return t.substr(b, e - b);
}

}  // namespace

std::string run_decoders(const std::vector<DecoderStep>& steps, std::vector<std::string> tokens) {
  for (const DecoderStep& step : steps) {
    switch (step.kind) {
      case DecoderStep::Kind::kByteLevel:
        tokens = byte_level(tokens);
        break;
      case DecoderStep::Kind::kReplace:
        for (std::string& t : tokens) t = replace_all(t, step.from, step.to);
        break;
      case DecoderStep::Kind::kByteFallback:
        tokens = byte_fallback(std::move(tokens));
        break;
      case DecoderStep::Kind::kFuse: {
        std::string all;
        for (const std::string& t : tokens) all += t;
        tokens.assign(1, std::move(all));
        break;
      }
      case DecoderStep::Kind::kStrip:
        for (std::string& t : tokens) t = strip(t, step.from, step.start, step.stop);
        break;
      case DecoderStep::Kind::kMetaspace:
        for (size_t i = 0; i < tokens.size(); ++i) {
          tokens[i] = replace_all(tokens[i], step.from, " ");
          if (i == 0 && step.prepend && !tokens[i].empty() && tokens[i][0] == ' ')
            tokens[i].erase(0, 1);
        }
        break;
    }
  }
  std::string out;
  for (const std::string& t : tokens) out += t;
  return out;
}

// Streaming follows vLLM's detokenize_incrementally: decode a window that starts a few tokens
// back (so decoders that look at the first token, e.g. Strip, see the same context as a full
// decode) and emit what it adds beyond the previous window's text, unless that ends in U+FFFD
// (a character still incomplete).
IncrementalDecoder::IncrementalDecoder(const Tokenizer& tok, bool skip_special_tokens)
    : tok_(tok), skip_special_(skip_special_tokens) {}

IncrementalDecoder::IncrementalDecoder(const Tokenizer& tok, bool skip_special_tokens,
                                       std::span<const int32_t> context)
    : tok_(tok), skip_special_(skip_special_tokens), ids_(context.begin(), context.end()) {
  read_offset_ = ids_.size();
}

std::string IncrementalDecoder::push(int32_t id) {
  ids_.push_back(id);
  std::span<const int32_t> all(ids_);
  std::string prefix_text =
      tok_.decode(all.subspan(prefix_offset_, read_offset_ - prefix_offset_), skip_special_);
  std::string new_text = tok_.decode(all.subspan(prefix_offset_), skip_special_);
  static const std::string kReplacement = "\xEF\xBF\xBD";
  bool incomplete =
      new_text.size() >= 3 && new_text.compare(new_text.size() - 3, 3, kReplacement) == 0;
  if (new_text.size() > prefix_text.size() && !incomplete) {
    std::string delta = new_text.substr(std::min(prefix_text.size(), new_text.size()));
    prefix_offset_ = read_offset_;
    read_offset_ = ids_.size();
    emitted_bytes_ += delta.size();
    return delta;
  }
  return "";
}

std::string IncrementalDecoder::flush() {
  std::span<const int32_t> all(ids_);
  std::string prefix_text =
      tok_.decode(all.subspan(prefix_offset_, read_offset_ - prefix_offset_), skip_special_);
  std::string new_text = tok_.decode(all.subspan(prefix_offset_), skip_special_);
  prefix_offset_ = read_offset_ = ids_.size();
  if (new_text.size() <= prefix_text.size()) return "";
  std::string delta = new_text.substr(prefix_text.size());
  emitted_bytes_ += delta.size();
  return delta;
}

}  // namespace qinfer::tokenizer

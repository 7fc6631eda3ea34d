#include "tokenizer/bpe.h"

#include <queue>

#include "core/error.h"
#include "tokenizer/unicode.h"

namespace qinfer::tokenizer {

void MergeTable::reserve(size_t n) {
  size_t cap = 16;
  while (cap < n * 2) cap *= 2;
  slots_.assign(cap, Slot{});
  mask_ = cap - 1;
  size_ = 0;
}

void MergeTable::insert(int32_t left, int32_t right, int32_t rank, int32_t merged) {
  if (slots_.empty() || (size_ + 1) * 2 > slots_.size()) {
    std::vector<Slot> old = std::move(slots_);
    reserve(std::max<size_t>(size_ + 1, old.size()));
    for (const Slot& s : old)
      if (s.key != kEmpty) insert(int32_t(s.key >> 32), int32_t(uint32_t(s.key)), s.rank, s.merged);
  }
  uint64_t k = key(left, right);
  // Fibonacci hashing spreads the (left << 32 | right) keys.
  for (uint64_t i = (k * 0x9E3779B97F4A7C15ull) >> 20;; ++i) {
    Slot& s = slots_[i & mask_];
    if (s.key == kEmpty) {
      s = Slot{k, rank, merged};
      ++size_;
      return;
    }
    if (s.key == k) {  // a repeated merge: the later one wins, as in `tokenizers`
      s.rank = rank;
      s.merged = merged;
      return;
    }
  }
}

bool MergeTable::find(int32_t left, int32_t right, int32_t* rank, int32_t* merged) const {
  if (slots_.empty()) return false;
  uint64_t k = key(left, right);
  for (uint64_t i = (k * 0x9E3779B97F4A7C15ull) >> 20;; ++i) {
    const Slot& s = slots_[i & mask_];
    if (s.key == k) {
      *rank = s.rank;
      *merged = s.merged;
      return true;
    }
    if (s.key == kEmpty) return false;
  }
}

BpeModel::BpeModel(VocabMap vocab, const std::vector<std::pair<std::string, std::string>>& merges,
                   BpeOptions options)
    : vocab_(std::move(vocab)), options_(options) {
  for (int b = 0; b < 256; ++b) {
    byte_ids_[b] = -1;
    std::string key;
    if (options_.byte_level) {
      key = std::string(1, static_cast<char>(b));
    } else if (options_.byte_fallback) {
      static const char* kHex = "0123456789ABCDEF";
      key = str_cat("<0x", kHex[b >> 4], kHex[b & 15], ">");
    } else {
      continue;
    }
    if (auto it = vocab_.find(key); it != vocab_.end()) byte_ids_[b] = it->second;
  }
  if (!options_.byte_level) {
    static constexpr std::string_view kMeta = "\xE2\x96\x81";  // U+2581
    bool safe = true;
    for (const auto& [token, id] : vocab_) {
      for (size_t p = token.find(kMeta, 1); safe && p != std::string::npos;
           p = token.find(kMeta, p + 1))
        safe = p >= kMeta.size() && token.compare(p - kMeta.size(), kMeta.size(), kMeta) == 0;
      if (!safe) break;
    }
    split_at_metaspace_ = safe;
  }
  merges_.reserve(merges.size());
  for (size_t rank = 0; rank < merges.size(); ++rank) {
    const auto& [a, b] = merges[rank];
    auto ia = vocab_.find(a), ib = vocab_.find(b), im = vocab_.find(a + b);
    QINFER_CHECK(ia != vocab_.end() && ib != vocab_.end(), "tokenizer.json: merge ", rank,
                 " uses a token that is not in model.vocab");
    QINFER_CHECK(im != vocab_.end(), "tokenizer.json: merge ", rank,
                 " makes a token that is not in model.vocab");
    merges_.insert(ia->second, ib->second, int32_t(rank), im->second);
  }
}

std::optional<int32_t> BpeModel::find(std::string_view token) const {
  auto it = vocab_.find(token);
  if (it == vocab_.end()) return std::nullopt;
  return it->second;
}

void BpeModel::initial_symbols(std::string_view word, std::vector<Symbol>& syms) const {
  auto push = [&](int32_t id) {
    int32_t i = int32_t(syms.size());
    syms.push_back(Symbol{id, i - 1, i + 1, true});
  };
  if (options_.byte_level) {
    for (char ch : word) {
      int32_t id = byte_ids_[static_cast<uint8_t>(ch)];
      if (id >= 0) {
        push(id);
      } else {
        QINFER_CHECK(options_.unk_id, "tokenizer: byte ", int(static_cast<uint8_t>(ch)),
                     " is not in the byte-level vocabulary and there is no unk_token");
        push(*options_.unk_id);
      }
    }
    return;
  }
  bool last_unk = false;
  for (size_t pos = 0; pos < word.size();) {
    size_t len;
    decode_utf8(word, pos, &len);
    std::string_view ch = word.substr(pos, len);
    pos += len;
    if (auto it = vocab_.find(ch); it != vocab_.end()) {
      push(it->second);
      last_unk = false;
      continue;
    }
    if (options_.byte_fallback) {
      bool all = true;
      for (char b : ch) all = all && byte_ids_[static_cast<uint8_t>(b)] >= 0;
      if (all) {
        for (char b : ch) push(byte_ids_[static_cast<uint8_t>(b)]);
        last_unk = false;
        continue;
      }
    }
    QINFER_CHECK(options_.unk_id, "tokenizer: character '", ch,
                 "' is not in the vocabulary and there is no unk_token");
    if (!(options_.fuse_unk && last_unk)) push(*options_.unk_id);
    last_unk = true;
  }
}

// Words of a few symbols: scanning for the lowest-rank pair beats a heap.
void BpeModel::merge_small(std::vector<Symbol>& syms) const {
  std::vector<int32_t> ids;
  ids.reserve(syms.size());
  for (const Symbol& s : syms) ids.push_back(s.id);
  while (ids.size() > 1) {
    int32_t best_rank = INT32_MAX, best_merged = 0;
    size_t best = 0;
    for (size_t i = 0; i + 1 < ids.size(); ++i) {
      int32_t rank, merged;
      if (merges_.find(ids[i], ids[i + 1], &rank, &merged) && rank < best_rank) {
        best_rank = rank;
        best_merged = merged;
        best = i;
      }
    }
    if (best_rank == INT32_MAX) break;
    ids[best] = best_merged;
    ids.erase(ids.begin() + best + 1);
  }
  syms.clear();
  for (int32_t id : ids) syms.push_back(Symbol{id, 0, 0, true});
}

// Long words (SentencePiece-style tokenizers see whole sentences as one word): a min-heap of
// candidate merges keyed by (rank, position) with lazy invalidation, as `tokenizers`'
// Word::merge_all.
void BpeModel::merge_heap(std::vector<Symbol>& syms) const {
  struct Cand {
    int32_t rank;
    int32_t pos;
    int32_t merged;
    bool operator>(const Cand& o) const { return rank != o.rank ? rank > o.rank : pos > o.pos; }
  };
  std::priority_queue<Cand, std::vector<Cand>, std::greater<Cand>> heap;
  const int32_t n = int32_t(syms.size());
  auto consider = [&](int32_t left) {
    int32_t right = syms[left].next;
    if (right >= n) return;
    int32_t rank, merged;
    if (merges_.find(syms[left].id, syms[right].id, &rank, &merged))
      heap.push({rank, left, merged});
  };
  for (int32_t i = 0; i + 1 < n; ++i) consider(i);
  while (!heap.empty()) {
    Cand c = heap.top();
    heap.pop();
    Symbol& left = syms[c.pos];
    if (!left.alive || left.next >= n) continue;
    Symbol& right = syms[left.next];
    int32_t rank, merged;
    if (!merges_.find(left.id, right.id, &rank, &merged) || merged != c.merged) continue;
    left.id = merged;
    right.alive = false;
    left.next = right.next;
    if (left.next < n) syms[left.next].prev = c.pos;
    if (left.prev >= 0) consider(left.prev);
    consider(c.pos);
  }
  std::vector<Symbol> kept;
  for (int32_t i = 0; i < n; i = syms[i].next) kept.push_back(syms[i]);
  syms.swap(kept);
}

void BpeModel::merge_piece(std::string_view piece, std::vector<int32_t>& out) const {
  thread_local std::vector<Symbol> syms;
  syms.clear();
  initial_symbols(piece, syms);
  if (syms.size() <= 48) {
    merge_small(syms);
  } else {
    merge_heap(syms);
  }
  for (const Symbol& s : syms) out.push_back(s.id);
}

void BpeModel::encode_piece(std::string_view piece, std::vector<int32_t>& out) const {
  constexpr size_t kMaxCachedBytes = 64;
  constexpr size_t kMaxCacheEntries = 200000;
  if (piece.size() > kMaxCachedBytes) {
    merge_piece(piece, out);
    return;
  }
  {
    std::lock_guard<std::mutex> lock(cache_mu_);
    if (auto it = cache_.find(piece); it != cache_.end()) {
      out.insert(out.end(), it->second.begin(), it->second.end());
      return;
    }
  }
  size_t mark = out.size();
  merge_piece(piece, out);
  std::lock_guard<std::mutex> lock(cache_mu_);
  if (cache_.size() >= kMaxCacheEntries) cache_.clear();
  cache_.emplace(std::string(piece), std::vector<int32_t>(out.begin() + long(mark), out.end()));
}

void BpeModel::encode_word(std::string_view word, std::vector<int32_t>& out) const {
  if (word.empty()) return;
  if (options_.ignore_merges) {
    if (auto it = vocab_.find(word); it != vocab_.end()) {
      out.push_back(it->second);
      return;
    }
  }
  if (!split_at_metaspace_) {
    encode_piece(word, out);
    return;
  }
  // Pieces start where a U+2581 follows another character.
  static constexpr std::string_view kMeta = "\xE2\x96\x81";
  size_t start = 0;
  for (size_t p = word.find(kMeta, 1); p != std::string_view::npos;
       p = word.find(kMeta, p + kMeta.size())) {
    if (p >= kMeta.size() && word.compare(p - kMeta.size(), kMeta.size(), kMeta) == 0) continue;
    encode_piece(word.substr(start, p - start), out);
    start = p;
  }
  encode_piece(word.substr(start), out);
}

}  // namespace qinfer::tokenizer

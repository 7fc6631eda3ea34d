// A stand-in for LlamaModel whose next token depends on every token before it THROUGH THE
// PAGED KV CACHE: forward writes each new token id into its cache slot (via the block
// table) and a logits row for position p is a one-hot at
//   next(p) = kFirst + (Σ_{q<=p} token[q] · (q + 1)) mod kSpan
// read back from the cache. A wrong block table, a missed copy-on-write or a bad
// recompute after preemption changes the tokens, and reference_next() computes the same
// recurrence from the plain token list, independently of any cache.
#pragma once

#include <cstring>
#include <vector>

#include "core/error.h"
#include "model/llama.h"

namespace qinfer::engine::testing {

inline constexpr int32_t kFirst = 1000;  // ordinary Llama 3 tokens: they decode to text
inline constexpr int32_t kSpan = 500;
inline constexpr float kHot = 5.0f;

inline int32_t reference_next(const std::vector<int32_t>& tokens) {
  int64_t h = 0;
  for (size_t q = 0; q < tokens.size(); ++q) h = (h + int64_t(tokens[q]) * int64_t(q + 1)) % kSpan;
  return kFirst + int32_t(h);
}

class FakeModel final : public model::LlamaModel {
 public:
  explicit FakeModel(int64_t vocab = 128256, int64_t max_pos = 512) {
    c_.vocab_size = vocab;
    c_.hidden_size = 1;
    c_.n_layer = 1;
    c_.n_head = 1;
    c_.n_head_kv = 1;
    c_.head_dim = 1;
    c_.max_position_embeddings = max_pos;
  }
  const io::ModelConfig& config() const override { return c_; }
  Device device() const override { return Device::kCpu; }
  size_t weight_bytes() const override { return 0; }
  size_t kv_block_bytes(int64_t bs) const override { return size_t(2 * bs) * sizeof(float); }
  model::KvCache allocate_kv_cache(int64_t n_block, int64_t bs) const override {
    model::KvCache kv;
    kv.n_layer = 1;
    kv.n_block = n_block;
    kv.block_size = bs;
    kv.n_head_kv = 1;
    kv.head_dim = 1;
    kv.k = Tensor::zeros(DType::kF32, {1, n_block, bs, 1, 1});
    kv.v = Tensor::zeros(DType::kF32, {1, n_block, bs, 1, 1});
    return kv;
  }
  void set_linear_observer(LinearObserver) override {}
  // Every token the model was asked to compute (to check chunking / sharing).
  int64_t tokens_computed = 0;
  int64_t forwards = 0;
  int64_t fed_tokens = 0;  // tokens read from Batch::fed (the engine's async steps)
  bool always_eos = false;
  int32_t eos = 128009;

  Tensor forward(const model::Batch& batch, model::KvCache& kv) override {
    ++forwards;
    float* k = kv.k.data_as<float>();
    int64_t bs = kv.block_size;
    auto slot = [&](const model::SeqInput& s, int64_t p) {
      int64_t b = p / bs;
      QINFER_CHECK(b < int64_t(s.block_table.size()), "fake model: position ", p,
                   " past the block table (", s.block_table.size(), " blocks)");
      return int64_t(s.block_table[size_t(b)]) * bs + p % bs;
    };
    std::vector<int32_t> rows;
    const std::vector<int32_t> tokens = model::input_tokens(batch);  // fed ones included
    size_t t = 0;
    for (const model::SeqInput& s : batch.seqs) {
      for (int64_t j = 0; j < s.n_new; ++j) k[slot(s, s.n_past + j)] = float(tokens[t + size_t(j)]);
      for (int64_t j = 0; j < s.n_new; ++j) {
        bool want = s.logits_all || (s.logits_last && j == s.n_new - 1);
        if (!want) continue;
        int64_t p = s.n_past + j;
        int64_t h = 0;
        for (int64_t q = 0; q <= p; ++q) h = (h + int64_t(k[slot(s, q)]) * (q + 1)) % kSpan;
        rows.push_back(always_eos ? eos : kFirst + int32_t(h));
      }
      t += size_t(s.n_new);
    }
    tokens_computed += int64_t(batch.tokens.size());
    for (int32_t f : batch.token_from) fed_tokens += f >= 0;
    Tensor out = Tensor::zeros(DType::kF32, {int64_t(rows.size()), c_.vocab_size});
    for (size_t r = 0; r < rows.size(); ++r)
      out.data_as<float>()[int64_t(r) * c_.vocab_size + rows[r]] = kHot;
    return out;
  }

 private:
  io::ModelConfig c_;
};

}  // namespace qinfer::engine::testing

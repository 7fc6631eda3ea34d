// Paged causal attention on the CPU. Work items are (token, query head) pairs split over
// threads; each walks its sequence's block table. Dot products and the weighted sum of V use
// the ISA level's vector primitives.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/thread_pool.h"
#include "ops/cpu/ops_cpu.h"

namespace qinfer::ops::cpu {

namespace {

// Where position p of a sequence lives: ((block * block_size + slot) * n_head_kv + kvh) * hd.
inline int64_t kv_row(const AttentionSeq& s, int64_t p, int64_t block_size) {
  return int64_t(s.block_table[p / block_size]) * block_size + p % block_size;
}

}  // namespace

void attention(const float* qkv, const std::vector<AttentionSeq>& seqs, const AttentionDims& dims,
               float* k_cache, float* v_cache, int64_t, int64_t block_size, float* out) {
  const int64_t hd = dims.head_dim, nh = dims.n_head, nkv = dims.n_head_kv;
  const int64_t qkv_w = (nh + 2 * nkv) * hd, kv_w = nkv * hd, group = nh / nkv;
  // Token t of the batch: its sequence and position.
  std::vector<int32_t> tok_seq;
  std::vector<int64_t> tok_pos;
  int64_t max_ctx = 0;
  for (size_t s = 0; s < seqs.size(); ++s) {
    for (int64_t i = 0; i < seqs[s].n_new; ++i) {
      tok_seq.push_back(int32_t(s));
      tok_pos.push_back(seqs[s].n_past + i);
    }
    max_ctx = std::max(max_ctx, seqs[s].n_past + seqs[s].n_new);
  }
  const int64_t n_tok = int64_t(tok_seq.size());
  // 1. Write the new keys and values into their cache slots.
  for (int64_t t = 0; t < n_tok; ++t) {
    const int64_t row = kv_row(seqs[size_t(tok_seq[size_t(t)])], tok_pos[size_t(t)], block_size);
    std::memcpy(k_cache + row * kv_w, qkv + t * qkv_w + nh * hd, size_t(kv_w) * sizeof(float));
    std::memcpy(v_cache + row * kv_w, qkv + t * qkv_w + (nh + nkv) * hd,
                size_t(kv_w) * sizeof(float));
  }
  // 2. softmax(q kᵀ * scale) v over positions 0..p of the token's sequence.
  const VecKernels& v = vec();
  std::vector<std::vector<float>> scratch(size_t(ThreadPool::global().size()));
  parallel_for(n_tok * nh, [&](int64_t w0, int64_t w1, int thread) {
    std::vector<float>& sc = scratch[size_t(thread)];
    sc.resize(size_t(max_ctx));
    for (int64_t w = w0; w < w1; ++w) {
      const int64_t t = w / nh, h = w % nh, kvh = h / group;
      const AttentionSeq& s = seqs[size_t(tok_seq[size_t(t)])];
      const int64_t p = tok_pos[size_t(t)];
      const float* q = qkv + t * qkv_w + h * hd;
      float mx = -INFINITY;
      for (int64_t j = 0; j <= p; ++j) {
        const float* k = k_cache + kv_row(s, j, block_size) * kv_w + kvh * hd;
        sc[size_t(j)] = v.dot(q, k, hd) * dims.scale;
        mx = std::max(mx, sc[size_t(j)]);
      }
      float sum = 0.0f;
      for (int64_t j = 0; j <= p; ++j) {
        sc[size_t(j)] = std::exp(sc[size_t(j)] - mx);
        sum += sc[size_t(j)];
      }
      float* o = out + t * nh * hd + h * hd;
      std::memset(o, 0, size_t(hd) * sizeof(float));
      const float inv = 1.0f / sum;
      for (int64_t j = 0; j <= p; ++j) {
        const float* vv = v_cache + kv_row(s, j, block_size) * kv_w + kvh * hd;
        v.axpy(sc[size_t(j)] * inv, vv, o, hd);
      }
    }
  });
}

}  // namespace qinfer::ops::cpu

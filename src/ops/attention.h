// attention over a paged KV cache (vLLM's layout), causal, with grouped-query heads.
//
// For each sequence s of the batch, its n_new rows of `qkv` hold the new tokens at positions
// n_past .. n_past + n_new - 1. The op first writes their K and V into the cache (position p
// of the sequence goes to block block_table[p / block_size], slot p % block_size), then for
// each new token t at position p and each query head h (KV head h / (n_head / n_head_kv)):
//
//   s_j  = (q_h · k_j) * scale            for j = 0 .. p   (causal)
//   out  = Σ_j softmax(s)_j v_j           softmax in fp32, max-subtracted
//
// scale = 1 / sqrt(head_dim) as transformers' LlamaAttention.
//
// Contract
//   qkv:     (n_tok, (n_head + 2 n_head_kv) * head_dim) F32; per row q heads, k heads, v heads
//            (rope already applied to q and k)
//   k_cache: (n_block, block_size, n_head_kv, head_dim) (one layer of the cache): F32 on the
//            CPU; F32 or BF16 on CUDA (K/V rounded to BF16 as they are written)
//   v_cache: same shape and dtype as k_cache
//   out:     (n_tok, n_head * head_dim) F32, preallocated
//   seqs:    sum of n_new == n_tok; each block_table covers n_past + n_new positions and
//            names blocks in [0, n_block)
#pragma once

#include <cstdint>
#include <vector>

#include "core/tensor.h"

namespace qinfer::ops {

struct AttentionSeq {
  int64_t n_past = 0;
  int64_t n_new = 0;
  const int32_t* block_table = nullptr;  // host memory, ceil((n_past + n_new) / block_size)
  int64_t n_block_table = 0;
};

struct AttentionDims {
  int64_t n_head = 0;
  int64_t n_head_kv = 0;
  int64_t head_dim = 0;
  float scale = 0.0f;  // 1 / sqrt(head_dim)
};

void attention(const Tensor& qkv, const std::vector<AttentionSeq>& seqs, const AttentionDims& dims,
               Tensor& k_cache, Tensor& v_cache, Tensor& out);

}  // namespace qinfer::ops

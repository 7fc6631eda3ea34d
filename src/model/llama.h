// The Llama family (LLaMA 1/2, Llama 3/3.1/3.2/3.3): one model definition; the variants
// (GQA, head_dim, rope scaling, tied embeddings, biases) are fields of io::ModelConfig.
//
//   h = embed(tokens)
//   for each layer: h += o_proj(attn(rope(q), rope(k), v))   over rms_norm(h)
//                   h += down_proj(silu(gate(x)) * up(x))     over x = rms_norm(h)
//   logits = lm_head(rms_norm(h))
//
// The forward pass works on a batch of sequences at once over a paged KV cache (vLLM's
// layout): each sequence brings its new tokens (a prefill chunk, or one token to decode)
// and a block table mapping its logical KV blocks to physical ones.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include "core/tensor.h"
#include "io/checkpoint.h"
#include "ops/linear.h"

namespace qinfer::model {

// KV storage for all layers. Position p of a sequence lives in physical block
// block_table[p / block_size], slot p % block_size.
struct KvCache {
  int64_t n_layer = 0, n_block = 0, block_size = 0, n_head_kv = 0, head_dim = 0;
  Tensor k;              // (n_layer, n_block, block_size, n_head_kv, head_dim)
  Tensor v;              // (n_layer, n_block, block_size, n_head_kv, head_dim)
  float k_scale = 1.0f;  // FP8 KV cache (kv_cache_scheme); 1 otherwise
  float v_scale = 1.0f;
};

struct SeqInput {
  int64_t n_past = 0;                // positions already in the cache
  int64_t n_new = 0;                 // new tokens in this step (positions n_past ..)
  std::vector<int32_t> block_table;  // covers n_past + n_new positions
  bool logits_last = true;           // a logits row for the last new token
  bool logits_all = false;           // a logits row for every new token (overrides last)
};

struct Batch {
  std::vector<int32_t> tokens;  // (sum n_new) the new tokens of every sequence, in order
  std::vector<SeqInput> seqs;
  // Tokens the host has not seen yet (the engine queues step N+1 before step N's samples are
  // back): empty, or (sum n_new) where token_from[t] >= 0 makes token t fed[token_from[t]]
  // instead of tokens[t]. `fed` lives on the model's device: the GPU sampler's output
  // (ops::cuda::sampled_tokens_device()) for a CUDA model, a host array for a CPU one.
  std::vector<int32_t> token_from = {};
  const int32_t* fed = nullptr;
};

// batch.tokens with the fed entries filled in, for a model whose `fed` is in host memory.
std::vector<int32_t> input_tokens(const Batch& batch);

struct LoadOptions {
  Device device = Device::kCpu;
  // KV-cache element type; unset = the device's default (F32 on the CPU, BF16 on CUDA).
  // F8_E4M3 stores fp8(x / scale) with the checkpoint's k_scale / v_scale (kv_cache_scheme)
  // or 1 (CUDA only).
  std::optional<DType> kv_cache_dtype = std::nullopt;
};

class LlamaModel {
 public:
  static std::unique_ptr<LlamaModel> load(const io::Checkpoint& ck, const LoadOptions& opt = {});
  virtual ~LlamaModel() = default;

  virtual const io::ModelConfig& config() const = 0;
  virtual Device device() const = 0;
  // Bytes of weights read by one decode step (for rooflines).
  virtual size_t weight_bytes() const = 0;

  virtual KvCache allocate_kv_cache(int64_t n_block, int64_t block_size) const = 0;
  // Bytes one KV block takes over all layers (for sizing the cache from a memory budget).
  virtual size_t kv_block_bytes(int64_t block_size) const = 0;

  // Runs the batch; returns logits (n_rows, vocab_size) F32 on the CPU, rows ordered by
  // sequence, then by token (only the rows asked for).
  virtual Tensor forward(const Batch& batch, KvCache& kv) = 0;

  // forward() leaving the logits on the model's device: (n_rows, vocab_size) F32, valid until
  // the next forward call (for sampling on the device). On the CPU this is forward().
  virtual Tensor forward_device(const Batch& batch, KvCache& kv) { return forward(batch, kv); }

  // forward() into a buffer the caller keeps across steps: `logits_buffer`, (rows, vocab_size)
  // F32 on the CPU, is reused when it has at least the rows this batch returns, else replaced
  // by a larger one; the result is a view of its first rows (overwritten by the next call).
  // Saves allocating and faulting in a fresh (rows, vocab) tensor every step. The default
  // (for models that do not override it) calls forward().
  virtual Tensor forward_into(const Batch& batch, KvCache& kv, Tensor& logits_buffer) {
    (void)logits_buffer;
    return forward(batch, kv);
  }

  // Calibration hook (quantizers): called with every linear layer's input before it runs.
  using LinearObserver = std::function<void(const ops::LinearWeight& w, const Tensor& x)>;
  virtual void set_linear_observer(LinearObserver observer) = 0;
};

}  // namespace qinfer::model

// The Llama model's weights, shared by the generic forward pass (llama.cc, built from the ops
// of src/ops/*.h, every device) and the CUDA runner (llama_cuda.cc: fused kernels, device-side
// batch metadata, CUDA graphs for decode steps).
#pragma once

#include <memory>
#include <vector>

#include "core/tensor.h"
#include "io/model_config.h"
#include "model/llama.h"
#include "ops/linear.h"

namespace qinfer::model::detail {

struct LayerWeights {
  Tensor attn_norm;           // (hidden) F32
  ops::LinearWeight qkv;      // ((n_head + 2 n_head_kv) * head_dim, hidden), q | k | v rows
  ops::LinearWeight o;        // (hidden, n_head * head_dim)
  Tensor mlp_norm;            // (hidden) F32
  ops::LinearWeight gate_up;  // (2 intermediate, hidden), gate | up rows
  ops::LinearWeight down;     // (hidden, intermediate)
};

struct LlamaWeights {
  Tensor embed;  // (vocab_size, hidden) as stored
  std::vector<LayerWeights> layers;
  Tensor final_norm;           // (hidden) F32
  ops::LinearWeight lm_head;   // (vocab_size, hidden); the embedding table when tied
  Tensor inv_freq;             // (head_dim / 2) F32
  std::vector<float> k_scale;  // (n_layer) FP8 KV cache scales (kv_cache_scheme), else 1
  std::vector<float> v_scale;
};

// The forward pass on CUDA with fused kernels. A decode step (one new token per sequence, up
// to 256 sequences) is replayed from a CUDA graph captured per (batch bucket, block-table
// width); everything else runs eagerly with the same kernels, prefill attention on tensor
// cores. Not thread-safe (one engine thread drives a model).
class CudaRunner {
 public:
  CudaRunner(const io::ModelConfig& c, const LlamaWeights& w);
  ~CudaRunner();
  CudaRunner(const CudaRunner&) = delete;
  CudaRunner& operator=(const CudaRunner&) = delete;

  // Runs the batch; returns the logits rows the batch asks for, (n_rows, vocab_size) F32 on
  // the device, owned by the runner and valid until the next call.
  Tensor run(const Batch& batch, KvCache& kv);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Whether the CUDA runner is used (QINFER_CUDA_GENERIC=1 selects the generic op path, for
// comparisons); QINFER_CUDA_GRAPHS=0 keeps the runner but runs decode steps eagerly.
bool cuda_runner_enabled();

}  // namespace qinfer::model::detail

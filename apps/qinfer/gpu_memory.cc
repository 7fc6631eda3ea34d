// The KV-cache budget on the GPU, shared by `serve` and `bench`.
#include "core/error.h"
#include "cli.h"
#include "ops/cuda/cuda_ops.h"

namespace qinfer::cli {

// vLLM's --gpu-memory-utilization: the KV cache takes what is left of util x the card's memory
// once the weights are loaded, less a reserve for activations, logits and graph buffers.
int64_t gpu_kv_cache_bytes(double util, int64_t max_num_batched_tokens) {
  const double total = double(ops::cuda::gpu_memory_bytes());
  const double used = total - double(ops::cuda::gpu_free_bytes());
  const double reserve = 2.0 * (1 << 30) + double(max_num_batched_tokens) * 256 * 1024;
  const double kv = util * total - used - reserve;
  QINFER_CHECK(kv > 0, "--gpu-memory-utilization ", util, ": ", util * total / (1 << 20),
               " MiB allowed but the weights already take ", used / (1 << 20),
               " MiB and activations need ", reserve / (1 << 20), " MiB: no room for a KV cache");
  return int64_t(kv);
}

}  // namespace qinfer::cli

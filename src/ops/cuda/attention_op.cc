// ops::attention on CUDA (contract: src/ops/attention.h) over the kernels of attention_cuda.h:
// the host's sequences become an AttnBatch in device memory (uploaded through a pinned
// buffer, and only when the batch changed: the model calls attention once per layer with the
// same batch), the new K/V go to the cache (rope_kv_write without rotation: q and k arrive
// rotated), then attention_decode or attention_prefill.
//
// Kernel choice: an F32 cache asks for fp32 results (the cross-backend tests hold it to the
// CPU within 1e-5), so it always takes the CUDA-core decode kernel, which handles any number
// of new tokens. A BF16 cache takes the tensor-core prefill kernel once some sequence brings
// kPrefillMinTokens new tokens, the decode kernel otherwise.
#include <algorithm>
#include <vector>

#include "ops/attention.h"
#include "ops/cuda/attention_cuda.h"
#include "ops/cuda/cuda_common.h"
#include "ops/cuda/cuda_ops.h"

namespace qinfer::ops::cuda {
namespace {

constexpr int kPrefillMinTokens = 16;

class MetaUpload {
 public:
  MetaUpload() = default;
  MetaUpload(const MetaUpload&) = delete;
  MetaUpload& operator=(const MetaUpload&) = delete;

  const int32_t* upload(const std::vector<int32_t>& host) {
    if (host == last_ && dev_ != nullptr) return dev_;
    if (event_ == nullptr)
      QINFER_CUDA_CHECK(cudaEventCreateWithFlags(&event_, cudaEventDisableTiming));
    QINFER_CUDA_CHECK(cudaEventSynchronize(event_));  // the staging buffer is free again
    if (host.size() > cap_) {
      if (pinned_ != nullptr) QINFER_CUDA_CHECK(cudaFreeHost(pinned_));
      if (dev_ != nullptr) device_free(dev_, cap_ * sizeof(int32_t));
      cap_ = std::max<size_t>(host.size(), 4096);
      QINFER_CUDA_CHECK(cudaMallocHost(reinterpret_cast<void**>(&pinned_), cap_ * sizeof(int32_t)));
      dev_ = static_cast<int32_t*>(device_alloc(cap_ * sizeof(int32_t)));
    }
    std::copy(host.begin(), host.end(), pinned_);
    QINFER_CUDA_CHECK(cudaMemcpyAsync(dev_, pinned_, host.size() * sizeof(int32_t),
                                      cudaMemcpyHostToDevice, stream()));
    QINFER_CUDA_CHECK(cudaEventRecord(event_, stream()));
    last_ = host;
    return dev_;
  }

 private:
  std::vector<int32_t> last_;
  int32_t* pinned_ = nullptr;
  int32_t* dev_ = nullptr;
  size_t cap_ = 0;
  cudaEvent_t event_ = nullptr;
};

MetaUpload g_meta;

void check_args(const Tensor& qkv, const Tensor& kc, const Tensor& vc, const Tensor& out) {
  for (const Tensor* t : {&qkv, &kc, &vc, &out}) check_cuda_tensor(*t, "attention", "tensor");
  QINFER_CHECK(qkv.dtype() == DType::kF32 && out.dtype() == DType::kF32, "attention: unsupported (",
               "qkv ", dtype_name(qkv.dtype()), ", out ", dtype_name(out.dtype()),
               ", device cuda); expected F32");
  QINFER_CHECK(
      (kc.dtype() == DType::kF32 || kc.dtype() == DType::kBF16) && vc.dtype() == kc.dtype(),
      "attention: unsupported (cache ", dtype_name(kc.dtype()), " / ", dtype_name(vc.dtype()),
      ", device cuda); expected F32 or BF16, both alike");
}

}  // namespace

// Shapes and block tables were checked by ops::attention (src/ops/attention.cc).
void attention(const Tensor& qkv, const std::vector<AttentionSeq>& seqs, const AttentionDims& dims,
               Tensor& k_cache, Tensor& v_cache, Tensor& out) {
  check_args(qkv, k_cache, v_cache, out);
  const int n_tok = int(qkv.dim(0));
  if (n_tok == 0) return;
  const int n_seq = int(seqs.size());
  int max_blocks = 1, max_len = 0, max_q = 0;
  for (const AttentionSeq& s : seqs) {
    max_blocks = std::max(max_blocks, int(s.n_block_table));
    max_len = std::max(max_len, int(s.n_past + s.n_new));
    max_q = std::max(max_q, int(s.n_new));
  }
  // Layout: tok_seq (n_tok), tok_pos (n_tok), seq_q_start (n_seq + 1), seq_len (n_seq),
  // block_tables (n_seq, max_blocks).
  std::vector<int32_t> meta(size_t(2 * n_tok + 2 * n_seq + 1) + size_t(n_seq) * max_blocks, 0);
  int32_t* tok_seq = meta.data();
  int32_t* tok_pos = tok_seq + n_tok;
  int32_t* q_start = tok_pos + n_tok;
  int32_t* seq_len = q_start + n_seq + 1;
  int32_t* tables = seq_len + n_seq;
  int t = 0;
  for (int s = 0; s < n_seq; ++s) {
    q_start[s] = t;
    seq_len[s] = int32_t(seqs[size_t(s)].n_past + seqs[size_t(s)].n_new);
    std::copy_n(seqs[size_t(s)].block_table, seqs[size_t(s)].n_block_table,
                tables + size_t(s) * max_blocks);
    for (int64_t j = 0; j < seqs[size_t(s)].n_new; ++j, ++t) {
      tok_seq[t] = s;
      tok_pos[t] = int32_t(seqs[size_t(s)].n_past + j);
    }
  }
  q_start[n_seq] = t;
  const int32_t* dev = g_meta.upload(meta);
  const auto at = [&](const int32_t* p) { return dev + (p - meta.data()); };

  AttnBatch b;
  b.tok_seq = at(tok_seq);
  b.tok_pos = at(tok_pos);
  b.seq_q_start = at(q_start);
  b.seq_len = at(seq_len);
  b.block_tables = at(tables);
  b.n_tok = n_tok;
  b.n_seq = n_seq;
  b.max_blocks = max_blocks;
  b.max_seq_len = max_len;
  b.max_q_len = max_q;
  const AttnDims d{.n_head = int(dims.n_head),
                   .n_head_kv = int(dims.n_head_kv),
                   .head_dim = int(dims.head_dim),
                   .scale = dims.scale};
  KvCacheView kv;
  kv.k = k_cache.data();
  kv.v = v_cache.data();
  kv.dtype = k_cache.dtype();
  kv.n_block = int(k_cache.dim(0));
  kv.block_size = int(k_cache.dim(1));

  // With no inv_freq the kernel only writes the cache; qkv is not written.
  rope_kv_write(const_cast<float*>(qkv.data_as<float>()), b, d, nullptr, kv, stream());
  if (kv.dtype == DType::kBF16 && max_q >= kPrefillMinTokens)
    attention_prefill(qkv.data_as<float>(), b, d, kv, out.data_as<float>(), stream());
  else
    attention_decode(qkv.data_as<float>(), b, d, kv, out.data_as<float>(), stream());
}

}  // namespace qinfer::ops::cuda

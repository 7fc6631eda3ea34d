// Checks and device dispatch for attention.h. CPU kernel: cpu/attention_cpu.cc.
#include "ops/attention.h"

#include "core/error.h"
#include "ops/cpu/ops_cpu.h"
#include "ops/cuda/cuda_ops.h"

namespace qinfer::ops {

namespace {

void check_seqs(const std::vector<AttentionSeq>& seqs, int64_t n_tok, int64_t n_block,
                int64_t block_size) {
  int64_t total = 0;
  for (size_t s = 0; s < seqs.size(); ++s) {
    const AttentionSeq& q = seqs[s];
    QINFER_CHECK(q.n_past >= 0 && q.n_new >= 0, "attention: sequence ", s, " has n_past ", q.n_past,
                 ", n_new ", q.n_new);
    const int64_t need = (q.n_past + q.n_new + block_size - 1) / block_size;
    QINFER_CHECK(q.n_block_table >= need, "attention: sequence ", s, " needs ", need,
                 " KV blocks for ", q.n_past + q.n_new, " positions but its block table has ",
                 q.n_block_table);
    for (int64_t b = 0; b < need; ++b)
      QINFER_CHECK(q.block_table[b] >= 0 && q.block_table[b] < n_block, "attention: sequence ", s,
                   " block table entry ", b, " = ", q.block_table[b], " is outside the cache's ",
                   n_block, " blocks");
    total += q.n_new;
  }
  QINFER_CHECK(total == n_tok, "attention: sequences bring ", total, " new tokens but qkv has ",
               n_tok, " rows");
}

}  // namespace

void attention(const Tensor& qkv, const std::vector<AttentionSeq>& seqs, const AttentionDims& dims,
               Tensor& k_cache, Tensor& v_cache, Tensor& out) {
  const int64_t hd = dims.head_dim, nh = dims.n_head, nkv = dims.n_head_kv;
  QINFER_CHECK(hd > 0 && nkv > 0 && nh % nkv == 0, "attention: n_head ", nh,
               " is not a multiple of n_head_kv ", nkv);
  QINFER_CHECK(qkv.ndim() == 2 && qkv.dim(1) == (nh + 2 * nkv) * hd, "attention: qkv has shape ",
               shape_str(qkv.shape()), ", expected (n_tok, ", (nh + 2 * nkv) * hd, ")");
  QINFER_CHECK(out.ndim() == 2 && out.dim(0) == qkv.dim(0) && out.dim(1) == nh * hd,
               "attention: out has shape ", shape_str(out.shape()), ", expected (", qkv.dim(0),
               ", ", nh * hd, ")");
  QINFER_CHECK(k_cache.ndim() == 4 && k_cache.dim(2) == nkv && k_cache.dim(3) == hd &&
                   v_cache.shape() == k_cache.shape(),
               "attention: caches have shapes ", shape_str(k_cache.shape()), " and ",
               shape_str(v_cache.shape()), ", expected (n_block, block_size, ", nkv, ", ", hd, ")");
  QINFER_CHECK(qkv.device() == out.device() && k_cache.device() == out.device() &&
                   v_cache.device() == out.device(),
               "attention: qkv, caches and out must be on one device");
  check_seqs(seqs, qkv.dim(0), k_cache.dim(0), k_cache.dim(1));
  if (out.device() == Device::kCuda) return cuda::attention(qkv, seqs, dims, k_cache, v_cache, out);
  QINFER_CHECK(qkv.dtype() == DType::kF32 && out.dtype() == DType::kF32 &&
                   k_cache.dtype() == DType::kF32 && v_cache.dtype() == DType::kF32,
               "attention: unsupported (qkv ", dtype_name(qkv.dtype()), ", cache ",
               dtype_name(k_cache.dtype()), ", device cpu); the CPU path is F32");
  cpu::attention(qkv.data_as<float>(), seqs, dims, k_cache.data_as<float>(),
                 v_cache.data_as<float>(), k_cache.dim(0), k_cache.dim(1), out.data_as<float>());
}

}  // namespace qinfer::ops

// Causal GQA attention over the paged KV cache (contract: src/ops/attention.h).
//
// Two kernels per call, on the op's stream:
//   kv_write:  K and V of the new tokens go to their cache slots.
//   attend:    one block per (token, KV head, split); its warps walk the split's positions,
//              each warp one position at a time (coalesced K/V rows), keeping an online
//              softmax (running max m, sum l, accumulator) for the G = n_head / n_head_kv
//              query heads of that KV head, so each K/V row is read once for G heads.
//              Splits (flash-decoding) give the GPU enough blocks when few tokens decode over
//              long contexts; a combine kernel merges their (m, l, acc) partials.
#include <algorithm>
#include <cmath>
#include <vector>

#include "ops/cuda/cuda_common.h"
#include "ops/attention.h"
#include "ops/cuda/cuda_ops.h"

namespace qinfer::ops::cuda {
namespace {

constexpr int kMaxGroup = 8;    // query heads per KV head handled by one block
constexpr int kAttnWarps = 4;

// Metadata uploaded once per distinct batch: per token its sequence and position, per
// sequence the offset of its block table in the flat table array.
struct AttnParams {
  const float* qkv;
  float* k_cache;
  float* v_cache;
  float* out;
  float* part;              // split partials: (n_tok, n_head, n_split, 2 + head_dim)
  const int32_t* tok_seq;   // (n_tok)
  const int32_t* tok_pos;   // (n_tok)
  const int32_t* bt_off;    // (n_seq)
  const int32_t* tables;    // flat block tables
  int n_head, n_head_kv, head_dim, block_size, row_width, n_split, chunk;
  float scale;
};

__global__ void kv_write_kernel(AttnParams p, int64_t n_tok) {
  const int64_t per_tok = int64_t(p.n_head_kv) * p.head_dim;
  const int64_t total = n_tok * per_tok;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < total;
       i += int64_t(gridDim.x) * blockDim.x) {
    const int64_t t = i / per_tok, e = i % per_tok;
    const int pos = p.tok_pos[t];
    const int32_t* bt = p.tables + p.bt_off[p.tok_seq[t]];
    const int64_t slot = int64_t(bt[pos / p.block_size]) * p.block_size + pos % p.block_size;
    const float* row = p.qkv + t * p.row_width + int64_t(p.n_head) * p.head_dim;
    p.k_cache[slot * per_tok + e] = row[e];
    p.v_cache[slot * per_tok + e] = row[per_tok + e];
  }
}

// E: head elements per lane (head_dim <= 32 E).
template <int E>
__global__ void __launch_bounds__(kAttnWarps * 32) attend_kernel(AttnParams p) {
  const int t = blockIdx.x, kvh = blockIdx.y, split = blockIdx.z;
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  const int group = p.n_head / p.n_head_kv, hd = p.head_dim;
  const int pos = p.tok_pos[t];
  const int32_t* bt = p.tables + p.bt_off[p.tok_seq[t]];
  const int begin = split * p.chunk, end = min(pos + 1, begin + p.chunk);

  float q[kMaxGroup][E], acc[kMaxGroup][E], m[kMaxGroup], l[kMaxGroup];
  const float* qrow = p.qkv + int64_t(t) * p.row_width + int64_t(kvh) * group * hd;
#pragma unroll
  for (int g = 0; g < kMaxGroup; ++g) {
    m[g] = -INFINITY;
    l[g] = 0.0f;
#pragma unroll
    for (int e = 0; e < E; ++e) {
      const int d = lane + 32 * e;
      q[g][e] = (g < group && d < hd) ? qrow[g * hd + d] * p.scale : 0.0f;
      acc[g][e] = 0.0f;
    }
  }
  const int64_t stride = int64_t(p.n_head_kv) * hd;
  for (int j = begin + warp; j < end; j += kAttnWarps) {
    const int64_t slot = int64_t(bt[j / p.block_size]) * p.block_size + j % p.block_size;
    const float* kr = p.k_cache + slot * stride + int64_t(kvh) * hd;
    const float* vr = p.v_cache + slot * stride + int64_t(kvh) * hd;
    float k[E], v[E];
#pragma unroll
    for (int e = 0; e < E; ++e) {
      const int d = lane + 32 * e;
      k[e] = d < hd ? kr[d] : 0.0f;
      v[e] = d < hd ? vr[d] : 0.0f;
    }
#pragma unroll
    for (int g = 0; g < kMaxGroup; ++g) {
      if (g >= group) break;
      float s = 0.0f;
#pragma unroll
      for (int e = 0; e < E; ++e) s = fmaf(q[g][e], k[e], s);
      for (int o = 16; o > 0; o >>= 1) s += __shfl_xor_sync(0xffffffffu, s, o);
      const float m_new = fmaxf(m[g], s);
      const float corr = expf(m[g] - m_new);  // exp(-inf) = 0 on the first position
      const float pe = expf(s - m_new);
      l[g] = l[g] * corr + pe;
#pragma unroll
      for (int e = 0; e < E; ++e) acc[g][e] = fmaf(acc[g][e], corr, pe * v[e]);
      m[g] = m_new;
    }
  }

  // Merge the warps' partial softmax states through shared memory.
  extern __shared__ float sm[];  // (kAttnWarps, group, 2 + hd)
  const int rec = 2 + hd;
  for (int g = 0; g < group && g < kMaxGroup; ++g) {
    float* r = sm + (warp * group + g) * rec;
    if (lane == 0) r[0] = m[g], r[1] = l[g];
#pragma unroll
    for (int e = 0; e < E; ++e)
      if (lane + 32 * e < hd) r[2 + lane + 32 * e] = acc[g][e];
  }
  __syncthreads();
  for (int i = threadIdx.x; i < group * hd; i += blockDim.x) {
    const int g = i / hd, d = i % hd;
    float mm = -INFINITY;
    for (int w = 0; w < kAttnWarps; ++w) mm = fmaxf(mm, sm[(w * group + g) * rec]);
    float ll = 0.0f, a = 0.0f;
    for (int w = 0; w < kAttnWarps; ++w) {
      const float* r = sm + (w * group + g) * rec;
      const float c = r[0] == -INFINITY ? 0.0f : expf(r[0] - mm);
      ll += r[1] * c;
      a += r[2 + d] * c;
    }
    const int h = kvh * group + g;
    if (p.n_split == 1) {
      p.out[int64_t(t) * p.n_head * hd + int64_t(h) * hd + d] = a / ll;
    } else {
      float* r = p.part + ((int64_t(t) * p.n_head + h) * p.n_split + split) * rec;
      if (d == 0) r[0] = mm, r[1] = ll;
      r[2 + d] = a;
    }
  }
}

__global__ void combine_kernel(AttnParams p) {
  const int t = blockIdx.x, h = blockIdx.y, hd = p.head_dim, rec = 2 + hd;
  const float* base = p.part + (int64_t(t) * p.n_head + h) * p.n_split * rec;
  float mm = -INFINITY;
  for (int s = 0; s < p.n_split; ++s) mm = fmaxf(mm, base[s * rec]);
  for (int d = threadIdx.x; d < hd; d += blockDim.x) {
    float ll = 0.0f, a = 0.0f;
    for (int s = 0; s < p.n_split; ++s) {
      const float* r = base + s * rec;
      const float c = r[0] == -INFINITY ? 0.0f : expf(r[0] - mm);
      ll += r[1] * c;
      a += r[2 + d] * c;
    }
    p.out[int64_t(t) * p.n_head * hd + int64_t(h) * hd + d] = a / ll;
  }
}

// Uploads the batch metadata through a pinned staging buffer, and only when it changed:
// the model calls attention once per layer with the same batch.
class MetaUpload {
 public:
  const int32_t* upload(const std::vector<int32_t>& host) {
    if (host == last_ && dev_ != nullptr) return dev_;
    if (event_ == nullptr) QINFER_CUDA_CHECK(cudaEventCreateWithFlags(&event_, cudaEventDisableTiming));
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
ScratchBuffer g_part;

template <int E>
void launch_attend(const AttnParams& p, int n_tok) {
  const int group = p.n_head / p.n_head_kv;
  const size_t smem = size_t(kAttnWarps) * group * (2 + p.head_dim) * sizeof(float);
  dim3 grid(unsigned(n_tok), unsigned(p.n_head_kv), unsigned(p.n_split));
  attend_kernel<E><<<grid, kAttnWarps * 32, smem, stream()>>>(p);
  QINFER_CUDA_CHECK_LAUNCH();
}

void check_args(const Tensor& qkv, const std::vector<AttentionSeq>& seqs, const AttentionDims& dm,
                const Tensor& kc, const Tensor& vc, const Tensor& out) {
  for (const Tensor* t : {&qkv, &kc, &vc, &out}) {
    check_cuda_tensor(*t, "attention", "tensor");
    QINFER_CHECK(t->dtype() == DType::kF32, "attention: unsupported (dtype ",
                 dtype_name(t->dtype()), ", device cuda); expected F32");
  }
  QINFER_CHECK(dm.n_head_kv > 0 && dm.n_head % dm.n_head_kv == 0 &&
                   dm.n_head / dm.n_head_kv <= kMaxGroup && dm.head_dim > 0 &&
                   dm.head_dim <= 256,
               "attention: unsupported on cuda: n_head ", dm.n_head, ", n_head_kv ",
               dm.n_head_kv, ", head_dim ", dm.head_dim, " (group <= ", kMaxGroup,
               ", head_dim <= 256)");
  const int64_t width = (dm.n_head + 2 * dm.n_head_kv) * dm.head_dim;
  QINFER_CHECK(qkv.ndim() == 2 && qkv.dim(1) == width, "attention: qkv ",
               shape_str(qkv.shape()), " expected (n_tok, ", width, ")");
  QINFER_CHECK(kc.ndim() == 4 && kc.dim(2) == dm.n_head_kv && kc.dim(3) == dm.head_dim &&
                   vc.shape() == kc.shape(),
               "attention: cache ", shape_str(kc.shape()), " / ", shape_str(vc.shape()),
               " expected (n_block, block_size, ", dm.n_head_kv, ", ", dm.head_dim, ")");
  QINFER_CHECK(out.numel() == qkv.dim(0) * dm.n_head * dm.head_dim, "attention: out ",
               shape_str(out.shape()), " expected (", qkv.dim(0), ", ", dm.n_head * dm.head_dim,
               ")");
  int64_t n_tok = 0;
  for (size_t s = 0; s < seqs.size(); ++s) {
    const AttentionSeq& q = seqs[s];
    const int64_t need = (q.n_past + q.n_new + kc.dim(1) - 1) / kc.dim(1);
    QINFER_CHECK(q.n_block_table >= need, "attention: sequence ", s, " has ", q.n_block_table,
                 " blocks, needs ", need);
    for (int64_t b = 0; b < need; ++b)
      QINFER_CHECK(q.block_table[b] >= 0 && q.block_table[b] < kc.dim(0), "attention: sequence ",
                   s, " block ", b, " = ", q.block_table[b], " outside [0, ", kc.dim(0), ")");
    n_tok += q.n_new;
  }
  QINFER_CHECK(n_tok == qkv.dim(0), "attention: sequences hold ", n_tok, " new tokens, qkv has ",
               qkv.dim(0), " rows");
}

}  // namespace

void attention(const Tensor& qkv, const std::vector<AttentionSeq>& seqs, const AttentionDims& dims,
               Tensor& k_cache, Tensor& v_cache, Tensor& out) {
  check_args(qkv, seqs, dims, k_cache, v_cache, out);
  const int n_tok = int(qkv.dim(0));
  if (n_tok == 0) return;
  // Layout of the metadata: tok_seq (n_tok), tok_pos (n_tok), bt_off (n_seq), tables.
  std::vector<int32_t> meta(size_t(2 * n_tok) + seqs.size());
  int64_t max_ctx = 0, t = 0;
  for (size_t s = 0; s < seqs.size(); ++s) {
    meta[2 * n_tok + s] = int32_t(meta.size());
    meta.insert(meta.end(), seqs[s].block_table, seqs[s].block_table + seqs[s].n_block_table);
    for (int64_t j = 0; j < seqs[s].n_new; ++j, ++t) {
      meta[t] = int32_t(s);
      meta[n_tok + t] = int32_t(seqs[s].n_past + j);
    }
    max_ctx = std::max(max_ctx, seqs[s].n_past + seqs[s].n_new);
  }
  for (size_t s = 0; s < seqs.size(); ++s) meta[2 * n_tok + s] -= int32_t(2 * n_tok + seqs.size());
  const int32_t* dm = g_meta.upload(meta);

  AttnParams p{};
  p.qkv = qkv.data_as<float>();
  p.k_cache = k_cache.data_as<float>();
  p.v_cache = v_cache.data_as<float>();
  p.out = out.data_as<float>();
  p.tok_seq = dm;
  p.tok_pos = dm + n_tok;
  p.bt_off = dm + 2 * n_tok;
  p.tables = dm + 2 * n_tok + seqs.size();
  p.n_head = int(dims.n_head);
  p.n_head_kv = int(dims.n_head_kv);
  p.head_dim = int(dims.head_dim);
  p.block_size = int(k_cache.dim(1));
  p.row_width = int(qkv.dim(1));
  p.scale = dims.scale;

  // Enough blocks to fill the GPU (four times over when few (token, KV head) pairs decode:
  // each split otherwise walks its positions as a serial chain of K/V loads; twice over for
  // batches, where the combine pass costs more), each split at least 32 positions long.
  // Measured on H100, 8B dims: batch 1 ctx 1024 25 -> 21 us, ctx 8192 81 -> 57 us; batch 32
  // ctx 1024 got slower (163 -> 213 us) with the four-fold rule, hence two-fold there.
  const int64_t units = int64_t(n_tok) * dims.n_head_kv;
  const int64_t fill = units < sm_count() ? 4 : 2;
  const int64_t want = std::max<int64_t>(1, (fill * sm_count() + units - 1) / units);
  p.n_split = int(std::clamp<int64_t>(std::min(want, (max_ctx + 31) / 32), 1, 128));
  p.chunk = int((max_ctx + p.n_split - 1) / p.n_split);
  if (p.n_split > 1) {
    const size_t bytes = size_t(n_tok) * dims.n_head * p.n_split * (2 + dims.head_dim) * 4;
    p.part = static_cast<float*>(g_part.get(bytes));
  }

  const int64_t kv_elems = int64_t(n_tok) * dims.n_head_kv * dims.head_dim;
  const unsigned kv_grid = unsigned(std::min<int64_t>((kv_elems + 255) / 256, 65535));
  kv_write_kernel<<<kv_grid, 256, 0, stream()>>>(p, n_tok);
  QINFER_CUDA_CHECK_LAUNCH();
  if (dims.head_dim <= 32)
    launch_attend<1>(p, n_tok);
  else if (dims.head_dim <= 64)
    launch_attend<2>(p, n_tok);
  else if (dims.head_dim <= 128)
    launch_attend<4>(p, n_tok);
  else
    launch_attend<8>(p, n_tok);
  if (p.n_split > 1) {
    combine_kernel<<<dim3(unsigned(n_tok), unsigned(dims.n_head)), 128, 0, stream()>>>(p);
    QINFER_CUDA_CHECK_LAUNCH();
  }
}

}  // namespace qinfer::ops::cuda

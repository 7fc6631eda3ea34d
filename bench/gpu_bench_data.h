// Inputs the GPU benchmarks share (gpu_attention, gpu_gemm, gpu_overlap): random device
// operands, the Llama-3.1-8B layer's linear shapes, and a paged decode / prefill batch at its
// attention dims (32 query heads, 8 KV heads, head_dim 128, blocks of 16). Header-only; CUDA
// builds only.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>
#include <random>
#include <vector>

#include "core/tensor.h"
#include "ops/cuda/attention_cuda.h"
#include "ops/cuda/cuda_common.h"

namespace qinfer::bench {

namespace cu = ops::cuda;

// Device tensor of random finite values: FP8 codes with |v| <= 0.47, F32 scales in [0.5, 1).
inline Tensor random_device(DType dt, int64_t count, uint64_t seed) {
  std::mt19937_64 rng(seed);
  Tensor t = Tensor::empty(dt, {count}, Device::kCuda);
  std::vector<uint8_t> buf(t.nbytes());
  if (dt == DType::kF8E4M3) {
    for (auto& b : buf) b = uint8_t(rng()) & 0xB7;
  } else {
    std::uniform_real_distribution<float> u(0.5f, 1.0f);
    for (size_t i = 0; i < buf.size(); i += 4) {
      const float v = u(rng);
      std::memcpy(&buf[i], &v, 4);
    }
  }
  copy_bytes(t.data(), Device::kCuda, buf.data(), Device::kCpu, buf.size());
  return t;
}

// The Llama-3.1-8B layer's linears (y (n, n_out) = x (n, n_in) · wᵀ) in the order a layer runs
// them; o and down accumulate into the residual (y += ...), as the engine runs them.
struct LinearShape {
  const char* name;
  int64_t n_out, n_in;
  bool accumulate;
};
inline constexpr LinearShape kLinears8B[] = {{"qkv_proj", 6144, 4096, false},
                                             {"o_proj", 4096, 4096, true},
                                             {"gate_up_proj", 28672, 4096, false},
                                             {"down_proj", 4096, 14336, true}};

constexpr int kHead = 32, kHeadKv = 8, kHeadDim = 128, kBlock = 16;

// A batch of n_seq sequences of (n_past, n_new), its metadata on the device and a cache
// whose blocks are handed out in a shuffled order (as a paged pool fragments).
struct Batch {
  Tensor meta, qkv, out, k, v, inv_freq;
  cu::AttnBatch b;
  cu::KvCacheView kv;
};

inline Batch make_batch(int n_seq, int n_past, int n_new, DType dt) {
  Batch B;
  const int len = n_past + n_new, blocks = (len + kBlock - 1) / kBlock;
  const int n_tok = n_seq * n_new;
  std::vector<int32_t> perm(size_t(n_seq) * blocks);
  std::iota(perm.begin(), perm.end(), 0);
  std::shuffle(perm.begin(), perm.end(), std::mt19937(7));
  std::vector<int32_t> meta;
  for (int s = 0; s < n_seq; ++s)
    for (int j = 0; j < n_new; ++j) meta.push_back(s);
  for (int s = 0; s < n_seq; ++s)
    for (int j = 0; j < n_new; ++j) meta.push_back(n_past + j);
  for (int s = 0; s <= n_seq; ++s) meta.push_back(s * n_new);
  for (int s = 0; s < n_seq; ++s) meta.push_back(len);
  meta.insert(meta.end(), perm.begin(), perm.end());
  Tensor m = Tensor::empty(DType::kI32, {int64_t(meta.size())});
  std::copy(meta.begin(), meta.end(), m.data_as<int32_t>());
  B.meta = m.to(Device::kCuda);
  const int32_t* d = B.meta.data_as<int32_t>();
  B.b.tok_seq = d;
  B.b.tok_pos = d + n_tok;
  B.b.seq_q_start = d + 2 * n_tok;
  B.b.seq_len = d + 2 * n_tok + n_seq + 1;
  B.b.block_tables = d + 2 * n_tok + 2 * n_seq + 1;
  B.b.n_tok = n_tok;
  B.b.n_seq = n_seq;
  B.b.max_blocks = blocks;
  B.b.max_seq_len = len;
  B.b.max_q_len = n_new;
  const int64_t width = (kHead + 2 * kHeadKv) * kHeadDim;
  B.qkv = Tensor::empty(DType::kF32, {n_tok, width}, Device::kCuda);
  B.out = Tensor::empty(DType::kF32, {n_tok, kHead * kHeadDim}, Device::kCuda);
  const Shape cache{int64_t(n_seq) * blocks, kBlock, kHeadKv, kHeadDim};
  B.k = Tensor::empty(dt, cache, Device::kCuda);
  B.v = Tensor::empty(dt, cache, Device::kCuda);
  // Byte 0x3C everywhere: finite non-zero values in every dtype (F32 / BF16 ~0.0115, FP8 1.5).
  for (Tensor* t : {&B.qkv, &B.k, &B.v})
    QINFER_CUDA_CHECK(cudaMemsetAsync(t->data(), 0x3C, t->nbytes(), cu::stream()));
  std::vector<float> f(kHeadDim / 2);
  for (int j = 0; j < kHeadDim / 2; ++j)
    f[size_t(j)] = float(std::pow(500000.0, -2.0 * j / kHeadDim));
  Tensor fh = Tensor::empty(DType::kF32, {kHeadDim / 2});
  std::copy(f.begin(), f.end(), fh.data_as<float>());
  B.inv_freq = fh.to(Device::kCuda);
  B.kv.k = B.k.data();
  B.kv.v = B.v.data();
  B.kv.dtype = dt;
  B.kv.n_block = int(cache[0]);
  B.kv.block_size = kBlock;
  B.kv.k_scale = B.kv.v_scale = 0.01f;
  return B;
}

inline const cu::AttnDims kDims{
    .n_head = kHead, .n_head_kv = kHeadKv, .head_dim = kHeadDim, .scale = 0.08838835f};

}  // namespace qinfer::bench

// Setup shared by the GPU attention tests (cuda_attention_test.cc, cuda_attention_tc_test.cc):
// cache element encoding, byte uploads, the AttnBatch over metadata packed as the CUDA
// runner packs it, and the KvCacheView of a cache pair. CUDA builds only.
#pragma once

#include <cstdint>
#include <cstring>
#include <random>
#include <vector>

#include "core/dtype.h"
#include "core/tensor.h"
#include "ops/cuda/attention_cuda.h"

namespace qinfer::testing {

// One cache element of dt (F32, BF16, or FP8 E4M3 storing x / scale) to and from its bytes;
// decoding is exact in double (code * scale).
inline void encode_cache_elem(DType dt, float scale, float x, uint8_t* dst) {
  if (dt == DType::kF32) {
    std::memcpy(dst, &x, 4);
  } else if (dt == DType::kBF16) {
    const uint16_t h = f32_to_bf16(x);
    std::memcpy(dst, &h, 2);
  } else {
    *dst = f32_to_fp8e4m3(x / scale);
  }
}
inline double decode_cache_elem(DType dt, float scale, const uint8_t* src) {
  if (dt == DType::kF32) {
    float x;
    std::memcpy(&x, src, 4);
    return x;
  }
  if (dt == DType::kBF16) {
    uint16_t h;
    std::memcpy(&h, src, 2);
    return bf16_to_f32(h);
  }
  return double(fp8e4m3_to_f32(*src)) * scale;
}

// A cache of `elems` elements, each a random value in [-8, 8) scale encoded in dt.
inline std::vector<uint8_t> random_cache(DType dt, float scale, int64_t elems, std::mt19937& rng) {
  const size_t esz = dtype_size(dt);
  std::vector<uint8_t> bytes(size_t(elems) * esz);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  for (int64_t i = 0; i < elems; ++i)
    encode_cache_elem(dt, scale, u(rng) * 8.0f * scale, &bytes[size_t(i) * esz]);
  return bytes;
}

inline Tensor upload_bytes(const std::vector<uint8_t>& bytes) {
  Tensor t = Tensor::empty(DType::kU8, {int64_t(bytes.size())}, Device::kCuda);
  copy_bytes(t.data(), Device::kCuda, bytes.data(), Device::kCpu, bytes.size());
  return t;
}

// The batch over device metadata d laid out as tok_seq (n_tok), tok_pos (n_tok), seq_q_start
// (n_seq + 1), seq_len (n_seq), block_tables (n_seq x max_blocks).
inline ops::cuda::AttnBatch packed_batch(const int32_t* d, int n_tok, int n_seq, int max_blocks,
                                         int max_seq_len, int max_q_len, int n_split) {
  ops::cuda::AttnBatch b;
  b.tok_seq = d;
  b.tok_pos = d + n_tok;
  b.seq_q_start = d + 2 * n_tok;
  b.seq_len = d + 2 * n_tok + n_seq + 1;
  b.block_tables = d + 2 * n_tok + 2 * n_seq + 1;
  b.n_tok = n_tok;
  b.n_seq = n_seq;
  b.max_blocks = max_blocks;
  b.max_seq_len = max_seq_len;
  b.max_q_len = max_q_len;
  b.n_split = n_split;
  return b;
}

inline ops::cuda::KvCacheView cache_view(Tensor& k, Tensor& v, DType dt, int n_block,
                                         int block_size, float k_scale, float v_scale) {
  ops::cuda::KvCacheView kv;
  kv.k = k.data();
  kv.v = v.data();
  kv.dtype = dt;
  kv.n_block = n_block;
  kv.block_size = block_size;
  kv.k_scale = k_scale;
  kv.v_scale = v_scale;
  return kv;
}

}  // namespace qinfer::testing

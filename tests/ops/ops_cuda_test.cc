// The row-wise ops and paged attention on the GPU against the CPU backend (the executable
// specification of src/ops/*.h), over fresh random inputs, odd sizes and poisoned outputs.
#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>
#include <vector>

#include "cuda_test_util.h"
#include "ops/add.h"
#include "ops/attention.h"
#include "ops/embedding.h"
#include "ops/rms_norm.h"
#include "ops/rope.h"
#include "ops/silu_mul.h"

namespace qinfer {
namespace {

using testing::compare;
using testing::describe;
using testing::poisoned_cuda;
using testing::random_f32;

constexpr Device kGpu = Device::kCuda;

TEST(OpsCuda, EmbeddingAllTableDtypes) {
  QINFER_SKIP_WITHOUT_CUDA();
  const uint32_t seed = testing::fresh_seed();
  std::mt19937 rng(seed);
  for (DType dt : {DType::kF32, DType::kBF16, DType::kF16}) {
    for (auto [n_row, d, n] : std::vector<std::tuple<int64_t, int64_t, int64_t>>{
             {7, 33, 5}, {1000, 256, 17}}) {
      Tensor table = Tensor::empty(dt, {n_row, d});
      Tensor tf = random_f32({n_row, d}, rng);
      for (int64_t i = 0; i < n_row * d; ++i) {
        const float v = tf.data_as<float>()[i];
        if (dt == DType::kF32) table.data_as<float>()[i] = v;
        if (dt == DType::kBF16) table.data_as<uint16_t>()[i] = f32_to_bf16(v);
        if (dt == DType::kF16) table.data_as<uint16_t>()[i] = f32_to_f16(v);
      }
      Tensor ids = Tensor::empty(DType::kI32, {n});
      for (int64_t i = 0; i < n; ++i) ids.data_as<int32_t>()[i] = int32_t(rng() % n_row);
      Tensor want = Tensor::empty(DType::kF32, {n, d});
      ops::embedding(table, ids, want);
      Tensor got = poisoned_cuda({n, d});
      ops::embedding(table.to(kGpu), ids.to(kGpu), got);
      testing::Diff df = compare(got, want);
      ASSERT_TRUE(df.n_nan == 0 && df.max_abs == 0.0)
          << dtype_name(dt) << " seed " << seed << ": " << describe(df, got, want);
    }
  }
}

TEST(OpsCuda, RmsNormSiluMulAdd) {
  QINFER_SKIP_WITHOUT_CUDA();
  const uint32_t seed = testing::fresh_seed();
  std::mt19937 rng(seed);
  for (auto [n, d] : std::vector<std::pair<int64_t, int64_t>>{{1, 4096}, {3, 37}, {19, 1000}}) {
    Tensor x = random_f32({n, d}, rng, -3.0f, 3.0f);
    Tensor w = random_f32({d}, rng, 0.5f, 1.5f);
    Tensor want = Tensor::empty(DType::kF32, {n, d});
    ops::rms_norm(x, w, 1e-5f, want);
    Tensor got = poisoned_cuda({n, d});
    ops::rms_norm(x.to(kGpu), w.to(kGpu), 1e-5f, got);
    testing::Diff df = compare(got, want);
    ASSERT_TRUE(df.n_nan == 0 && df.rel < 1e-6) << "rms_norm n=" << n << " d=" << d << " seed "
                                                << seed << ": " << describe(df, got, want);

    Tensor gu = random_f32({n, 2 * d}, rng, -6.0f, 6.0f);
    Tensor sm_want = Tensor::empty(DType::kF32, {n, d});
    ops::silu_mul(gu, sm_want);
    Tensor sm_got = poisoned_cuda({n, d});
    ops::silu_mul(gu.to(kGpu), sm_got);
    df = compare(sm_got, sm_want);
    ASSERT_TRUE(df.n_nan == 0 && df.rel < 1e-6) << "silu_mul n=" << n << " d=" << d << " seed "
                                                << seed << ": " << describe(df, sm_got, sm_want);

    Tensor y = random_f32({n, d}, rng);
    Tensor add_got = x.to(kGpu);
    ops::add(add_got, y.to(kGpu));
    ops::add(x, y);
    df = compare(add_got, x);
    ASSERT_TRUE(df.n_nan == 0 && df.max_abs == 0.0) << "add: " << describe(df, add_got, x);
  }
}

TEST(OpsCuda, RopeLlama3Frequencies) {
  QINFER_SKIP_WITHOUT_CUDA();
  const uint32_t seed = testing::fresh_seed();
  std::mt19937 rng(seed);
  for (auto [n, head_dim, n_rot, width] : std::vector<std::tuple<int64_t, int64_t, int64_t,
                                                                 int64_t>>{
           {1, 128, 40, 48 * 128}, {7, 64, 3, 4 * 64 + 10}, {33, 16, 6, 96}}) {
    Tensor x = random_f32({n, width}, rng);
    Tensor pos = Tensor::empty(DType::kI32, {n});
    for (int64_t i = 0; i < n; ++i) pos.data_as<int32_t>()[i] = int32_t(rng() % 131072);
    // A llama3-style table: geometric frequencies, the low ones divided by 8.
    Tensor inv = Tensor::empty(DType::kF32, {head_dim / 2});
    for (int64_t j = 0; j < head_dim / 2; ++j) {
      const float f = std::pow(500000.0f, -2.0f * float(j) / float(head_dim));
      inv.data_as<float>()[j] = j > head_dim / 4 ? f / 8.0f : f;
    }
    Tensor got = x.to(kGpu);
    ops::rope(got, pos.to(kGpu), inv.to(kGpu), n_rot, head_dim);
    ops::rope(x, pos, inv, n_rot, head_dim);
    testing::Diff df = compare(got, x);
    // Angles reach 1e5 rad: sin/cos of the same fp32 angle agree to a few ulps.
    ASSERT_TRUE(df.n_nan == 0 && df.max_abs < 1e-5)
        << "rope n=" << n << " head_dim=" << head_dim << " seed " << seed << ": "
        << describe(df, got, x);
  }
}

struct AttnCase {
  int64_t n_head, n_head_kv, head_dim, block_size;
  std::vector<std::pair<int64_t, int64_t>> seqs;  // (n_past, n_new)
};

TEST(OpsCuda, PagedAttentionPrefillDecodeMixed) {
  QINFER_SKIP_WITHOUT_CUDA();
  const uint32_t seed = testing::fresh_seed();
  std::mt19937 rng(seed);
  const std::vector<AttnCase> cases = {
      {4, 2, 16, 4, {{0, 5}}},                           // prefill, tiny heads
      {32, 8, 128, 16, {{0, 1}, {37, 1}, {300, 1}}},     // decode batch (8B shape)
      {32, 8, 64, 16, {{2000, 1}}},                      // long decode: split-K
      {8, 8, 128, 16, {{5, 19}, {0, 33}, {100, 1}}},     // mixed chunked prefill + decode
      {12, 4, 80, 8, {{3, 2}, {0, 1}}},                  // head_dim not a multiple of 32
      {16, 2, 256, 32, {{70, 3}}}};
  for (const AttnCase& c : cases) {
    int64_t n_tok = 0, n_block_need = 0;
    for (auto [past, nw] : c.seqs) {
      n_tok += nw;
      n_block_need += (past + nw + c.block_size - 1) / c.block_size;
    }
    const int64_t n_block = n_block_need + 3;
    std::vector<int32_t> perm(static_cast<size_t>(n_block));
    std::iota(perm.begin(), perm.end(), 0);
    std::shuffle(perm.begin(), perm.end(), rng);
    std::vector<std::vector<int32_t>> tables;
    std::vector<ops::AttentionSeq> seqs;
    size_t next = 0;
    for (auto [past, nw] : c.seqs) {
      const int64_t nb = (past + nw + c.block_size - 1) / c.block_size;
      tables.emplace_back(perm.begin() + long(next), perm.begin() + long(next + size_t(nb)));
      next += size_t(nb);
    }
    for (size_t s = 0; s < c.seqs.size(); ++s)
      seqs.push_back({.n_past = c.seqs[s].first, .n_new = c.seqs[s].second,
                      .block_table = tables[s].data(),
                      .n_block_table = int64_t(tables[s].size())});
    const ops::AttentionDims dims{.n_head = c.n_head, .n_head_kv = c.n_head_kv,
                                  .head_dim = c.head_dim,
                                  .scale = 1.0f / std::sqrt(float(c.head_dim))};
    const Shape cache_shape{n_block, c.block_size, c.n_head_kv, c.head_dim};
    Tensor kc = random_f32(cache_shape, rng, -2.0f, 2.0f);  // the "past" K/V
    Tensor vc = random_f32(cache_shape, rng);
    Tensor qkv = random_f32({n_tok, (c.n_head + 2 * c.n_head_kv) * c.head_dim}, rng, -2.0f, 2.0f);
    Tensor kc_gpu = kc.to(kGpu), vc_gpu = vc.to(kGpu);
    Tensor got = poisoned_cuda({n_tok, c.n_head * c.head_dim});
    ops::attention(qkv.to(kGpu), seqs, dims, kc_gpu, vc_gpu, got);
    Tensor want = Tensor::empty(DType::kF32, {n_tok, c.n_head * c.head_dim});
    ops::attention(qkv, seqs, dims, kc, vc, want);
    testing::Diff df = compare(got, want);
    ASSERT_TRUE(df.n_nan == 0 && df.rel < 1e-5)
        << "attention heads " << c.n_head << "/" << c.n_head_kv << " hd " << c.head_dim
        << " seed " << seed << ": " << describe(df, got, want);
    testing::Diff dk = compare(kc_gpu, kc), dv = compare(vc_gpu, vc);
    ASSERT_TRUE(dk.max_abs == 0.0 && dv.max_abs == 0.0)
        << "KV cache writes differ: K " << describe(dk, kc_gpu, kc) << "; V "
        << describe(dv, vc_gpu, vc);
  }
}

}  // namespace
}  // namespace qinfer

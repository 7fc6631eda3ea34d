// The decode step's QKV GEMV with RoPE and the K / V write in its epilogue
// (linear_from_f32_rope over rope_prepare's operands, src/ops/cuda/fused_ops.h) against the
// kernels it replaces, linear_from_f32 then rope_kv_write, bit for bit on the GPU: qkv and both
// caches. Those kernels have their own tests against the CPU reference (linear_cuda_test.cc,
// cuda_attention_*_test.cc, ops_cuda_test.cc), so equality here carries them over. Shapes: the
// 8B and 1B heads and a small odd one (pairs of rows spread unevenly over the blocks), with and
// without a bias, F32 / BF16 / FP8 caches, 1-2 tokens at positions across cache blocks.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "core/dtype.h"
#include "cuda_test_util.h"

#ifdef QINFER_HAVE_CUDA
#include "cuda_attention_util.h"
#include "ops/cuda/attention_cuda.h"
#include "ops/cuda/cuda_common.h"
#include "ops/cuda/fused_ops.h"

namespace qinfer {
namespace {

namespace cu = ops::cuda;
using ops::ActQuant;
using ops::LinearWeight;

struct Heads {
  int n_head, n_head_kv, head_dim, hidden, block_size;
};

// An FP8 W8A8 weight (n_out, n_in), dynamic per-token activations, per-channel scales, on the
// GPU; bias optional.
LinearWeight fp8_weight(int64_t n_out, int64_t n_in, bool bias, std::mt19937& rng) {
  LinearWeight w;
  w.name = "test.proj";
  w.n_out = n_out;
  w.n_in = n_in;
  Tensor q = Tensor::empty(DType::kF8E4M3, {n_out, n_in});
  std::normal_distribution<float> nd(0.0f, 1.0f);
  for (int64_t i = 0; i < n_out * n_in; ++i)
    q.data_as<uint8_t>()[i] = f32_to_fp8e4m3(nd(rng) * 96.0f);
  w.weight = q.to(Device::kCuda);
  w.weight_scale = testing::random_f32({n_out}, rng, 2e-4f, 1e-3f).to(Device::kCuda);
  w.act_quant = ActQuant::kDynamicPerToken;
  if (bias) w.bias = testing::random_f32({n_out}, rng).to(Device::kCuda);
  return w;
}

// n tokens, token t of sequence t at pos[t]; the metadata packed as the runner packs it
// (testing::packed_batch). Each sequence's block table points at two scattered blocks: its own
// for the block holding pos[t], a shared one for every other (the attention reads it many
// times), so that far positions need no large cache.
struct Batch {
  int n = 0, max_blocks = 0, n_block = 0;
  std::vector<int32_t> meta;
  Tensor dev;
  cu::AttnBatch b;
};
Batch make_batch(const std::vector<int>& pos, int block_size, int n_split, std::mt19937& rng) {
  Batch r;
  r.n = int(pos.size());
  const int max_pos = *std::max_element(pos.begin(), pos.end());
  r.max_blocks = max_pos / block_size + 1;
  r.n_block = 2 * r.n + 3;
  std::vector<int32_t> ids(size_t(r.n_block));
  std::iota(ids.begin(), ids.end(), 0);
  std::shuffle(ids.begin(), ids.end(), rng);
  for (int t = 0; t < r.n; ++t) r.meta.push_back(t);                 // tok_seq
  for (int t = 0; t < r.n; ++t) r.meta.push_back(pos[size_t(t)]);    // tok_pos
  for (int t = 0; t <= r.n; ++t) r.meta.push_back(t);                // seq_q_start
  for (int t = 0; t < r.n; ++t) r.meta.push_back(pos[size_t(t)] + 1);  // seq_len
  for (int t = 0; t < r.n; ++t)
    for (int i = 0; i < r.max_blocks; ++i)
      r.meta.push_back(ids[size_t(i == pos[size_t(t)] / block_size ? 2 * t : 2 * t + 1)]);
  std::vector<uint8_t> bytes(r.meta.size() * 4);
  std::memcpy(bytes.data(), r.meta.data(), bytes.size());
  r.dev = testing::upload_bytes(bytes);
  r.b = testing::packed_batch(r.dev.data_as<int32_t>(), r.n, r.n, r.max_blocks, max_pos + 1, 1,
                              n_split);
  return r;
}

std::vector<uint8_t> host_bytes(const Tensor& t) {
  const Tensor h = t.to(Device::kCpu);
  std::vector<uint8_t> v(size_t(h.nbytes()));
  std::memcpy(v.data(), h.data(), v.size());
  return v;
}

constexpr DType kCacheTypes[] = {DType::kF32, DType::kBF16, DType::kF8E4M3};

TEST(FusedDecodeCuda, QkvGemvRopeEpilogueEqualsRopeKvWrite) {
  QINFER_SKIP_WITHOUT_CUDA();
  if (cu::compute_capability() < 90) GTEST_SKIP() << "the bulk GEMV needs sm_90";
  const uint32_t seed = testing::fresh_seed();
  std::mt19937 rng(seed);
  const std::vector<Heads> shapes = {{32, 8, 128, 4096, 16}, {32, 8, 64, 2048, 16},
                                     {6, 2, 32, 192, 12}};
  cu::set_gemv_bulk(2, 0);
  cu::set_gemv_prologue(2);
  cudaStream_t s = cu::stream();
  for (const Heads& h : shapes) {
    const int64_t n_out = int64_t(h.n_head + 2 * h.n_head_kv) * h.head_dim;
    for (bool bias : {false, true}) {
      const LinearWeight w = fp8_weight(n_out, h.hidden, bias, rng);
      std::vector<float> inv(size_t(h.head_dim / 2));
      for (size_t j = 0; j < inv.size(); ++j)
        inv[j] = std::pow(500000.0f, -2.0f * float(j) / float(h.head_dim));
      Tensor inv_h = Tensor::empty(DType::kF32, {int64_t(inv.size())});
      std::copy(inv.begin(), inv.end(), inv_h.data_as<float>());
      const Tensor inv_d = inv_h.to(Device::kCuda);
      for (DType dt : kCacheTypes)
        for (const std::vector<int>& pos : {std::vector<int>{37}, std::vector<int>{0, 131071},
                                           std::vector<int>{4095, 16}}) {
          const int n = int(pos.size());
          const std::string what = str_cat("heads ", h.n_head, "/", h.n_head_kv, "x", h.head_dim,
                                           " hidden ", h.hidden, bias ? " +bias" : "", " cache ",
                                           dtype_name(dt), " n=", n, " pos ", pos[0], " seed ",
                                           seed);
          Batch bt = make_batch(pos, h.block_size, 0, rng);
          const int64_t elems =
              int64_t(bt.n_block) * h.block_size * h.n_head_kv * h.head_dim;
          const float ks = 0.05f, vs = 0.07f;
          const std::vector<uint8_t> k0 = testing::random_cache(dt, ks, elems, rng);
          const std::vector<uint8_t> v0 = testing::random_cache(dt, vs, elems, rng);
          Tensor x = testing::random_f32({n, h.hidden}, rng, -2.0f, 2.0f).to(Device::kCuda);
          Tensor nw = testing::random_f32({h.hidden}, rng, 0.5f, 1.5f).to(Device::kCuda);
          cu::AttnDims d;
          d.n_head = h.n_head;
          d.n_head_kv = h.n_head_kv;
          d.head_dim = h.head_dim;
          d.scale = 1.0f / std::sqrt(float(h.head_dim));
          // The kernels it replaces.
          Tensor ku = testing::upload_bytes(k0), vu = testing::upload_bytes(v0);
          cu::KvCacheView kvu =
              testing::cache_view(ku, vu, dt, bt.n_block, h.block_size, ks, vs);
          Tensor qkv_u = testing::poisoned_cuda({n, n_out});
          ASSERT_TRUE(cu::linear_from_f32(w, x.data_as<float>(), &nw, 1e-5f, n,
                                          qkv_u.data_as<float>(), false))
              << what;
          cu::rope_kv_write(qkv_u.data_as<float>(), bt.b, d, inv_d.data_as<float>(), kvu, s);
          // The epilogue.
          Tensor kf = testing::upload_bytes(k0), vf = testing::upload_bytes(v0);
          cu::KvCacheView kvf =
              testing::cache_view(kf, vf, dt, bt.n_block, h.block_size, ks, vs);
          Tensor qkv_f = testing::poisoned_cuda({n, n_out});
          Tensor cs = testing::poisoned_cuda({n, h.head_dim});
          Tensor slot = Tensor::empty(DType::kU8, {n * 8}, Device::kCuda);
          cu::rope_prepare(bt.b, d, inv_d.data_as<float>(), h.block_size, cs.data_as<float>(),
                           static_cast<int64_t*>(slot.data()), s);
          ASSERT_TRUE(cu::linear_from_f32_rope(w, x.data_as<float>(), nw, 1e-5f, n,
                                               qkv_f.data_as<float>(), cs.data_as<float>(),
                                               static_cast<const int64_t*>(slot.data()), d, kvf))
              << what;
          cu::synchronize();
          const testing::Diff dq = testing::compare(qkv_f, qkv_u);
          EXPECT_TRUE(dq.n_nan == 0 && dq.max_abs == 0.0)
              << what << " qkv: " << testing::describe(dq, qkv_f, qkv_u);
          EXPECT_TRUE(host_bytes(kf) == host_bytes(ku)) << what << ": K cache differs";
          EXPECT_TRUE(host_bytes(vf) == host_bytes(vu)) << what << ": V cache differs";
          // Every position but the tokens' own is untouched.
          EXPECT_NE(host_bytes(kf), k0) << what << ": K rows not written";
        }
    }
  }
  // Where it does not apply it does nothing: three tokens, the prologue switched off.
  const Heads h = shapes[2];
  const int64_t n_out = int64_t(h.n_head + 2 * h.n_head_kv) * h.head_dim;
  const LinearWeight w = fp8_weight(n_out, h.hidden, false, rng);
  Tensor nw = testing::random_f32({h.hidden}, rng, 0.5f, 1.5f).to(Device::kCuda);
  cu::AttnDims d;
  d.n_head = h.n_head;
  d.n_head_kv = h.n_head_kv;
  d.head_dim = h.head_dim;
  d.scale = 0.1f;
  for (int n : {3, 1}) {
    Batch bt = make_batch(std::vector<int>(size_t(n), 5), h.block_size, 0, rng);
    if (n == 1) cu::set_gemv_prologue(1);
    const int64_t elems = int64_t(bt.n_block) * h.block_size * h.n_head_kv * h.head_dim;
    Tensor k = Tensor::empty(DType::kBF16, {elems}, Device::kCuda);
    Tensor v = Tensor::empty(DType::kBF16, {elems}, Device::kCuda);
    cu::KvCacheView kv = testing::cache_view(k, v, DType::kBF16, bt.n_block, h.block_size, 1, 1);
    Tensor x = testing::random_f32({n, h.hidden}, rng).to(Device::kCuda);
    Tensor y = testing::poisoned_cuda({n, n_out});
    Tensor cs = testing::random_f32({n, h.head_dim}, rng).to(Device::kCuda);
    Tensor slot = Tensor::empty(DType::kU8, {n * 8}, Device::kCuda);
    QINFER_CUDA_CHECK(cudaMemset(slot.data(), 0, size_t(n * 8)));
    EXPECT_FALSE(cu::linear_from_f32_rope(w, x.data_as<float>(), nw, 1e-5f, n,
                                          y.data_as<float>(), cs.data_as<float>(),
                                          static_cast<const int64_t*>(slot.data()), d, kv))
        << "n=" << n;
    const testing::Diff dy = testing::compare(y, testing::poisoned_cuda({n, n_out}));
    EXPECT_EQ(dy.n_nan, 0) << "n=" << n << ": y was written";
  }
  cu::set_gemv_prologue(0);
  cu::set_gemv_bulk(0, 0);
}

// The decode step's first launch: embedding_rows_rope (the embedding rows and rope_prepare's
// cos / sin and slots in one kernel) against embedding_rows and rope_prepare, bit for bit: a
// BF16 table, rows fed from the previous step's tokens and from the ids, 1-2 tokens at
// positions across cache blocks, head_dim 128 and 64.
TEST(FusedDecodeCuda, EmbeddingRowsRopeEqualsTheTwoKernels) {
  QINFER_SKIP_WITHOUT_CUDA();
  const uint32_t seed = testing::fresh_seed();
  std::mt19937 rng(seed);
  const int64_t n_row = 1000, d_model = 2048;
  Tensor th = Tensor::empty(DType::kBF16, {n_row, d_model});
  const Tensor tf = testing::random_f32({n_row, d_model}, rng);
  for (int64_t i = 0; i < n_row * d_model; ++i)
    th.data_as<uint16_t>()[i] = f32_to_bf16(tf.data_as<float>()[i]);
  const Tensor table = th.to(Device::kCuda);
  cudaStream_t s = cu::stream();
  for (int head_dim : {128, 64})
    for (const std::vector<int>& pos : {std::vector<int>{37}, std::vector<int>{4095, 16}}) {
      const int n = int(pos.size());
      const std::string what = str_cat("head_dim ", head_dim, " n=", n, " seed ", seed);
      Batch bt = make_batch(pos, 16, 0, rng);
      std::vector<float> inv(size_t(head_dim / 2));
      for (size_t j = 0; j < inv.size(); ++j)
        inv[j] = std::pow(500000.0f, -2.0f * float(j) / float(head_dim));
      Tensor inv_h = Tensor::empty(DType::kF32, {int64_t(inv.size())});
      std::copy(inv.begin(), inv.end(), inv_h.data_as<float>());
      const Tensor inv_d = inv_h.to(Device::kCuda);
      cu::AttnDims d;
      d.n_head = 32;
      d.n_head_kv = 8;
      d.head_dim = head_dim;
      d.scale = 0.125f;
      // Row 0 takes the id, row 1 (if any) the previous step's token 1 (an id past the table:
      // NaN rows, as embedding_rows writes them).
      std::vector<uint8_t> ids_b(8), from_b(8), fed_b(8);
      const int32_t ids[2] = {int32_t(rng() % n_row), 3}, from[2] = {-1, 1},
                    fed[2] = {5, n == 2 ? int32_t(n_row + 7) : 0};
      std::memcpy(ids_b.data(), ids, 8);
      std::memcpy(from_b.data(), from, 8);
      std::memcpy(fed_b.data(), fed, 8);
      const Tensor ids_d = testing::upload_bytes(ids_b), from_d = testing::upload_bytes(from_b),
                   fed_d = testing::upload_bytes(fed_b);
      struct Out {
        Tensor rows, cs, slot;
      };
      auto fresh = [&] {
        return Out{testing::poisoned_cuda({n, d_model}), testing::poisoned_cuda({n, head_dim}),
                   Tensor::empty(DType::kU8, {n * 8}, Device::kCuda)};
      };
      Out two = fresh(), one = fresh();
      cu::rope_prepare(bt.b, d, inv_d.data_as<float>(), 16, two.cs.data_as<float>(),
                       static_cast<int64_t*>(two.slot.data()), s);
      cu::embedding_rows(table, ids_d.data_as<int32_t>(), n, two.rows.data_as<float>(),
                         from_d.data_as<int32_t>(), fed_d.data_as<int32_t>());
      cu::embedding_rows_rope(table, ids_d.data_as<int32_t>(), n, one.rows.data_as<float>(),
                              from_d.data_as<int32_t>(), fed_d.data_as<int32_t>(), bt.b, d,
                              inv_d.data_as<float>(), 16, one.cs.data_as<float>(),
                              static_cast<int64_t*>(one.slot.data()));
      cu::synchronize();
      EXPECT_TRUE(host_bytes(one.rows) == host_bytes(two.rows)) << what << ": rows differ";
      EXPECT_TRUE(host_bytes(one.cs) == host_bytes(two.cs)) << what << ": cos / sin differ";
      EXPECT_TRUE(host_bytes(one.slot) == host_bytes(two.slot)) << what << ": slots differ";
      const Tensor r = one.rows.to(Device::kCpu);
      EXPECT_EQ(r.data_as<float>()[0], bf16_to_f32(th.data_as<uint16_t>()[ids[0] * d_model]))
          << what;
      if (n == 2) {
        EXPECT_TRUE(std::isnan(r.data_as<float>()[d_model])) << what;
      }
    }
  EXPECT_THROW(cu::embedding_rows_rope(table, nullptr, 3, nullptr, nullptr, nullptr,
                                       make_batch({1}, 16, 0, rng).b, cu::AttnDims{}, nullptr,
                                       16, nullptr, nullptr),
               Error);
}

}  // namespace
}  // namespace qinfer

#else

TEST(FusedDecodeCuda, NeedsCudaBuild) {
  GTEST_SKIP() << "built without CUDA";
}

#endif

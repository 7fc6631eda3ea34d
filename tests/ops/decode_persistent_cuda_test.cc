// decode_layers_persistent (src/ops/cuda/fused_ops.h): a batch-1 decode step's layers in one
// persistent kernel, against the kernels it replaces run one after another on the same inputs:
// linear_from_f32_rope (QKV, RoPE, the K / V write), attention_decode (fp32, one split) into
// linear_from_f32 (o, to_act's static quantization), mlp_from_f32 (static down). Both sides
// are fp32 attention over the same cache, but they add in different orders, so an FP8 code of
// o's input may land on its neighbour: layer by layer from the same residual, the residual
// after it and its cache must agree to a relative RMS of 1e-2 (a wrong row, scale or phase
// order gives O(1)); all layers in one launch must give the bits of one launch a layer. Shapes: the
// 1B's heads (head_dim 64, group 4) and the 8B's (128, group 4) at reduced widths, a group of
// 8, per-tensor weight scales and a bias; BF16 and FP8 caches; 1 to 1,500 keys (one to two
// passes of a split). A second launch on the same inputs gives the same bits (counters back at
// zero, fixed orders). sm_90 only; skipped elsewhere.
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

struct Shape {
  int n_head, n_head_kv, head_dim, hidden, inter, n_layer;
  bool bias, per_channel;
};

LinearWeight static_weight(int64_t n_out, int64_t n_in, float x_scale, float w_scale,
                           const Shape& s, std::mt19937& rng) {
  LinearWeight w;
  w.name = "test.proj";
  w.n_out = n_out;
  w.n_in = n_in;
  Tensor q = Tensor::empty(DType::kF8E4M3, {n_out, n_in});
  std::normal_distribution<float> nd(0.0f, 1.0f);
  auto* c = static_cast<uint8_t*>(q.data());
  for (int64_t i = 0; i < n_out * n_in; ++i) c[i] = f32_to_fp8e4m3(nd(rng) * 96.0f);
  w.weight = q.to(Device::kCuda);
  w.weight_scale =
      testing::random_f32({s.per_channel ? n_out : 1}, rng, 0.5f * w_scale, 1.5f * w_scale)
          .to(Device::kCuda);
  w.act_quant = ActQuant::kStaticPerTensor;
  w.input_scale = x_scale;
  if (s.bias) w.bias = testing::random_f32({n_out}, rng, -0.1f, 0.1f).to(Device::kCuda);
  return w;
}

struct Layer {
  LinearWeight qkv, o, gate_up, down;
  Tensor attn_norm, mlp_norm;
};

std::vector<float> host_f32(const Tensor& t) {
  const Tensor h = t.to(Device::kCpu).to_f32();
  return std::vector<float>(h.data_as<float>(), h.data_as<float>() + h.numel());
}
std::vector<uint8_t> host_bytes(const Tensor& t) {
  const Tensor h = t.to(Device::kCpu);
  const auto* p = static_cast<const uint8_t*>(h.data());
  return std::vector<uint8_t>(p, p + h.numel() * int64_t(dtype_size(h.dtype())));
}

double rel_rms(const std::vector<double>& got, const std::vector<double>& want) {
  double num = 0.0, den = 0.0;
  for (size_t i = 0; i < got.size(); ++i) {
    if (std::isnan(got[i])) return INFINITY;
    num += (got[i] - want[i]) * (got[i] - want[i]);
    den += want[i] * want[i];
  }
  return std::sqrt(num / std::max(den, 1e-30));
}

std::vector<Layer> random_layers(const Shape& s, std::mt19937& rng) {
  const int64_t qkv_w = int64_t(s.n_head + 2 * s.n_head_kv) * s.head_dim;
  const int64_t attn_w = int64_t(s.n_head) * s.head_dim;
  std::vector<Layer> layers(size_t(s.n_layer));
  for (Layer& L : layers) {
    L.qkv = static_weight(qkv_w, s.hidden, 0.01f, 5e-4f, s, rng);
    L.o = static_weight(s.hidden, attn_w, 0.02f, 1e-4f, s, rng);
    L.gate_up = static_weight(2 * s.inter, s.hidden, 0.01f, 3e-4f, s, rng);
    L.down = static_weight(s.hidden, s.inter, 0.01f, 1e-4f, s, rng);
    L.attn_norm = testing::random_f32({s.hidden}, rng, 0.5f, 1.5f).to(Device::kCuda);
    L.mlp_norm = testing::random_f32({s.hidden}, rng, 0.5f, 1.5f).to(Device::kCuda);
  }
  return layers;
}

void run_case(const Shape& s, const std::vector<Layer>& layers, DType dt, int pos,
              uint32_t seed) {
  SCOPED_TRACE("heads " + std::to_string(s.n_head) + "/" + std::to_string(s.n_head_kv) + "x" +
               std::to_string(s.head_dim) + " hidden " + std::to_string(s.hidden) + " cache " +
               std::string(dtype_name(dt)) + " pos " + std::to_string(pos) + " seed " +
               std::to_string(seed));
  std::mt19937 rng(seed);
  const int D = s.head_dim, nkv = s.n_head_kv, block_size = 16;
  const int64_t qkv_w = int64_t(s.n_head + 2 * nkv) * D, attn_w = int64_t(s.n_head) * D;
  // One token at pos over a shuffled table of its own blocks.
  const int blocks = pos / block_size + 1, n_block = blocks + 2;
  std::vector<int32_t> ids(static_cast<size_t>(n_block));
  std::iota(ids.begin(), ids.end(), 0);
  std::shuffle(ids.begin(), ids.end(), rng);
  std::vector<int32_t> meta = {0, pos, 0, 1, pos + 1};  // tok_seq, tok_pos, q_start, seq_len
  meta.insert(meta.end(), ids.begin(), ids.begin() + blocks);
  std::vector<uint8_t> mb(meta.size() * 4);
  std::memcpy(mb.data(), meta.data(), mb.size());
  const Tensor md = testing::upload_bytes(mb);
  cu::AttnBatch b = testing::packed_batch(md.data_as<int32_t>(), 1, 1, blocks, pos + 1, 1, 0);
  const cu::AttnDims dims{.n_head = s.n_head, .n_head_kv = nkv, .head_dim = D,
                          .scale = 1.0f / std::sqrt(float(D))};
  std::vector<float> inv(size_t(D / 2));
  for (size_t j = 0; j < inv.size(); ++j)
    inv[j] = std::pow(500000.0f, -2.0f * float(j) / float(D));
  Tensor inv_h = Tensor::empty(DType::kF32, {int64_t(inv.size())});
  std::copy(inv.begin(), inv.end(), inv_h.data_as<float>());
  const Tensor inv_d = inv_h.to(Device::kCuda);
  Tensor cos_sin = Tensor::empty(DType::kF32, {1, D}, Device::kCuda);
  Tensor slot = Tensor::empty(DType::kU8, {8}, Device::kCuda);
  auto* slot_p = static_cast<int64_t*>(slot.data());
  cu::rope_prepare(b, dims, inv_d.data_as<float>(), block_size, cos_sin.data_as<float>(), slot_p,
                   cu::stream());

  const float ks = dt == DType::kF8E4M3 ? 0.05f : 1.0f, vs = dt == DType::kF8E4M3 ? 0.07f : 1.0f;
  const int64_t elems = int64_t(n_block) * block_size * nkv * D;
  std::vector<std::vector<uint8_t>> k0, v0;
  for (int l = 0; l < s.n_layer; ++l) {
    k0.push_back(testing::random_cache(dt, ks, elems, rng));
    v0.push_back(testing::random_cache(dt, vs, elems, rng));
  }
  const Tensor hid0 = testing::random_f32({1, s.hidden}, rng, -2.0f, 2.0f);
  // The reference attention unsplit, on scratch of its own (no split counters to share).
  Tensor ref_part = Tensor::empty(
      DType::kU8, {int64_t(std::max<size_t>(cu::attention_decode_scratch_bytes(1, dims, 1), 16))},
      Device::kCuda);
  cu::AttnBatch one_split = b;
  one_split.n_split = 1;
  one_split.partials = reinterpret_cast<float*>(ref_part.data());

  // Runs layers [l0, l1) one way from hid_in, on fresh copies of the caches: the kernels one
  // after another (kRef), the persistent kernel in one launch (kOne), or one launch a layer
  // (kChain). Returns the residual after them and every layer's cache, decoded.
  enum Mode { kRef, kOne, kChain };
  struct Out {
    std::vector<float> hid;
    std::vector<std::vector<double>> k, v;  // (n_layer)
  };
  auto run = [&](int l0, int l1, const std::vector<float>& hid_in, Mode mode) {
    std::vector<Tensor> kc, vc;
    std::vector<cu::DecodeLayer> dl;
    for (int l = 0; l < s.n_layer; ++l) {
      kc.push_back(testing::upload_bytes(k0[size_t(l)]));
      vc.push_back(testing::upload_bytes(v0[size_t(l)]));
    }
    for (int l = 0; l < s.n_layer; ++l) {
      const Layer& L = layers[size_t(l)];
      dl.push_back(cu::DecodeLayer{
          .qkv = &L.qkv, .o = &L.o, .gate_up = &L.gate_up, .down = &L.down,
          .attn_norm = &L.attn_norm, .mlp_norm = &L.mlp_norm,
          .kv = testing::cache_view(kc[size_t(l)], vc[size_t(l)], dt, n_block, block_size, ks,
                                    vs)});
    }
    Tensor hid_h = Tensor::empty(DType::kF32, {1, s.hidden});
    std::copy(hid_in.begin(), hid_in.end(), hid_h.data_as<float>());
    Tensor hid = hid_h.to(Device::kCuda);
    Tensor qkv = testing::poisoned_cuda({1, qkv_w});
    Tensor attn = testing::poisoned_cuda({1, attn_w});
    Tensor h = testing::poisoned_cuda({1, s.inter});
    float* hp = hid.data_as<float>();
    const auto persistent = [&](int a, int e) {
      const std::vector<cu::DecodeLayer> part(dl.begin() + a, dl.begin() + e);
      EXPECT_TRUE(cu::decode_layers_persistent(part, hp, 1e-5f, qkv.data_as<float>(),
                                               cos_sin.data_as<float>(), slot_p, b, dims));
    };
    for (int l = l0; l < l1; ++l) {
      const Layer& L = layers[size_t(l)];
      const cu::KvCacheView& kv = dl[size_t(l)].kv;
      if (mode == kOne) {
        if (l == l0) persistent(l0, l1);
      } else if (mode == kChain) {
        persistent(l, l + 1);
      } else {
        EXPECT_TRUE(cu::linear_from_f32_rope(L.qkv, hp, L.attn_norm, 1e-5f, 1,
                                             qkv.data_as<float>(), cos_sin.data_as<float>(),
                                             slot_p, dims, kv));
        cu::attention_decode(qkv.data_as<float>(), one_split, dims, kv, attn.data_as<float>(),
                             cu::stream());
        EXPECT_TRUE(cu::linear_from_f32(L.o, attn.data_as<float>(), nullptr, 0.0f, 1, hp, true));
        EXPECT_TRUE(cu::mlp_from_f32(L.gate_up, L.down, hp, L.mlp_norm, 1e-5f, 1,
                                     h.data_as<float>(), hp));
      }
    }
    cu::synchronize();
    Out r;
    r.hid = host_f32(hid);
    for (int l = 0; l < s.n_layer; ++l) {
      const std::vector<uint8_t> kb = host_bytes(kc[size_t(l)]), vb = host_bytes(vc[size_t(l)]);
      r.k.emplace_back();
      r.v.emplace_back();
      for (size_t i = 0; i < size_t(elems); ++i) {
        const size_t at = i * dtype_size(dt);
        r.k.back().push_back(testing::decode_cache_elem(dt, ks, &kb[at]));
        r.v.back().push_back(testing::decode_cache_elem(dt, vs, &vb[at]));
      }
    }
    return r;
  };
  const auto as_double = [](const std::vector<float>& x) {
    return std::vector<double>(x.begin(), x.end());
  };
  // The token's K or V row of a decoded cache.
  const int64_t row_at = (int64_t(ids[size_t(pos / block_size)]) * block_size + pos % block_size) *
                         nkv * D;
  const auto new_row = [&](const std::vector<double>& c) {
    return std::vector<double>(c.begin() + row_at, c.begin() + row_at + nkv * D);
  };
  // Layer by layer from the reference's own residual: one layer cannot drift (a multi-layer
  // comparison of random W8A8 layers can: an FP8 code that lands on its neighbour in layer 0
  // moves layer 2's residual by percents).
  std::vector<float> h_ref(hid0.data_as<float>(), hid0.data_as<float>() + hid0.numel());
  double worst_hid = 0.0, worst_kv = 0.0;
  for (int l = 0; l < s.n_layer; ++l) {
    const Out want = run(l, l + 1, h_ref, kRef);
    const Out got = run(l, l + 1, h_ref, kChain);
    const double e_hid = rel_rms(as_double(got.hid), as_double(want.hid));
    const double e_k = rel_rms(new_row(got.k[size_t(l)]), new_row(want.k[size_t(l)]));
    const double e_v = rel_rms(new_row(got.v[size_t(l)]), new_row(want.v[size_t(l)]));
    EXPECT_LT(e_hid, 1e-2) << "residual after layer " << l;
    EXPECT_LT(e_k, 1e-2) << "K cache of layer " << l;
    EXPECT_LT(e_v, 1e-2) << "V cache of layer " << l;
    worst_hid = std::max(worst_hid, e_hid);
    worst_kv = std::max({worst_kv, e_k, e_v});
    h_ref = want.hid;
  }
  // Every layer in one launch: the bits of one launch a layer, twice (the counters come back to
  // zero, the sums run in fixed orders).
  const std::vector<float> start(hid0.data_as<float>(), hid0.data_as<float>() + hid0.numel());
  const Out one = run(0, s.n_layer, start, kOne);
  const Out again = run(0, s.n_layer, start, kOne);
  const Out chain = run(0, s.n_layer, start, kChain);
  EXPECT_EQ(0, std::memcmp(one.hid.data(), again.hid.data(), one.hid.size() * 4))
      << "a second launch on the same inputs differs";
  EXPECT_EQ(0, std::memcmp(one.hid.data(), chain.hid.data(), one.hid.size() * 4))
      << "one launch over the layers differs from one launch a layer";
  for (int l = 0; l < s.n_layer; ++l)
    EXPECT_TRUE(one.k[size_t(l)] == chain.k[size_t(l)] && one.v[size_t(l)] == chain.v[size_t(l)])
        << "layer " << l << "'s cache differs between one launch and one a layer";
  std::printf("  heads %d/%dx%d hidden %d %s pos %d: worst layer hid %.2e, K/V %.2e\n",
              s.n_head, nkv, D, s.hidden, std::string(dtype_name(dt)).c_str(), pos, worst_hid,
              worst_kv);
}

bool applies() { return cu::available() && cu::compute_capability() >= 90; }

TEST(DecodePersistentCuda, MatchesTheKernelsItReplaces) {
  QINFER_SKIP_WITHOUT_CUDA();
  if (!applies()) GTEST_SKIP() << "decode_layers_persistent needs sm_90";
  cu::set_decode_persistent(2);
  // The persistent kernel's products are mma.sync's (fp32 sums): so are the kernels' it is
  // compared with (flag 8), or the FP8 codes of the next layer's input differ by a step.
  cu::set_gemv_bulk(2, 0, 8);
  cu::set_gemv_prologue(2);
  const uint32_t seed = testing::fresh_seed();
  const Shape shapes[] = {{32, 8, 64, 2048, 1024, 2, false, true},   // the 1B's heads
                          {32, 8, 128, 4096, 1024, 2, false, true},  // the 8B's heads
                          {16, 2, 128, 2048, 512, 3, true, false}};  // group 8, bias, per tensor
  int i = 0;
  for (const Shape& s : shapes) {
    std::mt19937 rng(seed + 1000u * uint32_t(i));
    const std::vector<Layer> layers = random_layers(s, rng);
    for (DType dt : {DType::kBF16, DType::kF8E4M3})
      for (int pos : {0, 40, 300, 1500}) run_case(s, layers, dt, pos, seed + uint32_t(i++));
  }
  cu::set_decode_persistent(0);
  cu::set_gemv_bulk(0, 0);
  cu::set_gemv_prologue(0);
}

TEST(DecodePersistentCuda, DeclinesWhatItDoesNotCover) {
  QINFER_SKIP_WITHOUT_CUDA();
  if (!applies()) GTEST_SKIP() << "decode_layers_persistent needs sm_90";
  cu::set_decode_persistent(1);
  cu::AttnBatch b;
  b.n_tok = b.n_seq = 1;
  const cu::AttnDims d{.n_head = 4, .n_head_kv = 2, .head_dim = 128, .scale = 0.1f};
  EXPECT_FALSE(cu::decode_layers_persistent({cu::DecodeLayer{}}, nullptr, 1e-5f, nullptr,
                                            nullptr, nullptr, b, d));
  cu::set_decode_persistent(2);
  b.n_tok = b.n_seq = 2;  // two tokens: not this kernel's
  EXPECT_FALSE(cu::decode_layers_persistent({cu::DecodeLayer{}}, nullptr, 1e-5f, nullptr,
                                            nullptr, nullptr, b, d));
  cu::set_decode_persistent(0);
}

}  // namespace
}  // namespace qinfer

#else
TEST(DecodePersistentCuda, NeedsCudaBuild) { GTEST_SKIP() << "built without CUDA"; }
#endif

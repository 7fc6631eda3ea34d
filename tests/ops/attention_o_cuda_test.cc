// attention_o (src/ops/cuda/fused_ops.h): one decode token's attention and the o projection in
// one kernel, against a double-precision evaluation on the host of the same cache and weights.
// The attention output (attn_out) is checked against softmax(q K^T scale) V over the cache as
// stored; the o product against the formula applied to the kernel's own attention output
// (quantized on the host as to_act does, x * (1 / s) then E4M3), so that an FP8 code that a
// 1e-7 difference moves to its neighbour does not blur the check of the GEMV: y = y0 + (Σ_k
// code_k w_k) x_scale w_scale + bias. Shapes: the 8B's heads (group 4, head_dim 128), the 1B's
// (group 4, head_dim 64), a group of 8, and a small one with a bias and a per-tensor weight
// scale; BF16 and FP8 caches; 1 to 512 keys (one and two chunks of 256), read ahead of the wait
// or not (AttnBatch::past_ready). A second launch on the same inputs gives the same bits (the
// slices' counters are back at zero, the sums in a fixed order). sm_90 only; skipped elsewhere.
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
  int n_head, n_head_kv, head_dim, n_out;
  bool bias, per_channel;
};

constexpr float kXScale = 0.012f;

struct Weight {
  LinearWeight w;
  std::vector<uint8_t> codes;
  std::vector<float> scale, bias;
};

Weight static_weight(const Shape& s, std::mt19937& rng) {
  Weight r;
  const int64_t n_in = int64_t(s.n_head) * s.head_dim;
  r.w.name = "test.o_proj";
  r.w.n_out = s.n_out;
  r.w.n_in = n_in;
  r.codes.resize(size_t(s.n_out * n_in));
  std::normal_distribution<float> nd(0.0f, 1.0f);
  for (auto& c : r.codes) c = f32_to_fp8e4m3(nd(rng) * 96.0f);
  Tensor q = Tensor::empty(DType::kF8E4M3, {s.n_out, n_in});
  std::memcpy(q.data(), r.codes.data(), r.codes.size());
  r.w.weight = q.to(Device::kCuda);
  Tensor sc = testing::random_f32({s.per_channel ? s.n_out : 1}, rng, 2e-4f, 1e-3f);
  r.scale.assign(sc.data_as<float>(), sc.data_as<float>() + sc.numel());
  r.w.weight_scale = sc.to(Device::kCuda);
  r.w.act_quant = ActQuant::kStaticPerTensor;
  r.w.input_scale = kXScale;
  if (s.bias) {
    Tensor b = testing::random_f32({s.n_out}, rng);
    r.bias.assign(b.data_as<float>(), b.data_as<float>() + b.numel());
    r.w.bias = b.to(Device::kCuda);
  }
  return r;
}

// One token at position pos of sequence 0 over a shuffled block table of its own blocks.
struct Batch {
  std::vector<int32_t> table;
  Tensor dev;
  cu::AttnBatch b;
  int n_block = 0;
};
Batch one_token(int pos, int block_size, std::mt19937& rng) {
  Batch r;
  const int blocks = pos / block_size + 1;
  r.n_block = blocks + 2;
  std::vector<int32_t> ids(size_t(r.n_block));
  std::iota(ids.begin(), ids.end(), 0);
  std::shuffle(ids.begin(), ids.end(), rng);
  r.table.assign(ids.begin(), ids.begin() + blocks);
  std::vector<int32_t> meta = {0, pos, 0, 1, pos + 1};  // tok_seq, tok_pos, q_start, seq_len
  meta.insert(meta.end(), r.table.begin(), r.table.end());
  std::vector<uint8_t> bytes(meta.size() * 4);
  std::memcpy(bytes.data(), meta.data(), bytes.size());
  r.dev = testing::upload_bytes(bytes);
  r.b = testing::packed_batch(r.dev.data_as<int32_t>(), 1, 1, blocks, pos + 1, 1, 0);
  return r;
}

std::vector<float> host_f32(const Tensor& t) {
  const Tensor h = t.to(Device::kCpu);
  return std::vector<float>(h.data_as<float>(), h.data_as<float>() + h.numel());
}

void run_case(const Shape& s, DType dt, int pos, bool ahead, uint32_t seed) {
  SCOPED_TRACE("heads " + std::to_string(s.n_head) + "/" + std::to_string(s.n_head_kv) + " d " +
               std::to_string(s.head_dim) + " out " + std::to_string(s.n_out) + " cache " +
               std::string(dtype_name(dt)) + " pos " + std::to_string(pos) +
               (ahead ? " ahead" : "") + " seed " + std::to_string(seed));
  std::mt19937 rng(seed);
  const int D = s.head_dim, nkv = s.n_head_kv, G = s.n_head / nkv, block_size = 16;
  const float k_scale = dt == DType::kF8E4M3 ? 0.03f : 1.0f;
  const float v_scale = dt == DType::kF8E4M3 ? 0.05f : 1.0f;
  Weight w = static_weight(s, rng);
  Batch bt = one_token(pos, block_size, rng);
  bt.b.past_ready = ahead;
  const int64_t row_elems = int64_t(nkv) * D;
  const int64_t elems = int64_t(bt.n_block) * block_size * row_elems;
  const std::vector<uint8_t> kh = testing::random_cache(dt, k_scale, elems, rng);
  const std::vector<uint8_t> vh = testing::random_cache(dt, v_scale, elems, rng);
  Tensor kd = testing::upload_bytes(kh), vd = testing::upload_bytes(vh);
  const cu::KvCacheView kv =
      testing::cache_view(kd, vd, dt, bt.n_block, block_size, k_scale, v_scale);
  const cu::AttnDims dims{
      .n_head = s.n_head, .n_head_kv = nkv, .head_dim = D, .scale = 1.0f / std::sqrt(float(D))};
  Tensor qkv = testing::random_f32({1, int64_t(s.n_head + 2 * nkv) * D}, rng);
  Tensor y0 = testing::random_f32({1, s.n_out}, rng);
  const std::vector<float> qh = host_f32(qkv), y0h = host_f32(y0);

  std::vector<float> got_y[2], got_attn;
  for (int run = 0; run < 2; ++run) {
    Tensor y = y0.to(Device::kCuda);
    Tensor attn = testing::poisoned_cuda({1, int64_t(s.n_head) * D});
    const Tensor qd = qkv.to(Device::kCuda);
    ASSERT_TRUE(cu::attention_o(w.w, qd.data_as<float>(), bt.b, dims, kv, y.data_as<float>(),
                                attn.data_as<float>()));
    got_y[run] = host_f32(y);
    if (run == 0) got_attn = host_f32(attn);
  }
  ASSERT_EQ(0, std::memcmp(got_y[0].data(), got_y[1].data(), got_y[0].size() * 4))
      << "a second launch on the same inputs differs";

  // The attention in double over the cache as stored.
  const size_t esz = dtype_size(dt);
  auto elem = [&](const std::vector<uint8_t>& c, float sc, int p, int h, int d) {
    const int64_t slot = int64_t(bt.table[size_t(p / block_size)]) * block_size + p % block_size;
    return testing::decode_cache_elem(dt, sc, &c[size_t((slot * row_elems + h * D + d)) * esz]);
  };
  double num = 0.0, den = 0.0;
  for (int h = 0; h < s.n_head; ++h) {
    const int kvh = h / G;
    std::vector<double> sc(size_t(pos + 1));
    double m = -INFINITY;
    for (int p = 0; p <= pos; ++p) {
      double dot = 0.0;
      for (int d = 0; d < D; ++d)
        dot += double(qh[size_t(h * D + d)]) * elem(kh, k_scale, p, kvh, d);
      sc[size_t(p)] = dot * dims.scale;
      m = std::max(m, sc[size_t(p)]);
    }
    double l = 0.0;
    for (auto& v : sc) l += (v = std::exp(v - m));
    for (int d = 0; d < D; ++d) {
      double o = 0.0;
      for (int p = 0; p <= pos; ++p) o += sc[size_t(p)] * elem(vh, v_scale, p, kvh, d);
      o /= l;
      const double e = double(got_attn[size_t(h * D + d)]) - o;
      ASSERT_FALSE(std::isnan(got_attn[size_t(h * D + d)])) << "head " << h << " dim " << d;
      num += e * e;
      den += o * o;
    }
  }
  EXPECT_LT(std::sqrt(num / den), 3e-5) << "attention output against double";

  // o over the kernel's own attention output.
  const int64_t n_in = int64_t(s.n_head) * D;
  std::vector<double> x(static_cast<size_t>(n_in));
  for (int64_t k = 0; k < n_in; ++k) {
    const float v = std::clamp(got_attn[size_t(k)] * (1.0f / kXScale), -448.0f, 448.0f);
    x[size_t(k)] = fp8e4m3_to_f32(f32_to_fp8e4m3(v));
  }
  int bad = 0;
  for (int64_t o = 0; o < s.n_out; ++o) {
    double acc = 0.0, mag = 0.0;
    for (int64_t k = 0; k < n_in; ++k) {
      const double p = x[size_t(k)] * fp8e4m3_to_f32(w.codes[size_t(o * n_in + k)]);
      acc += p;
      mag += std::fabs(p);
    }
    const double ws = w.scale[s.per_channel ? size_t(o) : 0] * double(kXScale);
    const double b = s.bias ? w.bias[size_t(o)] : 0.0;
    const double want = y0h[size_t(o)] + acc * ws + b;
    const double tol = 1e-4 * (std::fabs(y0h[size_t(o)]) + mag * ws + std::fabs(b)) + 1e-7;
    const double got = got_y[0][size_t(o)];
    if (!(std::fabs(got - want) <= tol) && bad++ < 5)
      ADD_FAILURE() << "y[" << o << "] " << got << " want " << want << " (tol " << tol << ")";
  }
  EXPECT_EQ(bad, 0) << "rows off";
}

bool applies() {
  return cu::available() && cu::compute_capability() >= 90;
}

TEST(AttentionOCuda, MatchesAttentionThenStaticOProjection) {
  QINFER_SKIP_WITHOUT_CUDA();
  if (!applies()) GTEST_SKIP() << "attention_o needs sm_90";
  cu::set_attention_o(2);
  const uint32_t seed = testing::fresh_seed();
  const Shape shapes[] = {{32, 8, 128, 4096, false, true},  // Llama 3.1 8B
                          {32, 8, 64, 2048, false, true},   // Llama 3.2 1B
                          {16, 2, 128, 1024, false, true},  // a group of 8
                          {8, 2, 64, 256, true, false}};    // bias, per-tensor weight scale
  int i = 0;
  for (const Shape& s : shapes)
    for (DType dt : {DType::kBF16, DType::kF8E4M3})
      for (int pos : {0, 4, 199, 255, 256, 511}) {
        run_case(s, dt, pos, (i % 2) == 0, seed + uint32_t(i));
        ++i;
      }
  cu::set_attention_o(0);
}

TEST(AttentionOCuda, DeclinesWhatItDoesNotCover) {
  QINFER_SKIP_WITHOUT_CUDA();
  cu::set_attention_o(2);
  std::mt19937 rng(7);
  const Shape s{32, 8, 128, 4096, false, true};
  Weight w = static_weight(s, rng);
  Batch bt = one_token(100, 16, rng);
  Tensor kd = Tensor::empty(DType::kU8, {int64_t(bt.n_block) * 16 * 8 * 128 * 2}, Device::kCuda);
  Tensor vd = Tensor::empty(DType::kU8, {kd.numel()}, Device::kCuda);
  const cu::KvCacheView kv = testing::cache_view(kd, vd, DType::kBF16, bt.n_block, 16, 1, 1);
  const cu::AttnDims dims{.n_head = 32, .n_head_kv = 8, .head_dim = 128, .scale = 0.088f};
  Tensor qkv = Tensor::empty(DType::kF32, {1, 48 * 128}, Device::kCuda);
  Tensor y = Tensor::empty(DType::kF32, {1, 4096}, Device::kCuda);
  // Dynamic activations: the code of an element needs the row's maximum.
  w.w.act_quant = ActQuant::kDynamicPerToken;
  EXPECT_FALSE(cu::attention_o(w.w, qkv.data_as<float>(), bt.b, dims, kv, y.data_as<float>()));
  w.w.act_quant = ActQuant::kStaticPerTensor;
  // More keys than the bound.
  cu::AttnBatch longer = bt.b;
  longer.max_seq_len = cu::attention_o_max_keys() + 1;
  EXPECT_FALSE(cu::attention_o(w.w, qkv.data_as<float>(), longer, dims, kv, y.data_as<float>()));
  // Two tokens.
  cu::AttnBatch two = bt.b;
  two.n_tok = two.n_seq = 2;
  EXPECT_FALSE(cu::attention_o(w.w, qkv.data_as<float>(), two, dims, kv, y.data_as<float>()));
  // Switched off.
  cu::set_attention_o(1);
  EXPECT_FALSE(cu::attention_o(w.w, qkv.data_as<float>(), bt.b, dims, kv, y.data_as<float>()));
  cu::set_attention_o(0);
}

}  // namespace
}  // namespace qinfer

#else

TEST(AttentionOCuda, NeedsCudaBuild) {
  GTEST_SKIP() << "built without CUDA";
}

#endif

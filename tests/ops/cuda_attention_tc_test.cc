// The tensor-core decode kernel (src/ops/cuda/attention_decode_tc.h) against a float64
// evaluation of causal GQA attention over a paged cache (src/ops/attention.h's formula), and
// against the CUDA-core attention_decode on the same inputs.
//
// The cache is built on the host (scattered block tables, K / V encoded to BF16 or FP8 E4M3
// with k_scale / v_scale != 1) and already holds every position up to each token's own, as the
// contract says. The reference rounds Q as the kernel does by contract (FP16 for an FP8 cache,
// BF16 for a BF16 cache) and decodes K / V exactly; what it does not reproduce is the rounding
// of P (FP16: 2^-11, BF16: 2^-9 relative per weight), which a numpy model of the kernel's
// rounding puts at <= 1.1e-4 (FP8) and <= 1.0e-3 (BF16) relative in norm on these data; the
// tolerances are 1.5e-3 and 3e-3: several times that, far below any indexing slip. Against
// attention_decode (fp32 Q) the model gives <= 2.5e-4 and 2.1e-3; the tolerance is doubled.
// Every test that launches skips without a GPU.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "core/dtype.h"
#include "cuda_test_util.h"

#ifdef QINFER_HAVE_CUDA
#include "cuda_attention_util.h"
#include "ops/cuda/attention_cuda.h"
#include "ops/cuda/attention_decode_tc.h"
#include "ops/cuda/cuda_common.h"
#include "ops/cuda/fused_ops.h"

namespace qinfer {
namespace {

namespace cu = ops::cuda;

struct TcCase {
  int n_head, n_head_kv, head_dim, block_size;
  std::vector<std::pair<int, int>> seqs;  // (n_past, n_new): tokens at n_past .. n_past + n_new - 1
  int n_split = 0;                        // 0 plans, > 0 fixes the split count
};

// A batch over a cache that holds cap[s] positions of sequence s (cap >= every token's
// position + 1, so lengths can change below it without touching the cache).
struct Problem {
  TcCase c;
  DType dt = DType::kBF16;
  float k_scale = 1.0f, v_scale = 1.0f;
  int n_tok = 0, n_seq = 0, max_blocks = 0, n_block = 0, width = 0;
  std::vector<int> cap;
  std::vector<int32_t> tok_seq, tok_pos, q_start, seq_len, tables;  // tables (n_seq, max_blocks)
  std::vector<float> qkv;                                           // (n_tok, width)
  std::vector<uint8_t> k, v;  // (n_block, block_size, n_head_kv, head_dim) in dt
};

std::string case_str(const Problem& p) {
  const TcCase& c = p.c;
  std::string s = std::string(dtype_name(p.dt)) + " heads " + std::to_string(c.n_head) + "/" +
                  std::to_string(c.n_head_kv) + " hd " + std::to_string(c.head_dim) + " bs " +
                  std::to_string(c.block_size) + " n_split " + std::to_string(c.n_split) + " lens";
  int shown = 0;
  for (int t = 0; t < p.n_tok && shown < 12; ++t, ++shown)
    s += " " + std::to_string(p.tok_pos[size_t(t)] + 1);
  if (p.n_tok > 12) s += " ... (" + std::to_string(p.n_tok) + " tokens)";
  return s;
}

float round_q(DType cache, float x) {
  return cache == DType::kF8E4M3 ? f16_to_f32(f32_to_f16(x)) : bf16_to_f32(f32_to_bf16(x));
}

using testing::decode_cache_elem;
using testing::encode_cache_elem;

void set_batch(Problem& p, const std::vector<std::pair<int, int>>& seqs, std::mt19937& rng) {
  p.tok_seq.clear(), p.tok_pos.clear(), p.q_start.clear(), p.seq_len.clear();
  p.n_tok = 0;
  for (int s = 0; s < p.n_seq; ++s) {
    auto [past, nw] = seqs[size_t(s)];
    EXPECT_LE(past + nw, p.cap[size_t(s)]);
    p.q_start.push_back(p.n_tok);
    p.seq_len.push_back(past + nw);
    for (int j = 0; j < nw; ++j, ++p.n_tok) {
      p.tok_seq.push_back(s);
      p.tok_pos.push_back(past + j);
    }
  }
  p.q_start.push_back(p.n_tok);
  std::uniform_real_distribution<float> u2(-2.0f, 2.0f);
  p.qkv.resize(size_t(p.n_tok) * p.width);
  for (float& x : p.qkv) x = u2(rng);
}

Problem make_problem(const TcCase& c, DType dt, std::mt19937& rng) {
  Problem p;
  p.c = c;
  p.dt = dt;
  if (dt == DType::kF8E4M3) p.k_scale = 0.03f, p.v_scale = 0.02f;
  p.n_seq = int(c.seqs.size());
  p.width = (c.n_head + 2 * c.n_head_kv) * c.head_dim;
  for (auto [past, nw] : c.seqs) {
    const int cap = past + nw, blocks = (cap + c.block_size - 1) / c.block_size;
    p.cap.push_back(cap);
    p.max_blocks = std::max(p.max_blocks, blocks);
    p.n_block += blocks;
  }
  p.n_block += 3;  // blocks no sequence owns
  std::vector<int32_t> perm(size_t(p.n_block));
  std::iota(perm.begin(), perm.end(), 0);
  std::shuffle(perm.begin(), perm.end(), rng);
  p.tables.assign(size_t(p.n_seq) * p.max_blocks, -1);
  size_t next = 0;
  for (int s = 0; s < p.n_seq; ++s)
    for (int b = 0; b < (p.cap[size_t(s)] + c.block_size - 1) / c.block_size; ++b)
      p.tables[size_t(s) * p.max_blocks + b] = perm[next++];
  const size_t esz = dtype_size(dt);
  const size_t n_elem = size_t(p.n_block) * c.block_size * c.n_head_kv * c.head_dim;
  p.k.resize(n_elem * esz);
  p.v.resize(n_elem * esz);
  std::uniform_real_distribution<float> u2(-2.0f, 2.0f);
  for (size_t i = 0; i < n_elem; ++i) {
    encode_cache_elem(dt, p.k_scale, u2(rng), &p.k[i * esz]);
    encode_cache_elem(dt, p.v_scale, u2(rng) * 0.5f, &p.v[i * esz]);
  }
  set_batch(p, c.seqs, rng);
  return p;
}

// out (n_tok, n_head, head_dim) in float64, Q rounded as the kernel rounds it.
std::vector<double> reference(const Problem& p) {
  const TcCase& c = p.c;
  const int hd = c.head_dim, group = c.n_head / c.n_head_kv, bs = c.block_size;
  const size_t esz = dtype_size(p.dt);
  std::vector<double> out(size_t(p.n_tok) * c.n_head * hd, 0.0), sc;
  std::vector<double> q(static_cast<size_t>(hd));
  for (int t = 0; t < p.n_tok; ++t) {
    const int s = p.tok_seq[size_t(t)], pos = p.tok_pos[size_t(t)];
    for (int h = 0; h < c.n_head; ++h) {
      const int kvh = h / group;
      for (int d = 0; d < hd; ++d)
        q[size_t(d)] = round_q(p.dt, p.qkv[size_t(t) * p.width + size_t(h) * hd + d]);
      const auto elem = [&](int j) {
        const int64_t slot = int64_t(p.tables[size_t(s) * p.max_blocks + j / bs]) * bs + j % bs;
        return (slot * c.n_head_kv + kvh) * hd;
      };
      sc.assign(size_t(pos) + 1, 0.0);
      double mx = -INFINITY;
      for (int j = 0; j <= pos; ++j) {
        const int64_t e0 = elem(j);
        double dot = 0;
        for (int d = 0; d < hd; ++d)
          dot += q[size_t(d)] *
                 decode_cache_elem(p.dt, p.k_scale, &p.k[size_t(e0 + d) * esz]);
        sc[size_t(j)] = dot / std::sqrt(double(hd));
        mx = std::max(mx, sc[size_t(j)]);
      }
      double sum = 0;
      for (double& x : sc) sum += (x = std::exp(x - mx));
      double* o = &out[(size_t(t) * c.n_head + h) * hd];
      for (int j = 0; j <= pos; ++j) {
        const int64_t e0 = elem(j);
        for (int d = 0; d < hd; ++d)
          o[d] += sc[size_t(j)] / sum *
                  decode_cache_elem(p.dt, p.v_scale, &p.v[size_t(e0 + d) * esz]);
      }
    }
  }
  return out;
}

// Device copies: metadata in one buffer (tok_seq | tok_pos | q_start | seq_len | tables).
struct DeviceProblem {
  Tensor qkv, k, v, out, meta;
  cu::AttnBatch b;
  cu::AttnDims d;
  cu::KvCacheView kv;
};

std::vector<int32_t> meta_of(const Problem& p) {
  std::vector<int32_t> meta;
  for (const auto* v : {&p.tok_seq, &p.tok_pos, &p.q_start, &p.seq_len, &p.tables})
    meta.insert(meta.end(), v->begin(), v->end());
  return meta;
}

DeviceProblem upload(const Problem& p) {
  DeviceProblem g;
  g.qkv = Tensor::empty(DType::kF32, {p.n_tok, p.width}, Device::kCuda);
  copy_bytes(g.qkv.data(), Device::kCuda, p.qkv.data(), Device::kCpu, p.qkv.size() * 4);
  g.k = testing::upload_bytes(p.k);
  g.v = testing::upload_bytes(p.v);
  g.out = testing::poisoned_cuda({p.n_tok, int64_t(p.c.n_head) * p.c.head_dim});
  const std::vector<int32_t> meta = meta_of(p);
  g.meta = Tensor::empty(DType::kI32, {int64_t(meta.size())}, Device::kCuda);
  copy_bytes(g.meta.data(), Device::kCuda, meta.data(), Device::kCpu, meta.size() * 4);
  const int32_t* d = g.meta.data_as<int32_t>();
  int max_q = 0;
  for (int s = 0; s < p.n_seq; ++s)
    max_q = std::max(max_q, p.q_start[size_t(s) + 1] - p.q_start[size_t(s)]);
  g.b = testing::packed_batch(d, p.n_tok, p.n_seq, p.max_blocks,
                              *std::max_element(p.seq_len.begin(), p.seq_len.end()), max_q,
                              p.c.n_split);
  g.d = {.n_head = p.c.n_head,
         .n_head_kv = p.c.n_head_kv,
         .head_dim = p.c.head_dim,
         .scale = 1.0f / std::sqrt(float(p.c.head_dim))};
  g.kv = testing::cache_view(g.k, g.v, p.dt, p.n_block, p.c.block_size, p.k_scale, p.v_scale);
  return g;
}

double tolerance(DType dt) {
  return dt == DType::kF8E4M3 ? 1.5e-3 : 3e-3;
}

// ||got - want|| / ||want|| over the batch; every element must be finite (out starts as NaN).
double check_out(const Problem& p, const Tensor& out, const std::vector<double>& want, double tol,
                 const std::string& what) {
  Tensor got = out.to(Device::kCpu);
  const float* g = got.data_as<float>();
  double num = 0, den = 0, max_abs = 0;
  int64_t worst = -1, n_bad = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    if (!std::isfinite(g[i])) {
      ++n_bad;
      continue;
    }
    const double e = double(g[i]) - want[i];
    num += e * e;
    den += want[i] * want[i];
    if (std::fabs(e) > max_abs) max_abs = std::fabs(e), worst = int64_t(i);
  }
  const double rel = std::sqrt(num / den);
  const int64_t row = int64_t(p.c.n_head) * p.c.head_dim;
  EXPECT_TRUE(n_bad == 0 && rel < tol)
      << what << ": rel " << rel << " (tol " << tol << "), non-finite " << n_bad << ", max |diff| "
      << max_abs << " at token " << (worst >= 0 ? worst / row : -1) << " head "
      << (worst >= 0 ? worst % row / p.c.head_dim : -1) << " elem "
      << (worst >= 0 ? worst % p.c.head_dim : -1);
  return rel;
}

std::vector<double> to_double(const Tensor& t) {
  Tensor h = t.to(Device::kCpu);
  return std::vector<double>(h.data_as<float>(), h.data_as<float>() + h.numel());
}

// The TC kernel against the reference, then attention_decode (fp32, Q unrounded) against the
// TC output: they differ by Q's and P's rounding, so the tolerance is twice the reference's.
// Two KV heads a unit (FP8, head_dim 128, group <= 4, even n_head_kv) must give the bits of
// one head a unit: the other head's dims add exact zeros to each sum.
bool pairs_apply(const Problem& p) {
  return p.dt == DType::kF8E4M3 && p.c.head_dim == 128 && p.c.n_head_kv % 2 == 0 &&
         p.c.n_head / p.c.n_head_kv <= 4;
}

void expect_same_bits(const Tensor& a, const Tensor& b, const std::string& what) {
  const Tensor x = a.to(Device::kCpu), y = b.to(Device::kCpu);
  ASSERT_EQ(x.nbytes(), y.nbytes());
  EXPECT_EQ(std::memcmp(x.data(), y.data(), x.nbytes()), 0) << what;
}

// The launch with the output's codes (AttnCodes, o's static input scale): out the bits of the
// launch without them (want_out), and the codes to_act's of that out under the same scale,
// byte for byte, rows `stride` bytes apart, with every token's scale written.
void expect_codes(const Problem& p, const DeviceProblem& g, const cu::AttnBatch& b,
                  const Tensor& want_out, const std::string& what) {
  const int64_t n_in = int64_t(p.c.n_head) * p.c.head_dim, stride = n_in + 48;
  const float scale = 0.0037f;  // |out| <= ~1: codes over most of E4M3's range, a few saturated
  Tensor out = testing::poisoned_cuda({p.n_tok, n_in});
  Tensor codes = Tensor::empty(DType::kU8, {p.n_tok * stride}, Device::kCuda);
  Tensor scales = testing::poisoned_cuda({p.n_tok});
  const cu::AttnCodes c{codes.data_as<uint8_t>(), stride, scales.data_as<float>(), scale};
  cu::attention_decode_tc(g.qkv.data_as<float>(), b, g.d, g.kv, out.data_as<float>(), cu::stream(),
                          &c);
  expect_same_bits(out, want_out, what + ": out with codes");
  cu::Act act;
  act.spec.layout = cu::ActLayout::kCodesU8;
  act.spec.quant = ops::ActQuant::kStaticPerTensor;
  act.spec.static_scale = scale;
  act.spec.n_in = act.spec.row_stride = n_in;
  Tensor want = Tensor::empty(DType::kU8, {p.n_tok * n_in}, Device::kCuda);
  act.data = want.data();
  cu::to_act(out.data_as<float>(), p.n_tok, act);
  const Tensor got_h = codes.to(Device::kCpu), want_h = want.to(Device::kCpu);
  const Tensor sc_h = scales.to(Device::kCpu);
  int64_t bad = 0, first = -1;
  for (int64_t t = 0; t < p.n_tok; ++t)
    for (int64_t i = 0; i < n_in; ++i)
      if (got_h.data_as<uint8_t>()[t * stride + i] != want_h.data_as<uint8_t>()[t * n_in + i] &&
          bad++ == 0)
        first = t * n_in + i;
  EXPECT_EQ(bad, 0) << what << ": codes differ from to_act's at " << bad << " elements, first "
                    << first;
  for (int64_t t = 0; t < p.n_tok; ++t)
    EXPECT_EQ(sc_h.data_as<float>()[t], scale) << what << ": token " << t << "'s scale";
}
void run_case(const TcCase& c, DType dt, std::mt19937& rng, uint32_t seed) {
  Problem p = make_problem(c, dt, rng);
  DeviceProblem g = upload(p);
  ASSERT_TRUE(cu::attention_decode_tc_supported(g.d, g.kv));
  cu::set_attention_decode_tc_heads(1);
  cu::attention_decode_tc(g.qkv.data_as<float>(), g.b, g.d, g.kv, g.out.data_as<float>(),
                          cu::stream());
  expect_codes(p, g, g.b, g.out, "decode_tc codes " + case_str(p));
  if (pairs_apply(p)) {
    // The same split count (the summation order) gives the same bits; the count planned for
    // pairs is held to the reference.
    cu::AttnBatch same = g.b;
    same.n_split = c.n_split > 0 ? c.n_split
                                 : cu::attention_decode_tc_splits(p.n_tok, g.b.max_seq_len, g.d, 1);
    Tensor paired = testing::poisoned_cuda({p.n_tok, int64_t(c.n_head) * c.head_dim});
    cu::set_attention_decode_tc_heads(2);
    EXPECT_EQ(cu::attention_decode_tc_heads(p.n_tok, g.d, 1), 2);
    cu::attention_decode_tc(g.qkv.data_as<float>(), same, g.d, g.kv, paired.data_as<float>(),
                            cu::stream());
    expect_same_bits(paired, g.out, "decode_tc two heads a unit vs one " + case_str(p));
    expect_codes(p, g, same, g.out, "decode_tc two heads a unit, codes " + case_str(p));
    cu::attention_decode_tc(g.qkv.data_as<float>(), g.b, g.d, g.kv, paired.data_as<float>(),
                            cu::stream());
    check_out(p, paired, reference(p), tolerance(dt), "decode_tc two heads a unit, planned " +
              case_str(p));
  }
  cu::set_attention_decode_tc_heads(0);
  const std::string what = "decode_tc " + case_str(p) + " seed " + std::to_string(seed);
  const double rel = check_out(p, g.out, reference(p), tolerance(dt), what);
  Tensor core = testing::poisoned_cuda({p.n_tok, int64_t(c.n_head) * c.head_dim});
  cu::attention_decode(g.qkv.data_as<float>(), g.b, g.d, g.kv, core.data_as<float>(), cu::stream());
  const double rel_core =
      check_out(p, g.out, to_double(core), 2 * tolerance(dt), what + " vs attention_decode");
  const int splits =
      c.n_split > 0 ? c.n_split : cu::attention_decode_tc_splits(g.b.n_tok, g.b.max_seq_len, g.d);
  const int launched = c.n_split > 0 ? c.n_split
                                     : cu::attention_decode_tc_splits(g.b.n_tok, g.b.max_seq_len,
                                                                      g.d, int(dtype_size(dt)));
  if (cu::attention_decode_tc_cluster_merge(launched)) {
    // The splits merged in a cluster against the combine kernel: the same arithmetic in the
    // same order, so the same bits.
    // The split count fixed: without the cluster merge the planner prices splits otherwise.
    Tensor combined = testing::poisoned_cuda({p.n_tok, int64_t(c.n_head) * c.head_dim});
    cu::AttnBatch same = g.b;
    same.n_split = launched;
    cu::set_attention_decode_tc_cluster(1);
    EXPECT_FALSE(cu::attention_decode_tc_cluster_merge(launched));
    cu::attention_decode_tc(g.qkv.data_as<float>(), same, g.d, g.kv, combined.data_as<float>(),
                            cu::stream());
    expect_codes(p, g, same, combined, "decode_tc combine kernel, codes " + what);
    cu::set_attention_decode_tc_cluster(0);
    expect_same_bits(combined, g.out, "decode_tc combine kernel vs cluster merge " + what);
  }
  std::printf("  %-110s splits %3d rel %.2e vs decode %.2e\n", what.c_str(), splits, rel, rel_core);
}

const DType kTcTypes[] = {DType::kBF16, DType::kF8E4M3};

// Pure host logic: no device needed.
TEST(CudaAttentionTc, SupportedShapes) {
  cu::KvCacheView kv;
  cu::AttnDims d{.n_head = 32, .n_head_kv = 8, .head_dim = 128, .scale = 0.088f};
  for (DType dt : {DType::kBF16, DType::kF8E4M3}) {
    kv.dtype = dt;
    EXPECT_TRUE(cu::attention_decode_tc_supported(d, kv)) << dtype_name(dt);
  }
  kv.dtype = DType::kF32;
  EXPECT_FALSE(cu::attention_decode_tc_supported(d, kv));
  kv.dtype = DType::kF8E4M3;
  for (int hd : {8, 80, 96, 256}) {
    cu::AttnDims e = d;
    e.head_dim = hd;
    EXPECT_FALSE(cu::attention_decode_tc_supported(e, kv)) << "head_dim " << hd;
  }
  const std::vector<std::tuple<int, int, bool>> groups = {// (n_head, n_head_kv, supported)
                                                          {8, 8, true},
                                                          {16, 2, true},
                                                          {32, 2, false},
                                                          {12, 8, false}};
  for (auto [nh, nkv, ok] : groups) {
    cu::AttnDims e = d;
    e.n_head = nh, e.n_head_kv = nkv, e.head_dim = 64;
    EXPECT_EQ(cu::attention_decode_tc_supported(e, kv), ok) << nh << "/" << nkv;
  }
}

// The planner's choices that the H100 measurements made (gpu_run_s12.cmd r2 / r3, and
// gpu_run_s15.cmd q12 for two blocks a multiprocessor at batch 1: 8B at 8,192 keys 37 splits
// 19.0 us against 19 splits 20.2-22.1; 1B at 256 keys, FP8, 4 splits, which session 15 measured
// within 0.5 % of one on the 1B's BF16 cache); other GPUs only get the invariants.
TEST(CudaAttentionTc, PlansMeasuredChoices) {
  QINFER_SKIP_WITHOUT_CUDA();
  const cu::AttnDims d8b{.n_head = 32, .n_head_kv = 8, .head_dim = 128, .scale = 0.088f};
  const cu::AttnDims d1b{.n_head = 32, .n_head_kv = 8, .head_dim = 64, .scale = 0.125f};
  for (int n_tok : {1, 2, 8, 64, 128, 256, 512})
    for (int len : {16, 256, 2048, 8192}) {
      const int ns = cu::attention_decode_tc_splits(n_tok, len, d8b, 1);
      EXPECT_GE(ns, 1);
      if (cu::attention_decode_tc_cluster_merge(ns))
        EXPECT_LE(ns, std::max(1, len / 16)) << "at least a 16-key tile a block: " << n_tok;
      else
        EXPECT_LE(ns, std::max(1, len / 64)) << "at least a 16-key tile per warp: " << n_tok;
    }
  EXPECT_EQ(cu::attention_decode_tc_heads(1, d8b, 1), 1);
  EXPECT_EQ(cu::attention_decode_tc_heads(256, d8b, 2), 1) << "BF16 keeps one head a unit";
  EXPECT_EQ(cu::attention_decode_tc_heads(256, d1b, 1), 1) << "head_dim 64 keeps one";
  if (cu::sm_count() != 132) GTEST_SKIP() << "the H100 SXM's choices (" << cu::sm_count()
                                          << " SMs here)";
  // Merged in a cluster, short contexts at batch 1 take 8 splits (s18 q1 / q2); else 4.
  const int short_splits = cu::attention_decode_tc_cluster_merge(8) ? 8 : 4;
  EXPECT_EQ(cu::attention_decode_tc_splits(1, 256, d8b, 1), short_splits);
  EXPECT_EQ(cu::attention_decode_tc_splits(1, 256, d1b, 1), short_splits);
  EXPECT_GE(cu::attention_decode_tc_splits(1, 8192, d8b, 1), 32) << "two blocks an SM";
  EXPECT_GE(cu::attention_decode_tc_splits(1, 8192, d8b, 2), 32) << "two blocks an SM, BF16";
  EXPECT_EQ(cu::attention_decode_tc_splits(256, 2048, d8b, 1), 1);
  EXPECT_EQ(cu::attention_decode_tc_heads(256, d8b, 1), 2);
  EXPECT_EQ(cu::attention_decode_tc_heads(128, d8b, 1), 1);
}

// Every (cache dtype, head_dim, group) over lengths 1, 7, 16, 100, 1000, 4100 in one batch,
// planned splits.
TEST(CudaAttentionTc, MatchesReferenceAllShapes) {
  QINFER_SKIP_WITHOUT_CUDA();
  const uint32_t seed = testing::fresh_seed();
  std::mt19937 rng(seed);
  const std::vector<std::pair<int, int>> seqs = {{0, 1},  {6, 1},   {15, 1},
                                                 {99, 1}, {999, 1}, {4099, 1}};
  for (DType dt : kTcTypes)
    for (int hd : {64, 128})
      for (int group : {1, 2, 4, 8}) run_case({2 * group, 2, hd, 16, seqs}, dt, rng, seed);
}

// Fixed split counts, including lengths shorter than n_split (empty splits) and one split.
TEST(CudaAttentionTc, FixedSplits) {
  QINFER_SKIP_WITHOUT_CUDA();
  const uint32_t seed = testing::fresh_seed();
  std::mt19937 rng(seed);
  const std::vector<std::pair<int, int>> seqs = {{0, 1},  {2, 1},  {6, 1},   {15, 1},
                                                 {16, 1}, {99, 1}, {999, 1}, {2047, 1}};
  for (DType dt : kTcTypes)
    for (int n_split : {1, 4, 16}) {
      run_case({8, 2, 128, 16, seqs, n_split}, dt, rng, seed);
      run_case({8, 1, 64, 16, seqs, n_split}, dt, rng, seed);
    }
}

// Batches of 1 to 64 sequences with mixed lengths, Llama-3-8B heads; several new tokens per
// sequence; block sizes other than 16 (12 takes the division path, 1 one slot per block).
TEST(CudaAttentionTc, BatchesAndBlockSizes) {
  QINFER_SKIP_WITHOUT_CUDA();
  const uint32_t seed = testing::fresh_seed();
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> len(1, 700);
  std::vector<TcCase> cases;
  cases.push_back({32, 8, 128, 16, {{4099, 1}}});  // batch 1: many planned splits
  for (int batch : {2, 9, 64}) {
    TcCase c{32, 8, 128, 16, {}};
    for (int s = 0; s < batch; ++s) c.seqs.push_back({len(rng) - 1, 1});
    cases.push_back(c);
    c.n_split = 3;
    cases.push_back(c);
  }
  cases.push_back({16, 4, 128, 16, {{10, 3}, {0, 5}, {200, 2}, {33, 16}}});  // n_new > 1
  cases.push_back({8, 2, 64, 12, {{100, 1}, {37, 1}, {0, 1}, {500, 1}}});
  cases.push_back({8, 2, 128, 12, {{100, 1}, {37, 1}, {0, 1}, {500, 1}}, 5});
  cases.push_back({8, 1, 128, 32, {{300, 1}, {31, 1}, {32, 1}}});
  cases.push_back({4, 4, 64, 1, {{50, 1}, {3, 1}}});
  for (const TcCase& c : cases)
    for (DType dt : kTcTypes) run_case(c, dt, rng, seed);
}

// One CUDA-graph capture (fixed n_split, caller-owned partials) replayed after the lengths and
// queries change in place, including lengths shorter than n_split.
TEST(CudaAttentionTc, GraphReplayAcrossLengths) {
  QINFER_SKIP_WITHOUT_CUDA();
  const uint32_t seed = testing::fresh_seed();
  std::mt19937 rng(seed);
  const TcCase c{32, 8, 128, 16, {{1999, 1}, {39, 1}, {2046, 1}, {4, 1}, {299, 1}}, 8};
  const std::vector<std::vector<std::pair<int, int>>> replays = {
      {{6, 1}, {38, 1}, {0, 1}, {2, 1}, {15, 1}},
      {{1999, 1}, {39, 1}, {2046, 1}, {4, 1}, {299, 1}},
      {{0, 1}, {0, 1}, {0, 1}, {0, 1}, {0, 1}}};
  for (int heads : {1, 2})
  for (DType dt : kTcTypes) {
    cu::set_attention_decode_tc_heads(heads);
    Problem p = make_problem(c, dt, rng);
    DeviceProblem g = upload(p);
    const size_t bytes = cu::attention_decode_tc_scratch_bytes(p.n_tok, g.d, c.n_split);
    void* partials = cu::device_alloc(bytes);
    g.b.partials = static_cast<float*>(partials);
    cudaStream_t s = cu::stream();
    // One call outside the capture first (as the model warms up before capturing): checked too.
    cu::attention_decode_tc(g.qkv.data_as<float>(), g.b, g.d, g.kv, g.out.data_as<float>(), s);
    check_out(p, g.out, reference(p), tolerance(dt), "before capture " + case_str(p));
    cudaGraph_t graph = nullptr;
    cudaGraphExec_t exec = nullptr;
    ASSERT_EQ(cudaStreamBeginCapture(s, cudaStreamCaptureModeRelaxed), cudaSuccess);
    cu::attention_decode_tc(g.qkv.data_as<float>(), g.b, g.d, g.kv, g.out.data_as<float>(), s);
    ASSERT_EQ(cudaStreamEndCapture(s, &graph), cudaSuccess);
    ASSERT_EQ(cudaGraphInstantiate(&exec, graph, 0), cudaSuccess);
    for (const auto& seqs : replays) {
      set_batch(p, seqs, rng);
      const std::vector<int32_t> meta = meta_of(p);
      ASSERT_EQ(meta.size() * 4, g.meta.nbytes());
      copy_bytes(g.meta.data(), Device::kCuda, meta.data(), Device::kCpu, meta.size() * 4);
      copy_bytes(g.qkv.data(), Device::kCuda, p.qkv.data(), Device::kCpu, p.qkv.size() * 4);
      QINFER_CUDA_CHECK(cudaMemsetAsync(g.out.data(), 0xff, g.out.nbytes(), s));  // NaN
      ASSERT_EQ(cudaGraphLaunch(exec, s), cudaSuccess);
      cu::synchronize();
      const std::string what = "graph replay " + case_str(p) + " seed " + std::to_string(seed);
      const double rel = check_out(p, g.out, reference(p), tolerance(dt), what);
      std::printf("  %-110s rel %.2e\n", what.c_str(), rel);
    }
    cudaGraphExecDestroy(exec);
    cudaGraphDestroy(graph);
    cu::device_free(partials, bytes);
    cu::set_attention_decode_tc_heads(0);
  }
}

// past_ready (the model's decode batches): the kernel reads the metadata, the block tables and
// every key before a token's own ahead of its wait for the previous kernel. Here that kernel is
// rope_kv_write (no rotation), held 200 us before it writes, which lays each token's own K / V
// row over a NaN-poisoned slot: reading that row ahead of the wait would make outputs
// non-finite. The token's row sits in a prologue tile (batch 1, planned splits), in the loop
// (one split over 2048 keys), at tile and block edges, with block size 12 (division path).
TEST(CudaAttentionTc, ReadsAheadOfRopeKvWrite) {
  QINFER_SKIP_WITHOUT_CUDA();
  const uint32_t seed = testing::fresh_seed();
  std::mt19937 rng(seed);
  const std::vector<TcCase> cases = {
      {32, 8, 128, 16, {{127, 1}}},
      {32, 8, 128, 16, {{0, 1}}},
      {32, 8, 128, 16, {{2047, 1}}, 1},
      {8, 2, 64, 12, {{100, 1}, {37, 1}, {0, 1}, {16, 1}, {47, 1}}},
      {8, 2, 128, 16, {{15, 1}, {16, 1}, {63, 1}, {64, 1}, {999, 1}}, 4},
      {16, 4, 128, 16, {{15, 1}, {16, 1}, {63, 1}, {64, 1}, {999, 1}, {300, 1}}, 1}};
  for (int heads : {1, 2})
  for (DType dt : kTcTypes)
    for (const TcCase& c : cases) {
      cu::set_attention_decode_tc_heads(heads);
      Problem p = make_problem(c, dt, rng);
      const size_t esz = dtype_size(dt);
      const int hd = c.head_dim, nkv = c.n_head_kv, bs = c.block_size;
      Problem poisoned = p;
      for (int t = 0; t < p.n_tok; ++t) {
        const int s = p.tok_seq[size_t(t)], pos = p.tok_pos[size_t(t)];
        const int64_t slot = int64_t(p.tables[size_t(s) * p.max_blocks + pos / bs]) * bs + pos % bs;
        for (int h = 0; h < nkv; ++h)
          for (int d = 0; d < hd; ++d) {
            const size_t e = size_t((slot * nkv + h) * hd + d) * esz;
            // rope_kv_write re-encodes the decoded value to the same bytes.
            float* row = &p.qkv[size_t(t) * p.width];
            row[(c.n_head + h) * hd + d] = float(decode_cache_elem(dt, p.k_scale, &p.k[e]));
            row[(c.n_head + nkv + h) * hd + d] = float(decode_cache_elem(dt, p.v_scale, &p.v[e]));
            std::fill_n(&poisoned.k[e], esz, uint8_t(0xff));  // NaN in BF16 and E4M3
            std::fill_n(&poisoned.v[e], esz, uint8_t(0xff));
          }
      }
      poisoned.qkv = p.qkv;
      DeviceProblem g = upload(poisoned);
      g.b.past_ready = true;
      cudaStream_t s = cu::stream();
      cu::set_rope_kv_write_delay(200000);
      cu::rope_kv_write(g.qkv.data_as<float>(), g.b, g.d, nullptr, g.kv, s);
      cu::attention_decode_tc(g.qkv.data_as<float>(), g.b, g.d, g.kv, g.out.data_as<float>(), s);
      cu::set_rope_kv_write_delay(0);
      cu::set_attention_decode_tc_heads(0);
      const std::string what = "read ahead " + case_str(p) + " heads a unit " +
                               std::to_string(heads) + " seed " + std::to_string(seed);
      const double rel = check_out(p, g.out, reference(p), tolerance(dt), what);
      const Tensor k = g.k.to(Device::kCpu), v = g.v.to(Device::kCpu);
      EXPECT_EQ(std::memcmp(k.data(), p.k.data(), p.k.size()), 0) << what << ": K cache";
      EXPECT_EQ(std::memcmp(v.data(), p.v.data(), p.v.size()), 0) << what << ": V cache";
      std::printf("  %-110s rel %.2e\n", what.c_str(), rel);
    }
}

}  // namespace
}  // namespace qinfer

#else

TEST(CudaAttentionTc, NeedsCudaBuild) {
  GTEST_SKIP() << "built without CUDA";
}

#endif

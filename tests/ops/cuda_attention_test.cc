// The CUDA attention kernels of src/ops/cuda/attention_cuda.h (rope_kv_write, attention_decode,
// attention_prefill) against a float64 evaluation of the formulas they implement:
// src/ops/rope.h (rotate-half RoPE, fp32 angle) and src/ops/attention.h (causal GQA softmax
// attention over a paged cache). The reference rounds what the kernels round by contract —
// K/V through the cache dtype (BF16 round-to-nearest-even, FP8 E4M3 satfinite(x / scale));
// in prefill also Q and K/V to BF16 (FP8 codes are exact in BF16) — so the tolerances stay
// tight. The cache contents the kernels write are checked too. attention_decode_rope (RoPE, the
// cache write and decode in one kernel) is held to the bits of rope_kv_write followed by
// attention_decode, besides the float64 reference. The decode tests run under both decode
// paths of set_attention_latency_path (classic, and the latency path: thread-block clusters,
// taken where the GPU has them and the batch is small). Every test skips without a GPU.
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
#include "ops/cuda/cuda_common.h"

namespace qinfer {
namespace {

namespace cu = ops::cuda;

struct Case {
  int n_head, n_head_kv, head_dim, block_size;
  std::vector<std::pair<int, int>> seqs;  // (n_past, n_new)
  int n_split = 0;                        // decode: 0 plans, > 0 fixes the split count
};

// The decode path under test (set_attention_latency_path): 1 classic, 2 latency.
const int kPaths[] = {1, 2};
int g_path = 0;

// Sets the decode path for a scope, back to the default (0) after it.
class PathScope {
 public:
  explicit PathScope(int path) {
    g_path = path;
    cu::set_attention_latency_path(path);
  }
  PathScope(const PathScope&) = delete;
  PathScope& operator=(const PathScope&) = delete;
  ~PathScope() {
    g_path = 0;
    cu::set_attention_latency_path(0);
  }
};

std::string case_str(const Case& c, DType dt) {
  const char* path = g_path == 2 ? "latency " : g_path == 1 ? "classic " : "";
  std::string s = path + std::string(dtype_name(dt)) + " heads " + std::to_string(c.n_head) + "/" +
                  std::to_string(c.n_head_kv) + " hd " + std::to_string(c.head_dim) + " bs " +
                  std::to_string(c.block_size) + " n_split " + std::to_string(c.n_split) + " seqs";
  for (auto [p, n] : c.seqs) s += " (" + std::to_string(p) + "+" + std::to_string(n) + ")";
  return s;
}

// One cache element: encode a float into the dtype's bytes, decode bytes to the value.
using testing::encode_cache_elem;
// A cache element's value as float (the exact double rounds to the float product).
float decode(DType dt, float scale, const uint8_t* src) {
  return float(testing::decode_cache_elem(dt, scale, src));
}
float round_bf16(float x) {
  return bf16_to_f32(f32_to_bf16(x));
}

// A batch, its inputs and the reference results.
struct Problem {
  Case c;
  DType dt;
  float k_scale = 1.0f, v_scale = 1.0f;
  int n_tok = 0, n_seq = 0, max_blocks = 0, n_block = 0, width = 0, max_len = 0, max_q = 0;
  std::vector<int32_t> tok_seq, tok_pos, q_start, seq_len, tables;  // tables (n_seq, max_blocks)
  std::vector<float> qkv, inv_freq;
  std::vector<uint8_t> k0, v0;  // initial cache bytes (the "past")
  // Reference: roped qkv, caches after the write, attention output.
  std::vector<float> qkv_ref;
  std::vector<uint8_t> k_ref, v_ref;
  std::vector<double> out_ref;
};

Problem make_problem(const Case& c, DType dt, std::mt19937& rng) {
  Problem p;
  p.c = c;
  p.dt = dt;
  if (dt == DType::kF8E4M3) p.k_scale = 0.03f, p.v_scale = 0.02f;
  p.n_seq = int(c.seqs.size());
  p.width = (c.n_head + 2 * c.n_head_kv) * c.head_dim;
  for (auto [past, nw] : c.seqs) {
    p.max_blocks = std::max(p.max_blocks, (past + nw + c.block_size - 1) / c.block_size);
    p.n_block += (past + nw + c.block_size - 1) / c.block_size;
    p.max_len = std::max(p.max_len, past + nw);
    p.max_q = std::max(p.max_q, nw);
  }
  p.n_block += 3;  // blocks no sequence owns: must stay untouched
  std::vector<int32_t> perm(size_t(p.n_block));
  std::iota(perm.begin(), perm.end(), 0);
  std::shuffle(perm.begin(), perm.end(), rng);
  p.tables.assign(size_t(p.n_seq) * p.max_blocks, -1);
  size_t next = 0;
  for (int s = 0; s < p.n_seq; ++s) {
    auto [past, nw] = c.seqs[size_t(s)];
    p.q_start.push_back(p.n_tok);
    p.seq_len.push_back(past + nw);
    for (int b = 0; b < (past + nw + c.block_size - 1) / c.block_size; ++b)
      p.tables[size_t(s) * p.max_blocks + b] = perm[next++];
    for (int j = 0; j < nw; ++j, ++p.n_tok) {
      p.tok_seq.push_back(s);
      p.tok_pos.push_back(past + j);
    }
  }
  p.q_start.push_back(p.n_tok);
  std::uniform_real_distribution<float> u2(-2.0f, 2.0f);
  p.qkv.resize(size_t(p.n_tok) * p.width);
  for (float& x : p.qkv) x = u2(rng);
  for (int j = 0; j < c.head_dim / 2; ++j)
    p.inv_freq.push_back(float(std::pow(500000.0, -2.0 * j / c.head_dim)));
  const size_t esz = dtype_size(dt);
  const size_t n_elem = size_t(p.n_block) * c.block_size * c.n_head_kv * c.head_dim;
  p.k0.resize(n_elem * esz);
  p.v0.resize(n_elem * esz);
  for (size_t i = 0; i < n_elem; ++i) {
    encode_cache_elem(dt, p.k_scale, u2(rng), &p.k0[i * esz]);
    encode_cache_elem(dt, p.v_scale, u2(rng) * 0.5f, &p.v0[i * esz]);
  }
  return p;
}

int64_t slot_elem(const Problem& p, int s, int pos) {
  const int bs = p.c.block_size;
  const int64_t slot = int64_t(p.tables[size_t(s) * p.max_blocks + pos / bs]) * bs + pos % bs;
  return slot * p.c.n_head_kv * p.c.head_dim;
}

// RoPE (src/ops/rope.h: fp32 angle, cos / sin and products in float64) and the cache write.
void reference(Problem& p) {
  const Case& c = p.c;
  const int hd = c.head_dim, half = hd / 2;
  const size_t esz = dtype_size(p.dt);
  p.qkv_ref = p.qkv;
  p.k_ref = p.k0;
  p.v_ref = p.v0;
  for (int t = 0; t < p.n_tok; ++t) {
    float* row = &p.qkv_ref[size_t(t) * p.width];
    for (int h = 0; h < c.n_head + c.n_head_kv; ++h)
      for (int j = 0; j < half; ++j) {
        const float a = float(p.tok_pos[size_t(t)]) * p.inv_freq[size_t(j)];
        const double cs = std::cos(double(a)), sn = std::sin(double(a));
        const double x1 = row[h * hd + j], x2 = row[h * hd + j + half];
        row[h * hd + j] = float(x1 * cs - x2 * sn);
        row[h * hd + j + half] = float(x2 * cs + x1 * sn);
      }
    const int64_t e0 = slot_elem(p, p.tok_seq[size_t(t)], p.tok_pos[size_t(t)]);
    for (int i = 0; i < c.n_head_kv * hd; ++i) {
      encode_cache_elem(p.dt, p.k_scale, row[c.n_head * hd + i],
                        &p.k_ref[size_t(e0 + i) * esz]);
      encode_cache_elem(p.dt, p.v_scale, row[(c.n_head + c.n_head_kv) * hd + i],
                        &p.v_ref[size_t(e0 + i) * esz]);
    }
  }
}

// Attention in float64 over the given roped qkv rows and cache bytes (the ones the kernels
// wrote, each checked against reference() separately, so a rare rounding flip in the cache
// write cannot move the attention check). bf16_inputs: round q, k, v to BF16 as the prefill
// kernel does.
void attention_reference(Problem& p, const std::vector<float>& qkv,
                         const std::vector<uint8_t>& k_bytes, const std::vector<uint8_t>& v_bytes,
                         bool bf16_inputs) {
  const Case& c = p.c;
  const int hd = c.head_dim, group = c.n_head / c.n_head_kv;
  const size_t esz = dtype_size(p.dt);
  const auto in = [&](float x) { return bf16_inputs ? round_bf16(x) : x; };
  // FP8 codes are exact in BF16: only F32 caches round in prefill.
  const auto kv_in = [&](float x) { return p.dt == DType::kF32 ? in(x) : x; };
  std::vector<float> kd(k_bytes.size() / esz), vd(kd.size());  // decoded caches
  for (size_t i = 0; i < kd.size(); ++i) {
    kd[i] = kv_in(decode(p.dt, p.k_scale, &k_bytes[i * esz]));
    vd[i] = kv_in(decode(p.dt, p.v_scale, &v_bytes[i * esz]));
  }
  p.out_ref.assign(size_t(p.n_tok) * c.n_head * hd, 0.0);
  std::vector<double> sc;
  for (int t = 0; t < p.n_tok; ++t) {
    const int s = p.tok_seq[size_t(t)], pos = p.tok_pos[size_t(t)];
    for (int h = 0; h < c.n_head; ++h) {
      const int kvh = h / group;
      const float* q = &qkv[size_t(t) * p.width + h * hd];
      sc.assign(size_t(pos) + 1, 0.0);
      double mx = -INFINITY;
      for (int j = 0; j <= pos; ++j) {
        const int64_t e0 = slot_elem(p, s, j) + kvh * hd;
        double dot = 0;
        for (int d = 0; d < hd; ++d) dot += double(in(q[d])) * kd[size_t(e0 + d)];
        sc[size_t(j)] = dot / std::sqrt(double(hd));
        mx = std::max(mx, sc[size_t(j)]);
      }
      double sum = 0;
      for (double& x : sc) sum += (x = std::exp(x - mx));
      double* o = &p.out_ref[(size_t(t) * c.n_head + h) * hd];
      for (int j = 0; j <= pos; ++j) {
        const int64_t e0 = slot_elem(p, s, j) + kvh * hd;
        for (int d = 0; d < hd; ++d) o[d] += sc[size_t(j)] / sum * vd[size_t(e0 + d)];
      }
    }
  }
}

// Device copies of a problem's inputs and batch.
struct DeviceProblem {
  Tensor qkv, k, v, out, inv_freq, meta;
  cu::AttnBatch b;
  cu::AttnDims d;
  cu::KvCacheView kv;
};

DeviceProblem upload(const Problem& p) {
  DeviceProblem g;
  Tensor q = Tensor::empty(DType::kF32, {p.n_tok, p.width});
  std::copy(p.qkv.begin(), p.qkv.end(), q.data_as<float>());
  g.qkv = q.to(Device::kCuda);
  g.k = testing::upload_bytes(p.k0);
  g.v = testing::upload_bytes(p.v0);
  g.out = testing::poisoned_cuda({p.n_tok, int64_t(p.c.n_head) * p.c.head_dim});
  Tensor f = Tensor::empty(DType::kF32, {int64_t(p.inv_freq.size())});
  std::copy(p.inv_freq.begin(), p.inv_freq.end(), f.data_as<float>());
  g.inv_freq = f.to(Device::kCuda);
  std::vector<int32_t> meta;
  for (const auto* v : {&p.tok_seq, &p.tok_pos, &p.q_start, &p.seq_len, &p.tables})
    meta.insert(meta.end(), v->begin(), v->end());
  Tensor m = Tensor::empty(DType::kI32, {int64_t(meta.size())});
  std::copy(meta.begin(), meta.end(), m.data_as<int32_t>());
  g.meta = m.to(Device::kCuda);
  const int32_t* d = g.meta.data_as<int32_t>();
  g.b = testing::packed_batch(d, p.n_tok, p.n_seq, p.max_blocks, p.max_len, p.max_q,
                              p.c.n_split);
  g.d = {.n_head = p.c.n_head,
         .n_head_kv = p.c.n_head_kv,
         .head_dim = p.c.head_dim,
         .scale = 1.0f / std::sqrt(float(p.c.head_dim))};
  g.kv = testing::cache_view(g.k, g.v, p.dt, p.n_block, p.c.block_size, p.k_scale, p.v_scale);
  return g;
}

// The written cache against the reference: V slots exactly (same fp32 input, same rounding);
// K slots within one step of the dtype plus the fp32 RoPE's error (which can flip a
// rounding); all other slots untouched.
// Returns the caches as written.
std::pair<std::vector<uint8_t>, std::vector<uint8_t>> check_cache(const Problem& p,
                                                                  const DeviceProblem& g,
                                                                  const std::string& what) {
  const size_t esz = dtype_size(p.dt);
  std::vector<uint8_t> k(p.k0.size()), v(p.v0.size());
  copy_bytes(k.data(), Device::kCpu, g.k.data(), Device::kCuda, k.size());
  copy_bytes(v.data(), Device::kCpu, g.v.data(), Device::kCuda, v.size());
  int64_t v_bad = 0, k_bad = 0, k_flip = 0;
  for (size_t i = 0; i < k.size() / esz; ++i) {
    if (std::memcmp(&v[i * esz], &p.v_ref[i * esz], esz) != 0) ++v_bad;
    if (std::memcmp(&k[i * esz], &p.k_ref[i * esz], esz) == 0) continue;
    const float got = decode(p.dt, p.k_scale, &k[i * esz]);
    const float want = decode(p.dt, p.k_scale, &p.k_ref[i * esz]);
    // fp32 RoPE error is absolute (x1 c - x2 s cancels): a few ulp of |x| <= 3, about 2e-6.
    const double step = p.dt == DType::kF32 ? 2e-6
                        : p.dt == DType::kBF16
                            ? std::ldexp(std::fabs(want), -7) + 2e-6
                            : std::ldexp(std::fabs(want), -2) + p.k_scale * 0.002;
    if (std::fabs(got - want) <= step)
      ++k_flip;
    else
      ++k_bad;
  }
  EXPECT_EQ(v_bad, 0) << what << ": V cache elements differ from the reference";
  EXPECT_EQ(k_bad, 0) << what << ": K cache elements differ by more than one dtype step (" << k_flip
                      << " within one step)";
  if (p.dt != DType::kF32) {  // F32 differs in the last bit often; a rounded dtype rarely
    EXPECT_LE(k_flip, int64_t(k.size() / esz / 1000 + 2)) << what << ": too many K rounding flips";
  }
  return {std::move(k), std::move(v)};
}

// Returns the roped qkv rows.
std::vector<float> check_qkv(const Problem& p, const DeviceProblem& g, const std::string& what) {
  Tensor got = g.qkv.to(Device::kCpu);
  double num = 0, den = 0;
  for (size_t i = 0; i < p.qkv_ref.size(); ++i) {
    const double e = double(got.data_as<float>()[i]) - p.qkv_ref[i];
    num += e * e;
    den += double(p.qkv_ref[i]) * p.qkv_ref[i];
  }
  EXPECT_LT(std::sqrt(num / den), 1e-6) << what << ": roped qkv differs";
  return {got.data_as<float>(), got.data_as<float>() + got.numel()};
}

double check_out(const Problem& p, const Tensor& out, double tol, const std::string& what) {
  Tensor got = out.to(Device::kCpu);
  const float* g = got.data_as<float>();
  double num = 0, den = 0, max_abs = 0;
  int64_t worst = -1, n_nan = 0;
  for (size_t i = 0; i < p.out_ref.size(); ++i) {
    if (!std::isfinite(g[i])) {
      ++n_nan;
      continue;
    }
    const double e = double(g[i]) - p.out_ref[i];
    num += e * e;
    den += p.out_ref[i] * p.out_ref[i];
    if (std::fabs(e) > max_abs) max_abs = std::fabs(e), worst = int64_t(i);
  }
  const double rel = std::sqrt(num / den);
  const int64_t row = int64_t(p.c.n_head) * p.c.head_dim;
  EXPECT_TRUE(n_nan == 0 && rel < tol)
      << what << ": rel " << rel << " (tol " << tol << "), non-finite " << n_nan << ", max |diff| "
      << max_abs << " at token " << (worst >= 0 ? worst / row : -1) << " head "
      << (worst >= 0 ? worst % row / p.c.head_dim : -1) << " elem "
      << (worst >= 0 ? worst % p.c.head_dim : -1);
  return rel;
}

enum class Kernel { kDecode, kPrefill };

void run_case(const Case& c, DType dt, Kernel kernel, double tol, std::mt19937& rng,
              uint32_t seed) {
  Problem p = make_problem(c, dt, rng);
  const bool tc = kernel == Kernel::kPrefill && (c.head_dim == 64 || c.head_dim == 128);
  reference(p);
  DeviceProblem g = upload(p);
  cu::rope_kv_write(g.qkv.data_as<float>(), g.b, g.d, g.inv_freq.data_as<float>(), g.kv,
                    cu::stream());
  if (kernel == Kernel::kDecode)
    cu::attention_decode(g.qkv.data_as<float>(), g.b, g.d, g.kv, g.out.data_as<float>(),
                         cu::stream());
  else
    cu::attention_prefill(g.qkv.data_as<float>(), g.b, g.d, g.kv, g.out.data_as<float>(),
                          cu::stream());
  const std::string what = std::string(kernel == Kernel::kDecode ? "decode " : "prefill ") +
                           case_str(c, dt) + " seed " + std::to_string(seed);
  const std::vector<float> qkv = check_qkv(p, g, what);
  const auto [k, v] = check_cache(p, g, what);
  attention_reference(p, qkv, k, v, tc);
  const double rel = check_out(p, g.out, tol, what);
  std::printf("  %-100s rel %.2e\n", what.c_str(), rel);
}

const DType kCacheTypes[] = {DType::kF32, DType::kBF16, DType::kF8E4M3};

// rope_kv_write_from_bf16 (the QKV GEMM's BF16 output, llama_cuda.cc's q16) against
// rope_kv_write on the same values in F32: the rotated q heads bit for bit (written to a
// separate F32 buffer, whose k / v columns it leaves alone) and the same cache bytes, for every
// cache type, decode and prefill batches, head_dim 64 / 128 / 32 and groups of 1-8.
TEST(CudaAttention, RopeKvWriteFromBf16MatchesF32OnTheSameValues) {
  QINFER_SKIP_WITHOUT_CUDA();
  const uint32_t seed = testing::fresh_seed();
  std::mt19937 rng(seed);
  const std::vector<Case> cases = {{32, 8, 128, 16, {{0, 1}, {37, 1}, {300, 1}}},
                                   {16, 4, 128, 16, {{10, 33}, {0, 17}, {100, 1}}},
                                   {8, 1, 64, 16, {{2047, 1}, {5, 9}}},
                                   {8, 8, 32, 32, {{40, 2}}}};
  for (const Case& c : cases)
    for (DType dt : kCacheTypes) {
      const std::string what = case_str(c, dt) + " seed " + std::to_string(seed);
      Problem p = make_problem(c, dt, rng);
      for (float& x : p.qkv) x = bf16_to_f32(f32_to_bf16(x));  // values BF16 holds
      ASSERT_TRUE(cu::rope_kv_write_from_bf16_applies(
          {.n_head = c.n_head, .n_head_kv = c.n_head_kv, .head_dim = c.head_dim}))
          << what;
      DeviceProblem f32 = upload(p), b16 = upload(p);
      Tensor h = Tensor::empty(DType::kBF16, {p.n_tok, p.width});
      for (size_t i = 0; i < p.qkv.size(); ++i) h.data_as<uint16_t>()[i] = f32_to_bf16(p.qkv[i]);
      Tensor hd = h.to(Device::kCuda);
      Tensor q = testing::poisoned_cuda({p.n_tok, p.width});
      cu::rope_kv_write(f32.qkv.data_as<float>(), f32.b, f32.d, f32.inv_freq.data_as<float>(),
                        f32.kv, cu::stream());
      cu::rope_kv_write_from_bf16(hd.data(), q.data_as<float>(), b16.b, b16.d,
                                  b16.inv_freq.data_as<float>(), b16.kv, cu::stream());
      const Tensor want = f32.qkv.to(Device::kCpu), got = q.to(Device::kCpu);
      const int64_t q_cols = int64_t(c.n_head) * c.head_dim;
      for (int t = 0; t < p.n_tok; ++t) {
        ASSERT_EQ(0, std::memcmp(got.data_as<float>() + int64_t(t) * p.width,
                                 want.data_as<float>() + int64_t(t) * p.width,
                                 size_t(q_cols) * sizeof(float)))
            << what << ": q heads of token " << t;
        for (int64_t i = q_cols; i < p.width; ++i)  // k / v columns: not written
          ASSERT_TRUE(std::isnan(got.data_as<float>()[int64_t(t) * p.width + i]))
              << what << ": column " << i << " of token " << t << " written";
      }
      for (auto [a, b] : {std::pair{&f32.k, &b16.k}, std::pair{&f32.v, &b16.v}}) {
        const Tensor x = a->to(Device::kCpu), y = b->to(Device::kCpu);
        ASSERT_EQ(0, std::memcmp(x.data(), y.data(), size_t(x.nbytes()))) << what << ": cache";
      }
    }
}

TEST(CudaAttention, DecodeAllCacheDtypes) {
  QINFER_SKIP_WITHOUT_CUDA();
  const uint32_t seed = testing::fresh_seed();
  std::mt19937 rng(seed);
  const std::vector<Case> cases = {
      {32, 8, 128, 16, {{0, 1}, {37, 1}, {300, 1}}},       // decode batch, 8B heads
      {32, 8, 128, 16, {{2100, 1}}},                       // long context: planned splits
      {8, 1, 64, 16, {{2047, 1}, {5, 1}}, 16},             // fixed splits, empty ones, G 8
      {12, 12, 80, 16, {{3, 2}, {0, 1}, {77, 5}}},         // G 1, hd 80, several new tokens
      {16, 4, 128, 16, {{10, 33}, {0, 17}, {100, 1}}, 3},  // mixed batch, fixed 3 splits
      {16, 2, 256, 16, {{70, 3}}},                         // hd 256, G 8
      {4, 2, 16, 16, {{0, 5}, {19, 1}}},                   // hd 16
      {8, 2, 32, 32, {{40, 2}}},                           // hd 32, block 32
      {8, 8, 96, 16, {{1000, 1}, {31, 1}}, 1}};            // hd 96, one split
  for (int path : kPaths) {
    const PathScope scope(path);
    for (const Case& c : cases)
      for (DType dt : kCacheTypes) run_case(c, dt, Kernel::kDecode, 2e-5, rng, seed);
  }
}

// Head dims that are not multiples of 16 (tiny test checkpoints, some Llama variants): the
// wide loads where rows are whole 16-byte words (F32 head_dim % 4, BF16 / FP8 head_dim % 8),
// two elements a lane otherwise (12 for BF16 / FP8; 18, 130, 2 for all).
TEST(CudaAttention, DecodeOddHeadDims) {
  QINFER_SKIP_WITHOUT_CUDA();
  const uint32_t seed = testing::fresh_seed();
  std::mt19937 rng(seed);
  const std::vector<Case> cases = {
      {8, 1, 8, 16, {{0, 1}, {30, 1}, {5, 3}}},  // hd 8, G 8 (tests/golden gqa8_bf16)
      {8, 2, 8, 16, {{700, 1}}},                 // hd 8, planned splits
      {6, 2, 24, 16, {{13, 3}, {100, 1}}},       // hd 24, G 3
      {8, 1, 40, 16, {{200, 1}, {0, 2}}, 4},     // hd 40, G 8, fixed 4 splits
      {32, 8, 80, 16, {{500, 1}, {9, 4}}},       // hd 80, G 4
      {4, 2, 12, 16, {{21, 2}}},                 // hd 12
      {6, 3, 18, 8, {{40, 1}, {0, 3}}, 2},       // hd 18, block 8, fixed 2 splits
      {4, 2, 130, 16, {{50, 2}}},                // hd 130
      {2, 1, 2, 16, {{10, 1}, {0, 2}}}};         // hd 2: one rotated pair
  for (int path : kPaths) {
    const PathScope scope(path);
    for (const Case& c : cases)
      for (DType dt : kCacheTypes) run_case(c, dt, Kernel::kDecode, 2e-5, rng, seed);
  }
}

TEST(CudaAttention, PrefillAllCacheDtypes) {
  QINFER_SKIP_WITHOUT_CUDA();
  const uint32_t seed = testing::fresh_seed();
  std::mt19937 rng(seed);
  const std::vector<Case> cases = {
      {32, 8, 128, 16, {{0, 157}}},                               // one prompt, 8B heads
      {32, 8, 128, 16, {{300, 77}, {0, 1}, {1000, 1}, {5, 64}}},  // chunked + decode mixed
      {8, 8, 64, 16, {{0, 200}, {33, 45}}},                       // G 1, hd 64
      {16, 2, 64, 16, {{129, 130}}},                              // G 8, chunked
      {32, 8, 128, 16, {{0, 520}}},                               // many key tiles
      {12, 4, 80, 16, {{0, 40}, {20, 3}}},                        // hd 80: the decode kernel
      {16, 16, 128, 16, {{17, 2}, {0, 1}}},                       // short rows only
      {8, 2, 128, 12, {{40, 100}, {0, 30}}},                      // block size 12 (divisions)
      // Head dims with no tensor-core tile: the decode kernel.
      {8, 1, 8, 16, {{0, 40}, {7, 20}}},    // hd 8, G 8 (tests/golden gqa8_bf16)
      {6, 2, 24, 16, {{0, 33}}},            // hd 24
      {8, 1, 40, 16, {{16, 30}, {0, 1}}},   // hd 40
      {32, 8, 80, 16, {{0, 100}}},          // hd 80, 8B-like heads
      {6, 3, 18, 16, {{0, 25}, {3, 17}}}};  // hd 18: two elements a lane
  // Every tile shape (set_attention_prefill_tile: 128 query rows a block, with three blocks a
  // multiprocessor at head_dim 64, and 64 rows; 3: the warpgroup-MMA kernel on Hopper).
  for (int tile : {3, 1, 2, 0}) {
    cu::set_attention_prefill_tile(tile);
    std::printf("  prefill tile %d\n", tile);
    for (const Case& c : cases) {
      const bool tc = c.head_dim == 64 || c.head_dim == 128;
      for (DType dt : kCacheTypes)
        run_case(c, dt, Kernel::kPrefill, tc ? 3e-3 : 2e-5, rng, seed);
    }
  }
  cu::set_attention_prefill_tile(-1);
}

// The decode launch replayed from a CUDA graph after the batch's lengths and positions change
// (fixed n_split, caller-owned partials): what the model's graph path relies on. a and b have
// the same n_tok, n_seq and max_blocks, and b owns no more blocks than a.
void graph_replay_case(const Case& a, const Case& b, DType dt, std::mt19937& rng, uint32_t seed) {
  Problem pa = make_problem(a, dt, rng), pb = make_problem(b, dt, rng);
  ASSERT_EQ(pa.n_tok, pb.n_tok);
  ASSERT_EQ(pa.max_blocks, pb.max_blocks);
  ASSERT_GE(pa.n_block, pb.n_block);
  pb.n_block = pa.n_block;
  pb.k0 = pa.k0;
  pb.v0 = pa.v0;
  reference(pb);
  DeviceProblem g = upload(pa);
  const size_t bytes = cu::attention_decode_scratch_bytes(pa.n_tok, g.d, a.n_split);
  void* partials = cu::device_alloc(bytes);
  g.b.partials = static_cast<float*>(partials);
  cudaStream_t s = cu::stream();
  cu::attention_decode_scratch_init(partials, pa.n_tok, g.d, a.n_split, s);
  cudaGraph_t graph = nullptr;
  cudaGraphExec_t exec = nullptr;
  ASSERT_EQ(cudaStreamBeginCapture(s, cudaStreamCaptureModeRelaxed), cudaSuccess);
  cu::rope_kv_write(g.qkv.data_as<float>(), g.b, g.d, g.inv_freq.data_as<float>(), g.kv, s);
  cu::attention_decode(g.qkv.data_as<float>(), g.b, g.d, g.kv, g.out.data_as<float>(), s);
  ASSERT_EQ(cudaStreamEndCapture(s, &graph), cudaSuccess);
  ASSERT_EQ(cudaGraphInstantiate(&exec, graph, 0), cudaSuccess);
  // Rewrite the metadata and inputs in place for batch b, then replay.
  const DeviceProblem gb = upload(pb);
  copy_bytes(g.meta.data(), Device::kCuda, gb.meta.to(Device::kCpu).data(), Device::kCpu,
             g.meta.nbytes());
  copy_bytes(g.qkv.data(), Device::kCuda, gb.qkv.to(Device::kCpu).data(), Device::kCpu,
             g.qkv.nbytes());
  ASSERT_EQ(cudaGraphLaunch(exec, s), cudaSuccess);
  cu::synchronize();
  const std::string what = "graph replay " + case_str(b, dt) + " seed " + std::to_string(seed);
  const std::vector<float> qkv = check_qkv(pb, g, what);
  const auto [k, v] = check_cache(pb, g, what);
  attention_reference(pb, qkv, k, v, false);
  const double rel = check_out(pb, g.out, 2e-5, what);
  std::printf("  %-100s rel %.2e\n", what.c_str(), rel);
  cudaGraphExecDestroy(exec);
  cudaGraphDestroy(graph);
  cu::device_free(partials, bytes);
}

TEST(CudaAttention, DecodeGraphReplayAcrossLengths) {
  QINFER_SKIP_WITHOUT_CUDA();
  const uint32_t seed = testing::fresh_seed();
  std::mt19937 rng(seed);
  // 128 blocks of 16 in both batches.
  const Case a{32, 8, 128, 16, {{2000, 1}, {40, 1}, {2047, 1}}, 8};
  const Case b{32, 8, 128, 16, {{2047, 1}, {900, 1}, {3, 1}}, 8};
  for (int path : kPaths) {
    const PathScope scope(path);
    for (DType dt : {DType::kBF16, DType::kF8E4M3}) graph_replay_case(a, b, dt, rng, seed);
  }
}

// As above for head dims that are not multiples of 16, every cache dtype.
TEST(CudaAttention, DecodeGraphReplayOddHeadDims) {
  QINFER_SKIP_WITHOUT_CUDA();
  const uint32_t seed = testing::fresh_seed();
  std::mt19937 rng(seed);
  const std::vector<std::tuple<int, int, int>> heads = {// (n_head, n_head_kv, head_dim)
                                                        {8, 1, 8},
                                                        {6, 2, 24},
                                                        {8, 1, 40},
                                                        {32, 8, 80},
                                                        {6, 3, 18}};
  for (int path : kPaths) {
    const PathScope scope(path);
    for (auto [nh, nkv, hd] : heads) {
      // 32 blocks of 16 in both batches.
      const Case a{nh, nkv, hd, 16, {{300, 1}, {40, 1}, {511, 1}}, 6};
      const Case b{nh, nkv, hd, 16, {{511, 1}, {200, 1}, {3, 1}}, 6};
      for (DType dt : kCacheTypes) graph_replay_case(a, b, dt, rng, seed);
    }
  }
}

// Graph padding as the model's runner lays it out (src/model/llama_cuda.cc, fill_meta): n_pad
// more sequences repeating the last one (block table, length, position, qkv row), so several
// tokens write the same bytes to the same cache slot.
void add_padding(Problem& p, int n_pad) {
  const int last = p.n_seq - 1;
  const std::vector<int32_t> table(p.tables.begin() + size_t(last) * p.max_blocks,
                                   p.tables.begin() + size_t(last + 1) * p.max_blocks);
  const std::vector<float> row(p.qkv.begin() + size_t(p.n_tok - 1) * p.width,
                               p.qkv.begin() + size_t(p.n_tok) * p.width);
  const int32_t len = p.seq_len[size_t(last)], pos = p.tok_pos.back();
  for (int i = 0; i < n_pad; ++i) {
    p.tables.insert(p.tables.end(), table.begin(), table.end());
    p.seq_len.push_back(len);
    p.tok_seq.push_back(p.n_seq);
    p.tok_pos.push_back(pos);
    p.qkv.insert(p.qkv.end(), row.begin(), row.end());
    p.q_start.push_back(p.n_tok + 1);  // the new sequence starts at the old q_start.back()
    ++p.n_seq;
    ++p.n_tok;
  }
}

// Caller-owned decode scratch as the runner holds it for a graph (n_split > 0; at least 16
// bytes, as Tensor::empty of zero bytes is not allowed): filled with garbage first, as a
// reused allocation would be, then attention_decode_scratch_init. n_split 0: none (the
// backend's scratch).
class CallerPartials {
 public:
  CallerPartials(int n_tok, const cu::AttnDims& d, int n_split) {
    if (n_split <= 0) return;
    bytes_ = std::max<size_t>(cu::attention_decode_scratch_bytes(n_tok, d, n_split), 16);
    p_ = cu::device_alloc(bytes_);
    EXPECT_EQ(cudaMemsetAsync(p_, 0xab, bytes_, cu::stream()), cudaSuccess);
    cu::attention_decode_scratch_init(p_, n_tok, d, n_split, cu::stream());
  }
  CallerPartials(const CallerPartials&) = delete;
  CallerPartials& operator=(const CallerPartials&) = delete;
  ~CallerPartials() {
    if (p_ != nullptr) cu::device_free(p_, bytes_);
  }
  float* get() const { return static_cast<float*>(p_); }
  std::vector<uint8_t> download() const {
    std::vector<uint8_t> h(bytes_);
    if (p_ != nullptr) copy_bytes(h.data(), Device::kCpu, p_, Device::kCuda, bytes_);
    return h;
  }

 private:
  void* p_ = nullptr;
  size_t bytes_ = 0;
};

std::vector<uint8_t> download(const Tensor& t) {
  std::vector<uint8_t> h(t.nbytes());
  copy_bytes(h.data(), Device::kCpu, t.data(), Device::kCuda, h.size());
  return h;
}

// Elements (of elem_size bytes) whose bits differ; prints the first.
int64_t count_diff(const std::vector<uint8_t>& got, const std::vector<uint8_t>& want,
                   size_t elem_size, const std::string& what) {
  EXPECT_EQ(got.size(), want.size()) << what;
  int64_t n = 0;
  for (size_t i = 0; i + elem_size <= std::min(got.size(), want.size()); i += elem_size) {
    if (std::memcmp(&got[i], &want[i], elem_size) == 0) continue;
    if (n++ == 0 && elem_size == 4) {
      float g, w;
      std::memcpy(&g, &got[i], 4);
      std::memcpy(&w, &want[i], 4);
      std::printf("    %s: first difference at element %zu: %.9g vs %.9g\n", what.c_str(),
                  i / elem_size, double(g), double(w));
    }
  }
  return n;
}

void poison(Tensor& t) {
  ASSERT_EQ(cudaMemsetAsync(t.data(), 0xff, t.nbytes(), cu::stream()), cudaSuccess);  // NaN
}

// attention_decode_rope on `got` against rope_kv_write + attention_decode on `ref` (both
// uploaded from p, both with their own scratch): the same bits in out and in the caches, since
// both paths do the same arithmetic (attn::rope_* rotate q and k identically, the cache stores
// the same conversion of the same floats, and the key loop is the same kernel over the same
// bytes); and the fused call leaves qkv as it found it. Then the fused out against the float64
// reference, so that the two paths cannot agree on a wrong answer.
void check_fused(Problem& p, const DeviceProblem& ref, const DeviceProblem& got,
                 const std::string& what) {
  cu::synchronize();
  const int64_t out_diff = count_diff(download(got.out), download(ref.out), 4, what + " out");
  EXPECT_EQ(out_diff, 0) << what << ": out of attention_decode_rope differs from rope_kv_write + "
                         << "attention_decode in " << out_diff << " elements";
  const size_t esz = dtype_size(p.dt);
  EXPECT_EQ(count_diff(download(got.k), download(ref.k), esz, what + " K"), 0)
      << what << ": K cache bytes differ from rope_kv_write's";
  EXPECT_EQ(count_diff(download(got.v), download(ref.v), esz, what + " V"), 0)
      << what << ": V cache bytes differ from rope_kv_write's";
  std::vector<uint8_t> qkv0(p.qkv.size() * sizeof(float));
  std::memcpy(qkv0.data(), p.qkv.data(), qkv0.size());
  EXPECT_EQ(count_diff(download(got.qkv), qkv0, 4, what + " qkv"), 0)
      << what << ": attention_decode_rope wrote qkv";
  const std::vector<float> roped = check_qkv(p, ref, what);
  const auto [k, v] = check_cache(p, got, what);
  attention_reference(p, roped, k, v, false);
  check_out(p, got.out, 2e-5, what);
}

void fused_case(const Case& c, DType dt, int n_pad, std::mt19937& rng, uint32_t seed) {
  Problem p = make_problem(c, dt, rng);
  add_padding(p, n_pad);
  reference(p);
  DeviceProblem ref = upload(p), got = upload(p);
  const CallerPartials ref_part(p.n_tok, ref.d, c.n_split), got_part(p.n_tok, got.d, c.n_split);
  cu::AttnBatch rb = ref.b;
  rb.partials = ref_part.get();
  got.b.partials = got_part.get();
  cudaStream_t s = cu::stream();
  cu::rope_kv_write(ref.qkv.data_as<float>(), rb, ref.d, ref.inv_freq.data_as<float>(), ref.kv, s);
  cu::attention_decode(ref.qkv.data_as<float>(), rb, ref.d, ref.kv, ref.out.data_as<float>(), s);
  const std::string what = "decode_rope " + case_str(c, dt) + " pad " + std::to_string(n_pad) +
                           " seed " + std::to_string(seed);
  const std::vector<uint8_t> part0 = got_part.download();
  // Twice: the second call must find the split counters back at zero (out poisoned between;
  // the cache receives the same bytes again).
  for (int call = 0; call < 2; ++call) {
    if (call == 1) poison(got.out);
    cu::attention_decode_rope(got.qkv.data_as<float>(), got.b, got.d, got.inv_freq.data_as<float>(),
                              got.kv, got.out.data_as<float>(), s);
    check_fused(p, ref, got, what + " call " + std::to_string(call));
  }
  // The latency path (sm_90, at most one (token, KV head) unit per 16 SMs) merges
  // its splits in shared memory and leaves the caller's partials as it found them; the
  // classic kernel writes its split partials there. So this shows which kernel ran.
  const bool latency = g_path == 2 && cu::compute_capability() >= 90 &&
                       int64_t(p.n_tok) * c.n_head_kv * 16 <= cu::sm_count();
  if (latency && c.n_split > 1) {
    EXPECT_EQ(count_diff(got_part.download(), part0, 1, what + " partials"), 0)
        << what << ": the latency path wrote the caller's partials (the classic kernel ran?)";
  }
  std::printf("  %s\n", what.c_str());
}

// Every cache dtype; head_dim 64, 128 and three others (40, 96: 16-byte rows; 18: two elements
// a lane); group 1, 4, 8; planned splits (the backend's scratch) and 1, 3, 8 fixed ones
// (caller-owned partials); lengths 1 (fewer keys than splits), 16, 17, 32 (block boundaries of
// 16), 301, and two padding rows repeating the last.
TEST(CudaAttention, DecodeRopeMatchesRopeThenDecode) {
  QINFER_SKIP_WITHOUT_CUDA();
  const uint32_t seed = testing::fresh_seed();
  std::mt19937 rng(seed);
  for (int path : kPaths) {
    const PathScope scope(path);
    for (int hd : {64, 128, 40, 96, 18})
      for (int group : {1, 4, 8})
        for (int n_split : {0, 1, 3, 8}) {
          const Case c{2 * group, 2, hd, 16, {{0, 1}, {15, 1}, {16, 1}, {31, 1}, {300, 1}},
                       n_split};
          for (DType dt : kCacheTypes) fused_case(c, dt, 2, rng, seed);
        }
    // Llama-3.1-8B heads over a long context, planned and fixed splits, no padding.
    for (int n_split : {0, 8})
      for (DType dt : kCacheTypes)
        fused_case({32, 8, 128, 16, {{2047, 1}, {0, 1}, {1000, 1}}, n_split}, dt, 0, rng, seed);
  }
}

// The latency path at small batches: 1 token, and 3 (two sequences and a padding row
// repeating the second), over contexts of 1, 17, 300 and 2100 positions; every cache dtype,
// group 1 / 4 / 8, head_dim 64 / 128; planned splits and fixed ones beyond what the context
// needs (8, the most one cluster takes, and 16, which the latency path caps at 8). Each case
// is held to rope_kv_write + attention_decode bit for bit and to the float64 reference
// (fused_case), and shows it ran the latency kernel (untouched partials) where it applies.
TEST(CudaAttention, DecodeRopeLatencyPathSmallBatches) {
  QINFER_SKIP_WITHOUT_CUDA();
  const uint32_t seed = testing::fresh_seed();
  std::mt19937 rng(seed);
  const PathScope scope(2);
  for (int ctx : {1, 17, 300, 2100})
    for (int hd : {64, 128})
      for (int group : {1, 4, 8})
        for (int n_split : {0, 8, 16})
          for (DType dt : kCacheTypes) {
            fused_case({2 * group, 2, hd, 16, {{ctx - 1, 1}}, n_split}, dt, 0, rng, seed);
            fused_case({2 * group, 2, hd, 16, {{ctx - 1, 1}, {16, 1}}, n_split}, dt, 1, rng, seed);
          }
}

// The model's graph path: attention_decode_rope with fixed n_split and caller-owned partials
// captured once, then replayed over batches whose lengths, positions, inputs and caches change
// (the same number of tokens and block-table width), each against rope_kv_write +
// attention_decode run eagerly on its own copy. out is poisoned before every replay, so a
// counter left non-zero by the previous replay (no block merging) shows as NaN.
void fused_graph_case(int nh, int nkv, int hd, int n_split, DType dt, std::mt19937& rng,
                      uint32_t seed) {
  // Blocks of 16: every batch's longest sequence takes 32, the first batch owns the most.
  const std::vector<std::vector<std::pair<int, int>>> batches = {{{500, 1}, {300, 1}, {511, 1}},
                                                                 {{511, 1}, {0, 1}, {3, 1}},
                                                                 {{7, 1}, {497, 1}, {15, 1}},
                                                                 {{500, 1}, {300, 1}, {511, 1}}};
  std::vector<Problem> ps;
  for (const auto& seqs : batches) {
    ps.push_back(make_problem({nh, nkv, hd, 16, seqs, n_split}, dt, rng));
    add_padding(ps.back(), 1);
  }
  for (Problem& p : ps) {
    ASSERT_EQ(p.n_tok, ps[0].n_tok);
    ASSERT_EQ(p.max_blocks, ps[0].max_blocks);
    ASSERT_GE(ps[0].n_block, p.n_block);
    p.n_block = ps[0].n_block;
    p.k0 = ps[0].k0;
    p.v0 = ps[0].v0;
    reference(p);
  }
  DeviceProblem g = upload(ps[0]);
  const CallerPartials part(g.b.n_tok, g.d, n_split);
  g.b.partials = part.get();
  cudaStream_t s = cu::stream();
  cu::synchronize();
  cudaGraph_t graph = nullptr;
  cudaGraphExec_t exec = nullptr;
  ASSERT_EQ(cudaStreamBeginCapture(s, cudaStreamCaptureModeRelaxed), cudaSuccess);
  cu::attention_decode_rope(g.qkv.data_as<float>(), g.b, g.d, g.inv_freq.data_as<float>(), g.kv,
                            g.out.data_as<float>(), s);
  ASSERT_EQ(cudaStreamEndCapture(s, &graph), cudaSuccess);
  ASSERT_EQ(cudaGraphInstantiate(&exec, graph, 0), cudaSuccess);
  for (size_t i = 0; i < ps.size(); ++i) {
    Problem& p = ps[i];
    const DeviceProblem src = upload(p);
    // Rewrite metadata, inputs and caches in place, then replay.
    for (auto [dst, from] : {std::pair{&g.meta, &src.meta}, std::pair{&g.qkv, &src.qkv},
                             std::pair{&g.k, &src.k}, std::pair{&g.v, &src.v}}) {
      ASSERT_EQ(dst->nbytes(), from->nbytes());
      copy_bytes(dst->data(), Device::kCuda, from->data(), Device::kCuda, dst->nbytes());
    }
    poison(g.out);
    ASSERT_EQ(cudaGraphLaunch(exec, s), cudaSuccess);
    // The reference path on its own copy (the backend's scratch, same split count).
    DeviceProblem ref = upload(p);
    cu::rope_kv_write(ref.qkv.data_as<float>(), ref.b, ref.d, ref.inv_freq.data_as<float>(), ref.kv,
                      s);
    cu::attention_decode(ref.qkv.data_as<float>(), ref.b, ref.d, ref.kv, ref.out.data_as<float>(),
                         s);
    std::string what = "decode_rope graph replay " + std::to_string(i) + " " + case_str(p.c, dt) +
                       " pad 1 seed " + std::to_string(seed);
    check_fused(p, ref, g, what);
    std::printf("  %s\n", what.c_str());
  }
  cudaGraphExecDestroy(exec);
  cudaGraphDestroy(graph);
}

TEST(CudaAttention, DecodeRopeGraphReplayAcrossLengths) {
  QINFER_SKIP_WITHOUT_CUDA();
  const uint32_t seed = testing::fresh_seed();
  std::mt19937 rng(seed);
  const std::vector<std::tuple<int, int, int, int>> shapes = {
      // (n_head, n_head_kv, head_dim, n_split)
      {32, 8, 128, 8},
      {16, 2, 64, 3},
      {8, 1, 40, 8},
      {12, 12, 96, 1},
      {8, 2, 18, 3}};
  for (int path : kPaths) {
    const PathScope scope(path);
    for (auto [nh, nkv, hd, n_split] : shapes)
      for (DType dt : kCacheTypes) fused_graph_case(nh, nkv, hd, n_split, dt, rng, seed);
  }
}

// ops::attention (the cross-backend op) on CUDA against the CPU's F32 result: an F32 cache
// within 1e-5, a BF16 cache within its rounding. 100 new tokens take attention_prefill for a
// BF16 cache at head_dim 128, attention_decode otherwise.
void generic_op_case(int nh, int nkv, int hd, DType cache, std::mt19937& rng, uint32_t seed) {
  const int bs = 16;
  const std::vector<std::pair<int64_t, int64_t>> seqs_np = {{0, 100}, {50, 1}, {7, 30}};
  int64_t n_tok = 0, n_block = 0;
  for (auto [past, nw] : seqs_np) n_tok += nw, n_block += (past + nw + bs - 1) / bs;
  std::vector<std::vector<int32_t>> tables;
  std::vector<ops::AttentionSeq> seqs;
  int32_t next = 0;
  for (auto [past, nw] : seqs_np) {
    tables.emplace_back();
    for (int64_t b = 0; b < (past + nw + bs - 1) / bs; ++b) tables.back().push_back(next++);
  }
  for (size_t s = 0; s < seqs_np.size(); ++s)
    seqs.push_back({.n_past = seqs_np[s].first,
                    .n_new = seqs_np[s].second,
                    .block_table = tables[s].data(),
                    .n_block_table = int64_t(tables[s].size())});
  const ops::AttentionDims dims{
      .n_head = nh, .n_head_kv = nkv, .head_dim = hd, .scale = 1.0f / std::sqrt(float(hd))};
  // Past K/V representable in BF16, so the two caches start equal.
  Tensor kc = testing::random_f32({n_block, bs, nkv, hd}, rng, -2.0f, 2.0f);
  Tensor vc = testing::random_f32({n_block, bs, nkv, hd}, rng);
  for (Tensor* t : {&kc, &vc})
    for (int64_t i = 0; i < t->numel(); ++i)
      t->data_as<float>()[i] = round_bf16(t->data_as<float>()[i]);
  Tensor qkv = testing::random_f32({n_tok, (nh + 2 * nkv) * hd}, rng, -2.0f, 2.0f);
  const auto to_cuda = [cache](const Tensor& f) {
    if (cache == DType::kF32) return f.to(Device::kCuda);
    Tensor h = Tensor::empty(DType::kBF16, f.shape());
    for (int64_t i = 0; i < f.numel(); ++i)
      h.data_as<uint16_t>()[i] = f32_to_bf16(f.data_as<float>()[i]);
    return h.to(Device::kCuda);
  };
  Tensor kg = to_cuda(kc), vg = to_cuda(vc);
  Tensor got = testing::poisoned_cuda({n_tok, int64_t(nh) * hd});
  ops::attention(qkv.to(Device::kCuda), seqs, dims, kg, vg, got);
  Tensor want = Tensor::empty(DType::kF32, {n_tok, int64_t(nh) * hd});
  ops::attention(qkv, seqs, dims, kc, vc, want);
  const testing::Diff df = testing::compare(got, want);
  const double tol = cache == DType::kF32 ? 1e-5 : 1e-2;
  EXPECT_TRUE(df.n_nan == 0 && df.rel < tol)
      << "generic op " << dtype_name(cache) << " cache, heads " << nh << "/" << nkv << " hd " << hd
      << ", seed " << seed << ": " << testing::describe(df, got, want);
  std::printf("  generic op, %s cache, hd %d vs CPU F32: rel %.2e\n",
              std::string(dtype_name(cache)).c_str(), hd, df.rel);
}

TEST(CudaAttention, GenericOpBf16CacheMatchesCpu) {
  QINFER_SKIP_WITHOUT_CUDA();
  const uint32_t seed = testing::fresh_seed();
  std::mt19937 rng(seed);
  generic_op_case(32, 8, 128, DType::kBF16, rng, seed);
}

TEST(CudaAttention, GenericOpOddHeadDimsMatchCpu) {
  QINFER_SKIP_WITHOUT_CUDA();
  const uint32_t seed = testing::fresh_seed();
  std::mt19937 rng(seed);
  const std::vector<std::tuple<int, int, int>> heads = {// (n_head, n_head_kv, head_dim)
                                                        {8, 1, 8},
                                                        {6, 2, 24},
                                                        {8, 1, 40},
                                                        {12, 4, 80},
                                                        {6, 3, 18}};
  for (auto [nh, nkv, hd] : heads)
    for (DType cache : {DType::kF32, DType::kBF16}) generic_op_case(nh, nkv, hd, cache, rng, seed);
}

}  // namespace
}  // namespace qinfer

#else

TEST(CudaAttention, NeedsCudaBuild) {
  GTEST_SKIP() << "built without CUDA";
}

#endif

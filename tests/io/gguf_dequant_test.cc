// Dequantizers against the published block formulas (ggml-common.h layouts), re-derived per
// element here: each expected value is computed from the element's own index, not by running
// the reader's loop structure.
#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <vector>

#include "core/dtype.h"
#include "core/error.h"
#include "io/gguf.h"

namespace qinfer::io {
namespace {

std::mt19937 rng(1234);

uint16_t rand_half(float lo, float hi) {
  std::uniform_real_distribution<float> u(lo, hi);
  return f32_to_f16(u(rng));
}
float h2f(const uint8_t* p) {
  uint16_t h;
  std::memcpy(&h, p, 2);
  return f16_to_f32(h);
}
std::vector<uint8_t> rand_bytes(size_t n) {
  std::uniform_int_distribution<int> u(0, 255);
  std::vector<uint8_t> b(n);
  for (auto& x : b) x = uint8_t(u(rng));
  return b;
}
void put_half(uint8_t* p, uint16_t h) { std::memcpy(p, &h, 2); }

// Random blocks with sane fp16 scales in the header fields; the rest random bits.
std::vector<uint8_t> blocks(GgmlType t, int n_blocks) {
  const GgmlTypeTraits* tr = ggml_type_traits(uint32_t(t));
  std::vector<uint8_t> b = rand_bytes(tr->block_bytes * size_t(n_blocks));
  for (int i = 0; i < n_blocks; ++i) {
    uint8_t* p = b.data() + i * tr->block_bytes;
    switch (t) {
      case GgmlType::kQ4_0: case GgmlType::kQ5_0: case GgmlType::kQ8_0:
        put_half(p, rand_half(-0.1f, 0.1f));
        break;
      case GgmlType::kQ4_1: case GgmlType::kQ5_1: case GgmlType::kQ4_K: case GgmlType::kQ5_K:
        put_half(p, rand_half(-0.1f, 0.1f));
        put_half(p + 2, rand_half(-0.5f, 0.5f));
        break;
      case GgmlType::kQ6_K: put_half(p + 208, rand_half(-0.01f, 0.01f)); break;
      default: break;
    }
  }
  return b;
}

// Expected value of element e (0..block_size) of one block, by the format's formula.
float expect_legacy(GgmlType t, const uint8_t* b, int e) {
  const int j = e % 16;
  const bool high = e >= 16;
  switch (t) {
    case GgmlType::kQ4_0: {
      const int nib = high ? b[2 + j] >> 4 : b[2 + j] & 15;
      return float(nib - 8) * h2f(b);
    }
    case GgmlType::kQ4_1: {
      const int nib = high ? b[4 + j] >> 4 : b[4 + j] & 15;
      return float(nib) * h2f(b) + h2f(b + 2);
    }
    case GgmlType::kQ5_0: {
      uint32_t qh;
      std::memcpy(&qh, b + 2, 4);
      const int nib = high ? b[6 + j] >> 4 : b[6 + j] & 15;
      const int q = nib | int((qh >> e) & 1) << 4;
      return float(q - 16) * h2f(b);
    }
    case GgmlType::kQ5_1: {
      uint32_t qh;
      std::memcpy(&qh, b + 4, 4);
      const int nib = high ? b[8 + j] >> 4 : b[8 + j] & 15;
      const int q = nib | int((qh >> e) & 1) << 4;
      return float(q) * h2f(b) + h2f(b + 2);
    }
    case GgmlType::kQ8_0: return float(int8_t(b[2 + e])) * h2f(b);
    default: return 0.0f;
  }
}

// K-quants: sub-block s = e / 32 has a 6-bit scale and min packed in scales[12].
void k_scale_min(const uint8_t* sc, int s, int* scale, int* min) {
  if (s < 4) {
    *scale = sc[s] & 63;
    *min = sc[s + 4] & 63;
  } else {
    *scale = (sc[s + 4] & 15) | ((sc[s - 4] >> 6) << 4);
    *min = (sc[s + 4] >> 4) | ((sc[s] >> 6) << 4);
  }
}

float expect_k(GgmlType t, const uint8_t* b, int e) {
  if (t == GgmlType::kQ6_K) {
    const int half = e / 128, r = e % 128, l = r % 32, g = r / 32;
    const uint8_t qlb = b[half * 64 + l + (g & 1) * 32];
    const int lo = g < 2 ? qlb & 15 : qlb >> 4;
    const int hi = (b[128 + half * 32 + l] >> (2 * g)) & 3;
    const int sc = int8_t(b[192 + half * 8 + l / 16 + 2 * g]);
    return h2f(b + 208) * float(sc) * float((lo | hi << 4) - 32);
  }
  const int s = e / 32, chunk = e / 64, l = e % 32;
  int scale, min;
  k_scale_min(b + 4, s, &scale, &min);
  const uint8_t* qs = b + (t == GgmlType::kQ4_K ? 16 : 48);
  int q = (e % 64) < 32 ? qs[chunk * 32 + l] & 15 : qs[chunk * 32 + l] >> 4;
  if (t == GgmlType::kQ5_K) q += ((b[16 + l] >> s) & 1) * 16;
  return (h2f(b) * float(scale)) * float(q) - h2f(b + 2) * float(min);
}

class DequantTest : public ::testing::TestWithParam<GgmlType> {};

TEST_P(DequantTest, MatchesPublishedFormula) {
  const GgmlType t = GetParam();
  const GgmlTypeTraits* tr = ggml_type_traits(uint32_t(t));
  const int n_blocks = 7;
  const std::vector<uint8_t> b = blocks(t, n_blocks);
  std::vector<float> y(size_t(tr->block_size * n_blocks));
  ggml_dequantize_row(t, b.data(), y.data(), int64_t(y.size()));
  for (int i = 0; i < n_blocks; ++i) {
    const uint8_t* blk = b.data() + i * tr->block_bytes;
    for (int e = 0; e < tr->block_size; ++e) {
      const float want = tr->block_size == 32 ? expect_legacy(t, blk, e) : expect_k(t, blk, e);
      ASSERT_EQ(y[size_t(i * tr->block_size + e)], want)
          << tr->name << " block " << i << " element " << e << " differs by "
          << y[size_t(i * tr->block_size + e)] - want;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Gguf, DequantTest,
                         ::testing::Values(GgmlType::kQ4_0, GgmlType::kQ4_1, GgmlType::kQ5_0,
                                           GgmlType::kQ5_1, GgmlType::kQ8_0, GgmlType::kQ4_K,
                                           GgmlType::kQ5_K, GgmlType::kQ6_K),
                         [](const auto& info) {
                           return std::string(ggml_type_traits(uint32_t(info.param))->name);
                         });

// Hand-computed values: Q4_1 with d = 0.5, m = -1 and nibbles 0..15 / 15..0.
TEST(GgufDequant, Q4_1KnownValues) {
  uint8_t b[20];
  put_half(b, f32_to_f16(0.5f));
  put_half(b + 2, f32_to_f16(-1.0f));
  for (int j = 0; j < 16; ++j) b[4 + j] = uint8_t(j | (15 - j) << 4);
  float y[32];
  ggml_dequantize_row(GgmlType::kQ4_1, b, y, 32);
  for (int j = 0; j < 16; ++j) {
    EXPECT_EQ(y[j], 0.5f * float(j) - 1.0f) << j;
    EXPECT_EQ(y[16 + j], 0.5f * float(15 - j) - 1.0f) << j;
  }
}

// Q6_K with every scale 1, d = 1: element e holds q - 32 where q is its 6-bit code.
TEST(GgufDequant, Q6_KKnownValues) {
  std::vector<uint8_t> b(210, 0);
  for (int i = 0; i < 16; ++i) b[192 + i] = 1;
  put_half(b.data() + 208, f32_to_f16(1.0f));
  b[0] = 0x5A;         // element 0 low nibble 0xA, element 64 low nibble 0x5
  b[128] = 0b11100100;  // element 0 hi 0, element 32 hi 1, element 64 hi 2, element 96 hi 3
  float y[256];
  ggml_dequantize_row(GgmlType::kQ6_K, b.data(), y, 256);
  EXPECT_EQ(y[0], float(0xA - 32));
  EXPECT_EQ(y[32], float((0 | 1 << 4) - 32));
  EXPECT_EQ(y[64], float((0x5 | 2 << 4) - 32));
  EXPECT_EQ(y[96], float((0 | 3 << 4) - 32));
  EXPECT_EQ(y[1], -32.0f);
}

TEST(GgufDequant, RejectsPartialBlocks) {
  std::vector<uint8_t> b(18, 0);
  float y[32];
  EXPECT_THROW(ggml_dequantize_row(GgmlType::kQ4_0, b.data(), y, 31), Error);
}

}  // namespace
}  // namespace qinfer::io

// Dense linear with AVX-512: 16 fp32 lanes; BF16 widened by a 16-bit shift, F16 by vcvtph2ps.
// GCC 12's avx512fintrin.h trips -Wuninitialized inside the header (GCC bug 105593).
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include "ops/cpu/linear_dense_isa.h"
#include "ops/cpu/linear_dense_tile.h"

namespace qinfer::ops::cpu {

namespace {

struct Avx512 {
  using Reg = __m512;
  static constexpr int64_t kWidth = 16;
  static constexpr int64_t kDecodeRows = 8;
  static Reg zero() { return _mm512_setzero_ps(); }
  static Reg fma(Reg a, Reg b, Reg c) { return _mm512_fmadd_ps(a, b, c); }
  static float reduce(Reg r) { return _mm512_reduce_add_ps(r); }
  static Reg load_x(const float* p) { return _mm512_loadu_ps(p); }
  template <DType D>
  static Reg load_w(const char* row, int64_t k) {
    if constexpr (D == DType::kF32) {
      return _mm512_loadu_ps(reinterpret_cast<const float*>(row) + k);
    } else {
      const __m256i h = _mm256_loadu_si256(
          reinterpret_cast<const __m256i*>(reinterpret_cast<const uint16_t*>(row) + k));
      if constexpr (D == DType::kBF16)
        return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
      else
        return _mm512_cvtph_ps(h);
    }
  }
};

// BF16 weights, 32 at a time: one 64-byte load holds pairs (w[2j], w[2j+1]) in each 32-bit
// lane; `<< 16` yields the even elements as floats and `& 0xffff0000` the odd ones, two
// instructions for 32 weights instead of a widening shuffle per 16. The activations are
// pre-arranged to match: per 32-block, the 16 even elements, then the 16 odd ones.
struct Avx512Tiles : tile::GenericTiles<Avx512> {
  template <int R, int T>
  static void bf16_pairs(const char* w, size_t row_bytes, int64_t n_in, const float* x, float* y,
                         int64_t n_out, const float* bias) {
    __m512 acc[R][T];
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r)
#pragma GCC unroll 8
      for (int t = 0; t < T; ++t) acc[r][t] = _mm512_setzero_ps();
    const __m512i hi = _mm512_set1_epi32(int32_t(0xffff0000u));
    const int64_t k_full = n_in / 32 * 32;
    for (int64_t k = 0; k < k_full; k += 32) {
      __m512 we[R], wo[R];
#pragma GCC unroll 8
      for (int r = 0; r < R; ++r) {
        // A single token reads each weight once: fetch the next tile's rows into L2 while
        // this one computes (each row is its own short stream, which hardware prefetchers
        // pick up late).
        if constexpr (T == 1)
          __builtin_prefetch(w + size_t(R + r) * row_bytes + size_t(k) * 2, 0, 2);
        const __m512i v = _mm512_loadu_si512(w + size_t(r) * row_bytes + size_t(k) * 2);
        we[r] = _mm512_castsi512_ps(_mm512_slli_epi32(v, 16));
        wo[r] = _mm512_castsi512_ps(_mm512_and_si512(v, hi));
      }
#pragma GCC unroll 8
      for (int t = 0; t < T; ++t) {
        const __m512 xe = _mm512_loadu_ps(x + t * n_in + k);
        const __m512 xo = _mm512_loadu_ps(x + t * n_in + k + 16);
#pragma GCC unroll 8
        for (int r = 0; r < R; ++r)
          acc[r][t] = _mm512_fmadd_ps(wo[r], xo, _mm512_fmadd_ps(we[r], xe, acc[r][t]));
      }
    }
    for (int r = 0; r < R; ++r)
      for (int t = 0; t < T; ++t) {
        float s = _mm512_reduce_add_ps(acc[r][t]);
        for (int64_t k = k_full; k < n_in; ++k)  // tail: natural order in both x and w
          s += x[t * n_in + k] * load_as_f32(w + size_t(r) * row_bytes, DType::kBF16, size_t(k));
        y[t * n_out + r] = s + (bias ? bias[r] : 0.0f);
      }
  }

  template <DType D, int R>
  static void tile_rows(const char* w, size_t row_bytes, int64_t n_in, const float* x,
                        int64_t n_tok, float* y, int64_t n_out, const float* bias) {
    if constexpr (D != DType::kBF16) {
      tile::dense_tile_rows<Avx512, D, R>(w, row_bytes, n_in, x, n_tok, y, n_out, bias);
    } else {
      switch (n_tok) {
        case 4:
          return bf16_pairs<R, 4>(w, row_bytes, n_in, x, y, n_out, bias);
        case 3:
          return bf16_pairs<R, 3>(w, row_bytes, n_in, x, y, n_out, bias);
        case 2:
          return bf16_pairs<R, 2>(w, row_bytes, n_in, x, y, n_out, bias);
        default:
          return bf16_pairs<R, 1>(w, row_bytes, n_in, x, y, n_out, bias);
      }
    }
  }

  template <DType D>
  static const float* prepare_x(const float* x, int64_t n, int64_t n_in, std::vector<float>* buf) {
    if constexpr (D != DType::kBF16) return x;
    buf->assign(x, x + n * n_in);
    const int64_t k_full = n_in / 32 * 32;
    for (int64_t t = 0; t < n; ++t)
      for (int64_t k = 0; k < k_full; k += 32)
        for (int64_t j = 0; j < 16; ++j) {
          (*buf)[size_t(t * n_in + k + j)] = x[t * n_in + k + 2 * j];
          (*buf)[size_t(t * n_in + k + 16 + j)] = x[t * n_in + k + 2 * j + 1];
        }
    return buf->data();
  }
};

}  // namespace

void linear_dense_avx512(const LinearWeight& w, const float* x, int64_t n, float* y) {
  tile::dense_any<Avx512, Avx512Tiles>(w, x, n, y);
}

}  // namespace qinfer::ops::cpu

// Dense linear with AVX2 + FMA + F16C: 8 fp32 lanes; BF16 widened by a 16-bit shift.
#include <immintrin.h>

#include "ops/cpu/linear_dense_isa.h"
#include "ops/cpu/linear_dense_tile.h"

namespace qinfer::ops::cpu {

namespace {

struct Avx2 {
  using Reg = __m256;
  static constexpr int64_t kWidth = 8;
  static constexpr int64_t kDecodeRows = 4;
  static Reg zero() { return _mm256_setzero_ps(); }
  static Reg fma(Reg a, Reg b, Reg c) { return _mm256_fmadd_ps(a, b, c); }
  static float reduce(Reg r) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(r), _mm256_extractf128_ps(r, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
  }
  static Reg load_x(const float* p) { return _mm256_loadu_ps(p); }
  template <DType D>
  static Reg load_w(const char* row, int64_t k) {
    if constexpr (D == DType::kF32) {
      return _mm256_loadu_ps(reinterpret_cast<const float*>(row) + k);
    } else {
      const __m128i h = _mm_loadu_si128(
          reinterpret_cast<const __m128i*>(reinterpret_cast<const uint16_t*>(row) + k));
      if constexpr (D == DType::kBF16)
        return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
      else
        return _mm256_cvtph_ps(h);
    }
  }
};

}  // namespace

void linear_dense_avx2(const LinearWeight& w, const float* x, int64_t n, float* y) {
  tile::dense_any<Avx2>(w, x, n, y);
}

}  // namespace qinfer::ops::cpu

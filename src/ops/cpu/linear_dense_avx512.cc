// Dense linear with AVX-512: 16 fp32 lanes; BF16 widened by a 16-bit shift, F16 by vcvtph2ps.
// GCC 12's avx512fintrin.h trips -Wuninitialized inside the header (GCC bug 105593).
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include "ops/cpu/linear_dense_tile.h"
#include "ops/cpu/linear_dense_isa.h"

namespace qinfer::ops::cpu {

namespace {

struct Avx512 {
  using Reg = __m512;
  static constexpr int64_t kWidth = 16;
  static Reg zero() { return _mm512_setzero_ps(); }
  static Reg fma(Reg a, Reg b, Reg c) { return _mm512_fmadd_ps(a, b, c); }
  static float reduce(Reg r) { return _mm512_reduce_add_ps(r); }
  static Reg load_x(const float* p) { return _mm512_loadu_ps(p); }
  template <DType D>
  static Reg load_w(const char* row, int64_t k) {
    if constexpr (D == DType::kF32) {
      return _mm512_loadu_ps(reinterpret_cast<const float*>(row) + k);
    } else {
      const __m256i h = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(
          reinterpret_cast<const uint16_t*>(row) + k));
      if constexpr (D == DType::kBF16)
        return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
      else
        return _mm512_cvtph_ps(h);
    }
  }
};

}  // namespace

void linear_dense_avx512(const LinearWeight& w, const float* x, int64_t n, float* y) {
  tile::dense_any<Avx512>(w, x, n, y);
}

}  // namespace qinfer::ops::cpu

// AVX-512 FP8 dot kernel: 16 weight bytes at a time are decoded to f32 in registers
// and fed to FMAs; the weights are never widened in memory.
//
// Decoding E4M3FN without a table: sign-extend the byte to 32 bits and shift left by 20. Bits
// 20..26 then hold the 7 exponent+mantissa bits and bits 27..31 copies of the sign; masking with
// 0x87F00000 leaves sign | (e4m3 magnitude << 20), which read as an f32 is exactly the fp8 value
// times 2^-120 (exponent bias 127 vs 7; fp8 subnormals become f32 subnormals). Instead of
// multiplying every weight by 2^120, the caller passes x scaled by 2^64 (kAvx512XScale) and
// scales the sums by 2^56 (kAvx512AccScale): powers of two, so the result is the same as
// decoding exactly, while the products x * 2^64 * w * 2^-120 stay well inside the normal range.
// NaN codes (0x7F/0xFF) decode to +-480; quantized checkpoints never store them.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include <algorithm>

#include "core/dtype.h"
#include "ops/cpu/linear_fp8_kernels.h"

namespace qinfer::ops::cpu::fp8 {
namespace {

inline __m512 decode16(__m128i bytes) {
  const __m512i v = _mm512_cvtepi8_epi32(bytes);
  const __m512i bits =
      _mm512_and_si512(_mm512_slli_epi32(v, 20), _mm512_set1_epi32(int(0x87F00000u)));
  return _mm512_castsi512_ps(bits);  // fp8 value * 2^-120
}

// Horizontal sum (_mm512_reduce_add_ps trips g++ 12's -Wmaybe-uninitialized).
inline float hsum(__m512 v) {
  const __m256 a = _mm256_add_ps(_mm512_castps512_ps256(v), _mm512_extractf32x8_ps(v, 1));
  const __m128 b = _mm_add_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
  const __m128 c = _mm_add_ps(b, _mm_movehl_ps(b, b));
  return _mm_cvtss_f32(_mm_add_ss(c, _mm_shuffle_ps(c, c, 1)));
}

// R rows of x against one weight row: R accumulators, 16 lanes each; tail by masked loads.
template <int R>
inline void dot_rows(const uint8_t* w, int64_t n_in, const float* x, float* out,
                     int64_t out_stride) {
  __m512 acc[R];
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r) acc[r] = _mm512_setzero_ps();
  int64_t k = 0;
  for (; k + 16 <= n_in; k += 16) {
    const __m512 wf = decode16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(w + k)));
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r)
      acc[r] = _mm512_fmadd_ps(_mm512_loadu_ps(x + r * n_in + k), wf, acc[r]);
  }
  if (k < n_in) {
    const __mmask16 m = __mmask16((1u << (n_in - k)) - 1u);
    const __m512 wf = decode16(_mm_maskz_loadu_epi8(m, w + k));
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r)
      acc[r] = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, x + r * n_in + k), wf, acc[r]);
  }
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r) out[r * out_stride] = hsum(acc[r]);
}

// Prefill micro-kernel: 2 weight rows x R rows of x, 2R accumulators. Each decoded weight
// vector feeds R FMAs and each x vector 2, so neither the decode nor the x loads (from L2)
// bound the FMA rate as they do with one weight row at a time.
template <int R>
inline void dot_2xR(const uint8_t* w, int64_t n_in, const float* x, float* out, int64_t ld) {
  __m512 acc0[R], acc1[R];
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r) acc0[r] = acc1[r] = _mm512_setzero_ps();
  for (int64_t k = 0; k < n_in; k += 16) {
    const __mmask16 m = n_in - k >= 16 ? __mmask16(0xffff) : __mmask16((1u << (n_in - k)) - 1u);
    const __m512 w0 = decode16(_mm_maskz_loadu_epi8(m, w + k));
    const __m512 w1 = decode16(_mm_maskz_loadu_epi8(m, w + n_in + k));
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
      const __m512 xv = _mm512_maskz_loadu_ps(m, x + r * n_in + k);
      acc0[r] = _mm512_fmadd_ps(xv, w0, acc0[r]);
      acc1[r] = _mm512_fmadd_ps(xv, w1, acc1[r]);
    }
  }
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r) {
    out[r * ld] = hsum(acc0[r]);
    out[r * ld + 1] = hsum(acc1[r]);
  }
}

// One weight row against one row of x, read strictly in order (a cache line per step, four
// independent accumulators): decode streams the weights once, and a single sequential stream
// per thread is what the hardware prefetchers follow best.
inline float dot_row(const uint8_t* w, int64_t n_in, const float* x) {
  __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
  int64_t k = 0;
  for (; k + 64 <= n_in; k += 64) {
    _mm_prefetch(reinterpret_cast<const char*>(w + k + 1024), _MM_HINT_T0);
    const __m128i* p = reinterpret_cast<const __m128i*>(w + k);
    a0 = _mm512_fmadd_ps(_mm512_loadu_ps(x + k), decode16(_mm_loadu_si128(p)), a0);
    a1 = _mm512_fmadd_ps(_mm512_loadu_ps(x + k + 16), decode16(_mm_loadu_si128(p + 1)), a1);
    a2 = _mm512_fmadd_ps(_mm512_loadu_ps(x + k + 32), decode16(_mm_loadu_si128(p + 2)), a2);
    a3 = _mm512_fmadd_ps(_mm512_loadu_ps(x + k + 48), decode16(_mm_loadu_si128(p + 3)), a3);
  }
  for (; k < n_in; k += 16) {
    const __mmask16 m = n_in - k >= 16 ? __mmask16(0xffff) : __mmask16((1u << (n_in - k)) - 1u);
    a0 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, x + k), decode16(_mm_maskz_loadu_epi8(m, w + k)),
                         a0);
  }
  return hsum(_mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)));
}

// fp8(v) as an f32, round-to-nearest-even, for |v| <= 448 or NaN (callers clamp first): the
// f32 mantissa rounded to 3 bits (adding 0x7FFFF plus the lowest kept bit, then truncating),
// or below 2^-6 the subnormal grid round(|v| * 512) / 512. Bit-identical to
// fp8e4m3_to_f32(f32_to_fp8e4m3(v)); NaN stays NaN.
inline __m512 round_fp8(__m512 v) {
  const __m512 a = _mm512_abs_ps(v);
  const __m512i u = _mm512_castps_si512(a);
  const __m512i lsb = _mm512_and_si512(_mm512_srli_epi32(u, 20), _mm512_set1_epi32(1));
  const __m512i r = _mm512_add_epi32(u, _mm512_add_epi32(_mm512_set1_epi32(0x7FFFF), lsb));
  const __m512 normal =
      _mm512_castsi512_ps(_mm512_and_si512(r, _mm512_set1_epi32(int(0xFFF00000u))));
  const __m512 sub =
      _mm512_mul_ps(_mm512_roundscale_ps(_mm512_mul_ps(a, _mm512_set1_ps(512.0f)),
                                         _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC),
                    _mm512_set1_ps(1.0f / 512.0f));
  const __mmask16 is_sub = _mm512_cmp_ps_mask(a, _mm512_set1_ps(0.015625f), _CMP_LT_OQ);
  const __m512 mag = _mm512_mask_blend_ps(is_sub, normal, sub);
  const __m512 out = _mm512_or_ps(mag, _mm512_and_ps(v, _mm512_set1_ps(-0.0f)));
  return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q), out, v);
}

// clamp(v, -448, 448) keeping NaN (max/min return their second operand when one is NaN).
inline __m512 clamp448(__m512 v) {
  return _mm512_min_ps(_mm512_set1_ps(kFp8E4M3Max), _mm512_max_ps(_mm512_set1_ps(-kFp8E4M3Max), v));
}

inline __mmask16 tail_mask(int64_t left) {
  return left >= 16 ? __mmask16(0xffff) : __mmask16((1u << left) - 1u);
}

}  // namespace

void quantize_row_static_avx512(const float* x, int64_t n, float inv_scale, float out_scale,
                                float* xq) {
  const __m512 inv = _mm512_set1_ps(inv_scale), os = _mm512_set1_ps(out_scale);
  for (int64_t k = 0; k < n; k += 16) {
    const __mmask16 m = tail_mask(n - k);
    const __m512 v = clamp448(_mm512_mul_ps(_mm512_maskz_loadu_ps(m, x + k), inv));
    _mm512_mask_storeu_ps(xq + k, m, _mm512_mul_ps(round_fp8(v), os));
  }
}

float quantize_row_dynamic_avx512(const float* x, int64_t n, float out_scale, float* xq) {
  __m512 amax = _mm512_setzero_ps();
  for (int64_t k = 0; k < n; k += 16)  // NaN ignored, as std::max(absmax, |x|) does
    amax = _mm512_max_ps(_mm512_abs_ps(_mm512_maskz_loadu_ps(tail_mask(n - k), x + k)), amax);
  const float kMinScale = 1.0f / (kFp8E4M3Max * 512.0f);
  const float s = std::max(_mm512_reduce_max_ps(amax) / kFp8E4M3Max, kMinScale);
  const __m512 sv = _mm512_set1_ps(s), os = _mm512_set1_ps(out_scale);
  for (int64_t k = 0; k < n; k += 16) {
    const __mmask16 m = tail_mask(n - k);
    const __m512 v = clamp448(_mm512_div_ps(_mm512_maskz_loadu_ps(m, x + k), sv));
    _mm512_mask_storeu_ps(xq + k, m, _mm512_mul_ps(round_fp8(v), os));
  }
  return s;
}

void dot_fp8_avx512(const uint8_t* W, int64_t n_in, int64_t o0, int64_t o1, const float* x,
                    int64_t n, float* acc, int64_t ld) {
  if (n < 4) {  // decode: one weight row at a time, in memory order
    for (int64_t i = 0; i < n; ++i) {
      const float* xi = x + i * n_in;
      float* ai = acc + i * ld;
      for (int64_t o = o0; o < o1; ++o) ai[o] = dot_row(W + o * n_in, n_in, xi);
    }
    return;
  }
  int64_t o = o0;
  for (; o + 2 <= o1; o += 2) {
    const uint8_t* w = W + o * n_in;
    int64_t i = 0;
    for (; i + 6 <= n; i += 6) dot_2xR<6>(w, n_in, x + i * n_in, acc + i * ld + o, ld);
    for (; i < n; ++i) dot_2xR<1>(w, n_in, x + i * n_in, acc + i * ld + o, ld);
  }
  for (; o < o1; ++o) {
    const uint8_t* w = W + o * n_in;
    int64_t i = 0;
    for (; i + 4 <= n; i += 4) dot_rows<4>(w, n_in, x + i * n_in, acc + i * ld + o, ld);
    for (; i < n; ++i) dot_rows<1>(w, n_in, x + i * n_in, acc + i * ld + o, ld);
  }
}

}  // namespace qinfer::ops::cpu::fp8

// Dequantizers for the ggml block formats, following ggml's reference dequantize_row_*
// (ggml/src/ggml-quants.c) operation for operation so the F32 results are bit-identical to
// llama.cpp's scalar path and to gguf-py's numpy dequantizers. Block layouts (ggml-common.h),
// all little-endian, fp16 = IEEE half:
//
//   Q4_0  (32 el, 18 B): d:f16, qs[16]           x[j] = (nib - 8) * d
//   Q4_1  (32 el, 20 B): d:f16, m:f16, qs[16]    x[j] = nib * d + m
//   Q5_0  (32 el, 22 B): d:f16, qh:u32, qs[16]   x[j] = ((nib | hbit << 4) - 16) * d
//   Q5_1  (32 el, 24 B): d, m:f16, qh:u32, qs    x[j] = (nib | hbit << 4) * d + m
//   Q8_0  (32 el, 34 B): d:f16, qs:i8[32]        x[j] = q * d
//   (in the 32-element formats the low nibble of qs[j] is element j, the high nibble j + 16;
//    bit j of qh is element j's 5th bit, bit j + 16 element j + 16's)
//   Q4_K (256 el, 144 B): d, dmin:f16, scales[12] (8 x 6-bit scale + 8 x 6-bit min), qs[128]
//   Q5_K (256 el, 176 B): d, dmin:f16, scales[12], qh[32], qs[128]
//   Q6_K (256 el, 210 B): ql[128], qh[64], scales:i8[16], d:f16
//
// The expressions keep ggml's evaluation order ((d * sc) * q, d1 * q - m1) and are compiled
// without FMA contraction on the x86-64 baseline, which is what makes them bit-exact.
#include <cstring>

#include "core/dtype.h"
#include "core/error.h"
#include "io/gguf.h"

namespace qinfer::io {

namespace {

float half_at(const uint8_t* p) {
  uint16_t h;
  std::memcpy(&h, p, 2);
  return f16_to_f32(h);
}

void dequant_q4_0(const uint8_t* b, float* y) {
  const float d = half_at(b);
  const uint8_t* qs = b + 2;
  for (int j = 0; j < 16; ++j) {
    const int x0 = (qs[j] & 0x0F) - 8;
    const int x1 = (qs[j] >> 4) - 8;
    y[j] = float(x0) * d;
    y[j + 16] = float(x1) * d;
  }
}

void dequant_q4_1(const uint8_t* b, float* y) {
  const float d = half_at(b);
  const float m = half_at(b + 2);
  const uint8_t* qs = b + 4;
  for (int j = 0; j < 16; ++j) {
    const int x0 = qs[j] & 0x0F;
    const int x1 = qs[j] >> 4;
    y[j] = float(x0) * d + m;
    y[j + 16] = float(x1) * d + m;
  }
}

void dequant_q5_0(const uint8_t* b, float* y) {
  const float d = half_at(b);
  uint32_t qh;
  std::memcpy(&qh, b + 2, 4);
  const uint8_t* qs = b + 6;
  for (int j = 0; j < 16; ++j) {
    const int h0 = int((qh >> j) << 4) & 0x10;
    const int h1 = int(qh >> (j + 12)) & 0x10;
    const int x0 = ((qs[j] & 0x0F) | h0) - 16;
    const int x1 = ((qs[j] >> 4) | h1) - 16;
    y[j] = float(x0) * d;
    y[j + 16] = float(x1) * d;
  }
}

void dequant_q5_1(const uint8_t* b, float* y) {
  const float d = half_at(b);
  const float m = half_at(b + 2);
  uint32_t qh;
  std::memcpy(&qh, b + 4, 4);
  const uint8_t* qs = b + 8;
  for (int j = 0; j < 16; ++j) {
    const int h0 = int((qh >> j) << 4) & 0x10;
    const int h1 = int(qh >> (j + 12)) & 0x10;
    const int x0 = (qs[j] & 0x0F) | h0;
    const int x1 = (qs[j] >> 4) | h1;
    y[j] = float(x0) * d + m;
    y[j + 16] = float(x1) * d + m;
  }
}

void dequant_q8_0(const uint8_t* b, float* y) {
  const float d = half_at(b);
  const int8_t* qs = reinterpret_cast<const int8_t*>(b + 2);
  for (int j = 0; j < 32; ++j) y[j] = float(qs[j]) * d;
}

// The j-th (0..7) 6-bit scale and min of a Q4_K/Q5_K super-block: the first four live in the
// low 6 bits of bytes 0..3 (scales) and 4..7 (mins); the last four take 4 bits from bytes
// 8..11 and their top 2 bits from the spare high bits of bytes 0..7.
void scale_min_k4(int j, const uint8_t* q, uint8_t* sc, uint8_t* m) {
  if (j < 4) {
    *sc = q[j] & 63;
    *m = q[j + 4] & 63;
  } else {
    *sc = uint8_t((q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4));
    *m = uint8_t((q[j + 4] >> 4) | ((q[j] >> 6) << 4));
  }
}

void dequant_q4_k(const uint8_t* b, float* y) {
  const float d = half_at(b);
  const float dmin = half_at(b + 2);
  const uint8_t* scales = b + 4;
  const uint8_t* q = b + 16;
  for (int j = 0, is = 0; j < 256; j += 64, is += 2, q += 32) {
    uint8_t sc, m;
    scale_min_k4(is, scales, &sc, &m);
    const float d1 = d * float(sc), m1 = dmin * float(m);
    scale_min_k4(is + 1, scales, &sc, &m);
    const float d2 = d * float(sc), m2 = dmin * float(m);
    for (int l = 0; l < 32; ++l) *y++ = d1 * float(q[l] & 0xF) - m1;
    for (int l = 0; l < 32; ++l) *y++ = d2 * float(q[l] >> 4) - m2;
  }
}

void dequant_q5_k(const uint8_t* b, float* y) {
  const float d = half_at(b);
  const float dmin = half_at(b + 2);
  const uint8_t* scales = b + 4;
  const uint8_t* qh = b + 16;
  const uint8_t* ql = b + 48;
  uint8_t u1 = 1, u2 = 2;
  for (int j = 0, is = 0; j < 256; j += 64, is += 2, ql += 32) {
    uint8_t sc, m;
    scale_min_k4(is, scales, &sc, &m);
    const float d1 = d * float(sc), m1 = dmin * float(m);
    scale_min_k4(is + 1, scales, &sc, &m);
    const float d2 = d * float(sc), m2 = dmin * float(m);
    for (int l = 0; l < 32; ++l) *y++ = d1 * float((ql[l] & 0xF) + (qh[l] & u1 ? 16 : 0)) - m1;
    for (int l = 0; l < 32; ++l) *y++ = d2 * float((ql[l] >> 4) + (qh[l] & u2 ? 16 : 0)) - m2;
    u1 = uint8_t(u1 << 2);
    u2 = uint8_t(u2 << 2);
  }
}

void dequant_q6_k(const uint8_t* b, float* y) {
  const uint8_t* ql = b;
  const uint8_t* qh = b + 128;
  const int8_t* sc = reinterpret_cast<const int8_t*>(b + 192);
  const float d = half_at(b + 208);
  for (int n = 0; n < 256; n += 128, y += 128, ql += 64, qh += 32, sc += 8) {
    for (int l = 0; l < 32; ++l) {
      const int is = l / 16;
      const int q1 = int((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32;
      const int q2 = int((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32;
      const int q3 = int((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
      const int q4 = int((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
      y[l] = d * float(sc[is]) * float(q1);
      y[l + 32] = d * float(sc[is + 2]) * float(q2);
      y[l + 64] = d * float(sc[is + 4]) * float(q3);
      y[l + 96] = d * float(sc[is + 6]) * float(q4);
    }
  }
}

}  // namespace

void ggml_dequantize_row(GgmlType type, const uint8_t* src, float* dst, int64_t n) {
  const GgmlTypeTraits* tr = ggml_type_traits(uint32_t(type));
  QINFER_CHECK(tr && tr->readable, "ggml_dequantize_row: unsupported ggml type ",
               uint32_t(type));
  QINFER_CHECK(n % tr->block_size == 0, "ggml_dequantize_row: ", n,
               " elements is not a multiple of the ", tr->name, " block size ", tr->block_size);
  const int64_t nb = n / tr->block_size;
  void (*block_fn)(const uint8_t*, float*) = nullptr;
  switch (type) {
    case GgmlType::kF32: std::memcpy(dst, src, size_t(n) * 4); return;
    case GgmlType::kF16:
      for (int64_t i = 0; i < n; ++i) dst[i] = half_at(src + 2 * i);
      return;
    case GgmlType::kBF16:
      for (int64_t i = 0; i < n; ++i) {
        uint16_t h;
        std::memcpy(&h, src + 2 * i, 2);
        dst[i] = bf16_to_f32(h);
      }
      return;
    case GgmlType::kQ4_0: block_fn = dequant_q4_0; break;
    case GgmlType::kQ4_1: block_fn = dequant_q4_1; break;
    case GgmlType::kQ5_0: block_fn = dequant_q5_0; break;
    case GgmlType::kQ5_1: block_fn = dequant_q5_1; break;
    case GgmlType::kQ8_0: block_fn = dequant_q8_0; break;
    case GgmlType::kQ4_K: block_fn = dequant_q4_k; break;
    case GgmlType::kQ5_K: block_fn = dequant_q5_k; break;
    case GgmlType::kQ6_K: block_fn = dequant_q6_k; break;
  }
  for (int64_t i = 0; i < nb; ++i)
    block_fn(src + size_t(i) * tr->block_bytes, dst + i * tr->block_size);
}

}  // namespace qinfer::io

#include "core/dtype.h"

#include <array>

#include "core/error.h"

namespace qinfer {

size_t dtype_size(DType t) {
  switch (t) {
    case DType::kF32: return 4;
    case DType::kF16: return 2;
    case DType::kBF16: return 2;
    case DType::kF8E4M3: return 1;
    case DType::kI8: return 1;
    case DType::kU8: return 1;
    case DType::kI32: return 4;
    case DType::kI64: return 8;
  }
  return 0;
}

std::string_view dtype_name(DType t) {
  switch (t) {
    case DType::kF32: return "F32";
    case DType::kF16: return "F16";
    case DType::kBF16: return "BF16";
    case DType::kF8E4M3: return "F8_E4M3";
    case DType::kI8: return "I8";
    case DType::kU8: return "U8";
    case DType::kI32: return "I32";
    case DType::kI64: return "I64";
  }
  return "?";
}

bool dtype_from_name(std::string_view name, DType* out) {
  static constexpr std::array<DType, 8> kAll = {DType::kF32, DType::kF16, DType::kBF16,
                                                DType::kF8E4M3, DType::kI8, DType::kU8,
                                                DType::kI32, DType::kI64};
  for (DType t : kAll) {
    if (dtype_name(t) == name) {
      *out = t;
      return true;
    }
  }
  return false;
}

// IEEE binary16 <-> binary32, round-to-nearest-even (matches torch's .half()).
float f16_to_f32(uint16_t h) {
  uint32_t sign = uint32_t(h & 0x8000) << 16;
  uint32_t exp = (h >> 10) & 0x1f;
  uint32_t mant = h & 0x3ff;
  if (exp == 0) {
    if (mant == 0) return std::bit_cast<float>(sign);
    float v = std::ldexp(float(mant), -24);  // subnormal
    return sign ? -v : v;
  }
  if (exp == 31) return std::bit_cast<float>(sign | 0x7f800000u | (mant << 13));
  return std::bit_cast<float>(sign | ((exp + 112) << 23) | (mant << 13));
}

uint16_t f32_to_f16(float f) {
  uint32_t u = std::bit_cast<uint32_t>(f);
  uint16_t sign = uint16_t((u >> 16) & 0x8000);
  uint32_t abs = u & 0x7fffffffu;
  if (abs > 0x7f800000u) return sign | 0x7e00;   // NaN
  if (abs >= 0x477ff000u) return sign | 0x7c00;  // rounds to >= 65520 -> inf
  if (abs < 0x38800000u) {                       // below 2^-14: subnormal half
    // value / 2^-24, rounded to nearest even, using float arithmetic which is exact here.
    float scaled = std::bit_cast<float>(abs) * 16777216.0f;
    float r = std::nearbyint(scaled);  // default rounding mode is nearest-even
    return sign | uint16_t(r);
  }
  uint32_t rounded = abs + 0xfffu + ((abs >> 13) & 1u);
  return sign | uint16_t((rounded - (112u << 23)) >> 13);
}

float fp8e4m3_to_f32(uint8_t v) {
  uint32_t sign = v >> 7;
  uint32_t exp = (v >> 3) & 0xf;
  uint32_t mant = v & 0x7;
  float r;
  if (exp == 0xf && mant == 0x7) {
    r = std::nanf("");
  } else if (exp == 0) {
    r = std::ldexp(float(mant), -9);  // subnormal: mant/8 * 2^-6
  } else {
    r = std::ldexp(1.0f + float(mant) / 8.0f, int(exp) - 7);
  }
  return sign ? -r : r;
}

uint8_t f32_to_fp8e4m3(float f) {
  if (std::isnan(f)) return 0x7f;
  uint8_t sign = std::signbit(f) ? 0x80 : 0x00;
  float a = std::fabs(f);
  if (a >= kFp8E4M3Max) return sign | 0x7e;  // saturate at 448
  // Smallest normal is 2^-6; below it the grid is uniform with step 2^-9.
  if (a < 0.015625f) {
    float q = std::nearbyint(a * 512.0f);  // 0..8 ; 8 means the smallest normal
    return sign | uint8_t(q);              // q == 8 encodes exp=1,mant=0 exactly
  }
  int e;
  float m = std::frexp(a, &e);  // a = m * 2^e, m in [0.5, 1)
  // a = (1 + k/8) * 2^(e-1); k = (2m - 1) * 8 rounded to nearest even.
  float k = std::nearbyint((2.0f * m - 1.0f) * 8.0f);
  int exp = e - 1 + 7;
  if (k >= 8.0f) {
    k = 0.0f;
    exp += 1;
  }
  uint8_t code = uint8_t((exp << 3) | int(k));
  if (code > 0x7e) code = 0x7e;
  return sign | code;
}

float load_as_f32(const void* data, DType t, size_t i) {
  switch (t) {
    case DType::kF32: return static_cast<const float*>(data)[i];
    case DType::kF16: return f16_to_f32(static_cast<const uint16_t*>(data)[i]);
    case DType::kBF16: return bf16_to_f32(static_cast<const uint16_t*>(data)[i]);
    case DType::kF8E4M3: return fp8e4m3_to_f32(static_cast<const uint8_t*>(data)[i]);
    case DType::kI8: return float(static_cast<const int8_t*>(data)[i]);
    case DType::kU8: return float(static_cast<const uint8_t*>(data)[i]);
    case DType::kI32: return float(static_cast<const int32_t*>(data)[i]);
    case DType::kI64: return float(static_cast<const int64_t*>(data)[i]);
  }
  QINFER_FAIL("load_as_f32: unknown dtype");
}

}  // namespace qinfer

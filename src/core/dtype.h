// Element types and scalar conversions. The conversions are the reference definitions used
// by every backend: bf16/fp16 round-to-nearest-even as torch does, and OCP FP8 E4M3FN
// (bias 7, no infinities, 0x7F/0xFF = NaN, max finite 448).
#pragma once

#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace qinfer {

enum class DType : uint8_t { kF32, kF16, kBF16, kF8E4M3, kI8, kU8, kI32, kI64 };

size_t dtype_size(DType t);
// Names as safetensors spells them: F32, F16, BF16, F8_E4M3, I8, U8, I32, I64.
std::string_view dtype_name(DType t);
// Parses a safetensors dtype name; returns false for names we do not support.
bool dtype_from_name(std::string_view name, DType* out);

inline constexpr float kFp8E4M3Max = 448.0f;

inline float bf16_to_f32(uint16_t h) { return std::bit_cast<float>(uint32_t(h) << 16); }

inline uint16_t f32_to_bf16(float f) {
  uint32_t u = std::bit_cast<uint32_t>(f);
  if ((u & 0x7fffffffu) > 0x7f800000u) return uint16_t((u >> 16) | 0x40);  // quiet NaN
  u += 0x7fffu + ((u >> 16) & 1u);  // round to nearest even
  return uint16_t(u >> 16);
}

float f16_to_f32(uint16_t h);
uint16_t f32_to_f16(float f);

// FP8 E4M3FN decode, exact.
float fp8e4m3_to_f32(uint8_t v);
// FP8 E4M3FN encode, round-to-nearest-even. Finite values beyond ±448 saturate to ±448
// (callers that follow vLLM clamp first, so saturation and clamping agree); NaN -> 0x7F.
uint8_t f32_to_fp8e4m3(float f);

// Reads element i of a buffer of dtype t as float (I8/U8/I32/I64 convert their value).
float load_as_f32(const void* data, DType t, size_t i);

}  // namespace qinfer

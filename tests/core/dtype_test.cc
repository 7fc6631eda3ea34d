#include <gtest/gtest.h>

#include <cmath>

#include "core/dtype.h"

namespace qinfer {
namespace {

TEST(DType, Bf16RoundTripAndRounding) {
  EXPECT_EQ(bf16_to_f32(f32_to_bf16(1.0f)), 1.0f);
  // 1 + 2^-8 is exactly halfway between two bf16 values: ties to even (1.0).
  EXPECT_EQ(bf16_to_f32(f32_to_bf16(1.0f + std::ldexp(1.0f, -8))), 1.0f);
  EXPECT_TRUE(std::isnan(bf16_to_f32(f32_to_bf16(std::nanf("")))));
}

TEST(DType, F16AllValuesRoundTrip) {
  for (uint32_t h = 0; h < 0x10000; ++h) {
    float f = f16_to_f32(uint16_t(h));
    if (std::isnan(f)) continue;
    EXPECT_EQ(f32_to_f16(f), uint16_t(h)) << "half bits " << h;
  }
  EXPECT_EQ(f16_to_f32(f32_to_f16(65504.0f)), 65504.0f);
  EXPECT_TRUE(std::isinf(f16_to_f32(f32_to_f16(65520.0f))));
}

TEST(DType, Fp8E4M3AllCodesRoundTrip) {
  for (uint32_t c = 0; c < 256; ++c) {
    float f = fp8e4m3_to_f32(uint8_t(c));
    if (std::isnan(f)) continue;
    uint8_t back = f32_to_fp8e4m3(f);
    // -0 and +0 both encode faithfully.
    EXPECT_EQ(back, uint8_t(c)) << "code " << c << " value " << f;
  }
  EXPECT_EQ(fp8e4m3_to_f32(0x7e), 448.0f);
  EXPECT_EQ(f32_to_fp8e4m3(1000.0f), 0x7e);  // saturates
  EXPECT_EQ(fp8e4m3_to_f32(0x01), std::ldexp(1.0f, -9));  // smallest subnormal
}

TEST(DType, Fp8E4M3RoundsToNearestEven) {
  // Between 1.0 (0x38) and 1.125 (0x39): the midpoint 1.0625 ties to even (1.0).
  EXPECT_EQ(f32_to_fp8e4m3(1.0625f), 0x38);
  EXPECT_EQ(f32_to_fp8e4m3(1.07f), 0x39);
  // Midpoint of 1.125 (0x39) and 1.25 (0x3a) ties to 1.25 (even mantissa).
  EXPECT_EQ(f32_to_fp8e4m3(1.1875f), 0x3a);
}

}  // namespace
}  // namespace qinfer

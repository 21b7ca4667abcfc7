// The host fp16 conversion of the Vulkan backend (fp16 storage precision), checked exhaustively
// against an independent definition: every half converts to the float its fields describe, and
// every float rounds to the nearest half (ties to even), with overflow, subnormals and NaN.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>

#include "runtime/vulkan/half.hpp"

namespace upconv::detail {
namespace {

/// The value of a finite half from its fields, in double (exact).
double half_value(uint16_t h) {
  const int sign = h >> 15, exponent = (h >> 10) & 0x1f, mantissa = h & 0x3ff;
  const double magnitude = exponent == 0 ? std::ldexp(mantissa, -24) : std::ldexp(1024 + mantissa, exponent - 25);
  return sign ? -magnitude : magnitude;
}

TEST(VulkanHalf, EveryHalfConvertsExactlyAndRoundTrips) {
  for (uint32_t bits = 0; bits < 0x10000; ++bits) {
    const auto h = static_cast<uint16_t>(bits);
    const float f = half_to_float(h);
    if (((bits >> 10) & 0x1f) == 0x1f) {
      if (bits & 0x3ff) {
        EXPECT_TRUE(std::isnan(f)) << bits;
        EXPECT_TRUE(std::isnan(half_to_float(float_to_half(f)))) << bits;
      } else {
        EXPECT_TRUE(std::isinf(f)) << bits;
        EXPECT_EQ(float_to_half(f), h) << bits;
      }
      continue;
    }
    ASSERT_EQ(static_cast<double>(f), half_value(h)) << "half 0x" << std::hex << bits;
    ASSERT_EQ(float_to_half(f), h) << "half 0x" << std::hex << bits;
  }
}

/// Nearest half by brute force over the finite halves of the right sign (ties to even mantissa).
uint16_t nearest_half(float f) {
  const uint16_t sign = std::signbit(f) ? 0x8000 : 0;
  const double v = std::fabs(static_cast<double>(f));
  if (v >= 65520.0) return sign | 0x7c00;  // halfway to 2^16 and beyond: infinity
  uint16_t best = 0;
  double best_err = std::numeric_limits<double>::infinity();
  for (uint16_t m = 0; m < 0x7c00; ++m) {
    const double err = std::fabs(half_value(m) - v);
    if (err < best_err || (err == best_err && (m & 1) == 0)) best = m, best_err = err;
  }
  return sign | best;
}

TEST(VulkanHalf, FloatsRoundToNearestEven) {
  std::mt19937 rng(2024);
  std::vector<float> values = {0.0f, -0.0f, 1.0f, 65504.0f, 65519.0f, 65520.0f, -65520.0f, 1e-8f,
                               std::ldexp(1.0f, -25), std::ldexp(1.5f, -25), std::ldexp(1.0f, -24),
                               std::ldexp(3.0f, -26), 6.1035156e-05f, 6.0975552e-05f, 1.0f + std::ldexp(1.0f, -11),
                               1.0f + std::ldexp(3.0f, -11), 2049.0f, 2051.0f};
  for (int i = 0; i < 3000; ++i) {
    uint32_t bits = rng();
    // Mostly in and around the half range (exponents 100..145), some anywhere.
    if (i % 4) bits = (bits & 0x807fffffu) | ((100u + rng() % 46u) << 23);
    float f;
    std::memcpy(&f, &bits, 4);
    if (std::isfinite(f)) values.push_back(f);
  }
  for (float f : values) ASSERT_EQ(float_to_half(f), nearest_half(f)) << "float " << f << " bits " << std::hexfloat << f;
  EXPECT_EQ(float_to_half(std::numeric_limits<float>::infinity()), 0x7c00);
  EXPECT_EQ(float_to_half(-std::numeric_limits<float>::infinity()), 0xfc00);
  EXPECT_TRUE(std::isnan(half_to_float(float_to_half(std::nanf("")))));
}

TEST(VulkanHalf, BulkConversionMatchesScalar) {
  std::vector<float> in = {0.5f, -3.25f, 1e5f, 7e-6f};
  std::vector<uint16_t> h(in.size());
  std::vector<float> back(in.size());
  floats_to_halves(in.data(), h.data(), in.size());
  halves_to_floats(h.data(), back.data(), in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    EXPECT_EQ(h[i], float_to_half(in[i]));
    EXPECT_EQ(back[i], half_to_float(h[i]));
  }
}

}  // namespace
}  // namespace upconv::detail

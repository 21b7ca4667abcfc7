// binary16 conversion. Layout: sign 1 | exponent 5 (bias 15) | mantissa 10.
#include "runtime/vulkan/half.hpp"

#include <cstring>

namespace upconv::detail {

uint16_t float_to_half(float value) noexcept {
  uint32_t f;
  std::memcpy(&f, &value, 4);
  const uint16_t sign = static_cast<uint16_t>((f >> 16) & 0x8000u);
  const uint32_t abs = f & 0x7fffffffu;
  if (abs >= 0x7f800000u) {  // inf or NaN
    if (abs == 0x7f800000u) return sign | 0x7c00u;
    return static_cast<uint16_t>(sign | 0x7e00u | ((abs >> 13) & 0x3ffu));
  }
  // Largest float that rounds to a finite half is 65519.99...; 0x477ff000 = 65520 rounds to inf.
  if (abs >= 0x477ff000u) return sign | 0x7c00u;
  if (abs < 0x38800000u) {
    // Result is subnormal (or zero): value = mantissa * 2^-24. Shift the full 24-bit significand
    // right and round to nearest even on the dropped bits.
    if (abs < 0x33000000u) return sign;  // below half of the smallest subnormal (2^-25): zero
    const uint32_t exponent = abs >> 23;                // 102..112
    const uint32_t significand = (abs & 0x7fffffu) | 0x800000u;
    const uint32_t shift = 126 - exponent;              // 14..24
    uint32_t half_mantissa = significand >> shift;
    const uint32_t rest = significand & ((1u << shift) - 1);
    const uint32_t halfway = 1u << (shift - 1);
    if (rest > halfway || (rest == halfway && (half_mantissa & 1u))) ++half_mantissa;
    return static_cast<uint16_t>(sign | half_mantissa);  // a carry into 0x400 is the smallest normal: correct
  }
  // Normal: rebias the exponent (127 -> 15) and round the 13 dropped mantissa bits to even. A
  // carry out of the mantissa correctly increments the exponent (up to infinity).
  uint32_t h = (abs - 0x38000000u) >> 13;
  const uint32_t rest = abs & 0x1fffu;
  if (rest > 0x1000u || (rest == 0x1000u && (h & 1u))) ++h;
  return static_cast<uint16_t>(sign | h);
}

float half_to_float(uint16_t half) noexcept {
  const uint32_t sign = static_cast<uint32_t>(half & 0x8000u) << 16;
  const uint32_t exponent = (half >> 10) & 0x1fu;
  uint32_t mantissa = half & 0x3ffu;
  uint32_t f;
  if (exponent == 0x1f) {
    f = sign | 0x7f800000u | (mantissa << 13);
  } else if (exponent != 0) {
    f = sign | ((exponent + 112) << 23) | (mantissa << 13);
  } else if (mantissa == 0) {
    f = sign;
  } else {
    // Subnormal half: normalise into a float.
    int e = -1;
    do {
      ++e;
      mantissa <<= 1;
    } while (!(mantissa & 0x400u));
    f = sign | static_cast<uint32_t>(112 - e) << 23 | ((mantissa & 0x3ffu) << 13);
  }
  float out;
  std::memcpy(&out, &f, 4);
  return out;
}

void floats_to_halves(const float* in, uint16_t* out, size_t count) noexcept {
  for (size_t i = 0; i < count; ++i) out[i] = float_to_half(in[i]);
}

void halves_to_floats(const uint16_t* in, float* out, size_t count) noexcept {
  for (size_t i = 0; i < count; ++i) out[i] = half_to_float(in[i]);
}

}  // namespace upconv::detail

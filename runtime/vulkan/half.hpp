// Internal: IEEE 754 binary16 <-> binary32 conversion on the host (fp16 storage precision).
// Portable bit manipulation, no F16C needed: round to nearest, ties to even; overflow gives
// infinity; subnormals both ways; NaN stays NaN (quiet, sign kept).
#pragma once

#include <cstddef>
#include <cstdint>

namespace upconv::detail {

uint16_t float_to_half(float value) noexcept;
float half_to_float(uint16_t half) noexcept;

void floats_to_halves(const float* in, uint16_t* out, size_t count) noexcept;
void halves_to_floats(const uint16_t* in, float* out, size_t count) noexcept;

}  // namespace upconv::detail

// The reference implementation of every operator: scalar, accumulating in double, written to
// follow the definitions literally. It is the oracle the SIMD and Vulkan kernels are tested
// against, so it stays deliberately naive and is never optimised.
#pragma once

#include <cstdint>

#include "runtime/op_desc.hpp"

namespace upconv::ref {

using detail::ConvDesc;
using detail::Dims4;

/// conv (desc.transposed == false) or conv_transpose (true). Weight layout as in ConvDesc; `bias`
/// may be null. `yd` must equal desc.output_dims(xd).
void conv(const ConvDesc& desc, const float* x, const Dims4& xd, const float* weight, const float* bias, float* y,
          const Dims4& yd);

void pixel_shuffle(const detail::ShuffleDesc& desc, const float* x, const Dims4& xd, float* y, const Dims4& yd);

/// Scatters x into a zeroed y at the flat per-plane indices (validated by the caller to lie in
/// [0, yd.h * yd.w)). Where indices repeat, the later element in C order wins.
void max_unpool2d(const float* x, const int64_t* indices, const Dims4& xd, float* y, const Dims4& yd);

void resample(const detail::ResampleDesc& desc, const float* x, const Dims4& xd, float* y, const Dims4& yd);

}  // namespace upconv::ref

// Internal: validated operator descriptors, normalised to two spatial axes, shared by the
// runtime and every backend. A 1-D op is a 2-D op with H = 1 (kernel 1, stride 1, no padding on
// H), so backends implement 2-D kernels only.
#pragma once

#include <cstdint>
#include <variant>

#include "upconv/params.hpp"

namespace upconv::detail {

/// NCHW extents of a tensor as a backend sees it (1-D tensors have h == 1).
struct Dims4 {
  int64_t n = 0, c = 0, h = 0, w = 0;
  int64_t plane() const { return h * w; }
  int64_t count() const { return n * c * h * w; }
  friend bool operator==(const Dims4&, const Dims4&) = default;
};

/// conv or conv_transpose. Weight layout, 4-D contiguous:
///   conv:           (c_out, c_in / groups, kh, kw)
///   conv_transpose: (c_in, c_out / groups, kh, kw)
/// Index relation per axis (o = output, i = input, t = tap):
///   conv:           i = o * stride - pad_begin + t * dilation
///   conv_transpose: o = i * stride - pad_begin + t * dilation   (the adjoint of conv)
/// out_pad extends the conv_transpose output at the end of the axis.
struct ConvDesc {
  bool transposed = false;
  int spatial_rank = 2;  // as the user gave it; kernels ignore it
  int64_t c_in = 0, c_out = 0, groups = 1;
  int64_t kh = 1, kw = 1;
  int64_t stride_h = 1, stride_w = 1;
  int64_t dil_h = 1, dil_w = 1;
  int64_t pad_top = 0, pad_left = 0, pad_bottom = 0, pad_right = 0;
  int64_t out_pad_h = 0, out_pad_w = 0;
  bool has_bias = false;
  ActivationParams activation = {};

  int64_t c_in_per_group() const { return c_in / groups; }
  int64_t c_out_per_group() const { return c_out / groups; }
  int64_t weight_count() const { return c_in * c_out_per_group() * kh * kw; }
  /// Output extents for a given input (already validated: both >= 1).
  Dims4 output_dims(const Dims4& in) const;
};

/// pixel_shuffle (inverse = false) or pixel_unshuffle (inverse = true).
struct ShuffleDesc {
  int64_t factor = 2;
  ShuffleMode mode = ShuffleMode::crd;
  bool inverse = false;
};

/// max_unpool2d. output_h/output_w are resolved per input at run time (see runtime/shapes.cpp);
/// the backend receives them through the output Dims4.
struct UnpoolDesc {
  MaxUnpool2dParams params;  // stride resolved (never 0)
};

/// upsample_nearest2d (zero_insert = false) or bed_of_nails2d (zero_insert = true).
struct ResampleDesc {
  int64_t factor_h = 2, factor_w = 2;
  bool zero_insert = false;
};

using OpDesc = std::variant<ConvDesc, ShuffleDesc, UnpoolDesc, ResampleDesc>;

/// Applies a fused activation to one value (the definition every backend must match).
inline float apply_activation(const ActivationParams& a, float x);

}  // namespace upconv::detail

#include <cmath>
namespace upconv::detail {
inline float apply_activation(const ActivationParams& a, float x) {
  switch (a.kind) {
    case Activation::none: return x;
    case Activation::relu: return x > 0.0f ? x : 0.0f;
    case Activation::leaky_relu: return x > 0.0f ? x : a.alpha * x;
    case Activation::sigmoid: return 1.0f / (1.0f + std::exp(-x));
    case Activation::tanh: return std::tanh(x);
  }
  return x;
}
}  // namespace upconv::detail

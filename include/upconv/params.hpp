// upconv — operator attributes. One struct per operator family, with PyTorch's defaults.
// Every struct is validated in one place (runtime/validate.cpp) when a plan is made; an invalid
// value gives StatusCode::invalid_argument with a message naming the field and the value.
#pragma once

#include <array>
#include <cstdint>
#include <optional>

namespace upconv {

/// A per-axis integer pair. For 2-D ops: {H, W}. For 1-D ops only element [0] (the L axis) is used.
using Pair = std::array<int64_t, 2>;

/// Activation fused into the epilogue of conv / conv_transpose (applied after the bias).
enum class Activation { none, relu, leaky_relu, sigmoid, tanh };

struct ActivationParams {
  Activation kind = Activation::none;
  /// Negative slope of leaky_relu: y = x > 0 ? x : alpha * x. Ignored by other kinds.
  float alpha = 0.01f;
};

/// conv1d / conv2d (PyTorch Conv1d/Conv2d, ONNX Conv). Weight (C_out, C_in/groups, [kH,] kW).
/// Dilated (atrous) convolution is this op with dilation > 1.
struct ConvParams {
  /// 1 (NCL tensors) or 2 (NCHW tensors).
  int spatial_rank = 2;
  /// >= 1 per axis.
  Pair stride = {1, 1};
  /// >= 1 per axis.
  Pair dilation = {1, 1};
  /// Zero padding before and after each axis, >= 0. Symmetric padding p: pad_begin = pad_end = p.
  Pair pad_begin = {0, 0};
  Pair pad_end = {0, 0};
  /// >= 1; C_in and C_out must both be divisible by it. groups == C_in == C_out is depthwise.
  int64_t groups = 1;
  ActivationParams activation = {};
};

/// conv_transpose1d / conv_transpose2d (PyTorch ConvTranspose1d/2d, ONNX ConvTranspose).
/// Weight (C_in, C_out/groups, [kH,] kW). Output size per axis:
///   (in - 1) * stride - pad_begin - pad_end + dilation * (k - 1) + output_padding + 1.
struct ConvTransposeParams {
  int spatial_rank = 2;
  Pair stride = {1, 1};
  Pair dilation = {1, 1};
  /// Cropping of the full transposed-conv output, before and after each axis, >= 0.
  Pair pad_begin = {0, 0};
  Pair pad_end = {0, 0};
  /// Extra output rows/cols appended at the end of each axis, 0 <= output_padding < max(stride,
  /// dilation). The rows past the full output receive only the bias.
  Pair output_padding = {0, 0};
  int64_t groups = 1;
  ActivationParams activation = {};
};

/// Channel-to-space ordering of pixel_shuffle / pixel_unshuffle.
enum class ShuffleMode {
  crd,  ///< column-row-depth: in channel = c * r*r + i * r + j (PyTorch PixelShuffle, ONNX DepthToSpace CRD)
  dcr,  ///< depth-column-row: in channel = (i * r + j) * C + c (ONNX DepthToSpace default, SpaceToDepth)
};

/// pixel_shuffle: (N, C*r*r, H, W) -> (N, C, H*r, W*r); pixel_unshuffle is its inverse.
struct PixelShuffleParams {
  /// r >= 1.
  int64_t factor = 2;
  ShuffleMode mode = ShuffleMode::crd;
};

/// max_unpool2d (PyTorch MaxUnpool2d). Input (N, C, H, W) plus int64 indices of the same shape,
/// each a flat index into its (n, c) output plane, as max_pool2d(return_indices=True) gives them.
struct MaxUnpool2dParams {
  /// >= 1 per axis.
  Pair kernel = {2, 2};
  /// >= 1 per axis; 0 means "same as kernel" (PyTorch's default).
  Pair stride = {0, 0};
  /// >= 0 per axis, and at most kernel / 2.
  Pair padding = {0, 0};
  /// Explicit output (H, W). Default: (in - 1) * stride - 2 * padding + kernel. When given it must
  /// lie strictly within stride of that default (PyTorch's rule).
  std::optional<Pair> output_size = std::nullopt;
};

/// upsample_nearest2d (each pixel repeated r_h x r_w times) and bed_of_nails2d (each pixel placed
/// at the top-left of its r_h x r_w cell, zeros elsewhere): (N, C, H, W) -> (N, C, H*r_h, W*r_w).
struct UpsampleParams {
  /// >= 1 per axis.
  Pair factor = {2, 2};
};

}  // namespace upconv

// upconv — public shape helpers: output sizes by PyTorch's rules, and ONNX auto_pad /
// output_shape attributes turned into the explicit begin/end pads and output padding of params.hpp.
#pragma once

#include <optional>
#include <vector>

#include "upconv/params.hpp"
#include "upconv/status.hpp"
#include "upconv/tensor.hpp"

namespace upconv {

/// floor((in + pad_begin + pad_end - dilation * (kernel - 1) - 1) / stride) + 1; an error if < 1.
Result<int64_t> conv_output_size(int64_t in, int64_t kernel, int64_t stride, int64_t pad_begin,
                                 int64_t pad_end, int64_t dilation);

/// (in - 1) * stride - pad_begin - pad_end + dilation * (kernel - 1) + output_padding + 1; an
/// error if < 1.
Result<int64_t> conv_transpose_output_size(int64_t in, int64_t kernel, int64_t stride, int64_t pad_begin,
                                           int64_t pad_end, int64_t dilation, int64_t output_padding);

/// Full output shapes; the input and weight shapes and the params are validated first.
Result<Shape> conv_output_shape(const Shape& input, const Shape& weight, const ConvParams& params);
Result<Shape> conv_transpose_output_shape(const Shape& input, const Shape& weight,
                                          const ConvTransposeParams& params);
Result<Shape> pixel_shuffle_output_shape(const Shape& input, const PixelShuffleParams& params);
Result<Shape> pixel_unshuffle_output_shape(const Shape& input, const PixelShuffleParams& params);
Result<Shape> max_unpool2d_output_shape(const Shape& input, const MaxUnpool2dParams& params);
/// The same for upsample_nearest2d and bed_of_nails2d.
Result<Shape> upsample_output_shape(const Shape& input, const UpsampleParams& params);

/// ONNX auto_pad values. `notset` means: keep the explicit pads.
enum class AutoPad { notset, same_upper, same_lower, valid };

/// ONNX Conv auto_pad for one axis: SAME_* gives output ceil(in / stride), the odd pad going to
/// the end (SAME_UPPER) or the beginning (SAME_LOWER); VALID gives no padding. `notset` leaves
/// `pad_begin`/`pad_end` as they are.
Status onnx_conv_pads(AutoPad auto_pad, int64_t in, int64_t kernel, int64_t stride, int64_t dilation,
                      int64_t& pad_begin, int64_t& pad_end);

/// ONNX ConvTranspose for one axis. With `output_shape` (or SAME_* without it, which means
/// output = in * stride) the total padding  stride*(in-1) + output_padding + dilation*(kernel-1)+1
/// - output  is split as ONNX specifies: SAME_UPPER puts total/2 at the beginning, otherwise the
/// larger half goes to the beginning. A negative total becomes extra output padding. VALID and
/// `notset` without output_shape keep the pads as given (VALID: zero).
Status onnx_conv_transpose_pads(AutoPad auto_pad, int64_t in, int64_t kernel, int64_t stride,
                                int64_t dilation, std::optional<int64_t> output_shape,
                                int64_t& pad_begin, int64_t& pad_end, int64_t& output_padding);

/// Whole-op forms: apply the per-axis rules above to every spatial axis of `params`.
/// `input` is the input tensor shape, `weight` the weight shape.
Status apply_onnx_auto_pad(ConvParams& params, AutoPad auto_pad, const Shape& input, const Shape& weight);
Status apply_onnx_auto_pad(ConvTransposeParams& params, AutoPad auto_pad, const Shape& input,
                           const Shape& weight,
                           const std::optional<std::vector<int64_t>>& output_shape = std::nullopt);

/// Sub-pixel weight conversion (Shi et al. 2016; seed 003). A stride-r conv_transpose2d with
/// square weight (C_in, C_out, k*r, k*r), groups 1, dilation 1, no output_padding and symmetric padding
/// p = m * r (0 <= m <= k - 1) equals conv2d with the returned weight (C_out*r*r, C_in, k, k),
/// stride 1, padding k - 1 - m, followed by pixel_shuffle(r, crd). Fails for other shapes.
/// `conv_padding` (optional out) receives k - 1 - m for the given `deconv_padding`.
Result<Tensor> subpixel_conv_weight(const Tensor& deconv_weight, int64_t stride, int64_t deconv_padding = 0,
                                    int64_t* conv_padding = nullptr);

}  // namespace upconv

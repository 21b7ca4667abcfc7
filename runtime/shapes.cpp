// Public shape helpers: thin wrappers over the validation in runtime/validate.cpp, plus the
// ONNX padding rules.
#include "upconv/shapes.hpp"

#include <string>

#include "runtime/validate.hpp"

namespace upconv {
namespace {

std::string str(int64_t v) { return std::to_string(v); }

Status check_axis_args(int64_t in, int64_t kernel, int64_t stride, int64_t dilation) {
  using detail::kMaxAttribute;
  if (in < 1 || in > kMaxAttribute * 64) return invalid_argument("input size must be >= 1, got " + str(in));
  if (kernel < 1 || kernel > kMaxAttribute) return invalid_argument("kernel must be >= 1, got " + str(kernel));
  if (stride < 1 || stride > kMaxAttribute) return invalid_argument("stride must be >= 1, got " + str(stride));
  if (dilation < 1 || dilation > kMaxAttribute)
    return invalid_argument("dilation must be >= 1, got " + str(dilation));
  return {};
}

Result<Shape> shape_for(Result<detail::OpDesc> desc, const Shape& input) {
  if (!desc.ok()) return desc.status();
  auto io = detail::resolve_io(*desc, input);
  if (!io.ok()) return io.status();
  return detail::output_shape_of(*desc, io->out);
}

template <class D>
Result<detail::OpDesc> widen(Result<D> d) {
  if (!d.ok()) return d.status();
  return detail::OpDesc(std::move(d).value());
}

}  // namespace

Result<int64_t> conv_output_size(int64_t in, int64_t kernel, int64_t stride, int64_t pad_begin, int64_t pad_end,
                                 int64_t dilation) {
  UPCONV_RETURN_IF_ERROR(check_axis_args(in, kernel, stride, dilation));
  if (pad_begin < 0 || pad_end < 0)
    return invalid_argument("padding must be >= 0, got " + str(pad_begin) + ", " + str(pad_end));
  const int64_t num = in + pad_begin + pad_end - dilation * (kernel - 1) - 1;
  if (num < 0)
    return invalid_argument("dilated kernel extent " + str(dilation * (kernel - 1) + 1) +
                            " exceeds the padded input size " + str(in + pad_begin + pad_end));
  return num / stride + 1;
}

Result<int64_t> conv_transpose_output_size(int64_t in, int64_t kernel, int64_t stride, int64_t pad_begin,
                                           int64_t pad_end, int64_t dilation, int64_t output_padding) {
  UPCONV_RETURN_IF_ERROR(check_axis_args(in, kernel, stride, dilation));
  if (pad_begin < 0 || pad_end < 0)
    return invalid_argument("padding must be >= 0, got " + str(pad_begin) + ", " + str(pad_end));
  if (output_padding < 0) return invalid_argument("output_padding must be >= 0, got " + str(output_padding));
  const int64_t out = (in - 1) * stride - pad_begin - pad_end + dilation * (kernel - 1) + output_padding + 1;
  if (out < 1) return invalid_argument("conv_transpose output size would be " + str(out) + " (must be >= 1)");
  return out;
}

Result<Shape> conv_output_shape(const Shape& input, const Shape& weight, const ConvParams& params) {
  return shape_for(widen(detail::make_conv_desc(params, weight, -1)), input);
}
Result<Shape> conv_transpose_output_shape(const Shape& input, const Shape& weight, const ConvTransposeParams& params) {
  return shape_for(widen(detail::make_conv_transpose_desc(params, weight, -1)), input);
}
Result<Shape> pixel_shuffle_output_shape(const Shape& input, const PixelShuffleParams& params) {
  return shape_for(widen(detail::make_shuffle_desc(params, false)), input);
}
Result<Shape> pixel_unshuffle_output_shape(const Shape& input, const PixelShuffleParams& params) {
  return shape_for(widen(detail::make_shuffle_desc(params, true)), input);
}
Result<Shape> max_unpool2d_output_shape(const Shape& input, const MaxUnpool2dParams& params) {
  return shape_for(widen(detail::make_unpool_desc(params)), input);
}
Result<Shape> upsample_output_shape(const Shape& input, const UpsampleParams& params) {
  return shape_for(widen(detail::make_resample_desc(params, false)), input);
}

Status onnx_conv_pads(AutoPad auto_pad, int64_t in, int64_t kernel, int64_t stride, int64_t dilation,
                      int64_t& pad_begin, int64_t& pad_end) {
  UPCONV_RETURN_IF_ERROR(check_axis_args(in, kernel, stride, dilation));
  switch (auto_pad) {
    case AutoPad::notset: return {};
    case AutoPad::valid: pad_begin = pad_end = 0; return {};
    case AutoPad::same_upper:
    case AutoPad::same_lower: {
      const int64_t out = (in + stride - 1) / stride;
      const int64_t total = std::max<int64_t>(0, (out - 1) * stride + dilation * (kernel - 1) + 1 - in);
      const int64_t small = total / 2, large = total - small;
      pad_begin = auto_pad == AutoPad::same_upper ? small : large;
      pad_end = auto_pad == AutoPad::same_upper ? large : small;
      return {};
    }
  }
  return invalid_argument("auto_pad value " + str(static_cast<int>(auto_pad)) + " is unknown");
}

Status onnx_conv_transpose_pads(AutoPad auto_pad, int64_t in, int64_t kernel, int64_t stride, int64_t dilation,
                                std::optional<int64_t> output_shape, int64_t& pad_begin, int64_t& pad_end,
                                int64_t& output_padding) {
  UPCONV_RETURN_IF_ERROR(check_axis_args(in, kernel, stride, dilation));
  if (output_padding < 0) return invalid_argument("output_padding must be >= 0, got " + str(output_padding));
  if (output_shape && *output_shape < 1)
    return invalid_argument("output_shape must be >= 1, got " + str(*output_shape));
  if (!output_shape) {
    if (auto_pad == AutoPad::valid) pad_begin = pad_end = 0;
    if (auto_pad != AutoPad::same_upper && auto_pad != AutoPad::same_lower) return {};
    output_shape = in * stride;
  }
  const int64_t total = stride * (in - 1) + output_padding + dilation * (kernel - 1) + 1 - *output_shape;
  if (total < 0) {
    // The requested output is longer than the full result: the extra tail is output padding.
    pad_begin = pad_end = 0;
    output_padding += -total;
    return {};
  }
  const int64_t half = total / 2;
  pad_begin = auto_pad == AutoPad::same_upper ? half : total - half;
  pad_end = total - pad_begin;
  return {};
}

namespace {
template <class P>
Status check_onnx_shapes(const P& params, const Shape& input, const Shape& weight) {
  const size_t want = static_cast<size_t>(params.spatial_rank) + 2;
  if (params.spatial_rank != 1 && params.spatial_rank != 2)
    return invalid_argument("spatial_rank must be 1 or 2, got " + str(params.spatial_rank));
  if (input.size() != want) return invalid_argument("input shape " + shape_to_string(input) + " has the wrong rank");
  if (weight.size() != want) return invalid_argument("weight shape " + shape_to_string(weight) + " has the wrong rank");
  return {};
}
}  // namespace

Status apply_onnx_auto_pad(ConvParams& params, AutoPad auto_pad, const Shape& input, const Shape& weight) {
  UPCONV_RETURN_IF_ERROR(check_onnx_shapes(params, input, weight));
  for (int a = 0; a < params.spatial_rank; ++a)
    UPCONV_RETURN_IF_ERROR(onnx_conv_pads(auto_pad, input[2 + a], weight[2 + a], params.stride[a],
                                          params.dilation[a], params.pad_begin[a], params.pad_end[a]));
  return {};
}

Status apply_onnx_auto_pad(ConvTransposeParams& params, AutoPad auto_pad, const Shape& input, const Shape& weight,
                           const std::optional<std::vector<int64_t>>& output_shape) {
  UPCONV_RETURN_IF_ERROR(check_onnx_shapes(params, input, weight));
  if (output_shape && static_cast<int>(output_shape->size()) != params.spatial_rank)
    return invalid_argument("output_shape must have " + str(params.spatial_rank) + " values, got " +
                            str(static_cast<int64_t>(output_shape->size())));
  for (int a = 0; a < params.spatial_rank; ++a) {
    std::optional<int64_t> want;
    if (output_shape) want = (*output_shape)[a];
    UPCONV_RETURN_IF_ERROR(onnx_conv_transpose_pads(auto_pad, input[2 + a], weight[2 + a], params.stride[a],
                                                    params.dilation[a], want, params.pad_begin[a],
                                                    params.pad_end[a], params.output_padding[a]));
  }
  return {};
}

}  // namespace upconv

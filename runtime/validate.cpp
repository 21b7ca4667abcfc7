#include "runtime/validate.hpp"

#include <algorithm>
#include <climits>
#include <cstdint>
#include <string>

#include "upconv/shapes.hpp"

namespace upconv::detail {
namespace {

std::string str(int64_t v) { return std::to_string(v); }

// "stride[1]" for 2-D ops, "stride" for 1-D ops, so messages match what the user wrote.
std::string field(const char* name, int rank, int axis) {
  return rank == 1 ? std::string(name) : std::string(name) + "[" + std::to_string(axis) + "]";
}

Status check_range(const char* name, int rank, int axis, int64_t v, int64_t lo) {
  if (v < lo || v > kMaxAttribute)
    return invalid_argument(field(name, rank, axis) + " must be in [" + str(lo) + ", " + str(kMaxAttribute) +
                            "], got " + str(v));
  return {};
}

Status check_rank(int rank) {
  if (rank != 1 && rank != 2) return invalid_argument("spatial_rank must be 1 or 2, got " + str(rank));
  return {};
}

Status check_activation(const ActivationParams& a) {
  switch (a.kind) {
    case Activation::none:
    case Activation::relu:
    case Activation::sigmoid:
    case Activation::tanh:
      return {};
    case Activation::leaky_relu:
      if (!std::isfinite(a.alpha)) return invalid_argument("leaky_relu alpha must be finite");
      return {};
  }
  return invalid_argument("activation kind " + str(static_cast<int>(a.kind)) + " is unknown");
}

// Shared by conv and conv_transpose: everything except output_padding.
struct CommonConv {
  int rank;
  Pair stride, dilation, pad_begin, pad_end;
  int64_t groups;
  ActivationParams activation;
};

Result<ConvDesc> make_common(const CommonConv& p, const Shape& weight, int64_t bias_count, bool transposed) {
  UPCONV_RETURN_IF_ERROR(check_rank(p.rank));
  for (int a = 0; a < p.rank; ++a) {
    UPCONV_RETURN_IF_ERROR(check_range("stride", p.rank, a, p.stride[a], 1));
    UPCONV_RETURN_IF_ERROR(check_range("dilation", p.rank, a, p.dilation[a], 1));
    UPCONV_RETURN_IF_ERROR(check_range("pad_begin", p.rank, a, p.pad_begin[a], 0));
    UPCONV_RETURN_IF_ERROR(check_range("pad_end", p.rank, a, p.pad_end[a], 0));
  }
  UPCONV_RETURN_IF_ERROR(check_activation(p.activation));
  if (static_cast<int>(weight.size()) != p.rank + 2)
    return invalid_argument("weight must have rank " + str(p.rank + 2) + " for a " + str(p.rank) +
                            "-D op, got shape " + shape_to_string(weight));
  for (size_t i = 0; i < weight.size(); ++i)
    if (weight[i] < 1 || weight[i] > kMaxAttribute)
      return invalid_argument("weight shape " + shape_to_string(weight) + " has dimension " + str(i) +
                              " out of [1, " + str(kMaxAttribute) + "]");
  auto count = checked_element_count(weight, kMaxTensorElements);
  if (!count.ok()) return count.status();
  if (p.groups < 1 || p.groups > kMaxAttribute)
    return invalid_argument("groups must be >= 1, got " + str(p.groups));

  ConvDesc d;
  d.transposed = transposed;
  d.spatial_rank = p.rank;
  d.groups = p.groups;
  if (transposed) {
    d.c_in = weight[0];
    d.c_out = weight[1] * p.groups;
    if (d.c_in % p.groups != 0)
      return invalid_argument("weight dimension 0 (C_in = " + str(d.c_in) + ") must be divisible by groups = " +
                              str(p.groups));
  } else {
    d.c_out = weight[0];
    d.c_in = weight[1] * p.groups;
    if (d.c_out % p.groups != 0)
      return invalid_argument("weight dimension 0 (C_out = " + str(d.c_out) +
                              ") must be divisible by groups = " + str(p.groups));
  }
  if (p.rank == 2) {
    d.kh = weight[2], d.kw = weight[3];
    d.stride_h = p.stride[0], d.stride_w = p.stride[1];
    d.dil_h = p.dilation[0], d.dil_w = p.dilation[1];
    d.pad_top = p.pad_begin[0], d.pad_left = p.pad_begin[1];
    d.pad_bottom = p.pad_end[0], d.pad_right = p.pad_end[1];
  } else {
    d.kw = weight[2];
    d.stride_w = p.stride[0];
    d.dil_w = p.dilation[0];
    d.pad_left = p.pad_begin[0];
    d.pad_right = p.pad_end[0];
  }
  if (bias_count >= 0 && bias_count != d.c_out)
    return invalid_argument("bias must have C_out = " + str(d.c_out) + " elements, got " + str(bias_count));
  d.has_bias = bias_count >= 0;
  d.activation = p.activation;
  return d;
}

}  // namespace

Result<ConvDesc> make_conv_desc(const ConvParams& p, const Shape& weight, int64_t bias_count) {
  return make_common({p.spatial_rank, p.stride, p.dilation, p.pad_begin, p.pad_end, p.groups, p.activation},
                     weight, bias_count, false);
}

Result<ConvDesc> make_conv_transpose_desc(const ConvTransposeParams& p, const Shape& weight, int64_t bias_count) {
  auto d = make_common({p.spatial_rank, p.stride, p.dilation, p.pad_begin, p.pad_end, p.groups, p.activation},
                       weight, bias_count, true);
  if (!d.ok()) return d;
  for (int a = 0; a < p.spatial_rank; ++a) {
    const int64_t op = p.output_padding[a];
    const int64_t limit = std::max(p.stride[a], p.dilation[a]);
    if (op < 0 || op >= limit)
      return invalid_argument(field("output_padding", p.spatial_rank, a) + " must be in [0, max(stride, dilation) = " +
                              str(limit) + "), got " + str(op));
  }
  if (p.spatial_rank == 2) {
    d->out_pad_h = p.output_padding[0];
    d->out_pad_w = p.output_padding[1];
  } else {
    d->out_pad_w = p.output_padding[0];
  }
  return d;
}

Result<ShuffleDesc> make_shuffle_desc(const PixelShuffleParams& p, bool inverse) {
  if (p.factor < 1 || p.factor > 4096)
    return invalid_argument("factor must be in [1, 4096], got " + str(p.factor));
  if (p.mode != ShuffleMode::crd && p.mode != ShuffleMode::dcr)
    return invalid_argument("mode " + str(static_cast<int>(p.mode)) + " is unknown");
  return ShuffleDesc{p.factor, p.mode, inverse};
}

Result<UnpoolDesc> make_unpool_desc(const MaxUnpool2dParams& p) {
  UnpoolDesc d{p};
  for (int a = 0; a < 2; ++a) {
    UPCONV_RETURN_IF_ERROR(check_range("kernel", 2, a, p.kernel[a], 1));
    if (p.stride[a] != 0) UPCONV_RETURN_IF_ERROR(check_range("stride", 2, a, p.stride[a], 1));
    d.params.stride[a] = p.stride[a] == 0 ? p.kernel[a] : p.stride[a];
    UPCONV_RETURN_IF_ERROR(check_range("padding", 2, a, p.padding[a], 0));
    if (p.padding[a] > p.kernel[a] / 2)
      return invalid_argument(field("padding", 2, a) + " must be at most kernel / 2 = " + str(p.kernel[a] / 2) +
                              ", got " + str(p.padding[a]));
    if (p.output_size) UPCONV_RETURN_IF_ERROR(check_range("output_size", 2, a, (*p.output_size)[a], 1));
  }
  return d;
}

Result<ResampleDesc> make_resample_desc(const UpsampleParams& p, bool zero_insert) {
  for (int a = 0; a < 2; ++a) UPCONV_RETURN_IF_ERROR(check_range("factor", 2, a, p.factor[a], 1));
  return ResampleDesc{p.factor[0], p.factor[1], zero_insert};
}

Dims4 ConvDesc::output_dims(const Dims4& in) const {
  Dims4 out{in.n, c_out, 0, 0};
  if (transposed) {
    out.h = (in.h - 1) * stride_h - pad_top - pad_bottom + dil_h * (kh - 1) + out_pad_h + 1;
    out.w = (in.w - 1) * stride_w - pad_left - pad_right + dil_w * (kw - 1) + out_pad_w + 1;
  } else {
    // Floor division: a kernel wider than the padded input must give a non-positive size.
    const int64_t num_h = in.h + pad_top + pad_bottom - dil_h * (kh - 1) - 1;
    const int64_t num_w = in.w + pad_left + pad_right - dil_w * (kw - 1) - 1;
    out.h = num_h < 0 ? 0 : num_h / stride_h + 1;
    out.w = num_w < 0 ? 0 : num_w / stride_w + 1;
  }
  return out;
}

namespace {

Result<Dims4> input_dims(const Shape& input, int rank, const char* op) {
  if (static_cast<int>(input.size()) != rank + 2)
    return invalid_argument(std::string("input of ") + op + " must have rank " + str(rank + 2) + ", got shape " +
                            shape_to_string(input));
  // An empty batch (N = 0) is valid, as in PyTorch: the output is empty too. Channels and
  // spatial extents must be positive.
  for (size_t i = 0; i < input.size(); ++i)
    if (input[i] < (i == 0 ? 0 : 1) || input[i] > kMaxAttribute * 64)
      return invalid_argument(std::string("input shape ") + shape_to_string(input) + " of " + op + " has dimension " +
                              str(i) + " out of range");
  auto count = checked_element_count(input, kMaxTensorElements);
  if (!count.ok()) return count.status();
  return rank == 1 ? Dims4{input[0], input[1], 1, input[2]} : Dims4{input[0], input[1], input[2], input[3]};
}

Status check_output(const Dims4& out, const char* op, const Shape& input) {
  if (out.h < 1 || out.w < 1)
    return invalid_argument(std::string("output of ") + op + " for input " + shape_to_string(input) +
                            " would be empty or negative (" + str(out.h) + " x " + str(out.w) + ")");
  auto count = checked_element_count({out.n, out.c, out.h, out.w}, kMaxTensorElements);
  if (!count.ok()) return count.status();
  return {};
}

struct IoVisitor {
  const Shape& input;

  Result<IoDims> operator()(const ConvDesc& d) const {
    const char* op = d.transposed ? "conv_transpose" : "conv";
    auto in = input_dims(input, d.spatial_rank, op);
    if (!in.ok()) return in.status();
    if (in->c != d.c_in)
      return invalid_argument(std::string("input of ") + op + " has " + str(in->c) +
                              " channels but the weight expects C_in = " + str(d.c_in));
    Dims4 out = d.output_dims(*in);
    UPCONV_RETURN_IF_ERROR(check_output(out, op, input));
    return IoDims{*in, out};
  }

  Result<IoDims> operator()(const ShuffleDesc& d) const {
    const char* op = d.inverse ? "pixel_unshuffle" : "pixel_shuffle";
    auto in = input_dims(input, 2, op);
    if (!in.ok()) return in.status();
    const int64_t r = d.factor, r2 = r * r;
    Dims4 out = *in;
    if (d.inverse) {
      if (in->h % r || in->w % r)
        return invalid_argument(std::string(op) + " input height and width (" + str(in->h) + ", " + str(in->w) +
                                ") must be divisible by factor = " + str(r));
      out = {in->n, in->c * r2, in->h / r, in->w / r};
    } else {
      if (in->c % r2)
        return invalid_argument(std::string(op) + " input channels (" + str(in->c) +
                                ") must be divisible by factor^2 = " + str(r2));
      out = {in->n, in->c / r2, in->h * r, in->w * r};
    }
    UPCONV_RETURN_IF_ERROR(check_output(out, op, input));
    return IoDims{*in, out};
  }

  Result<IoDims> operator()(const UnpoolDesc& d) const {
    auto in = input_dims(input, 2, "max_unpool2d");
    if (!in.ok()) return in.status();
    const auto& p = d.params;
    const int64_t ins[2] = {in->h, in->w};
    int64_t outs[2];
    for (int a = 0; a < 2; ++a) {
      const int64_t def = (ins[a] - 1) * p.stride[a] - 2 * p.padding[a] + p.kernel[a];
      outs[a] = def;
      if (p.output_size) {
        const int64_t want = (*p.output_size)[a];
        if (!(def - p.stride[a] < want && want < def + p.stride[a]))
          return invalid_argument("output_size[" + str(a) + "] = " + str(want) + " must be strictly between " +
                                  str(def - p.stride[a]) + " and " + str(def + p.stride[a]) + " for input " +
                                  shape_to_string(input));
        outs[a] = want;
      }
    }
    Dims4 out{in->n, in->c, outs[0], outs[1]};
    UPCONV_RETURN_IF_ERROR(check_output(out, "max_unpool2d", input));
    return IoDims{*in, out};
  }

  Result<IoDims> operator()(const ResampleDesc& d) const {
    const char* op = d.zero_insert ? "bed_of_nails2d" : "upsample_nearest2d";
    auto in = input_dims(input, 2, op);
    if (!in.ok()) return in.status();
    Dims4 out{in->n, in->c, in->h * d.factor_h, in->w * d.factor_w};
    UPCONV_RETURN_IF_ERROR(check_output(out, op, input));
    return IoDims{*in, out};
  }
};

}  // namespace

Result<IoDims> resolve_io(const OpDesc& desc, const Shape& input) { return std::visit(IoVisitor{input}, desc); }

Shape output_shape_of(const OpDesc& desc, const Dims4& out) {
  if (const auto* c = std::get_if<ConvDesc>(&desc); c && c->spatial_rank == 1) return {out.n, out.c, out.w};
  return {out.n, out.c, out.h, out.w};
}

Status check_unpool_indices(const int64_t* indices, int64_t count, int64_t plane) {
  // One branch-free pass in 32-bit halves (the baseline x86-64 build has no 64-bit vector
  // compare, 32-bit ones vectorise); the offending element is looked for only when there is one.
  // plane < 2^31 (the runtime's tensor limits), so v is in range exactly when its high half is 0
  // and its low half, as int32, is in [0, plane).
  const auto plane32 = static_cast<int32_t>(std::min<int64_t>(plane, INT32_MAX));
  uint32_t bad = plane > INT32_MAX ? 1u : 0u;
  for (int64_t i = 0; i < count; ++i) {
    const auto v = static_cast<uint64_t>(indices[i]);
    const auto low = static_cast<int32_t>(static_cast<uint32_t>(v));
    bad |= static_cast<uint32_t>(v >> 32) | static_cast<uint32_t>(low < 0) | static_cast<uint32_t>(low >= plane32);
  }
  if (bad != 0)
    for (int64_t i = 0; i < count; ++i)
      if (indices[i] < 0 || indices[i] >= plane)
        return invalid_argument("indices element " + std::to_string(i) + " = " + std::to_string(indices[i]) +
                                " is outside the output plane of " + std::to_string(plane) + " elements");
  return {};
}

}  // namespace upconv::detail

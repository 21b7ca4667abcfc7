// Internal: the one place where operator attributes, weights and input shapes are checked and
// turned into backend descriptors. Every error names the parameter and its value.
#pragma once

#include "runtime/op_desc.hpp"
#include "upconv/params.hpp"
#include "upconv/status.hpp"
#include "upconv/tensor.hpp"

namespace upconv::detail {

/// Upper bound on the elements of any tensor upconv allocates (16 GiB of floats): a malformed
/// shape must fail cleanly rather than turn into a huge allocation.
inline constexpr int64_t kMaxTensorElements = int64_t{1} << 32;
/// Upper bound on any single attribute (stride, kernel, dilation, padding, factor) and any
/// dimension, so index arithmetic in int64 cannot overflow.
inline constexpr int64_t kMaxAttribute = int64_t{1} << 24;

/// `bias_count` < 0 means "no bias".
Result<ConvDesc> make_conv_desc(const ConvParams& params, const Shape& weight, int64_t bias_count);
Result<ConvDesc> make_conv_transpose_desc(const ConvTransposeParams& params, const Shape& weight,
                                          int64_t bias_count);
Result<ShuffleDesc> make_shuffle_desc(const PixelShuffleParams& params, bool inverse);
Result<UnpoolDesc> make_unpool_desc(const MaxUnpool2dParams& params);
Result<ResampleDesc> make_resample_desc(const UpsampleParams& params, bool zero_insert);

/// Checks an input shape against a descriptor and returns (input dims, output dims).
struct IoDims {
  Dims4 in, out;
};
Result<IoDims> resolve_io(const OpDesc& desc, const Shape& input);

/// The user-facing output shape for `io.out` (rank 3 for 1-D convs, else 4).
Shape output_shape_of(const OpDesc& desc, const Dims4& out);

/// max_unpool2d: every index must name an element of its output plane, [0, plane). The error
/// names the first element outside it (flat position in the indices tensor) and its value.
/// Kernels call it before using indices (the CPU kernel only once its own pass found one bad,
/// to word the error), so the indices are read once per run, not once more for checking.
Status check_unpool_indices(const int64_t* indices, int64_t count, int64_t plane);

}  // namespace upconv::detail

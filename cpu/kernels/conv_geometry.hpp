// Internal: the stride-phase geometry of one spatial axis of a conv or conv_transpose, for one
// input length: which kernel taps feed which outputs, where they read the zero-padded input,
// and which of them read padding (so the kernels can skip them).
#pragma once

#include <cstdint>
#include <vector>

#include "cpu/kernels/conv_job.hpp"

namespace upconv::detail::cpu {

/// Attributes of one axis (as in ConvDesc).
struct AxisAttrs {
  bool transposed = false;
  int64_t kernel = 1, stride = 1, dilation = 1, pad_begin = 0;
};

struct AxisPlan {
  int64_t out_step = 1, in_step = 1;
  int64_t pad_before = 0, padded_len = 0;  // zero padding the kernels read through
  std::vector<AxisPhase> phases;
  std::vector<AxisTap> taps;
  std::vector<AxisSeg> segs;

  AxisView view() const {
    return {out_step, in_step, static_cast<int32_t>(phases.size()), phases.data(), taps.data(), segs.data()};
  }
  /// Fraction of (position, tap) pairs that read inside the input (1 = no padding taps).
  double valid_tap_fraction() const;
  /// (position, tap) pairs that read inside the input, over all phases: the direct kernels'
  /// multiply-adds along this axis (those of a layer: the product of both axes' x channels).
  double valid_taps() const;
};

/// conv: one phase, outputs o read input o * stride - pad + t * dilation.
/// conv_transpose: `stride` phases; phase phi holds the outputs o = phi + q * stride and the taps t
/// with (phi + pad - t * dilation) divisible by stride, reading input q + (phi + pad - t*dilation)/stride.
AxisPlan make_axis_plan(const AxisAttrs& a, int64_t in_len, int64_t out_len);

}  // namespace upconv::detail::cpu

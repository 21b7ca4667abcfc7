// Test helper for the optimised CPU conv kernels: one conv / conv_transpose case (attributes,
// seeded data), run through cpu::make_fast_conv_kernel with a chosen ISA, tile kind and thread
// count, and compared with the scalar reference.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "cpu/isa.hpp"
#include "cpu/kernels/conv_plan.hpp"
#include "runtime/op_desc.hpp"

namespace upconv::testing {

struct ConvCase {
  bool transposed = true;
  int64_t n = 1, c_in = 1, c_out = 1, groups = 1;
  int64_t h = 1, w = 1;
  int64_t kh = 1, kw = 1, sh = 1, sw = 1, dh = 1, dw = 1;
  int64_t pt = 0, pl = 0, pb = 0, pr = 0, oph = 0, opw = 0;
  bool bias = false;
  Activation act = Activation::none;
  uint64_t seed = 1;

  detail::ConvDesc desc() const;
  detail::Dims4 input_dims() const { return {n, c_in, h, w}; }
  /// Output extents; false when the attributes give an empty output.
  bool output_dims(detail::Dims4& out) const;
  std::string describe() const;
};

/// A conv (not transposed) of stride 1, no dilation or padding, one group: the rest set by hand.
ConvCase conv_case(int64_t c_in, int64_t c_out, int64_t h, int64_t w, int64_t kh, int64_t kw);

/// A random valid case (small sizes) from `seed`.
ConvCase random_conv_case(uint64_t seed, bool transposed);

struct ConvRun {
  std::vector<float> y;
  detail::Dims4 yd;
  bool wrote_past_end = false;  // the kernel changed the guard floats after the output
};

/// Runs the optimised kernel, into an output followed by guard floats that it must leave alone.
ConvRun run_fast(const ConvCase& c, detail::cpu::Isa isa, detail::cpu::ConvTileKind tile, int threads);

/// What the Winograd form's rounding may add to the conv tolerance, as a fraction of the sum of
/// the absolute products of an output's terms (sum |x| |w|): its transforms scale the terms up
/// and down by up to ~2^5 before and after the channel sums (measured up to ~2e-5 with F(5, 3)
/// on small cases, ~4e-7 on 300 input channels; the direct kernels ~1e-7). A wrong or missing term
/// still shows: it moves an output by about sum |x| |w| / (c_in * taps), far more than this for
/// every case the tests run.
constexpr double kWinogradRounding = 3e-5;

/// Compares the optimised kernel with the reference: empty string when within
/// |got - ref| <= 1e-4 * (1 + |ref|) (+ kWinogradRounding * sum |x| |w| where the run may take the
/// Winograd form), else a message naming the first mismatch.
std::string check_against_reference(const ConvCase& c, detail::cpu::Isa isa, detail::cpu::ConvTileKind tile,
                                    int threads = 1);

/// Runs one cpu::WinogradConv (c must be a layer it supports) with tile sizes pinned to mh x mw on
/// the case's input, then on inputs of each of `widths`, and compares each with the reference as
/// check_against_reference does. Its buffers come from `workspace` (one of its own where null).
std::string check_winograd_against_reference(const ConvCase& c, detail::cpu::Isa isa, int mh, int mw, int threads = 1,
                                             const std::vector<int64_t>& widths = {},
                                             std::shared_ptr<detail::cpu::ConvWorkspace> workspace = nullptr);

/// Runs one kernel (weights of `c`, tile kind `tile`) on inputs of each width in turn, each
/// compared with the reference. Returns an error message or empty; `packed_floats` gets the
/// kernel's packed weight size after creation and after each run, `kernels` (if given) the
/// kernel each run took.
std::string check_one_kernel_over_widths(const ConvCase& c, detail::cpu::Isa isa, const std::vector<int64_t>& widths,
                                         std::vector<int64_t>& packed_floats,
                                         std::vector<detail::cpu::ConvTileKind>* kernels = nullptr,
                                         detail::cpu::ConvTileKind tile = detail::cpu::ConvTileKind::automatic);

}  // namespace upconv::testing

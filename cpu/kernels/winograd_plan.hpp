// Internal: conv and conv_transpose (one group) by Winograd minimal filtering. Every stride
// phase of the layer (see conv_geometry.hpp: a conv of stride 1 has one, a conv_transpose of
// stride s has s per axis) is a dense correlation of the input with a few taps spaced evenly
// (by the dilation for a conv, by 1 for a conv_transpose's phase), and F(mh x mw, th x tw) runs
// it on tiles of outputs spaced the same way, so a dilated conv (aspp_d12) takes it as well as a
// plain one, and dcgan's 4x4 stride-2 conv_transpose as four 2x2 correlations. Per image: the
// input is put channel-last once; per phase, each tile's inputs are transformed (BT d B), every
// transform element is one channel GEMM against the transformed weights (G g G^T, computed on
// first use per phase and tile size), and the products are transformed back (AT m A) with bias
// and activation into a channel-last output, which is finally put back to NCHW. A 3x3 kernel on
// 3x3 tiles does 25 multiplies where the direct form does 81; the price is rounding, which grows
// with the tile (see winograd_points): the cost model only takes tile sizes whose worst output
// error on the bench layers stays within about 2x the direct kernels'.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "cpu/isa.hpp"
#include "cpu/kernels/aligned_floats.hpp"
#include "cpu/kernels/conv_geometry.hpp"
#include "cpu/kernels/conv_workspace.hpp"
#include "runtime/backend.hpp"
#include "runtime/thread_pool.hpp"

namespace upconv::detail::cpu {

class WinogradConv {
 public:
  /// One group, and a conv of stride 1 or a conv_transpose; whether each phase's taps suit it
  /// is known per geometry (cost() is infinite where they do not).
  static bool supports(const ConvDesc& d);

  /// The layer's weight of output channel co, input channel ci, kernel tap t = kh_i * kw + kw_i.
  /// Read when a tile size is first used (the transformed weights are kept), so it must stay
  /// valid as long as the WinogradConv: the conv kernel reads its own packed weights, rather
  /// than a copy of the caller's being kept here beside them.
  using WeightReader = std::function<float(int64_t co, int64_t ci, int64_t t)>;
  /// A reader of weights in the caller's layout (conv: c_out, c_in, kh, kw; conv_transpose:
  /// c_in, c_out, kh, kw) at `weight`, which must outlive its use.
  static WeightReader caller_weights(const ConvDesc& d, const float* weight);

  /// `bias` (c_out or null) is copied. `pool` must outlive it. Runs take their buffers from
  /// `workspace` (shared with the context's other conv kernels; a workspace of its own where
  /// null).
  WinogradConv(const ConvDesc& d, WeightReader weights, const float* bias, Isa isa, std::shared_ptr<ThreadPool> pool,
               std::shared_ptr<ConvWorkspace> workspace = nullptr);

  /// Estimated cost of a run on one image with axis plans h, w (of extents xd -> yd) with the
  /// cheapest tile sizes, in multiply-adds of the direct kernels (the other passes converted at
  /// their measured speed); infinite where a phase has no taps, unevenly spaced ones or more
  /// than winograd_max_alpha on an axis.
  double cost(const AxisPlan& h, const AxisPlan& w, const Dims4& xd, const Dims4& yd);

  /// Runs on the caller's NCHW tensors (already validated) where cost() is finite.
  void run(const OpArgs& a, const AxisPlan& h, const AxisPlan& w);

  /// Largest outputs per tile along an axis of `taps` taps (1 for one tap).
  static int max_tile_size(int64_t taps);

  /// Tests: run with mh x mw outputs per tile (each clamped to 1..max_tile_size of its axis)
  /// instead of the cost model's choice; 0 leaves that axis to the cost model.
  void pin_tile_sizes(int mh, int mw);

 private:
  // One phase of one axis as a correlation: outputs start + q * step (q < count) read input
  // q + first + spacing * a for sub-taps a < taps.size(), sub-tap a being kernel tap taps[a].
  struct AxisForm {
    int64_t start = 0, step = 1, count = 0, first = 0, spacing = 1;
    std::vector<int64_t> taps;
  };
  struct Tiles {
    int m = 1, alpha = 1;
    std::vector<int64_t> origins;
  };
  // Transformed weights [e][block][c_in][width] of one phase pair for tile sizes (mh, mw), and
  // its transform matrices (AT padded with zero rows to alpha x alpha).
  struct Transformed {
    int mh = 0, mw = 0;
    AlignedFloats u;
    std::vector<float> bt_h, bt_w, at_h, at_w;
  };
  struct PhasePair {
    int ph = 0, pw = 0;
    Tiles h, w;
  };
  // Everything that depends on the extents of a run, rebuilt when they change.
  struct Geometry {
    int64_t x_h = -1, x_w = -1, y_h = -1, y_w = -1;
    bool ok = false;
    std::vector<AxisForm> h, w;
    std::vector<PhasePair> pairs;  // those with outputs
    double cost = 0;
  };
  const Geometry& geometry(const AxisPlan& h, const AxisPlan& w, const Dims4& xd, const Dims4& yd);
  static bool axis_forms(const AxisPlan& plan, std::vector<AxisForm>& forms);
  std::vector<Tiles> tile_candidates(const AxisForm& f, int pinned) const;
  const Transformed& transformed(const PhasePair& p);

  ConvDesc desc_;
  Isa isa_;
  std::shared_ptr<ThreadPool> pool_;
  WeightReader weights_;
  int64_t cp_ = 0, width_ = 0, blocks_ = 0;  // channels rounded up to 16; output-channel blocks
  AlignedFloats bias_;
  int pinned_h_ = 0, pinned_w_ = 0;
  Geometry geo_;
  std::vector<Transformed> transformed_;  // per phase pair index ph * phases_w + pw
  // Per-run buffers (input channel-last, transformed inputs, products, output channel-last).
  std::shared_ptr<ConvWorkspace> workspace_;
};

}  // namespace upconv::detail::cpu

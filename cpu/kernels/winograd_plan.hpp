// Internal: conv (not transposed) of stride 1 and one group by Winograd minimal filtering,
// F(mh x mw, kh x kw) on tiles of outputs spaced by the dilation, so a dilated conv (aspp_d12,
// wavenet_d64) takes it as well as a plain one. Per image: the input is put channel-last, each
// tile's inputs are transformed (BT d B), every transform element is one channel GEMM against
// the transformed weights (G g G^T, computed once per tile size), and the products are
// transformed back (AT m A) with bias and activation, then put back to NCHW. A 3x3 kernel on
// 3x3 tiles does 25 multiplies where the direct form does 81; the price is rounding, which grows
// with the tile: up to 5 inputs per tile and axis (F(3, 3)) aspp_d12's worst output error is
// within 2x the direct kernels' (see winograd_points). The tile sizes are picked per output
// extent by a cost model; the conv kernel (conv_plan.cpp) runs this form where that cost is
// below the direct kernels'. It keeps a copy of the caller's weights, transformed on first use.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "cpu/isa.hpp"
#include "cpu/kernels/aligned_floats.hpp"
#include "runtime/backend.hpp"
#include "runtime/thread_pool.hpp"

namespace upconv::detail::cpu {

class WinogradConv {
 public:
  /// conv, stride 1, one group, at most winograd_max_alpha taps per axis and more than one in all.
  static bool supports(const ConvDesc& d);

  /// `weight` (c_out, c_in, kh, kw) and `bias` (c_out or null) are copied. `pool` must outlive it.
  WinogradConv(const ConvDesc& d, const float* weight, const float* bias, Isa isa, std::shared_ptr<ThreadPool> pool);

  /// Estimated cost of a run on one image of extents xd -> yd with the cheapest tile sizes, in
  /// multiply-adds of the direct kernels (the other passes converted at their measured speed).
  double cost(const Dims4& xd, const Dims4& yd);

  /// Runs on the caller's NCHW tensors (already validated).
  void run(const OpArgs& a);

  /// Largest outputs per tile along an axis of `taps` taps (1 for one tap).
  static int max_tile_size(int64_t taps);

  /// Tests: run with mh x mw outputs per tile (each within 1..max_tile_size of its axis) instead
  /// of the cheapest; 0 leaves that axis to the cost model.
  void pin_tile_sizes(int mh, int mw);

  /// Floats of transformed weights held now (tests).
  int64_t transformed_weight_floats() const noexcept;

 private:
  struct Tiles {
    int m = 1, alpha = 1;
    std::vector<int64_t> origins;
  };
  struct Choice {
    int64_t y_h = -1, y_w = -1;
    Tiles h, w;
    double cost = 0;
  };
  const Choice& choose(int64_t y_h, int64_t y_w);
  void transform_weights(int mh, int mw);

  ConvDesc desc_;
  Isa isa_;
  std::shared_ptr<ThreadPool> pool_;
  std::vector<float> weight_;  // the caller's, (c_out, c_in, kh, kw)
  int64_t cp_ = 0, width_ = 0, blocks_ = 0;  // channels rounded up to 16; output-channel blocks
  Choice choice_;
  int pinned_h_ = 0, pinned_w_ = 0;
  // Transformed weights [e][block][c_in][width] and the transform matrices for (u_mh_, u_mw_).
  int u_mh_ = 0, u_mw_ = 0;
  int64_t u_floats_ = 0;
  AlignedFloats u_, bias_;
  std::vector<float> bt_h_, bt_w_, at_h_, at_w_;
  // Per-run buffers, kept for the next run: input channel-last, transformed inputs, products,
  // output channel-last.
  AlignedFloats xt_, v_, prod_, yt_;
  int64_t xt_floats_ = 0, v_floats_ = 0, prod_floats_ = 0, yt_floats_ = 0;
};

}  // namespace upconv::detail::cpu

// Internal: the plain-data description of one image of a Winograd conv run (see
// winograd_plan.hpp) that the per-ISA kernels (winograd_kernels.ipp) execute in three passes:
// input transform, elementwise products as one channel GEMM per transform element, output
// transform. No std containers here (see conv_job.hpp).
#pragma once

#include <cstdint>

namespace upconv::detail::cpu {

/// Most inputs per tile per axis: with more, the fp32 rounding of the transforms grows past the
/// conv tolerance (see winograd_points).
constexpr int winograd_max_alpha = 5;

/// One stride phase of the layer, a correlation (see winograd_plan.hpp). Its outputs form a
/// q_h x q_w grid, phase position (qy, qx) being output (out_start_h + qy * out_step_h,
/// out_start_w + qx * out_step_w). A tile is mh x mw of them spaced by the taps' spacing: rows
/// origin_h[th] + dil_h * i (i < mh), columns origin_w[tw] + dil_w * j (j < mw); it reads ah x aw
/// inputs spaced the same way from input row origin_h[th] - pad_top, column origin_w[tw] -
/// pad_left. Tile index t = th * tiles_w + tw; transform element e = i * aw + j.
struct WinogradJob {
  int32_t mh = 1, mw = 1, ah = 1, aw = 1;
  const float* bt_h = nullptr;  // [ah][ah] input transform rows (element, input)
  const float* bt_w = nullptr;  // [aw][aw]
  const float* at_h = nullptr;  // [ah][ah] output transform rows (output, element), zero past mh
  const float* at_w = nullptr;  // [aw][aw], zero past mw
  int64_t tiles_h = 0, tiles_w = 0;
  const int64_t* origin_h = nullptr;  // [tiles_h] phase row of each tile row's first output
  const int64_t* origin_w = nullptr;  // [tiles_w] phase column of each tile column's first output
  int64_t dil_h = 1, dil_w = 1, pad_top = 0, pad_left = 0;
  const float* x = nullptr;  // the image's input [c_in][x_h][x_w]
  // The image's input as [x_h][x_w][cp] (cp a multiple of 16; lanes past c_in unspecified: no
  // product reads them), then cp zeros (the position padding taps read).
  float* xt = nullptr;
  int64_t x_h = 0, x_w = 0, cp = 0;
  float* v = nullptr;        // transformed inputs [e][tile][cp]
  const float* u = nullptr;  // transformed weights [e][block][c_in][width]
  float* prod = nullptr;     // products [e][tile][cop]
  int64_t c_in = 0, c_out = 0, width = 0, blocks = 0, cop = 0;  // cop = blocks * width
  const float* bias = nullptr;  // [cop], zeros without bias
  int activation = 0;           // upconv::Activation as int
  float alpha = 0.0f;
  float* yt = nullptr;  // the image's output channel-last, [y_h][y_w][cop]
  float* y = nullptr;   // the image's output [c_out][y_h][y_w]
  int64_t y_h = 0, y_w = 0;
  int64_t q_h = 0, q_w = 0;  // the phase's outputs per axis
  int64_t out_start_h = 0, out_step_h = 1, out_start_w = 0, out_step_w = 1;
  int64_t tiles() const { return tiles_h * tiles_w; }
};

/// Products: the most tiles per register tile for `vectors` vectors of output channels.
constexpr int winograd_max_tiles(bool wide, int vectors) {
  return wide ? (vectors == 1 ? 16 : 12) : (vectors == 1 ? 8 : 5);
}

/// xsimd dispatch functors over items [begin, end).
/// Input rows to channel-last, items = input rows: xt from x.
struct WinogradToChannelLastKernel {
  template <class Arch>
  void operator()(Arch, const WinogradJob& job, int64_t begin, int64_t end) const;
};
/// Output rows from channel-last, items = output rows: y from yt.
struct WinogradFromChannelLastKernel {
  template <class Arch>
  void operator()(Arch, const WinogradJob& job, int64_t begin, int64_t end) const;
};
/// Input transform, items = tiles: v from xt.
struct WinogradInputKernel {
  template <class Arch>
  void operator()(Arch, const WinogradJob& job, int64_t begin, int64_t end) const;
};
/// Products, items = e * blocks + block: prod[e][all tiles][block] = v[e] x u[e][block].
struct WinogradProductKernel {
  template <class Arch>
  void operator()(Arch, const WinogradJob& job, int64_t begin, int64_t end) const;
};
/// Output transform with bias and activation, items = tiles: yt from prod.
struct WinogradOutputKernel {
  template <class Arch>
  void operator()(Arch, const WinogradJob& job, int64_t begin, int64_t end) const;
};

}  // namespace upconv::detail::cpu

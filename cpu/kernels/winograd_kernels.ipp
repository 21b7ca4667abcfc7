// Internal: the Winograd conv passes (see winograd_job.hpp), templated over the xsimd arch.
// Included only by cpu/arch/conv_<isa>.cpp, each compiled with its ISA's flags.
//  - Input rows to channel-last (4 x 4 transposes), once per image.
//  - Input transform, vectorised over input channels: each tile's alpha_h x alpha_w inputs
//    (channel-last, so one vector is a vector's worth of channels of one position) through BT
//    on both axes.
//  - Products: per transform element a channel GEMM, register tiles of up to 12 tiles x 2
//    vectors of output channels, like the channel kernel's.
//  - Output transform, vectorised over output channels, with bias and activation, into the
//    channel-last output (outputs past the phase's edge dropped).
//  - Output rows back to NCHW, once per image.
// Each output's sums run in one fixed order, whatever the thread count.
#pragma once

#include <xmmintrin.h>

#include "cpu/kernels/conv_epilogue.ipp"
#include "cpu/kernels/winograd_job.hpp"

namespace upconv::detail::cpu {
namespace {

/// c[i * c_stride + v*L + l] = sum over k < depth of a[i * a_stride + k] * w[k * V*L + v*L + l].
template <class Arch, int M, int V>
void winograd_product_tile(const float* a, int64_t a_stride, const float* w, int64_t depth, float* c,
                           int64_t c_stride) {
  using B = xsimd::batch<float, Arch>;
  constexpr int L = B::size;
  B acc[M][V];
  UPCONV_UNROLL
  for (int i = 0; i < M; ++i)
    UPCONV_UNROLL
    for (int v = 0; v < V; ++v) acc[i][v] = B(0.0f);
  for (int64_t k = 0; k < depth; ++k, w += V * L) {
    B wv[V];
    UPCONV_UNROLL
    for (int v = 0; v < V; ++v) wv[v] = B::load_aligned(w + v * L);
    UPCONV_UNROLL
    for (int i = 0; i < M; ++i) {
      const B ab(a[i * a_stride + k]);
      UPCONV_UNROLL
      for (int v = 0; v < V; ++v) acc[i][v] = xsimd::fma(ab, wv[v], acc[i][v]);
    }
  }
  UPCONV_UNROLL
  for (int i = 0; i < M; ++i)
    UPCONV_UNROLL
    for (int v = 0; v < V; ++v) acc[i][v].store_aligned(c + i * c_stride + v * L);
}

using WinogradProductFn = void (*)(const float*, int64_t, const float*, int64_t, float*, int64_t);

template <class Arch, int V, int... Ms>
WinogradProductFn pick_product_tile(int m, std::integer_sequence<int, Ms...>) {
  WinogradProductFn fn = nullptr;
  ((fn = (m == Ms + 1 ? &winograd_product_tile<Arch, Ms + 1, V> : fn)), ...);
  return fn;
}

template <class Arch, int V>
WinogradProductFn product_tile_for(int m) {
  constexpr bool wide = xsimd::batch<float, Arch>::size == 16;
  return pick_product_tile<Arch, V>(m, std::make_integer_sequence<int, winograd_max_tiles(wide, V)>{});
}

/// Input transform of tiles [begin, end) with AH x AW inputs each: per vector of channels,
/// v[i][j] = sum_a,b bt_h[i][a] bt_w[j][b] d[a][b], all in registers (zero coefficients are
/// multiplied: branch-free; the transforms are a few % of the products).
template <class Arch, int AH, int AW>
void winograd_input_tiles(const WinogradJob& job, int64_t begin, int64_t end) {
  using B = xsimd::batch<float, Arch>;
  constexpr int L = B::size;
  const int64_t tiles = job.tiles(), cp = job.cp;
  const int64_t zero_at = job.x_h * job.x_w * cp;  // xt's zero position, read for padding
  for (int64_t t = begin; t < end; ++t) {
    const int64_t th = t / job.tiles_w, tw = t % job.tiles_w;
    int64_t at[AH][AW];
    UPCONV_UNROLL
    for (int a = 0; a < AH; ++a) {
      const int64_t iy = job.origin_h[th] + job.dil_h * a - job.pad_top;
      UPCONV_UNROLL
      for (int b = 0; b < AW; ++b) {
        const int64_t ix = job.origin_w[tw] + job.dil_w * b - job.pad_left;
        at[a][b] = iy >= 0 && iy < job.x_h && ix >= 0 && ix < job.x_w ? (iy * job.x_w + ix) * cp : zero_at;
      }
    }
    float* dst = job.v + t * cp;
    for (int64_t c = 0; c < cp; c += L) {
      B s[AH][AW];
      UPCONV_UNROLL
      for (int i = 0; i < AH; ++i)
        UPCONV_UNROLL
        for (int b = 0; b < AW; ++b) s[i][b] = B(0.0f);
      UPCONV_UNROLL
      for (int a = 0; a < AH; ++a)
        UPCONV_UNROLL
        for (int b = 0; b < AW; ++b) {
          const B d = B::load_aligned(job.xt + at[a][b] + c);
          UPCONV_UNROLL
          for (int i = 0; i < AH; ++i) s[i][b] = xsimd::fma(B(job.bt_h[i * AH + a]), d, s[i][b]);
        }
      UPCONV_UNROLL
      for (int i = 0; i < AH; ++i)
        UPCONV_UNROLL
        for (int j = 0; j < AW; ++j) {
          B sum(0.0f);
          UPCONV_UNROLL
          for (int b = 0; b < AW; ++b) sum = xsimd::fma(B(job.bt_w[j * AW + b]), s[i][b], sum);
          sum.store_aligned(dst + (i * AW + j) * tiles * cp + c);
        }
    }
  }
}

/// Output transform of tiles [begin, end), AH x AW products each, into the channel-last output
/// with bias and activation: per vector of output channels, y[i][j] = bias + sum_a,b at_h[i][a]
/// at_w[j][b] p[a][b] for the tile's outputs inside the output (at_h, at_w padded to AH, AW rows
/// with zeros).
template <class Arch, int AH, int AW, int Kind>
void winograd_output_tiles(const WinogradJob& job, int64_t begin, int64_t end) {
  using B = xsimd::batch<float, Arch>;
  constexpr int L = B::size;
  const int64_t tiles = job.tiles(), cop = job.cop;
  for (int64_t t = begin; t < end; ++t) {
    const int64_t th = t / job.tiles_w, tw = t % job.tiles_w;
    const int64_t oy = job.origin_h[th], ox = job.origin_w[tw];
    // The tile's outputs inside the phase (a prefix on each axis: they only grow).
    int rows = 0, cols = 0;
    while (rows < job.mh && oy + job.dil_h * rows < job.q_h) ++rows;
    while (cols < job.mw && ox + job.dil_w * cols < job.q_w) ++cols;
    const float* src = job.prod + t * cop;
    float* dst = job.yt + ((job.out_start_h + oy * job.out_step_h) * job.y_w + job.out_start_w + ox * job.out_step_w) * cop;
    const int64_t row_step = job.dil_h * job.out_step_h * job.y_w * cop, col_step = job.dil_w * job.out_step_w * cop;
    for (int64_t co = 0; co < cop; co += L) {
      B s[AH][AW];
      UPCONV_UNROLL
      for (int i = 0; i < AH; ++i)
        UPCONV_UNROLL
        for (int b = 0; b < AW; ++b) s[i][b] = B(0.0f);
      UPCONV_UNROLL
      for (int a = 0; a < AH; ++a)
        UPCONV_UNROLL
        for (int b = 0; b < AW; ++b) {
          const B p = B::load_aligned(src + (a * AW + b) * tiles * cop + co);
          UPCONV_UNROLL
          for (int i = 0; i < AH; ++i) s[i][b] = xsimd::fma(B(job.at_h[i * AH + a]), p, s[i][b]);
        }
      const B bias = B::load_aligned(job.bias + co);
      UPCONV_UNROLL
      for (int i = 0; i < AH; ++i)
        UPCONV_UNROLL
        for (int j = 0; j < AW; ++j) {
          if (i >= rows || j >= cols) continue;
          B sum = bias;
          UPCONV_UNROLL
          for (int b = 0; b < AW; ++b) sum = xsimd::fma(B(job.at_w[j * AW + b]), s[i][b], sum);
          activate<Arch>(Kind, job.alpha, sum).store_aligned(dst + i * row_step + j * col_step + co);
        }
    }
  }
}

/// dst[j * dst_stride + i] = src[i * src_stride + j] for i < rows, j < cols: 4 x 4 blocks through
/// SSE registers (every ISA here has them), the edges one by one. Destination rows outermost, so
/// each one is written start to end before the next (a line at a time, not a piece of each).
inline void transpose_floats(const float* src, int64_t src_stride, int64_t rows, int64_t cols, float* dst,
                             int64_t dst_stride) {
  int64_t j = 0;
  for (; j + 4 <= cols; j += 4) {
    int64_t i = 0;
    for (; i + 4 <= rows; i += 4) {
      __m128 r0 = _mm_loadu_ps(src + i * src_stride + j), r1 = _mm_loadu_ps(src + (i + 1) * src_stride + j);
      __m128 r2 = _mm_loadu_ps(src + (i + 2) * src_stride + j), r3 = _mm_loadu_ps(src + (i + 3) * src_stride + j);
      _MM_TRANSPOSE4_PS(r0, r1, r2, r3);
      _mm_storeu_ps(dst + j * dst_stride + i, r0);
      _mm_storeu_ps(dst + (j + 1) * dst_stride + i, r1);
      _mm_storeu_ps(dst + (j + 2) * dst_stride + i, r2);
      _mm_storeu_ps(dst + (j + 3) * dst_stride + i, r3);
    }
    for (; i < rows; ++i)
      for (int64_t k = j; k < j + 4; ++k) dst[k * dst_stride + i] = src[i * src_stride + k];
  }
  for (; j < cols; ++j)
    for (int64_t i = 0; i < rows; ++i) dst[j * dst_stride + i] = src[i * src_stride + j];
}

using WinogradTilesFn = void (*)(const WinogradJob&, int64_t, int64_t);

template <class Arch, int AH, int... AWs>
WinogradTilesFn pick_input_w(int aw, std::integer_sequence<int, AWs...>) {
  WinogradTilesFn fn = nullptr;
  ((fn = (aw == AWs + 1 ? &winograd_input_tiles<Arch, AH, AWs + 1> : fn)), ...);
  return fn;
}
template <class Arch, int... AHs>
WinogradTilesFn pick_input(int ah, int aw, std::integer_sequence<int, AHs...>) {
  WinogradTilesFn fn = nullptr;
  ((fn = (ah == AHs + 1 ? pick_input_w<Arch, AHs + 1>(aw, std::make_integer_sequence<int, winograd_max_alpha>{}) : fn)), ...);
  return fn;
}
template <class Arch, int Kind, int AH, int... AWs>
WinogradTilesFn pick_output_w(int aw, std::integer_sequence<int, AWs...>) {
  WinogradTilesFn fn = nullptr;
  ((fn = (aw == AWs + 1 ? &winograd_output_tiles<Arch, AH, AWs + 1, Kind> : fn)), ...);
  return fn;
}
template <class Arch, int Kind, int... AHs>
WinogradTilesFn pick_output(int ah, int aw, std::integer_sequence<int, AHs...>) {
  WinogradTilesFn fn = nullptr;
  ((fn = (ah == AHs + 1 ? pick_output_w<Arch, Kind, AHs + 1>(aw, std::make_integer_sequence<int, winograd_max_alpha>{}) : fn)), ...);
  return fn;
}

}  // namespace

template <class Arch>
void WinogradInputKernel::operator()(Arch, const WinogradJob& job, int64_t begin, int64_t end) const {
  pick_input<Arch>(job.ah, job.aw, std::make_integer_sequence<int, winograd_max_alpha>{})(job, begin, end);
}

template <class Arch>
void WinogradToChannelLastKernel::operator()(Arch, const WinogradJob& job, int64_t begin, int64_t end) const {
  // Blocks of 16 columns: the line of each channel row being read stays in L1 while the 16
  // positions are written.
  constexpr int64_t kCols = 16;
  const int64_t plane = job.x_h * job.x_w;
  for (int64_t r = begin; r < end; ++r)
    for (int64_t x0 = 0; x0 < job.x_w; x0 += kCols)
      transpose_floats(job.x + r * job.x_w + x0, plane, job.c_in, min_i64(kCols, job.x_w - x0),
                       job.xt + (r * job.x_w + x0) * job.cp, job.cp);
}

template <class Arch>
void WinogradFromChannelLastKernel::operator()(Arch, const WinogradJob& job, int64_t begin, int64_t end) const {
  constexpr int64_t kCols = 64;
  const int64_t plane = job.y_h * job.y_w;
  for (int64_t r = begin; r < end; ++r)
    for (int64_t x0 = 0; x0 < job.y_w; x0 += kCols)
      transpose_floats(job.yt + (r * job.y_w + x0) * job.cop, job.cop, min_i64(kCols, job.y_w - x0), job.c_out,
                       job.y + r * job.y_w + x0, plane);
}

template <class Arch>
void WinogradProductKernel::operator()(Arch, const WinogradJob& job, int64_t begin, int64_t end) const {
  using B = xsimd::batch<float, Arch>;
  constexpr int L = B::size;
  constexpr bool wide = L == 16;
  const int vectors = static_cast<int>(job.width / L);
  const int max_m = winograd_max_tiles(wide, vectors);
  const int64_t tiles = job.tiles();
  for (int64_t item = begin; item < end; ++item) {
    const int64_t e = item / job.blocks, blk = item % job.blocks;
    const float* u = job.u + (e * job.blocks + blk) * job.c_in * job.width;
    const float* v = job.v + e * tiles * job.cp;
    float* prod = job.prod + e * tiles * job.cop + blk * job.width;
    for (int64_t t = 0; t < tiles; t += max_m) {
      const int m = static_cast<int>(min_i64(max_m, tiles - t));
      const WinogradProductFn fn = vectors == 1 ? product_tile_for<Arch, 1>(m) : product_tile_for<Arch, 2>(m);
      fn(v + t * job.cp, job.cp, u, job.c_in, prod + t * job.cop, job.cop);
    }
  }
}

template <class Arch>
void WinogradOutputKernel::operator()(Arch, const WinogradJob& job, int64_t begin, int64_t end) const {
  with_activation(job.activation, [&](auto kind) {
    constexpr int Kind = decltype(kind)::value;
    pick_output<Arch, Kind>(job.ah, job.aw, std::make_integer_sequence<int, winograd_max_alpha>{})(job, begin, end);
  });
}

}  // namespace upconv::detail::cpu

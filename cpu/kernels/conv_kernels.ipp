// Internal: the conv / conv_transpose kernels, templated over the xsimd arch. Included only by
// cpu/arch/conv_<isa>.cpp, each compiled with its ISA's flags, which instantiate them.
//
// Both kernels compute dense stride-phase sub-convolutions (see conv_job.hpp) over a zero-padded
// input, with taps whose input row (and, for the channel kernel, column) falls in the padding
// skipped, so conv_transpose never multiplies inserted zeros.
//  - Row kernel: a register tile of R output channels x V vectors of consecutive outputs of one
//    phase row; weights broadcast, input vectors loaded straight from the padded row. The phase
//    rows of one output row are then interleaved on store with bias and activation.
//  - Channel kernel: a register tile of M output positions x V vectors of output channels;
//    the positions' input values (only valid taps) are packed first, weights are vector loads.
#pragma once

#include "cpu/kernels/conv_epilogue.ipp"
#include "cpu/kernels/conv_job.hpp"

namespace upconv::detail::cpu {
namespace {

// ---------------------------------------------------------------- row kernel

/// out[r][v*L + l] = sum over taps t, channels ci of w[t][ci][r] * x[t][ci * x_plane + v*L + l].
template <class Arch, int R, int V>
void row_tile(const float* const* x, const float* const* w, int taps, int64_t cig, int64_t x_plane, float* out,
              int64_t out_stride) {
  using B = xsimd::batch<float, Arch>;
  constexpr int L = B::size;
  B acc[R][V];
  for (int r = 0; r < R; ++r)
    for (int v = 0; v < V; ++v) acc[r][v] = B(0.0f);
  for (int t = 0; t < taps; ++t) {
    const float* xp = x[t];
    const float* wp = w[t];
    for (int64_t ci = 0; ci < cig; ++ci, xp += x_plane, wp += R) {
      B xv[V];
      for (int v = 0; v < V; ++v) xv[v] = B::load_unaligned(xp + v * L);
      for (int r = 0; r < R; ++r) {
        const B wb(wp[r]);
        for (int v = 0; v < V; ++v) acc[r][v] = xsimd::fma(wb, xv[v], acc[r][v]);
      }
    }
  }
  for (int r = 0; r < R; ++r)
    for (int v = 0; v < V; ++v) acc[r][v].store_unaligned(out + r * out_stride + v * L);
}

using RowTileFn = void (*)(const float* const*, const float* const*, int, int64_t, int64_t, float*, int64_t);

template <class Arch, int R, int... Vs>
RowTileFn pick_row_tile(int v, std::integer_sequence<int, Vs...>) {
  RowTileFn fn = nullptr;
  ((fn = (v == Vs + 1 ? &row_tile<Arch, R, Vs + 1> : fn)), ...);
  return fn;
}

template <class Arch, int R>
RowTileFn row_tile_for(int vectors) {
  constexpr bool wide = xsimd::batch<float, Arch>::size == 16;
  return pick_row_tile<Arch, R>(vectors, std::make_integer_sequence<int, row_max_vectors(wide, R)>{});
}

template <class Arch>
RowTileFn row_tile_for(int rows, int vectors) {
  switch (rows) {
    case 1: return row_tile_for<Arch, 1>(vectors);
    case 2: return row_tile_for<Arch, 2>(vectors);
    case 4: return row_tile_for<Arch, 4>(vectors);
    default: return row_tile_for<Arch, 8>(vectors);
  }
}

inline uint64_t seg_mask(const AxisView& a, const AxisPhase& p, int64_t q) {
  for (int32_t s = p.seg_begin; s < p.seg_end; ++s)
    if (q >= a.segs[s].q_begin && q < a.segs[s].q_end) return a.segs[s].mask;
  return 0;
}

inline bool tap_valid(uint64_t mask, int32_t j, int32_t tap_begin) {
  const int32_t bit = j - tap_begin;
  return bit >= 64 || ((mask >> bit) & 1u);
}

}  // namespace

template <class Arch>
void ConvRowKernel::operator()(Arch, const ConvJob& job, int64_t begin, int64_t end, float* scratch) const {
  using B = xsimd::batch<float, Arch>;
  constexpr int L = B::size;
  constexpr bool wide = L == 16;
  const int R = static_cast<int>(job.block_width);
  const int max_v = R == 1 ? row_max_vectors(wide, 1) : R == 2 ? row_max_vectors(wide, 2)
                  : R == 4 ? row_max_vectors(wide, 4) : row_max_vectors(wide, 8);
  const int64_t tile_w = int64_t{max_v} * L;

  // Scratch: phase-row buffers [R][row_len], then pointer arrays.
  int64_t row_len = 0;
  for (int32_t p = 0; p < job.w.num_phases; ++p) row_len += (job.w.phases[p].count + 127) / 128 * 128;
  float* rows = scratch;
  const int64_t ntaps_max = job.kh * job.kw;
  auto** x_tap = reinterpret_cast<const float**>(rows + R * row_len + 16);
  const float** x_at = x_tap + ntaps_max;
  const float** w_tap = x_at + ntaps_max;

  const int64_t xp_plane = job.xp_h * job.xp_w;
  const int64_t tap_floats = job.cig * R;
  for (int64_t item = begin; item < end; ++item) {
    const int64_t oh = item % job.y_h;
    int64_t rest = item / job.y_h;
    const int64_t blk = rest % job.blocks;
    rest /= job.blocks;
    const int64_t g = rest % job.groups;
    const int64_t n = rest / job.groups;

    const AxisPhase& ph = job.h.phases[job.row_phase[oh]];
    const int64_t qh = job.row_q[oh];
    const uint64_t hmask = seg_mask(job.h, ph, qh);
    const float* xg = job.xp + (n * job.c_in + g * job.cig) * xp_plane;
    const float* wb = job.wpack + (g * job.blocks + blk) * job.kh * job.kw * tap_floats;

    float* phase_row = rows;
    for (int32_t pwi = 0; pwi < job.w.num_phases; ++pwi) {
      const AxisPhase& pw = job.w.phases[pwi];
      if (pw.count == 0) continue;
      int taps = 0;
      for (int32_t jh = ph.tap_begin; jh < ph.tap_end; ++jh) {
        if (!tap_valid(hmask, jh, ph.tap_begin)) continue;
        const AxisTap& th = job.h.taps[jh];
        const float* xrow = xg + (qh * job.h.in_step + th.off) * job.xp_w;
        for (int32_t jw = pw.tap_begin; jw < pw.tap_end; ++jw) {
          const AxisTap& tw = job.w.taps[jw];
          x_tap[taps] = xrow + tw.off;
          w_tap[taps] = wb + (th.t * job.kw + tw.t) * tap_floats;
          ++taps;
        }
      }
      for (int64_t q0 = 0; q0 < pw.count; q0 += tile_w) {
        const int v = static_cast<int>(min_i64(max_v, (pw.count - q0 + L - 1) / L));
        for (int t = 0; t < taps; ++t) x_at[t] = x_tap[t] + q0;
        row_tile_for<Arch>(R, v)(x_at, w_tap, taps, job.cig, xp_plane, phase_row + q0, row_len);
      }
      phase_row += (pw.count + 127) / 128 * 128;
    }

    // Epilogue: bias, activation and the interleave of the phase rows into the output row.
    const int64_t co0 = blk * R;
    const int rows_valid = static_cast<int>(min_i64(R, job.cog - co0));
    for (int r = 0; r < rows_valid; ++r) {
      const int64_t co = g * job.cog + co0 + r;
      const float bias = job.bpack[(g * job.blocks + blk) * R + r];
      float* yrow = job.y + ((n * job.c_out + co) * job.y_h + oh) * job.y_w;
      const float* src = rows + r * row_len;
      if (job.w.out_step == 1) {
        bias_activate_row<Arch>(src, yrow, job.y_w, bias, job.activation, job.alpha);
      } else if (job.w.out_step == 2 && job.w.num_phases == 2) {
        const int64_t second = (job.w.phases[0].count + 127) / 128 * 128;
        bias_activate_interleave2<Arch>(src, src + second, yrow, job.y_w, bias, job.activation, job.alpha);
      } else {
        const float* ps = src;
        for (int32_t pwi = 0; pwi < job.w.num_phases; ++pwi) {
          const AxisPhase& pw = job.w.phases[pwi];
          for (int64_t q = 0; q < pw.count; ++q)
            yrow[pw.out_start + q * job.w.out_step] = activate_scalar(job.activation, job.alpha, ps[q] + bias);
          ps += (pw.count + 127) / 128 * 128;
        }
      }
    }
  }
}

}  // namespace upconv::detail::cpu

#include "cpu/kernels/conv_channel_kernel.ipp"

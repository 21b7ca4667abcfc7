// Internal, included by conv_kernels.ipp only: the output-channel-vectorised kernel. It suits
// layers with many output channels and small or heavily padded phase planes (dcgan_g2,
// aspp_d12): taps are skipped exactly per rectangle of positions sharing one set of valid taps.
#pragma once

namespace upconv::detail::cpu {
namespace {

/// out[i][v*L + l] = sum over taps t, channels ci of a[(t * cig + ci) * M + i] * w[t][ci * W + v*L + l]
/// with W = V * L (the packed block width).
template <class Arch, int M, int V>
void channel_tile(const float* a, const float* const* w, int taps, int64_t cig, float* out) {
  using B = xsimd::batch<float, Arch>;
  constexpr int L = B::size;
  B acc[M][V];
  for (int i = 0; i < M; ++i)
    for (int v = 0; v < V; ++v) acc[i][v] = B(0.0f);
  for (int t = 0; t < taps; ++t) {
    const float* wp = w[t];
    for (int64_t ci = 0; ci < cig; ++ci, wp += V * L, a += M) {
      B wv[V];
      for (int v = 0; v < V; ++v) wv[v] = B::load_unaligned(wp + v * L);
      for (int i = 0; i < M; ++i) {
        const B ab(a[i]);
        for (int v = 0; v < V; ++v) acc[i][v] = xsimd::fma(ab, wv[v], acc[i][v]);
      }
    }
  }
  for (int i = 0; i < M; ++i)
    for (int v = 0; v < V; ++v) acc[i][v].store_unaligned(out + (i * V + v) * L);
}

using ChannelTileFn = void (*)(const float*, const float* const*, int, int64_t, float*);

template <class Arch, int V, int... Ms>
ChannelTileFn pick_channel_tile(int m, std::integer_sequence<int, Ms...>) {
  ChannelTileFn fn = nullptr;
  ((fn = (m == Ms + 1 ? &channel_tile<Arch, Ms + 1, V> : fn)), ...);
  return fn;
}

template <class Arch, int V>
ChannelTileFn channel_tile_for(int m) {
  constexpr bool wide = xsimd::batch<float, Arch>::size == 16;
  return pick_channel_tile<Arch, V>(m, std::make_integer_sequence<int, channel_max_positions(wide, V)>{});
}

template <class Arch>
ChannelTileFn channel_tile_for(int vectors, int m) {
  switch (vectors) {
    case 1: return channel_tile_for<Arch, 1>(m);
    case 2: return channel_tile_for<Arch, 2>(m);
    default: return channel_tile_for<Arch, 4>(m);
  }
}

}  // namespace

template <class Arch>
void ConvChannelKernel::operator()(Arch, const ConvJob& job, int64_t begin, int64_t end, float* scratch) const {
  using B = xsimd::batch<float, Arch>;
  constexpr int L = B::size;
  const int64_t W = job.block_width;
  const int V = static_cast<int>(W / L);
  const int64_t ntaps_max = job.kh * job.kw;
  constexpr int max_m = 16;

  // Scratch: packed inputs [taps][cig][m], the output tile [m][W], position offsets, tap lists.
  float* a_pack = scratch;
  float* out = a_pack + ntaps_max * job.cig * max_m + 16;
  auto* pos = reinterpret_cast<int64_t*>(out + max_m * W + 16);
  auto* out_at = pos + max_m;
  auto* tap_off = out_at + max_m;
  auto* tap_index = tap_off + ntaps_max;
  auto** w_tap = reinterpret_cast<const float**>(tap_index + ntaps_max);

  const int64_t xp_plane = job.xp_h * job.xp_w;
  const int64_t tap_floats = job.cig * W;
  for (int64_t item = begin; item < end; ++item) {
    const ChannelTile& tile = job.tiles[item % job.num_tiles];
    const int64_t ng = item / job.num_tiles;
    const int64_t g = ng % job.groups, n = ng / job.groups;
    const AxisPhase& ph = job.h.phases[tile.ph];
    const AxisPhase& pw = job.w.phases[tile.pw];
    const AxisSeg& sh = job.h.segs[tile.seg_h];
    const AxisSeg& sw = job.w.segs[tile.seg_w];
    const int m = tile.m;

    // Positions of the tile: input offsets at tap offset 0, and output offsets.
    const int64_t width = sw.q_end - sw.q_begin;
    bool one_row = true;
    for (int i = 0; i < m; ++i) {
      const int64_t qh = sh.q_begin + (tile.start + i) / width, qw = sw.q_begin + (tile.start + i) % width;
      pos[i] = qh * job.h.in_step * job.xp_w + qw * job.w.in_step;
      out_at[i] = (ph.out_start + qh * job.h.out_step) * job.y_w + pw.out_start + qw * job.w.out_step;
      one_row = one_row && (i == 0 || pos[i] == pos[0] + i);
    }

    // The valid taps of this rectangle; pack their inputs.
    int taps = 0;
    for (int32_t jh = ph.tap_begin; jh < ph.tap_end; ++jh) {
      if (!tap_valid(sh.mask, jh, ph.tap_begin)) continue;
      for (int32_t jw = pw.tap_begin; jw < pw.tap_end; ++jw) {
        if (!tap_valid(sw.mask, jw, pw.tap_begin)) continue;
        tap_off[taps] = job.h.taps[jh].off * job.xp_w + job.w.taps[jw].off;
        tap_index[taps] = job.h.taps[jh].t * job.kw + job.w.taps[jw].t;
        ++taps;
      }
    }
    const float* xg = job.xp + (n * job.c_in + g * job.cig) * xp_plane;
    float* ap = a_pack;
    for (int t = 0; t < taps; ++t) {
      const float* src = xg + tap_off[t];
      for (int64_t ci = 0; ci < job.cig; ++ci, src += xp_plane, ap += m) {
        if (one_row) {
          const float* s = src + pos[0];
          for (int i = 0; i < m; ++i) ap[i] = s[i];
        } else {
          for (int i = 0; i < m; ++i) ap[i] = src[pos[i]];
        }
      }
    }

    const ChannelTileFn kernel = channel_tile_for<Arch>(V, m);
    for (int64_t blk = 0; blk < job.blocks; ++blk) {
      const float* wb = job.wpack + (g * job.blocks + blk) * job.kh * job.kw * tap_floats;
      for (int t = 0; t < taps; ++t) w_tap[t] = wb + tap_index[t] * tap_floats;
      kernel(a_pack, w_tap, taps, job.cig, out);

      // Epilogue: bias + activation per channel vector, then the scatter to NCHW.
      const int64_t co0 = blk * W;
      const int64_t valid = min_i64(W, job.cog - co0);
      const float* bias = job.bpack + (g * job.blocks + blk) * W;
      for (int i = 0; i < m; ++i)
        for (int v = 0; v < V; ++v)
          activate<Arch>(job.activation, job.alpha, B::load_unaligned(out + i * W + v * L) + B::load_unaligned(bias + v * L))
              .store_unaligned(out + i * W + v * L);
      float* yb = job.y + (n * job.c_out + g * job.cog + co0) * job.y_h * job.y_w;
      const int64_t y_plane = job.y_h * job.y_w;
      for (int64_t c = 0; c < valid; ++c)
        for (int i = 0; i < m; ++i) yb[c * y_plane + out_at[i]] = out[i * W + c];
    }
  }
}

}  // namespace upconv::detail::cpu

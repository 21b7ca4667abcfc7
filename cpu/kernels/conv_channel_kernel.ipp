// Internal, included by conv_kernels.ipp only: the output-channel-vectorised kernel. It suits
// layers with many output channels and small or heavily padded phase planes (dcgan_g2,
// aspp_d12): taps are skipped exactly per rectangle of positions sharing one set of valid taps.
//
// An item is a group of tiles of one phase (a few dozen positions). Tile by tile, block
// by block, the accumulators stay in registers over every valid tap and input channel and are
// stored once; a tile whose inputs are one run of the padded input reads it in place, any other
// is first packed (all its taps). Each output sums its taps and channels in one fixed order,
// whatever the thread count.
#pragma once

namespace upconv::detail::cpu {
namespace {

/// c[i][v*L + l] = sum over taps t and channels ci of a[a_off[t] + ci * a_stride + i] *
/// w[w_off[t] + ci * V*L + v*L + l]: the accumulators stay in registers over every tap (storing
/// and reloading them per tap cost ~5% on aspp_d12). `a` is either packed (a_stride = M) or the
/// padded input itself (a_stride = its channel stride; InPlace).
/// A tile of fewer than 8 accumulators (a segment's corner: dcgan_g2's 1-position tiles) cannot
/// hide the FMA latency, so consecutive channels go to S separate sets, added at the end (a fixed
/// order, like any other).
template <class Arch, int M, int V, bool InPlace>
void channel_tile(const float* a, const int64_t* a_off, int64_t a_stride, const float* w, const int64_t* w_off,
                  int ntaps, int64_t cig, float* c) {
  using B = xsimd::batch<float, Arch>;
  constexpr int L = B::size;
  constexpr int S = M * V >= 8 ? 1 : M * V >= 4 ? 2 : 4;  // accumulator sets
  B acc[S][M][V];
  UPCONV_UNROLL
  for (int k = 0; k < S; ++k)
    UPCONV_UNROLL
    for (int i = 0; i < M; ++i)
      UPCONV_UNROLL
      for (int v = 0; v < V; ++v) acc[k][i][v] = B(0.0f);
  auto step = [&](B(&sums)[M][V], const float* at, const float* wt) {
    // Reading the padded input in place (not a packed copy), each channel's values are a
    // plane away and a dilated kernel's taps rows apart: more streams than the hardware
    // prefetchers follow. Fetching 8 channels ahead: aspp_d12 1T 35.4-36.7 -> 34.7-34.8 ms
    // (AVX2 44.7-46.2 -> 43.2-43.7), dcgan_g2 unchanged (its tiles are mostly packed).
    if constexpr (InPlace) __builtin_prefetch(at + 8 * a_stride);
    B wv[V];
    UPCONV_UNROLL
    for (int v = 0; v < V; ++v) wv[v] = B::load_unaligned(wt + v * L);
    UPCONV_UNROLL
    for (int i = 0; i < M; ++i) {
      const B ab(at[i]);
      UPCONV_UNROLL
      for (int v = 0; v < V; ++v) sums[i][v] = xsimd::fma(ab, wv[v], sums[i][v]);
    }
  };
  for (int t = 0; t < ntaps; ++t) {
    const float* at = a + a_off[t];
    const float* wt = w + w_off[t];
    int64_t ci = 0;
    for (; ci + S <= cig; ci += S)
      UPCONV_UNROLL
      for (int k = 0; k < S; ++k, wt += V * L, at += a_stride) step(acc[k], at, wt);
    for (; ci < cig; ++ci, wt += V * L, at += a_stride) step(acc[0], at, wt);
  }
  UPCONV_UNROLL
  for (int i = 0; i < M; ++i)
    UPCONV_UNROLL
    for (int v = 0; v < V; ++v) {
      B sum = acc[0][i][v];
      UPCONV_UNROLL
      for (int k = 1; k < S; ++k) sum += acc[k][i][v];
      sum.store_unaligned(c + (i * V + v) * L);
    }
}

using ChannelTileFn = void (*)(const float*, const int64_t*, int64_t, const float*, const int64_t*, int, int64_t,
                               float*);

template <class Arch, int V, bool InPlace, int... Ms>
ChannelTileFn pick_channel_tile(int m, std::integer_sequence<int, Ms...>) {
  ChannelTileFn fn = nullptr;
  ((fn = (m == Ms + 1 ? &channel_tile<Arch, Ms + 1, V, InPlace> : fn)), ...);
  return fn;
}

template <class Arch, int V>
ChannelTileFn channel_tile_for(int m, bool in_place) {
  constexpr bool wide = xsimd::batch<float, Arch>::size == 16;
  constexpr auto ms = std::make_integer_sequence<int, channel_max_positions(wide, V)>{};
  return in_place ? pick_channel_tile<Arch, V, true>(m, ms) : pick_channel_tile<Arch, V, false>(m, ms);
}

template <class Arch>
ChannelTileFn channel_tile_for(int vectors, int m, bool in_place) {
  switch (vectors) {
    case 1: return channel_tile_for<Arch, 1>(m, in_place);
    case 2: return channel_tile_for<Arch, 2>(m, in_place);
    default: return channel_tile_for<Arch, 4>(m, in_place);
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
  const int64_t P = job.group_positions;
  constexpr int max_runs = 4;

  // Scratch (sized by conv_plan.cpp's channel_scratch, see ChannelScratch): the group's packed
  // inputs, one tile's outputs, then index tables.
  const ChannelScratch layout(ntaps_max, job.cig, P, W);
  float* a_pack = scratch;
  float* c_buf = scratch + layout.outputs;
  auto* ints = reinterpret_cast<int64_t*>(scratch + layout.ints);
  int64_t* in_at = ints;                       // [channel_tile_max] the tile being set up: input offset
  int64_t* out_at = in_at + channel_tile_max;  // [P] per position of the group: output offset
  int64_t* pair_off = out_at + P;              // [ntaps_max] per tap pair of the phase: input offset
  int64_t* pair_w = pair_off + ntaps_max;      // [ntaps_max] weight offset
  int64_t* tap_a = pair_w + ntaps_max;         // [P][ntaps_max] per tile, per valid tap: input offset
  int64_t* tap_w = tap_a + P * ntaps_max;      // [P][ntaps_max] weight offset
  int64_t* tile_first = tap_w + P * ntaps_max;  // [P] a tile's first position in out_at
  int64_t* tile_ntaps = tile_first + P;         // [P] its valid taps
  int64_t* tile_a = tile_ntaps + P;             // [P] its inputs: padded-input offset, or a_pack's (< 0: in place)
  int64_t* tile_stride = tile_a + P;            // [P] their channel stride

  // Channel stride and row stride of the padded input: NCHW, or NHCW (job.rows_outer) where one
  // input row of all channels is contiguous, so a tile's reads over its channels stay close.
  const int64_t xp_plane = job.rows_outer ? job.xp_w : job.xp_h * job.xp_w;
  const int64_t xp_row = job.rows_outer ? job.c_in * job.xp_w : job.xp_w;
  const int64_t y_plane = job.y_h * job.y_w;
  const int64_t tap_floats = job.cig * W;
  const int64_t block_floats = ntaps_max * tap_floats;
  for (int64_t item = begin; item < end; ++item) {
    const int64_t grp = item % job.num_groups;
    const int64_t ng = item / job.num_groups;
    const int64_t g = ng % job.groups, n = ng / job.groups;
    const int64_t t_first = job.group_first[grp], t_count = job.group_first[grp + 1] - t_first;
    const ChannelTile* tiles = job.tiles + t_first;
    const AxisPhase& ph = job.h.phases[tiles[0].ph];
    const AxisPhase& pw = job.w.phases[tiles[0].pw];
    const int32_t ntw = pw.tap_end - pw.tap_begin;
    const int32_t pairs = (ph.tap_end - ph.tap_begin) * ntw;
    for (int32_t p = 0; p < pairs; ++p) {
      const AxisTap& th = job.h.taps[ph.tap_begin + p / ntw];
      const AxisTap& tw = job.w.taps[pw.tap_begin + p % ntw];
      pair_off[p] = th.off * xp_row + tw.off;
      pair_w[p] = (th.t * job.kw + tw.t) * tap_floats;
    }
    const float* xg = job.xp + n * job.c_in * job.xp_h * job.xp_w + g * job.cig * xp_plane;
    const float* wg = job.wpack + g * job.blocks * block_floats;

    // Every tile's positions, valid taps and inputs (packed where they are not one run).
    float* ap = a_pack;
    for (int64_t k = 0, pos = 0; k < t_count; pos += tiles[k].m, ++k) {
      const ChannelTile& tile = tiles[k];
      const AxisSeg& sh = job.h.segs[tile.seg_h];
      const AxisSeg& sw = job.w.segs[tile.seg_w];
      const int m = tile.m;
      const int64_t width = sw.q_end - sw.q_begin;
      for (int i = 0; i < m; ++i) {
        const int64_t qh = sh.q_begin + (tile.start + i) / width, qw = sw.q_begin + (tile.start + i) % width;
        in_at[i] = qh * job.h.in_step * xp_row + qw * job.w.in_step;
        out_at[pos + i] = (ph.out_start + qh * job.h.out_step) * job.y_w + pw.out_start + qw * job.w.out_step;
      }
      int64_t* tile_tap_a = tap_a + k * ntaps_max;
      int64_t* tile_tap_w = tap_w + k * ntaps_max;
      int ntaps = 0;
      for (int32_t p = 0; p < pairs; ++p)
        if (tap_valid(sh.mask, ph.tap_begin + p / ntw, ph.tap_begin) &&
            tap_valid(sw.mask, pw.tap_begin + p % ntw, pw.tap_begin))
          tile_tap_a[ntaps] = pair_off[p], tile_tap_w[ntaps++] = pair_w[p];
      tile_first[k] = pos;
      tile_ntaps[k] = ntaps;

      // Runs of consecutive inputs (0 runs: more than max_runs, gathered one by one).
      int64_t run_start[max_runs], run_len[max_runs];
      int runs = 0;
      for (int i = 0; i < m && runs >= 0; ++i) {
        if (i > 0 && in_at[i] == in_at[i - 1] + 1)
          ++run_len[runs - 1];
        else if (runs < max_runs)
          run_start[runs] = i, run_len[runs++] = 1;
        else
          runs = -1;
      }
      // One run: read the padded input in place. Otherwise pack [tap][cig][m], copying runs by
      // whole vectors: a vector's tail lands in the next run, channel, tap or tile (written
      // after it) or in the slack at the end.
      tile_a[k] = -1 - in_at[0];
      tile_stride[k] = xp_plane;
      if (runs != 1 && ntaps > 0) {
        tile_a[k] = ap - a_pack;
        tile_stride[k] = m;
        for (int t = 0; t < ntaps; ++t) {
          const float* src = xg + tile_tap_a[t];
          tile_tap_a[t] = ap - (a_pack + tile_a[k]);
          for (int64_t ci = 0; ci < job.cig; ++ci, src += xp_plane, ap += m) {
            if (runs > 0) {
              for (int r = 0; r < runs; ++r) {
                const float* sp = src + in_at[run_start[r]];
                float* d = ap + run_start[r];
                for (int64_t i = 0; i < run_len[r]; i += L) B::load_unaligned(sp + i).store_unaligned(d + i);
              }
            } else {
              for (int i = 0; i < m; ++i) ap[i] = src[in_at[i]];
            }
          }
        }
      }
    }

    // Blocks of output channels outside the tiles: one block's weights (kh x kw x cig x W
    // floats, 288 KB for aspp_d12) then serve every tile of the group from L2, where with the
    // tiles outside they were fetched from L3 again for each tile.
    for (int64_t blk = 0; blk < job.blocks; ++blk) {
      const int64_t co0 = blk * W;
      const int64_t valid = min_i64(W, job.cog - co0);
      float* yb = job.y + (n * job.c_out + g * job.cog + co0) * y_plane;
      const float* bias = job.bpack + (g * job.blocks + blk) * W;
      for (int64_t k = 0; k < t_count; ++k) {
        const int m = tiles[k].m;
        const int64_t* tout = out_at + tile_first[k];
        // The tile's output lines, fetched for writing while it computes: its scatter below
        // then hits the cache instead of waiting on a read for ownership per line.
        for (int64_t c = 0; c < valid; ++c) {
          __builtin_prefetch(yb + c * y_plane + tout[0], 1, 3);
          __builtin_prefetch(yb + c * y_plane + tout[m - 1], 1, 3);
        }
        const bool in_place = tile_a[k] < 0;
        const float* a = in_place ? xg + (-1 - tile_a[k]) : a_pack + tile_a[k];
        if (tile_ntaps[k] > 0)
          channel_tile_for<Arch>(V, m, in_place)(a, tap_a + k * ntaps_max, tile_stride[k], wg + blk * block_floats,
                                                 tap_w + k * ntaps_max, static_cast<int>(tile_ntaps[k]), job.cig,
                                                 c_buf);
        else
          for (int64_t f = 0; f < m * W; ++f) c_buf[f] = 0.0f;
        // Epilogue: bias + activation per channel vector, then the scatter to NCHW.
        with_activation(job.activation, [&](auto kind) {
          for (int i = 0; i < m; ++i)
            for (int v = 0; v < V; ++v)
              activate<Arch>(decltype(kind)::value, job.alpha,
                             B::load_unaligned(c_buf + i * W + v * L) + B::load_unaligned(bias + v * L))
                  .store_unaligned(c_buf + i * W + v * L);
        });
        for (int64_t c = 0; c < valid; ++c)
          for (int i = 0; i < m; ++i) yb[c * y_plane + tout[i]] = c_buf[i * W + c];
      }
    }
  }
}

}  // namespace upconv::detail::cpu

// Internal, included by conv_kernels.ipp only: the output-channel-vectorised kernel. It suits
// layers with many output channels and small or heavily padded phase planes (dcgan_g2,
// aspp_d12): taps are skipped exactly per rectangle of positions sharing one set of valid taps.
//
// An item is a group of tiles of one phase (up to a few hundred positions). Their inputs are
// packed per tap; then, tap by tap and block by block, each tile's accumulators are loaded from
// the group's output buffer, advanced over the tap's input channels and stored back, so one tap's
// weights are reused by every tile of the group while they are in L2. Each output sums its taps
// and channels in one fixed order, whatever the thread count.
#pragma once

namespace upconv::detail::cpu {
namespace {

/// c[i][v*L + l] (+)= sum over ci of a[ci * a_stride + i] * w[ci * V*L + v*L + l]. `a` is either
/// packed (a_stride = M) or the padded input itself (a_stride = its plane size).
template <class Arch, int M, int V>
void channel_tile(const float* a, int64_t a_stride, const float* w, int64_t cig, float* c, bool accumulate) {
  using B = xsimd::batch<float, Arch>;
  constexpr int L = B::size;
  B acc[M][V];
  for (int i = 0; i < M; ++i)
    for (int v = 0; v < V; ++v) acc[i][v] = accumulate ? B::load_unaligned(c + (i * V + v) * L) : B(0.0f);
  for (int64_t ci = 0; ci < cig; ++ci, w += V * L, a += a_stride) {
    B wv[V];
    for (int v = 0; v < V; ++v) wv[v] = B::load_unaligned(w + v * L);
    for (int i = 0; i < M; ++i) {
      const B ab(a[i]);
      for (int v = 0; v < V; ++v) acc[i][v] = xsimd::fma(ab, wv[v], acc[i][v]);
    }
  }
  for (int i = 0; i < M; ++i)
    for (int v = 0; v < V; ++v) acc[i][v].store_unaligned(c + (i * V + v) * L);
}

using ChannelTileFn = void (*)(const float*, int64_t, const float*, int64_t, float*, bool);

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
  const int64_t max_pos = job.group_positions;
  constexpr int max_runs = 4;

  // Scratch: packed inputs, the group's output buffer, then per-position and per-tile indices.
  float* a_pack = scratch;
  float* c_buf = a_pack + max_pos * (job.cig + L) + 16;
  auto* in_at = reinterpret_cast<int64_t*>(c_buf + max_pos * job.blocks * W + 16);
  auto* out_at = in_at + max_pos;
  auto* a_off = out_at + max_pos;          // per tile
  auto* c_off = a_off + max_pos;           // per tile
  auto* tile_taps = c_off + max_pos;       // per tile
  auto* pair_off = tile_taps + max_pos;    // per tap pair (input offset)
  auto* pair_w = pair_off + ntaps_max;     // per tap pair (weight offset)
  auto* tile_runs = pair_w + ntaps_max;     // per tile
  auto* run_info = tile_runs + max_pos;     // per tile: starts[max_runs], lengths[max_runs]
  auto* slot = reinterpret_cast<int32_t*>(run_info + max_pos * 2 * max_runs);  // [tile][pair] -> local tap or -1

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

    // Positions, output offsets and valid taps of every tile of the group.
    const float* xg = job.xp + n * job.c_in * job.xp_h * job.xp_w + g * job.cig * xp_plane;
    int64_t a_used = 0, c_used = 0, pos_used = 0;
    for (int64_t k = 0; k < t_count; ++k) {
      const ChannelTile& tile = tiles[k];
      const AxisSeg& sh = job.h.segs[tile.seg_h];
      const AxisSeg& sw = job.w.segs[tile.seg_w];
      const int m = tile.m;
      const int64_t width = sw.q_end - sw.q_begin;
      int64_t* pin = in_at + pos_used;
      for (int i = 0; i < m; ++i) {
        const int64_t qh = sh.q_begin + (tile.start + i) / width, qw = sw.q_begin + (tile.start + i) % width;
        pin[i] = qh * job.h.in_step * xp_row + qw * job.w.in_step;
        out_at[pos_used + i] = (ph.out_start + qh * job.h.out_step) * job.y_w + pw.out_start + qw * job.w.out_step;
      }
      a_off[k] = a_used;
      c_off[k] = c_used;
      int32_t* tslot = slot + k * pairs;
      int32_t local = 0;
      for (int32_t p = 0; p < pairs; ++p) {
        const bool valid = tap_valid(sh.mask, ph.tap_begin + p / ntw, ph.tap_begin) &&
                           tap_valid(sw.mask, pw.tap_begin + p % ntw, pw.tap_begin);
        tslot[p] = valid ? local++ : -1;
      }
      tile_taps[k] = local;
      // Runs of consecutive inputs, copied by whole vectors (0 runs: gather one by one). A
      // vector's tail is overwritten by the next run or channel; the buffer has slack at its end.
      int64_t* rs = run_info + k * 2 * max_runs;
      int runs = 0;
      for (int i = 0; i < m && runs >= 0; ++i) {
        if (i > 0 && pin[i] == pin[i - 1] + 1)
          ++rs[max_runs + runs - 1];
        else if (runs < max_runs)
          rs[runs] = i, rs[max_runs + runs++] = 1;
        else
          runs = -1;
      }
      tile_runs[k] = runs < 0 ? 0 : runs;
      if (local == 0)
        for (int64_t f = 0; f < job.blocks * m * W; ++f) c_buf[c_used + f] = 0.0f;
      a_used += job.cig * m + L;  // + L: the last channel's vector tail lands here
      c_used += job.blocks * m * W;
      pos_used += m;
    }

    // Tap by tap: pack the tap's inputs of every tile ([tile][cig][m], so they stay in L2 while
    // every block uses them), then block by block, tile by tile.
    const float* wg = job.wpack + g * job.blocks * block_floats;
    for (int32_t p = 0; p < pairs; ++p) {
      const int64_t* pin = in_at;
      for (int64_t k = 0; k < t_count; ++k) {
        const int m = tiles[k].m;
        const int64_t* kin = pin;
        pin += m;
        if (slot[k * pairs + p] < 0 || tile_runs[k] == 1) continue;  // one run: read in place
        float* ap = a_pack + a_off[k];
        const int64_t* rs = run_info + k * 2 * max_runs;
        const int runs = static_cast<int>(tile_runs[k]);
        const float* src = xg + pair_off[p];
        for (int64_t ci = 0; ci < job.cig; ++ci, src += xp_plane, ap += m) {
          if (runs > 0) {
            for (int r = 0; r < runs; ++r) {
              const float* sp = src + kin[rs[r]];
              float* d = ap + rs[r];
              for (int64_t i = 0; i < rs[max_runs + r]; i += L) B::load_unaligned(sp + i).store_unaligned(d + i);
            }
          } else {
            for (int i = 0; i < m; ++i) ap[i] = src[kin[i]];
          }
        }
      }
      for (int64_t blk = 0; blk < job.blocks; ++blk) {
        const float* wt = wg + blk * block_floats + pair_w[p];
        const int64_t* pin = in_at;
        for (int64_t k = 0; k < t_count; ++k) {
          const int32_t s = slot[k * pairs + p];
          const int m = tiles[k].m;
          const int64_t first_in = pin[0];
          pin += m;
          if (s < 0) continue;
          const bool in_place = tile_runs[k] == 1;
          channel_tile_for<Arch>(V, m)(in_place ? xg + pair_off[p] + first_in : a_pack + a_off[k],
                                       in_place ? xp_plane : m, wt, job.cig, c_buf + c_off[k] + blk * m * W, s != 0);
        }
      }
    }

    // Epilogue: bias + activation per channel vector, then the scatter to NCHW.
    pos_used = 0;
    for (int64_t k = 0; k < t_count; ++k) {
      const int m = tiles[k].m;
      for (int64_t blk = 0; blk < job.blocks; ++blk) {
        float* out = c_buf + c_off[k] + blk * m * W;
        const float* bias = job.bpack + (g * job.blocks + blk) * W;
        for (int i = 0; i < m; ++i)
          for (int v = 0; v < V; ++v)
            activate<Arch>(job.activation, job.alpha,
                           B::load_unaligned(out + i * W + v * L) + B::load_unaligned(bias + v * L))
                .store_unaligned(out + i * W + v * L);
        const int64_t co0 = blk * W;
        const int64_t valid = min_i64(W, job.cog - co0);
        float* yb = job.y + (n * job.c_out + g * job.cog + co0) * y_plane;
        const int64_t* oat = out_at + pos_used;
        for (int64_t c = 0; c < valid; ++c)
          for (int i = 0; i < m; ++i) yb[c * y_plane + oat[i]] = out[i * W + c];
      }
      pos_used += m;
    }
  }
}

}  // namespace upconv::detail::cpu

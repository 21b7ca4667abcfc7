// Internal, included by conv_kernels.ipp only (inside its anonymous namespace, after the row
// tiles): the row kernel's form for a W phase of two taps d >= two vectors apart (WaveNet's
// dilated causal convs: kernel 2, dilation d).
//
// Outputs x and x + d share an input column: with a = in[x], b = in[x + d], c = in[x + 2d] and
// the taps' weights W0 (on a, b) and W1 (on b, c), Winograd F(2, 2) on the points 0, 1, inf gives
//   y[x]     = W0 (a - b) + (W0 + W1) b
//   y[x + d] = (W0 + W1) b + W1 (c - b)
// three channel sums for the two outputs where the direct form takes four: a quarter of the
// multiply-adds. The differences and the weight sum are formed per channel in registers (no
// transformed weights), and only subtractions and one addition enter the rounding, so the
// result stays within the direct kernels' error (the tests hold it to their tolerance).
// Positions pair within blocks of 2d outputs: the first d with the next d. Each item copies the
// input columns it reads into rows that spread over L1's sets (see row_pair_chunk).
// wavenet_d64 (Zen 5, 4 interleaved rounds, p10 / median ms): 1 thread 1.270 / 1.302 -> 1.082 /
// 1.091 (8 x 1 tiles reading the input in place: 1.157 / 1.187), 2 threads 0.663 / 0.671 ->
// 0.582 / 0.589.

/// One tile: R output-channel rows x V vectors of first-half positions from q0, and the same
/// vectors d further on. x[2h], x[2h + 1] are the two W taps of valid H tap h (lower input offset
/// first), hrows H taps; w_off[2h], w_off[2h + 1] their weights' offsets from w, the tile's first
/// row in a row-kernel weight block of W rows ([tap][cig][W]). Both halves are stored with the
/// epilogue straight into the output rows (out: column q0 of the tile's first row).
template <class Arch, int W, int R, int V>
void row_pair_tile(const float* const* x, const float* w, const int64_t* w_off, int hrows, int64_t q0, int64_t d,
                   int64_t cig, int64_t x_plane, float* out, int64_t out_stride, const RowTileEpilogue& epi) {
  using B = xsimd::batch<float, Arch>;
  constexpr int L = B::size;
  B acc[3][R][V];  // the W0, W0 + W1 and W1 sums
  UPCONV_UNROLL
  for (int k = 0; k < 3; ++k)
    UPCONV_UNROLL
    for (int r = 0; r < R; ++r)
      UPCONV_UNROLL
      for (int v = 0; v < V; ++v) acc[k][r][v] = B(0.0f);
  for (int h = 0; h < hrows; ++h) {
    const float* xp = x[2 * h] + q0;
    const float* w0 = w + w_off[2 * h];
    const float* w1 = w + w_off[2 * h + 1];
    for (int64_t ci = 0; ci < cig; ++ci, xp += x_plane, w0 += W, w1 += W) {
      B lo[V], mid[V], hi[V];
      UPCONV_UNROLL
      for (int v = 0; v < V; ++v) {
        mid[v] = B::load_unaligned(xp + d + v * L);
        lo[v] = B::load_unaligned(xp + v * L) - mid[v];
        hi[v] = B::load_unaligned(xp + 2 * d + v * L) - mid[v];
      }
      UPCONV_UNROLL
      for (int r = 0; r < R; ++r) {
        B a(w0[r]), c(w1[r]);
        // Broadcasts from memory (load ports) and a vector add for the sum: left alone, the
        // compiler adds the scalars and broadcasts all three from registers, a shuffle each
        // (wavenet_d64 10% slower); a packed third weight, broadcast or folded into the FMAs as
        // {1to16} operands, was 10-20% slower still (Zen 5).
        asm("" : "+v"(a.data), "+v"(c.data));
        UPCONV_UNROLL
        for (int v = 0; v < V; ++v) {
          acc[0][r][v] = xsimd::fma(a, lo[v], acc[0][r][v]);
          acc[2][r][v] = xsimd::fma(c, hi[v], acc[2][r][v]);
        }
        const B s = a + c;
        UPCONV_UNROLL
        for (int v = 0; v < V; ++v) acc[1][r][v] = xsimd::fma(s, mid[v], acc[1][r][v]);
      }
    }
  }
  B first[2][R][V], second[2][R][V];
  UPCONV_UNROLL
  for (int r = 0; r < R; ++r)
    UPCONV_UNROLL
    for (int v = 0; v < V; ++v) {
      first[0][r][v] = acc[0][r][v], first[1][r][v] = acc[1][r][v];
      second[0][r][v] = acc[1][r][v], second[1][r][v] = acc[2][r][v];
    }
  row_tile_store<Arch, false>(first, epi, out, out_stride);
  row_tile_store<Arch, false>(second, epi, out + d, out_stride);
}

using PairTileFn = void (*)(const float* const*, const float*, const int64_t*, int, int64_t, int64_t, int64_t, int64_t,
                            float*, int64_t, const RowTileEpilogue&);

template <class Arch, int W, int... Vs>
PairTileFn pick_pair_tile(int v, std::integer_sequence<int, Vs...>) {
  PairTileFn fn = nullptr;
  ((fn = (v == Vs + 1 ? &row_pair_tile<Arch, W, pair_tile_rows, Vs + 1> : fn)), ...);
  return fn;
}

/// The tile of pair_tile_rows rows and `vectors` vectors (at most pair_tile_vectors); null
/// where the ISA or the block width has none (the planner never asks there).
template <class Arch>
PairTileFn pair_tile_for(int block_width, int vectors) {
  constexpr bool wide = xsimd::batch<float, Arch>::size == 16;
  if constexpr (!wide) {
    return nullptr;
  } else {
    switch (block_width) {
      case 4: return pick_pair_tile<Arch, 4>(vectors, std::make_integer_sequence<int, pair_tile_vectors>{});
      case 8: return pick_pair_tile<Arch, 8>(vectors, std::make_integer_sequence<int, pair_tile_vectors>{});
      default: return nullptr;
    }
  }
}

/// Phase outputs [q_lo, q_hi) of output row oh (image n, group g), q_lo on a block boundary:
/// pair tiles over each block's pairs (a last partial vector of them overlapping the one before,
/// which recomputes the same values), plain row tiles into the scratch rows for its direct
/// positions, which then get the epilogue. x_tap / w_off: the phase's taps as the row kernel
/// lists them (two W taps per valid H tap), rows x_plane apart per channel; repointed here.
/// `copy`: job.pair_copy_stride floats per channel and H tap (see below).
template <class Arch>
void row_pair_chunk(const ConvJob& job, const float** x_tap, int64_t* w_off, int taps, int64_t n, int64_t g,
                    int64_t oh, int64_t q_lo, int64_t q_hi, const float* wg, int64_t block_floats, int64_t x_plane,
                    float* rows, int64_t row_stride, float* copy) {
  using B = xsimd::batch<float, Arch>;
  constexpr int L = B::size;
  constexpr bool wide = L == 16;
  const int R = static_cast<int>(job.block_width), P = pair_tile_rows;
  const int64_t d = job.pair_spacing, hrows = taps / 2;
  // Lower input offset first in each H tap's pair.
  for (int k = 0; k + 1 < taps; k += 2)
    if (x_tap[k] > x_tap[k + 1]) {
      const float* xt = x_tap[k];
      x_tap[k] = x_tap[k + 1], x_tap[k + 1] = xt;
      const int64_t wt = w_off[k];
      w_off[k] = w_off[k + 1], w_off[k + 1] = wt;
    }
  // The columns the chunk reads, copied per channel into rows a whole odd number of cache lines
  // apart: read in place, wavenet_d64's channel rows (64000 bytes apart) fall on 8 of L1's 64
  // sets, and the 8 rows of a set with the weights outgrow its 12 ways, so every pass of a tile
  // over the channels missed L1. Reads past the row's end (the direct spans' last vectors, only
  // discarded outputs use them) find zeros. x_tap[2h] - (row start) = the lower tap's offset.
  const int64_t stride = job.pair_copy_stride, span = q_hi - q_lo + d + L;
  const AxisPhase& phase = job.w.phases[0];
  const int64_t off_lo = min_i64(job.w.taps[phase.tap_begin].off, job.w.taps[phase.tap_begin + 1].off);
  const int64_t avail = min_i64(span, job.xp_w - off_lo - q_lo);
  for (int64_t h = 0; h < hrows; ++h) {
    const float* src = x_tap[2 * h] + q_lo;
    float* dst = copy + h * job.cig * stride;
    for (int64_t ci = 0; ci < job.cig; ++ci, src += x_plane, dst += stride) {
      int64_t k = 0;
      for (; k + L <= avail; k += L) B::load_unaligned(src + k).store_unaligned(dst + k);
      for (; k < avail; ++k) dst[k] = src[k];
      for (; k < span; ++k) dst[k] = 0.0f;
    }
  }
  for (int64_t h = 0; h < hrows; ++h) {  // column q of the chunk at x_tap[2h] + q, as before
    x_tap[2 * h] = copy + h * job.cig * stride - q_lo;
    x_tap[2 * h + 1] = x_tap[2 * h] + d;
  }
  x_plane = stride;

  const int max_rv = row_max_vectors(wide, R), max_pv = pair_tile_vectors;
  const float* bias = job.bpack + g * job.blocks * R;
  auto output_row = [&](int64_t c) { return job.y + ((n * job.c_out + g * job.cog + c) * job.y_h + oh) * job.y_w; };
  auto pair_tile = [&](int v, int64_t q0) {
    const PairTileFn tile = pair_tile_for<Arch>(R, v);
    for (int64_t blk = 0; blk < job.blocks; ++blk)
      for (int r0 = 0; r0 < R; r0 += P) {
        const int64_t c0 = blk * R + r0;
        if (c0 >= job.cog) break;
        const RowTileEpilogue epi{bias + c0, static_cast<int>(min_i64(P, job.cog - c0)), job.activation, job.alpha};
        tile(x_tap, wg + blk * block_floats + r0, w_off, static_cast<int>(hrows), q0, d, job.cig, x_plane,
             output_row(c0) + q0, job.y_h * job.y_w, epi);
      }
  };
  for (int64_t b = q_lo; b < q_hi; b += 2 * d) {
    const PairBlock pb(b, q_hi, d, L);
    const int64_t whole = pb.pairs / L;
    const int64_t tiles = (whole + max_pv - 1) / max_pv;
    for (int64_t k = 0, q0 = b; k < tiles; ++k) {
      const int v = near_equal_part(whole, tiles, k);
      pair_tile(v, q0);
      q0 += int64_t{v} * L;
    }
    if (pb.pairs % L != 0) pair_tile(1, b + pb.pairs - L);

    const int64_t len = pb.direct_end - pb.direct_begin;
    if (len <= 0) continue;
    // Into the scratch rows at their chunk column, vectors past the span included (the scratch
    // rows and the copy have that slack), then the epilogue over the span.
    const int64_t vectors = (len + L - 1) / L;
    const int64_t row_tiles = (vectors + max_rv - 1) / max_rv;
    for (int64_t k = 0, q0 = pb.direct_begin; k < row_tiles; ++k) {
      const int v = near_equal_part(vectors, row_tiles, k);
      const RowTileFn tile = row_tile_for<Arch>(R, v);
      for (int64_t blk = 0; blk < job.blocks; ++blk)
        tile(x_tap, q0, wg + blk * block_floats, w_off, taps, job.cig, x_plane,
             rows + blk * R * row_stride + (q0 - q_lo), row_stride, nullptr);
      q0 += int64_t{v} * L;
    }
    for (int64_t c = 0; c < job.cog; ++c)
      bias_activate_row<Arch>(rows + c * row_stride + (pb.direct_begin - q_lo), output_row(c) + pb.direct_begin, len,
                              bias[c], job.activation, job.alpha);
  }
}

// Internal: the conv / conv_transpose kernels, templated over the xsimd arch. Included only by
// cpu/arch/conv_<isa>.cpp, each compiled with its ISA's flags, which instantiate them.
//
// Both kernels compute dense stride-phase sub-convolutions (see conv_job.hpp) over a zero-padded
// input, with taps whose input row (and, for the channel kernel, column) falls in the padding
// skipped, so conv_transpose never multiplies inserted zeros.
//  - Row kernel: a register tile of R output channels x V vectors of consecutive outputs of one
//    phase row; weights broadcast, input vectors loaded straight from the padded row (padded by
//    each thread into a small ring of rows, see PaddedRowRing, or read from the caller's input
//    when nothing needs padding). The phase rows of one output row are then interleaved on
//    store with bias and activation. A W phase of two taps d >= two vectors apart takes the row-pair
//    tiles instead (conv_row_pairs.ipp): outputs x and x + d in three channel sums, not four.
//  - Channel kernel: a register tile of M output positions x V vectors of output channels;
//    the positions' input values (only valid taps) are broadcast from the padded input (tiles
//    within one row) or from a packed copy, weights are vector loads.
// Column padding taps are multiplied (by zeros) only in the row kernel; the planner picks the
// channel kernel where that, or partly filled vectors, would waste more lanes.
#pragma once

#include "cpu/kernels/conv_epilogue.ipp"
#include "cpu/kernels/conv_job.hpp"
#include "cpu/permute_kernels_impl.hpp"

namespace upconv::detail::cpu {
namespace {

// ---------------------------------------------------------------- row kernel

/// out[r][v*L + l] = sum over taps t, channels ci of w[w_off[t] + ci * R + r] * x[t][q0 + ci * x_plane + v*L + l].
/// With few rows (R <= 2) the tile has too few accumulators to hide the FMA latency, so even and
/// odd channels accumulate separately and are added at the end (a fixed order, like any other).
/// `epi` null: the sums are stored as they are, all R rows. Otherwise they are stored with the
/// epilogue (bias and activation) applied, straight into the output, rows r < epi->rows only;
/// with `partner` set, the tile is the second of two stride-2 W phases and partner holds the
/// first one's sums for the same rows and columns (row r at partner + r * partner_stride): both
/// get the epilogue and are stored interleaved, column q of the tile at output columns 2q, 2q + 1.
/// With `vector_out` set, vector v of row r goes to vector_out[v] + r * out_stride instead of
/// out + r * out_stride + v * L (x 2 paired): the tile's vectors may lie in different output rows.
struct RowTileEpilogue {
  const float* bias;  // per row
  int rows, kind;
  float alpha;
  const float* partner = nullptr;
  int64_t partner_stride = 0;
  float* const* vector_out = nullptr;
};

/// The epilogue of a row tile (see RowTileEpilogue) for one activation, the rows and vectors
/// unrolled so that the sums stay in registers (see UPCONV_UNROLL).
template <class Arch, int Kind, bool Paired, int S, int R, int V>
[[gnu::always_inline]] inline void row_tile_store_kind(const xsimd::batch<float, Arch> (&acc)[S][R][V],
                                                       const RowTileEpilogue& epi, float* out, int64_t out_stride) {
  using B = xsimd::batch<float, Arch>;
  constexpr int L = B::size;
  float* row0[V];  // each vector's address in the tile's first row, chosen once per tile
  UPCONV_UNROLL
  for (int v = 0; v < V; ++v) row0[v] = epi.vector_out ? epi.vector_out[v] : out + (Paired ? 2 : 1) * v * L;
  UPCONV_UNROLL
  for (int r = 0; r < R; ++r) {
    if (r >= epi.rows) break;
    const B bias(epi.bias[r]);
    UPCONV_UNROLL
    for (int v = 0; v < V; ++v) {
      B sum = acc[0][r][v];
      UPCONV_UNROLL
      for (int k = 1; k < S; ++k) sum += acc[k][r][v];
      sum = activate<Arch>(Kind, epi.alpha, sum + bias);
      float* dst = row0[v] + r * out_stride;
      if constexpr (Paired) {
        const B first = B::load_unaligned(epi.partner + r * epi.partner_stride + v * L);
        store_interleaved2<Arch>(activate<Arch>(Kind, epi.alpha, first + bias), sum, dst);
      } else {
        sum.store_unaligned(dst);
      }
    }
  }
}

/// The activations of many instructions, out of line: their temporaries would otherwise make
/// the compiler keep the sums on the stack for every activation.
template <class Arch, bool Paired, int S, int R, int V>
[[gnu::noinline]] void row_tile_store_transcendental(const xsimd::batch<float, Arch> (&acc)[S][R][V],
                                                     const RowTileEpilogue& epi, float* out, int64_t out_stride) {
  if (epi.kind == act_sigmoid)
    row_tile_store_kind<Arch, act_sigmoid, Paired>(acc, epi, out, out_stride);
  else
    row_tile_store_kind<Arch, act_tanh, Paired>(acc, epi, out, out_stride);
}

/// The epilogue of a row tile, the activation chosen once per tile (before, a switch per vector).
template <class Arch, bool Paired, int S, int R, int V>
[[gnu::always_inline]] inline void row_tile_store(const xsimd::batch<float, Arch> (&acc)[S][R][V],
                                                  const RowTileEpilogue& epi, float* out, int64_t out_stride) {
  switch (epi.kind) {
    case act_none: return row_tile_store_kind<Arch, act_none, Paired>(acc, epi, out, out_stride);
    case act_relu: return row_tile_store_kind<Arch, act_relu, Paired>(acc, epi, out, out_stride);
    case act_leaky: return row_tile_store_kind<Arch, act_leaky, Paired>(acc, epi, out, out_stride);
    default: {
      xsimd::batch<float, Arch> copy[S][R][V];  // only this path has the sums in memory
      UPCONV_UNROLL
      for (int k = 0; k < S; ++k)
        UPCONV_UNROLL
        for (int r = 0; r < R; ++r)
          UPCONV_UNROLL
          for (int v = 0; v < V; ++v) copy[k][r][v] = acc[k][r][v];
      return row_tile_store_transcendental<Arch, Paired>(copy, epi, out, out_stride);
    }
  }
}

template <class Arch, int R, int V>
void row_tile(const float* const* x, int64_t q0, const float* w, const int64_t* w_off, int taps, int64_t cig,
              int64_t x_plane, float* out, int64_t out_stride, const RowTileEpilogue* epi) {
  using B = xsimd::batch<float, Arch>;
  constexpr int L = B::size;
  constexpr int S = R <= 2 ? 2 : 1;  // accumulator sets
  B acc[S][R][V];
  UPCONV_UNROLL
  for (int k = 0; k < S; ++k)
    UPCONV_UNROLL
    for (int r = 0; r < R; ++r)
      UPCONV_UNROLL
      for (int v = 0; v < V; ++v) acc[k][r][v] = B(0.0f);
  for (int t = 0; t < taps; ++t) {
    const float* xp = x[t] + q0;
    const float* wp = w + w_off[t];
    int64_t ci = 0;
    for (; ci + S <= cig; ci += S) {
      UPCONV_UNROLL
      for (int k = 0; k < S; ++k, xp += x_plane, wp += R) {
        B xv[V];
        UPCONV_UNROLL
        for (int v = 0; v < V; ++v) xv[v] = B::load_unaligned(xp + v * L);
        UPCONV_UNROLL
        for (int r = 0; r < R; ++r) {
          const B wb(wp[r]);
          UPCONV_UNROLL
          for (int v = 0; v < V; ++v) acc[k][r][v] = xsimd::fma(wb, xv[v], acc[k][r][v]);
        }
      }
    }
    for (; ci < cig; ++ci, xp += x_plane, wp += R) {
      B xv[V];
      UPCONV_UNROLL
      for (int v = 0; v < V; ++v) xv[v] = B::load_unaligned(xp + v * L);
      UPCONV_UNROLL
      for (int r = 0; r < R; ++r) {
        const B wb(wp[r]);
        UPCONV_UNROLL
        for (int v = 0; v < V; ++v) acc[0][r][v] = xsimd::fma(wb, xv[v], acc[0][r][v]);
      }
    }
  }
  if (epi == nullptr) {
    UPCONV_UNROLL
    for (int r = 0; r < R; ++r)
      UPCONV_UNROLL
      for (int v = 0; v < V; ++v) {
        B sum = acc[0][r][v];
        UPCONV_UNROLL
        for (int k = 1; k < S; ++k) sum += acc[k][r][v];
        sum.store_unaligned(out + r * out_stride + v * L);
      }
  } else if (epi->partner == nullptr) {
    row_tile_store<Arch, false>(acc, *epi, out, out_stride);
  } else {
    row_tile_store<Arch, true>(acc, *epi, out, out_stride);
  }
}

using RowTileFn = void (*)(const float* const*, int64_t, const float*, const int64_t*, int, int64_t, int64_t, float*,
                           int64_t, const RowTileEpilogue*);

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

// ------------------------------------------------- merged-phase row tile (one output channel)

constexpr int bits_below(unsigned m, int p) { return __builtin_popcount(m & ((1u << p) - 1u)); }

/// acc[p][v] += w[k(p)] * x[ci][v*L..] for the phases p in M, over all channels: one input load
/// feeds every phase that has a tap at this offset (k(p) = rank of p among M's bits).
template <class Arch, int P, int V, unsigned M>
[[gnu::always_inline]] inline void merged_offset(xsimd::batch<float, Arch> (&acc)[P][V], const float* xp,
                                                 const float* wp, int64_t cig, int64_t x_plane) {
  using B = xsimd::batch<float, Arch>;
  constexpr int L = B::size;
  constexpr int C = __builtin_popcount(M);
  for (int64_t ci = 0; ci < cig; ++ci, xp += x_plane, wp += C) {
    B xv[V];
    UPCONV_UNROLL
    for (int v = 0; v < V; ++v) {
      xv[v] = B::load_unaligned(xp + v * L);
      // Keep the vector in a register: otherwise the compiler folds the load into every FMA's
      // memory operand and the phases stop sharing it.
      if constexpr (C > 1) asm("" : "+v"(xv[v].data));
    }
    UPCONV_UNROLL
    for (int p = 0; p < P; ++p) {
      if (!((M >> p) & 1u)) continue;
      const B wb(wp[bits_below(M, p)]);
      UPCONV_UNROLL
      for (int v = 0; v < V; ++v) acc[p][v] = xsimd::fma(wb, xv[v], acc[p][v]);
    }
  }
}

template <class Arch, int P, int V, unsigned... Ms>
[[gnu::always_inline]] inline void merged_offset_for(unsigned mask, xsimd::batch<float, Arch> (&acc)[P][V],
                                                     const float* xp, const float* wp, int64_t cig, int64_t x_plane,
                                                     std::integer_sequence<unsigned, Ms...>) {
  (void)((mask == Ms + 1 ? (merged_offset<Arch, P, V, Ms + 1>(acc, xp, wp, cig, x_plane), true) : false) || ...);
}

/// One output channel, all P phases of a row, V vectors of q each: out[p][v*L + l] for q0 + v*L + l.
/// Phases with taps at the same input offset share that offset's loads (fsrcnn: 4 loads feed the
/// 9 phase taps of a kernel row instead of 9).
template <class Arch, int P, int V>
void row_merged_tile(const ConvJob& job, const float* const* xrows, const int64_t* kh_t, int hrows, int64_t q0,
                     const float* wg, int64_t x_plane, float* out, int64_t phase_stride) {
  using B = xsimd::batch<float, Arch>;
  constexpr int L = B::size;
  B acc[P][V];
  UPCONV_UNROLL
  for (int p = 0; p < P; ++p)
    UPCONV_UNROLL
    for (int v = 0; v < V; ++v) acc[p][v] = B(0.0f);
  for (int r = 0; r < hrows; ++r) {
    const float* wk = wg + kh_t[r] * job.merge_kh_floats;
    for (int32_t d = 0; d < job.merge_offsets; ++d)
      merged_offset_for<Arch, P, V>(job.merge_mask[d], acc, xrows[r] + job.merge_off[d] + q0, wk + job.merge_base[d],
                                    job.cig, x_plane, std::make_integer_sequence<unsigned, (1u << P) - 1u>{});
  }
  UPCONV_UNROLL
  for (int p = 0; p < P; ++p)
    UPCONV_UNROLL
    for (int v = 0; v < V; ++v) acc[p][v].store_unaligned(out + p * phase_stride + v * L);
}

using MergedTileFn = void (*)(const ConvJob&, const float* const*, const int64_t*, int, int64_t, const float*, int64_t,
                              float*, int64_t);

template <class Arch, int P, int... Vs>
MergedTileFn pick_merged_tile(int v, std::integer_sequence<int, Vs...>) {
  MergedTileFn fn = nullptr;
  ((fn = (v == Vs + 1 ? &row_merged_tile<Arch, P, Vs + 1> : fn)), ...);
  return fn;
}

template <class Arch>
MergedTileFn merged_tile_for(int phases, int vectors) {
  constexpr bool wide = xsimd::batch<float, Arch>::size == 16;
  switch (phases) {
    case 2: return pick_merged_tile<Arch, 2>(vectors, std::make_integer_sequence<int, merged_max_vectors(wide, 2)>{});
    case 3: return pick_merged_tile<Arch, 3>(vectors, std::make_integer_sequence<int, merged_max_vectors(wide, 3)>{});
    default: return pick_merged_tile<Arch, 4>(vectors, std::make_integer_sequence<int, merged_max_vectors(wide, 4)>{});
  }
}

// ------------------------------- merged-phase sliding-window tile (AVX-512, one output channel)

#ifdef __AVX512F__  // only the AVX-512 translation unit has the 512-bit types
/// The 16 floats from element S of cur on (S < 16), continuing into next.
template <int S>
inline __m512 slide_in(__m512 cur, __m512 next) {
  if constexpr (S == 0)
    return cur;
  else
    return _mm512_castsi512_ps(_mm512_alignr_epi32(_mm512_castps_si512(next), _mm512_castps_si512(cur), S));
}

/// The FMAs of window offset S: phase p's tap k sits at offset k, or k + 1 for p >= Late.
template <int P, int V, int T, int Late, int S>
[[gnu::always_inline]] inline void slide_offset(__m512 (&acc)[P][V], const __m512 (&win)[V + 1], const float* wp) {
  UPCONV_UNROLL
  for (int p = 0; p < P; ++p) {
    const int k = S - (p < Late ? 0 : 1);
    if (k < 0 || k >= T) continue;
    const __m512 wb = _mm512_set1_ps(wp[p * T + k]);
    UPCONV_UNROLL
    for (int v = 0; v < V; ++v) acc[p][v] = _mm512_fmadd_ps(wb, slide_in<S>(win[v], win[v + 1]), acc[p][v]);
  }
}

/// row_merged_tile for W phases whose taps sit on consecutive input offsets: phase p has T taps
/// at offsets lo_p .. lo_p + T - 1 from job.slide_off, lo_p = 0 for p < Late and 1 from there on
/// (a kernel T strides long: fsrcnn's 9 at stride 3 puts phases 0 and 1 on offsets 0-2 and phase
/// 2 on 1-3). Per channel, V + 1 loads of 64 bytes and valignd build every offset's vectors:
/// row_merged_tile's loads at offsets 1-3 straddle two cache lines each (a stand-alone
/// fsrcnn_x3 loop: 0.80 ms that way, 0.73-0.75 ms, 115 GFLOP/s, with the window).
/// Weights: per kernel row [cig][P][T] (job.wslide). The window reads at most 31 floats past the
/// last input column a phase row uses, inside the padded input's slack (input_slack_floats);
/// in-place runs, which have none, do not take this tile.
template <int P, int V, int T, int Late>
void row_slide_tile(const ConvJob& job, const float* const* xrows, const int64_t* kh_t, int hrows, int64_t q0,
                    const float* wg, int64_t x_plane, float* out, int64_t phase_stride) {
  constexpr int D = T + (Late < P ? 1 : 0);
  __m512 acc[P][V];
  UPCONV_UNROLL
  for (int p = 0; p < P; ++p)
    UPCONV_UNROLL
    for (int v = 0; v < V; ++v) acc[p][v] = _mm512_setzero_ps();
  for (int r = 0; r < hrows; ++r) {
    const float* xp = xrows[r] + job.slide_off + q0;
    const float* wp = wg + kh_t[r] * job.slide_kh_floats;
    for (int64_t ci = 0; ci < job.cig; ++ci, xp += x_plane, wp += P * T) {
      __m512 win[V + 1];
      UPCONV_UNROLL
      for (int v = 0; v <= V; ++v) win[v] = _mm512_loadu_ps(xp + 16 * v);
      [&]<int... S>(std::integer_sequence<int, S...>) {
        (slide_offset<P, V, T, Late, S>(acc, win, wp), ...);
      }(std::make_integer_sequence<int, D>{});
    }
  }
  UPCONV_UNROLL
  for (int p = 0; p < P; ++p)
    UPCONV_UNROLL
    for (int v = 0; v < V; ++v) _mm512_storeu_ps(out + p * phase_stride + v * 16, acc[p][v]);
}

template <int P, int T, int... Lates>
MergedTileFn pick_slide_tile(int late, std::integer_sequence<int, Lates...>) {
  MergedTileFn fn = nullptr;
  ((fn = (late == Lates + 1 ? &row_slide_tile<P, slide_vectors(P), T, Lates + 1> : fn)), ...);
  return fn;
}

template <int P>
MergedTileFn slide_tile_for(int taps, int late) {
  switch (taps) {
    case 1: return pick_slide_tile<P, 1>(late, std::make_integer_sequence<int, P>{});
    case 2: return pick_slide_tile<P, 2>(late, std::make_integer_sequence<int, P>{});
    case 3: return pick_slide_tile<P, 3>(late, std::make_integer_sequence<int, P>{});
    default: return pick_slide_tile<P, 4>(late, std::make_integer_sequence<int, P>{});
  }
}

/// The tile of slide_vectors(phases) vectors per phase for job.slide_taps / slide_late.
inline MergedTileFn slide_tile_for(const ConvJob& job) {
  switch (job.w.num_phases) {
    case 2: return slide_tile_for<2>(job.slide_taps, job.slide_late);
    case 3: return slide_tile_for<3>(job.slide_taps, job.slide_late);
    default: return slide_tile_for<4>(job.slide_taps, job.slide_late);
  }
}
#endif

inline uint64_t seg_mask(const AxisView& a, const AxisPhase& p, int64_t q) {
  for (int32_t s = p.seg_begin; s < p.seg_end; ++s)
    if (q >= a.segs[s].q_begin && q < a.segs[s].q_end) return a.segs[s].mask;
  return 0;
}

inline bool tap_valid(uint64_t mask, int32_t j, int32_t tap_begin) {
  const int32_t bit = j - tap_begin;
  return bit >= 64 || ((mask >> bit) & 1u);
}

/// Part k of `total` split into `parts` near-equal whole parts (tiles of near-equal width, so no
/// tile is left with few accumulators).
inline int near_equal_part(int64_t total, int64_t parts, int64_t k) {
  return static_cast<int>(total * (k + 1) / parts - total * k / parts);
}

/// Fetches for writing the output lines that phase positions [q_begin, q_end) of row oh land on,
/// in every output channel of group g, so that the epilogue's stores hit the cache instead of
/// each waiting on a read for ownership (frame_up's 17 MB output spent ~20% of its run in those
/// stalls). Always inlined: GCC deems a function whose only effect is a prefetch pure and drops
/// its calls.
[[gnu::always_inline]] inline void prefetch_output_span(const ConvJob& job, int64_t n, int64_t g, int64_t oh,
                                                        int64_t q_begin, int64_t q_end) {
  constexpr int64_t kLine = 16;  // floats per 64-byte line
  const int64_t x_begin = q_begin * job.w.out_step;
  const int64_t x_end = min_i64(job.y_w, (q_end + 1) * job.w.out_step);
  if (x_begin >= x_end) return;
  for (int64_t c = 0; c < job.cog; ++c) {
    const float* yrow = job.y + ((n * job.c_out + g * job.cog + c) * job.y_h + oh) * job.y_w;
    for (int64_t x = x_begin; x < x_end; x += kLine) __builtin_prefetch(yrow + x, 1, 3);
    __builtin_prefetch(yrow + x_end - 1, 1, 3);  // the line the span's tail straddles into
  }
}

/// Tiles that store into the output themselves need prefetch_output_span only where their sums
/// are short (few taps x channels per output, so many lines written per FMA): the stores of a
/// tile with longer sums drain while the next tile computes, and the prefetches then only cost
/// instructions and L1 lines (without them, 5 paired rounds: unet_up 1.48-1.54 -> 1.46-1.50 ms,
/// wavenet_d64 1.43-1.50 -> 1.39-1.43; but frame_up, 64 per output, 3.71-3.87 -> 4.12-4.26).
constexpr int64_t direct_store_prefetch_below = 96;  // taps x input channels per output

/// The row kernel's input rows when it pads them itself (job.ring_rows > 0): a thread's items
/// are consecutive output rows, which read overlapping input rows, so each padded row (all the
/// group's channels, [cig][xp_w]) is kept in a small ring in scratch and copied once per
/// thread, while it is read from L1/L2. Before, a separate pass wrote a padded copy of the whole
/// input, which the kernel then read back from L3 or memory (that pass skipped: fsrcnn_x3 and
/// frame_up 8-10% faster; the ring got frame_up 5-8% and fsrcnn_x3 2-8%, more at 2 threads).
/// An item reads at most ring_rows - 1 rows (see padded_row_ring_rows), so the least recently
/// used slot is never one of the current item's.
template <class Arch>
class PaddedRowRing {
 public:
  PaddedRowRing(const ConvJob& job, float* slots) : job_(job), slots_(slots), slot_floats_(job.cig * job.xp_w) {
    for (int i = 0; i < kMaxRingRows; ++i) tag_[i] = -1, used_[i] = -1;
    // The reads past the last slot's last row (see input_slack_floats) land on defined values.
    if (job.ring_rows > 0)
      for (int64_t k = 0; k < input_slack_floats; ++k) slots_[job.ring_rows * slot_floats_ + k] = 0.0f;
  }

  /// Starts the next item: rows fetched for it are not evicted until the next call.
  void next_item() { ++item_; }

  /// Padded row `row` of the channels of group g of image n; channel ci at + ci * xp_w.
  const float* row(int64_t n, int64_t g, int64_t row) {
    const int64_t key = (n * job_.groups + g) * job_.xp_h + row;
    int victim = 0;
    for (int i = 0; i < job_.ring_rows; ++i) {
      if (tag_[i] == key) {
        used_[i] = item_;
        return slots_ + i * slot_floats_;
      }
      if (used_[i] < used_[victim]) victim = i;
    }
    fill(slots_ + victim * slot_floats_, n, g, row);
    tag_[victim] = key;
    used_[victim] = item_;
    return slots_ + victim * slot_floats_;
  }

 private:
  // Vector copies in line: a padded row is cig short rows, and memcpy plus two memsets per
  // row cost fsrcnn_x3 (56 rows of 96 floats per fill) more than the copying.
  void fill(float* dst, int64_t n, int64_t g, int64_t row) const {
    using B = xsimd::batch<float, Arch>;
    constexpr int64_t L = B::size;
    const int64_t in_r = row - job_.pad_top, x_w = job_.x_w, left = job_.pad_left;
    if (in_r < 0 || in_r >= job_.x_h) {  // not read through a valid tap; zeros all the same
      for (int64_t k = 0; k < slot_floats_; ++k) dst[k] = 0.0f;
      return;
    }
    const int64_t plane = job_.x_h * x_w;
    const float* src = job_.x + (n * job_.c_in + g * job_.cig) * plane + in_r * x_w;
    const bool ahead = in_r + 1 < job_.x_h;
    for (int64_t ci = 0; ci < job_.cig; ++ci, dst += job_.xp_w, src += plane) {
      for (int64_t k = 0; k < left; ++k) dst[k] = 0.0f;
      int64_t k = 0;
      for (; k + L <= x_w; k += L) B::load_unaligned(src + k).store_unaligned(dst + left + k);
      for (; k < x_w; ++k) dst[left + k] = src[k];
      for (k = left + x_w; k < job_.xp_w; ++k) dst[k] = 0.0f;
      // The next input row, which the next fills most likely copy, into L2 meanwhile.
      if (ahead) {
        for (k = 0; k < x_w; k += 16) __builtin_prefetch(src + x_w + k, 0, 2);
        __builtin_prefetch(src + 2 * x_w - 1, 0, 2);  // the line the row's end straddles into
      }
    }
  }

  const ConvJob& job_;
  float* slots_;
  int64_t slot_floats_;
  int64_t tag_[kMaxRingRows], used_[kMaxRingRows];
  int64_t item_ = 0;
};

#include "cpu/kernels/conv_row_pairs.ipp"

}  // namespace

template <class Arch>
void ConvRowKernel::operator()(Arch, const ConvJob& job, int64_t begin, int64_t end, float* scratch) const {
  using B = xsimd::batch<float, Arch>;
  constexpr int L = B::size;
  constexpr bool wide = L == 16;
  const int R = static_cast<int>(job.block_width);
  const int max_v = row_max_vectors(wide, R);
  const int64_t cq = job.row_chunk;

  // Scratch: phase rows [blocks * R][phases][cq + 128] of one chunk, then the tap arrays.
  const int64_t phase_stride = cq + 128;
  const int64_t row_stride = job.w.num_phases * phase_stride;
  float* rows = scratch;
  const int64_t ntaps_max = job.kh * job.kw;
  auto** x_tap = reinterpret_cast<const float**>(rows + job.blocks * R * row_stride + 16);
  auto* w_off = reinterpret_cast<int64_t*>(x_tap + ntaps_max);

  // Input rows: from the padded input (channel planes apart), or padded here (channels a row apart).
  PaddedRowRing<Arch> ring(job, scratch + job.ring_offset);
  const int64_t xp_plane = job.ring_rows > 0 ? job.xp_w : job.xp_h * job.xp_w;
  auto input_row = [&](int64_t n, int64_t g, int64_t row) -> const float* {
    if (job.ring_rows > 0) return ring.row(n, g, row);
    return job.xp + ((n * job.c_in + g * job.cig) * job.xp_h + row) * job.xp_w;
  };
  const int64_t tap_floats = job.cig * R;
  const int64_t block_floats = job.kh * job.kw * tap_floats;
  // Two stride-2 W phases of equal counts: stored together by paired tiles (see below).
  const bool paired = job.wmerge == nullptr && job.w.out_step == 2 && job.w.num_phases == 2 &&
                      job.w.phases[0].out_start == 0 && job.w.phases[1].out_start == 1 &&
                      job.w.phases[0].count == job.w.phases[1].count;
  for (int64_t item = begin; item < end; ++item) {
    const int64_t chunk = item % job.row_chunks;
    int64_t rest = item / job.row_chunks;
    const int64_t oh = rest % job.y_h;
    rest /= job.y_h;
    const int64_t g = rest % job.groups;
    const int64_t n = rest / job.groups;
    const int64_t q_lo = chunk * cq;

    const AxisPhase& ph = job.h.phases[job.row_phase[oh]];
    const int64_t qh = job.row_q[oh];
    const uint64_t hmask = seg_mask(job.h, ph, qh);
    ring.next_item();
    const float* wg = job.wpack + g * job.blocks * block_floats;

    if (job.wmerge != nullptr) {
      // All W phases at once (equal counts, one output channel): rows are the valid kh taps.
      const int64_t q_hi = min_i64(job.w.phases[0].count, q_lo + cq);
      int hrows = 0;
      auto* kh_t = w_off;
      for (int32_t jh = ph.tap_begin; jh < ph.tap_end; ++jh) {
        if (!tap_valid(hmask, jh, ph.tap_begin)) continue;
        const AxisTap& th = job.h.taps[jh];
        x_tap[hrows] = input_row(n, g, qh * job.h.in_step + th.off);
        kh_t[hrows] = th.t;
        ++hrows;
      }
      const int P = job.w.num_phases;
      const int max_mv = merged_max_vectors(wide, P);
      int64_t vectors = (q_hi - q_lo + L - 1) / L;
      int64_t q0 = q_lo;
#ifdef __AVX512F__
      // Whole sliding-window tiles first; what is left takes the tiles below.
      if constexpr (wide)
        if (job.wslide != nullptr) {
          const MergedTileFn slide = slide_tile_for(job);
          const float* ws = job.wslide + g * job.kh * job.slide_kh_floats;
          for (const int64_t sv = slide_vectors(P); vectors >= sv; vectors -= sv, q0 += sv * L)
            slide(job, x_tap, kh_t, hrows, q0, ws, xp_plane, rows + (q0 - q_lo), phase_stride);
        }
#endif
      const int64_t tiles = (vectors + max_mv - 1) / max_mv;
      const float* wm = job.wmerge + g * job.kh * job.merge_kh_floats;
      for (int64_t k = 0; k < tiles; ++k) {
        const int v = near_equal_part(vectors, tiles, k);
        merged_tile_for<Arch>(P, v)(job, x_tap, kh_t, hrows, q0, wm, xp_plane, rows + (q0 - q_lo), phase_stride);
        q0 += int64_t{v} * L;
      }
    }
    // The taps of W phase pwi in this output row, into x_tap / w_off from `at` on; their count.
    auto phase_taps = [&](int32_t pwi, int at) {
      const AxisPhase& pw = job.w.phases[pwi];
      int taps = at;
      for (int32_t jh = ph.tap_begin; jh < ph.tap_end; ++jh) {
        if (!tap_valid(hmask, jh, ph.tap_begin)) continue;
        const AxisTap& th = job.h.taps[jh];
        const float* xrow = input_row(n, g, qh * job.h.in_step + th.off);
        for (int32_t jw = pw.tap_begin; jw < pw.tap_end; ++jw) {
          const AxisTap& tw = job.w.taps[jw];
          x_tap[taps] = xrow + tw.off;
          w_off[taps] = (th.t * job.kw + tw.t) * tap_floats;
          ++taps;
        }
      }
      return taps - at;
    };
    // Epilogue of the tile of block blk at columns [q0, ...) of output row oh, stored straight
    // into the output (see RowTileEpilogue), and where its row of channel blk * R starts.
    auto direct_epilogue = [&](int64_t blk, const float* partner) {
      return RowTileEpilogue{job.bpack + g * job.blocks * R + blk * R, static_cast<int>(min_i64(R, job.cog - blk * R)),
                             job.activation, job.alpha, partner, row_stride};
    };
    auto output_row = [&](int64_t blk) {
      return job.y + ((n * job.c_out + g * job.cog + blk * R) * job.y_h + oh) * job.y_w;
    };

    if constexpr (wide)
      if (job.pair_spacing > 0) {  // one W phase of two taps: Winograd F(2, 2), see conv_row_pairs.ipp
        const int taps = phase_taps(0, 0);
        row_pair_chunk<Arch>(job, x_tap, w_off, taps, n, g, oh, q_lo, min_i64(job.w.phases[0].count, q_lo + cq), wg,
                             block_floats, xp_plane, rows, row_stride, scratch + job.pair_copy_offset);
        continue;
      }

    int64_t direct_end = q_lo;  // columns [q_lo, direct_end) stored by the tiles (see direct below)
    // The W phases one by one, or in pairs: two stride-2 phases of equal counts (dcgan_g4,
    // unet_up, frame_up) run tile by tile together. Per tile and block, the first phase's sums
    // go to the scratch rows, where the second phase's tile, right after, reads them back from
    // L1 and stores both with the epilogue, interleaved, into the output: the phase rows of a
    // whole item no longer make a round trip through the scratch (unet_up: 64 KB an item, out
    // of L1) and a pass of the epilogue over them.
    const int32_t group = paired ? 2 : 1;
    for (int32_t pwi = 0; pwi < (job.wmerge != nullptr ? 0 : job.w.num_phases); pwi += group) {
      const AxisPhase& pw = job.w.phases[pwi];
      const int64_t q_hi = min_i64(pw.count, q_lo + cq);
      if (q_lo >= q_hi) continue;
      // The group's first phase's taps at x_tap, its last phase's (the same one if alone) at
      // x_tap + last_at.
      const int first_taps = phase_taps(pwi, 0);
      const int last_at = paired ? first_taps : 0;
      const int last_taps = paired ? phase_taps(pwi + 1, last_at) : first_taps;
      // Tiles of near-equal width (whole vectors), so no tile is left with few accumulators.
      const int64_t vectors = (q_hi - q_lo + L - 1) / L;
      const int64_t tiles = (vectors + max_v - 1) / max_v;
      for (int64_t k = 0, q0 = q_lo; k < tiles; ++k) {
        const int v = near_equal_part(vectors, tiles, k);
        const int64_t q_end = q0 + int64_t{v} * L;
        const RowTileFn tile = row_tile_for<Arch>(R, v);
        float* out = rows + pwi * phase_stride + (q0 - q_lo);
        // A tile of whole vectors inside the row, of one W phase of unit step (a conv, or a
        // transposed conv of W stride 1) or of paired phases, stores its sums with the epilogue
        // applied straight into the output rows, where they went through the scratch rows and
        // the epilogue's pass over them (~100 KB per item for wavenet_d64's 64 channels: out of
        // L1). The last, partial tile of a row still takes that way.
        const bool direct = (paired || job.w.out_step == 1) && job.w.out_step * q_end <= job.y_w;
        // Issued while the first phase's tiles compute, one tile's columns at a time.
        if (pwi == 0 && (!direct || min_i64(first_taps, last_taps) * job.cig < direct_store_prefetch_below))
          prefetch_output_span(job, n, g, oh, q0, q_end);
        for (int64_t blk = 0; blk < job.blocks; ++blk) {
          const float* wb = wg + blk * block_floats;
          float* sums = out + blk * R * row_stride;
          const float* partner = nullptr;  // a pair's first phase's sums
          if (paired) {
            tile(x_tap, q0, wb, w_off, first_taps, job.cig, xp_plane, sums, row_stride, nullptr);
            partner = sums;
            sums += phase_stride;
          }
          if (direct) {
            const RowTileEpilogue epi = direct_epilogue(blk, partner);
            tile(x_tap + last_at, q0, wb, w_off + last_at, last_taps, job.cig, xp_plane,
                 output_row(blk) + job.w.out_step * q0, job.y_h * job.y_w, &epi);
          } else {
            tile(x_tap + last_at, q0, wb, w_off + last_at, last_taps, job.cig, xp_plane, sums, row_stride, nullptr);
          }
        }
        if (direct) direct_end = q_end;
        q0 = q_end;
      }
    }

    // Epilogue: bias, activation and the interleave of the phase rows into the output row.
    for (int64_t c = 0; c < job.cog; ++c) {
      const int64_t co = g * job.cog + c;
      const float bias = job.bpack[g * job.blocks * R + c];
      float* yrow = job.y + ((n * job.c_out + co) * job.y_h + oh) * job.y_w;
      const float* src = rows + c * row_stride;
      if (job.w.out_step == 1) {
        const int64_t from = direct_end - q_lo;  // the columns before it are stored
        bias_activate_row<Arch>(src + from, yrow + q_lo + from, min_i64(job.y_w, q_lo + cq) - q_lo - from, bias,
                                job.activation, job.alpha);
      } else if (job.w.out_step == 2 && job.w.num_phases == 2) {
        const int64_t from = direct_end - q_lo;  // the columns before it are stored (paired tiles)
        bias_activate_interleave2<Arch>(src + from, src + phase_stride + from, yrow + 2 * (q_lo + from),
                                        min_i64(job.y_w - 2 * q_lo, 2 * cq) - 2 * from, bias, job.activation,
                                        job.alpha);
      } else {
        // Bias and activation vectorised in place on each phase row, then the phase rows
        // interleaved: with 3 or 4 phases starting at 0, 1, ... by pixel_shuffle's vector
        // interleave over the columns every phase has (a scalar strided store per output was
        // ~3% of fsrcnn_x3), else and for the rest a strided copy.
        constexpr int32_t kMaxInterleaved = 4;  // interleave_fixed's widest case below
        const float* ps[kMaxInterleaved];
        int64_t whole = job.w.num_phases == job.w.out_step && job.w.out_step <= kMaxInterleaved ? cq : 0;
        for (int32_t pwi = 0; pwi < job.w.num_phases; ++pwi) {
          const AxisPhase& pw = job.w.phases[pwi];
          float* row = rows + c * row_stride + pwi * phase_stride;
          const int64_t count = min_i64(pw.count, q_lo + cq) - q_lo;
          if (pwi < kMaxInterleaved) ps[pwi] = row;
          if (pw.out_start != pwi) whole = 0;
          whole = min_i64(whole, count);
          if (count > 0) bias_activate_row<Arch>(row, row, count, bias, job.activation, job.alpha);
        }
        if (job.w.out_step == 3 && whole > 0)
          permute_impl::interleave_fixed<Arch, 3, false>(ps, yrow + 3 * q_lo, whole);
        else if (job.w.out_step == 4 && whole > 0)
          permute_impl::interleave_fixed<Arch, 4, false>(ps, yrow + 4 * q_lo, whole);
        else
          whole = 0;
        for (int32_t pwi = 0; pwi < job.w.num_phases; ++pwi) {
          const AxisPhase& pw = job.w.phases[pwi];
          const float* row = rows + c * row_stride + pwi * phase_stride;
          const int64_t count = min_i64(pw.count, q_lo + cq) - q_lo;
          float* yp = yrow + pw.out_start + q_lo * job.w.out_step;
          for (int64_t q = whole; q < count; ++q) yp[q * job.w.out_step] = row[q];
        }
      }
    }
  }
}

}  // namespace upconv::detail::cpu

#include "cpu/kernels/conv_channel_kernel.ipp"
#include "cpu/kernels/conv_depthwise_kernel.ipp"
#include "cpu/kernels/conv_pointwise_kernel.ipp"

// Internal: the plain-data description of one conv / conv_transpose run that the per-ISA kernels
// (conv_kernels.ipp, instantiated in cpu/arch/conv_<isa>.cpp) execute. Built by conv_plan.cpp,
// which is compiled without ISA flags; nothing here may hold std containers, so that no inline
// library code is compiled with AVX flags and shared with the baseline build (ODR).
#pragma once

#include <cstdint>

#include "cpu/isa.hpp"

namespace upconv::detail::cpu {

/// One kernel tap on one axis: input index (in padded coordinates) = q * in_step + off, where
/// q counts the outputs of the tap's phase.
struct AxisTap {
  int64_t t = 0;    // kernel tap index
  int64_t off = 0;  // padded-input offset at q = 0
};

/// A run of outputs q in [q_begin, q_end) of one phase whose valid taps are the same set:
/// bit j of `mask` is set when tap (phase.tap_begin + j) reads inside the unpadded input.
struct AxisSeg {
  int64_t q_begin = 0, q_end = 0;
  uint64_t mask = 0;
};

/// One stride phase of one axis: outputs out_start + q * out_step for q < count, computed as a
/// dense stride-`in_step` correlation over taps [tap_begin, tap_end). A conv has one phase; a
/// conv_transpose with stride s has s of them (the sub-pixel decomposition), each with in_step 1.
struct AxisPhase {
  int64_t out_start = 0, count = 0;
  int32_t tap_begin = 0, tap_end = 0;
  int32_t seg_begin = 0, seg_end = 0;
};

struct AxisView {
  int64_t out_step = 1, in_step = 1;
  int32_t num_phases = 0;
  const AxisPhase* phases = nullptr;
  const AxisTap* taps = nullptr;
  const AxisSeg* segs = nullptr;
};

/// A tile of the output-channel-vectorised kernel: `m` consecutive positions (row-major) of the
/// rectangle seg_h x seg_w of phase (ph, pw), starting at linear index `start` in it.
struct ChannelTile {
  int32_t ph = 0, pw = 0, seg_h = 0, seg_w = 0;
  int64_t start = 0;
  int32_t m = 0;
};

/// Everything one run needs. Weights are packed as [group][block][kh][kw][c_in/group][block_width]
/// (zero-padded past c_out/group); bias as [group][block][block_width] (zeros without bias).
struct ConvJob {
  AxisView h, w;
  int64_t n = 0, c_in = 0, c_out = 0, groups = 1, cig = 0, cog = 0, kh = 1, kw = 1;
  // Zero-padded input [n][c_in][xp_h][xp_w] (or [n][xp_h][c_in][xp_w], see rows_outer),
  // readable `slack` floats past its end.
  const float* xp = nullptr;
  int64_t xp_h = 0, xp_w = 0;
  bool rows_outer = false;  // xp is [n][xp_h][c_in][xp_w] (channel kernel only)
  // Row kernel, ring_rows > 0: xp is unused; each thread pads the input rows its items read into
  // a ring of ring_rows padded rows in its scratch ([slot][cig][xp_w], see PaddedRowRing), from
  // the caller's input x [n][c_in][x_h][x_w] (padded row r, column c = input row r - pad_top,
  // column c - pad_left).
  int32_t ring_rows = 0;  // at most kMaxRingRows
  int64_t ring_offset = 0;  // floats from the start of scratch
  const float* x = nullptr;
  int64_t x_h = 0, x_w = 0, pad_top = 0, pad_left = 0;
  float* y = nullptr;
  int64_t y_h = 0, y_w = 0;
  const float* wpack = nullptr;
  const float* bpack = nullptr;
  int64_t block_width = 0, blocks = 0;  // per group
  int activation = 0;                   // upconv::Activation as int
  float alpha = 0.0f;
  // Row-vectorised kernel: the phase and q of every output row.
  const int32_t* row_phase = nullptr;
  const int64_t* row_q = nullptr;
  int64_t row_chunk = 256, row_chunks = 1;  // phase outputs per item, and items per output row
  // Row kernel, one output channel and several W phases of equal length: the phases share their
  // input loads (row_merged_tile). Unused when wmerge is nullptr.
  const float* wmerge = nullptr;           // per group [kh][offset d][cig][phases with a tap at d]
  int64_t merge_kh_floats = 0;             // floats of one kh block (group = kh blocks)
  int32_t merge_offsets = 0;               // distinct W input offsets D (<= 16)
  const int64_t* merge_off = nullptr;      // [D] padded-input offset at q = 0
  const uint32_t* merge_mask = nullptr;    // [D] bit p: phase p has a tap at that offset
  const int64_t* merge_base = nullptr;     // [D] start of offset d within a kh block
  // Its sliding-window form (AVX-512, row_slide_tile; unused when wslide is nullptr): every
  // phase has slide_taps taps on consecutive input offsets, from slide_off on for phases below
  // slide_late and from slide_off + 1 for the others.
  const float* wslide = nullptr;  // per group [kh][cig][phase][tap]
  int64_t slide_kh_floats = 0;    // cig * phases * slide_taps
  int64_t slide_off = 0;
  int32_t slide_taps = 0, slide_late = 0;
  // Channel-vectorised kernel: the tile list, cut into groups of one phase pair.
  const ChannelTile* tiles = nullptr;
  const int64_t* group_first = nullptr;  // tiles of group k: [group_first[k], group_first[k + 1])
  int64_t num_groups = 0;
  int64_t group_positions = 0;  // at most this many positions per group
  // Pointwise kernel: the input plane of x (x_h x x_w) as one row, in panels of `panel`
  // positions (a multiple of 16), `panels` per (image, group).
  int64_t panel = 0, panels = 0;
  // Row kernel, one W phase of two taps `pair_spacing` input columns apart (0: unused): outputs
  // x and x + pair_spacing are computed together by Winograd F(2, 2) (row_pair_tile; AVX-512).
  // row_chunk is then a whole number of blocks of 2 * pair_spacing outputs (see PairBlock).
  int64_t pair_spacing = 0;
  // Its copy of the input columns an item reads: per valid H tap and channel, pair_copy_stride
  // floats, in scratch from pair_copy_offset on.
  int64_t pair_copy_stride = 0, pair_copy_offset = 0;
};

/// Register-tile limits per ISA, shared by the planner (weight packing, scratch sizes) and the
/// kernels. `wide` = 32 vector registers (AVX-512), else 16.
constexpr int isa_lanes(Isa isa) { return isa == Isa::avx512f ? 16 : isa == Isa::avx2 ? 8 : 4; }
/// Row kernel: output-channel rows per tile are 1, 2, 4 or 8; vectors of positions at most:
constexpr int row_max_vectors(bool wide, int rows) {
  return wide ? (rows == 1 ? 8 : rows == 2 ? 6 : rows == 4 ? 5 : 3) : (rows == 1 ? 6 : rows == 2 ? 4 : rows == 4 ? 2 : 1);
}
constexpr int kMaxRowVectors = 8;  // the most row_max_vectors gives
/// Channel kernel: vectors of output channels are 1, 2 or 4; positions per tile at most:
constexpr int channel_max_positions(bool wide, int vectors) {
  return wide ? (vectors == 1 ? 16 : vectors == 2 ? 12 : 6) : (vectors == 1 ? 8 : vectors == 2 ? 5 : 2);
}
/// Channel kernel: the most positions of any tile (every channel_max_positions is at most this).
constexpr int channel_tile_max = 16;
/// Channel kernel scratch, in floats from its start: the packed inputs of a group of at most
/// `positions` positions over `taps` taps of `cig` channels (+ a vector's slack: runs are copied
/// by whole vectors), one tile's outputs of one block (`width` lanes), then the kernel's int64
/// index tables; `total` floats in all.
struct ChannelScratch {
  int64_t outputs, ints, total;
  constexpr ChannelScratch(int64_t taps, int64_t cig, int64_t positions, int64_t width)
      : outputs((positions * taps * cig + 16 + 15) / 16 * 16),
        ints(outputs + (channel_tile_max * width + 16 + 15) / 16 * 16),
        total(ints + 2 * (channel_tile_max + 5 * positions + 2 * taps + 2 * positions * taps) + 64) {}
};
/// Merged-phase row tile: W phases 2..4, vectors per phase at most (accumulators = phases x V):
constexpr int merged_max_vectors(bool wide, int phases) { return (wide ? 20 : 10) / phases; }
constexpr int merged_max_phases = 4;
/// Its sliding-window tile (AVX-512): vectors per phase, taps per phase at most. The window
/// (V + 1 registers) and P x V accumulators fit in 32 registers.
constexpr int slide_vectors(int phases) { return phases == 2 ? 8 : phases == 3 ? 6 : 5; }
constexpr int slide_max_taps = 4;
/// Row-pair tile (AVX-512 only): output-channel rows per tile (row-kernel blocks of 4 or 8 rows
/// take the form, in one or two tiles), and vectors of first-half positions per tile at most;
/// 3 x 4 x 2 sums, 6 input vectors and two weights fill the 32 registers. (Measured on Zen 5
/// with the input in L1: 8 x 1 tiles ran 5% slower, 4 x 1 15%, 2 x 2 and 1 x 4 far slower.)
constexpr int pair_tile_rows = 4, pair_tile_vectors = 2;
/// Floats per channel row of the row-pair form's input copy for items of `chunk` outputs: the
/// chunk, the spacing and a vector, rounded up to an odd number of 64-byte lines (so that the
/// rows spread over every L1 set).
constexpr int64_t pair_copy_stride(int64_t chunk, int64_t d, int64_t lanes) {
  const int64_t lines = (chunk + d + lanes + 15) / 16;
  return (lines % 2 == 0 ? lines + 1 : lines) * 16;
}
/// One block of 2d outputs [b, b + 2d) of a row-pair chunk ending at q_hi (the last block may be
/// partial): first-half positions [b, b + pairs) pair with [b + d, b + d + pairs), and the
/// positions [direct_begin, direct_end) are left to plain row tiles (the first half's tail
/// whose partners lie past the row's end, or the whole block where fewer than a vector pair).
struct PairBlock {
  int64_t pairs, direct_begin, direct_end;
  constexpr PairBlock(int64_t b, int64_t q_hi, int64_t d, int64_t lanes)
      : pairs(q_hi - b - d < d ? (q_hi - b - d >= lanes ? q_hi - b - d : 0) : d),
        direct_begin(b + pairs),
        direct_end(pairs > 0 ? b + d : q_hi) {}  // no pairs: a last block shorter than 2d
};
/// Row-pair phase outputs per item: whole blocks of 2d, about 256.
constexpr int64_t pair_row_chunk(int64_t d) {
  const int64_t blocks = (256 + d) / (2 * d);
  return (blocks < 1 ? 1 : blocks) * 2 * d;
}
/// Row kernel: slots of its ring of padded input rows at most (job.ring_rows).
constexpr int kMaxRingRows = 16;
/// Floats the padded input must stay readable past its end (the widest row-tile over-read).
constexpr int64_t input_slack_floats = 8 * 16 + 64;


/// xsimd dispatch functors: process items [begin, end) of a job with `scratch` (sized by
/// conv_plan.cpp).
/// Row kernel items: ((n * groups + g) * y_h + output row) * row_chunks + chunk; each covers
/// every output channel of the group.
struct ConvRowKernel {
  template <class Arch>
  void operator()(Arch, const ConvJob& job, int64_t begin, int64_t end, float* scratch) const;
};
/// Channel kernel items: (n * groups + g) * num_groups + tile group.
struct ConvChannelKernel {
  template <class Arch>
  void operator()(Arch, const ConvJob& job, int64_t begin, int64_t end, float* scratch) const;
};
/// Depthwise kernel (c_in = c_out = groups, unit W input step, kh x kw <= 64), NCHW padded input:
/// items = (n * groups + g) * ceil(y_h / row_chunk) + block of row_chunk output rows; scratch
/// holds one phase row (y_w floats).
struct ConvDepthwiseKernel {
  template <class Arch>
  void operator()(Arch, const ConvJob& job, int64_t begin, int64_t end, float* scratch) const;
};
/// Pointwise kernel (every phase one tap per axis, reading input position q at phase position q;
/// at most 2 W phases, interleaved): items = (n * groups + g) * panels + panel.
struct ConvPointwiseKernel {
  template <class Arch>
  void operator()(Arch, const ConvJob& job, int64_t begin, int64_t end, float* scratch) const;
};

}  // namespace upconv::detail::cpu

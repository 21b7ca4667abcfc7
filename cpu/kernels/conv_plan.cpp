#include "cpu/kernels/conv_plan.hpp"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <mutex>
#include <numeric>
#include <string_view>
#include <utility>
#include <vector>

#include "cpu/kernels/aligned_floats.hpp"
#include "cpu/kernels/conv_dispatch.hpp"
#include "cpu/kernels/conv_geometry.hpp"
#include "cpu/kernels/winograd_plan.hpp"

namespace upconv::detail::cpu {
namespace {

/// Weights as [group][block][kh][kw][cig][width] (zero past cog) and bias as [group][block][width].
/// An empty one (no storage) is a layout not packed yet.
struct PackedWeights {
  int64_t width = 0, blocks = 0;
  AlignedFloats w, b;
  bool used = false;  // some run has read it
  bool packed() const noexcept { return w.get() != nullptr; }
};

/// The layout of `width` lanes per block for `cog` output channels per group, not packed yet.
PackedWeights weight_layout(int64_t cog, int64_t width) {
  PackedWeights p;
  p.width = width;
  p.blocks = (cog + width - 1) / width;
  return p;
}

/// Packs weights of `width` lanes per block. `weight_at(g, ci, co, t)` and `bias_at(g, co)` read
/// the source (the caller's tensors or another packed layout).
template <class WeightAt, class BiasAt>
PackedWeights pack_weights(const ConvDesc& d, int64_t width, const WeightAt& weight_at, const BiasAt& bias_at) {
  const int64_t cig = d.c_in_per_group(), cog = d.c_out_per_group(), taps = d.kh * d.kw;
  PackedWeights p = weight_layout(cog, width);
  p.w = AlignedFloats(d.groups * p.blocks * taps * cig * width);
  p.b = AlignedFloats(d.groups * p.blocks * width);
  // In destination order (sequential writes); lanes past cog stay zero.
  float* dst = p.w.get();
  for (int64_t g = 0; g < d.groups; ++g)
    for (int64_t blk = 0; blk < p.blocks; ++blk) {
      const int64_t lanes = std::min(width, cog - blk * width);
      for (int64_t lane = 0; lane < lanes; ++lane)
        p.b.get()[(g * p.blocks + blk) * width + lane] = bias_at(g, blk * width + lane);
      for (int64_t t = 0; t < taps; ++t)
        for (int64_t ci = 0; ci < cig; ++ci, dst += width)
          for (int64_t lane = 0; lane < lanes; ++lane) dst[lane] = weight_at(g, ci, blk * width + lane, t);
    }
  return p;
}

/// From the caller's tensors: conv (c_out, cig, kh, kw), conv_transpose (c_in, cog, kh, kw).
PackedWeights pack_weights(const ConvDesc& d, const float* weight, const float* bias, int64_t width) {
  const int64_t cig = d.c_in_per_group(), cog = d.c_out_per_group(), taps = d.kh * d.kw;
  return pack_weights(
      d, width,
      [&](int64_t g, int64_t ci, int64_t co, int64_t t) {
        return d.transposed ? weight[((g * cig + ci) * cog + co) * taps + t] : weight[((g * cog + co) * cig + ci) * taps + t];
      },
      [&](int64_t g, int64_t co) { return bias ? bias[g * cog + co] : 0.0f; });
}

/// From another packed layout (no copy of the caller's weights is kept).
PackedWeights repack_weights(const ConvDesc& d, const PackedWeights& src, int64_t width) {
  const int64_t cig = d.c_in_per_group(), taps = d.kh * d.kw;
  return pack_weights(
      d, width,
      [&](int64_t g, int64_t ci, int64_t co, int64_t t) {
        return src.w.get()[(((g * src.blocks + co / src.width) * taps + t) * cig + ci) * src.width + co % src.width];
      },
      [&](int64_t g, int64_t co) { return src.b.get()[(g * src.blocks + co / src.width) * src.width + co % src.width]; });
}

// UPCONV_CPU_WINOGRAD=0 keeps stride-1 convs on the direct kernels (their rounding, not the
// Winograd transforms'); read when a kernel is created.
bool winograd_allowed() {
  const char* v = std::getenv("UPCONV_CPU_WINOGRAD");
  return v == nullptr || std::string_view(v) != "0";
}

int64_t row_block_rows(int64_t cog) {
  for (int64_t r : {1, 2, 4}) if (cog <= r) return r;
  return 8;
}

class FastConvKernel final : public OpKernel {
 public:
  FastConvKernel(const ConvDesc& d, const float* weight, const float* bias, Isa isa,
                 std::shared_ptr<ThreadPool> pool, ConvTileKind tile, std::shared_ptr<ConvWorkspace> workspace)
      : desc_(d), isa_(isa), pool_(std::move(pool)), tile_(tile) {
    const int64_t lanes = isa_lanes(isa_);
    // Two vectors of channels x up to 12 positions: the weights streamed from L2 per FMA are half
    // those of a 4 x 6 tile, which matters when the reduction (c_in x taps) is long.
    const int64_t vectors = std::min<int64_t>(2, (d.c_out_per_group() + lanes - 1) / lanes);
    const int64_t cog = d.c_out_per_group();
    rows_ = weight_layout(cog, row_block_rows(cog));
    row_chunk_ = row_chunk_for(lanes, rows_.width);
    channels_ = weight_layout(cog, vectors * lanes);
    // Only the layout of the kernel the first runs most likely use is packed now: a strided conv
    // along W always takes the channel kernel, anything else usually the row kernel.
    PackedWeights& first = (!d.transposed && d.stride_w > 1) ? channels_ : rows_;
    first = pack_weights(d, weight, bias, first.width);
    const bool direct_forced = tile == ConvTileKind::rows || tile == ConvTileKind::channels;
    pairs_allowed_ = winograd_allowed();
    if (!direct_forced && pairs_allowed_ && WinogradConv::supports(d))
      winograd_ = std::make_unique<WinogradConv>(
          d, [this](int64_t co, int64_t ci, int64_t t) { return packed_weight(co, ci, t); }, bias, isa_, pool_,
          std::move(workspace));
  }

  // Weights and bias per block: blocks x width lanes x (kh * kw * cig taps + 1 bias), per group.
  int64_t packed_weight_floats() const noexcept {
    const int64_t per_lane = desc_.kh * desc_.kw * desc_.c_in_per_group() + 1;
    int64_t floats = 0;
    for (const PackedWeights* p : {&rows_, &channels_})
      if (p->packed()) floats += desc_.groups * p->blocks * p->width * per_lane;
    return floats;
  }

  ConvTileKind last_kernel() const noexcept { return last_kernel_; }

  Status run(const OpArgs& a) override {
    const ConvDesc& d = desc_;
    const Axes& axes = axes_for(a);
    const AxisPlan& ph = axes.h;
    const AxisPlan& pw = axes.w;
    if (use_winograd(a, ph, pw)) {
      winograd_->run(a, ph, pw);
      last_kernel_ = ConvTileKind::winograd;
      return {};
    }
    const bool depthwise = use_depthwise(pw);
    const bool pointwise = !depthwise && use_pointwise(a, ph, pw);
    const bool channels = !depthwise && !pointwise && use_channel_tiles(ph, pw);
    const bool rows = !depthwise && !pointwise && !channels;

    PackedWeights& pk = packed_for(channels ? channels_ : rows_);
    // The row kernel reads the caller's input in place where it can, except where its channel
    // planes alias in L1 and the ring of padded rows can take it instead. The pointwise kernel
    // reads it in place (it reads no padding).
    const int64_t pair_d = rows ? pair_spacing(pw) : 0;
    const int64_t chunk = pair_d > 0 ? pair_row_chunk(pair_d) : row_chunk_;
    last_kernel_ = depthwise ? ConvTileKind::depthwise : pointwise ? ConvTileKind::pointwise
                 : channels  ? ConvTileKind::channels  : pair_d > 0 ? ConvTileKind::row_pairs : ConvTileKind::rows;
    const int32_t ring_fits = rows ? padded_row_ring_rows(ph, pw) : 0;
    const bool in_place = pointwise || (rows && rows_read_input_in_place(a, ph, pw, pair_d) &&
                                        !(ring_fits > 0 && channel_rows_alias(a.xd.h * a.xd.w, d.c_in_per_group())));
    const bool rows_outer = channels;
    const int32_t ring_rows = in_place ? 0 : ring_fits;
    const float* xp = in_place || ring_rows > 0 ? a.x : pad_input(a, ph, pw, rows_outer);
    ConvJob job;
    job.h = ph.view();
    job.w = pw.view();
    job.n = a.xd.n;
    job.c_in = d.c_in;
    job.c_out = d.c_out;
    job.groups = d.groups;
    job.cig = d.c_in_per_group();
    job.cog = d.c_out_per_group();
    job.kh = d.kh;
    job.kw = d.kw;
    job.xp = xp;
    job.xp_h = ph.padded_len;
    job.xp_w = pw.padded_len;
    job.rows_outer = rows_outer;
    job.y = a.y;
    job.y_h = a.yd.h;
    job.y_w = a.yd.w;
    job.activation = static_cast<int>(d.activation.kind);
    job.alpha = d.activation.alpha;
    job.wpack = pk.w.get();
    job.bpack = pk.b.get();
    job.block_width = pk.width;
    job.blocks = pk.blocks;

    if (depthwise) {
      const RowTables rows = row_tables(ph, a.yd.h);
      job.row_phase = rows.phase.data();
      job.row_q = rows.q.data();
      // Row blocks small enough to spread even one plane over the threads.
      job.row_chunk = std::max<int64_t>(1, std::min<int64_t>(16, a.yd.h / (2 * pool_->size()) + 1));
      const int64_t items = job.n * job.groups * ((a.yd.h + job.row_chunk - 1) / job.row_chunk);
      run_items(items, a.yd.w + 64, [&](int64_t b, int64_t e, float* s) {
        dispatch_isa(isa_, ConvDepthwiseKernel{}, job, b, e, s);
      });
    } else if (pointwise) {
      job.x = a.x;
      job.x_h = a.xd.h;
      job.x_w = a.xd.w;
      const int64_t plane = a.xd.h * a.xd.w;
      job.panel = pointwise_panel(job.cig, plane, job.n * job.groups);
      job.panels = (plane + job.panel - 1) / job.panel;
      const int64_t scratch = (job.cig + job.block_width * job.w.num_phases) * job.panel + 16 + 64;
      run_items(job.n * job.groups * job.panels, scratch, [&](int64_t b, int64_t e, float* s) {
        dispatch_isa(isa_, ConvPointwiseKernel{}, job, b, e, s);
      });
    } else if (channels) {
      bool packs = false;
      const std::vector<ChannelTile> tiles = make_tiles(ph, pw, max_positions(), packs);
      const int64_t group_positions =
          channel_group_positions(job.n * job.groups * a.yd.h * a.yd.w, packs ? phase_taps(ph, pw) * job.cig : 0);
      std::vector<int64_t> group_first;
      int64_t positions = 0;
      for (size_t t = 0; t < tiles.size(); ++t) {
        const bool same_phase = t > 0 && tiles[t].ph == tiles[t - 1].ph && tiles[t].pw == tiles[t - 1].pw;
        if (!same_phase || positions + tiles[t].m > group_positions) {
          group_first.push_back(static_cast<int64_t>(t));
          positions = 0;
        }
        positions += tiles[t].m;
      }
      group_first.push_back(static_cast<int64_t>(tiles.size()));
      job.tiles = tiles.data();
      job.group_first = group_first.data();
      job.num_groups = static_cast<int64_t>(group_first.size()) - 1;
      job.group_positions = group_positions;
      const int64_t scratch = channel_scratch(job);
      run_items(job.n * job.groups * job.num_groups, scratch, [&](int64_t b, int64_t e, float* s) {
        dispatch_isa(isa_, ConvChannelKernel{}, job, b, e, s);
      });
    } else {
      const RowTables rows = row_tables(ph, a.yd.h);
      job.row_phase = rows.phase.data();
      job.row_q = rows.q.data();
      int64_t longest = 1;
      for (const AxisPhase& p : pw.phases) longest = std::max(longest, p.count);
      // The merged-phase tables (and their window form) depend on the W axis only, fixed until
      // the input's extents change (axes_for resets merge_state_): built by the first row-kernel
      // run of each geometry, not by every run.
      if (merge_state_ == MergeState::unknown)
        merge_state_ = !plan_merged_phases(pw)                                ? MergeState::none
                       : isa_ == Isa::avx512f && plan_sliding_window(pw) ? MergeState::sliding
                                                                              : MergeState::merged;
      if (merge_state_ != MergeState::none) {
        job.wmerge = wmerge_.data();
        job.merge_kh_floats = merge_kh_floats_;
        job.merge_offsets = static_cast<int32_t>(merge_off_.size());
        job.merge_off = merge_off_.data();
        job.merge_mask = merge_mask_.data();
        job.merge_base = merge_base_.data();
        // The window reads a vector further than the tile, past what in-place runs allow (whether
        // a run reads in place also depends on how its last tile ends, so it is asked per run).
        if (merge_state_ == MergeState::sliding && !in_place) {
          job.wslide = wslide_.data();
          job.slide_kh_floats = static_cast<int64_t>(pw.phases.size()) * slide_taps_ * desc_.c_in_per_group();
          job.slide_off = slide_off_;
          job.slide_taps = slide_taps_;
          job.slide_late = slide_late_;
        }
      }
      job.pair_spacing = pair_d;
      job.row_chunk = chunk;
      job.row_chunks = (longest + chunk - 1) / chunk;
      int64_t scratch = row_scratch(job);
      if (pair_d > 0) {
        job.pair_copy_stride = pair_copy_stride(chunk, pair_d, isa_lanes(isa_));
        job.pair_copy_offset = (scratch + 15) / 16 * 16;
        scratch = job.pair_copy_offset + pair_copy_floats(ph_taps_max(ph), pair_d);
      }
      if (ring_rows > 0) {
        job.ring_rows = ring_rows;
        job.ring_offset = (scratch + 15) / 16 * 16;
        job.x = a.x;
        job.x_h = a.xd.h;
        job.x_w = a.xd.w;
        job.pad_top = ph.pad_before;
        job.pad_left = pw.pad_before;
        scratch = job.ring_offset + ring_rows * job.cig * job.xp_w + input_slack_floats;
      }
      run_items(job.n * job.groups * job.y_h * job.row_chunks, scratch, [&](int64_t b, int64_t e, float* s) {
        dispatch_isa(isa_, ConvRowKernel{}, job, b, e, s);
      });
    }
    return {};
  }

 private:
  // The weight of output channel co, input channel ci (group 0), tap t, from whichever layout is
  // packed (packed_for packs one before it drops the other): what the Winograd form transforms.
  float packed_weight(int64_t co, int64_t ci, int64_t t) const {
    const PackedWeights& p = rows_.packed() ? rows_ : channels_;
    return p.w.get()[((co / p.width) * desc_.kh * desc_.kw + t) * desc_.c_in_per_group() * p.width +
                     ci * p.width + co % p.width];
  }

  // `layout` packed, from the other one when it is not yet. A layout that no run has used is
  // dropped then, so a plan whose runs all take one kernel holds its weights once; one whose
  // input shapes lead to both kernels keeps both rather than repacking on every switch.
  PackedWeights& packed_for(PackedWeights& layout) {
    PackedWeights& other = &layout == &rows_ ? channels_ : rows_;
    if (!layout.packed()) {
      layout = repack_weights(desc_, other, layout.width);
      if (!other.used) other.w = {}, other.b = {};
    }
    layout.used = true;
    return layout;
  }

  // The axis plans of the last run's extents, kept for the next run (most plans run one shape;
  // planning a 16000-wide row walks every position: ~1% of wavenet_d64's run).
  struct Axes {
    int64_t in_h = -1, in_w = -1, out_h = -1, out_w = -1;
    AxisPlan h, w;
  };
  const Axes& axes_for(const OpArgs& a) {
    const ConvDesc& d = desc_;
    if (axes_.in_h != a.xd.h || axes_.in_w != a.xd.w || axes_.out_h != a.yd.h || axes_.out_w != a.yd.w) {
      axes_.h = make_axis_plan({d.transposed, d.kh, d.stride_h, d.dil_h, d.pad_top}, a.xd.h, a.yd.h);
      axes_.w = make_axis_plan({d.transposed, d.kw, d.stride_w, d.dil_w, d.pad_left}, a.xd.w, a.yd.w);
      axes_.in_h = a.xd.h, axes_.in_w = a.xd.w, axes_.out_h = a.yd.h, axes_.out_w = a.yd.w;
      merge_state_ = MergeState::unknown;
    }
    return axes_;
  }

  // The H phase and phase index q of every output row.
  struct RowTables {
    std::vector<int32_t> phase;
    std::vector<int64_t> q;
  };
  static RowTables row_tables(const AxisPlan& ph, int64_t out_h) {
    RowTables t{std::vector<int32_t>(static_cast<size_t>(out_h)), std::vector<int64_t>(static_cast<size_t>(out_h))};
    for (size_t p = 0; p < ph.phases.size(); ++p)
      for (int64_t q = 0; q < ph.phases[p].count; ++q) {
        const auto oh = static_cast<size_t>(ph.phases[p].out_start + q * ph.out_step);
        t.phase[oh] = static_cast<int32_t>(p);
        t.q[oh] = q;
      }
    return t;
  }

  // One input and one output channel per group, vector loads along W, few taps: the depthwise
  // kernel (unless a test forces another kernel).
  bool use_depthwise(const AxisPlan& pw) const {
    if (tile_ == ConvTileKind::rows || tile_ == ConvTileKind::channels) return false;
    return desc_.c_in_per_group() == 1 && desc_.c_out_per_group() == 1 && pw.in_step == 1 &&
           desc_.kh * desc_.kw <= 64;
  }

  // Where the Winograd form's estimated cost (see WinogradConv::cost) is below the direct
  // kernels' multiply-adds on valid taps. The estimate leans to the direct kernels: its pass
  // costs come from aspp_d12, whose buffers stream from L3; dcgan_g4's sit in L2 (estimated
  // 118 M against 126 M direct, measured 1.07 against 1.57 ms at 1 thread in one busy hour).
  // One group: WinogradConv takes no other.
  bool use_winograd(const OpArgs& a, const AxisPlan& ph, const AxisPlan& pw) {
    if (!winograd_ || (tile_ == ConvTileKind::pointwise && use_pointwise(a, ph, pw))) return false;
    const bool pairs = pair_spacing(pw) > 0;
    if (tile_ == ConvTileKind::row_pairs && pairs) return false;
    const double cost = winograd_->cost(ph, pw, a.xd, a.yd);
    if (tile_ == ConvTileKind::winograd) return cost < std::numeric_limits<double>::infinity();
    // The row-pair form does three multiply-adds where the direct kernels do four.
    const double direct = static_cast<double>(desc_.c_in * desc_.c_out) * ph.valid_taps() * pw.valid_taps() *
                          (pairs ? 0.75 : 1.0);
    return direct > cost;
  }

  // Every phase of both axes has one tap, and phase position q reads input position q (no
  // padding, unit input step, the phases tiling the output exactly, at most 2 W phases): a
  // conv_transpose whose kernel equals its stride (unet_up), or a 1x1 conv. The pointwise
  // kernel runs it on panels of consecutive positions across input rows.
  bool use_pointwise(const OpArgs& a, const AxisPlan& ph, const AxisPlan& pw) const {
    if (tile_ == ConvTileKind::rows || tile_ == ConvTileKind::channels) return false;
    return pointwise_axis(ph, a.xd.h, a.yd.h) && pointwise_axis(pw, a.xd.w, a.yd.w) && pw.out_step <= 2;
  }
  static bool pointwise_axis(const AxisPlan& p, int64_t in_len, int64_t out_len) {
    if (p.in_step != 1 || out_len != p.out_step * in_len || static_cast<int64_t>(p.phases.size()) != p.out_step)
      return false;
    for (size_t k = 0; k < p.phases.size(); ++k) {
      const AxisPhase& phase = p.phases[k];
      if (phase.out_start != static_cast<int64_t>(k) || phase.count != in_len || phase.tap_end - phase.tap_begin != 1 ||
          p.taps[static_cast<size_t>(phase.tap_begin)].off != p.pad_before)
        return false;
    }
    return true;
  }

  // Positions per pointwise item: whole row tiles (the block's rows x the most vectors), as
  // many as keep the panel's inputs within 24 KB (every tile of the item reads them from L1),
  // and few enough for 4 items per thread.
  int64_t pointwise_panel(int64_t cig, int64_t plane, int64_t planes) const {
    const int64_t lanes = isa_lanes(isa_);
    const int64_t tile = lanes * row_max_vectors(lanes == 16, static_cast<int>(rows_.width));
    const int64_t fit = (24 * 1024 / static_cast<int64_t>(sizeof(float))) / (cig * tile);
    const int64_t spread = plane * planes / (4 * static_cast<int64_t>(pool_->size()) * tile);
    return std::max<int64_t>(1, std::min(fit, spread)) * tile;
  }

  int max_positions() const {
    return channel_max_positions(isa_ == Isa::avx512f, static_cast<int>(channels_.width / isa_lanes(isa_)));
  }

  // The row kernel needs unit input steps along W; otherwise pick the tile that fills more lanes.
  bool use_channel_tiles(const AxisPlan& ph, const AxisPlan& pw) const {
    if (tile_ == ConvTileKind::rows || tile_ == ConvTileKind::channels)
      return tile_ == ConvTileKind::channels || pw.in_step != 1;
    if (pw.in_step != 1) return true;
    if (tile_ == ConvTileKind::row_pairs && pair_spacing(pw) > 0) return false;
    const double cog = static_cast<double>(desc_.c_out_per_group());
    const double channel_fill = cog / static_cast<double>(channels_.blocks * channels_.width);
    const int64_t lanes = isa_lanes(isa_);
    double counted = 0, padded = 0;
    for (const AxisPhase& p : pw.phases) {
      counted += static_cast<double>(p.count);
      padded += static_cast<double>((p.count + lanes - 1) / lanes * lanes);
    }
    const double row_fill = (padded > 0 ? counted / padded : 1.0) * cog /
                            static_cast<double>(rows_.blocks * rows_.width) * pw.valid_tap_fraction();
    (void)ph;
    return channel_fill > row_fill * 1.02;
  }

  // Tiles of at most max_m positions, each of one rectangle of positions sharing their valid
  // taps; `packs`: some tile's inputs are not one run of the padded input (the kernel packs them).
  static std::vector<ChannelTile> make_tiles(const AxisPlan& ph, const AxisPlan& pw, int max_m, bool& packs) {
    std::vector<ChannelTile> tiles;
    auto add_run = [&](ChannelTile base, int64_t start, int64_t len) {
      const int64_t count = (len + max_m - 1) / max_m;
      for (int64_t k = 0; k < count; ++k) {
        base.start = start + len * k / count;
        base.m = static_cast<int32_t>(start + len * (k + 1) / count - base.start);
        tiles.push_back(base);
      }
    };
    // A W segment at least half a tile wide gets tiles of one row each, which read the padded
    // input in place; a narrower one, tiles across its rows, packed. Packing cost more than
    // tiles of half the positions do: dcgan_g2's 7-wide segments (of 8x8 phases, 12-position
    // tiles) in place, 1.35-1.71 -> 1.29-1.35 ms at 1 thread, 0.76-0.92 -> 0.69-0.88 at 2 (5
    // paired rounds). A strided input (W step > 1) is packed either way: full tiles then.
    auto in_rows = [&](int64_t cols) { return cols >= max_m || (pw.in_step == 1 && 2 * cols >= max_m); };
    // Phase pair outermost: a tile group never spans two phase pairs (their taps differ).
    for (int32_t a = 0; a < static_cast<int32_t>(ph.phases.size()); ++a)
      for (int32_t b = 0; b < static_cast<int32_t>(pw.phases.size()); ++b) {
        const AxisPhase& pa = ph.phases[a];
        const AxisPhase& pb = pw.phases[b];
        bool rows_whole = true;  // every W segment's tiles within one row
        for (int32_t sw = pb.seg_begin; sw < pb.seg_end; ++sw)
          rows_whole = rows_whole && in_rows(pw.segs[sw].q_end - pw.segs[sw].q_begin);
        if (pa.count > 0 && pb.count > 0) packs = packs || !rows_whole || pw.in_step != 1;
        for (int32_t sh = pa.seg_begin; sh < pa.seg_end; ++sh) {
          const int64_t rows = ph.segs[sh].q_end - ph.segs[sh].q_begin;
          if (rows_whole) {
            // Output row by output row, across the W segments: each tile reads its inputs in
            // place, and a group of consecutive tiles reads the same few padded rows.
            for (int64_t r = 0; r < rows; ++r)
              for (int32_t sw = pb.seg_begin; sw < pb.seg_end; ++sw) {
                const int64_t cols = pw.segs[sw].q_end - pw.segs[sw].q_begin;
                add_run(ChannelTile{a, b, sh, sw, 0, 0}, r * cols, cols);
              }
            continue;
          }
          for (int32_t sw = pb.seg_begin; sw < pb.seg_end; ++sw) {
            const int64_t cols = pw.segs[sw].q_end - pw.segs[sw].q_begin;
            const ChannelTile base{a, b, sh, sw, 0, 0};
            if (in_rows(cols))
              for (int64_t r = 0; r < rows; ++r) add_run(base, r * cols, cols);  // one row: read in place
            else
              add_run(base, 0, rows * cols);
          }
        }
      }
    return tiles;
  }

  // Weight of kernel tap (th, tw), input channel ci of group g, in the row kernel's packing with
  // one output channel per group ([group][kh][kw][cig]).
  float single_channel_weight(int64_t g, int64_t th, int64_t tw, int64_t ci) const {
    return rows_.w.get()[((g * desc_.kh + th) * desc_.kw + tw) * desc_.c_in_per_group() + ci];
  }

  // With one output channel the row tile does one input load per FMA. When the W phases have
  // equal lengths, one tile covers them all and each distinct input offset is loaded once for
  // every phase with a tap there. Builds the offset table and weights in that order (cheap:
  // kh x kw x cig floats per group); false when the shape does not fit.
  bool plan_merged_phases(const AxisPlan& pw) {
    const auto phases = static_cast<int64_t>(pw.phases.size());
    if (rows_.width != 1 || pw.in_step != 1 || phases < 2 || phases > merged_max_phases) return false;
    for (const AxisPhase& p : pw.phases)
      if (p.count != pw.phases[0].count || p.count == 0) return false;
    merge_off_.clear();
    merge_mask_.clear();
    for (int64_t p = 0; p < phases; ++p)
      for (int32_t j = pw.phases[p].tap_begin; j < pw.phases[p].tap_end; ++j) {
        const int64_t off = pw.taps[j].off;
        size_t d = 0;
        while (d < merge_off_.size() && merge_off_[d] != off) ++d;
        if (d == merge_off_.size()) {
          if (d == 16) return false;
          merge_off_.push_back(off);
          merge_mask_.push_back(0);
        }
        if (merge_mask_[d] & (1u << p)) return false;  // two taps of one phase at one offset
        merge_mask_[d] |= 1u << p;
      }
    // kw tap of (offset d, phase p).
    const int64_t D = static_cast<int64_t>(merge_off_.size()), cig = desc_.c_in_per_group();
    std::vector<int64_t> tap_of(static_cast<size_t>(D * phases), -1);
    for (int64_t p = 0; p < phases; ++p)
      for (int32_t j = pw.phases[p].tap_begin; j < pw.phases[p].tap_end; ++j)
        for (int64_t d = 0; d < D; ++d)
          if (merge_off_[d] == pw.taps[j].off) tap_of[d * phases + p] = pw.taps[j].t;
    merge_base_.assign(static_cast<size_t>(D), 0);
    int64_t per_ci = 0;
    for (int64_t d = 0; d < D; ++d) {
      merge_base_[d] = per_ci * cig;
      per_ci += __builtin_popcount(merge_mask_[d]);
    }
    merge_kh_floats_ = per_ci * cig;
    wmerge_.resize(static_cast<size_t>(desc_.groups * desc_.kh * merge_kh_floats_));
    float* dst = wmerge_.data();
    for (int64_t g = 0; g < desc_.groups; ++g)
      for (int64_t th = 0; th < desc_.kh; ++th)
        for (int64_t d = 0; d < D; ++d)
          for (int64_t ci = 0; ci < cig; ++ci)
            for (int64_t p = 0; p < phases; ++p)
              if (merge_mask_[d] & (1u << p))
                *dst++ = single_channel_weight(g, th, tap_of[d * phases + p], ci);
    return true;
  }

  // The merged phases' sliding-window form (see row_slide_tile): every phase has the same number
  // T <= slide_max_taps of taps, on consecutive input offsets that start at the lowest offset
  // of all phases for the first phases and one further for the rest. Packs the weights as
  // [group][kh][cig][phase][tap by offset]; false when the taps do not fall that way.
  bool plan_sliding_window(const AxisPlan& pw) {
    const auto phases = static_cast<int32_t>(pw.phases.size());
    const int32_t taps = pw.phases[0].tap_end - pw.phases[0].tap_begin;
    if (taps < 1 || taps > slide_max_taps) return false;
    // Each phase's lowest offset, and its taps' kernel indices by offset.
    std::vector<int64_t> lowest(static_cast<size_t>(phases));
    std::vector<int64_t> tap_at(static_cast<size_t>(phases * taps), -1);
    for (int32_t p = 0; p < phases; ++p) {
      const AxisPhase& ph = pw.phases[p];
      if (ph.tap_end - ph.tap_begin != taps) return false;
      int64_t lo = pw.taps[ph.tap_begin].off;
      for (int32_t j = ph.tap_begin; j < ph.tap_end; ++j) lo = std::min(lo, pw.taps[j].off);
      lowest[p] = lo;
      for (int32_t j = ph.tap_begin; j < ph.tap_end; ++j) {
        const int64_t k = pw.taps[j].off - lo;
        if (k >= taps || tap_at[p * taps + k] >= 0) return false;  // not consecutive
        tap_at[p * taps + k] = pw.taps[j].t;
      }
    }
    const int64_t base = *std::min_element(lowest.begin(), lowest.end());
    int32_t late = phases;
    for (int32_t p = phases - 1; p >= 0 && lowest[p] == base + 1; --p) late = p;
    for (int32_t p = 0; p < late; ++p)
      if (lowest[p] != base) return false;
    const int64_t cig = desc_.c_in_per_group();
    wslide_.resize(static_cast<size_t>(desc_.groups * desc_.kh * cig * phases * taps));
    float* dst = wslide_.data();
    for (int64_t g = 0; g < desc_.groups; ++g)
      for (int64_t th = 0; th < desc_.kh; ++th)
        for (int64_t ci = 0; ci < cig; ++ci)
          for (int32_t p = 0; p < phases; ++p)
            for (int32_t k = 0; k < taps; ++k)
              *dst++ = single_channel_weight(g, th, tap_at[p * taps + k], ci);
    slide_off_ = base;
    slide_taps_ = taps;
    slide_late_ = late;
    return true;
  }

  // Phase outputs per row-kernel item: enough to amortise the tap setup, few enough that the
  // input columns it reads stay in L1/L2 across all output-channel blocks (about 256), and a
  // whole number of the widest row tiles, so that the item's tiles all have the most vectors:
  // 8-row AVX-512 tiles of 3 vectors over 256 outputs were 2, 3, 3, 2, 3, 3 vectors wide, and
  // the 2-vector tiles load 10 operands per 16 FMAs against 11 per 24.
  static int64_t row_chunk_for(int64_t lanes, int64_t rows) {
    constexpr int64_t kAbout = 256;
    const int64_t tile = lanes * row_max_vectors(lanes == 16, static_cast<int>(rows));
    return std::max<int64_t>(1, (kAbout + tile / 2) / tile) * tile;
  }

  // The most H taps of any H phase (the row-pair copy holds one input row per valid H tap).
  static int64_t ph_taps_max(const AxisPlan& ph) {
    int64_t most = 1;
    for (const AxisPhase& p : ph.phases) most = std::max<int64_t>(most, p.tap_end - p.tap_begin);
    return most;
  }

  static int64_t row_scratch(const ConvJob& job) {
    const int64_t rows = job.blocks * job.block_width * job.w.num_phases * (job.row_chunk + 128);
    return rows + 16 + 3 * job.kh * job.kw * 2 + 64;
  }

  // Positions per channel-kernel item (a group of tiles of one phase pair): the kernel runs each
  // block of output channels over all of the group's tiles, so one block's weights serve the
  // group from L2 (aspp_d12: 288 KB per block; groups of 32 -> 128 positions, 20.1 -> 19.2-19.3
  // ms at 1 thread on Zen 5, with the tiles of one output row next to each other). Fewer where
  // that would leave fewer than 8 items per thread: dcgan_g2's four 64-position phases make 8
  // items of 32, which balances 2 time-sliced vCPUs better than 4 (1.26 -> 1.21 ms at 2 threads).
  // Where tiles are packed, the group's packed inputs (`packed_per_position` floats a position)
  // are read again by every block: fewer positions then, so that they stay within 512 KB of L2
  // (a stride-2 3x3 conv of 256 input channels packs 9 KB a position), but at least one tile.
  int64_t channel_group_positions(int64_t outputs, int64_t packed_per_position) const {
    constexpr int64_t kMin = 32, kMax = 128, kPackBudgetFloats = 128 * 1024;
    const int64_t positions = std::clamp<int64_t>(outputs / (8 * static_cast<int64_t>(pool_->size())), kMin, kMax);
    if (packed_per_position <= 0) return positions;
    return std::min(positions, std::max<int64_t>(channel_tile_max, kPackBudgetFloats / packed_per_position));
  }

  // The most taps (kh x kw pairs) of any phase pair: what a channel tile packs per channel.
  static int64_t phase_taps(const AxisPlan& ph, const AxisPlan& pw) {
    int64_t h = 0, w = 0;
    for (const AxisPhase& p : ph.phases) h = std::max<int64_t>(h, p.tap_end - p.tap_begin);
    for (const AxisPhase& p : pw.phases) w = std::max<int64_t>(w, p.tap_end - p.tap_begin);
    return h * w;
  }

  static int64_t channel_scratch(const ConvJob& job) {
    return ChannelScratch(job.kh * job.kw, job.cig, job.group_positions, job.block_width).total;
  }

  // Rows of a few floats (dcgan_g2's 8) by fixed-size copies, which compile to vector moves in
  // line, where a memcpy call per row cost more than its copying; longer rows by memcpy.
  static void copy_floats(float* dst, const float* src, int64_t n) {
    constexpr int64_t kChunk = 4, kShort = 32;
    if (n > kShort) {
      std::memcpy(dst, src, static_cast<size_t>(n) * sizeof(float));
      return;
    }
    int64_t k = 0;
    for (; k + kChunk <= n; k += kChunk) std::memcpy(dst + k, src + k, kChunk * sizeof(float));
    for (; k < n; ++k) dst[k] = src[k];
  }

  // Zero-padded copy of the input, readable input_slack_floats past its end, as NCHW or (for
  // the channel kernel) NHCW: there a tile's input over all its channels is c_in short rows
  // next to each other instead of c_in rows a plane apart, which keeps it in few pages and
  // lets the prefetchers follow it.
  // The buffer is kept for the next run (a plan runs on one thread at a time), so large inputs
  // are not page-faulted in again on every run.
  const float* pad_input(const OpArgs& a, const AxisPlan& ph, const AxisPlan& pw, bool rows_outer) {
    const int64_t hp = ph.padded_len, wp = pw.padded_len, c = a.xd.c;
    const int64_t needed = a.xd.n * c * hp * wp + input_slack_floats;
    if (padded_capacity_ < needed) {
      padded_ = AlignedFloats(needed, /*zero=*/false);
      padded_capacity_ = needed;
      padded_layout_ = {};
    }
    float* xp = padded_.get();
    const int64_t left = pw.pad_before, top = ph.pad_before;
    // Only the input is copied when the buffer holds the same layout as last run: its zero
    // border is still there (nothing else writes the buffer), and writing it again cost ~2% of
    // aspp_d12, whose padding is as large as its input.
    const PaddedLayout layout{a.xd.n, c, a.xd.h, a.xd.w, hp, wp, top, left, rows_outer};
    const bool border_zero = layout == padded_layout_;
    padded_layout_ = layout;
    // Padded row r of channel ch of image i; the source row when r is inside the input.
    auto fill_row = [&](int64_t i, int64_t ch, int64_t r) {
      float* row = xp + (rows_outer ? ((i * hp + r) * c + ch) * wp : ((i * c + ch) * hp + r) * wp);
      const int64_t src_r = r - top;
      if (src_r < 0 || src_r >= a.xd.h) {
        if (!border_zero) std::fill(row, row + wp, 0.0f);
        return;
      }
      if (!border_zero) {
        std::fill(row, row + left, 0.0f);
        std::fill(row + left + a.xd.w, row + wp, 0.0f);
      }
      copy_floats(row + left, a.x + ((i * c + ch) * a.xd.h + src_r) * a.xd.w, a.xd.w);
    };
    pool_->parallel_for(a.xd.n * c, [&](int64_t b, int64_t e) {
      for (int64_t plane = b; plane < e; ++plane)
        for (int64_t r = 0; r < hp; ++r) fill_row(plane / c, plane % c, r);
    });
    std::fill(xp + needed - input_slack_floats, xp + needed, 0.0f);
    return xp;
  }

  // Slots of the row kernel's ring of padded input rows (see PaddedRowRing in conv_kernels.ipp):
  // twice the most rows an output row reads, and one more, so that the next output rows find
  // theirs; 0 (a padded copy of the input) when the ring would not sit in L2.
  int32_t padded_row_ring_rows(const AxisPlan& ph, const AxisPlan& pw) const {
    constexpr int64_t kMaxRingBytes = 512 * 1024;
    int64_t rows = 0;
    for (const AxisPhase& p : ph.phases) rows = std::max<int64_t>(rows, p.tap_end - p.tap_begin);
    const int64_t slots = std::min<int64_t>(2 * rows + 1, kMaxRingRows);
    const int64_t bytes = slots * desc_.c_in_per_group() * pw.padded_len * static_cast<int64_t>(sizeof(float));
    return rows + 1 <= slots && bytes <= kMaxRingBytes ? static_cast<int32_t>(slots) : 0;
  }

  // Whether `rows` rows `stride_floats` apart (one per input channel, read by every row tile)
  // crowd into few sets of L1 (48 KB, 12 ways, sets repeating every 4 KB): unet_up's 16 KB
  // channel planes put all 128 of its rows on one set, so the tiles of each next block of output
  // channels read them from L3 again; copied into the ring (rows 256 bytes apart) it ran 1.90 ->
  // 1.51-1.57 ms (Zen 5, 1 thread). Strides that are not whole lines spread the rows over sets.
  static bool channel_rows_alias(int64_t stride_floats, int64_t rows) {
    constexpr int64_t kLine = 64, kSets = 64, kWays = 12;
    const int64_t bytes = stride_floats * static_cast<int64_t>(sizeof(float));
    if (bytes % kLine != 0) return false;
    const int64_t sets = kSets / std::gcd(bytes / kLine % kSets, kSets);  // sets the rows' starts fall on
    return rows > sets * kWays / 2;  // half the ways: a tile reads 2-3 lines per row, weights share L1
  }

  // The row kernel can read the caller's input in place when no tap reads padding and no
  // vector reads past the end of a row's last tile (so never past the end of the tensor).
  // `pair_d`: the row-pair form's spacing (0 without it), whose copy of the input reads no
  // further than the row's end.
  bool rows_read_input_in_place(const OpArgs& a, const AxisPlan& ph, const AxisPlan& pw, int64_t pair_d) const {
    if (ph.padded_len != a.xd.h || pw.padded_len != a.xd.w || pw.in_step != 1) return false;
    if (pair_d > 0) return true;
    const int64_t lanes = isa_lanes(isa_);
    for (const AxisPhase& p : pw.phases) {
      if (p.count == 0) continue;
      const int64_t last_lo = (p.count - 1) / row_chunk_ * row_chunk_;
      const int64_t last_end = last_lo + (p.count - last_lo + lanes - 1) / lanes * lanes;
      for (int32_t j = p.tap_begin; j < p.tap_end; ++j)
        if (last_end - 1 + pw.taps[static_cast<size_t>(j)].off >= a.xd.w) return false;
    }
    return true;
  }

  // The row-pair form's spacing for this W axis, 0 where it does not apply: one phase (unit
  // steps) of two taps at least two vectors apart (the widest pair tiles' first halves; with d =
  // 16, 1-vector tiles only, a 64-channel layer ran 4% slower than plain row tiles, d = 32 15%
  // faster), on AVX-512 (the tile's 24 sums need its 32 registers), with row blocks of 4 or 8
  // output channels, a row at least two spacings long (else nothing pairs), unless a test forces
  // plain row tiles or UPCONV_CPU_WINOGRAD=0 keeps the direct form.
  int64_t pair_spacing(const AxisPlan& pw) const {
    if (isa_ != Isa::avx512f || (tile_ != ConvTileKind::automatic && tile_ != ConvTileKind::row_pairs)) return 0;
    if (!pairs_allowed_) return 0;  // UPCONV_CPU_WINOGRAD=0: its rounding differs from the direct form's
    if (rows_.width < pair_tile_rows) return 0;
    if (pw.phases.size() != 1 || pw.in_step != 1 || pw.out_step != 1) return 0;
    const AxisPhase& p = pw.phases[0];
    if (p.tap_end - p.tap_begin != 2) return 0;
    const int64_t d = std::abs(pw.taps[static_cast<size_t>(p.tap_begin + 1)].off - pw.taps[static_cast<size_t>(p.tap_begin)].off);
    const int64_t lanes = isa_lanes(isa_);
    if (d < 2 * lanes || p.count < 2 * d) return 0;
    // An item spans whole blocks of 2d outputs, so its scratch (the input copy and the phase
    // rows) grows with d: within 8 MB per thread (wavenet_d64's: 0.2 MB; 512 channels at d = 2048
    // would take 13 MB), else the plain row tiles' fixed items.
    constexpr int64_t kMaxScratchFloats = int64_t{2} << 20;
    const int64_t floats = pair_copy_floats(desc_.kh, d) + rows_.blocks * rows_.width * (pair_row_chunk(d) + 128);
    return floats <= kMaxScratchFloats ? d : 0;
  }

  // Floats of the row-pair form's input copy for spacing d and `h_taps` H taps (see ConvJob).
  int64_t pair_copy_floats(int64_t h_taps, int64_t d) const {
    return h_taps * desc_.c_in_per_group() * pair_copy_stride(pair_row_chunk(d), d, isa_lanes(isa_));
  }

  template <class Fn>
  void run_items(int64_t items, int64_t scratch_floats, const Fn& fn) {
    pool_->parallel_for(items, [&](int64_t b, int64_t e) {
      AlignedFloats scratch = take_scratch(scratch_floats);
      fn(b, e, scratch.get());
      give_back_scratch(std::move(scratch), scratch_floats);
    });
  }

  // Per-thread scratch buffers, kept between runs.
  AlignedFloats take_scratch(int64_t floats) {
    {
      std::lock_guard lock(scratch_mutex_);
      for (size_t i = 0; i < scratch_free_.size(); ++i)
        if (scratch_free_[i].first >= floats) {
          AlignedFloats buffer = std::move(scratch_free_[i].second);
          scratch_free_.erase(scratch_free_.begin() + static_cast<std::ptrdiff_t>(i));
          return buffer;
        }
    }
    return AlignedFloats(floats, /*zero=*/false);
  }

  void give_back_scratch(AlignedFloats buffer, int64_t floats) {
    std::lock_guard lock(scratch_mutex_);
    scratch_free_.emplace_back(floats, std::move(buffer));
  }

  ConvDesc desc_;
  Isa isa_;
  std::shared_ptr<ThreadPool> pool_;
  ConvTileKind tile_;
  PackedWeights rows_, channels_;
  int64_t row_chunk_ = 256;  // see row_chunk_for
  bool pairs_allowed_ = true;  // the row-pair form (UPCONV_CPU_WINOGRAD unset or not 0 at creation)
  ConvTileKind last_kernel_ = ConvTileKind::automatic;  // the kernel of the last run (none yet)
  std::unique_ptr<WinogradConv> winograd_;  // where it supports the layer
  std::vector<float> wmerge_;  // merged-phase weights of the current geometry (see plan_merged_phases)
  std::vector<float> wslide_;  // and their sliding-window form (see plan_sliding_window)
  // Which of those tables the current geometry (axes_) has; unknown until its first row-kernel
  // run. `sliding`: both (the window still needs a padded input, see run).
  enum class MergeState { unknown, none, merged, sliding };
  MergeState merge_state_ = MergeState::unknown;
  int64_t slide_off_ = 0;
  int32_t slide_taps_ = 0, slide_late_ = 0;
  std::vector<int64_t> merge_off_, merge_base_;
  std::vector<uint32_t> merge_mask_;
  int64_t merge_kh_floats_ = 0;
  // The padded buffer's layout: a run with the same one finds the zero border in place.
  struct PaddedLayout {
    int64_t n = -1, c = 0, h = 0, w = 0, hp = 0, wp = 0, top = 0, left = 0;
    bool rows_outer = false;
    bool operator==(const PaddedLayout&) const = default;
  };
  Axes axes_;
  AlignedFloats padded_;  // zero-padded input of the last run
  int64_t padded_capacity_ = 0;
  PaddedLayout padded_layout_;
  std::mutex scratch_mutex_;
  std::vector<std::pair<int64_t, AlignedFloats>> scratch_free_;  // (capacity, buffer)
};

}  // namespace

std::unique_ptr<OpKernel> make_fast_conv_kernel(const ConvDesc& desc, const float* weight, const float* bias,
                                                Isa isa, std::shared_ptr<ThreadPool> pool, ConvTileKind tile,
                                                std::shared_ptr<ConvWorkspace> workspace) {
  return std::make_unique<FastConvKernel>(desc, weight, bias, isa, std::move(pool), tile, std::move(workspace));
}

int64_t packed_weight_floats(const OpKernel& fast_conv_kernel) {
  return dynamic_cast<const FastConvKernel&>(fast_conv_kernel).packed_weight_floats();
}

ConvTileKind last_run_kernel(const OpKernel& fast_conv_kernel) {
  return dynamic_cast<const FastConvKernel&>(fast_conv_kernel).last_kernel();
}

}  // namespace upconv::detail::cpu

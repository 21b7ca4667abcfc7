// Dispatch planning for the compute shaders in shaders/: tile choice, weight packing, push
// constants and grid sizes. Pure C++; the shader side of every layout here is documented in the
// matching .comp file, and any change must be made on both sides.
#include "runtime/vulkan/dispatch_plan.hpp"

#include <algorithm>
#include <bit>
#include <cstring>
#include <limits>
#include <numeric>
#include <optional>
#include <string>

namespace upconv::detail::vk {
namespace {

using shaders::ShaderId;

// Workgroup size of every flat (1-D) launch. 64 lanes fill lavapipe's 8-wide SIMD several times
// over and are a multiple of every desktop GPU's subgroup size.
constexpr uint32_t kFlatWorkgroup = 64;

// Spec-constant ids shared with the shaders (0..2 are the workgroup size).
constexpr uint32_t kSpecFirstOpConstant = 3;

// Appends 32-bit push-constant fields in declaration order.
class PushWriter {
 public:
  explicit PushWriter(Dispatch& d) : d_(d) {}
  PushWriter& u32(uint64_t v) {
    const auto w = static_cast<uint32_t>(v);
    std::memcpy(d_.push.data() + d_.push_size, &w, 4);
    d_.push_size += 4;
    return *this;
  }
  PushWriter& i32(int64_t v) { return u32(static_cast<uint32_t>(static_cast<int32_t>(v))); }

 private:
  Dispatch& d_;
};

uint32_t float_bits(float f) { return std::bit_cast<uint32_t>(f); }

// Workgroup size spec constants + the op's constants (ids 3, 4, ...).
void set_spec(Dispatch& d, uint32_t wg, std::initializer_list<uint32_t> op_constants) {
  d.spec = {{0, wg}, {1, 1}, {2, 1}};
  uint32_t id = kSpecFirstOpConstant;
  for (uint32_t v : op_constants) d.spec.push_back({id++, v});
}

// Spreads `invocations` over a 2-D grid of 1-D workgroups (shaders use flat_invocation()).
Status set_flat_grid(Dispatch& d, uint64_t invocations, const DeviceCaps& caps, const char* what,
                     uint32_t workgroup = kFlatWorkgroup) {
  const uint64_t groups = (invocations + workgroup - 1) / workgroup;
  const uint64_t gx = std::min<uint64_t>(groups, caps.max_workgroup_count[0]);
  const uint64_t gy = gx == 0 ? 0 : (groups + gx - 1) / gx;
  if (gy > caps.max_workgroup_count[1])
    return invalid_argument(std::string(what) + ": " + std::to_string(invocations) +
                            " invocations exceed the device's workgroup-count limits");
  d.groups[0] = static_cast<uint32_t>(std::max<uint64_t>(gx, 1));
  d.groups[1] = static_cast<uint32_t>(std::max<uint64_t>(gy, 1));
  d.groups[2] = 1;
  // A zero-size launch still dispatches one group; the shaders' range checks make it a no-op.
  return Status::success();
}

// Rows x planes grid for the permutations: x = chunks of one output row, y = row, z = plane
// (the caller splits z with split_z).
// The 64-invocation workgroup spans several rows when a row has fewer than 64 chunks, so short
// rows (shuffle_x2: 32 chunks) do not leave lanes idle.
// Workgroup width along a row of `chunks` invocations (the rest of the 64 go to further rows).
// 64, or a narrower power of two (down to 8) where that leaves at least 16 fewer lanes of each
// row idle: espcn_x3's rows of 160 chunks take 32 (5 full workgroup rows) rather than 64 (3, with
// 32 lanes idle). Narrower rows mean more rows per workgroup, so small savings are not worth it.
uint32_t row_grid_width(uint32_t chunks) {
  chunks = std::max(chunks, 1u);
  if (chunks <= kFlatWorkgroup) return std::bit_ceil(chunks);
  auto idle = [&](uint32_t w) { return (chunks + w - 1) / w * w - chunks; };
  uint32_t best = kFlatWorkgroup;
  for (uint32_t w = kFlatWorkgroup / 2; w >= 8; w /= 2)
    if (idle(w) + 16 <= idle(best)) best = w;
  return best;
}

Status set_row_grid(Dispatch& d, uint32_t chunks, int64_t rows, const DeviceCaps& caps, const char* what) {
  const uint32_t wx = row_grid_width(chunks);
  const uint32_t wy = kFlatWorkgroup / wx;
  const uint64_t gx = (uint64_t(chunks) + wx - 1) / wx;
  const uint64_t gy = (uint64_t(rows) + wy - 1) / wy;
  if (gx > caps.max_workgroup_count[0] || gy > caps.max_workgroup_count[1])
    return invalid_argument(std::string(what) + ": output rows of " + std::to_string(chunks) + " chunks x " +
                            std::to_string(rows) + " rows exceed the device's workgroup-count limits");
  d.spec[0].value = wx;
  d.spec[1].value = wy;
  d.groups[0] = static_cast<uint32_t>(std::max<uint64_t>(gx, 1));
  d.groups[1] = static_cast<uint32_t>(std::max<uint64_t>(gy, 1));
  return Status::success();
}

// A launch of `z` workgroups along z, cut into parts of at most the device's limit: each part
// carries its first z in the last push-constant word (the shaders add it to gl_WorkGroupID.z),
// so batch x channels is not limited by maxComputeWorkGroupCount[2] (65535 on many GPUs).
std::vector<Dispatch> split_z(const Dispatch& d, uint64_t z, const DeviceCaps& caps) {
  std::vector<Dispatch> parts;
  const uint64_t max_z = std::max<uint32_t>(caps.max_workgroup_count[2], 1);
  for (uint64_t base = 0; base == 0 || base < z; base += max_z) {
    Dispatch part = d;
    part.groups[2] = static_cast<uint32_t>(std::max<uint64_t>(std::min(max_z, z - base), 1));
    const auto word = static_cast<uint32_t>(base);
    std::memcpy(part.push.data() + part.push_size - 4, &word, 4);
    part.after_previous = base == 0;
    parts.push_back(std::move(part));
  }
  return parts;
}

// Every index the shaders compute is a uint32; reject tensors that would overflow it.
Status check_32bit(const Dims4& dims, const char* which) {
  constexpr int64_t kMax = std::numeric_limits<int32_t>::max();
  if (dims.count() > kMax)
    return invalid_argument(std::string(which) + " has " + std::to_string(dims.count()) +
                            " elements; the Vulkan backend supports at most 2^31-1 per tensor");
  return Status::success();
}

uint32_t ceil_div(int64_t a, int64_t b) { return static_cast<uint32_t>((a + b - 1) / b); }

// ---------------------------------------------------------------------------------------------
// conv / conv_transpose tiles: CO_TILE output channels x POS_TILE positions along W per
// invocation, accumulated in registers.
struct ConvTiles {
  uint32_t co_tile;
  uint32_t pos_tile;
  int64_t cout_pg_padded;  // c_out per group rounded up to co_tile (packed weight row stride)
};

// Register-tiled path (no shared-memory staging): on lavapipe every buffer load costs a scalar
// loop over the SIMD lanes while an FMA is one vector instruction, so the tile is sized for many
// FMAs per loaded value: up to 32 channels x 8
// positions, or 8 channels x 16 positions (CO_TILE + POS_TILE loads per CO_TILE * POS_TILE
// FMAs, and the weights are shared across the subgroup). Measured on lavapipe (CPU ms, loaded
// machine): dcgan_g4 8x4 31, 16x4 17, 32x8 10-14; fsrcnn_x3 (1 channel) 1x8 18, 1x16 12.6;
// dw_up_x2 1x8 32, 1x16 18; 1x32 no better.
// The accumulators are fully unrolled registers (spilled to the stack on a CPU, which is still
// far cheaper than a buffer load there).
ConvTiles choose_tiles(const ConvDesc& d, const DeviceCaps& caps) {
  const int64_t cout_pg = d.c_out_per_group();
  ConvTiles t{};
  if (caps.shared_staging) {
    // A GPU's lanes hold their accumulators in registers (at most 255 per lane on most GPUs,
    // and fewer registers mean more resident workgroups): 64 per lane, 16 channels x 4
    // positions down to 1 x 16, each shared-memory value feeding several multiply-adds.
    t.co_tile = static_cast<uint32_t>(std::bit_ceil(static_cast<uint64_t>(std::min<int64_t>(cout_pg, 16))));
    t.pos_tile = t.co_tile >= 16 ? 4 : t.co_tile == 8 ? 8 : 16;
  } else {
    t.co_tile = cout_pg >= 32 ? 32 : static_cast<uint32_t>(std::bit_ceil(static_cast<uint64_t>(cout_pg)));
    // Fewer channels leave registers for more positions: tiles of up to 8 channels take 32, as
    // many accumulators as 32 x 8 (on lavapipe, with W phases inside and vec4 stores, dw_up_x2
    // 12.0-22.1 -> 10.4-13.7 ms, frame_up 18.3-25.8 -> 15.9-22.3, fsrcnn_x3 5.9-10.0 -> 5.6-8.6
    // against 16, four interleaved runs).
    t.pos_tile = t.co_tile <= 8 ? 32 : 8;
  }
  t.cout_pg_padded = (cout_pg + t.co_tile - 1) / t.co_tile * t.co_tile;
  return t;
}

// Lanes sharing one weight load (shaders/conv_common.glsl W_SHARE): a power of two no larger
// than the subgroup, the channel tile, or the 8 lanes the shader's broadcast covers.
uint32_t weight_share(const ConvTiles& t, const DeviceCaps& caps) {
  uint32_t share = 1;
  if (!caps.subgroup_broadcast || caps.weight_texels) return share;
  while (share * 2 <= std::min<uint32_t>({caps.subgroup_size, t.co_tile, 8})) share *= 2;
  return share;
}

// Workgroup size of a conv launch: the flat grid rounded up to a multiple of 8 (lavapipe's SIMD
// width and a common subgroup size), at most 64 and the device limit. The grid stays flat (1-D
// workgroups): lavapipe vectorizes along local x only, and a 2-D (tiles, rows) workgroup for
// small layers (1 x 8 for dcgan_g2) made it 6x slower; the two divisions the flat index costs
// per invocation are negligible next to the channel loop.
uint32_t conv_workgroup(uint64_t invocations, const DeviceCaps& caps) {
  uint64_t wg = std::min<uint64_t>((invocations + 7) / 8 * 8, kFlatWorkgroup);
  wg = std::min<uint64_t>({wg, caps.max_workgroup_size[0], caps.max_workgroup_invocations});
  return static_cast<uint32_t>(std::max<uint64_t>(wg, 1));
}

// Input channels per step of the shaders' channel loops (CI_UNROLL): 2 where that divides the
// channels of a group. On lavapipe each accumulator then makes one trip through the stack per two
// channels instead of one: geomean over the eight conv layers vs ncnn 2.84 -> 3.18 (medians of
// four interleaved runs; aspp_d12 133 -> 98 ms, fsrcnn_x3 6.6 -> 5.1). 4 channels per step was
// better on aspp_d12 only and worse elsewhere (geomean 2.96: more live values, longer code).
uint32_t ci_unroll(const ConvDesc& d) { return d.c_in_per_group() % 2 == 0 ? 2u : 1u; }

uint32_t activation_kind(const ConvDesc& d) { return static_cast<uint32_t>(d.activation.kind); }

// Shared-memory staging (shaders/conv_staged.glsl, DeviceCaps::shared_staging): the workgroup
// is a block of `rows` output rows x lanes_x * POS_TILE positions for co_lanes channel tiles;
// per kernel row and chunk of ci_chunk input channels it stages `cols` input columns of each row
// and `taps` taps' weights of its channel tiles.
struct StagedTiles {
  uint32_t ci_chunk = 1, lanes_x = 1, rows = 1, cols = 1, taps = 1, co_lanes = 1;
  uint32_t co_tile = 1;
  uint32_t stage_batch = 1;  // elements a lane loads per staging round (STAGE_BATCH)
  bool prefetch = false;     // PREFETCH: the next step's tiles in x_regs / w_regs
  uint64_t groups_x = 1, groups_y = 1;
  uint32_t lanes() const { return lanes_x * rows * co_lanes; }
  // Elements of the input and the weight tile per lane of the workgroup (X_REGS, W_REGS).
  uint64_t x_per_lane() const { return (uint64_t(ci_chunk) * rows * cols + lanes() - 1) / lanes(); }
  uint64_t w_per_lane() const { return (uint64_t(taps) * ci_chunk * co_lanes * co_tile + lanes() - 1) / lanes(); }
  // Most elements of one staged tile (input or weights) per lane of the workgroup.
  uint64_t tile_elements_per_lane() const { return std::max(x_per_lane(), w_per_lane()); }
  // x_tile + w_tile of the shader, in fp32 (w_tile in vec4s of output channels).
  uint64_t shared_bytes() const {
    return 4ull * ci_chunk * (uint64_t(rows) * cols + uint64_t(taps) * co_lanes * ((co_tile + 3) / 4 * 4));
  }
};

// Shared memory one staged workgroup may use: 16 KiB (the least Vulkan guarantees) keeps
// several workgroups resident per compute unit on devices that have 32-64 KiB.
constexpr uint64_t kStagedSharedBudget = 16384;
// Most input channels per staged tile: more means fewer barriers, but past 16 the tile stops
// fitting the budget for the 32-channel tiles of the bench layers.
constexpr uint32_t kStagedMaxChunk = 16;
// Most registers per lane the prefetched tiles may take (StagedLoop::prefetch; X_REGS + W_REGS):
// beside 64 accumulators that keeps a lane under the 255 registers of most GPUs. Tiles that need
// more are staged in rounds.
constexpr uint64_t kPrefetchMaxRegs = 64;

// Positions per lane of a staged launch with `outputs` outputs (every channel tile, phase and
// batch item, times the input-channel slices where those are chosen first): halved from the
// largest tile while the launch has fewer lanes than caps.staged_target_lanes, down to 16
// accumulators per lane (4 positions for tiles of 1-2 channels, which load one input value per
// multiply-add at any size). Fewer positions per lane read more shared memory per multiply-add
// (16 x 1: one input value and four weight vec4s per 16, against 16 x 4: four and four per 64),
// but a launch of a few thousand lanes leaves most of a GPU idle: dcgan_g2 (65536 outputs) took
// 1024 lanes of 64 accumulators.
uint32_t staged_pos_tile(const ConvTiles& t, uint64_t outputs, const DeviceCaps& caps) {
  uint32_t pos = t.pos_tile;
  const uint32_t min_pos = t.co_tile >= 4 ? std::max(1u, 16u / t.co_tile) : 4u;
  while (pos > min_pos && outputs / (uint64_t(t.co_tile) * pos) < caps.staged_target_lanes) pos /= 2;
  return pos;
}

// Most input-channel slices of a split launch: 16 bring the smallest launch of bench/shapes.json
// (dcgan_g2, 4096 lanes at 16 x 1) to 65536; each slice adds the output's size in partial sums,
// written and read once more.
constexpr uint32_t kMaxSplit = 16;

// Input-channel slices (SPLIT) of a staged launch of `lanes` lanes and `out_count` outputs: the
// smallest power of two that brings it to caps.staged_target_lanes, at most kMaxSplit and the
// group's input channels (a slice has at least one); 1 where the partial sums would not be
// indexable in 32 bits.
uint32_t staged_split(const ConvDesc& d, uint64_t lanes, uint64_t out_count, const DeviceCaps& caps) {
  if (!caps.split_reduction) return 1;
  const auto cin = static_cast<uint64_t>(d.c_in_per_group());
  uint32_t split = 1;
  while (split < kMaxSplit && lanes * split < caps.staged_target_lanes && uint64_t(split) * 2 <= cin) split *= 2;
  if (uint64_t(split) * out_count > uint64_t(std::numeric_limits<int32_t>::max())) return 1;
  return split;
}

// The staged tiling for a launch of `rows` rows x `positions` positions per row (per stride
// phase for conv_transpose) and co_tiles channel tiles, or nothing where even one channel of the
// smallest block does not fit the device's shared memory (a very wide dilated kernel) or the
// grid exceeds the device's workgroup counts: such layers take the register-tiled path.
// Workgroups of up to caps.staged_workgroup lanes: caps.staged_co_first channel tiles, then the
// spatial block (lanes_x along W, then rows), then more channel tiles where a small block leaves
// lanes. To fit the budget the channel chunk shrinks first, then the channel tiles, the rows and
// the lanes along W.
std::optional<StagedTiles> choose_staged(const ConvDesc& d, const ConvTiles& t, uint32_t co_tiles, uint32_t rows,
                                         uint32_t positions, const DeviceCaps& caps) {
  const uint64_t budget = std::min<uint64_t>(caps.max_shared_memory, kStagedSharedBudget);
  const uint32_t max_lanes = std::bit_floor(std::max<uint32_t>(
      std::min<uint32_t>({caps.staged_workgroup, caps.max_workgroup_size[0], caps.max_workgroup_invocations}), 1));
  StagedTiles s;
  s.co_tile = t.co_tile;
  const uint32_t co_all = std::bit_ceil(std::max(co_tiles, 1u));
  const uint32_t co_first = std::min<uint32_t>({std::bit_floor(std::max(caps.staged_co_first, 1u)), co_all, max_lanes});
  s.lanes_x = std::min<uint32_t>(max_lanes / co_first, std::bit_ceil(std::max(ceil_div(positions, t.pos_tile), 1u)));
  s.rows = std::min<uint32_t>(max_lanes / (co_first * s.lanes_x), std::bit_ceil(std::max(rows, 1u)));
  s.co_lanes = std::min<uint32_t>(max_lanes / (s.lanes_x * s.rows), co_all);
  // Taps of one kernel row (for conv_transpose: of one W phase, which steps by SW / gcd) and
  // the input columns they and the block's positions read.
  const auto kw = static_cast<uint64_t>(d.kw), sw = static_cast<uint64_t>(d.stride_w),
             dw = static_cast<uint64_t>(d.dil_w);
  uint64_t taps = kw, span_of_taps = (kw - 1) * dw;
  if (d.transposed) {
    const uint64_t g = std::gcd(sw, dw);
    taps = (kw + sw / g - 1) / (sw / g);
    span_of_taps = (taps - 1) * (dw / g);
  }
  const uint64_t cin_pg = static_cast<uint64_t>(d.c_in_per_group());
  for (;;) {
    const uint64_t block = uint64_t(s.lanes_x) * t.pos_tile;
    const uint64_t cols = d.transposed ? block + span_of_taps : (block - 1) * sw + span_of_taps + 1;
    s.cols = static_cast<uint32_t>(std::min<uint64_t>(cols, std::numeric_limits<uint32_t>::max()));
    s.taps = static_cast<uint32_t>(taps);
    s.ci_chunk = std::bit_ceil(static_cast<uint32_t>(std::min<uint64_t>(cin_pg, kStagedMaxChunk)));
    while (s.ci_chunk > 1 && s.shared_bytes() > budget) s.ci_chunk /= 2;
    if (cols <= std::numeric_limits<uint32_t>::max() && s.shared_bytes() <= budget) break;
    if (s.co_lanes > 1)
      s.co_lanes /= 2;
    else if (s.rows > 1)
      s.rows /= 2;
    else if (s.lanes_x > 1)
      s.lanes_x /= 2;
    else
      return std::nullopt;
  }
  s.groups_x = (positions + uint64_t(s.lanes_x) * t.pos_tile - 1) / (uint64_t(s.lanes_x) * t.pos_tile);
  s.groups_y = (uint64_t(rows) + s.rows - 1) / s.rows;
  if (s.groups_x > caps.max_workgroup_count[0] || s.groups_y > caps.max_workgroup_count[1]) return std::nullopt;
  // A round of STAGE_BATCH loads per lane, no more than the larger tile needs (each element of a
  // round is an unrolled load, and the round's values are live until stored).
  s.stage_batch = static_cast<uint32_t>(
      std::clamp<uint64_t>(std::min<uint64_t>(caps.stage_batch, s.tile_elements_per_lane()), 1, 32));
  s.prefetch = caps.staged_loop == StagedLoop::prefetch && s.x_per_lane() + s.w_per_lane() <= kPrefetchMaxRegs;
  return s;
}

Result<std::vector<Dispatch>> plan_conv(const ConvDesc& d, const Dims4& in, const Dims4& out,
                                        const DeviceCaps& caps) {
  ConvTiles t = choose_tiles(d, caps);
  const uint32_t co_tiles = static_cast<uint32_t>(t.cout_pg_padded / t.co_tile);
  // Output rows and positions per row of one launch (per stride phase for conv_transpose).
  const uint32_t rows = d.transposed ? ceil_div(out.h, d.stride_h) : static_cast<uint32_t>(out.h);
  const uint32_t positions = d.transposed ? ceil_div(out.w, d.stride_w) : static_cast<uint32_t>(out.w);
  // Outputs of the launch counting the padded channel tiles: lanes = this / (co_tile * pos_tile).
  const uint64_t tile_outputs = uint64_t(out.n) * d.groups * t.cout_pg_padded * out.h * out.w;
  const uint64_t out_count = uint64_t(out.n) * d.c_out * out.h * out.w;
  std::optional<StagedTiles> staged;
  uint32_t split = 1;
  if (caps.shared_staging) {
    // Slices multiply the lanes: with split_first they are chosen at the largest tile and the
    // positions per lane shrink only for what they leave; else the other way round.
    if (caps.split_first) split = staged_split(d, tile_outputs / (uint64_t(t.co_tile) * t.pos_tile), out_count, caps);
    ConvTiles small = t;
    small.pos_tile = staged_pos_tile(t, tile_outputs * split, caps);
    staged = choose_staged(d, small, co_tiles, rows, positions, caps);
    if (staged) {
      t = small;
      if (!caps.split_first) split = staged_split(d, tile_outputs / (uint64_t(t.co_tile) * t.pos_tile), out_count, caps);
    } else {
      split = 1;  // the register path, with its own tiles
    }
  }
  Dispatch disp;
  disp.shader = d.transposed ? ShaderId::conv_transpose : ShaderId::conv;
  // Outputs as vec4 stores (Y_VEC4) where a tile's positions are consecutive and its groups of 4
  // start at multiples of 4 of the row. conv_transpose gets consecutive positions by computing
  // every W phase in one invocation (W_PHASES_INSIDE: dilation 1 along W, SW <= 4 dividing
  // POS_TILE), which pays where the stores weigh most, i.e. narrow channel tiles: on lavapipe
  // frame_up (tile 8) 22-35 -> 21-24 ms, dw_up_x2 (tile 1) 20-21 -> 17-18 ms (medians of
  // interleaved runs); with 32-channel tiles each phase's own input window and weights cost more
  // than the stores save (dcgan_g4 8.2-10.3 -> 9.2-12.2 ms, unet_up 9.7-12.6 -> 11.5-16.9).
  // The staged path interleaves its lanes' positions (coalesced scalar stores) and takes neither.
  const bool whole_vec4_rows = !staged && t.pos_tile % 4 == 0 && out.w % 4 == 0;
  const bool phases_inside = d.transposed && whole_vec4_rows && t.co_tile <= 8 && d.dil_w == 1 &&
                             d.stride_w <= 4 && t.pos_tile % d.stride_w == 0;
  const bool vec4_stores = whole_vec4_rows && (!d.transposed || phases_inside);
  const StagedTiles st = staged.value_or(StagedTiles{});
  set_spec(disp, kFlatWorkgroup,
           {static_cast<uint32_t>(d.kh), static_cast<uint32_t>(d.kw), static_cast<uint32_t>(d.stride_h),
            static_cast<uint32_t>(d.stride_w), static_cast<uint32_t>(d.dil_h), static_cast<uint32_t>(d.dil_w),
            t.co_tile, t.pos_tile, activation_kind(d), float_bits(d.activation.alpha), d.has_bias ? 1u : 0u,
            staged ? 1u : weight_share(t, caps), caps.weight_texels && !staged ? weight_texel_channels(d, caps) : 0u,
            caps.input_texels && !staged && (d.transposed || d.stride_w == 1) ? 1u : 0u,
            vec4_stores ? 1u : 0u, phases_inside ? 1u : 0u, staged ? 1u : ci_unroll(d),
            staged ? 1u : 0u, st.ci_chunk, st.lanes_x, st.rows, st.cols, st.taps, st.co_lanes, split,
            st.stage_batch, st.prefetch ? 1u : 0u, st.prefetch ? uint32_t(st.x_per_lane()) : 1u,
            st.prefetch ? uint32_t(st.w_per_lane()) : 1u});
  // Workgroup z: (n, group, channel tile[, phase h, phase w]), so weights and tap loops are
  // uniform per workgroup; the flat (x, y) grid covers output rows x tiles along W. Staged
  // workgroups take co_lanes channel tiles each.
  const uint64_t phases = d.transposed ? uint64_t(d.stride_h) * (phases_inside ? 1 : d.stride_w) : 1;
  const uint64_t co_units = (uint64_t(co_tiles) + st.co_lanes - 1) / st.co_lanes;
  const uint64_t z = uint64_t(in.n) * d.groups * co_units * phases * split;
  const uint32_t w_tiles = phases_inside ? ceil_div(out.w, t.pos_tile) : ceil_div(positions, t.pos_tile);
  PushWriter w(disp);
  w.u32(in.n).u32(d.c_in).u32(in.h).u32(in.w).u32(d.c_out).u32(out.h).u32(out.w);
  w.i32(d.pad_top).i32(d.pad_left).u32(d.groups).u32(d.c_in_per_group()).u32(d.c_out_per_group());
  w.u32(t.cout_pg_padded).u32(co_tiles).u32(rows).u32(w_tiles).u32(0 /* z_base, see split_z */);
  const char* what = d.transposed ? "conv_transpose" : "conv";
  if (staged) {
    // Workgroup (x, y) = (block of positions, block of rows), see shaders/conv_staged.glsl.
    disp.spec[0].value = st.lanes();
    disp.groups[0] = static_cast<uint32_t>(std::max<uint64_t>(st.groups_x, 1));
    disp.groups[1] = static_cast<uint32_t>(std::max<uint64_t>(st.groups_y, 1));
  } else {
    // Small spatial extents (dcgan_g2: 8 invocations per phase) get a smaller workgroup: idle
    // lanes are not free, they run the loops too (see W_SHARE).
    const uint32_t wg = conv_workgroup(uint64_t(rows) * w_tiles, caps);
    disp.spec[0].value = wg;
    UPCONV_RETURN_IF_ERROR(set_flat_grid(disp, uint64_t(rows) * w_tiles, caps, what, wg));
  }
  // z = batch x groups x channel tiles x stride phases (x input-channel slices), cut at the
  // device limit.
  if (z > std::numeric_limits<uint32_t>::max())
    return invalid_argument(std::string(what) + ": batch x groups x channel tiles x stride phases = " +
                            std::to_string(z) + " exceeds 2^32 - 1");
  std::vector<Dispatch> parts = split_z(disp, z, caps);
  if (split == 1) return parts;
  // The slices' partial sums, then their sum with bias and activation (conv_split_reduce.comp).
  parts.front().scratch_floats = uint64_t(split) * out_count;
  Dispatch reduce;
  reduce.shader = ShaderId::conv_split_reduce;
  set_spec(reduce, kFlatWorkgroup, {split, activation_kind(d), float_bits(d.activation.alpha), d.has_bias ? 1u : 0u});
  PushWriter(reduce).u32(out_count).u32(uint64_t(out.h) * out.w).u32(d.c_out);
  UPCONV_RETURN_IF_ERROR(set_flat_grid(reduce, out_count, caps, what));
  parts.push_back(std::move(reduce));
  return parts;
}

// ---------------------------------------------------------------------------------------------
// Memory-bound ops: each invocation writes kOutPerInvocation consecutive outputs of one row, on a
// 3-D grid (chunk, row, plane) so the shaders divide by nothing but spec constants.
constexpr uint32_t kOutPerInvocation = 4;  // so whole vec4 rows (out_w % 4 == 0) take vec4 stores

Result<std::vector<Dispatch>> plan_shuffle(const ShuffleDesc& s, const Dims4& in, const Dims4& out,
                                           const DeviceCaps& caps) {
  Dispatch d;
  d.shader = ShaderId::pixel_shuffle;
  // Shuffle with whole-vec4 input rows: 4r outputs per invocation from r vec4 loads (mode 2).
  // Two such groups per invocation (8r outputs) where rows split evenly and no more lanes of
  // the row grid idle than with one: shuffle_x2 13.8 vs 14.4 ms on lavapipe (medians of five
  // interleaved runs); espcn_x3 (160 -> 80 chunks of a 64-lane row) would idle more and was slower.
  const bool vec_in = !s.inverse && s.factor >= 2 && s.factor <= 4 && in.w % 4 == 0;
  const auto r = static_cast<uint32_t>(s.factor);
  auto idle_lanes = [&](uint32_t per) {
    const uint32_t chunks = ceil_div(out.w, per), wx = row_grid_width(chunks);
    return ceil_div(chunks, wx) * wx - chunks;
  };
  const uint32_t vec_groups = vec_in && in.w % 8 == 0 && idle_lanes(8 * r) * 2 <= idle_lanes(4 * r) ? 2 : 1;
  const uint32_t per_inv = vec_in ? 4 * r * vec_groups : kOutPerInvocation;
  const uint32_t vec_mode = vec_in ? 2 : out.w % 4 == 0 ? 1 : 0;
  // The vec4 loads of mode 2 come from the input's 4-channel texel view where the runtime bound
  // one: on lavapipe a texel is one vector load per lane, a storage-buffer vec4 four lane loops
  // (shuffle_x2 4.5-4.9 vs 6.5-6.7 ms, espcn_x3 7.4-8.1 vs 9.7-10.6, interleaved runs).
  const uint32_t x_texels = vec_mode == 2 && caps.input_texels ? 1 : 0;
  set_spec(d, kFlatWorkgroup,
           {static_cast<uint32_t>(s.factor), s.mode == ShuffleMode::dcr ? 1u : 0u, s.inverse ? 1u : 0u, per_inv,
            vec_mode, x_texels});
  const uint32_t chunks = ceil_div(out.w, per_inv);
  PushWriter(d).u32(out.n * out.c).u32(out.c).u32(out.h).u32(out.w).u32(in.h).u32(in.w).u32(in.c).u32(chunks).u32(
      0 /* plane_base, see split_z */);
  UPCONV_RETURN_IF_ERROR(
      set_row_grid(d, chunks, out.h, caps, s.inverse ? "pixel_unshuffle" : "pixel_shuffle"));
  return split_z(d, uint64_t(out.n) * out.c, caps);
}

Result<std::vector<Dispatch>> plan_resample(const ResampleDesc& r, const Dims4& in, const Dims4& out,
                                            const DeviceCaps& caps) {
  Dispatch d;
  d.shader = ShaderId::resample;
  set_spec(d, kFlatWorkgroup,
           {static_cast<uint32_t>(r.factor_h), static_cast<uint32_t>(r.factor_w), r.zero_insert ? 1u : 0u,
            kOutPerInvocation, out.w % 4 == 0 ? 1u : 0u});
  const uint32_t chunks = ceil_div(out.w, kOutPerInvocation);
  PushWriter(d).u32(out.n * out.c).u32(out.h).u32(out.w).u32(in.h).u32(in.w).u32(chunks).u32(0 /* plane_base */);
  UPCONV_RETURN_IF_ERROR(
      set_row_grid(d, chunks, out.h, caps, r.zero_insert ? "bed_of_nails2d" : "upsample_nearest2d"));
  return split_z(d, uint64_t(out.n) * out.c, caps);
}

// max_unpool2d in three passes over the output viewed as uint32 (see shaders/max_unpool2d.comp):
// 0 zero-fill, 1 atomicMax of (input position + 1) into the output slot each index names (so the
// LAST input element in C order wins, like the reference), 2 resolve slots into values. The fp16
// variant cannot hold a position in a 16-bit slot: pass 1 stores values directly and pass 2 is a
// no-op, so for duplicate indices with different values the winner is unspecified.
Result<std::vector<Dispatch>> plan_unpool(const UnpoolDesc& u, const Dims4& in, const Dims4& out,
                                          const DeviceCaps& caps) {
  const MaxUnpool2dParams& q = u.params;
  auto push = [&](Dispatch& d, uint32_t chunks) {
    PushWriter(d).u32(in.n * in.c).u32(in.plane()).u32(out.plane()).u32(in.h).u32(in.w).u32(out.h).u32(out.w).u32(
        chunks).u32(0 /* plane_base, see split_z */);
  };
  if (caps.unpool_indices_in_window && unpool_windows_tile(q, in, out)) {
    // Pass 3: one gather (see shaders/max_unpool2d.comp). On lavapipe unpool_2x2 74-90 -> 22-23
    // ms (three interleaved runs).
    Dispatch d;
    d.shader = ShaderId::max_unpool2d;
    set_spec(d, kFlatWorkgroup,
             {3u, static_cast<uint32_t>(q.kernel[0]), static_cast<uint32_t>(q.kernel[1]), out.w % 4 == 0 ? 1u : 0u});
    const uint32_t chunks = ceil_div(out.w, 4);
    push(d, chunks);
    UPCONV_RETURN_IF_ERROR(set_row_grid(d, chunks, out.h, caps, "max_unpool2d"));
    return split_z(d, uint64_t(in.n) * in.c, caps);
  }
  std::vector<Dispatch> passes;
  for (uint32_t pass = 0; pass < 3; ++pass) {
    Dispatch d;
    d.shader = ShaderId::max_unpool2d;
    set_spec(d, kFlatWorkgroup, {pass});
    push(d, 0);
    const uint64_t invocations = pass == 1 ? uint64_t(in.count()) : uint64_t(out.count());
    UPCONV_RETURN_IF_ERROR(set_flat_grid(d, invocations, caps, "max_unpool2d"));
    passes.push_back(std::move(d));
  }
  return passes;
}

}  // namespace

bool unpool_windows_tile(const MaxUnpool2dParams& q, const Dims4& in, const Dims4& out) {
  return q.kernel[0] == q.stride[0] && q.kernel[1] == q.stride[1] && q.padding[0] == 0 && q.padding[1] == 0 &&
         out.h >= in.h * q.kernel[0] && out.w >= in.w * q.kernel[1];
}

uint32_t weight_texel_channels(const ConvDesc& d, const DeviceCaps& caps) {
  return choose_tiles(d, caps).co_tile % 4 == 0 ? 4 : 1;
}

size_t packed_weight_count(const ConvDesc& d, const DeviceCaps& caps) {
  const ConvTiles t = choose_tiles(d, caps);
  return static_cast<size_t>(d.groups * d.kh * d.kw * d.c_in_per_group() * t.cout_pg_padded);
}

// Packed layout, both directions: [group][co tile][kh][kw][ci in group][co in tile], zeros in
// the padding of the last tile. An invocation's CO_TILE weights for one (tap, ci) are
// contiguous, consecutive ci follow each other, and one workgroup's weights (one group and
// channel tile) form one contiguous block, matching the shaders' tap-outer, channel-inner loops.
std::vector<float> pack_weight(const ConvDesc& d, const float* weight, const DeviceCaps& caps) {
  const ConvTiles t = choose_tiles(d, caps);
  const int64_t cin_pg = d.c_in_per_group(), cout_pg = d.c_out_per_group();
  std::vector<float> packed(packed_weight_count(d, caps), 0.0f);
  for (int64_t g = 0; g < d.groups; ++g)
    for (int64_t ci = 0; ci < cin_pg; ++ci)
      for (int64_t co = 0; co < cout_pg; ++co)
        for (int64_t th = 0; th < d.kh; ++th)
          for (int64_t tw = 0; tw < d.kw; ++tw) {
            // conv: (c_out, c_in/groups, kh, kw); conv_transpose: (c_in, c_out/groups, kh, kw).
            const int64_t src = d.transposed ? (((g * cin_pg + ci) * cout_pg + co) * d.kh + th) * d.kw + tw
                                             : (((g * cout_pg + co) * cin_pg + ci) * d.kh + th) * d.kw + tw;
            const int64_t tile = co / t.co_tile, tiles = t.cout_pg_padded / t.co_tile;
            const int64_t dst = ((((g * tiles + tile) * d.kh + th) * d.kw + tw) * cin_pg + ci) * t.co_tile + co % t.co_tile;
            packed[static_cast<size_t>(dst)] = weight[src];
          }
  return packed;
}

Result<std::vector<Dispatch>> plan_dispatches(const OpDesc& desc, const Dims4& in, const Dims4& out,
                                              const DeviceCaps& caps) {
  UPCONV_RETURN_IF_ERROR(check_32bit(in, "input"));
  UPCONV_RETURN_IF_ERROR(check_32bit(out, "output"));
  if (const auto* c = std::get_if<ConvDesc>(&desc)) return plan_conv(*c, in, out, caps);
  if (const auto* s = std::get_if<ShuffleDesc>(&desc)) return plan_shuffle(*s, in, out, caps);
  if (const auto* u = std::get_if<UnpoolDesc>(&desc)) return plan_unpool(*u, in, out, caps);
  if (const auto* r = std::get_if<ResampleDesc>(&desc)) return plan_resample(*r, in, out, caps);
  return invalid_argument("plan_dispatches: unknown operator");
}

}  // namespace upconv::detail::vk

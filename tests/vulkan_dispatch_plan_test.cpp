// Dispatch planning for the Vulkan shaders (runtime/vulkan/dispatch_plan.cpp), without a device:
// the limits every plan must respect (push constants <= 128 bytes, workgroup size and counts
// within the device caps, spec constants 0..2 = workgroup size) and the packed weight layout.
// The shaders' numerical behaviour is tested on lavapipe by vulkan_ops_test.
#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cstring>
#include <numeric>
#include <string>
#include <vector>

#include "runtime/vulkan/dispatch_plan.hpp"

namespace upconv::detail::vk {
namespace {

ConvDesc conv_desc(bool transposed, int64_t c_in, int64_t c_out, int64_t groups, int64_t k, int64_t s, int64_t d) {
  ConvDesc c;
  c.transposed = transposed;
  c.c_in = c_in;
  c.c_out = c_out;
  c.groups = groups;
  c.kh = c.kw = k;
  c.stride_h = c.stride_w = s;
  c.dil_h = c.dil_w = d;
  return c;
}

void expect_within_caps(const std::vector<Dispatch>& dispatches, const DeviceCaps& caps, const char* what) {
  ASSERT_FALSE(dispatches.empty()) << what;
  for (const Dispatch& d : dispatches) {
    EXPECT_LT(static_cast<uint32_t>(d.shader), static_cast<uint32_t>(shaders::ShaderId::count)) << what;
    EXPECT_LE(d.push_size, kPushConstantBytes) << what;
    EXPECT_EQ(d.push_size % 4, 0u) << what;
    ASSERT_GE(d.spec.size(), 3u) << what;
    uint64_t invocations = 1;
    for (int i = 0; i < 3; ++i) {
      EXPECT_EQ(d.spec[i].id, static_cast<uint32_t>(i)) << what;
      EXPECT_GE(d.spec[i].value, 1u) << what;
      EXPECT_LE(d.spec[i].value, caps.max_workgroup_size[i]) << what;
      invocations *= d.spec[i].value;
      EXPECT_GE(d.groups[i], 1u) << what;
      EXPECT_LE(d.groups[i], caps.max_workgroup_count[i]) << what;
    }
    EXPECT_LE(invocations, caps.max_workgroup_invocations) << what;
  }
}

// Layers of bench/shapes.json that the plan tests reason about.
uint64_t co_tiles_of(const ConvDesc& d, uint32_t co_tile) {
  return uint64_t(d.c_out / d.groups + co_tile - 1) / co_tile;
}

ConvDesc aspp_d12() {
  return {.c_in = 256, .c_out = 256, .kh = 3, .kw = 3, .dil_h = 12, .dil_w = 12, .pad_top = 12, .pad_left = 12,
          .pad_bottom = 12, .pad_right = 12};
}
ConvDesc dcgan_g2() {
  return {.transposed = true, .c_in = 512, .c_out = 256, .kh = 4, .kw = 4, .stride_h = 2, .stride_w = 2,
          .pad_top = 1, .pad_left = 1, .pad_bottom = 1, .pad_right = 1};
}
ConvDesc fsrcnn_x3() {
  return {.transposed = true, .c_in = 56, .c_out = 1, .kh = 9, .kw = 9, .stride_h = 3, .stride_w = 3, .pad_top = 4,
          .pad_left = 4, .pad_bottom = 4, .pad_right = 4, .out_pad_h = 2, .out_pad_w = 2};
}
ConvDesc frame_up() {
  return {.transposed = true, .c_in = 16, .c_out = 8, .kh = 4, .kw = 4, .stride_h = 2, .stride_w = 2, .pad_top = 1,
          .pad_left = 1, .pad_bottom = 1, .pad_right = 1};
}

TEST(VulkanDispatchPlan, EveryOpWithinDeviceLimits) {
  DeviceCaps caps;  // defaults: the Vulkan minimums for compute
  caps.subgroup_size = 8;
  const Dims4 in{2, 8, 33, 70};
  expect_within_caps(plan_dispatches(ShuffleDesc{.factor = 2}, in, Dims4{2, 2, 66, 140}, caps).value(), caps, "shuffle");
  expect_within_caps(plan_dispatches(ResampleDesc{}, in, Dims4{2, 8, 66, 140}, caps).value(), caps, "resample");
  auto unpool = plan_dispatches(UnpoolDesc{}, in, Dims4{2, 8, 66, 140}, caps);
  ASSERT_TRUE(unpool.ok());
  EXPECT_EQ(unpool->size(), 3u);  // zero-fill, scatter, resolve
  expect_within_caps(*unpool, caps, "unpool");
  for (bool transposed : {false, true})
    for (int64_t groups : {1, 4, 8}) {
      ConvDesc c = conv_desc(transposed, 8, 16, groups, 3, 2, 1);
      const Dims4 out = c.output_dims(in);
      expect_within_caps(plan_dispatches(c, in, out, caps).value(), caps, transposed ? "conv_transpose" : "conv");
    }
}

TEST(VulkanDispatchPlan, LargeGridsSpreadOverTwoDimensions) {
  DeviceCaps caps;
  caps.max_workgroup_count[0] = 1000;  // force the spread
  const Dims4 in{1, 1, 1000, 1000}, out{1, 1, 2000, 2000};
  auto d = plan_dispatches(UnpoolDesc{}, in, out, caps);  // flat 1-D launches
  ASSERT_TRUE(d.ok()) << d.status().to_string();
  for (const Dispatch& pass : *d) {
    EXPECT_EQ(pass.groups[0], 1000u);
    EXPECT_GT(pass.groups[1], 1u);
    const uint64_t invocations = uint64_t(pass.groups[0]) * pass.groups[1] * pass.spec[0].value;
    EXPECT_GE(invocations, uint64_t(in.count()));
  }
  EXPECT_GE(uint64_t((*d)[0].groups[0]) * (*d)[0].groups[1] * (*d)[0].spec[0].value, uint64_t(out.count()));
  // Permutations use a (chunk, row, plane) grid instead.
  auto r = plan_dispatches(ResampleDesc{}, in, out, caps);
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ((*r)[0].groups[1], 2000u);
  EXPECT_EQ((*r)[0].groups[2], 1u);
}

// Row grids: 64 lanes per workgroup; rows narrower where that idles at least 16 fewer lanes.
TEST(VulkanDispatchPlan, RowGridWidthAvoidsIdleLanes) {
  DeviceCaps caps;
  const auto width = [&](int64_t out_w) {
    const Dims4 in{1, 1, 4, out_w / 2}, out{1, 1, 8, out_w};
    auto r = plan_dispatches(ResampleDesc{}, in, out, caps);  // 4 outputs per invocation
    EXPECT_TRUE(r.ok());
    EXPECT_EQ((*r)[0].spec[0].value * (*r)[0].spec[1].value, 64u);
    return (*r)[0].spec[0].value;
  };
  EXPECT_EQ(width(16), 4u);     // 4 chunks: the whole row, 16 rows per workgroup
  EXPECT_EQ(width(256), 64u);   // 64 chunks
  EXPECT_EQ(width(640), 32u);   // 160 chunks: 5 x 32, where 64 idles 32 lanes
  EXPECT_EQ(width(2000), 64u);  // 500 chunks: 8 would idle 4 lanes instead of 12, not worth it
}

uint32_t spec_of(const Dispatch& d, uint32_t id) {
  for (const auto& c : d.spec)
    if (c.id == id) return c.value;
  return ~0u;
}

// Conv outputs as vec4 stores (Y_VEC4, id 17) only where a tile's groups of 4 positions start at
// multiples of 4 of the output row: conv (consecutive positions), POS_TILE % 4 == 0, out_w % 4 == 0.
TEST(VulkanDispatchPlan, ConvVec4StoresOnlyOnWholeVec4Rows) {
  DeviceCaps caps;
  ConvDesc conv{.c_in = 8, .c_out = 8, .kh = 3, .kw = 3, .pad_top = 1, .pad_left = 1, .pad_bottom = 1, .pad_right = 1};
  auto vec4 = plan_dispatches(conv, Dims4{1, 8, 6, 16}, Dims4{1, 8, 6, 16}, caps);
  ASSERT_TRUE(vec4.ok()) << vec4.status().to_string();
  ASSERT_EQ(spec_of(vec4->front(), 10) % 4, 0u);  // POS_TILE
  EXPECT_EQ(spec_of(vec4->front(), 17), 1u);
  auto odd = plan_dispatches(conv, Dims4{1, 8, 6, 18}, Dims4{1, 8, 6, 18}, caps);
  ASSERT_TRUE(odd.ok());
  EXPECT_EQ(spec_of(odd->front(), 17), 0u);
  // conv_transpose: a phase's positions are SW apart, so vec4 stores come with every W phase in
  // one invocation (W_PHASES_INSIDE, id 18): narrow channel tiles, dilation 1 along W, SW <= 4
  // dividing POS_TILE. The workgroups then span the H phases only.
  ConvDesc transposed = conv;
  transposed.transposed = true;
  transposed.stride_h = transposed.stride_w = 2;
  const Dims4 t_in{1, 8, 6, 8}, t_out{1, 8, 11, 16};
  auto t = plan_dispatches(transposed, t_in, t_out, caps);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(spec_of(t->front(), 17), 1u);
  EXPECT_EQ(spec_of(t->front(), 18), 1u);
  EXPECT_EQ(t->front().groups[2], 2u);  // co tiles (1) x H phases (2)
  auto outside = [&](ConvDesc desc, Dims4 in, Dims4 out) {
    auto plan = plan_dispatches(desc, in, out, caps);
    EXPECT_TRUE(plan.ok());
    EXPECT_EQ(spec_of(plan->front(), 18), 0u) << "c_out " << desc.c_out << " stride_w " << desc.stride_w;
    EXPECT_EQ(spec_of(plan->front(), 17), 0u);
  };
  ConvDesc wide = transposed;
  wide.c_out = 64;  // 32-channel tiles
  outside(wide, t_in, Dims4{1, 64, 11, 16});
  ConvDesc dilated = transposed;
  dilated.dil_w = 2;
  outside(dilated, t_in, Dims4{1, 8, 11, 18});
  ConvDesc stride3 = transposed;
  stride3.stride_w = 3;
  outside(stride3, Dims4{1, 8, 6, 6}, Dims4{1, 8, 11, 16});
  outside(transposed, t_in, Dims4{1, 8, 11, 18});  // out_w % 4 != 0
}

// The channel loops take two input channels per step (CI_UNROLL, id 19) where two divide the
// channels of a group, else one (a second channel would read the next group's or past the end).
TEST(VulkanDispatchPlan, ConvChannelStepOnlyWhereItDividesTheGroupsChannels) {
  DeviceCaps caps;
  auto step = [&](ConvDesc d, Dims4 in, Dims4 out) {
    auto plan = plan_dispatches(d, in, out, caps);
    EXPECT_TRUE(plan.ok()) << plan.status().to_string();
    return plan.ok() ? spec_of(plan->front(), 19) : 0u;
  };
  const ConvDesc even{.c_in = 8, .c_out = 4, .kh = 3, .kw = 3};
  EXPECT_EQ(step(even, Dims4{1, 8, 6, 6}, Dims4{1, 4, 4, 4}), 2u);
  ConvDesc odd = even;
  odd.c_in = 3;
  EXPECT_EQ(step(odd, Dims4{1, 3, 6, 6}, Dims4{1, 4, 4, 4}), 1u);
  ConvDesc grouped = even;
  grouped.c_in = 6, grouped.groups = 2;  // 3 channels per group
  EXPECT_EQ(step(grouped, Dims4{1, 6, 6, 6}, Dims4{1, 4, 4, 4}), 1u);
  ConvDesc transposed{.transposed = true, .c_in = 4, .c_out = 4, .kh = 2, .kw = 2, .stride_h = 2, .stride_w = 2};
  EXPECT_EQ(step(transposed, Dims4{1, 4, 3, 3}, Dims4{1, 4, 6, 6}), 2u);
  ConvDesc depthwise = transposed;
  depthwise.groups = 4;
  EXPECT_EQ(step(depthwise, Dims4{1, 4, 3, 3}, Dims4{1, 4, 6, 6}), 1u);
}

// Shared-memory staging (STAGED, id 20; shaders/conv_staged.glsl): where the device asks for it,
// every conv launch stages tiles that fit min(shared memory, 16 KiB), in a workgroup of
// LANES_X x ROWS lanes whose grid covers the output, with COLS covering every input column the
// block's positions and taps read, and none of the register path's read and store variants.
// A layer whose one-channel tile cannot fit (a 1-D kernel dilated over thousands of columns)
// takes the register path.
TEST(VulkanDispatchPlan, ConvStagingFitsSharedMemoryAndCoversTheOutput) {
  struct Layer {
    ConvDesc desc;
    Dims4 in;
  };
  const ConvDesc aspp = aspp_d12();
  const ConvDesc dcgan = dcgan_g2();
  ConvDesc depthwise = conv_desc(true, 32, 32, 32, 3, 3, 2);  // stride 3, dilation 2: taps step by 3
  ConvDesc strided = conv_desc(false, 3, 40, 1, 5, 2, 1);
  ConvDesc wavenet{.c_in = 64, .c_out = 64, .kh = 1, .kw = 2, .dil_w = 64, .pad_left = 64};
  // Channel tiles share a workgroup where the spatial block is small: dcgan_g2's layer on a 4 x 4
  // input has 4 x 4 positions per phase (4 lanes) and 16 tiles of 16 channels.
  {
    DeviceCaps caps;
    caps.shared_staging = true;
    auto plan = plan_dispatches(dcgan, Dims4{1, 512, 4, 4}, dcgan.output_dims(Dims4{1, 512, 4, 4}), caps);
    ASSERT_TRUE(plan.ok()) << plan.status().to_string();
    EXPECT_GE(plan->front().spec[0].value, 32u) << "lanes per workgroup";
    EXPECT_GT(spec_of(plan->front(), 26), 1u) << "channel tiles per workgroup";
  }
  const std::vector<Layer> layers = {{aspp, {1, 256, 64, 64}},      {dcgan, {1, 512, 8, 8}},
                                     {dcgan, {2, 512, 4, 4}},
                                     {depthwise, {2, 32, 9, 37}},   {strided, {1, 3, 50, 71}},
                                     {wavenet, {1, 64, 1, 16000}}};
  for (uint64_t target_lanes : {0ull, 65536ull, 1ull << 40})
  for (uint32_t shared_memory : {16384u, 49152u, 4096u})
  for (auto [workgroup, batch] : {std::pair{64u, 8u}, std::pair{256u, 1u}, std::pair{32u, 32u}, std::pair{1024u, 3u}})
  for (auto [co_first, loop] : {std::pair{1u, StagedLoop::rounds}, std::pair{4u, StagedLoop::prefetch},
                                std::pair{64u, StagedLoop::rounds}}) {
    DeviceCaps caps;
    caps.staged_co_first = co_first;
    caps.staged_loop = loop;
    caps.max_workgroup_size[0] = caps.max_workgroup_invocations = 256;
    caps.staged_workgroup = workgroup;
    caps.stage_batch = batch;
    caps.subgroup_size = 32;
    caps.subgroup_broadcast = caps.weight_texels = caps.input_texels = true;
    caps.shared_staging = true;
    caps.max_shared_memory = shared_memory;
    caps.staged_target_lanes = target_lanes;
    for (const Layer& l : layers) {
      const ConvDesc& d = l.desc;
      SCOPED_TRACE(std::string(d.transposed ? "conv_transpose" : "conv") + " k " + std::to_string(d.kw) +
                   " s " + std::to_string(d.stride_w) + " d " + std::to_string(d.dil_w) + ", shared memory " +
                   std::to_string(shared_memory) + ", target lanes " + std::to_string(target_lanes) +
                   ", workgroup " + std::to_string(workgroup) + ", batch " + std::to_string(batch) +
                   ", channel tiles first " + std::to_string(co_first) + ", loop " +
                   std::to_string(static_cast<int>(loop)));
      const Dims4 out = d.output_dims(l.in);
      auto plan = plan_dispatches(d, l.in, out, caps);
      ASSERT_TRUE(plan.ok()) << plan.status().to_string();
      expect_within_caps(*plan, caps, "staged");
      const Dispatch& front = plan->front();
      ASSERT_EQ(spec_of(front, 20), 1u);
      const uint32_t co_tile = spec_of(front, 9), pos_tile = spec_of(front, 10), chunk = spec_of(front, 21),
                     lanes_x = spec_of(front, 22), rows = spec_of(front, 23), cols = spec_of(front, 24),
                     taps = spec_of(front, 25), co_lanes = spec_of(front, 26);
      EXPECT_LE(co_tile * pos_tile, 64u) << "accumulators per lane";
      EXPECT_GE(chunk, 1u);
      EXPECT_LE(chunk, 16u);
      const uint64_t co_vec4 = (co_tile + 3) / 4 * 4;  // w_tile holds vec4s of output channels
      EXPECT_LE(4ull * chunk * (uint64_t(rows) * cols + uint64_t(taps) * co_lanes * co_vec4),
                std::min(shared_memory, 16384u));
      EXPECT_EQ(front.spec[0].value, lanes_x * rows * co_lanes);
      EXPECT_LE(front.spec[0].value, std::min(workgroup, 256u)) << "lanes per workgroup";
      // A staging round loads at most caps.stage_batch elements per lane, and no more than the
      // larger of the two tiles needs, so every round but the last is full.
      const uint32_t stage_batch = spec_of(front, 28);
      const uint64_t lanes = front.spec[0].value;
      const uint64_t per_lane = (std::max(uint64_t(chunk) * rows * cols, uint64_t(taps) * chunk * co_lanes * co_tile) +
                                 lanes - 1) / lanes;
      EXPECT_EQ(stage_batch, std::min<uint64_t>(batch, per_lane));
      // Prefetched tiles (PREFETCH, X_REGS, W_REGS): every element of both tiles has a register
      // of some lane, no lane holds a register past them, and at most 64 registers per lane; the
      // loop stages in rounds where the tiles need more.
      const uint64_t x_elems = uint64_t(chunk) * rows * cols, w_elems = uint64_t(taps) * chunk * co_lanes * co_tile;
      const uint64_t x_regs = (x_elems + lanes - 1) / lanes, w_regs = (w_elems + lanes - 1) / lanes;
      const bool prefetch = loop == StagedLoop::prefetch && x_regs + w_regs <= 64;
      EXPECT_EQ(spec_of(front, 29), prefetch ? 1u : 0u);
      EXPECT_EQ(spec_of(front, 30), prefetch ? x_regs : 1u);
      EXPECT_EQ(spec_of(front, 31), prefetch ? w_regs : 1u);
      // Channel tiles first: as many as asked and the layer has, unless the shared-memory budget
      // took them back (it shrinks the channel chunk to 1 before the channel tiles).
      const uint32_t co_all = std::bit_ceil(uint32_t(co_tiles_of(d, co_tile)));
      if (chunk > 1) EXPECT_GE(co_lanes, std::min({co_first, co_all, std::min(workgroup, 256u)}));
      // Workgroup z covers every channel tile of every (n, group[, phase]).
      const uint64_t co_tiles = (d.c_out / d.groups + co_tile - 1) / co_tile;
      uint64_t z = 0;
      for (const Dispatch& part : *plan) z += part.groups[2];
      EXPECT_EQ(z, uint64_t(l.in.n) * d.groups * ((co_tiles + co_lanes - 1) / co_lanes) *
                       (d.transposed ? d.stride_h * d.stride_w : 1));
      // The grid covers every output row and position of a launch (per stride phase).
      const int64_t sh = d.transposed ? d.stride_h : 1, sw = d.transposed ? d.stride_w : 1;
      EXPECT_GE(int64_t(front.groups[1]) * rows, (out.h + sh - 1) / sh);
      EXPECT_GE(int64_t(front.groups[0]) * lanes_x * pos_tile, (out.w + sw - 1) / sw);
      // Columns read by the block: conv position P, tap t reads P * SW + t * DW; conv_transpose
      // (taps of a phase step by SW / gcd(SW, DW), columns by DW / gcd) P + m * DW / gcd.
      const int64_t block = int64_t(lanes_x) * pos_tile;
      int64_t span = 0, phase_taps = d.kw;
      if (d.transposed) {
        const int64_t g = std::gcd(d.stride_w, d.dil_w);
        phase_taps = (d.kw + d.stride_w / g - 1) / (d.stride_w / g);
        span = block + (phase_taps - 1) * (d.dil_w / g);
      } else {
        span = (block - 1) * d.stride_w + (d.kw - 1) * d.dil_w + 1;
      }
      EXPECT_GE(int64_t(cols), span);
      EXPECT_GE(int64_t(taps), phase_taps);
      // None of the register path's variants.
      EXPECT_EQ(spec_of(front, 14), 1u);  // W_SHARE
      EXPECT_EQ(spec_of(front, 15), 0u);  // W_TEXELS
      EXPECT_EQ(spec_of(front, 16), 0u);  // X_TEXELS
      EXPECT_EQ(spec_of(front, 17), 0u);  // Y_VEC4
      EXPECT_EQ(spec_of(front, 18), 0u);  // W_PHASES_INSIDE
    }
  }
  DeviceCaps caps;
  caps.shared_staging = true;
  ConvDesc far = wavenet;
  far.kw = 3, far.dil_w = 3000, far.pad_left = 6000;  // 6001 columns for one channel and position
  auto fallback = plan_dispatches(far, Dims4{1, 64, 1, 9000}, far.output_dims(Dims4{1, 64, 1, 9000}), caps);
  ASSERT_TRUE(fallback.ok()) << fallback.status().to_string();
  EXPECT_EQ(spec_of(fallback->front(), 20), 0u);
  EXPECT_EQ(spec_of(fallback->front(), 24), 1u);  // COLS: the unused tile takes one word
  EXPECT_EQ(spec_of(fallback->front(), 28), 1u);  // STAGE_BATCH: one unused word per round
  EXPECT_EQ(spec_of(fallback->front(), 29), 0u);  // PREFETCH
  EXPECT_EQ(spec_of(fallback->front(), 30), 1u);  // X_REGS, W_REGS: one unused word each
  EXPECT_EQ(spec_of(fallback->front(), 31), 1u);
  caps.shared_staging = false;
  auto registers = plan_dispatches(aspp, Dims4{1, 256, 64, 64}, Dims4{1, 256, 64, 64}, caps);
  ASSERT_TRUE(registers.ok());
  EXPECT_EQ(spec_of(registers->front(), 20), 0u);
}

// Staged launches of few outputs give each lane fewer positions, down to 16 accumulators (4
// positions for 1-2 channel tiles), until the launch has caps.staged_target_lanes lanes; the
// channel tile (the packed weights' layout) never changes.
TEST(VulkanDispatchPlan, ConvStagingShrinksPositionsPerLaneToFillTheDevice) {
  const ConvDesc aspp = aspp_d12();
  const ConvDesc dcgan = dcgan_g2();
  const ConvDesc fsrcnn = fsrcnn_x3();
  const ConvDesc frame = frame_up();
  struct Expect {
    ConvDesc desc;
    Dims4 in;
    uint32_t co_tile, pos_none, pos_gpu;
  };
  // 65536 outputs (dcgan_g2): 16 x 1 gives 4096 lanes, the fewest accumulators allowed; aspp_d12's
  // 2^20 outputs reach 65536 lanes at 16 x 1; frame_up's 4.1 M at 8 x 4; fsrcnn_x3 stops at 1 x 4.
  for (const Expect& e : {Expect{dcgan, {1, 512, 8, 8}, 16, 4, 1}, Expect{aspp, {1, 256, 64, 64}, 16, 4, 1},
                          Expect{frame, {1, 16, 270, 480}, 8, 8, 4}, Expect{fsrcnn, {1, 56, 96, 96}, 1, 16, 4},
                          Expect{dcgan, {64, 512, 32, 32}, 16, 4, 4}}) {
    SCOPED_TRACE("c_in " + std::to_string(e.desc.c_in) + " n " + std::to_string(e.in.n));
    for (uint64_t target : {0ull, 65536ull}) {
      DeviceCaps caps;
      caps.shared_staging = true;
      caps.max_shared_memory = 49152;
      caps.staged_target_lanes = target;
      auto plan = plan_dispatches(e.desc, e.in, e.desc.output_dims(e.in), caps);
      ASSERT_TRUE(plan.ok()) << plan.status().to_string();
      ASSERT_EQ(spec_of(plan->front(), 20), 1u);
      EXPECT_EQ(spec_of(plan->front(), 9), e.co_tile);
      EXPECT_EQ(spec_of(plan->front(), 10), target ? e.pos_gpu : e.pos_none) << "target " << target;
      EXPECT_EQ(packed_weight_count(e.desc, caps), packed_weight_count(e.desc, DeviceCaps{.shared_staging = true}));
    }
  }
}

// With split_reduction, a staged launch still under the target lanes at its smallest tiles splits
// its input channels (SPLIT, spec id 27) into the fewest powers of two that reach the target (at
// most 16, at most one per channel), the slices innermost in z, and a reduction pass follows that
// reads every slice; nothing splits without split_reduction or where the lanes suffice.
TEST(VulkanDispatchPlan, ConvSplitOverInputChannelsOnlyWhereTheLaunchIsTooSmall) {
  const ConvDesc aspp = aspp_d12();
  ConvDesc dcgan = dcgan_g2();
  dcgan.has_bias = true;
  const ConvDesc fsrcnn = fsrcnn_x3();
  ConvDesc thin = conv_desc(false, 3, 40, 1, 5, 2, 1);  // 3 input channels: at most 2 slices
  struct Expect {
    ConvDesc desc;
    Dims4 in;
    uint32_t split;
  };
  // dcgan_g2: 4096 lanes of 16 x 1 -> 16 slices; fsrcnn_x3: 20736 lanes of 1 x 4 -> 4; aspp_d12
  // already has 65536.
  for (const Expect& e : {Expect{dcgan, {1, 512, 8, 8}, 16}, Expect{fsrcnn, {1, 56, 96, 96}, 4},
                          Expect{aspp, {1, 256, 64, 64}, 1}, Expect{thin, {1, 3, 6, 20}, 2}}) {
    SCOPED_TRACE("c_in " + std::to_string(e.desc.c_in));
    for (bool enabled : {false, true}) {
      DeviceCaps caps;
      caps.shared_staging = true;
      caps.max_shared_memory = 49152;
      caps.staged_target_lanes = 65536;
      caps.split_reduction = enabled;
      const Dims4 out = e.desc.output_dims(e.in);
      auto plan = plan_dispatches(e.desc, e.in, out, caps);
      ASSERT_TRUE(plan.ok()) << plan.status().to_string();
      const uint32_t split = enabled ? e.split : 1u;
      EXPECT_EQ(spec_of(plan->front(), 27), split);
      const uint64_t out_count = uint64_t(out.n) * out.c * out.h * out.w;
      if (split == 1) {
        for (const Dispatch& d : *plan) {
          EXPECT_EQ(d.scratch_floats, 0u);
          EXPECT_NE(d.shader, shaders::ShaderId::conv_split_reduce);
        }
        continue;
      }
      EXPECT_EQ(plan->front().scratch_floats, split * out_count);
      const Dispatch& reduce = plan->back();
      ASSERT_EQ(reduce.shader, shaders::ShaderId::conv_split_reduce);
      EXPECT_TRUE(reduce.after_previous) << "the reduction reads what the slices wrote";
      EXPECT_EQ(spec_of(reduce, 3), split);
      EXPECT_EQ(spec_of(reduce, 6), e.desc.has_bias ? 1u : 0u);
      uint32_t words[3];
      std::memcpy(words, reduce.push.data(), sizeof(words));
      EXPECT_EQ(words[0], out_count);
      EXPECT_EQ(words[1], uint64_t(out.h) * out.w);
      EXPECT_EQ(words[2], uint64_t(out.c));
      EXPECT_GE(uint64_t(reduce.groups[0]) * reduce.groups[1] * reduce.spec[0].value, out_count);
      // Every (n, group, channel unit, phase) of the unsplit launch, once per slice.
      uint64_t z = 0;
      for (size_t i = 0; i + 1 < plan->size(); ++i) z += (*plan)[i].groups[2];
      DeviceCaps unsplit = caps;
      unsplit.split_reduction = false;
      auto whole = plan_dispatches(e.desc, e.in, out, unsplit);
      ASSERT_TRUE(whole.ok());
      uint64_t z1 = 0;
      for (const Dispatch& d : *whole) z1 += d.groups[2];
      EXPECT_EQ(z, z1 * split);
    }
  }
}

// With split_first the slices are chosen at the largest tile and the positions per lane shrink
// only for the lanes 16 slices leave short: aspp_d12 keeps 16 x 4 with 4 slices (16384 x 4 lanes)
// where the default takes 16 x 1 unsplit; dcgan_g2 ends as the default does (16 slices, 16 x 1);
// fsrcnn_x3 keeps 1 x 16 with 16 slices; frame_up 8 x 8 with 2. Without split_reduction the
// order does not matter: no slices.
TEST(VulkanDispatchPlan, ConvSplitFirstKeepsLargerTilesWhereSlicesFillTheDevice) {
  struct Expect {
    ConvDesc desc;
    Dims4 in;
    uint32_t pos_first, split_first, pos_after, split_after;
  };
  for (const Expect& e : {Expect{aspp_d12(), {1, 256, 64, 64}, 4, 4, 1, 1},
                          Expect{dcgan_g2(), {1, 512, 8, 8}, 1, 16, 1, 16},
                          Expect{fsrcnn_x3(), {1, 56, 96, 96}, 16, 16, 4, 4},
                          Expect{frame_up(), {1, 16, 270, 480}, 8, 2, 4, 1}}) {
    SCOPED_TRACE("c_in " + std::to_string(e.desc.c_in));
    for (bool first : {false, true}) {
      DeviceCaps caps;
      caps.shared_staging = true;
      caps.max_shared_memory = 49152;
      caps.staged_target_lanes = 65536;
      caps.split_reduction = true;
      caps.split_first = first;
      const Dims4 out = e.desc.output_dims(e.in);
      auto plan = plan_dispatches(e.desc, e.in, out, caps);
      ASSERT_TRUE(plan.ok()) << plan.status().to_string();
      EXPECT_EQ(spec_of(plan->front(), 10), first ? e.pos_first : e.pos_after) << "first " << first;
      EXPECT_EQ(spec_of(plan->front(), 27), first ? e.split_first : e.split_after) << "first " << first;
      caps.split_reduction = false;
      auto whole = plan_dispatches(e.desc, e.in, out, caps);
      ASSERT_TRUE(whole.ok());
      EXPECT_EQ(spec_of(whole->front(), 27), 1u);
      EXPECT_EQ(spec_of(whole->front(), 10), e.pos_after);
    }
  }
}

// max_unpool2d: the one-pass gather (PASS 3) only where the runtime found every index in its
// window and the windows tile the plane (kernel == stride, no padding); else the three passes.
TEST(VulkanDispatchPlan, UnpoolGatherOnlyForTilingWindowsAndCheckedIndices) {
  DeviceCaps caps;
  const Dims4 in{1, 2, 4, 4}, out{1, 2, 8, 8};
  auto passes = [&](MaxUnpool2dParams params, bool checked) {
    DeviceCaps c = caps;
    c.unpool_indices_in_window = checked;
    auto d = plan_dispatches(UnpoolDesc{params}, in, out, c);
    EXPECT_TRUE(d.ok());
    return d.ok() ? std::vector<uint32_t>{spec_of(d->front(), 3), static_cast<uint32_t>(d->size())}
                  : std::vector<uint32_t>{};
  };
  EXPECT_EQ(passes({.kernel = {2, 2}, .stride = {2, 2}}, true), (std::vector<uint32_t>{3, 1}));
  EXPECT_EQ(passes({.kernel = {2, 2}, .stride = {2, 2}}, false), (std::vector<uint32_t>{0, 3}));
  EXPECT_EQ(passes({.kernel = {3, 3}, .stride = {2, 2}, .padding = {1, 1}}, true), (std::vector<uint32_t>{0, 3}));
  EXPECT_EQ(passes({.kernel = {2, 2}, .stride = {1, 1}}, true), (std::vector<uint32_t>{0, 3}));
}

// pixel_shuffle's path (VEC_MODE, spec constant 7) is specialized, never a push constant: a
// driver that cannot resolve a branch at compile time (lavapipe) pays for every path's memory
// accesses. 2: vec4 loads and stores (2 <= r <= 4, input rows of whole vec4s), with a whole
// number of 4r-element groups per invocation (OUT_PER_INV, id 6); 1: vec4 stores; 0: scalar.
TEST(VulkanDispatchPlan, ShuffleVectorPathIsSpecialized) {
  DeviceCaps caps;
  struct Case {
    int64_t r, in_w;
    bool inverse;
    uint32_t mode;
  };
  for (const Case& c : {Case{2, 128, false, 2}, Case{3, 640, false, 2}, Case{4, 4, false, 2}, Case{1, 8, false, 1},
                        Case{5, 4, false, 1}, Case{2, 6, false, 1}, Case{3, 5, false, 0}, Case{2, 8, true, 1},
                        Case{2, 6, true, 0}}) {
    const int64_t r = c.r, w = c.in_w;
    const Dims4 in = c.inverse ? Dims4{1, 2, 3 * r, w} : Dims4{1, 2 * r * r, 3, w};
    const Dims4 out = c.inverse ? Dims4{1, 2 * r * r, 3, w / r} : Dims4{1, 2, 3 * r, w * r};
    auto d = plan_dispatches(ShuffleDesc{.factor = r, .inverse = c.inverse}, in, out, caps);
    ASSERT_TRUE(d.ok()) << d.status().to_string();
    EXPECT_EQ(spec_of(d->front(), 7), c.mode) << "r " << r << " in_w " << w << " inverse " << c.inverse;
    if (c.mode == 2) {
      EXPECT_EQ(spec_of(d->front(), 6) % (4 * r), 0u) << "r " << r;
    }
    if (c.mode == 1) {
      EXPECT_EQ(spec_of(d->front(), 6), 4u) << "r " << r;
    }
    // X_TEXELS (id 8): the vec4 loads read the input's texel view only where one is bound, and
    // only mode 2 has vec4 loads.
    EXPECT_EQ(spec_of(d->front(), 8), 0u);
    DeviceCaps texels = caps;
    texels.input_texels = true;
    auto t = plan_dispatches(ShuffleDesc{.factor = r, .inverse = c.inverse}, in, out, texels);
    ASSERT_TRUE(t.ok()) << t.status().to_string();
    EXPECT_EQ(spec_of(t->front(), 8), c.mode == 2 ? 1u : 0u) << "r " << r << " in_w " << w;
  }
}

TEST(VulkanDispatchPlan, RejectsTensorsBeyond32BitIndexing) {
  DeviceCaps caps;
  const Dims4 huge{1, 1, 70000, 70000};
  auto d = plan_dispatches(ResampleDesc{.factor_h = 1, .factor_w = 1}, huge, huge, caps);
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.status().code(), StatusCode::invalid_argument);
  EXPECT_NE(d.status().message().find("input"), std::string::npos) << d.status().message();
}

// Packed layout: [group][co tile][kh][kw][ci in group][co in tile], zeros in the padding of the
// last tile; every weight appears exactly once.
// Both tilings (register-tiled and staged) give a 3-channel group a tile of 4.
TEST(VulkanDispatchPlan, PackWeightPlacesEveryWeightOnce) {
  for (bool staged : {false, true})
  for (bool transposed : {false, true}) {
    DeviceCaps caps;
    caps.shared_staging = staged;
    ConvDesc c = conv_desc(transposed, 6, 9, 3, 2, 1, 1);
    c.kw = 3;
    std::vector<float> w(static_cast<size_t>(c.weight_count()));
    for (size_t i = 0; i < w.size(); ++i) w[i] = static_cast<float>(i + 1);
    const std::vector<float> packed = pack_weight(c, w.data(), caps);
    ASSERT_EQ(packed.size(), packed_weight_count(c, caps));
    std::vector<int> seen(w.size() + 1, 0);
    for (float v : packed) seen[static_cast<size_t>(v)]++;
    EXPECT_EQ(static_cast<size_t>(seen[0]), packed.size() - w.size()) << "padding must be zeros";
    for (size_t i = 1; i < seen.size(); ++i) EXPECT_EQ(seen[i], 1) << "weight " << i - 1;
    // Spot-check one element: group 1, tap (1, 2), ci 1, co 1 (cout_pg = 3: one tile of 4).
    const int64_t cin_pg = 2, cout_pg = 3, tile = static_cast<int64_t>(packed.size()) / (3 * 2 * 3 * cin_pg);
    ASSERT_EQ(tile, 4);
    const int64_t src = transposed ? (((1 * cin_pg + 1) * cout_pg + 1) * 2 + 1) * 3 + 2
                                   : (((1 * cout_pg + 1) * cin_pg + 1) * 2 + 1) * 3 + 2;
    const int64_t dst = (((1 * 2 + 1) * 3 + 2) * cin_pg + 1) * tile + 1;
    EXPECT_EQ(packed[static_cast<size_t>(dst)], w[static_cast<size_t>(src)]) << (transposed ? "transposed" : "conv");
  }
}

TEST(VulkanDispatchPlan, ShaderNamesMatchIds) {
  EXPECT_STREQ(shaders::name(shaders::ShaderId::conv_transpose), "conv_transpose");
  EXPECT_STREQ(shaders::name(shaders::ShaderId::pixel_shuffle), "pixel_shuffle");
  for (uint32_t i = 0; i < static_cast<uint32_t>(shaders::ShaderId::count); ++i)
    for (auto storage : {shaders::Storage::fp32, shaders::Storage::fp16})
      for (bool subgroups : {true, false}) {
        const auto s = shaders::spirv(static_cast<shaders::ShaderId>(i), storage, subgroups);
        ASSERT_NE(s.words, nullptr);
        ASSERT_GT(s.word_count, 5u);
        EXPECT_EQ(s.words[0], 0x07230203u) << "SPIR-V magic, shader " << shaders::name(static_cast<shaders::ShaderId>(i));
      }
}

// A launch with more workgroups along z than the device allows is cut into parts whose last
// push-constant word is their first z; only the first part waits on earlier dispatches.
TEST(VulkanDispatchPlan, LaunchesSplitAlongZAtTheDeviceLimit) {
  DeviceCaps caps;
  caps.max_workgroup_count[2] = 4;
  ConvDesc c = conv_desc(false, 10, 10, 10, 1, 1, 1);  // depthwise: z = n x groups = 10
  const Dims4 in{1, 10, 3, 3};
  auto parts = plan_dispatches(c, in, c.output_dims(in), caps);
  ASSERT_TRUE(parts.ok());
  ASSERT_EQ(parts->size(), 3u);
  const uint32_t want_groups[] = {4, 4, 2}, want_base[] = {0, 4, 8};
  for (size_t i = 0; i < 3; ++i) {
    const Dispatch& d = (*parts)[i];
    EXPECT_EQ(d.groups[2], want_groups[i]);
    uint32_t base = 0;
    std::memcpy(&base, d.push.data() + d.push_size - 4, 4);
    EXPECT_EQ(base, want_base[i]);
    EXPECT_EQ(d.after_previous, i == 0);
  }
  auto shuffle = plan_dispatches(ShuffleDesc{.factor = 2}, Dims4{3, 8, 2, 2}, Dims4{3, 2, 4, 4}, caps);
  ASSERT_TRUE(shuffle.ok());
  ASSERT_EQ(shuffle->size(), 2u);  // 6 planes
  EXPECT_EQ((*shuffle)[1].groups[2], 2u);
  expect_within_caps(*shuffle, caps, "shuffle");
}

// The conv shaders' W_SHARE spec constant (id 14): lanes sharing one weight load through
// subgroupBroadcast. Without subgroup ballot it must be 1 (the no-subgroup variant ignores it).
uint32_t weight_share_of(const Dispatch& d) {
  for (const auto& c : d.spec)
    if (c.id == 14) return c.value;
  return 0;
}

TEST(VulkanDispatchPlan, NoWeightSharingWithoutSubgroupBallot) {
  DeviceCaps caps;
  caps.subgroup_size = 32;
  const Dims4 in{1, 16, 8, 8};
  for (bool transposed : {false, true}) {
    ConvDesc c = conv_desc(transposed, 16, 64, 1, 3, 1, 1);
    caps.subgroup_broadcast = true;
    auto with = plan_dispatches(c, in, c.output_dims(in), caps);
    ASSERT_TRUE(with.ok());
    EXPECT_EQ(weight_share_of(with->front()), 8u);
    caps.subgroup_broadcast = false;
    auto without = plan_dispatches(c, in, c.output_dims(in), caps);
    ASSERT_TRUE(without.ok());
    EXPECT_EQ(weight_share_of(without->front()), 1u);
  }
}

// Weights through the texel view (W_TEXELS, id 15): 4 channels per texel where the channel tile
// is a multiple of 4, else 1; and then no subgroup sharing (every lane fetches for itself).
TEST(VulkanDispatchPlan, WeightTexelsReplaceSubgroupSharing) {
  DeviceCaps caps;
  caps.subgroup_size = 8;
  caps.subgroup_broadcast = true;
  const Dims4 in{1, 16, 8, 8};
  for (bool transposed : {false, true}) {
    for (int64_t c_out : {1, 2, 3, 8, 64}) {
      ConvDesc c = conv_desc(transposed, 16, c_out, 1, 3, 1, 1);
      const uint32_t channels = weight_texel_channels(c, caps);
      EXPECT_EQ(channels, c_out >= 3 ? 4u : 1u) << c_out;  // channel tile: c_out rounded up to 2^k, <= 32
      caps.weight_texels = false;
      auto buffer = plan_dispatches(c, in, c.output_dims(in), caps);
      ASSERT_TRUE(buffer.ok());
      EXPECT_EQ(spec_of(buffer->front(), 15), 0u);
      caps.weight_texels = true;
      auto texels = plan_dispatches(c, in, c.output_dims(in), caps);
      ASSERT_TRUE(texels.ok());
      EXPECT_EQ(spec_of(texels->front(), 15), channels);
      EXPECT_EQ(weight_share_of(texels->front()), 1u);
    }
  }
}

// Inputs as texels (X_TEXELS, id 16) only where an invocation's input columns are consecutive:
// every conv_transpose, and conv with stride 1 along W (strided conv reads every s-th column).
TEST(VulkanDispatchPlan, InputTexelsOnlyForConsecutiveColumns) {
  DeviceCaps caps;
  const Dims4 in{1, 4, 9, 9};
  for (bool transposed : {false, true})
    for (int64_t s : {1, 2, 3}) {
      ConvDesc c = conv_desc(transposed, 4, 8, 1, 3, s, 1);
      for (bool texels : {false, true}) {
        caps.input_texels = texels;
        auto d = plan_dispatches(c, in, c.output_dims(in), caps);
        ASSERT_TRUE(d.ok());
        EXPECT_EQ(spec_of(d->front(), 16), texels && (transposed || s == 1) ? 1u : 0u)
            << "transposed " << transposed << " stride " << s;
      }
    }
}

// OpCapability operands of a SPIR-V module.
std::vector<uint32_t> capabilities(const shaders::Spirv& s) {
  std::vector<uint32_t> caps;
  for (size_t i = 5; i < s.word_count;) {
    const uint32_t count = s.words[i] >> 16, opcode = s.words[i] & 0xffffu;
    if (count == 0) break;
    if (opcode == 17 && count >= 2) caps.push_back(s.words[i + 1]);  // OpCapability
    i += count;
  }
  return caps;
}

TEST(VulkanDispatchPlan, NoSubgroupVariantsDeclareNoSubgroupCapability) {
  constexpr uint32_t kGroupNonUniformBallot = 64;
  for (auto id : {shaders::ShaderId::conv, shaders::ShaderId::conv_transpose})
    for (auto storage : {shaders::Storage::fp32, shaders::Storage::fp16}) {
      const auto with = capabilities(shaders::spirv(id, storage, true));
      const auto without = capabilities(shaders::spirv(id, storage, false));
      EXPECT_NE(std::find(with.begin(), with.end(), kGroupNonUniformBallot), with.end()) << shaders::name(id);
      EXPECT_EQ(std::find(without.begin(), without.end(), kGroupNonUniformBallot), without.end()) << shaders::name(id);
    }
}

}  // namespace
}  // namespace upconv::detail::vk

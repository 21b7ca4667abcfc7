// Every operator through the public API on Vulkan (lavapipe, validation layer on) against the
// scalar reference: the shaders in shaders/ and their dispatch planning
// (runtime/vulkan/dispatch_plan.cpp). Shapes sit at the shaders' tile and workgroup edges:
//   conv / conv_transpose: CO_TILE output channels (a power of two <= 32) x POS_TILE = 8
//     positions per invocation, 8..64 invocations per workgroup, workgroup z = (n, group,
//     channel tile[, phase]), weights shared across 8-lane subgroups; so channel counts around
//     8/16/32, widths +-1 around multiples of 8 (per stride phase for conv_transpose), and layers
//     with more than one workgroup in every dimension;
//   permutations: 4 consecutive outputs per invocation, 64 per workgroup.
// A context that cannot be created FAILS the test (CI has lavapipe); nothing is skipped.
//
// Tolerances, |got - ref| <= tol * (1 + |ref|):
//   fp32 conv ops 1e-4 (OpCase default; fp32 accumulation in another order than the
//   double-accumulating reference); fp32 permutations bit-exact (0).
//   fp16 storage: input, weight, bias and output are each rounded to fp16 (relative error
//   2^-11 ~ 4.9e-4 each) and accumulation is fp32. For a dot product of K terms with operands in
//   [-1, 1) the rounding error of the operands adds up like a random walk, ~ 1e-3 * sqrt(K) *
//   E|w x| <= 1e-3 * sqrt(K) / 3, plus 4.9e-4 * |ref| for the output rounding. K <= 600 in
//   these cases gives ~ 8e-3 relative to (1 + |ref|); we allow 2e-2 for the tail.
//   fp16 permutations only round each value once: 1e-3.
#include <gtest/gtest.h>

#include <cstdlib>
#include <memory>
#include <tuple>
#include <vector>

#include "op_case.hpp"
#include "vulkan_test_device.hpp"
#include "runtime/vulkan/vk_backend_access.hpp"
#include "runtime/vulkan/vk_device.hpp"
#include "upconv/upconv.hpp"

namespace upconv {
namespace {

using testing::OpCase;

constexpr double kFp16ConvTolerance = 2e-2;
constexpr double kFp16CopyTolerance = 1e-3;
// Tests of index math (stride/kernel/dilation/padding combinations) run in fp32 only: the storage
// type does not change the indexing, and each case costs a pipeline compile per precision. fp16
// runs on the tile-edge, group, 1-D, multi-workgroup, activation and permutation tests.
constexpr bool kFp32Only = false;  // check_all(cases, kFp32Only)

// One lavapipe context per precision for the whole suite (context creation costs ~100 ms).
std::unique_ptr<Context> g_contexts[2];

// Destroys the shared contexts when the tests end, before exit: Mesa stops lavapipe's worker
// threads in an atexit handler, so a device destroyed later by a static destructor crashes.
class ReleaseContexts : public ::testing::Environment {
 public:
  void TearDown() override {
    for (auto& c : g_contexts) c.reset();
  }
};
[[maybe_unused]] const ::testing::Environment* const kReleaseContexts =
    ::testing::AddGlobalTestEnvironment(new ReleaseContexts);

Context& context(Precision precision) {
  auto& slot = g_contexts[precision == Precision::fp16 ? 1 : 0];
  if (!slot) {
    ContextOptions o;
    o.backend = BackendKind::vulkan;
    o.vulkan_device = testing::vulkan_test_device();
    o.vulkan_validation = true;
    o.precision = precision;
    auto ctx = Context::create(o);
    if (!ctx.ok()) {
      ADD_FAILURE() << "Vulkan context on " << testing::vulkan_test_device() << " (" << to_string(precision)
                    << "): " << ctx.status().to_string();
      std::abort();  // every test needs it; the failure above says why
    }
    slot = std::make_unique<Context>(std::move(ctx).value());
    EXPECT_EQ(slot->backend(), BackendKind::vulkan) << slot->description();
  }
  return *slot;
}

// Random sweeps run this many cases per op (UPCONV_TEST_SWEEP_CASES scales them up for a longer
// local fuzz; CI keeps the default). Seeds past the default are new cases, not repeats.
uint64_t sweep_cases() {
  const char* env = std::getenv("UPCONV_TEST_SWEEP_CASES");
  const long n = env ? std::strtol(env, nullptr, 10) : 0;
  return n > 0 ? static_cast<uint64_t>(n) : 12;
}

uint64_t validation_messages(Precision precision) {
  auto* dev = detail::vk::device_of(context(precision));
  return dev ? dev->validation_message_count() : ~uint64_t{0};
}

bool is_copy(const OpCase& c) {
  return c.kind() != testing::OpKind::conv && c.kind() != testing::OpKind::conv_transpose;
}

// Runs every case in fp32 and fp16 with the tolerances above; no validation message allowed.
void check_all(const std::vector<OpCase>& cases, bool fp16 = true) {
  for (Precision precision : {Precision::fp32, Precision::fp16}) {
    if (precision == Precision::fp16 && !fp16) continue;
    const uint64_t before = validation_messages(precision);
    for (OpCase c : cases) {
      if (precision == Precision::fp32 && is_copy(c)) c.tolerance(0.0);
      if (precision == Precision::fp16) c.tolerance(is_copy(c) ? kFp16CopyTolerance : kFp16ConvTolerance);
      EXPECT_TRUE(c.check(context(precision))) << "precision " << to_string(precision);
    }
    EXPECT_EQ(validation_messages(precision), before) << "validation layer messages (" << to_string(precision) << ")";
  }
}

// The conv shaders share weight loads through subgroupBroadcast where the device has subgroup
// ballot (lavapipe has: that path must be tested), and use their variant without subgroup
// operations when UPCONV_VULKAN_NO_SUBGROUPS is set (the VulkanOpsWithoutSubgroups ctest run,
// which also sets UPCONV_TEST_EXPECT_NO_SUBGROUPS so that this test fails if the switch is lost).
TEST(VulkanOps, SubgroupUseFollowsTheDeviceAndTheEnvironment) {
  auto* dev = detail::vk::device_of(context(Precision::fp32));
  ASSERT_NE(dev, nullptr);
  if (testing::vulkan_test_device_is_lavapipe()) {
    EXPECT_TRUE(dev->properties().subgroup_ballot) << "lavapipe reports subgroup ballot in compute shaders";
  }
  const char* off = std::getenv("UPCONV_VULKAN_NO_SUBGROUPS");
  const bool forced_off = off && *off && std::string(off) != "0";
  EXPECT_EQ(dev->subgroup_broadcast(), dev->properties().subgroup_ballot && !forced_off);
  if (std::getenv("UPCONV_TEST_EXPECT_NO_SUBGROUPS")) {
    EXPECT_FALSE(dev->subgroup_broadcast());
  }
}

// Weights through texels on CPU-type devices (lavapipe) unless UPCONV_VULKAN_READS says
// otherwise; ctest runs the conv tests once per path (see tests/CMakeLists.txt).
TEST(VulkanOps, WeightPathFollowsTheDeviceAndTheEnvironment) {
  auto* dev = detail::vk::device_of(context(Precision::fp32));
  ASSERT_NE(dev, nullptr);
  const char* env = std::getenv("UPCONV_VULKAN_READS");
  const std::string choice = env ? env : "";
  const bool cpu_type = dev->properties().core.deviceType == VK_PHYSICAL_DEVICE_TYPE_CPU;
  if (testing::vulkan_test_device_is_lavapipe()) {
    EXPECT_TRUE(cpu_type) << "lavapipe is a CPU-type device";
  }
  EXPECT_EQ(dev->texel_reads(), choice == "texel" || (choice.empty() && cpu_type));
}

// Conv tiles staged in shared memory on GPUs, not on CPU-type devices, unless
// UPCONV_VULKAN_STAGING says otherwise: the VulkanOpsSharedStaging ctest run forces it on
// lavapipe and sets UPCONV_TEST_EXPECT_SHARED_STAGING, so that it fails if the switch is lost.
TEST(VulkanOps, StagingFollowsTheDeviceAndTheEnvironment) {
  auto* dev = detail::vk::device_of(context(Precision::fp32));
  ASSERT_NE(dev, nullptr);
  const char* env = std::getenv("UPCONV_VULKAN_STAGING");
  const std::string choice = env ? env : "";
  const bool cpu_type = dev->properties().core.deviceType == VK_PHYSICAL_DEVICE_TYPE_CPU;
  EXPECT_EQ(dev->shared_staging(), choice == "shared" || (choice.empty() && !cpu_type));
  if (std::getenv("UPCONV_TEST_EXPECT_SHARED_STAGING")) {
    EXPECT_TRUE(dev->shared_staging());
  }
  // Lanes a staged launch aims for (smaller register tiles below it): the
  // VulkanOpsSharedStagingSmallTiles run sets a count no test layer reaches.
  const char* lanes = std::getenv("UPCONV_VULKAN_STAGED_LANES");
  EXPECT_EQ(dev->staged_target_lanes(), lanes ? std::strtoull(lanes, nullptr, 10) : cpu_type ? 0u : 65536u);
  // Split over input channels: on unless UPCONV_VULKAN_SPLIT=none (VulkanOpsSharedStagingSmallTiles).
  const char* split = std::getenv("UPCONV_VULKAN_SPLIT");
  EXPECT_EQ(dev->split_reduction(), !split || std::string(split) != "none");
  EXPECT_EQ(dev->split_first(), split && std::string(split) == "first");
  // Staging rounds and workgroup bound (VulkanOpsSharedStagingWideWorkgroups sets both).
  const char* batch = std::getenv("UPCONV_VULKAN_STAGE_BATCH");
  EXPECT_EQ(dev->stage_batch(), batch ? std::strtoul(batch, nullptr, 10) : 8u);
  const char* wg = std::getenv("UPCONV_VULKAN_STAGED_WG");
  EXPECT_EQ(dev->staged_workgroup(), wg ? std::strtoul(wg, nullptr, 10) : 128u);
  // Channel tiles first and the staged loop (VulkanOpsSharedStagingWideWorkgroups: 4 tiles
  // first, rounds).
  const char* co_first = std::getenv("UPCONV_VULKAN_STAGED_CO");
  EXPECT_EQ(dev->staged_co_first(), co_first ? std::strtoul(co_first, nullptr, 10) : 2u);
  const char* loop_env = std::getenv("UPCONV_VULKAN_STAGED_LOOP");
  const std::string loop = loop_env ? loop_env : "prefetch";
  EXPECT_EQ(dev->staged_loop(), loop == "rounds" ? detail::vk::StagedLoop::rounds : detail::vk::StagedLoop::prefetch);
}

// ---------------------------------------------------------------------------------------------
// conv_transpose

TEST(VulkanOps, ConvTransposeStrideKernelCombinations) {
  std::vector<OpCase> cases;
  uint64_t seed = 100;
  for (int k : {1, 3, 4})
    for (int s : {1, 2, 3})
      cases.push_back(OpCase::conv_transpose2d().channels(3, 5).input(6, 7).kernel(k).stride(s).bias(true).seed(seed++));
  // stride > kernel: some phases have no tap at all (bias only).
  cases.push_back(OpCase::conv_transpose2d().channels(2, 3).input(5, 4).kernel(2).stride(4).bias(true).seed(seed++));
  cases.push_back(OpCase::conv_transpose2d().channels(2, 3).input(4, 5).kernel(1, 3).stride(3, 5).seed(seed++));
  check_all(cases, kFp32Only);
}

TEST(VulkanOps, ConvTransposeDilationPaddingOutputPadding) {
  std::vector<OpCase> cases;
  uint64_t seed = 200;
  for (int d : {2, 3})
    for (int s : {1, 2, 4})
      cases.push_back(OpCase::conv_transpose2d().channels(3, 4).input(5, 6).kernel(3).stride(s).dilation(d)
                          .padding(1).bias(true).seed(seed++));
  // gcd(stride, dilation) > 1: some phases get no tap.
  cases.push_back(OpCase::conv_transpose2d().channels(2, 2).input(5, 5).kernel(3).stride(4).dilation(2).seed(seed++));
  cases.push_back(OpCase::conv_transpose2d().channels(2, 3).input(6, 5).kernel(4, 3).stride(2, 3).dilation(3, 2)
                      .pad(0, 2, 3, 1).output_padding(1, 2).bias(true).seed(seed++));
  // Asymmetric crop, output_padding on both axes (rows past the full output get bias only).
  cases.push_back(OpCase::conv_transpose2d().channels(4, 3).input(7, 9).kernel(3).stride(2).pad(2, 0, 0, 1)
                      .output_padding(1, 1).bias(true).seed(seed++));
  cases.push_back(OpCase::conv_transpose2d().channels(2, 2).input(3, 3).kernel(9).stride(3).padding(4)
                      .output_padding(2).bias(true).seed(seed++));  // fsrcnn-like
  check_all(cases, kFp32Only);
}

TEST(VulkanOps, ConvTransposeTileEdges) {
  std::vector<OpCase> cases;
  uint64_t seed = 300;
  // c_out per group 1..9, 15..17 (CO_TILE 1, 2, 4, 8 with remainders); widths per phase around
  // POS_TILE 4 and 8.
  for (int c_out : {1, 3, 5, 8, 9, 17, 33})
    for (int w : {4, 8, 9})
      cases.push_back(OpCase::conv_transpose2d().channels(3, c_out).input(2, w).kernel(4).stride(2).padding(1)
                          .bias(c_out % 2 == 1).seed(seed++));
  // Every W phase in one invocation with vec4 stores (narrow channel tiles, output widths of whole
  // vec4s): strides 1, 2, 4, phases without taps (kernel < stride), crops and output padding.
  for (auto [k, s, pb, pe, op] : {std::tuple{3, 1, 1, 1, 0}, {4, 2, 1, 1, 0}, {2, 2, 0, 0, 0}, {8, 4, 2, 2, 0},
                                  {2, 4, 0, 0, 2}, {3, 4, 1, 0, 2}, {5, 2, 2, 1, 0}})
    for (int w : {3, 8, 13})
      cases.push_back(OpCase::conv_transpose2d().channels(3, 6).input(3, w).kernel(3, k).stride(2, s)
                          .pad(1, pb, 1, pe).output_padding(1, op).bias(true).seed(seed++));
  check_all(cases);
}

TEST(VulkanOps, ConvTransposeGroupsDepthwise) {
  std::vector<OpCase> cases;
  uint64_t seed = 400;
  cases.push_back(OpCase::conv_transpose2d().channels(6, 4).input(7, 5).kernel(3).stride(2).pad(1, 0, 1, 2)
                      .output_padding(1, 0).groups(2).bias(true).seed(seed++));
  cases.push_back(OpCase::conv_transpose2d().channels(6, 9).input(5, 6).kernel(3).stride(2).dilation(2).groups(3)
                      .bias(true).seed(seed++));
  cases.push_back(OpCase::conv_transpose2d().channels(8, 8).input(9, 10).kernel(4).stride(2).padding(1).groups(8)
                      .bias(true).seed(seed++));  // depthwise
  cases.push_back(OpCase::conv_transpose2d().channels(5, 10).input(6, 6).kernel(3).stride(3).groups(5).seed(seed++));
  check_all(cases);
}

TEST(VulkanOps, ConvTranspose1d) {
  std::vector<OpCase> cases;
  uint64_t seed = 500;
  cases.push_back(OpCase::conv_transpose1d().channels(4, 6).input(17).kernel(4).stride(2).padding(1).bias(true).seed(seed++));
  cases.push_back(OpCase::conv_transpose1d().channels(3, 2).input(9).kernel(3).stride(3).dilation(2).pad(1, 2)
                      .output_padding(1).seed(seed++));
  cases.push_back(OpCase::conv_transpose1d().channels(4, 4).input(33).kernel(5).stride(4).groups(4).bias(true).seed(seed++));
  check_all(cases);
}

TEST(VulkanOps, ConvTransposeMultiWorkgroup) {
  // > 64 invocations in x (rows x tiles), several in y via batch/groups/tiles in z.
  std::vector<OpCase> cases;
  cases.push_back(OpCase::conv_transpose2d().batch(2).channels(16, 17).input(23, 37).kernel(4).stride(2).padding(1)
                      .bias(true).activation(Activation::relu).seed(600));
  cases.push_back(OpCase::conv_transpose2d().channels(9, 3).input(45, 70).kernel(9).stride(3).padding(4)
                      .output_padding(2).bias(true).seed(601));
  cases.push_back(OpCase::conv_transpose2d().batch(3).channels(12, 12).input(40, 41).kernel(4).stride(2).padding(1)
                      .groups(12).seed(602));
  check_all(cases);
}

// ---------------------------------------------------------------------------------------------
// conv

TEST(VulkanOps, ConvStrideDilationPadding) {
  std::vector<OpCase> cases;
  uint64_t seed = 700;
  for (auto [k, s, d] : {std::tuple{1, 1, 1}, {3, 1, 1}, {3, 2, 1}, {3, 1, 2}, {3, 2, 3}, {2, 3, 2}, {5, 1, 3}, {5, 2, 1}})
    cases.push_back(OpCase::conv2d().channels(3, 5).input(11, 12).kernel(k).stride(s).dilation(d)
                        .padding(k / 2 * d).bias(true).seed(seed++));
  cases.push_back(OpCase::conv2d().channels(2, 3).input(9, 10).kernel(3, 2).stride(2, 3).dilation(2, 3)
                      .pad(0, 3, 4, 1).seed(seed++));
  // Padding larger than the kernel reach: whole output rows/columns see only zeros (bias only).
  cases.push_back(OpCase::conv2d().channels(2, 2).input(4, 4).kernel(2).pad(3, 3, 3, 3).bias(true).seed(seed++));
  // Stride > kernel.
  cases.push_back(OpCase::conv2d().channels(3, 4).input(13, 14).kernel(2).stride(3).seed(seed++));
  check_all(cases, kFp32Only);
}

TEST(VulkanOps, ConvTileEdgesGroupsDepthwise1d) {
  std::vector<OpCase> cases;
  uint64_t seed = 800;
  // Widths of whole vec4s take the vec4 stores (Y_VEC4): 4 and 12 end inside a POS_TILE of 8.
  for (int c_out : {1, 3, 7, 8, 17, 33})
    for (int w : {4, 7, 8, 9, 12, 20})
      cases.push_back(OpCase::conv2d().channels(2, c_out).input(3, w).kernel(3).padding(1).bias(c_out % 2 == 0)
                          .seed(seed++));
  cases.push_back(OpCase::conv2d().channels(6, 4).input(8, 9).kernel(3).groups(2).dilation(2).padding(2).bias(true)
                      .seed(seed++));
  cases.push_back(OpCase::conv2d().channels(8, 8).input(10, 11).kernel(3).groups(8).stride(2).padding(1).seed(seed++));
  cases.push_back(OpCase::conv2d().channels(4, 12).input(7, 7).kernel(3).groups(4).seed(seed++));
  cases.push_back(OpCase::conv1d().channels(4, 5).input(40).kernel(2).dilation(8).bias(true).seed(seed++));
  cases.push_back(OpCase::conv1d().channels(3, 3).input(21).kernel(3).stride(2).pad(2, 0).groups(3).seed(seed++));
  check_all(cases);
}

TEST(VulkanOps, ConvMultiWorkgroup) {
  std::vector<OpCase> cases;
  cases.push_back(OpCase::conv2d().batch(2).channels(16, 18).input(30, 33).kernel(3).dilation(4).padding(4)
                      .bias(true).activation(Activation::tanh).seed(900));
  cases.push_back(OpCase::conv1d().channels(8, 8).input(1000).kernel(2).dilation(64).bias(true).seed(901));
  check_all(cases);
}

// Kernels so widely dilated that one input channel of the smallest staged tile (4200+ columns)
// exceeds 16 KiB of shared memory: with staging on (VulkanOpsSharedStaging) the planner falls
// back to the register path with the staged tiling's channel tiles (16 x 4), which this covers.
TEST(VulkanOps, ConvWideDilationBeyondSharedMemory) {
  std::vector<OpCase> cases;
  cases.push_back(OpCase::conv1d().channels(3, 20).input(300).kernel(3).dilation(2100).padding(2100).bias(true)
                      .seed(950));
  cases.push_back(OpCase::conv_transpose1d().channels(20, 3).input(90).kernel(3).stride(2).dilation(4201).bias(true)
                      .seed(951));
  check_all(cases);
}

TEST(VulkanOps, EveryActivationBothConvs) {
  std::vector<OpCase> cases;
  uint64_t seed = 1000;
  for (Activation a : {Activation::none, Activation::relu, Activation::leaky_relu, Activation::sigmoid, Activation::tanh})
  {
    const bool bias = seed % 2 == 0;
    cases.push_back(OpCase::conv_transpose2d().channels(3, 4).input(5, 6).kernel(3).stride(2).bias(bias)
                        .activation(a, 0.2f).seed(seed++));
    cases.push_back(OpCase::conv2d().channels(3, 4).input(6, 5).kernel(3).padding(1).bias(!bias)
                        .activation(a, 0.05f).seed(seed++));
  }
  check_all(cases);
}

TEST(VulkanOps, RandomConvSweep) {
  std::vector<OpCase> cases;
  for (uint64_t s = 0; s < sweep_cases(); ++s) {
    cases.push_back(OpCase::random_conv(s < 12 ? 5000 + s : 1000000 + s));
    cases.push_back(OpCase::random_conv_transpose(s < 12 ? 6000 + s : 2000000 + s));
  }
  check_all(cases, kFp32Only);
}

// Launches with more workgroups along z than the device allows (lavapipe: 65535) run as several
// dispatches, each offset by its first z: batch x channels (x stride phases) is not capped.
TEST(VulkanOps, LaunchesBeyondTheWorkgroupCountLimitAreSplit) {
  auto* dev = detail::vk::device_of(context(Precision::fp32));
  ASSERT_NE(dev, nullptr);
  const int64_t z_limit = dev->limits().maxComputeWorkGroupCount[2];
  ASSERT_LE(z_limit, int64_t{1} << 20) << "test sized for a device limit of at most 2^20";
  const int64_t planes = z_limit + 3;
  std::vector<OpCase> cases;
  cases.push_back(OpCase::pixel_shuffle().channels(4 * planes).input(1, 1).factor(2).seed(1500));
  cases.push_back(OpCase::upsample_nearest2d().channels(planes).input(1, 2).seed(1501));
  // Depthwise: z = groups (one channel tile each), and x 4 stride phases for conv_transpose.
  cases.push_back(OpCase::conv2d().channels(planes, planes).groups(planes).kernel(1, 2).input(2, 3).seed(1502));
  const int64_t g = z_limit / 4 + 2;
  cases.push_back(
      OpCase::conv_transpose2d().channels(g, g).groups(g).kernel(2, 2).stride(2).input(1, 2).seed(1503));
  check_all(cases, kFp32Only);
}

// ---------------------------------------------------------------------------------------------
// permutations and copies

TEST(VulkanOps, PixelShuffleUnshuffle) {
  std::vector<OpCase> cases;
  uint64_t seed = 1100;
  for (ShuffleMode m : {ShuffleMode::crd, ShuffleMode::dcr})
    for (int r : {1, 2, 3}) {
      cases.push_back(OpCase::pixel_shuffle().batch(2).channels(3 * r * r).input(5, 7).factor(r).mode(m).seed(seed++));
      cases.push_back(OpCase::pixel_unshuffle().batch(2).channels(3).input(5 * r, 3 * r).factor(r).mode(m).seed(seed++));
    }
  // Output widths around the 4-per-invocation chunk, several workgroups.
  for (int w : {1, 2, 3, 4, 5, 33})
    cases.push_back(OpCase::pixel_shuffle().channels(8).input(19, w).factor(2).seed(seed++));
  cases.push_back(OpCase::pixel_unshuffle().channels(2).input(64, 66).factor(2).mode(ShuffleMode::dcr).seed(seed++));
  // Input widths of whole vec4s take the vector-load path for r <= 4 (r = 5: the scalar one);
  // rows shorter and longer than a workgroup, several rows per workgroup.
  for (ShuffleMode m : {ShuffleMode::crd, ShuffleMode::dcr})
    for (int r : {1, 2, 3, 4, 5})
      for (int w : {4, 8, 68})
        cases.push_back(OpCase::pixel_shuffle().batch(2).channels(2 * r * r).input(3, w).factor(r).mode(m).seed(seed++));
  check_all(cases);
}

TEST(VulkanOps, UpsampleNearestAndBedOfNails) {
  std::vector<OpCase> cases;
  uint64_t seed = 1200;
  for (auto [fh, fw] : {std::pair{1, 1}, {2, 2}, {3, 2}, {1, 4}, {5, 3}}) {
    cases.push_back(OpCase::upsample_nearest2d().batch(2).channels(3).input(7, 5).factor(fh, fw).seed(seed++));
    cases.push_back(OpCase::bed_of_nails2d().batch(2).channels(3).input(7, 5).factor(fh, fw).seed(seed++));
  }
  // Output widths of whole vec4s take the vec4 stores, for factors that divide 4 and one that does not.
  for (int fw : {1, 2, 3, 4}) {
    cases.push_back(OpCase::upsample_nearest2d().batch(2).channels(3).input(5, 12).factor(2, fw).seed(seed++));
    cases.push_back(OpCase::bed_of_nails2d().batch(2).channels(3).input(5, 12).factor(2, fw).seed(seed++));
  }
  cases.push_back(OpCase::upsample_nearest2d().channels(4).input(40, 37).factor(2).seed(seed++));
  cases.push_back(OpCase::bed_of_nails2d().channels(4).input(37, 40).factor(3).seed(seed++));
  check_all(cases);
}

TEST(VulkanOps, MaxUnpool) {
  std::vector<OpCase> cases;
  uint64_t seed = 1300;
  cases.push_back(OpCase::max_unpool2d().batch(2).channels(3).input(4, 5).seed(seed++));
  cases.push_back(OpCase::max_unpool2d().channels(2).input(5, 4).kernel(3).stride(2).padding(1).seed(seed++));
  // Overlapping windows (stride < kernel): duplicate indices with equal values.
  cases.push_back(OpCase::max_unpool2d().channels(2).input(6, 6).kernel(3).stride(1).seed(seed++));
  cases.push_back(OpCase::max_unpool2d().channels(3).input(9, 8).kernel(2).output_size(19, 17).seed(seed++));
  cases.push_back(OpCase::max_unpool2d().batch(2).channels(5).input(30, 31).kernel(2).seed(seed++));
  check_all(cases);
}

TEST(VulkanOps, RandomCopySweep) {
  std::vector<OpCase> cases;
  for (uint64_t i = 0; i < sweep_cases(); ++i) {
    const uint64_t s = i < 12 ? i : 1000000 + 1000 * i;  // past the default: fresh seeds
    cases.push_back(OpCase::random_pixel_shuffle(7000 + s));
    cases.push_back(OpCase::random_pixel_unshuffle(7100 + s));
    cases.push_back(OpCase::random_max_unpool2d(7200 + s));
    cases.push_back(OpCase::random_upsample_nearest2d(7300 + s));
    cases.push_back(OpCase::random_bed_of_nails2d(7400 + s));
  }
  check_all(cases);
}

// Indices outside their output plane are an error naming the first one, as on the CPU; the GPU
// never sees them.
TEST(VulkanOps, MaxUnpoolRejectsIndicesOutsideThePlane) {
  for (Precision precision : {Precision::fp32, Precision::fp16}) {
    auto plan = make_max_unpool2d(context(precision), MaxUnpool2dParams{.kernel = {2, 2}});
    ASSERT_TRUE(plan.ok()) << plan.status().to_string();
    Tensor x(Shape{1, 2, 2, 2}, {1, 2, 3, 4, 5, 6, 7, 8}), y;
    for (int64_t bad : {int64_t{-1}, int64_t{16}, (int64_t{1} << 32) + 3}) {
      IndexTensor idx(Shape{1, 2, 2, 2}, {0, 2, 8, 10, 1, 3, 9, 11});
      idx.data()[6] = bad;
      const Status s = plan->run(x, idx, y);
      EXPECT_EQ(s.code(), StatusCode::invalid_argument);
      EXPECT_NE(s.message().find("indices element 6 = " + std::to_string(bad)), std::string::npos) << s.message();
    }
    IndexTensor ok(Shape{1, 2, 2, 2}, {0, 2, 8, 10, 1, 3, 9, 15});
    ASSERT_TRUE(plan->run(x, ok, y).ok());
    EXPECT_EQ(y.data()[15 + 16], 8.0f);
  }
}

// Indices that all lie in their own element's window, with windows tiling the plane, take the
// one-pass gather; any index outside its window (here: inside the plane, in a neighbour's window
// or where a cut window would wrap into the next row) must take the scatter passes, since the
// gather would drop that value. Checked against the CPU backend.
TEST(VulkanOps, MaxUnpoolGatherOnlyForIndicesInTheirWindows) {
  auto cpu = Context::create({.backend = BackendKind::cpu});
  ASSERT_TRUE(cpu.ok()) << cpu.status().to_string();
  struct Case {
    Pair output_size;
    std::vector<int64_t> idx;  // for a 1 x 1 x 2 x 3 input, kernel 2
  };
  const std::vector<Case> cases = {
      {{4, 6}, {0, 3, 10, 13, 20, 23}},  // all in their windows: the gather
      {{4, 6}, {0, 3, 10, 13, 20, 2}},   // the last one in element (0, 1)'s window
      {{4, 6}, {8, 3, 10, 13, 20, 23}},  // the first one in its right neighbour's window
      {{4, 5}, {0, 3, 5, 11, 17, 19}},   // rows of 5: element (0, 2)'s window is cut, and its
                                         // index 5 (its column 1 past the row) is output (1, 0)
      {{5, 7}, {0, 3, 11, 15, 22, 26}},  // a larger output: the windows still tile its top-left
  };
  for (Precision precision : {Precision::fp32, Precision::fp16}) {
    for (const Case& c : cases) {
      const MaxUnpool2dParams params{.kernel = {2, 2}, .output_size = c.output_size};
      auto gpu_plan = make_max_unpool2d(context(precision), params);
      auto cpu_plan = make_max_unpool2d(*cpu, params);
      ASSERT_TRUE(gpu_plan.ok() && cpu_plan.ok());
      Tensor x(Shape{1, 1, 2, 3}, {1.5f, -2.0f, 3.25f, 4.0f, -5.5f, 6.0f}), y_gpu, y_cpu;
      IndexTensor idx(Shape{1, 1, 2, 3}, c.idx);
      ASSERT_TRUE(cpu_plan->run(x, idx, y_cpu).ok());
      const Status s = gpu_plan->run(x, idx, y_gpu);
      ASSERT_TRUE(s.ok()) << s.to_string();
      ASSERT_EQ(y_gpu.size(), y_cpu.size());
      for (int64_t i = 0; i < y_cpu.size(); ++i)
        EXPECT_EQ(y_gpu.data()[i], y_cpu.data()[i]) << to_string(precision) << " output " << i << " of case "
                                                     << (&c - cases.data());
    }
  }
}

// Adversarial duplicate indices with different values: in fp32 the element last in C order wins,
// as in the reference (see shaders/max_unpool2d.comp; fp16 documents the winner as unspecified).
TEST(VulkanOps, MaxUnpoolDuplicateIndicesLastWinsFp32) {
  auto plan = make_max_unpool2d(context(Precision::fp32), MaxUnpool2dParams{.kernel = {2, 2}});
  ASSERT_TRUE(plan.ok()) << plan.status().to_string();
  Tensor x(Shape{1, 1, 2, 2}, {1.0f, 2.0f, 3.0f, 4.0f});
  IndexTensor idx(Shape{1, 1, 2, 2}, {5, 5, 0, 5});  // three writes to slot 5: the last (4.0) wins
  Tensor y;
  ASSERT_TRUE(plan->run(x, idx, y).ok());
  std::vector<float> want(16, 0.0f);
  want[5] = 4.0f;
  want[0] = 3.0f;
  for (int i = 0; i < 16; ++i) EXPECT_EQ(y.data()[i], want[i]) << "output " << i;
}

}  // namespace
}  // namespace upconv

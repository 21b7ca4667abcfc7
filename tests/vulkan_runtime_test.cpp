// The Vulkan runtime on lavapipe (Mesa's CPU Vulkan driver, device "llvmpipe"), with the Khronos
// validation layer on: context creation, device choice, run(), timestamps, fp16 storage, two
// contexts side by side, memory sub-allocation. Every test also asserts that the validation
// layer reported nothing. These tests FAIL (never skip) when lavapipe or the layer is missing:
// CI installs mesa-vulkan-drivers and vulkan-validationlayers.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "op_case.hpp"
#include "vulkan_test_device.hpp"
#include "runtime/vulkan/vk_backend_access.hpp"
#include "runtime/vulkan/vk_device.hpp"
#include "runtime/vulkan/vk_memory.hpp"
#include "runtime/vulkan/vk_pipelines.hpp"
#include "upconv/upconv.hpp"
#include "upconv/vulkan.hpp"

namespace upconv {
namespace {

using testing::OpCase;

/// Options that select the device under test (lavapipe in CI) explicitly with validation on.
ContextOptions test_device_options(Precision precision = Precision::fp32) {
  ContextOptions o;
  o.backend = BackendKind::vulkan;
  o.vulkan_device = testing::vulkan_test_device();
  o.vulkan_validation = true;
  o.precision = precision;
  return o;
}

/// Creates a context on the device under test or fails the test with the Status.
Context test_device_context(Precision precision = Precision::fp32) {
  auto ctx = Context::create(test_device_options(precision));
  if (!ctx.ok()) {
    ADD_FAILURE() << testing::vulkan_test_device() << " context: " << ctx.status().to_string();
    std::abort();  // nothing below can run; the failure above says why
  }
  return std::move(ctx).value();
}

uint64_t validation_messages(const Context& ctx) {
  auto* dev = detail::vk::device_of(ctx);
  return dev ? dev->validation_message_count() : ~uint64_t{0};
}

/// Clears UPCONV_DEVICE / UPCONV_BACKEND for the test and restores them after.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old, had_ = true;
    if (value)
      setenv(name, value, 1);
    else
      unsetenv(name);
  }
  ~ScopedEnv() {
    if (had_)
      setenv(name_.c_str(), old_.c_str(), 1);
    else
      unsetenv(name_.c_str());
  }

 private:
  std::string name_, old_;
  bool had_ = false;
};

TEST(VulkanRuntime, CreatesLavapipeContextWithValidation) {
  Context ctx = test_device_context();
  EXPECT_EQ(ctx.backend(), BackendKind::vulkan);
  EXPECT_TRUE(testing::is_vulkan_test_device(ctx.description())) << ctx.description();
  auto* dev = detail::vk::device_of(ctx);
  ASSERT_NE(dev, nullptr);
  EXPECT_FALSE(dev->adopted());
  EXPECT_EQ(validation_messages(ctx), 0u);
}

TEST(VulkanRuntime, RunMatchesReferenceAndMeasuresDeviceTime) {
  Context ctx = test_device_context();
  EXPECT_TRUE(OpCase::pixel_shuffle().batch(2).channels(12).input(5, 7).factor(2).seed(1).check(ctx));
  // A second, larger input through the same plan grows the reused buffers.
  PixelShuffleParams p;
  p.factor = 2;
  auto plan = make_pixel_shuffle(ctx, p);
  ASSERT_TRUE(plan.ok()) << plan.status().to_string();
  for (int64_t size : {3, 17, 9}) {
    Tensor x({1, 8, size, size});
    for (int64_t i = 0; i < x.size(); ++i) x.data()[i] = static_cast<float>(i);
    Tensor y;
    ASSERT_TRUE(plan->run(x, y).ok());
    ASSERT_EQ(y.shape(), (Shape{1, 2, 2 * size, 2 * size}));
    // y[0, c, 2h + i, 2w + j] = x[0, 4c + 2i + j, h, w]
    for (int64_t c = 0; c < 2; ++c)
      for (int64_t h = 0; h < 2 * size; ++h)
        for (int64_t w = 0; w < 2 * size; ++w) {
          const int64_t src = ((4 * c + (h % 2) * 2 + (w % 2)) * size + h / 2) * size + w / 2;
          ASSERT_EQ(y.data()[(c * 2 * size + h) * 2 * size + w], static_cast<float>(src)) << c << " " << h << " " << w;
        }
    auto* dev = detail::vk::device_of(ctx);
    if (dev->has_timestamps())
      EXPECT_GE(plan->last_device_time_ms(), 0.0);
    else
      EXPECT_EQ(plan->last_device_time_ms(), -1.0);
  }
  EXPECT_EQ(validation_messages(ctx), 0u);
}

// One conv_transpose plan over inputs that shrink and grow: run() remakes its texel view of the
// input (CPU-type devices read conv inputs as texels) whenever the size changes, and before the
// buffer under it is reallocated; every result must still match the CPU backend.
TEST(VulkanRuntime, ConvRunsOverChangingInputSizesMatchTheCpu) {
  auto cpu = Context::create({.backend = BackendKind::cpu, .num_threads = 1});
  ASSERT_TRUE(cpu.ok());
  ConvTransposeParams p;
  p.stride = {2, 2};
  p.pad_begin = p.pad_end = {1, 1};
  Tensor w({6, 8, 4, 4}), b({8});
  for (int64_t i = 0; i < w.size(); ++i) w.data()[i] = static_cast<float>((i * 37) % 23) / 23.0f - 0.5f;
  for (int64_t i = 0; i < b.size(); ++i) b.data()[i] = 0.1f * static_cast<float>(i);
  for (Precision precision : {Precision::fp32, Precision::fp16}) {
    SCOPED_TRACE(precision == Precision::fp16 ? "fp16" : "fp32");
    Context ctx = test_device_context(precision);
    auto plan = make_conv_transpose(ctx, p, w, &b);
    auto ref = make_conv_transpose(*cpu, p, w, &b);
    ASSERT_TRUE(plan.ok() && ref.ok());
    for (int64_t size : {5, 19, 3, 19, 11}) {
      SCOPED_TRACE(size);
      Tensor x({2, 6, size, size + 1});
      for (int64_t i = 0; i < x.size(); ++i) x.data()[i] = static_cast<float>((i * 13) % 17) / 17.0f - 0.4f;
      Tensor y, want;
      ASSERT_TRUE(plan->run(x, y).ok());
      ASSERT_TRUE(ref->run(x, want).ok());
      ASSERT_EQ(y.shape(), want.shape());
      const float tol = precision == Precision::fp16 ? 2e-2f : 1e-5f;
      for (int64_t i = 0; i < y.size(); ++i)
        ASSERT_NEAR(y.data()[i], want.data()[i], tol * (1.0f + std::abs(want.data()[i]))) << i;
    }
    EXPECT_EQ(validation_messages(ctx), 0u);
  }
}

TEST(VulkanRuntime, Fp16StorageRoundsOnlyToHalfPrecision) {
  Context ctx = test_device_context(Precision::fp16);
  auto precision = vulkan_storage_precision(ctx);
  ASSERT_TRUE(precision.ok());
  EXPECT_EQ(*precision, Precision::fp16) << "lavapipe has storageBuffer16BitAccess";
  EXPECT_NE(ctx.description().find("fp16"), std::string::npos);
  // A permutation moves values: with fp16 storage the output is the input rounded to half.
  PixelShuffleParams p;
  p.factor = 3;
  auto plan = make_pixel_shuffle(ctx, p);
  ASSERT_TRUE(plan.ok());
  Tensor x({1, 9, 4, 4});
  for (int64_t i = 0; i < x.size(); ++i) x.data()[i] = 1.0f + static_cast<float>(i) / 1024.0f + 1e-5f;
  Tensor y;
  ASSERT_TRUE(plan->run(x, y).ok());
  float max_err = 0;
  for (int64_t i = 0; i < y.size(); ++i) {
    const float v = y.data()[i];
    // Every output is some input rounded to 11 significant bits: a multiple of 2^-10 in [1, 2).
    EXPECT_EQ(v * 1024.0f, std::round(v * 1024.0f)) << i;
    max_err = std::max(max_err, std::abs(v - 1.0f) > 1.0f ? 1.0f : 0.0f);
  }
  EXPECT_EQ(max_err, 0.0f);
  EXPECT_EQ(validation_messages(ctx), 0u);
}

TEST(VulkanRuntime, TwoContextsSideBySide) {
  Context a = test_device_context();
  Context b = test_device_context(Precision::fp16);
  PixelShuffleParams p;
  auto plan_a = make_pixel_unshuffle(a, p);
  auto plan_b = make_pixel_unshuffle(b, p);
  ASSERT_TRUE(plan_a.ok() && plan_b.ok());
  Tensor x({1, 2, 6, 6});
  for (int64_t i = 0; i < x.size(); ++i) x.data()[i] = static_cast<float>(i);  // exact in fp16
  for (int round = 0; round < 3; ++round) {
    Tensor ya, yb;
    ASSERT_TRUE(plan_a->run(x, ya).ok());
    ASSERT_TRUE(plan_b->run(x, yb).ok());
    EXPECT_EQ(ya.storage(), yb.storage());
  }
  // A context may go before its plans: the plan keeps the device alive.
  { Context gone = std::move(a); }
  Tensor y;
  EXPECT_TRUE(plan_a->run(x, y).ok());
  EXPECT_EQ(validation_messages(b), 0u);
}

TEST(VulkanRuntime, FewMemoryBlocksForManyPlans) {
  Context ctx = test_device_context();
  std::vector<Plan> plans;
  for (int i = 0; i < 24; ++i) {
    PixelShuffleParams p;
    p.factor = 1 + i % 3;
    auto plan = make_pixel_shuffle(ctx, p);
    ASSERT_TRUE(plan.ok());
    Tensor x({1, p.factor * p.factor, 8, 8}), y;
    ASSERT_TRUE(plan->run(x, y).ok());
    plans.push_back(std::move(plan).value());
  }
  auto* dev = detail::vk::device_of(ctx);
  // 24 plans x (dummy + input + output [+ staging]) buffers live in a handful of blocks.
  EXPECT_LE(dev->memory().block_count(), 4u);
  // Pipelines are shared between plans with equal specialization constants.
  EXPECT_LE(dev->pipelines().pipeline_count(), 6u);
  EXPECT_EQ(validation_messages(ctx), 0u);
}

TEST(VulkanDeviceChoice, ExplicitVulkanPicksLavapipeAndAutoSkipsIt) {
  ScopedEnv no_backend("UPCONV_BACKEND", nullptr);
  ScopedEnv no_device("UPCONV_DEVICE", nullptr);
  auto devices = list_vulkan_devices();
  ASSERT_TRUE(devices.ok()) << devices.status().to_string();
  bool has_gpu = false, has_lavapipe = false;
  for (const auto& d : *devices) {
    has_gpu |= d.usable && d.type != "cpu";
    has_lavapipe |= d.name.find("llvmpipe") != std::string::npos;
  }
  ASSERT_TRUE(has_lavapipe) << "lavapipe (mesa-vulkan-drivers) must be installed";
  auto automatic = Context::create({});
  ASSERT_TRUE(automatic.ok());
  EXPECT_EQ(automatic->backend(), has_gpu ? BackendKind::vulkan : BackendKind::cpu) << automatic->description();
  if (has_gpu) {
    EXPECT_EQ(automatic->description().find("llvmpipe"), std::string::npos);
  }

  ContextOptions explicit_vulkan;
  explicit_vulkan.backend = BackendKind::vulkan;
  explicit_vulkan.vulkan_validation = true;
  auto vk = Context::create(explicit_vulkan);
  ASSERT_TRUE(vk.ok()) << vk.status().to_string();
  EXPECT_EQ(vk->backend(), BackendKind::vulkan);
  if (!has_gpu) {
    EXPECT_NE(vk->description().find("llvmpipe"), std::string::npos) << vk->description();
  }
}

TEST(VulkanDeviceChoice, UpconvDeviceByNameIndexAndBadValues) {
  ScopedEnv no_backend("UPCONV_BACKEND", nullptr);
  auto devices = list_vulkan_devices();
  ASSERT_TRUE(devices.ok());
  uint32_t lavapipe_index = ~0u;
  for (const auto& d : *devices)
    if (d.name.find("llvmpipe") != std::string::npos) lavapipe_index = d.index;
  ASSERT_NE(lavapipe_index, ~0u);
  ContextOptions o;
  o.backend = BackendKind::vulkan;
  o.vulkan_validation = true;
  {
    ScopedEnv env("UPCONV_DEVICE", "LLVMPIPE");  // case-insensitive substring
    auto ctx = Context::create(o);
    ASSERT_TRUE(ctx.ok()) << ctx.status().to_string();
    EXPECT_NE(ctx->description().find("llvmpipe"), std::string::npos);
  }
  {
    ScopedEnv env("UPCONV_DEVICE", std::to_string(lavapipe_index).c_str());
    auto ctx = Context::create(o);
    ASSERT_TRUE(ctx.ok()) << ctx.status().to_string();
    EXPECT_NE(ctx->description().find("llvmpipe"), std::string::npos);
  }
  {
    ScopedEnv env("UPCONV_DEVICE", "no-such-gpu");
    auto ctx = Context::create(o);
    ASSERT_FALSE(ctx.ok());
    EXPECT_EQ(ctx.status().code(), StatusCode::invalid_argument);
    EXPECT_NE(ctx.status().message().find("UPCONV_DEVICE"), std::string::npos) << ctx.status().message();
    EXPECT_NE(ctx.status().message().find("no-such-gpu"), std::string::npos);
    // The automatic backend treats an unusable device choice as "no GPU".
    auto automatic = Context::create({});
    ASSERT_TRUE(automatic.ok());
  }
  {
    ScopedEnv env("UPCONV_DEVICE", "999");
    auto ctx = Context::create(o);
    ASSERT_FALSE(ctx.ok());
    EXPECT_NE(ctx.status().message().find("999"), std::string::npos);
  }
  for (auto [name, bad] : {std::pair{"UPCONV_VULKAN_READS", "textures"}, std::pair{"UPCONV_VULKAN_STAGING", "local"},
                           std::pair{"UPCONV_VULKAN_STAGED_LANES", "many"}, std::pair{"UPCONV_VULKAN_STAGED_LANES", "-1"},
                           std::pair{"UPCONV_VULKAN_STAGED_LANES", "64k"}, std::pair{"UPCONV_VULKAN_SPLIT", "always"},
                           std::pair{"UPCONV_VULKAN_STAGE_BATCH", "0"}, std::pair{"UPCONV_VULKAN_STAGE_BATCH", "33"},
                           std::pair{"UPCONV_VULKAN_STAGED_WG", "96"}, std::pair{"UPCONV_VULKAN_STAGED_WG", "2048"},
                           std::pair{"UPCONV_VULKAN_STAGED_WG", "16"}, std::pair{"UPCONV_VULKAN_TIMING_REPEATS", "0"},
                           std::pair{"UPCONV_VULKAN_TIMING_REPEATS", "1001"}, std::pair{"UPCONV_VULKAN_STAGED_CO", "0"},
                           std::pair{"UPCONV_VULKAN_STAGED_CO", "3"}, std::pair{"UPCONV_VULKAN_STAGED_CO", "128"},
                           std::pair{"UPCONV_VULKAN_STAGED_LOOP", "fast"}}) {
    ScopedEnv env(name, bad);
    auto ctx = Context::create(o);
    ASSERT_FALSE(ctx.ok()) << name;
    EXPECT_EQ(ctx.status().code(), StatusCode::invalid_argument);
    EXPECT_NE(ctx.status().message().find(name), std::string::npos) << ctx.status().message();
    EXPECT_NE(ctx.status().message().find(bad), std::string::npos) << ctx.status().message();
  }
  {
    // The option wins over the environment.
    ScopedEnv env("UPCONV_DEVICE", "no-such-gpu");
    o.vulkan_device = "llvmpipe";
    auto ctx = Context::create(o);
    ASSERT_TRUE(ctx.ok()) << ctx.status().to_string();
  }
}

TEST(VulkanDeviceChoice, PolicyPrefersDiscreteAndSkipsCpuForAutomatic) {
  using detail::vk::choose_device;
  using detail::vk::DeviceCandidate;
  const std::vector<DeviceCandidate> devices = {
      {"llvmpipe", VK_PHYSICAL_DEVICE_TYPE_CPU, true},
      {"Intel UHD", VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU, true},
      {"NVIDIA H100", VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU, true},
      {"Old GPU", VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU, false},
  };
  EXPECT_EQ(*choose_device(devices, "", true), 2u);
  EXPECT_EQ(*choose_device(devices, "", false), 2u);
  EXPECT_EQ(*choose_device(devices, "intel", true), 1u);
  EXPECT_EQ(*choose_device(devices, "llvm", false), 0u);
  EXPECT_FALSE(choose_device(devices, "llvm", true).ok());
  EXPECT_FALSE(choose_device(devices, "0", true).ok());
  EXPECT_EQ(*choose_device(devices, "0", false), 0u);
  EXPECT_FALSE(choose_device(devices, "3", false).ok());  // unusable
  EXPECT_FALSE(choose_device(devices, "4", false).ok());  // out of range
  EXPECT_FALSE(choose_device({{"llvmpipe", VK_PHYSICAL_DEVICE_TYPE_CPU, true}}, "", true).ok());
  EXPECT_EQ(*choose_device({{"llvmpipe", VK_PHYSICAL_DEVICE_TYPE_CPU, true}}, "", false), 0u);
  EXPECT_FALSE(choose_device({}, "", false).ok());
}

TEST(VulkanDeviceList, ReportsLimitsAndFeatures) {
  auto devices = list_vulkan_devices();
  ASSERT_TRUE(devices.ok()) << devices.status().to_string();
  ASSERT_FALSE(devices->empty());
  for (const auto& d : *devices) {
    SCOPED_TRACE(d.name);
    EXPECT_FALSE(d.api_version.empty());
    if (!d.usable) continue;
    EXPECT_GE(d.max_workgroup_invocations, 128u);
    EXPECT_GE(d.max_workgroup_size[0], 128u);
    EXPECT_GE(d.max_workgroup_count[0], 65535u);
    EXPECT_GE(d.max_shared_memory_bytes, 16384u);
    EXPECT_GE(d.max_push_constants_bytes, 128u);
    EXPECT_GE(d.subgroup_size, 1u);
    if (d.name.find("llvmpipe") != std::string::npos) {
      EXPECT_EQ(d.type, "cpu");
      EXPECT_TRUE(d.storage_buffer_16bit);
      const char* reads = std::getenv("UPCONV_VULKAN_READS");
      EXPECT_EQ(d.texel_reads, !reads || std::string(reads) != "buffer");  // the cpu-type default
      const char* staging = std::getenv("UPCONV_VULKAN_STAGING");
      EXPECT_EQ(d.shared_staging, staging && std::string(staging) == "shared");  // off by default on a cpu type
    }
  }
}

}  // namespace
}  // namespace upconv

namespace upconv {
namespace {

TEST(VulkanValidation, LayerMessagesBecomeAFailedStatusOfTheNextCall) {
  Context ctx = test_device_context();
  PixelShuffleParams p;
  auto plan = make_pixel_shuffle(ctx, p);
  ASSERT_TRUE(plan.ok());
  auto* dev = detail::vk::device_of(ctx);
  ASSERT_EQ(dev->validation_message_count(), 0u);
  // A deliberately invalid call (VUID-VkBufferCreateInfo-size-00912: size must be > 0).
  VkBufferCreateInfo info{VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO};
  info.size = 0;
  info.usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT;
  VkBuffer buffer = VK_NULL_HANDLE;
  const VkResult r = dev->fn().vkCreateBuffer(dev->device(), &info, nullptr, &buffer);
  if (r == VK_SUCCESS && buffer) dev->fn().vkDestroyBuffer(dev->device(), buffer, nullptr);
  EXPECT_GT(dev->validation_message_count(), 0u) << "the validation layer is not active";
  Tensor x({1, 4, 2, 2}), y;
  const Status s = plan->run(x, y);
  EXPECT_EQ(s.code(), StatusCode::backend_error);
  EXPECT_NE(s.message().find("validation"), std::string::npos) << s.message();
  EXPECT_TRUE(plan->run(x, y).ok()) << "reported once, then cleared";
}

}  // namespace
}  // namespace upconv

namespace upconv {
namespace {

TEST(VulkanNoLoader, AutomaticFallsBackToCpuAndExplicitVulkanFailsClearly) {
  ScopedEnv no_backend("UPCONV_BACKEND", nullptr);
  ScopedEnv no_loader("UPCONV_VULKAN_LOADER", "/nonexistent/libvulkan.so.1");
  auto automatic = Context::create({});
  ASSERT_TRUE(automatic.ok()) << automatic.status().to_string();
  EXPECT_EQ(automatic->backend(), BackendKind::cpu);
  ContextOptions o;
  o.backend = BackendKind::vulkan;
  auto vk = Context::create(o);
  ASSERT_FALSE(vk.ok());
  EXPECT_EQ(vk.status().code(), StatusCode::backend_unavailable);
  EXPECT_NE(vk.status().message().find("loader"), std::string::npos) << vk.status().message();
  auto devices = list_vulkan_devices();
  ASSERT_FALSE(devices.ok());
  EXPECT_EQ(devices.status().code(), StatusCode::backend_unavailable);
}

}  // namespace
}  // namespace upconv

namespace upconv {
namespace {

TEST(VulkanRuntime, DistinctPlansRunConcurrentlyOnOneContext) {
  Context ctx = test_device_context();
  constexpr int kThreads = 4;
  std::vector<Plan> plans;
  for (int t = 0; t < kThreads; ++t) {
    UpsampleParams p;
    p.factor = {1 + t % 2, 2};
    auto plan = make_upsample_nearest2d(ctx, p);
    ASSERT_TRUE(plan.ok());
    plans.push_back(std::move(plan).value());
  }
  std::vector<int> failures(kThreads, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      Tensor x({1, 3, 5 + t, 7}), y;
      for (int64_t i = 0; i < x.size(); ++i) x.data()[i] = static_cast<float>(i + t);
      const int64_t fh = 1 + t % 2;
      for (int round = 0; round < 10; ++round) {
        if (!plans[t].run(x, y).ok()) {
          ++failures[t];
          continue;
        }
        // y[c, h, w] = x[c, h / fh, w / 2]
        for (int64_t c = 0; c < 3; ++c)
          for (int64_t h = 0; h < (5 + t) * fh; ++h)
            for (int64_t w = 0; w < 14; ++w)
              if (y.data()[(c * (5 + t) * fh + h) * 14 + w] != x.data()[(c * (5 + t) + h / fh) * 7 + w / 2])
                ++failures[t];
      }
    });
  for (auto& th : threads) th.join();
  for (int t = 0; t < kThreads; ++t) EXPECT_EQ(failures[t], 0) << "thread " << t;
  EXPECT_EQ(validation_messages(ctx), 0u);
}

}  // namespace
}  // namespace upconv

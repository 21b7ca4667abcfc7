// A Vulkan context and plan left in a global until process exit: Mesa tears lavapipe down in an
// atexit handler (and the loader unloads layers) before such globals are destroyed, so upconv
// must not call into the driver from those destructors. The test passes when the process exits
// cleanly (a crash at exit fails it under ctest).
#include <gtest/gtest.h>

#include <memory>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/lsan_interface.h>
#endif

#include "upconv/upconv.hpp"
#include "vulkan_test_device.hpp"

namespace upconv {
namespace {

std::unique_ptr<Plan> g_plan, g_conv;

// A function-local static, initialised (empty) before the driver loads: its destructor runs
// after the validation layer's and lavapipe's own teardown. This crashed before upconv skipped
// Vulkan calls during exit.
std::unique_ptr<Context>& global_context() {
  static std::unique_ptr<Context> contexts[2];
  return contexts[0];
}

TEST(VulkanExit, ContextAndPlanInGlobalsOutliveTheDriver) {
#if defined(__SANITIZE_ADDRESS__)
  // What this test creates is abandoned to the OS at exit by design (upconv makes no Vulkan
  // calls then): not a leak. Other tests keep LeakSanitizer's full coverage.
  __lsan_disable();
#endif
  ContextOptions o;
  o.backend = BackendKind::vulkan;
  o.vulkan_device = testing::vulkan_test_device();
  o.vulkan_validation = true;
  auto& g_context = global_context();
  auto ctx = Context::create(o);
  ASSERT_TRUE(ctx.ok()) << ctx.status().to_string();
  g_context = std::make_unique<Context>(std::move(ctx).value());
  auto plan = make_pixel_shuffle(*g_context, {});
  ASSERT_TRUE(plan.ok());
  g_plan = std::make_unique<Plan>(std::move(plan).value());
  Tensor x({1, 4, 3, 3}), y;
  ASSERT_TRUE(g_plan->run(x, y).ok());
  ConvTransposeParams ct;
  ct.stride = {2, 2};
  auto conv = make_conv_transpose(*g_context, ct, Tensor({4, 4, 3, 3}));
  ASSERT_TRUE(conv.ok());
  g_conv = std::make_unique<Plan>(std::move(conv).value());
  Tensor big({1, 4, 64, 64});
  ASSERT_TRUE(g_conv->run(big, y).ok());
  auto unpool = make_max_unpool2d(*g_context, {});
  ASSERT_TRUE(unpool.ok());
  IndexTensor indices({1, 4, 3, 3});
  ASSERT_TRUE(unpool->run(x, indices, y).ok());
}

}  // namespace
}  // namespace upconv

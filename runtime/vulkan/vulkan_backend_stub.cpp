// Built when upconv is configured without Vulkan (UPCONV_WITH_VULKAN=OFF): every Vulkan entry
// point reports backend_unavailable, so the automatic backend falls back to the CPU.
#include "runtime/vulkan/vulkan_backend.hpp"
#include "runtime/vulkan/vk_backend_access.hpp"

#if __has_include(<vulkan/vulkan.h>)
#include "runtime/c_api_internal.hpp"
#include "upconv/upconv_vulkan.h"
#include "upconv/vulkan.hpp"
#define UPCONV_STUB_HAS_VULKAN_HEADERS 1
#endif

namespace upconv::detail {

namespace {
Status without_vulkan() {
  return Status(StatusCode::backend_unavailable, "upconv was built without Vulkan support (UPCONV_WITH_VULKAN=OFF)");
}
}  // namespace

Result<std::unique_ptr<Backend>> create_vulkan_backend(const ContextOptions&, bool) { return without_vulkan(); }

namespace vk {
uint32_t set_benchmark_dispatch_repeats(const Context&, uint32_t) { return 0; }
}  // namespace vk

}  // namespace upconv::detail

#ifdef UPCONV_STUB_HAS_VULKAN_HEADERS
namespace upconv {
Result<std::vector<VulkanDeviceInfo>> list_vulkan_devices() { return detail::without_vulkan(); }
Result<Context> create_vulkan_context(const VulkanAdoptInfo&, const ContextOptions&) {
  return detail::without_vulkan();
}
Result<Precision> vulkan_storage_precision(const Context&) { return detail::without_vulkan(); }
Status record(Plan&, VkCommandBuffer, const Shape&, VulkanBufferBinding, VulkanBufferBinding,
              const VulkanBufferBinding*, RecordTiming) {
  return detail::without_vulkan();
}
}  // namespace upconv
#endif

#ifdef UPCONV_STUB_HAS_VULKAN_HEADERS
extern "C" {
upconv_status upconv_context_create_vulkan_adopted(const upconv_vulkan_adopt_info*, const upconv_context_options*,
                                                   upconv_context** out) {
  if (out) *out = nullptr;
  return upconv::c_api::fail(upconv::detail::without_vulkan());
}
upconv_status upconv_vulkan_storage_precision(const upconv_context*, upconv_precision*) {
  return upconv::c_api::fail(upconv::detail::without_vulkan());
}
upconv_status upconv_plan_record(upconv_plan*, VkCommandBuffer, const int64_t*, int, const upconv_vulkan_buffer_binding*,
                                 const upconv_vulkan_buffer_binding*, const upconv_vulkan_buffer_binding*,
                                 upconv_record_timing) {
  return upconv::c_api::fail(upconv::detail::without_vulkan());
}
}  // extern "C"
#endif

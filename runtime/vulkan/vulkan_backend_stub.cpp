// Built when upconv is configured without Vulkan (UPCONV_WITH_VULKAN=OFF): every Vulkan entry
// point reports backend_unavailable, so the automatic backend falls back to the CPU.
#include "runtime/vulkan/vulkan_backend.hpp"

#if __has_include(<vulkan/vulkan.h>)
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

// Built when upconv is configured without Vulkan (UPCONV_WITH_VULKAN=OFF).
#include "runtime/vulkan/vulkan_backend.hpp"

namespace upconv::detail {

Result<std::unique_ptr<Backend>> create_vulkan_backend(const ContextOptions&, bool) {
  return Status(StatusCode::backend_unavailable, "upconv was built without Vulkan support (UPCONV_WITH_VULKAN=OFF)");
}

}  // namespace upconv::detail

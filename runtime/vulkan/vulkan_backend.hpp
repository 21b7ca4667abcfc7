// Internal: entry point of the Vulkan backend, the runtime's only view of it.
#pragma once

#include <memory>

#include "runtime/backend.hpp"

namespace upconv::detail {

/// Creates the Vulkan backend on the device chosen by `options`. With `only_gpus` (the
/// `automatic` choice) CPU-type devices such as lavapipe are skipped. Fails with
/// backend_unavailable when there is no loader or no suitable device.
Result<std::unique_ptr<Backend>> create_vulkan_backend(const ContextOptions& options, bool only_gpus);

}  // namespace upconv::detail

// Internal (tests and tools): the Vulkan device behind a context, to inspect validation
// messages, pipeline-cache state and memory blocks.
#pragma once

#include "upconv/plan.hpp"

namespace upconv::detail::vk {

class VulkanDevice;

/// The device of a Vulkan context, or nullptr for any other context.
VulkanDevice* device_of(const Context& context);

}  // namespace upconv::detail::vk

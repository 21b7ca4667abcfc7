// Internal (tests and tools): the Vulkan device behind a context, to inspect validation
// messages, pipeline-cache state and memory blocks, and the benchmark's dispatch repeats.
#pragma once

#include <cstdint>

#include "upconv/plan.hpp"

namespace upconv::detail::vk {

class VulkanDevice;

/// The device of a Vulkan context, or nullptr for any other context.
VulkanDevice* device_of(const Context& context);

/// For `upconv bench`: how many times each Plan::run of a Vulkan context records its dispatches
/// back to back (VulkanDevice::timing_repeats). `repeats` 0 takes the benchmark default:
/// UPCONV_VULKAN_TIMING_REPEATS where set, else 20 on a GPU (a single dispatch between a run's
/// host transfers is often timed at the GPU's idle clock) and 1 on a CPU-type device. Returns the
/// count in effect; 0 for a context of another backend, which it leaves alone. Also built without
/// Vulkan (vulkan_backend_stub.cpp: always 0).
uint32_t set_benchmark_dispatch_repeats(const Context& context, uint32_t repeats);

}  // namespace upconv::detail::vk

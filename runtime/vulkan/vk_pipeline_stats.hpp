// Internal: the driver's own statistics of each compiled compute pipeline (registers, local or
// spilled memory, instruction counts: whatever VK_KHR_pipeline_executable_properties reports on
// that driver), printed to stderr when UPCONV_VULKAN_PIPELINE_STATS=1. A diagnostic for tuning
// the shaders on a GPU, where no profiler reads a Vulkan pipeline's machine code.
#pragma once

#include <vulkan/vulkan.h>

#include <string>

#include "runtime/vulkan/vk_functions.hpp"

namespace upconv::detail::vk {

/// Whether `physical` offers VK_KHR_pipeline_executable_properties with pipelineExecutableInfo.
bool device_offers_pipeline_stats(const InstanceFunctions& ifn, VkPhysicalDevice physical);

class PipelineStatsReporter {
 public:
  PipelineStatsReporter() = default;
  /// Loads the extension's functions; where either is missing the reporter stays off.
  PipelineStatsReporter(const InstanceFunctions& ifn, VkDevice device);
  bool enabled() const noexcept { return properties_ != nullptr && statistics_ != nullptr; }
  /// One line per executable of `pipeline` (created with VK_PIPELINE_CREATE_CAPTURE_STATISTICS_BIT_KHR):
  /// "<label> | <executable>: <statistic>=<value>, ...".
  std::string describe(VkDevice device, VkPipeline pipeline, const std::string& label) const;

 private:
  PFN_vkGetPipelineExecutablePropertiesKHR properties_ = nullptr;
  PFN_vkGetPipelineExecutableStatisticsKHR statistics_ = nullptr;
};

}  // namespace upconv::detail::vk

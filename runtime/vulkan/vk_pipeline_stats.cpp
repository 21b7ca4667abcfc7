#include "runtime/vulkan/vk_pipeline_stats.hpp"

#include <cstring>
#include <sstream>
#include <vector>

namespace upconv::detail::vk {

bool device_offers_pipeline_stats(const InstanceFunctions& ifn, VkPhysicalDevice physical) {
  uint32_t count = 0;
  if (ifn.vkEnumerateDeviceExtensionProperties(physical, nullptr, &count, nullptr) != VK_SUCCESS) return false;
  std::vector<VkExtensionProperties> extensions(count);
  if (ifn.vkEnumerateDeviceExtensionProperties(physical, nullptr, &count, extensions.data()) != VK_SUCCESS)
    return false;
  bool listed = false;
  for (const auto& e : extensions)
    listed = listed || std::strcmp(e.extensionName, VK_KHR_PIPELINE_EXECUTABLE_PROPERTIES_EXTENSION_NAME) == 0;
  if (!listed) return false;
  VkPhysicalDevicePipelineExecutablePropertiesFeaturesKHR exec{
      VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PIPELINE_EXECUTABLE_PROPERTIES_FEATURES_KHR};
  VkPhysicalDeviceFeatures2 features{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2};
  features.pNext = &exec;
  ifn.vkGetPhysicalDeviceFeatures2(physical, &features);
  return exec.pipelineExecutableInfo == VK_TRUE;
}

PipelineStatsReporter::PipelineStatsReporter(const InstanceFunctions& ifn, VkDevice device)
    : properties_(reinterpret_cast<PFN_vkGetPipelineExecutablePropertiesKHR>(
          ifn.vkGetDeviceProcAddr(device, "vkGetPipelineExecutablePropertiesKHR"))),
      statistics_(reinterpret_cast<PFN_vkGetPipelineExecutableStatisticsKHR>(
          ifn.vkGetDeviceProcAddr(device, "vkGetPipelineExecutableStatisticsKHR"))) {}

namespace {

void append_value(std::ostringstream& line, const VkPipelineExecutableStatisticKHR& s) {
  switch (s.format) {
    case VK_PIPELINE_EXECUTABLE_STATISTIC_FORMAT_BOOL32_KHR: line << (s.value.b32 ? "true" : "false"); break;
    case VK_PIPELINE_EXECUTABLE_STATISTIC_FORMAT_INT64_KHR: line << s.value.i64; break;
    case VK_PIPELINE_EXECUTABLE_STATISTIC_FORMAT_UINT64_KHR: line << s.value.u64; break;
    case VK_PIPELINE_EXECUTABLE_STATISTIC_FORMAT_FLOAT64_KHR: line << s.value.f64; break;
    default: line << "?"; break;
  }
}

}  // namespace

std::string PipelineStatsReporter::describe(VkDevice device, VkPipeline pipeline, const std::string& label) const {
  if (!enabled()) return {};
  VkPipelineInfoKHR info{VK_STRUCTURE_TYPE_PIPELINE_INFO_KHR};
  info.pipeline = pipeline;
  uint32_t count = 0;
  if (properties_(device, &info, &count, nullptr) != VK_SUCCESS) return label + " | (no executable properties)\n";
  std::vector<VkPipelineExecutablePropertiesKHR> executables(count, {VK_STRUCTURE_TYPE_PIPELINE_EXECUTABLE_PROPERTIES_KHR});
  if (properties_(device, &info, &count, executables.data()) != VK_SUCCESS) return label + " | (no executables)\n";
  std::ostringstream out;
  for (uint32_t i = 0; i < count; ++i) {
    VkPipelineExecutableInfoKHR exec{VK_STRUCTURE_TYPE_PIPELINE_EXECUTABLE_INFO_KHR};
    exec.pipeline = pipeline;
    exec.executableIndex = i;
    uint32_t n = 0;
    out << label << " | " << executables[i].name << ":";
    if (statistics_(device, &exec, &n, nullptr) == VK_SUCCESS) {
      std::vector<VkPipelineExecutableStatisticKHR> stats(n, {VK_STRUCTURE_TYPE_PIPELINE_EXECUTABLE_STATISTIC_KHR});
      if (statistics_(device, &exec, &n, stats.data()) == VK_SUCCESS)
        for (uint32_t k = 0; k < n; ++k) {
          out << (k ? ", " : " ") << stats[k].name << "=";
          append_value(out, stats[k]);
        }
    }
    out << "\n";
  }
  return out.str();
}

}  // namespace upconv::detail::vk

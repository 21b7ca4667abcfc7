// Internal: per-context Vulkan function tables. upconv never links libvulkan and keeps no global
// Vulkan state: every context resolves its own pointers through the vkGetInstanceProcAddr it was
// given (the loader's, found with dlopen, or an adopting caller's), so two contexts on two
// instances or devices never share a table.
#pragma once

#ifndef VK_NO_PROTOTYPES
#define VK_NO_PROTOTYPES
#endif
#include <vulkan/vulkan.h>

#include "upconv/status.hpp"

namespace upconv::detail::vk {

// Functions resolved with a null instance.
#define UPCONV_VK_GLOBAL_FUNCTIONS(X) \
  X(vkCreateInstance)                 \
  X(vkEnumerateInstanceVersion)       \
  X(vkEnumerateInstanceLayerProperties) \
  X(vkEnumerateInstanceExtensionProperties)

// Instance-level functions (required).
#define UPCONV_VK_INSTANCE_FUNCTIONS(X)         \
  X(vkDestroyInstance)                          \
  X(vkEnumeratePhysicalDevices)                 \
  X(vkGetPhysicalDeviceProperties)              \
  X(vkGetPhysicalDeviceProperties2)             \
  X(vkGetPhysicalDeviceFeatures2)               \
  X(vkGetPhysicalDeviceQueueFamilyProperties)   \
  X(vkGetPhysicalDeviceMemoryProperties)        \
  X(vkEnumerateDeviceExtensionProperties)       \
  X(vkCreateDevice)                             \
  X(vkGetDeviceProcAddr)

// Instance-level functions that may be absent (extensions).
#define UPCONV_VK_OPTIONAL_INSTANCE_FUNCTIONS(X) \
  X(vkCreateDebugUtilsMessengerEXT)              \
  X(vkDestroyDebugUtilsMessengerEXT)

// Device-level functions (all core 1.0).
#define UPCONV_VK_DEVICE_FUNCTIONS(X) \
  X(vkDestroyDevice)                  \
  X(vkGetDeviceQueue)                 \
  X(vkDeviceWaitIdle)                 \
  X(vkQueueSubmit)                    \
  X(vkAllocateMemory)                 \
  X(vkFreeMemory)                     \
  X(vkMapMemory)                      \
  X(vkUnmapMemory)                    \
  X(vkCreateBuffer)                   \
  X(vkDestroyBuffer)                  \
  X(vkCreateBufferView)               \
  X(vkDestroyBufferView)              \
  X(vkGetBufferMemoryRequirements)    \
  X(vkBindBufferMemory)               \
  X(vkCreateShaderModule)             \
  X(vkDestroyShaderModule)            \
  X(vkCreatePipelineCache)            \
  X(vkDestroyPipelineCache)           \
  X(vkGetPipelineCacheData)           \
  X(vkCreateComputePipelines)         \
  X(vkDestroyPipeline)                \
  X(vkCreatePipelineLayout)           \
  X(vkDestroyPipelineLayout)          \
  X(vkCreateDescriptorSetLayout)      \
  X(vkDestroyDescriptorSetLayout)     \
  X(vkCreateDescriptorPool)           \
  X(vkDestroyDescriptorPool)          \
  X(vkAllocateDescriptorSets)         \
  X(vkUpdateDescriptorSets)           \
  X(vkCreateCommandPool)              \
  X(vkDestroyCommandPool)             \
  X(vkResetCommandPool)               \
  X(vkAllocateCommandBuffers)         \
  X(vkBeginCommandBuffer)             \
  X(vkEndCommandBuffer)               \
  X(vkCreateFence)                    \
  X(vkDestroyFence)                   \
  X(vkWaitForFences)                  \
  X(vkResetFences)                    \
  X(vkCreateQueryPool)                \
  X(vkDestroyQueryPool)               \
  X(vkGetQueryPoolResults)            \
  X(vkCmdBindPipeline)                \
  X(vkCmdBindDescriptorSets)          \
  X(vkCmdPushConstants)               \
  X(vkCmdDispatch)                    \
  X(vkCmdPipelineBarrier)             \
  X(vkCmdCopyBuffer)                  \
  X(vkCmdFillBuffer)                  \
  X(vkCmdResetQueryPool)              \
  X(vkCmdWriteTimestamp)

#define UPCONV_VK_DECLARE_MEMBER(name) PFN_##name name = nullptr;

/// Loader entry points; `get_instance_proc_addr` is the root everything else is resolved from.
struct GlobalFunctions {
  PFN_vkGetInstanceProcAddr vkGetInstanceProcAddr = nullptr;
  UPCONV_VK_GLOBAL_FUNCTIONS(UPCONV_VK_DECLARE_MEMBER)
};

struct InstanceFunctions {
  UPCONV_VK_INSTANCE_FUNCTIONS(UPCONV_VK_DECLARE_MEMBER)
  UPCONV_VK_OPTIONAL_INSTANCE_FUNCTIONS(UPCONV_VK_DECLARE_MEMBER)
};

struct DeviceFunctions {
  UPCONV_VK_DEVICE_FUNCTIONS(UPCONV_VK_DECLARE_MEMBER)
};

/// The Vulkan loader library, opened with dlopen (reference counted by the C library, so each
/// context may hold its own handle). Fails with backend_unavailable when no loader is installed.
class LoaderLibrary {
 public:
  static Result<LoaderLibrary> open();
  LoaderLibrary() = default;
  LoaderLibrary(LoaderLibrary&& other) noexcept;
  LoaderLibrary& operator=(LoaderLibrary&& other) noexcept;
  LoaderLibrary(const LoaderLibrary&) = delete;
  LoaderLibrary& operator=(const LoaderLibrary&) = delete;
  ~LoaderLibrary();

  PFN_vkGetInstanceProcAddr get_instance_proc_addr() const noexcept { return gipa_; }

 private:
  void* handle_ = nullptr;
  PFN_vkGetInstanceProcAddr gipa_ = nullptr;
};

/// Resolves the loader-level functions (vkEnumerateInstanceVersion may be null on a 1.0 loader).
Result<GlobalFunctions> load_global_functions(PFN_vkGetInstanceProcAddr gipa);
/// Resolves the instance table; a missing required function is a backend_error naming it.
Result<InstanceFunctions> load_instance_functions(PFN_vkGetInstanceProcAddr gipa, VkInstance instance);
/// Resolves the device table through the instance's vkGetDeviceProcAddr.
Result<DeviceFunctions> load_device_functions(const InstanceFunctions& ifn, VkDevice device);

/// True once exit() has run past the handler watch_process_exit() registered: the driver and
/// layers may already have torn themselves down (their static destructors and atexit handlers
/// run in reverse load order), so upconv objects destroyed later — contexts or plans kept in
/// globals — skip every Vulkan call and leave the handles to the OS. The one piece of process-wide
/// state in the backend; it describes the process, not any context.
bool process_exiting() noexcept;
/// Registers an atexit handler that sets process_exiting(). Called after every instance or
/// device creation, i.e. after the driver and layers were (re)loaded, so it runs before their
/// teardown.
void watch_process_exit() noexcept;

/// "VK_ERROR_OUT_OF_DEVICE_MEMORY", or "VkResult(-123)" for codes this build does not name.
const char* result_name(VkResult result) noexcept;
/// A Status for a failed call: backend_error (out_of_memory for the two OOM codes) naming the
/// call and the VkResult.
Status result_status(VkResult result, const char* what);

}  // namespace upconv::detail::vk

/// Turns a failed VkResult into a returned upconv::Status naming the call.
#define UPCONV_VK_CHECK(call)                                                   \
  do {                                                                          \
    const VkResult upconv_vk_result_ = (call);                                  \
    if (upconv_vk_result_ != VK_SUCCESS)                                        \
      return ::upconv::detail::vk::result_status(upconv_vk_result_, #call);     \
  } while (0)

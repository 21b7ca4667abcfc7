/* upconv — C ABI for Vulkan interop: run upconv on a device the caller owns and record ops into
 * the caller's command buffers. The C form of upconv/vulkan.hpp (read it for the full contract:
 * lifetimes, the barriers the caller owes, timing); the conventions are upconv.h's.
 *
 * This header includes <vulkan/vulkan.h> for the handle types only; upconv never links
 * libvulkan. volk users define VK_NO_PROTOTYPES for the whole project, as volk requires.
 */
#ifndef UPCONV_UPCONV_VULKAN_H
#define UPCONV_UPCONV_VULKAN_H

#include <vulkan/vulkan.h>

#include "upconv/upconv.h"

#ifdef __cplusplus
extern "C" {
#endif

/** The caller's Vulkan objects (see upconv::VulkanAdoptInfo). upconv borrows every handle and
 *  destroys none: each must outlive the context and every plan made from it. */
typedef struct upconv_vulkan_adopt_info {
  VkInstance instance;                 /**< Vulkan 1.1 or newer */
  VkPhysicalDevice physical_device;
  VkDevice device;
  uint32_t queue_family;               /**< a family with VK_QUEUE_COMPUTE_BIT */
  VkQueue queue;                       /**< of that family; upconv_plan_run submits to it */
  PFN_vkGetInstanceProcAddr get_instance_proc_addr; /**< NULL = the system loader's */
  int storage_buffer_16bit_enabled;    /**< non-zero when the device was created with
                                            storageBuffer16BitAccess (fp16 plans need it) */
} upconv_vulkan_adopt_info;

/** A context on the caller's device. `options` may be NULL; its backend, vulkan_device and
 *  vulkan_validation are ignored, precision and pipeline_cache_path apply. */
upconv_status upconv_context_create_vulkan_adopted(const upconv_vulkan_adopt_info* info,
                                                   const upconv_context_options* options, upconv_context** out);

/** The storage precision a Vulkan context's plans use (FP16 only where asked for and available).
 *  Fails with UPCONV_INVALID_ARGUMENT for a CPU context. */
upconv_status upconv_vulkan_storage_precision(const upconv_context* context, upconv_precision* out);

/** A range of a caller-owned VkBuffer created with VK_BUFFER_USAGE_STORAGE_BUFFER_BIT. `offset` is
 *  a multiple of minStorageBufferOffsetAlignment; `range` may be VK_WHOLE_SIZE. */
typedef struct upconv_vulkan_buffer_binding {
  VkBuffer buffer;
  VkDeviceSize offset;
  VkDeviceSize range;
} upconv_vulkan_buffer_binding;

typedef enum upconv_record_timing {
  UPCONV_RECORD_TIMING_OFF = 0,        /**< record only the op's commands */
  UPCONV_RECORD_TIMING_TIMESTAMPS = 1, /**< also timestamps: upconv_plan_last_device_time_ms gives the
                                            GPU time once an execution has completed */
  UPCONV_RECORD_TIMING_MAX_ENUM = 0x7FFFFFFF
} upconv_record_timing;

/** Records `plan` into `cmd` (recording state, a pool of the plan's device, a compute-capable
 *  queue family), reading `input` (dims `input_dims`, dense NCHW / NCL) and writing `output`
 *  (dims from upconv_plan_output_shape). Elements are float, or IEEE half for FP16 plans.
 *  `indices` (uint32 flat indices into each output plane) is for max_unpool2d only; NULL
 *  otherwise. The caller submits `cmd` and owes the barriers upconv/vulkan.hpp lists. */
upconv_status upconv_plan_record(upconv_plan* plan, VkCommandBuffer cmd, const int64_t* input_dims, int input_rank,
                                 const upconv_vulkan_buffer_binding* input,
                                 const upconv_vulkan_buffer_binding* output,
                                 const upconv_vulkan_buffer_binding* indices, upconv_record_timing timing);

#ifdef __cplusplus
}  /* extern "C" */
#endif

#endif /* UPCONV_UPCONV_VULKAN_H */

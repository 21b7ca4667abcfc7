// upconv — Vulkan interop: list devices, run upconv on a device the caller owns, and record ops
// into the caller's command buffers.
//
// This header includes <vulkan/vulkan.h> for the handle types only; upconv itself never links
// libvulkan (it opens the loader at run time). It works with the plain Vulkan SDK headers and with
// volk: volk users define VK_NO_PROTOTYPES for the whole project (as volk requires) and may
// include volk.h before or after this header.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <vulkan/vulkan.h>

#include "upconv/plan.hpp"
#include "upconv/status.hpp"
#include "upconv/tensor.hpp"

namespace upconv {

/// One Vulkan physical device as `upconv info` shows it: identity, and the limits and features
/// upconv's dispatch planning uses.
struct VulkanDeviceInfo {
  uint32_t index = 0;                  ///< position in vkEnumeratePhysicalDevices (UPCONV_DEVICE=<index>)
  std::string name;                    ///< VkPhysicalDeviceProperties::deviceName
  std::string type;                    ///< "discrete", "integrated", "virtual", "cpu" or "other"
  std::string api_version;             ///< "1.3.230"
  std::string driver;                  ///< driver name and info where the device reports them, else the version number
  uint32_t vendor_id = 0, device_id = 0;
  uint32_t max_workgroup_size[3] = {0, 0, 0};
  uint32_t max_workgroup_invocations = 0;
  uint32_t max_workgroup_count[3] = {0, 0, 0};
  uint32_t max_shared_memory_bytes = 0;
  uint32_t max_push_constants_bytes = 0;
  uint32_t subgroup_size = 0;
  bool subgroup_ballot = false;        ///< subgroup ballot in compute shaders (conv lanes share weight loads)
  bool storage_buffer_16bit = false;   ///< fp16 storage (--precision fp16) is available
  bool texel_reads = false;            ///< conv/pixel_shuffle shaders read through texel buffers (UPCONV_VULKAN_READS)
  bool shared_staging = false;         ///< conv shaders stage input and weight tiles in shared memory (UPCONV_VULKAN_STAGING)
  float timestamp_period_ns = 0.0f;    ///< nanoseconds per timestamp tick
  uint32_t timestamp_valid_bits = 0;   ///< of the compute queue family; 0 = no GPU timing
  bool usable = false;                 ///< Vulkan 1.1+ with a compute queue: upconv can run on it
};

/// Lists the Vulkan devices of this machine. Fails with backend_unavailable when there is no
/// Vulkan loader (or upconv was built without Vulkan); an empty list means a loader but no device.
Result<std::vector<VulkanDeviceInfo>> list_vulkan_devices();

/// The caller's Vulkan objects for create_vulkan_context. upconv borrows every handle and never
/// destroys any of them: each must stay valid until the context AND every plan made from it
/// have been destroyed.
struct VulkanAdoptInfo {
  /// The instance `device` was created from (Vulkan 1.1 or newer).
  VkInstance instance = VK_NULL_HANDLE;
  /// The physical device `device` was created on.
  VkPhysicalDevice physical_device = VK_NULL_HANDLE;
  /// The logical device; upconv creates its buffers, pipelines, pools and fences on it.
  VkDevice device = VK_NULL_HANDLE;
  /// A queue family of `device` with VK_QUEUE_COMPUTE_BIT.
  uint32_t queue_family = 0;
  /// A queue of that family, used by Plan::run (upload, dispatch, download, wait). upconv
  /// submits to it under its own lock only; if the caller submits to the same queue from other
  /// threads, the caller must serialise those submissions with Plan::run calls (Vulkan requires
  /// external synchronisation of a queue).
  VkQueue queue = VK_NULL_HANDLE;
  /// Optional: the vkGetInstanceProcAddr to resolve every function from (e.g. the one the
  /// caller's loader or layer chain uses). nullptr = the system loader's (libvulkan.so.1).
  PFN_vkGetInstanceProcAddr get_instance_proc_addr = nullptr;
  /// Set when `device` was created with VkPhysicalDevice16BitStorageFeatures::
  /// storageBuffer16BitAccess enabled (Vulkan cannot be asked which features a device enabled).
  /// Only then can plans use fp16 precision; otherwise they use fp32.
  bool storage_buffer_16bit_enabled = false;
};

/// Creates a Vulkan context on the caller's device. `options.backend`, `vulkan_device` and
/// `vulkan_validation` are ignored (the caller chose the device and its layers; install your
/// own debug messenger to see validation messages); `precision` and `pipeline_cache_path` apply.
Result<Context> create_vulkan_context(const VulkanAdoptInfo& info, const ContextOptions& options = {});

/// The storage precision a Vulkan context's plans use (fp16 only where it was asked for and the
/// device has 16-bit storage). Fails for a non-Vulkan context.
Result<Precision> vulkan_storage_precision(const Context& context);

/// A range of a caller-owned VkBuffer (created with VK_BUFFER_USAGE_STORAGE_BUFFER_BIT). `offset`
/// must be a multiple of minStorageBufferOffsetAlignment; `range` may be VK_WHOLE_SIZE.
struct VulkanBufferBinding {
  VkBuffer buffer = VK_NULL_HANDLE;
  VkDeviceSize offset = 0;
  VkDeviceSize range = VK_WHOLE_SIZE;
};

/// GPU timing of recorded commands (see record).
enum class RecordTiming {
  off,         ///< record only the op's commands
  timestamps,  ///< also a query reset and two timestamps around them, read by Plan::last_device_time_ms
};

/// Records `plan` into the caller's command buffer `cmd` (in the recording state, from a pool of
/// the plan's device, on a queue family with compute), reading `input` (shape `input_shape`)
/// and writing `output` (shape plan.output_shape(input_shape)), dense NCHW / NCL. Elements are
/// float (fp32 plans) or IEEE half (fp16 plans, see vulkan_storage_precision). max_unpool2d
/// needs `indices`: uint32 flat indices into each output plane, one per input element; the
/// others must pass nullptr. The caller submits the command buffer.
///
/// Barriers the caller owes:
///  - before: writes to `input` (and `indices`) must be made available and visible to
///    VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT / VK_ACCESS_SHADER_READ_BIT, and earlier accesses to
///    `output` must be finished before VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT /
///    VK_ACCESS_SHADER_WRITE_BIT;
///  - after: `output` was written by VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT /
///    VK_ACCESS_SHADER_WRITE_BIT; a barrier from there to the consumer is the caller's.
/// Between the op's own dispatches upconv records its barriers itself. The recorded commands
/// bind compute pipelines, a descriptor set and push constants: re-bind your own afterwards
/// (timed, they also reset and write two queries of a query pool of the plan's own).
///
/// Pipelines: `input` and `output` are read and written as storage buffers (the caller's buffers
/// need VK_BUFFER_USAGE_STORAGE_BUFFER_BIT only). On devices where Plan::run reads conv and
/// pixel_shuffle inputs as texels (CPU-type devices, VulkanDeviceInfo::texel_reads) the pipelines
/// of that variant are built at plan creation and the first record() of such a plan builds its own.
///
/// Lifetime: the plan's descriptor set is written when record() is called, so the command
/// buffer recorded by one record() call must have completed execution before the same plan is
/// recorded again or destroyed (use one plan per op instance in a frame). Plan::run uses a
/// separate descriptor set and may be called meanwhile.
///
/// Timing: with RecordTiming::timestamps, `cmd` must be for a queue family with timestamps
/// (VulkanDeviceInfo::timestamp_valid_bits > 0; an error names the context's family when it has
/// none). Plan::last_device_time_ms() then returns the GPU time of the recorded commands once an
/// execution of `cmd` has completed, and -1 while none has (it never waits; a later execution's
/// time replaces an earlier one's). A run() or an untimed record() ends that: the plan then
/// reports the run's time, or -1.
Status record(Plan& plan, VkCommandBuffer cmd, const Shape& input_shape, VulkanBufferBinding input,
              VulkanBufferBinding output, const VulkanBufferBinding* indices = nullptr,
              RecordTiming timing = RecordTiming::off);

}  // namespace upconv

// Internal: one Vulkan device as upconv uses it — instance (owned or borrowed), chosen physical
// device, logical device (owned or borrowed), a compute queue, the function tables, the
// validation-message log, and the per-device memory allocator and pipeline store.
#pragma once

#include <algorithm>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <variant>
#include <vector>

#include "runtime/vulkan/staged_loop.hpp"
#include "runtime/vulkan/vk_functions.hpp"
#include "runtime/vulkan/vk_handles.hpp"
#include "runtime/vulkan/vk_pipeline_stats.hpp"
#include "upconv/plan.hpp"
#include "upconv/vulkan.hpp"

namespace upconv::detail::vk {

class MemoryAllocator;
class PipelineStore;

/// Validation-layer messages of one instance. The messenger callback appends; each upconv call
/// turns new messages into a failed Status.
struct ValidationLog {
  std::mutex mutex;
  std::vector<std::string> pending;  // not yet reported through a Status
  uint64_t total = 0;                // every message since creation
};

/// A candidate for device choice (a pure description so the policy is testable without Vulkan).
struct DeviceCandidate {
  std::string name;
  VkPhysicalDeviceType type = VK_PHYSICAL_DEVICE_TYPE_OTHER;
  bool usable = false;  // Vulkan 1.1+ with a compute queue
};

/// Picks a device: `selector` "" = best usable by type (discrete > integrated > virtual > CPU >
/// other, first in enumeration order on ties), digits = that index, else a case-insensitive
/// name substring (best match by type). `only_gpus` never picks CPU-type devices.
Result<uint32_t> choose_device(const std::vector<DeviceCandidate>& devices, const std::string& selector,
                               bool only_gpus);

/// The static properties of a physical device that upconv uses.
struct DeviceProperties {
  VkPhysicalDeviceProperties core{};
  uint32_t subgroup_size = 0;
  bool subgroup_ballot = false;       // subgroup ballot operations in compute shaders
  bool storage_buffer_16bit = false;  // supported by the physical device
  std::string driver;                 // name + info where reported
};
DeviceProperties query_properties(const InstanceFunctions& ifn, VkPhysicalDevice physical);

/// Lists devices through a temporary instance (used by list_vulkan_devices).
Result<std::vector<VulkanDeviceInfo>> enumerate_devices();

class VulkanDevice {
 public:
  /// Creates an instance (with the validation layer when asked) and a device chosen by
  /// options.vulkan_device / UPCONV_DEVICE.
  static Result<std::shared_ptr<VulkanDevice>> create(const ContextOptions& options, bool only_gpus);
  /// Borrows the caller's instance, device and queue.
  static Result<std::shared_ptr<VulkanDevice>> adopt(const VulkanAdoptInfo& info, const ContextOptions& options);

  VulkanDevice(const VulkanDevice&) = delete;
  VulkanDevice& operator=(const VulkanDevice&) = delete;
  ~VulkanDevice();

  const DeviceFunctions& fn() const noexcept { return dfn_; }
  VkDevice device() const noexcept { return device_handle_; }
  VkPhysicalDevice physical_device() const noexcept { return physical_; }
  uint32_t queue_family() const noexcept { return queue_family_; }
  const DeviceProperties& properties() const noexcept { return props_; }
  const VkPhysicalDeviceLimits& limits() const noexcept { return props_.core.limits; }
  const VkPhysicalDeviceMemoryProperties& memory_properties() const noexcept { return memory_props_; }
  /// 16-bit storage is enabled on the logical device.
  bool fp16_storage() const noexcept { return fp16_enabled_; }
  /// Subgroup ballot in compute shaders, unless UPCONV_VULKAN_NO_SUBGROUPS is set (a workaround
  /// for drivers whose subgroup operations misbehave; also how tests cover that path).
  bool subgroup_broadcast() const noexcept { return subgroup_broadcast_; }
  /// Whether conv weights, and the inputs of run() for convs and pixel_shuffle, should be read
  /// through uniform texel buffers rather than storage buffers (shaders/conv_common.glsl
  /// W_TEXELS, X_TEXELS; shaders/pixel_shuffle.comp X_TEXELS): on
  /// CPU-type devices, where llvmpipe fetches a texel with one vector load per lane but loads
  /// storage buffers in a scalar loop over the lanes. UPCONV_VULKAN_READS=texel or =buffer
  /// overrides (tests cover both paths with it).
  bool texel_reads() const noexcept { return texel_reads_; }
  /// Whether the conv shaders stage input and weight tiles in shared memory (shaders/
  /// conv_staged.glsl): on GPUs, where the lanes of a workgroup then read each weight and input
  /// value from device memory once instead of once per lane. Not on CPU-type devices: llvmpipe
  /// runs a shared-memory access as the same scalar loop over the lanes as a buffer load and
  /// pays for every barrier. UPCONV_VULKAN_STAGING=shared or =none overrides (tests force it on
  /// lavapipe).
  bool shared_staging() const noexcept { return shared_staging_; }
  /// Lanes a staged conv launch aims for before its lanes take fewer positions each
  /// (DeviceCaps::staged_target_lanes): 65536 on GPUs, 0 on CPU-type devices;
  /// UPCONV_VULKAN_STAGED_LANES overrides.
  uint64_t staged_target_lanes() const noexcept { return staged_target_lanes_; }
  /// Whether staged conv launches under that many lanes at their smallest tiles split their input
  /// channels over several workgroups and add the partial sums in a second pass
  /// (DeviceCaps::split_reduction): on unless UPCONV_VULKAN_SPLIT=none.
  bool split_reduction() const noexcept { return split_reduction_; }
  /// Whether such launches split before their lanes take fewer positions each
  /// (DeviceCaps::split_first): only with UPCONV_VULKAN_SPLIT=first.
  bool split_first() const noexcept { return split_first_; }
  /// Elements a staged conv lane loads per round while staging (DeviceCaps::stage_batch): 8;
  /// UPCONV_VULKAN_STAGE_BATCH overrides.
  uint32_t stage_batch() const noexcept { return stage_batch_; }
  /// Most lanes of a staged conv workgroup (DeviceCaps::staged_workgroup): 128;
  /// UPCONV_VULKAN_STAGED_WG overrides.
  uint32_t staged_workgroup() const noexcept { return staged_workgroup_; }
  /// Channel tiles a staged conv workgroup takes before its spatial block
  /// (DeviceCaps::staged_co_first): 2; UPCONV_VULKAN_STAGED_CO overrides.
  uint32_t staged_co_first() const noexcept { return staged_co_first_; }
  /// How staged conv workgroups walk their steps (DeviceCaps::staged_loop): prefetch;
  /// UPCONV_VULKAN_STAGED_LOOP overrides.
  StagedLoop staged_loop() const noexcept { return staged_loop_; }
  /// Times Plan::run records the op's dispatches back to back (each run computes the same
  /// output again); Plan::last_device_time_ms() is then their time divided by that count. 1;
  /// UPCONV_VULKAN_TIMING_REPEATS overrides, for benchmarks at a GPU's steady-state clocks.
  uint32_t timing_repeats() const noexcept { return timing_repeats_; }
  /// For benchmarks (set_benchmark_dispatch_repeats), before any run: clamped to 1..1000.
  void set_timing_repeats(uint32_t repeats) noexcept { timing_repeats_ = std::clamp<uint32_t>(repeats, 1, 1000); }
  /// Timestamp ticks are usable on the queue (valid bits > 0 and compute timestamps supported).
  bool has_timestamps() const noexcept { return timestamp_valid_bits_ > 0; }
  uint32_t timestamp_valid_bits() const noexcept { return timestamp_valid_bits_; }
  double timestamp_period_ns() const noexcept { return props_.core.limits.timestampPeriod; }
  std::string name() const { return props_.core.deviceName; }
  bool adopted() const noexcept { return std::holds_alternative<Borrowed<VkDevice>>(device_); }

  /// Submits one command buffer to the queue (serialised: a queue needs external sync).
  Status submit(VkCommandBuffer cmd, VkFence fence);

  /// A failed Status carrying the validation messages logged since the last call, or success.
  Status take_validation_status();
  /// Validation messages logged since creation (tests assert zero).
  uint64_t validation_message_count();

  MemoryAllocator& memory() noexcept { return *memory_; }
  PipelineStore& pipelines() noexcept { return *pipelines_; }

 private:
  VulkanDevice() = default;
  Status create_instance(bool validation);
  Status create_device(uint32_t physical_index_hint, const std::vector<VkPhysicalDevice>& physicals);
  Status finish_setup(const ContextOptions& options);

  // Declaration order is destruction order in reverse: device children, then the device, the
  // messenger, the instance, and last the loader library.
  LoaderLibrary library_;
  GlobalFunctions gfn_;
  InstanceFunctions ifn_;
  DeviceFunctions dfn_;
  std::unique_ptr<ValidationLog> log_ = std::make_unique<ValidationLog>();
  std::variant<Borrowed<VkInstance>, OwnedInstance> instance_;
  VkInstance instance_handle_ = VK_NULL_HANDLE;
  OwnedMessenger messenger_;
  VkPhysicalDevice physical_ = VK_NULL_HANDLE;
  DeviceProperties props_;
  VkPhysicalDeviceMemoryProperties memory_props_{};
  std::variant<Borrowed<VkDevice>, OwnedDevice> device_;
  VkDevice device_handle_ = VK_NULL_HANDLE;
  uint32_t queue_family_ = 0;
  VkQueue queue_ = VK_NULL_HANDLE;
  std::mutex queue_mutex_;
  bool fp16_enabled_ = false;
  bool subgroup_broadcast_ = false;
  bool texel_reads_ = false;
  bool shared_staging_ = false;
  uint64_t staged_target_lanes_ = 0;
  bool split_reduction_ = true;
  bool split_first_ = false;
  uint32_t stage_batch_ = 8;
  uint32_t staged_workgroup_ = 128;
  uint32_t staged_co_first_ = 2;
  StagedLoop staged_loop_ = StagedLoop::prefetch;
  uint32_t timing_repeats_ = 1;
  PipelineStatsReporter pipeline_stats_;  // off unless UPCONV_VULKAN_PIPELINE_STATS (vk_pipeline_stats.hpp)
  uint32_t timestamp_valid_bits_ = 0;
  std::unique_ptr<MemoryAllocator> memory_;
  std::unique_ptr<PipelineStore> pipelines_;
};

}  // namespace upconv::detail::vk

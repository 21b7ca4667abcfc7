// Internal: one prepared operator on a Vulkan device. Owns the packed weights and bias on the
// device, its descriptor sets, command buffer, fence and timestamp queries, and the activation
// buffers of Plan::run (reused across runs, grown when a larger input comes).
#pragma once

#include <memory>
#include <vector>

#include "runtime/backend.hpp"
#include "runtime/vulkan/dispatch_plan.hpp"
#include "runtime/vulkan/vk_device.hpp"
#include "runtime/vulkan/vk_memory.hpp"
#include "upconv/vulkan.hpp"

namespace upconv::detail::vk {

class VulkanKernel final : public OpKernel {
 public:
  static Result<std::unique_ptr<VulkanKernel>> create(std::shared_ptr<VulkanDevice> device, Precision precision,
                                                      const OpDesc& desc, const float* weight, const float* bias);
  ~VulkanKernel() override;

  Status run(const OpArgs& args) override;
  double last_device_time_ms() const override;

  /// Records the op into a caller's command buffer on the caller's buffers (upconv::record).
  Status record(VkCommandBuffer cmd, const Dims4& in, const Dims4& out, const VulkanBufferBinding& input,
                const VulkanBufferBinding& output, const VulkanBufferBinding* indices, RecordTiming timing);

  bool fp16() const noexcept { return storage_ == shaders::Storage::fp16; }
  VulkanDevice& device() noexcept { return *device_; }

 private:
  explicit VulkanKernel(std::shared_ptr<VulkanDevice> device) : device_(std::move(device)) {}
  Status init(Precision precision, const OpDesc& desc, const float* weight, const float* bias);
  Status build_pipelines_for_representative_shape();
  /// `input_texels`: the input is bound as texels too (run() on devices that prefer it).
  Result<std::vector<Dispatch>> plan(const Dims4& in, const Dims4& out, bool input_texels,
                                     bool unpool_indices_in_window = false) const;
  /// Whether run() reads an input of `bytes` through the texel view (policy and size limit).
  bool input_texels_for(VkDeviceSize bytes) const;
  /// The pipeline of one dispatch (its shader variant and spec constants), built on first use.
  Result<VkPipeline> pipeline_for(const Dispatch& d);
  Status ensure_buffer(Buffer& buffer, VkDeviceSize bytes, MemoryUse use);
  Status upload(Buffer& target, const void* data, VkDeviceSize bytes);
  /// Sizes `target` for `values` in the storage type, converts and uploads them.
  Status upload_floats(Buffer& target, VkDeviceSize& bytes, const std::vector<float>& values);
  Status begin_commands();
  Status submit_and_wait();
  /// Writes the five storage bindings and the two texel views into `set`.
  void write_set(VkDescriptorSet set, const VkDescriptorBufferInfo (&infos)[5], VkBufferView input_view);
  /// A uniform texel buffer view of `bytes` of `buffer` in the storage format.
  Result<Owned<VkBufferView>> make_texel_view(const Buffer& buffer, VkDeviceSize bytes, uint32_t channels);
  Status record_dispatches(VkCommandBuffer cmd, VkDescriptorSet set, const std::vector<Dispatch>& dispatches);
  /// unsupported when a binding of `bytes` exceeds maxStorageBufferRange.
  Status check_range(const char* what, VkDeviceSize bytes) const;
  /// Binding kIndices for a conv's partial sums (Dispatch::scratch_floats): `buffer`, grown to
  /// the dispatches' largest need, or the dummy where they need none.
  Result<VkDescriptorBufferInfo> partial_sums_for(const std::vector<Dispatch>& dispatches, Buffer& buffer);
  size_t element_bytes() const noexcept { return fp16() ? 2 : 4; }
  /// Milliseconds between the timestamps at queries `first` and first + 1, or -1 when they are
  /// not both available (`wait`: block until they are).
  double elapsed_ms(uint32_t first, bool wait) const;

  std::shared_ptr<VulkanDevice> device_;  // first: destroyed last
  const DeviceFunctions* fn_ = nullptr;
  OpDesc desc_;
  DeviceCaps caps_{};
  shaders::Storage storage_ = shaders::Storage::fp32;
  bool unified_memory_ = false;  // activations live in host-visible device memory: no staging copies
  Buffer weight_, bias_, dummy_;
  VkDeviceSize weight_bytes_ = 0, bias_bytes_ = 0;
  // Binding kWeightTexels: a view of weight_ where the planner reads weights as texels, else
  // dummy_view_ (every binding of the set layout must hold a valid descriptor). kInputTexels:
  // input_view_ (of input_) in runs that read the input as texels, else dummy_view_.
  Owned<VkBufferView> dummy_view_, weight_view_, input_view_;
  VkDeviceSize input_view_bytes_ = 0;
  Buffer input_, output_, indices_, staging_;
  // Partial sums of conv launches split over input channels (Dispatch::scratch_floats), one for
  // run() and one for record(), whose command buffer may still be executing during a run().
  Buffer run_scratch_, record_scratch_;
  Owned<VkDescriptorPool> descriptor_pool_;
  VkDescriptorSet run_set_ = VK_NULL_HANDLE, record_set_ = VK_NULL_HANDLE;
  Owned<VkCommandPool> command_pool_;
  VkCommandBuffer cmd_ = VK_NULL_HANDLE;
  Owned<VkFence> fence_;
  // Timestamps: queries 0-1 bracket run()'s dispatches, 2-3 those of a timed record().
  static constexpr uint32_t kRunQueries = 0, kRecordQueries = 2;
  Owned<VkQueryPool> queries_;
  enum class TimingSource { none, run, record } timing_ = TimingSource::none;
  double last_device_ms_ = -1.0;  // of the last run()
};

}  // namespace upconv::detail::vk

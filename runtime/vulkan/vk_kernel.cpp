// The Vulkan OpKernel: weights uploaded once, pipelines built at plan creation, and per run:
// upload (staging, or direct writes on unified memory), dispatches with barriers between them,
// timestamps around them, submit, wait, download.
#include "runtime/vulkan/vk_kernel.hpp"

#include <algorithm>
#include <cstring>
#include <string>

#include "runtime/validate.hpp"
#include "runtime/vulkan/half.hpp"
#include "runtime/vulkan/vk_pipelines.hpp"

namespace upconv::detail::vk {
namespace {

// A run that takes longer than this is treated as a hung device.
constexpr uint64_t kFenceTimeoutNs = uint64_t{120} * 1000 * 1000 * 1000;

VkDeviceSize round_up16(VkDeviceSize bytes) { return std::max<VkDeviceSize>(16, (bytes + 15) / 16 * 16); }

/// A small input for which every op yields a non-empty output, for the pipelines built at plan
/// creation. Most of plan_dispatches' specialization constants depend on the operator only; a
/// few pick a vector path from the row width (conv outputs of whole vec4s, pixel_shuffle input
/// rows of whole vec4s), so the representative rows are of whole vec4s where the operator allows,
/// as in most real layers; a run that takes another variant builds it on first use (cached).
Dims4 representative_input(const OpDesc& desc) {
  return std::visit(
      [](const auto& d) -> Dims4 {
        using D = std::decay_t<decltype(d)>;
        if constexpr (std::is_same_v<D, ConvDesc>) {
          const int64_t h = d.dil_h * (d.kh - 1) + 1 + d.pad_top + d.pad_bottom + d.stride_h;
          int64_t w = d.dil_w * (d.kw - 1) + 1 + d.pad_left + d.pad_right + d.stride_w;
          for (int64_t extra = 0; extra < 8; ++extra)  // the first output width of whole vec4s, if any
            if (d.output_dims(Dims4{1, d.c_in, h, w + extra}).w % 4 == 0) {
              w += extra;
              break;
            }
          return {1, d.c_in, d.spatial_rank == 1 ? 1 : h, w};
        } else if constexpr (std::is_same_v<D, ShuffleDesc>) {
          const int64_t f = d.factor;
          return d.inverse ? Dims4{1, 1, f, 4 * f} : Dims4{1, f * f, 1, 8};
        } else {
          return {1, 1, 2, 4};
        }
      },
      desc);
}

Dims4 representative_output(const OpDesc& desc, const Dims4& in) {
  return std::visit(
      [&](const auto& d) -> Dims4 {
        using D = std::decay_t<decltype(d)>;
        if constexpr (std::is_same_v<D, ConvDesc>) {
          return d.output_dims(in);
        } else if constexpr (std::is_same_v<D, ShuffleDesc>) {
          const int64_t f = d.factor;
          return d.inverse ? Dims4{1, f * f, 1, 4} : Dims4{1, 1, f, 8 * f};
        } else if constexpr (std::is_same_v<D, ResampleDesc>) {
          return {1, 1, in.h * d.factor_h, in.w * d.factor_w};
        } else {
          const auto& p = d.params;
          return {1, 1, std::max<int64_t>(1, (in.h - 1) * p.stride[0] - 2 * p.padding[0] + p.kernel[0]),
                  std::max<int64_t>(1, (in.w - 1) * p.stride[1] - 2 * p.padding[1] + p.kernel[1])};
        }
      },
      desc);
}

// Converts max_unpool2d's int64 indices to the uint32 the shaders read, in one pass that also
// checks them: `inside` (every index within its output plane; the GPU never sees one that is
// not) and, where `windows` (unpool_windows_tile), `in_window`: every index within its own
// element's kh x kw window, which makes the gather pass exact.
struct IndexScan {
  bool inside = true;
  bool in_window = true;
};

IndexScan convert_indices(const int64_t* idx, uint32_t* out, const Dims4& xd, const Dims4& yd, int64_t kh,
                          int64_t kw, bool windows) {
  IndexScan scan;
  scan.in_window = windows;
  const auto plane = static_cast<uint64_t>(yd.plane());
  const int64_t planes = xd.n * xd.c;
  size_t i = 0;
  for (int64_t p = 0; p < planes; ++p)
    for (int64_t ih = 0; ih < xd.h; ++ih)
      for (int64_t iw = 0; iw < xd.w; ++iw, ++i) {
        const auto v = static_cast<uint64_t>(idx[i]);
        scan.inside &= v < plane;
        out[i] = static_cast<uint32_t>(v);
        if (scan.in_window) {
          // Offset from the window's top-left output; inside the window iff row < kh, column < kw.
          const uint64_t d = v - static_cast<uint64_t>(ih * kh * yd.w + iw * kw);  // wraps if negative
          bool hit = false;
          for (int64_t r = 0; r < kh; ++r) hit |= d - static_cast<uint64_t>(r * yd.w) < static_cast<uint64_t>(kw);
          scan.in_window = hit;
        }
      }
  return scan;
}

void compute_barrier(const DeviceFunctions& fn, VkCommandBuffer cmd, VkPipelineStageFlags src_stage,
                     VkAccessFlags src, VkPipelineStageFlags dst_stage, VkAccessFlags dst) {
  VkMemoryBarrier barrier{VK_STRUCTURE_TYPE_MEMORY_BARRIER};
  barrier.srcAccessMask = src;
  barrier.dstAccessMask = dst;
  fn.vkCmdPipelineBarrier(cmd, src_stage, dst_stage, 0, 1, &barrier, 0, nullptr, 0, nullptr);
}

}  // namespace

Result<std::unique_ptr<VulkanKernel>> VulkanKernel::create(std::shared_ptr<VulkanDevice> device, Precision precision,
                                                           const OpDesc& desc, const float* weight, const float* bias) {
  std::unique_ptr<VulkanKernel> kernel(new VulkanKernel(std::move(device)));
  UPCONV_RETURN_IF_ERROR(kernel->init(precision, desc, weight, bias));
  return kernel;
}

VulkanKernel::~VulkanKernel() {
  // run() always waits for its submission; nothing of ours is in flight here. Commands the
  // caller recorded with record() are the caller's to finish first (documented).
}

Status VulkanKernel::init(Precision precision, const OpDesc& desc, const float* weight, const float* bias) {
  VulkanDevice& dev = *device_;
  fn_ = &dev.fn();
  const VkDevice vk = dev.device();
  desc_ = desc;
  storage_ = precision == Precision::fp16 && dev.fp16_storage() ? shaders::Storage::fp16 : shaders::Storage::fp32;
  const auto& limits = dev.limits();
  for (int i = 0; i < 3; ++i) {
    caps_.max_workgroup_size[i] = limits.maxComputeWorkGroupSize[i];
    caps_.max_workgroup_count[i] = limits.maxComputeWorkGroupCount[i];
  }
  caps_.max_workgroup_invocations = limits.maxComputeWorkGroupInvocations;
  caps_.max_shared_memory = limits.maxComputeSharedMemorySize;
  caps_.subgroup_size = dev.properties().subgroup_size;
  caps_.subgroup_broadcast = dev.subgroup_broadcast();
  caps_.shared_staging = dev.shared_staging();
  caps_.staged_target_lanes = dev.staged_target_lanes();
  caps_.split_reduction = dev.split_reduction();
  caps_.split_first = dev.split_first();
  caps_.stage_batch = dev.stage_batch();
  caps_.staged_workgroup = dev.staged_workgroup();
  caps_.staged_co_first = dev.staged_co_first();
  caps_.staged_loop = dev.staged_loop();
  caps_.fp16_storage = fp16();
  const auto type = dev.properties().core.deviceType;
  unified_memory_ = (type == VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU || type == VK_PHYSICAL_DEVICE_TYPE_CPU) &&
                    dev.memory().has_shared_memory();

  // Command pool, command buffer, fence, timestamp queries.
  VkCommandPoolCreateInfo pool_info{VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO};
  pool_info.flags = VK_COMMAND_POOL_CREATE_TRANSIENT_BIT;
  pool_info.queueFamilyIndex = dev.queue_family();
  VkCommandPool command_pool = VK_NULL_HANDLE;
  UPCONV_VK_CHECK(fn_->vkCreateCommandPool(vk, &pool_info, nullptr, &command_pool));
  command_pool_ = Owned<VkCommandPool>(vk, command_pool, fn_->vkDestroyCommandPool);
  VkCommandBufferAllocateInfo cmd_info{VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO};
  cmd_info.commandPool = command_pool;
  cmd_info.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY;
  cmd_info.commandBufferCount = 1;
  UPCONV_VK_CHECK(fn_->vkAllocateCommandBuffers(vk, &cmd_info, &cmd_));
  VkFenceCreateInfo fence_info{VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
  VkFence fence = VK_NULL_HANDLE;
  UPCONV_VK_CHECK(fn_->vkCreateFence(vk, &fence_info, nullptr, &fence));
  fence_ = Owned<VkFence>(vk, fence, fn_->vkDestroyFence);
  if (dev.has_timestamps()) {
    VkQueryPoolCreateInfo query_info{VK_STRUCTURE_TYPE_QUERY_POOL_CREATE_INFO};
    query_info.queryType = VK_QUERY_TYPE_TIMESTAMP;
    query_info.queryCount = 4;
    VkQueryPool queries = VK_NULL_HANDLE;
    UPCONV_VK_CHECK(fn_->vkCreateQueryPool(vk, &query_info, nullptr, &queries));
    queries_ = Owned<VkQueryPool>(vk, queries, fn_->vkDestroyQueryPool);
    // Reset once here: a timed record()'s queries may be read (last_device_time_ms) before the
    // caller's first execution, and reading never-reset queries is invalid. Reset queries
    // read as not available.
    UPCONV_RETURN_IF_ERROR(begin_commands());
    fn_->vkCmdResetQueryPool(cmd_, queries_.get(), 0, 4);
    UPCONV_RETURN_IF_ERROR(submit_and_wait());
  }

  // Two descriptor sets: one for run(), one for record() (see upconv/vulkan.hpp).
  const VkDescriptorPoolSize sizes[2] = {{VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, 2 * kBindingCount},
                                         {VK_DESCRIPTOR_TYPE_UNIFORM_TEXEL_BUFFER, 2 * kTexelBindingCount}};
  VkDescriptorPoolCreateInfo dp_info{VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO};
  dp_info.maxSets = 2;
  dp_info.poolSizeCount = 2;
  dp_info.pPoolSizes = sizes;
  VkDescriptorPool descriptor_pool = VK_NULL_HANDLE;
  UPCONV_VK_CHECK(fn_->vkCreateDescriptorPool(vk, &dp_info, nullptr, &descriptor_pool));
  descriptor_pool_ = Owned<VkDescriptorPool>(vk, descriptor_pool, fn_->vkDestroyDescriptorPool);
  VkDescriptorSetLayout layouts[2] = {dev.pipelines().set_layout(), dev.pipelines().set_layout()};
  VkDescriptorSetAllocateInfo set_info{VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO};
  set_info.descriptorPool = descriptor_pool;
  set_info.descriptorSetCount = 2;
  set_info.pSetLayouts = layouts;
  VkDescriptorSet sets[2];
  UPCONV_VK_CHECK(fn_->vkAllocateDescriptorSets(vk, &set_info, sets));
  run_set_ = sets[0];
  record_set_ = sets[1];

  const MemoryUse resident = unified_memory_ ? MemoryUse::shared : MemoryUse::device_local;
  UPCONV_RETURN_IF_ERROR(ensure_buffer(dummy_, 16, resident));
  uint32_t texel_channels = 1;
  if (const auto* conv = std::get_if<ConvDesc>(&desc)) {
    const std::vector<float> packed = pack_weight(*conv, weight, caps_);
    std::vector<float> bias_values(static_cast<size_t>(conv->c_out), 0.0f);
    if (bias) std::copy(bias, bias + conv->c_out, bias_values.begin());
    UPCONV_RETURN_IF_ERROR(upload_floats(weight_, weight_bytes_, packed));
    UPCONV_RETURN_IF_ERROR(upload_floats(bias_, bias_bytes_, bias_values));
    // R32_SFLOAT and R16_SFLOAT uniform texel buffers are mandatory formats; the element-count
    // limit (at least 65536) is the only reason to keep the storage-buffer path here.
    texel_channels = weight_texel_channels(*conv, caps_);
    caps_.weight_texels = dev.texel_reads() && packed.size() / texel_channels <= limits.maxTexelBufferElements;
  }
  auto dummy_view = make_texel_view(dummy_, 16, 4);
  if (!dummy_view.ok()) return dummy_view.status();
  dummy_view_ = std::move(dummy_view).value();
  if (caps_.weight_texels) {
    auto view = make_texel_view(weight_, weight_bytes_, texel_channels);
    if (!view.ok()) return view.status();
    weight_view_ = std::move(view).value();
  }
  UPCONV_RETURN_IF_ERROR(build_pipelines_for_representative_shape());
  return dev.take_validation_status();
}

Status VulkanKernel::build_pipelines_for_representative_shape() {
  const Dims4 in = representative_input(desc_);
  const Dims4 out = representative_output(desc_, in);
  if (out.h < 1 || out.w < 1) return {};  // built lazily on the first run instead
  // The variant run() takes for small inputs; record() and inputs beyond the texel limit build
  // theirs on first use.
  // max_unpool2d: both the scatter passes and the gather (indices in their windows).
  const auto* unpool = std::get_if<UnpoolDesc>(&desc_);
  for (bool gather : {false, true}) {
    if (gather && !(unpool && unpool_windows_tile(unpool->params, in, out))) break;
    auto dispatches = plan(in, out, input_texels_for(16), gather);
    // The planner may reject this particular shape (a limit of some variant); the pipelines are
    // then built on the first run instead. Only a failure to build a pipeline is an error here.
    if (!dispatches.ok()) return {};
    for (const Dispatch& d : *dispatches) {
      auto pipeline = pipeline_for(d);
      if (!pipeline.ok()) return pipeline.status();
    }
  }
  return {};
}

Result<VkPipeline> VulkanKernel::pipeline_for(const Dispatch& d) {
  PipelineKey key{static_cast<uint32_t>(d.shader), static_cast<uint32_t>(storage_), {}};
  for (const auto& s : d.spec) key.spec.emplace_back(s.id, s.value);
  const shaders::Spirv code = shaders::spirv(d.shader, storage_, caps_.subgroup_broadcast);
  if (!code.words) return Status(StatusCode::internal, "no SPIR-V for shader " + std::to_string(key.shader));
  return device_->pipelines().get(key, {code.words, code.word_count});
}

Result<std::vector<Dispatch>> VulkanKernel::plan(const Dims4& in, const Dims4& out, bool input_texels,
                                                 bool unpool_indices_in_window) const {
  DeviceCaps caps = caps_;
  caps.input_texels = input_texels;
  caps.unpool_indices_in_window = unpool_indices_in_window;
  return plan_dispatches(desc_, in, out, caps);
}

bool VulkanKernel::input_texels_for(VkDeviceSize bytes) const {
  // Only conv shaders and pixel_shuffle (depth to space) read the view; a caller's buffers
  // (record) lack texel usage.
  const auto* shuffle = std::get_if<ShuffleDesc>(&desc_);
  const bool reads_view = std::holds_alternative<ConvDesc>(desc_) || (shuffle && !shuffle->inverse);
  return reads_view && device_->texel_reads() &&
         round_up16(bytes) / (4 * element_bytes()) <= device_->limits().maxTexelBufferElements;
}

Status VulkanKernel::ensure_buffer(Buffer& buffer, VkDeviceSize bytes, MemoryUse use) {
  bytes = round_up16(bytes);
  if (buffer && buffer.size() >= bytes) return {};
  buffer = Buffer();  // free first so the space can be reused
  auto created = Buffer::create(*fn_, device_->device(), device_->memory(), bytes, use);
  if (!created.ok()) return created.status();
  buffer = std::move(created).value();
  return {};
}

Status VulkanKernel::begin_commands() {
  UPCONV_VK_CHECK(fn_->vkResetCommandPool(device_->device(), command_pool_.get(), 0));
  VkCommandBufferBeginInfo begin{VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO};
  begin.flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT;
  UPCONV_VK_CHECK(fn_->vkBeginCommandBuffer(cmd_, &begin));
  return {};
}

Status VulkanKernel::submit_and_wait() {
  UPCONV_VK_CHECK(fn_->vkEndCommandBuffer(cmd_));
  VkFence fence = fence_.get();
  UPCONV_VK_CHECK(fn_->vkResetFences(device_->device(), 1, &fence));
  UPCONV_RETURN_IF_ERROR(device_->submit(cmd_, fence));
  UPCONV_VK_CHECK(fn_->vkWaitForFences(device_->device(), 1, &fence, VK_TRUE, kFenceTimeoutNs));
  return {};
}

Status VulkanKernel::upload_floats(Buffer& target, VkDeviceSize& bytes, const std::vector<float>& values) {
  bytes = values.size() * element_bytes();
  UPCONV_RETURN_IF_ERROR(
      ensure_buffer(target, bytes, unified_memory_ ? MemoryUse::shared : MemoryUse::device_local));
  if (!fp16()) return upload(target, values.data(), bytes);
  std::vector<uint16_t> halves(values.size());
  floats_to_halves(values.data(), halves.data(), values.size());
  return upload(target, halves.data(), bytes);
}

Status VulkanKernel::upload(Buffer& target, const void* data, VkDeviceSize bytes) {
  if (target.mapped()) {
    std::memcpy(target.mapped(), data, bytes);
    return {};
  }
  auto staging = Buffer::create(*fn_, device_->device(), device_->memory(), round_up16(bytes), MemoryUse::staging);
  if (!staging.ok()) return staging.status();
  std::memcpy(staging->mapped(), data, bytes);
  UPCONV_RETURN_IF_ERROR(begin_commands());
  const VkBufferCopy region{0, 0, bytes};
  fn_->vkCmdCopyBuffer(cmd_, staging->get(), target.get(), 1, &region);
  return submit_and_wait();  // the next use (a run) is a later submission: ordered by the fence wait
}

Result<Owned<VkBufferView>> VulkanKernel::make_texel_view(const Buffer& buffer, VkDeviceSize bytes,
                                                          uint32_t channels) {
  VkBufferViewCreateInfo info{VK_STRUCTURE_TYPE_BUFFER_VIEW_CREATE_INFO};
  info.buffer = buffer.get();
  if (channels == 4)
    info.format = fp16() ? VK_FORMAT_R16G16B16A16_SFLOAT : VK_FORMAT_R32G32B32A32_SFLOAT;
  else
    info.format = fp16() ? VK_FORMAT_R16_SFLOAT : VK_FORMAT_R32_SFLOAT;
  info.offset = 0;
  const VkDeviceSize texel_bytes = channels * element_bytes();
  info.range = bytes / texel_bytes * texel_bytes;
  VkBufferView view = VK_NULL_HANDLE;
  UPCONV_VK_CHECK(fn_->vkCreateBufferView(device_->device(), &info, nullptr, &view));
  return Owned<VkBufferView>(device_->device(), view, fn_->vkDestroyBufferView);
}

static_assert(kWeightTexels == kBindingCount && kInputTexels == kBindingCount + 1 && kTexelBindingCount == 2,
              "the texel bindings follow the storage buffers in the set layout (vk_pipelines.cpp)");

void VulkanKernel::write_set(VkDescriptorSet set, const VkDescriptorBufferInfo (&infos)[5],
                             VkBufferView input_view) {
  VkWriteDescriptorSet writes[kBindingCount + kTexelBindingCount];
  for (uint32_t i = 0; i < kBindingCount; ++i) {
    writes[i] = {VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET};
    writes[i].dstSet = set;
    writes[i].dstBinding = i;
    writes[i].descriptorCount = 1;
    writes[i].descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER;
    writes[i].pBufferInfo = &infos[i];
  }
  const VkBufferView views[kTexelBindingCount] = {weight_view_ ? weight_view_.get() : dummy_view_.get(),
                                                  input_view ? input_view : dummy_view_.get()};
  for (uint32_t i = 0; i < kTexelBindingCount; ++i) {
    VkWriteDescriptorSet& texels = writes[kBindingCount + i];
    texels = {VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET};
    texels.dstSet = set;
    texels.dstBinding = i == 0 ? kWeightTexels : kInputTexels;
    texels.descriptorCount = 1;
    texels.descriptorType = VK_DESCRIPTOR_TYPE_UNIFORM_TEXEL_BUFFER;
    texels.pTexelBufferView = &views[i];
  }
  fn_->vkUpdateDescriptorSets(device_->device(), kBindingCount + kTexelBindingCount, writes, 0, nullptr);
}

Status VulkanKernel::record_dispatches(VkCommandBuffer cmd, VkDescriptorSet set,
                                       const std::vector<Dispatch>& dispatches) {
  PipelineStore& store = device_->pipelines();
  fn_->vkCmdBindDescriptorSets(cmd, VK_PIPELINE_BIND_POINT_COMPUTE, store.pipeline_layout(), 0, 1, &set, 0, nullptr);
  for (size_t i = 0; i < dispatches.size(); ++i) {
    const Dispatch& d = dispatches[i];
    auto pipeline = pipeline_for(d);
    if (!pipeline.ok()) return pipeline.status();
    if (i > 0 && d.after_previous)  // the previous dispatch's writes feed this one (zero-fill, then scatter)
      compute_barrier(*fn_, cmd, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, VK_ACCESS_SHADER_WRITE_BIT,
                      VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT);
    fn_->vkCmdBindPipeline(cmd, VK_PIPELINE_BIND_POINT_COMPUTE, *pipeline);
    if (d.push_size > 0)
      fn_->vkCmdPushConstants(cmd, store.pipeline_layout(), VK_SHADER_STAGE_COMPUTE_BIT, 0,
                              std::min<uint32_t>(d.push_size, kPushConstantRangeBytes), d.push.data());
    fn_->vkCmdDispatch(cmd, d.groups[0], d.groups[1], d.groups[2]);
  }
  return {};
}

Result<VkDescriptorBufferInfo> VulkanKernel::partial_sums_for(const std::vector<Dispatch>& dispatches, Buffer& buffer) {
  uint64_t floats = 0;
  for (const Dispatch& d : dispatches) floats = std::max(floats, d.scratch_floats);
  if (floats == 0) return VkDescriptorBufferInfo{dummy_.get(), 0, VK_WHOLE_SIZE};
  const VkDeviceSize bytes = round_up16(floats * sizeof(float));
  UPCONV_RETURN_IF_ERROR(check_range("partial sums", bytes));
  UPCONV_RETURN_IF_ERROR(ensure_buffer(buffer, bytes, MemoryUse::device_local));
  return VkDescriptorBufferInfo{buffer.get(), 0, bytes};
}

Status VulkanKernel::check_range(const char* what, VkDeviceSize bytes) const {
  const VkDeviceSize limit = device_->limits().maxStorageBufferRange;
  if (bytes <= limit) return {};
  return unsupported(std::string("the ") + what + " tensor needs a " + std::to_string(bytes) +
                     "-byte storage buffer; " + device_->name() + " binds at most " + std::to_string(limit) +
                     " bytes (maxStorageBufferRange): split the batch");
}

Status VulkanKernel::run(const OpArgs& args) {
  UPCONV_RETURN_IF_ERROR(device_->take_validation_status());
  timing_ = TimingSource::run;
  last_device_ms_ = -1.0;
  const size_t eb = element_bytes();
  const size_t in_count = static_cast<size_t>(args.xd.count()), out_count = static_cast<size_t>(args.yd.count());
  const VkDeviceSize in_bytes = in_count * eb, out_bytes = out_count * eb;
  const bool input_texels = input_texels_for(in_bytes);
  auto dispatches = plan(args.xd, args.yd, input_texels);
  if (!dispatches.ok()) return dispatches.status();
  const VkDeviceSize idx_bytes = args.indices ? in_count * sizeof(uint32_t) : 0;
  UPCONV_RETURN_IF_ERROR(check_range("input", round_up16(in_bytes)));
  UPCONV_RETURN_IF_ERROR(check_range("output", round_up16(out_bytes)));
  UPCONV_RETURN_IF_ERROR(check_range("indices", round_up16(idx_bytes)));
  const MemoryUse resident = unified_memory_ ? MemoryUse::shared : MemoryUse::device_local;
  auto partials = partial_sums_for(*dispatches, run_scratch_);
  if (!partials.ok()) return partials.status();
  // The view spans this run's input (whole texels: round_up16), so it is remade when the size
  // changes, and goes before the buffer when that is reallocated.
  if (input_view_bytes_ != round_up16(in_bytes)) input_view_.reset();
  UPCONV_RETURN_IF_ERROR(ensure_buffer(input_, in_bytes, resident));
  if (input_texels && !input_view_) {
    auto view = make_texel_view(input_, round_up16(in_bytes), 4);
    if (!view.ok()) return view.status();
    input_view_ = std::move(view).value();
    input_view_bytes_ = round_up16(in_bytes);
  }
  UPCONV_RETURN_IF_ERROR(ensure_buffer(output_, out_bytes, resident));
  if (args.indices) UPCONV_RETURN_IF_ERROR(ensure_buffer(indices_, idx_bytes, resident));
  // Staging layout: [input | indices | output], each 16-byte aligned.
  const VkDeviceSize idx_at = round_up16(in_bytes), out_at = idx_at + (args.indices ? round_up16(idx_bytes) : 0);
  if (!unified_memory_) UPCONV_RETURN_IF_ERROR(ensure_buffer(staging_, out_at + out_bytes, MemoryUse::staging));

  // Host -> device-visible memory.
  char* in_host = static_cast<char*>(unified_memory_ ? input_.mapped() : staging_.mapped());
  if (fp16())
    floats_to_halves(args.x, reinterpret_cast<uint16_t*>(in_host), in_count);
  else
    std::memcpy(in_host, args.x, in_bytes);
  if (args.indices) {
    auto* idx_host = reinterpret_cast<uint32_t*>(unified_memory_ ? static_cast<char*>(indices_.mapped())
                                                                 : static_cast<char*>(staging_.mapped()) + idx_at);
    const auto& q = std::get<UnpoolDesc>(desc_).params;
    const bool windows = unpool_windows_tile(q, args.xd, args.yd);
    const IndexScan scan = convert_indices(args.indices, idx_host, args.xd, args.yd, q.kernel[0], q.kernel[1], windows);
    if (!scan.inside) return check_unpool_indices(args.indices, args.xd.count(), args.yd.plane());  // words the error
    if (scan.in_window) {
      auto gather = plan(args.xd, args.yd, input_texels, /*unpool_indices_in_window=*/true);
      if (!gather.ok()) return gather.status();
      dispatches = std::move(gather);
    }
  }

  const VkDescriptorBufferInfo infos[5] = {
      {input_.get(), 0, round_up16(in_bytes)},
      {weight_ ? weight_.get() : dummy_.get(), 0, weight_ ? round_up16(weight_bytes_) : VK_WHOLE_SIZE},
      {bias_ ? bias_.get() : dummy_.get(), 0, bias_ ? round_up16(bias_bytes_) : VK_WHOLE_SIZE},
      {output_.get(), 0, round_up16(out_bytes)},
      args.indices ? VkDescriptorBufferInfo{indices_.get(), 0, round_up16(idx_bytes)} : *partials,
  };
  write_set(run_set_, infos, input_texels ? input_view_.get() : VK_NULL_HANDLE);

  UPCONV_RETURN_IF_ERROR(begin_commands());
  if (unified_memory_) {
    compute_barrier(*fn_, cmd_, VK_PIPELINE_STAGE_HOST_BIT, VK_ACCESS_HOST_WRITE_BIT,
                    VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, VK_ACCESS_SHADER_READ_BIT);
  } else {
    const VkBufferCopy in_region{0, 0, in_bytes};
    fn_->vkCmdCopyBuffer(cmd_, staging_.get(), input_.get(), 1, &in_region);
    if (args.indices) {
      const VkBufferCopy idx_region{idx_at, 0, idx_bytes};
      fn_->vkCmdCopyBuffer(cmd_, staging_.get(), indices_.get(), 1, &idx_region);
    }
    compute_barrier(*fn_, cmd_, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_ACCESS_TRANSFER_WRITE_BIT,
                    VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, VK_ACCESS_SHADER_READ_BIT);
  }
  if (queries_) {
    fn_->vkCmdResetQueryPool(cmd_, queries_.get(), kRunQueries, 2);
    // BOTTOM_OF_PIPE: written once every earlier command (the upload) has completed.
    fn_->vkCmdWriteTimestamp(cmd_, VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, queries_.get(), kRunQueries);
  }
  const uint32_t repeats = device_->timing_repeats();
  for (uint32_t r = 0; r < repeats; ++r) {
    if (r > 0)  // the repeat rewrites what the previous one wrote and read
      compute_barrier(*fn_, cmd_, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, VK_ACCESS_SHADER_WRITE_BIT,
                      VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT);
    UPCONV_RETURN_IF_ERROR(record_dispatches(cmd_, run_set_, *dispatches));
  }
  if (queries_) fn_->vkCmdWriteTimestamp(cmd_, VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, queries_.get(), kRunQueries + 1);
  if (unified_memory_) {
    compute_barrier(*fn_, cmd_, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, VK_ACCESS_SHADER_WRITE_BIT,
                    VK_PIPELINE_STAGE_HOST_BIT, VK_ACCESS_HOST_READ_BIT);
  } else {
    compute_barrier(*fn_, cmd_, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, VK_ACCESS_SHADER_WRITE_BIT,
                    VK_PIPELINE_STAGE_TRANSFER_BIT, VK_ACCESS_TRANSFER_READ_BIT);
    const VkBufferCopy out_region{0, out_at, out_bytes};
    fn_->vkCmdCopyBuffer(cmd_, output_.get(), staging_.get(), 1, &out_region);
    compute_barrier(*fn_, cmd_, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_ACCESS_TRANSFER_WRITE_BIT,
                    VK_PIPELINE_STAGE_HOST_BIT, VK_ACCESS_HOST_READ_BIT);
  }
  UPCONV_RETURN_IF_ERROR(submit_and_wait());

  const char* out_host = unified_memory_ ? static_cast<const char*>(output_.mapped())
                                         : static_cast<const char*>(staging_.mapped()) + out_at;
  if (fp16())
    halves_to_floats(reinterpret_cast<const uint16_t*>(out_host), args.y, out_count);
  else
    std::memcpy(args.y, out_host, out_bytes);

  last_device_ms_ = elapsed_ms(kRunQueries, /*wait=*/true);  // the fence wait made them available
  if (last_device_ms_ > 0) last_device_ms_ /= repeats;
  return device_->take_validation_status();
}

double VulkanKernel::elapsed_ms(uint32_t first, bool wait) const {
  if (!queries_) return -1.0;
  uint64_t ticks[2] = {0, 0};
  const VkResult r = fn_->vkGetQueryPoolResults(device_->device(), queries_.get(), first, 2, sizeof(ticks), ticks,
                                                sizeof(uint64_t),
                                                VK_QUERY_RESULT_64_BIT | (wait ? VK_QUERY_RESULT_WAIT_BIT : 0));
  if (r != VK_SUCCESS) return -1.0;  // VK_NOT_READY: not both written yet
  const uint32_t bits = device_->timestamp_valid_bits();
  const uint64_t mask = bits >= 64 ? ~uint64_t{0} : (uint64_t{1} << bits) - 1;
  const uint64_t elapsed = ((ticks[1] & mask) - (ticks[0] & mask)) & mask;  // wraps correctly
  return static_cast<double>(elapsed) * device_->timestamp_period_ns() * 1e-6;
}

double VulkanKernel::last_device_time_ms() const {
  switch (timing_) {
    case TimingSource::run: return last_device_ms_;
    case TimingSource::record: return elapsed_ms(kRecordQueries, /*wait=*/false);
    case TimingSource::none: break;
  }
  return -1.0;
}

Status VulkanKernel::record(VkCommandBuffer cmd, const Dims4& in, const Dims4& out, const VulkanBufferBinding& input,
                            const VulkanBufferBinding& output, const VulkanBufferBinding* indices,
                            RecordTiming timing) {
  UPCONV_RETURN_IF_ERROR(device_->take_validation_status());
  if (!cmd) return invalid_argument("record: cmd is VK_NULL_HANDLE");
  const bool timed = timing == RecordTiming::timestamps;
  if (timed && !queries_)
    return unsupported("record: timing needs timestamps, but queue family " + std::to_string(device_->queue_family()) +
                       " of " + device_->name() + " has none (timestampValidBits 0)");
  const bool unpool = std::holds_alternative<UnpoolDesc>(desc_);
  if (unpool && !indices) return invalid_argument("record: max_unpool2d needs an indices binding");
  if (!unpool && indices) return invalid_argument("record: only max_unpool2d takes an indices binding");
  const VkDeviceSize alignment = std::max<VkDeviceSize>(1, device_->limits().minStorageBufferOffsetAlignment);
  const size_t eb = element_bytes();
  struct Check {
    const char* name;
    const VulkanBufferBinding* binding;
    VkDeviceSize needed;
  };
  const Check checks[] = {{"input", &input, static_cast<VkDeviceSize>(in.count()) * eb},
                          {"output", &output, static_cast<VkDeviceSize>(out.count()) * eb},
                          {"indices", indices, static_cast<VkDeviceSize>(in.count()) * sizeof(uint32_t)}};
  for (const Check& c : checks) {
    if (!c.binding) continue;
    if (!c.binding->buffer) return invalid_argument(std::string("record: ") + c.name + ".buffer is VK_NULL_HANDLE");
    if (c.binding->offset % alignment)
      return invalid_argument(std::string("record: ") + c.name + ".offset " + std::to_string(c.binding->offset) +
                              " is not a multiple of minStorageBufferOffsetAlignment " + std::to_string(alignment));
    if (c.binding->range != VK_WHOLE_SIZE && c.binding->range < c.needed)
      return invalid_argument(std::string("record: ") + c.name + ".range " + std::to_string(c.binding->range) +
                              " bytes is smaller than the " + std::to_string(c.needed) + " bytes the op needs");
    UPCONV_RETURN_IF_ERROR(check_range(c.name, c.binding->range != VK_WHOLE_SIZE ? c.binding->range : c.needed));
  }
  timing_ = TimingSource::none;
  if (out.count() == 0) return device_->take_validation_status();  // an empty batch: no commands
  auto dispatches = plan(in, out, /*input_texels=*/false);
  if (!dispatches.ok()) return dispatches.status();
  auto partials = partial_sums_for(*dispatches, record_scratch_);
  if (!partials.ok()) return partials.status();
  const VkDescriptorBufferInfo infos[5] = {
      {input.buffer, input.offset, input.range},
      {weight_ ? weight_.get() : dummy_.get(), 0, weight_ ? round_up16(weight_bytes_) : VK_WHOLE_SIZE},
      {bias_ ? bias_.get() : dummy_.get(), 0, bias_ ? round_up16(bias_bytes_) : VK_WHOLE_SIZE},
      {output.buffer, output.offset, output.range},
      indices ? VkDescriptorBufferInfo{indices->buffer, indices->offset, indices->range} : *partials,
  };
  write_set(record_set_, infos, VK_NULL_HANDLE);
  if (timed) {
    fn_->vkCmdResetQueryPool(cmd, queries_.get(), kRecordQueries, 2);
    // BOTTOM_OF_PIPE: after the caller's earlier commands have completed, so the interval is
    // upconv's work (plus whatever of the caller's overlaps it, which the caller controls).
    fn_->vkCmdWriteTimestamp(cmd, VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, queries_.get(), kRecordQueries);
  }
  UPCONV_RETURN_IF_ERROR(record_dispatches(cmd, record_set_, *dispatches));
  if (timed) {
    fn_->vkCmdWriteTimestamp(cmd, VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, queries_.get(), kRecordQueries + 1);
    timing_ = TimingSource::record;
  }
  return device_->take_validation_status();
}

}  // namespace upconv::detail::vk

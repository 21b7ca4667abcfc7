// An engine that owns its Vulkan device runs upconv inside its own frame: it adopts its device
// into an upconv context once, makes plans once, and then each frame records
//   [its upload] -> upconv conv_transpose2d (x2 learned upsampling) -> [its readback]
// into its own command buffer, which it submits itself. This file uses the plain Vulkan headers
// and links libvulkan like most engines do; upconv itself never links it.
//
// Build: part of the upconv build (target engine_embedding). Run: ./engine_embedding
// (prints "engine_embedding: ok" after checking the result against upconv's CPU backend).
#include <vulkan/vulkan.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <vector>

#include "upconv/upconv.hpp"
#include "upconv/vulkan.hpp"

namespace {

#define CHECK_VK(call)                                                   \
  do {                                                                   \
    VkResult r_ = (call);                                                \
    if (r_ != VK_SUCCESS) {                                              \
      std::fprintf(stderr, "%s failed: VkResult %d\n", #call, (int)r_); \
      return false;                                                      \
    }                                                                    \
  } while (0)

struct HostBuffer {
  VkBuffer buffer = VK_NULL_HANDLE;
  VkDeviceMemory memory = VK_NULL_HANDLE;
  void* mapped = nullptr;
};

/// The engine: its instance, device, queue, command buffer and buffers.
struct Engine {
  VkInstance instance = VK_NULL_HANDLE;
  VkPhysicalDevice physical = VK_NULL_HANDLE;
  VkDevice device = VK_NULL_HANDLE;
  uint32_t family = 0;
  bool timestamps = false;  // the family can time commands
  VkQueue queue = VK_NULL_HANDLE;
  VkCommandPool pool = VK_NULL_HANDLE;
  VkCommandBuffer cmd = VK_NULL_HANDLE;
  std::vector<HostBuffer> buffers;

  bool create() {
    VkApplicationInfo app{VK_STRUCTURE_TYPE_APPLICATION_INFO};
    app.pApplicationName = "engine_embedding";
    app.apiVersion = VK_API_VERSION_1_1;
    VkInstanceCreateInfo info{VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO};
    info.pApplicationInfo = &app;
    CHECK_VK(vkCreateInstance(&info, nullptr, &instance));
    uint32_t count = 1;
    VkResult r = vkEnumeratePhysicalDevices(instance, &count, &physical);  // the first device will do
    if ((r != VK_SUCCESS && r != VK_INCOMPLETE) || count == 0) return false;
    vkGetPhysicalDeviceQueueFamilyProperties(physical, &count, nullptr);
    std::vector<VkQueueFamilyProperties> families(count);
    vkGetPhysicalDeviceQueueFamilyProperties(physical, &count, families.data());
    while (family < count && !(families[family].queueFlags & VK_QUEUE_COMPUTE_BIT)) ++family;
    if (family == count) return false;
    timestamps = families[family].timestampValidBits > 0;
    const float priority = 1.0f;
    VkDeviceQueueCreateInfo queue_info{VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO};
    queue_info.queueFamilyIndex = family;
    queue_info.queueCount = 1;
    queue_info.pQueuePriorities = &priority;
    VkDeviceCreateInfo device_info{VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO};
    device_info.queueCreateInfoCount = 1;
    device_info.pQueueCreateInfos = &queue_info;
    CHECK_VK(vkCreateDevice(physical, &device_info, nullptr, &device));
    vkGetDeviceQueue(device, family, 0, &queue);
    VkCommandPoolCreateInfo pool_info{VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO};
    pool_info.flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT;
    pool_info.queueFamilyIndex = family;
    CHECK_VK(vkCreateCommandPool(device, &pool_info, nullptr, &pool));
    VkCommandBufferAllocateInfo cmd_info{VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO};
    cmd_info.commandPool = pool;
    cmd_info.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY;
    cmd_info.commandBufferCount = 1;
    CHECK_VK(vkAllocateCommandBuffers(device, &cmd_info, &cmd));
    return true;
  }

  /// A host-visible buffer; a real engine would keep activations in device-local memory.
  bool make_buffer(VkDeviceSize bytes, HostBuffer& out) {
    VkBufferCreateInfo info{VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO};
    info.size = bytes;
    info.usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_TRANSFER_SRC_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT;
    CHECK_VK(vkCreateBuffer(device, &info, nullptr, &out.buffer));
    VkMemoryRequirements req;
    vkGetBufferMemoryRequirements(device, out.buffer, &req);
    VkPhysicalDeviceMemoryProperties props;
    vkGetPhysicalDeviceMemoryProperties(physical, &props);
    const VkMemoryPropertyFlags want = VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;
    uint32_t type = 0;
    while (type < props.memoryTypeCount &&
           !((req.memoryTypeBits >> type & 1u) && (props.memoryTypes[type].propertyFlags & want) == want))
      ++type;
    if (type == props.memoryTypeCount) return false;
    VkMemoryAllocateInfo alloc{VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO};
    alloc.allocationSize = req.size;
    alloc.memoryTypeIndex = type;
    CHECK_VK(vkAllocateMemory(device, &alloc, nullptr, &out.memory));
    CHECK_VK(vkBindBufferMemory(device, out.buffer, out.memory, 0));
    CHECK_VK(vkMapMemory(device, out.memory, 0, VK_WHOLE_SIZE, 0, &out.mapped));
    buffers.push_back(out);
    return true;
  }

  void barrier(VkPipelineStageFlags src_stage, VkAccessFlags src, VkPipelineStageFlags dst_stage, VkAccessFlags dst) {
    VkMemoryBarrier b{VK_STRUCTURE_TYPE_MEMORY_BARRIER};
    b.srcAccessMask = src;
    b.dstAccessMask = dst;
    vkCmdPipelineBarrier(cmd, src_stage, dst_stage, 0, 1, &b, 0, nullptr, 0, nullptr);
  }

  ~Engine() {
    if (!device) {
      if (instance) vkDestroyInstance(instance, nullptr);
      return;
    }
    vkDeviceWaitIdle(device);
    for (auto& b : buffers) {
      vkDestroyBuffer(device, b.buffer, nullptr);
      vkFreeMemory(device, b.memory, nullptr);
    }
    vkDestroyCommandPool(device, pool, nullptr);
    vkDestroyDevice(device, nullptr);
    vkDestroyInstance(instance, nullptr);
  }
};

bool run_frames() {
  Engine engine;
  if (!engine.create()) {
    std::fprintf(stderr, "engine_embedding: no Vulkan device\n");
    return false;
  }
  // 1. Adopt the engine's device (once). upconv borrows the handles; the engine outlives it.
  upconv::VulkanAdoptInfo adopt;
  adopt.instance = engine.instance;
  adopt.physical_device = engine.physical;
  adopt.device = engine.device;
  adopt.queue_family = engine.family;
  adopt.queue = engine.queue;
  adopt.get_instance_proc_addr = vkGetInstanceProcAddr;
  auto ctx = upconv::create_vulkan_context(adopt);
  if (!ctx.ok()) {
    std::fprintf(stderr, "create_vulkan_context: %s\n", ctx.status().to_string().c_str());
    return false;
  }

  // 2. Make the plan (once): a learned x2 upsampling, 8 -> 4 channels, kernel 4, stride 2, pad 1.
  upconv::ConvTransposeParams params;
  params.stride = {2, 2};
  params.pad_begin = params.pad_end = {1, 1};
  params.activation.kind = upconv::Activation::leaky_relu;
  upconv::Tensor weight({8, 4, 4, 4});
  for (int64_t i = 0; i < weight.size(); ++i) weight.data()[i] = std::sin(0.1f * static_cast<float>(i));
  auto plan = upconv::make_conv_transpose(*ctx, params, weight);
  if (!plan.ok()) {
    std::fprintf(stderr, "make_conv_transpose: %s\n", plan.status().to_string().c_str());
    return false;
  }
  const upconv::Shape in_shape = {1, 8, 16, 16};
  const upconv::Shape out_shape = *plan->output_shape(in_shape);  // {1, 4, 32, 32}
  const VkDeviceSize in_bytes = 8 * 16 * 16 * 4, out_bytes = 4 * 32 * 32 * 4;
  HostBuffer upload, input, output, readback;
  if (!engine.make_buffer(in_bytes, upload) || !engine.make_buffer(in_bytes, input) ||
      !engine.make_buffer(out_bytes, output) || !engine.make_buffer(out_bytes, readback))
    return false;

  upconv::Tensor x(in_shape);
  for (int frame = 0; frame < 3; ++frame) {
    for (int64_t i = 0; i < x.size(); ++i) x.data()[i] = std::cos(0.05f * static_cast<float>(i + frame));
    std::memcpy(upload.mapped, x.data(), in_bytes);

    // 3. Each frame: the engine's commands with upconv's in between, in one command buffer.
    VkCommandBufferBeginInfo begin{VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO};
    CHECK_VK(vkBeginCommandBuffer(engine.cmd, &begin));
    const VkBufferCopy copy_in{0, 0, in_bytes};
    vkCmdCopyBuffer(engine.cmd, upload.buffer, input.buffer, 1, &copy_in);
    // Owed before record(): input writes visible to compute-shader reads.
    engine.barrier(VK_PIPELINE_STAGE_TRANSFER_BIT, VK_ACCESS_TRANSFER_WRITE_BIT, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT,
                   VK_ACCESS_SHADER_READ_BIT);
    // Timed where the queue family has timestamps: the plan reports the GPU time afterwards.
    const auto timing = engine.timestamps ? upconv::RecordTiming::timestamps : upconv::RecordTiming::off;
    upconv::Status s = upconv::record(*plan, engine.cmd, in_shape, {input.buffer, 0, in_bytes},
                                      {output.buffer, 0, out_bytes}, nullptr, timing);
    if (!s.ok()) {
      std::fprintf(stderr, "record: %s\n", s.to_string().c_str());
      return false;
    }
    // Owed after record(): compute-shader writes -> whatever reads the output next.
    engine.barrier(VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, VK_ACCESS_SHADER_WRITE_BIT, VK_PIPELINE_STAGE_TRANSFER_BIT,
                   VK_ACCESS_TRANSFER_READ_BIT);
    const VkBufferCopy copy_out{0, 0, out_bytes};
    vkCmdCopyBuffer(engine.cmd, output.buffer, readback.buffer, 1, &copy_out);
    engine.barrier(VK_PIPELINE_STAGE_TRANSFER_BIT, VK_ACCESS_TRANSFER_WRITE_BIT, VK_PIPELINE_STAGE_HOST_BIT,
                   VK_ACCESS_HOST_READ_BIT);
    CHECK_VK(vkEndCommandBuffer(engine.cmd));
    VkSubmitInfo submit{VK_STRUCTURE_TYPE_SUBMIT_INFO};
    submit.commandBufferCount = 1;
    submit.pCommandBuffers = &engine.cmd;
    CHECK_VK(vkQueueSubmit(engine.queue, 1, &submit, VK_NULL_HANDLE));
    // The frame must finish before the plan is recorded again (its descriptor set is reused).
    CHECK_VK(vkQueueWaitIdle(engine.queue));
    if (engine.timestamps) std::printf("frame %d: upconv's commands took %.3f ms on the GPU\n", frame, plan->last_device_time_ms());

    // Check the frame against upconv's CPU backend.
    auto cpu = upconv::Context::create({.backend = upconv::BackendKind::cpu});
    auto cpu_plan = upconv::make_conv_transpose(*cpu, params, weight);
    upconv::Tensor want;
    if (!cpu_plan.ok() || !cpu_plan->run(x, want).ok() || want.shape() != out_shape) return false;
    const auto* got = static_cast<const float*>(readback.mapped);
    for (int64_t i = 0; i < want.size(); ++i)
      if (!(std::fabs(got[i] - want.data()[i]) <= 1e-4f * (1.0f + std::fabs(want.data()[i])))) {
        std::fprintf(stderr, "frame %d element %lld: got %g, want %g\n", frame, static_cast<long long>(i), got[i],
                     want.data()[i]);
        return false;
      }
  }
  return true;  // plan and context go first, then the engine destroys its own objects
}

}  // namespace

int main() {
  if (!run_frames()) return 1;
  std::printf("engine_embedding: ok\n");
  return 0;
}

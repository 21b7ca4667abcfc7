// Adopting a caller's Vulkan device: this test is the "engine". It loads Vulkan itself through
// volk, creates its own instance (validation layer + its own debug messenger) and device on
// lavapipe, its own buffers and command buffer, and records
//   its fill + upload copy -> upconv conv_transpose2d -> upconv upsample_nearest2d -> its copy
// into ONE command buffer with the barriers upconv/vulkan.hpp says the caller owes; it submits,
// waits, and compares with the reference implementation (cpu/reference). upconv must destroy none of the
// borrowed handles (the test destroys them all afterwards, which the layer would flag otherwise).
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "cpu/reference/reference.hpp"
#include "op_case.hpp"
#include "vulkan_test_device.hpp"
#include "runtime/validate.hpp"
#include "upconv/upconv.hpp"
#include "volk.h"
// After volk.h: the interop header must accept volk's VK_NO_PROTOTYPES setup.
#include "upconv/vulkan.hpp"

namespace upconv {
namespace {

#define ENGINE_CHECK(call) ASSERT_EQ((call), VK_SUCCESS) << #call

VKAPI_ATTR VkBool32 VKAPI_CALL count_message(VkDebugUtilsMessageSeverityFlagBitsEXT, VkDebugUtilsMessageTypeFlagsEXT,
                                             const VkDebugUtilsMessengerCallbackDataEXT* data, void* user) {
  ++*static_cast<int*>(user);
  ADD_FAILURE() << "validation: " << data->pMessage;
  return VK_FALSE;
}

/// The engine's own Vulkan objects.
class Engine {
 public:
  void create() {
    ENGINE_CHECK(volkInitialize());
    VkApplicationInfo app{VK_STRUCTURE_TYPE_APPLICATION_INFO};
    app.apiVersion = VK_API_VERSION_1_1;
    const char* layers[] = {"VK_LAYER_KHRONOS_validation"};
    const char* extensions[] = {VK_EXT_DEBUG_UTILS_EXTENSION_NAME};
    VkDebugUtilsMessengerCreateInfoEXT debug{VK_STRUCTURE_TYPE_DEBUG_UTILS_MESSENGER_CREATE_INFO_EXT};
    debug.messageSeverity = VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT | VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT;
    debug.messageType = VK_DEBUG_UTILS_MESSAGE_TYPE_GENERAL_BIT_EXT | VK_DEBUG_UTILS_MESSAGE_TYPE_VALIDATION_BIT_EXT |
                        VK_DEBUG_UTILS_MESSAGE_TYPE_PERFORMANCE_BIT_EXT;
    debug.pfnUserCallback = count_message;
    debug.pUserData = &messages;
    VkInstanceCreateInfo info{VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO};
    info.pNext = &debug;
    info.pApplicationInfo = &app;
    info.enabledLayerCount = 1;
    info.ppEnabledLayerNames = layers;
    info.enabledExtensionCount = 1;
    info.ppEnabledExtensionNames = extensions;
    ENGINE_CHECK(vkCreateInstance(&info, nullptr, &instance));
    volkLoadInstance(instance);
    ENGINE_CHECK(vkCreateDebugUtilsMessengerEXT(instance, &debug, nullptr, &messenger));

    uint32_t count = 0;
    ENGINE_CHECK(vkEnumeratePhysicalDevices(instance, &count, nullptr));
    std::vector<VkPhysicalDevice> devices(count);
    ENGINE_CHECK(vkEnumeratePhysicalDevices(instance, &count, devices.data()));
    for (VkPhysicalDevice d : devices) {
      VkPhysicalDeviceProperties props;
      vkGetPhysicalDeviceProperties(d, &props);
      if (testing::is_vulkan_test_device(props.deviceName)) physical = d;
    }
    ASSERT_NE(physical, VK_NULL_HANDLE) << testing::vulkan_test_device() << " must be installed (lavapipe: mesa-vulkan-drivers)";
    vkGetPhysicalDeviceQueueFamilyProperties(physical, &count, nullptr);
    std::vector<VkQueueFamilyProperties> families(count);
    vkGetPhysicalDeviceQueueFamilyProperties(physical, &count, families.data());
    family = ~0u;
    for (uint32_t i = 0; i < count && family == ~0u; ++i)
      if (families[i].queueFlags & VK_QUEUE_COMPUTE_BIT) family = i;
    ASSERT_NE(family, ~0u);
    const float priority = 1.0f;
    VkDeviceQueueCreateInfo queue_info{VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO};
    queue_info.queueFamilyIndex = family;
    queue_info.queueCount = 1;
    queue_info.pQueuePriorities = &priority;
    VkPhysicalDevice16BitStorageFeatures storage16{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_16BIT_STORAGE_FEATURES};
    storage16.storageBuffer16BitAccess = VK_TRUE;
    VkDeviceCreateInfo device_info{VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO};
    device_info.pNext = &storage16;
    device_info.queueCreateInfoCount = 1;
    device_info.pQueueCreateInfos = &queue_info;
    ENGINE_CHECK(vkCreateDevice(physical, &device_info, nullptr, &device));
    volkLoadDevice(device);
    vkGetDeviceQueue(device, family, 0, &queue);
    vkGetPhysicalDeviceMemoryProperties(physical, &memory_props);

    VkCommandPoolCreateInfo pool_info{VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO};
    pool_info.queueFamilyIndex = family;
    ENGINE_CHECK(vkCreateCommandPool(device, &pool_info, nullptr, &pool));
    VkCommandBufferAllocateInfo cmd_info{VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO};
    cmd_info.commandPool = pool;
    cmd_info.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY;
    cmd_info.commandBufferCount = 1;
    ENGINE_CHECK(vkAllocateCommandBuffers(device, &cmd_info, &cmd));
  }

  /// A host-visible coherent buffer (lavapipe has nothing else) of `bytes`, index into buffers.
  size_t make_buffer(VkDeviceSize bytes) {
    VkBufferCreateInfo info{VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO};
    info.size = bytes;
    info.usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_TRANSFER_SRC_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT;
    Owned b;
    EXPECT_EQ(vkCreateBuffer(device, &info, nullptr, &b.buffer), VK_SUCCESS);
    VkMemoryRequirements req;
    vkGetBufferMemoryRequirements(device, b.buffer, &req);
    uint32_t type = 0;
    const VkMemoryPropertyFlags want = VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;
    while (type < memory_props.memoryTypeCount &&
           !((req.memoryTypeBits & (1u << type)) && (memory_props.memoryTypes[type].propertyFlags & want) == want))
      ++type;
    VkMemoryAllocateInfo alloc{VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO};
    alloc.allocationSize = req.size;
    alloc.memoryTypeIndex = type;
    EXPECT_EQ(vkAllocateMemory(device, &alloc, nullptr, &b.memory), VK_SUCCESS);
    EXPECT_EQ(vkBindBufferMemory(device, b.buffer, b.memory, 0), VK_SUCCESS);
    EXPECT_EQ(vkMapMemory(device, b.memory, 0, VK_WHOLE_SIZE, 0, &b.mapped), VK_SUCCESS);
    buffers.push_back(b);
    return buffers.size() - 1;
  }

  void barrier(VkPipelineStageFlags src_stage, VkAccessFlags src, VkPipelineStageFlags dst_stage, VkAccessFlags dst) {
    VkMemoryBarrier b{VK_STRUCTURE_TYPE_MEMORY_BARRIER};
    b.srcAccessMask = src;
    b.dstAccessMask = dst;
    vkCmdPipelineBarrier(cmd, src_stage, dst_stage, 0, 1, &b, 0, nullptr, 0, nullptr);
  }

  void destroy() {
    if (!device) return;
    vkDeviceWaitIdle(device);
    for (auto& b : buffers) {
      vkDestroyBuffer(device, b.buffer, nullptr);
      vkFreeMemory(device, b.memory, nullptr);
    }
    vkDestroyCommandPool(device, pool, nullptr);
    vkDestroyDevice(device, nullptr);
    vkDestroyDebugUtilsMessengerEXT(instance, messenger, nullptr);
    vkDestroyInstance(instance, nullptr);
    device = VK_NULL_HANDLE;
  }

  struct Owned {
    VkBuffer buffer = VK_NULL_HANDLE;
    VkDeviceMemory memory = VK_NULL_HANDLE;
    void* mapped = nullptr;
  };
  int messages = 0;
  VkInstance instance = VK_NULL_HANDLE;
  VkDebugUtilsMessengerEXT messenger = VK_NULL_HANDLE;
  VkPhysicalDevice physical = VK_NULL_HANDLE;
  VkDevice device = VK_NULL_HANDLE;
  uint32_t family = 0;
  VkQueue queue = VK_NULL_HANDLE;
  VkPhysicalDeviceMemoryProperties memory_props{};
  VkCommandPool pool = VK_NULL_HANDLE;
  VkCommandBuffer cmd = VK_NULL_HANDLE;
  std::vector<Owned> buffers;
};

Tensor ramp(Shape shape, float scale) {
  Tensor t(std::move(shape));
  for (int64_t i = 0; i < t.size(); ++i) t.data()[i] = scale * static_cast<float>((i * 37) % 23 - 11);
  return t;
}

TEST(VulkanAdopt, RecordsUpconvOpsBetweenTheEnginesOwnCommands) {
  Engine engine;
  engine.create();
  if (::testing::Test::HasFatalFailure()) return;
  {
    VulkanAdoptInfo info;
    info.instance = engine.instance;
    info.physical_device = engine.physical;
    info.device = engine.device;
    info.queue_family = engine.family;
    info.queue = engine.queue;
    info.get_instance_proc_addr = vkGetInstanceProcAddr;
    info.storage_buffer_16bit_enabled = true;
    auto ctx = create_vulkan_context(info);
    ASSERT_TRUE(ctx.ok()) << ctx.status().to_string();
    EXPECT_EQ(ctx->backend(), BackendKind::vulkan);
    EXPECT_NE(ctx->description().find("adopted"), std::string::npos) << ctx->description();
    // The CPU backend only provides a plan for the "CPU plans cannot record" check below.
    auto cpu = Context::create({.backend = BackendKind::cpu});
    ASSERT_TRUE(cpu.ok());

    // Op 1: conv_transpose2d 3 -> 4 channels, kernel 4, stride 2, pad 1, bias, ReLU.
    ConvTransposeParams ct;
    ct.stride = {2, 2};
    ct.pad_begin = ct.pad_end = {1, 1};
    ct.activation.kind = Activation::relu;
    const Tensor weight = ramp({3, 4, 4, 4}, 0.05f), bias = ramp({4}, 0.1f);
    // Op 2: upsample_nearest2d x2.
    UpsampleParams up;
    up.factor = {2, 2};
    auto vk1 = make_conv_transpose(*ctx, ct, weight, &bias);
    auto vk2 = make_upsample_nearest2d(*ctx, up);
    auto cpu1 = make_pixel_shuffle(*cpu, {});
    ASSERT_TRUE(vk1.ok() && vk2.ok() && cpu1.ok()) << vk1.status().to_string() << vk2.status().to_string();

    // Reference: the oracle on the same descriptors the plans were made from.
    const Tensor x = ramp({2, 3, 5, 6}, 0.1f);
    auto conv_desc = detail::make_conv_transpose_desc(ct, weight.shape(), bias.size());
    auto up_desc = detail::make_resample_desc(up, false);
    ASSERT_TRUE(conv_desc.ok() && up_desc.ok());
    const detail::Dims4 xd{2, 3, 5, 6}, md = conv_desc->output_dims(xd);
    const detail::Dims4 yd{md.n, md.c, md.h * 2, md.w * 2};
    Tensor mid_ref({md.n, md.c, md.h, md.w}), y_ref({yd.n, yd.c, yd.h, yd.w});
    ref::conv(*conv_desc, x.data(), xd, weight.data(), bias.data(), mid_ref.data(), md);
    ref::resample(*up_desc, mid_ref.data(), md, y_ref.data(), yd);

    const VkDeviceSize x_bytes = x.size() * 4, mid_bytes = mid_ref.size() * 4, y_bytes = y_ref.size() * 4;
    const size_t upload = engine.make_buffer(x_bytes), input = engine.make_buffer(x_bytes);
    const size_t mid = engine.make_buffer(mid_bytes), output = engine.make_buffer(y_bytes + 256);
    const size_t readback = engine.make_buffer(y_bytes);
    std::memcpy(engine.buffers[upload].mapped, x.data(), x_bytes);

    VkCommandBufferBeginInfo begin{VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO};
    ENGINE_CHECK(vkBeginCommandBuffer(engine.cmd, &begin));
    // The engine's own work: poison the output, upload the input.
    vkCmdFillBuffer(engine.cmd, engine.buffers[output].buffer, 0, VK_WHOLE_SIZE, 0x7fc00000u);
    const VkBufferCopy copy_in{0, 0, x_bytes};
    vkCmdCopyBuffer(engine.cmd, engine.buffers[upload].buffer, engine.buffers[input].buffer, 1, &copy_in);
    // Owed before: writes to input visible to compute reads; the fill of output done before compute writes.
    engine.barrier(VK_PIPELINE_STAGE_TRANSFER_BIT, VK_ACCESS_TRANSFER_WRITE_BIT, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT,
                   VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT);
    // Op 1 timed: upconv's timestamps in the engine's command buffer.
    Status s = record(*vk1, engine.cmd, x.shape(), {engine.buffers[input].buffer, 0, x_bytes},
                      {engine.buffers[mid].buffer, 0, mid_bytes}, nullptr, RecordTiming::timestamps);
    ASSERT_TRUE(s.ok()) << s.to_string();
    EXPECT_EQ(vk1->last_device_time_ms(), -1.0) << "recorded, not executed yet: no time";
    // Between two upconv ops: compute write -> compute read.
    engine.barrier(VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, VK_ACCESS_SHADER_WRITE_BIT, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT,
                   VK_ACCESS_SHADER_READ_BIT);
    // The output goes at a 256-byte offset (a multiple of every minStorageBufferOffsetAlignment).
    s = record(*vk2, engine.cmd, mid_ref.shape(), {engine.buffers[mid].buffer, 0, VK_WHOLE_SIZE},
               {engine.buffers[output].buffer, 256, y_bytes});
    ASSERT_TRUE(s.ok()) << s.to_string();
    // Owed after: compute writes -> the engine's copy.
    engine.barrier(VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, VK_ACCESS_SHADER_WRITE_BIT, VK_PIPELINE_STAGE_TRANSFER_BIT,
                   VK_ACCESS_TRANSFER_READ_BIT);
    const VkBufferCopy copy_out{256, 0, y_bytes};
    vkCmdCopyBuffer(engine.cmd, engine.buffers[output].buffer, engine.buffers[readback].buffer, 1, &copy_out);
    engine.barrier(VK_PIPELINE_STAGE_TRANSFER_BIT, VK_ACCESS_TRANSFER_WRITE_BIT, VK_PIPELINE_STAGE_HOST_BIT,
                   VK_ACCESS_HOST_READ_BIT);
    ENGINE_CHECK(vkEndCommandBuffer(engine.cmd));
    VkSubmitInfo submit{VK_STRUCTURE_TYPE_SUBMIT_INFO};
    submit.commandBufferCount = 1;
    submit.pCommandBuffers = &engine.cmd;
    ENGINE_CHECK(vkQueueSubmit(engine.queue, 1, &submit, VK_NULL_HANDLE));
    ENGINE_CHECK(vkQueueWaitIdle(engine.queue));
    const double recorded_ms = vk1->last_device_time_ms();
    EXPECT_GT(recorded_ms, 0.0) << "timed record: the GPU time once the engine's submission completed";
    EXPECT_LT(recorded_ms, 10000.0);
    EXPECT_EQ(vk2->last_device_time_ms(), -1.0) << "an untimed record reports no time";

    Tensor got(y_ref.shape());
    std::memcpy(got.data(), engine.buffers[readback].mapped, y_bytes);
    EXPECT_TRUE(testing::compare_tensors(got, y_ref, 1e-4, "adopted record chain"));

    // Plan::run on the adopted device works too (upconv's own submission on the caller's queue).
    Tensor y_run;
    ASSERT_TRUE(vk1->run(x, y_run).ok());
    EXPECT_TRUE(testing::compare_tensors(y_run, mid_ref, 1e-4, "adopted run"));
    EXPECT_GE(vk1->last_device_time_ms(), 0.0) << "after a run, the run's time";
    // An upconv-owned context (its own instance and device, its own function tables) works
    // side by side with the adopted one.
    ContextOptions own_options;
    own_options.backend = BackendKind::vulkan;
    own_options.vulkan_device = testing::vulkan_test_device();
    own_options.vulkan_validation = true;
    auto own = Context::create(own_options);
    ASSERT_TRUE(own.ok()) << own.status().to_string();
    auto own_plan = make_conv_transpose(*own, ct, weight, &bias);
    ASSERT_TRUE(own_plan.ok());
    Tensor y_own;
    ASSERT_TRUE(own_plan->run(x, y_own).ok());
    ASSERT_TRUE(vk1->run(x, y_run).ok());
    EXPECT_EQ(y_own.storage(), y_run.storage()) << "same driver, same shader: bit-identical";

    // An empty batch records nothing and succeeds (the command buffer is not touched).
    s = record(*vk1, engine.cmd, Shape{0, 3, 5, 6}, {engine.buffers[input].buffer, 0, VK_WHOLE_SIZE},
               {engine.buffers[mid].buffer, 0, VK_WHOLE_SIZE});
    EXPECT_TRUE(s.ok()) << s.to_string();
    Tensor empty;
    ASSERT_TRUE(vk1->run(Tensor({0, 3, 5, 6}), empty).ok());
    EXPECT_EQ(empty.shape(), (Shape{0, 4, 10, 12}));

    // Errors name the binding.
    s = record(*vk2, engine.cmd, mid_ref.shape(), {engine.buffers[mid].buffer, 2, VK_WHOLE_SIZE},
               {engine.buffers[output].buffer, 0, y_bytes});
    EXPECT_EQ(s.code(), StatusCode::invalid_argument);
    EXPECT_NE(s.message().find("input.offset"), std::string::npos) << s.message();
    s = record(*vk2, engine.cmd, mid_ref.shape(), {engine.buffers[mid].buffer, 0, VK_WHOLE_SIZE},
               {engine.buffers[output].buffer, 0, 16});
    EXPECT_NE(s.message().find("output.range"), std::string::npos) << s.message();
    const VulkanBufferBinding indices{engine.buffers[mid].buffer, 0, VK_WHOLE_SIZE};
    s = record(*vk2, engine.cmd, mid_ref.shape(), {engine.buffers[mid].buffer, 0, VK_WHOLE_SIZE},
               {engine.buffers[output].buffer, 0, y_bytes}, &indices);
    EXPECT_EQ(s.code(), StatusCode::invalid_argument);
    s = record(*cpu1, engine.cmd, x.shape(), {}, {});
    EXPECT_EQ(s.code(), StatusCode::invalid_argument) << "a CPU plan cannot record";
    Plan moved_to = std::move(vk2).value();
    s = record(*vk2, engine.cmd, mid_ref.shape(), {engine.buffers[mid].buffer, 0, VK_WHOLE_SIZE},
               {engine.buffers[output].buffer, 0, y_bytes});  // NOLINT(bugprone-use-after-move)
    EXPECT_EQ(s.code(), StatusCode::invalid_argument) << "a moved-from plan records nothing";
    EXPECT_NE(s.message().find("moved from"), std::string::npos) << s.message();
  }  // upconv context and plans go here; the engine's handles must all still be valid
  engine.destroy();
  EXPECT_EQ(engine.messages, 0);
}

TEST(VulkanAdopt, RejectsIncompleteAdoptInfo) {
  VulkanAdoptInfo info;
  auto ctx = create_vulkan_context(info);
  ASSERT_FALSE(ctx.ok());
  EXPECT_EQ(ctx.status().code(), StatusCode::invalid_argument);
  EXPECT_NE(ctx.status().message().find("VulkanAdoptInfo"), std::string::npos);
}

}  // namespace
}  // namespace upconv

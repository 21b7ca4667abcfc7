/* The Vulkan interop of the C ABI (upconv/upconv_vulkan.h), compiled as C: a C "engine" creates
 * its own instance (with the Khronos validation layer when installed) and device, adopts them
 * into upconv, records a conv_transpose2d between its own commands with GPU timing, submits,
 * and checks the result against upconv's CPU backend. Any validation message fails it.
 * Exit code 0 on success; prints what failed otherwise. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <vulkan/vulkan.h>

#include "upconv/upconv.h"
#include "upconv/upconv_vulkan.h"

#define CHECK(cond)                                                                              \
  do {                                                                                           \
    if (!(cond)) {                                                                               \
      fprintf(stderr, "%s:%d: check failed: %s (upconv: %s)\n", __FILE__, __LINE__, #cond,       \
              upconv_last_error_message());                                                      \
      return 1;                                                                                  \
    }                                                                                            \
  } while (0)

static unsigned g_messages = 0;

static VKAPI_ATTR VkBool32 VKAPI_CALL on_message(VkDebugUtilsMessageSeverityFlagBitsEXT severity,
                                                 VkDebugUtilsMessageTypeFlagsEXT type,
                                                 const VkDebugUtilsMessengerCallbackDataEXT* data, void* user) {
  (void)type;
  (void)user;
  if (severity & (VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT | VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT)) {
    fprintf(stderr, "validation: %s\n", data->pMessage);
    ++g_messages;
  }
  return VK_FALSE;
}

typedef struct Buffer {
  VkBuffer buffer;
  VkDeviceMemory memory;
  float* mapped;
} Buffer;

static int make_buffer(VkPhysicalDevice physical, VkDevice device, VkDeviceSize bytes, Buffer* out) {
  VkBufferCreateInfo info = {VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO};
  info.size = bytes;
  info.usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT;
  if (vkCreateBuffer(device, &info, NULL, &out->buffer) != VK_SUCCESS) return 0;
  VkMemoryRequirements req;
  vkGetBufferMemoryRequirements(device, out->buffer, &req);
  VkPhysicalDeviceMemoryProperties props;
  vkGetPhysicalDeviceMemoryProperties(physical, &props);
  const VkMemoryPropertyFlags want = VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;
  uint32_t type = 0;
  while (type < props.memoryTypeCount &&
         !((req.memoryTypeBits & (1u << type)) && (props.memoryTypes[type].propertyFlags & want) == want))
    ++type;
  if (type == props.memoryTypeCount) return 0;
  VkMemoryAllocateInfo alloc = {VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO};
  alloc.allocationSize = req.size;
  alloc.memoryTypeIndex = type;
  if (vkAllocateMemory(device, &alloc, NULL, &out->memory) != VK_SUCCESS) return 0;
  if (vkBindBufferMemory(device, out->buffer, out->memory, 0) != VK_SUCCESS) return 0;
  return vkMapMemory(device, out->memory, 0, VK_WHOLE_SIZE, 0, (void**)&out->mapped) == VK_SUCCESS;
}

static void free_buffer(VkDevice device, Buffer* b) {
  vkDestroyBuffer(device, b->buffer, NULL);
  vkFreeMemory(device, b->memory, NULL);
}

static int has_layer(const char* name) {
  uint32_t count = 0;
  vkEnumerateInstanceLayerProperties(&count, NULL);
  VkLayerProperties layers[64];
  if (count > 64) count = 64;
  vkEnumerateInstanceLayerProperties(&count, layers);
  for (uint32_t i = 0; i < count; ++i)
    if (strcmp(layers[i].layerName, name) == 0) return 1;
  return 0;
}

int main(void) {
  /* The engine's instance and device. */
  const char* layer = "VK_LAYER_KHRONOS_validation";
  const char* extension = VK_EXT_DEBUG_UTILS_EXTENSION_NAME;
  const int validation = has_layer(layer);
  VkApplicationInfo app = {VK_STRUCTURE_TYPE_APPLICATION_INFO};
  app.apiVersion = VK_API_VERSION_1_1;
  VkInstanceCreateInfo instance_info = {VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO};
  instance_info.pApplicationInfo = &app;
  instance_info.enabledLayerCount = validation ? 1 : 0;
  instance_info.ppEnabledLayerNames = &layer;
  instance_info.enabledExtensionCount = validation ? 1 : 0;
  instance_info.ppEnabledExtensionNames = &extension;
  VkInstance instance;
  CHECK(vkCreateInstance(&instance_info, NULL, &instance) == VK_SUCCESS);
  VkDebugUtilsMessengerEXT messenger = VK_NULL_HANDLE;
  PFN_vkCreateDebugUtilsMessengerEXT create_messenger =
      (PFN_vkCreateDebugUtilsMessengerEXT)vkGetInstanceProcAddr(instance, "vkCreateDebugUtilsMessengerEXT");
  PFN_vkDestroyDebugUtilsMessengerEXT destroy_messenger =
      (PFN_vkDestroyDebugUtilsMessengerEXT)vkGetInstanceProcAddr(instance, "vkDestroyDebugUtilsMessengerEXT");
  if (validation && create_messenger) {
    VkDebugUtilsMessengerCreateInfoEXT m = {VK_STRUCTURE_TYPE_DEBUG_UTILS_MESSENGER_CREATE_INFO_EXT};
    m.messageSeverity = VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT | VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT;
    m.messageType = VK_DEBUG_UTILS_MESSAGE_TYPE_GENERAL_BIT_EXT | VK_DEBUG_UTILS_MESSAGE_TYPE_VALIDATION_BIT_EXT |
                    VK_DEBUG_UTILS_MESSAGE_TYPE_PERFORMANCE_BIT_EXT;
    m.pfnUserCallback = on_message;
    CHECK(create_messenger(instance, &m, NULL, &messenger) == VK_SUCCESS);
  }
  uint32_t count = 8;
  VkPhysicalDevice physicals[8];
  vkEnumeratePhysicalDevices(instance, &count, physicals);
  CHECK(count > 0);
  VkPhysicalDevice physical = physicals[0];
  for (uint32_t i = 0; i < count; ++i) {  /* lavapipe in CI */
    VkPhysicalDeviceProperties p;
    vkGetPhysicalDeviceProperties(physicals[i], &p);
    if (strstr(p.deviceName, "llvmpipe")) physical = physicals[i];
  }
  VkQueueFamilyProperties families[16];
  count = 16;
  vkGetPhysicalDeviceQueueFamilyProperties(physical, &count, families);
  uint32_t family = 0;
  while (family < count && !(families[family].queueFlags & VK_QUEUE_COMPUTE_BIT)) ++family;
  CHECK(family < count);
  const int timestamps = families[family].timestampValidBits > 0;
  const float priority = 1.0f;
  VkDeviceQueueCreateInfo queue_info = {VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO};
  queue_info.queueFamilyIndex = family;
  queue_info.queueCount = 1;
  queue_info.pQueuePriorities = &priority;
  VkDeviceCreateInfo device_info = {VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO};
  device_info.queueCreateInfoCount = 1;
  device_info.pQueueCreateInfos = &queue_info;
  VkDevice device;
  CHECK(vkCreateDevice(physical, &device_info, NULL, &device) == VK_SUCCESS);
  VkQueue queue;
  vkGetDeviceQueue(device, family, 0, &queue);
  VkCommandPoolCreateInfo pool_info = {VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO};
  pool_info.queueFamilyIndex = family;
  VkCommandPool pool;
  CHECK(vkCreateCommandPool(device, &pool_info, NULL, &pool) == VK_SUCCESS);
  VkCommandBufferAllocateInfo cmd_info = {VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO};
  cmd_info.commandPool = pool;
  cmd_info.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY;
  cmd_info.commandBufferCount = 1;
  VkCommandBuffer cmd;
  CHECK(vkAllocateCommandBuffers(device, &cmd_info, &cmd) == VK_SUCCESS);

  {
    /* upconv on the engine's device: ConvTranspose2d(3, 2, 4, stride 2, padding 1) + bias. */
    upconv_vulkan_adopt_info adopt = {instance, physical, device, family, queue, vkGetInstanceProcAddr, 0};
    upconv_context* context = NULL;
    CHECK(upconv_context_create_vulkan_adopted(&adopt, NULL, &context) == UPCONV_OK);
    CHECK(upconv_context_backend(context) == UPCONV_BACKEND_VULKAN);
    upconv_precision precision = UPCONV_PRECISION_FP16;
    CHECK(upconv_vulkan_storage_precision(context, &precision) == UPCONV_OK && precision == UPCONV_PRECISION_FP32);

    float weight[3 * 2 * 4 * 4], bias[2] = {0.25f, -0.5f}, x[1 * 3 * 5 * 7];
    const int64_t w_dims[4] = {3, 2, 4, 4}, x_dims[4] = {1, 3, 5, 7};
    for (int i = 0; i < 96; ++i) weight[i] = (float)((i * 7) % 13) * 0.1f - 0.6f;
    for (int i = 0; i < 105; ++i) x[i] = (float)((i * 5) % 11) * 0.2f - 1.0f;
    upconv_conv_transpose_params params = upconv_conv_transpose_params_default();
    params.stride[0] = params.stride[1] = 2;
    params.pad_begin[0] = params.pad_begin[1] = params.pad_end[0] = params.pad_end[1] = 1;
    upconv_plan* plan = NULL;
    CHECK(upconv_plan_create_conv_transpose(context, &params, weight, w_dims, 4, bias, 2, &plan) == UPCONV_OK);
    int64_t y_dims[UPCONV_MAX_RANK];
    int y_rank = 0;
    CHECK(upconv_plan_output_shape(plan, x_dims, 4, y_dims, &y_rank) == UPCONV_OK);
    CHECK(y_rank == 4 && y_dims[1] == 2 && y_dims[2] == 10 && y_dims[3] == 14);
    const VkDeviceSize x_bytes = sizeof x, y_bytes = 2 * 10 * 14 * sizeof(float);

    Buffer in, out;
    CHECK(make_buffer(physical, device, x_bytes, &in) && make_buffer(physical, device, y_bytes, &out));
    memcpy(in.mapped, x, sizeof x);

    VkCommandBufferBeginInfo begin = {VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO};
    CHECK(vkBeginCommandBuffer(cmd, &begin) == VK_SUCCESS);
    /* The engine's own command: poison the output. Owed before upconv: that write finished. */
    vkCmdFillBuffer(cmd, out.buffer, 0, VK_WHOLE_SIZE, 0x7fc00000u);
    VkMemoryBarrier before = {VK_STRUCTURE_TYPE_MEMORY_BARRIER};
    before.srcAccessMask = VK_ACCESS_TRANSFER_WRITE_BIT;
    before.dstAccessMask = VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT;
    vkCmdPipelineBarrier(cmd, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, 0, 1, &before, 0,
                         NULL, 0, NULL);
    const upconv_vulkan_buffer_binding input = {in.buffer, 0, x_bytes}, output = {out.buffer, 0, VK_WHOLE_SIZE};
    CHECK(upconv_plan_record(plan, cmd, x_dims, 4, &input, &output, NULL,
                             timestamps ? UPCONV_RECORD_TIMING_TIMESTAMPS : UPCONV_RECORD_TIMING_OFF) == UPCONV_OK);
    /* Owed after: compute writes -> host reads. */
    VkMemoryBarrier after = {VK_STRUCTURE_TYPE_MEMORY_BARRIER};
    after.srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT;
    after.dstAccessMask = VK_ACCESS_HOST_READ_BIT;
    vkCmdPipelineBarrier(cmd, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, VK_PIPELINE_STAGE_HOST_BIT, 0, 1, &after, 0, NULL,
                         0, NULL);
    CHECK(vkEndCommandBuffer(cmd) == VK_SUCCESS);
    VkSubmitInfo submit = {VK_STRUCTURE_TYPE_SUBMIT_INFO};
    submit.commandBufferCount = 1;
    submit.pCommandBuffers = &cmd;
    CHECK(vkQueueSubmit(queue, 1, &submit, VK_NULL_HANDLE) == VK_SUCCESS);
    CHECK(vkQueueWaitIdle(queue) == VK_SUCCESS);
    if (timestamps) CHECK(upconv_plan_last_device_time_ms(plan) > 0.0);

    /* The same op on upconv's CPU backend. */
    upconv_context_options cpu_options = upconv_context_options_default();
    cpu_options.backend = UPCONV_BACKEND_CPU;
    upconv_context* cpu = NULL;
    upconv_plan* cpu_plan = NULL;
    CHECK(upconv_context_create(&cpu_options, &cpu) == UPCONV_OK);
    CHECK(upconv_plan_create_conv_transpose(cpu, &params, weight, w_dims, 4, bias, 2, &cpu_plan) == UPCONV_OK);
    float want[2 * 10 * 14];
    CHECK(upconv_plan_run(cpu_plan, x, x_dims, 4, want, 280) == UPCONV_OK);
    for (int i = 0; i < 280; ++i) {
      if (!(fabsf(out.mapped[i] - want[i]) <= 1e-4f * (1.0f + fabsf(want[i])))) {
        fprintf(stderr, "element %d: got %g, want %g\n", i, out.mapped[i], want[i]);
        return 1;
      }
    }

    /* Errors: named, never a crash. */
    CHECK(upconv_plan_record(plan, cmd, x_dims, 4, NULL, &output, NULL, UPCONV_RECORD_TIMING_OFF) ==
          UPCONV_INVALID_ARGUMENT);
    CHECK(upconv_plan_record(cpu_plan, cmd, x_dims, 4, &input, &output, NULL, UPCONV_RECORD_TIMING_OFF) ==
          UPCONV_INVALID_ARGUMENT);
    CHECK(strstr(upconv_last_error_message(), "Vulkan") != NULL);
    CHECK(upconv_vulkan_storage_precision(cpu, &precision) == UPCONV_INVALID_ARGUMENT);
    upconv_context* none = context;
    CHECK(upconv_context_create_vulkan_adopted(NULL, NULL, &none) == UPCONV_INVALID_ARGUMENT && none == NULL);

    upconv_plan_destroy(cpu_plan);
    upconv_context_destroy(cpu);
    upconv_plan_destroy(plan);
    upconv_context_destroy(context);
    free_buffer(device, &in);
    free_buffer(device, &out);
  }

  vkDestroyCommandPool(device, pool, NULL);
  vkDestroyDevice(device, NULL);
  if (messenger) destroy_messenger(instance, messenger, NULL);
  vkDestroyInstance(instance, NULL);
  CHECK(g_messages == 0);
  printf("c_api_vulkan_smoke: ok (validation layer %s)\n", validation ? "on" : "not installed");
  return 0;
}

// Instance and device creation, device choice, adoption of a caller's device, validation log.
#include "runtime/vulkan/vk_device.hpp"

#include <algorithm>
#include <bit>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>

#include "runtime/vulkan/vk_memory.hpp"
#include "runtime/vulkan/vk_pipeline_stats.hpp"
#include "runtime/vulkan/vk_pipelines.hpp"

namespace upconv::detail::vk {
namespace {

constexpr const char* kValidationLayer = "VK_LAYER_KHRONOS_validation";

int type_rank(VkPhysicalDeviceType type) {
  switch (type) {
    case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU: return 0;
    case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU: return 1;
    case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU: return 2;
    case VK_PHYSICAL_DEVICE_TYPE_CPU: return 3;
    default: return 4;
  }
}

const char* type_name(VkPhysicalDeviceType type) {
  switch (type) {
    case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU: return "discrete";
    case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU: return "integrated";
    case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU: return "virtual";
    case VK_PHYSICAL_DEVICE_TYPE_CPU: return "cpu";
    default: return "other";
  }
}

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string version_string(uint32_t v) {
  return std::to_string(VK_API_VERSION_MAJOR(v)) + "." + std::to_string(VK_API_VERSION_MINOR(v)) + "." +
         std::to_string(VK_API_VERSION_PATCH(v));
}

std::string device_list(const std::vector<DeviceCandidate>& devices) {
  std::string s;
  for (size_t i = 0; i < devices.size(); ++i)
    s += (i ? ", " : "") + std::to_string(i) + ": " + devices[i].name + " (" + type_name(devices[i].type) +
         (devices[i].usable ? "" : ", unusable") + ")";
  return s.empty() ? "none" : s;
}

VKAPI_ATTR VkBool32 VKAPI_CALL on_validation_message(VkDebugUtilsMessageSeverityFlagBitsEXT,
                                                     VkDebugUtilsMessageTypeFlagsEXT,
                                                     const VkDebugUtilsMessengerCallbackDataEXT* data, void* user) {
  auto* log = static_cast<ValidationLog*>(user);
  std::lock_guard lock(log->mutex);
  ++log->total;
  if (log->pending.size() < 16) log->pending.emplace_back(data && data->pMessage ? data->pMessage : "(no message)");
  return VK_FALSE;  // never abort the call
}

VkDebugUtilsMessengerCreateInfoEXT messenger_info(ValidationLog* log) {
  VkDebugUtilsMessengerCreateInfoEXT info{VK_STRUCTURE_TYPE_DEBUG_UTILS_MESSENGER_CREATE_INFO_EXT};
  info.messageSeverity = VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT | VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT;
  info.messageType = VK_DEBUG_UTILS_MESSAGE_TYPE_GENERAL_BIT_EXT | VK_DEBUG_UTILS_MESSAGE_TYPE_VALIDATION_BIT_EXT |
                     VK_DEBUG_UTILS_MESSAGE_TYPE_PERFORMANCE_BIT_EXT;
  info.pfnUserCallback = on_validation_message;
  info.pUserData = log;
  return info;
}

bool env_flag(const char* name) {
  const char* v = std::getenv(name);
  return v && *v && std::string(v) != "0";
}

/// UPCONV_VULKAN_SPLIT's choices (see split_mode_from_env).
enum class SplitMode { none, after_shrinking, before_shrinking };

/// A two-way switch from the environment: `fallback` where `name` is unset or empty, else whether
/// it says `on` (or `off`); any other value is an invalid_argument naming the variable and value.
Result<bool> env_switch(const char* name, const char* on, const char* off, bool fallback) {
  const char* env = std::getenv(name);
  const std::string v = env ? env : "";
  if (v.empty()) return fallback;
  if (v == on || v == off) return v == on;
  return invalid_argument(std::string(name) + " is '" + v + "'; expected '" + on + "' or '" + off + "'");
}

/// Whether conv and pixel_shuffle shaders read through texel buffers on a device of this type (VulkanDevice::
/// texel_reads). Measured on lavapipe only: GPUs keep the storage-buffer path until measured.
Result<bool> use_texel_reads(VkPhysicalDeviceType type) {
  return env_switch("UPCONV_VULKAN_READS", "texel", "buffer", type == VK_PHYSICAL_DEVICE_TYPE_CPU);
}

/// Whether the conv shaders stage tiles in shared memory on a device of this type
/// (VulkanDevice::shared_staging): on GPUs; UPCONV_VULKAN_STAGING=shared or =none overrides.
Result<bool> use_shared_staging(VkPhysicalDeviceType type) {
  return env_switch("UPCONV_VULKAN_STAGING", "shared", "none", type != VK_PHYSICAL_DEVICE_TYPE_CPU);
}

/// A count from the environment: `fallback` where `name` is unset or empty, else its decimal value,
/// which must lie in [lo, hi] (and be a power of two where `power_of_two`); anything else is an
/// invalid_argument naming the variable, its value and what was expected.
Result<uint64_t> env_count(const char* name, uint64_t fallback, uint64_t lo, uint64_t hi, bool power_of_two = false) {
  const char* env = std::getenv(name);
  const std::string v = env ? env : "";
  if (v.empty()) return fallback;
  char* end = nullptr;
  errno = 0;
  const unsigned long long n = std::strtoull(v.c_str(), &end, 10);
  const bool ok = errno == 0 && end != v.c_str() && *end == '\0' && v[0] != '-' && n >= lo && n <= hi &&
                  (!power_of_two || std::has_single_bit(n));
  if (!ok)
    return invalid_argument(std::string(name) + " is '" + v + "'; expected " + (power_of_two ? "a power of two" : "a count") +
                            " from " + std::to_string(lo) + " to " + std::to_string(hi));
  return uint64_t{n};
}

/// Lanes a staged conv launch aims for on a device of this type (VulkanDevice::
/// staged_target_lanes): 65536 on GPUs (an H200 runs 132 x 2048 lanes at once; half a thousand
/// per compute unit is where launches there stopped starving), 0 on CPU-type devices, whose
/// lanes are SIMD lanes of a few threads. UPCONV_VULKAN_STAGED_LANES=<count> overrides (tests
/// run the smallest tiles on lavapipe with it).
Result<uint64_t> target_lanes_for(VkPhysicalDeviceType type) {
  return env_count("UPCONV_VULKAN_STAGED_LANES", type == VK_PHYSICAL_DEVICE_TYPE_CPU ? 0u : 65536u, 0,
                   std::numeric_limits<uint64_t>::max());
}

/// Elements a lane of a staged conv loads per round while staging (VulkanDevice::stage_batch,
/// shaders/conv_staged.glsl STAGE_BATCH): UPCONV_VULKAN_STAGE_BATCH=<1..32> overrides.
Result<uint64_t> stage_batch_from_env() { return env_count("UPCONV_VULKAN_STAGE_BATCH", 8, 1, 32); }

/// Most lanes of a staged conv workgroup (VulkanDevice::staged_workgroup): 128, or
/// UPCONV_VULKAN_STAGED_WG=<32..1024, a power of two> (the device's limits still apply). On an
/// H100, timed in steady state (UPCONV_VULKAN_TIMING_REPEATS=20) in two calls with the same
/// figures, 128 against 64: dcgan_g2 0.032 -> 0.028 ms, dcgan_g4 0.033 -> 0.028, frame_up 0.063
/// -> 0.053, aspp_d12 0.415 -> 0.358 (two rows of a block share each weight tile), wavenet_d64
/// 0.046 -> 0.039, fsrcnn_x3 0.056 -> 0.054; unet_up 0.027 -> 0.029 and dw_up_x2 0.028 -> 0.031
/// lose; 256 was slower than 128 on every conv layer.
Result<uint64_t> staged_workgroup_from_env() { return env_count("UPCONV_VULKAN_STAGED_WG", 128, 32, 1024, true); }

/// Channel tiles a staged conv workgroup takes before its spatial block
/// (VulkanDevice::staged_co_first): 2, or UPCONV_VULKAN_STAGED_CO=<1..64, a power of two>. On an
/// H100 (steady state, with the prefetch loop, two passes each) 2 against 1: dcgan_g4 0.025 ->
/// 0.022 ms, unet_up 0.021 -> 0.019, aspp_d12 0.252 -> 0.223-0.228, wavenet_d64 0.032 -> 0.030
/// (layers of one channel tile plan the same either way); 4 was level or slower (aspp_d12 0.267).
Result<uint64_t> staged_co_first_from_env() { return env_count("UPCONV_VULKAN_STAGED_CO", 2, 1, 64, true); }

/// How staged conv workgroups walk their steps (VulkanDevice::staged_loop):
/// UPCONV_VULKAN_STAGED_LOOP=prefetch (the default) or rounds. On an H100 (steady state,
/// two passes) prefetch against rounds, at one channel tile first: dcgan_g2 0.028 -> 0.022 ms,
/// unet_up 0.030 -> 0.021, fsrcnn_x3 0.055 -> 0.043-0.054, aspp_d12 0.374 -> 0.252, wavenet_d64
/// 0.040 -> 0.032.
Result<StagedLoop> staged_loop_from_env() {
  const char* env = std::getenv("UPCONV_VULKAN_STAGED_LOOP");
  const std::string v = env ? env : "";
  if (v.empty() || v == "prefetch") return StagedLoop::prefetch;
  if (v == "rounds") return StagedLoop::rounds;
  return invalid_argument("UPCONV_VULKAN_STAGED_LOOP is '" + v + "'; expected 'prefetch' or 'rounds'");
}

/// Times Plan::run records its dispatches back to back between its timestamps
/// (VulkanDevice::timing_repeats): UPCONV_VULKAN_TIMING_REPEATS=<1..1000>, 1 by default. For
/// benchmarks: a run's host transfers leave a GPU idle between runs, and a GPU that idles lowers
/// its clocks, so a single dispatch per run can be timed at a lower clock than back-to-back work.
Result<uint64_t> timing_repeats_from_env() { return env_count("UPCONV_VULKAN_TIMING_REPEATS", 1, 1, 1000); }

/// Whether staged conv launches too small for the device split their input channels
/// (VulkanDevice::split_reduction): on by default, UPCONV_VULKAN_SPLIT=none turns it off. On an
/// H100 it took dcgan_g2 from 0.156 to 0.035-0.039 ms and dcgan_g4 from 0.045 to 0.036-0.039
/// (two runs each), the only bench layers it splits besides fsrcnn_x3 (0.064 -> 0.060-0.067).
/// It never splits on CPU-type devices, whose target lanes are 0. UPCONV_VULKAN_SPLIT=first
/// splits before the lanes take fewer positions each (VulkanDevice::split_first).
Result<SplitMode> split_mode_from_env() {
  const char* env = std::getenv("UPCONV_VULKAN_SPLIT");
  const std::string v = env ? env : "";
  if (v.empty() || v == "auto") return SplitMode::after_shrinking;
  if (v == "none") return SplitMode::none;
  if (v == "first") return SplitMode::before_shrinking;
  return invalid_argument("UPCONV_VULKAN_SPLIT is '" + v + "'; expected 'auto', 'first' or 'none'");
}

/// First compute-capable queue family, preferring one with timestamps. -1 when none.
int compute_queue_family(const InstanceFunctions& ifn, VkPhysicalDevice physical, uint32_t* valid_bits) {
  uint32_t count = 0;
  ifn.vkGetPhysicalDeviceQueueFamilyProperties(physical, &count, nullptr);
  std::vector<VkQueueFamilyProperties> families(count);
  ifn.vkGetPhysicalDeviceQueueFamilyProperties(physical, &count, families.data());
  int best = -1;
  for (uint32_t i = 0; i < count; ++i) {
    if (!(families[i].queueFlags & VK_QUEUE_COMPUTE_BIT) || families[i].queueCount == 0) continue;
    if (best < 0 || (families[best].timestampValidBits == 0 && families[i].timestampValidBits > 0))
      best = static_cast<int>(i);
  }
  if (valid_bits) *valid_bits = best >= 0 ? families[best].timestampValidBits : 0;
  return best;
}

Result<std::vector<VkPhysicalDevice>> physical_devices(const InstanceFunctions& ifn, VkInstance instance) {
  uint32_t count = 0;
  UPCONV_VK_CHECK(ifn.vkEnumeratePhysicalDevices(instance, &count, nullptr));
  std::vector<VkPhysicalDevice> devices(count);
  UPCONV_VK_CHECK(ifn.vkEnumeratePhysicalDevices(instance, &count, devices.data()));
  devices.resize(count);
  return devices;
}

bool usable(const InstanceFunctions& ifn, VkPhysicalDevice physical, const VkPhysicalDeviceProperties& props) {
  return props.apiVersion >= VK_API_VERSION_1_1 && compute_queue_family(ifn, physical, nullptr) >= 0;
}

}  // namespace

Result<uint32_t> choose_device(const std::vector<DeviceCandidate>& devices, const std::string& selector,
                               bool only_gpus) {
  auto allowed = [&](const DeviceCandidate& d) {
    return d.usable && !(only_gpus && d.type == VK_PHYSICAL_DEVICE_TYPE_CPU);
  };
  const bool is_index = !selector.empty() && std::all_of(selector.begin(), selector.end(), [](char c) {
    return std::isdigit(static_cast<unsigned char>(c));
  });
  if (is_index) {
    const unsigned long index = selector.size() > 9 ? ~0ul : std::stoul(selector);
    if (index >= devices.size())
      return invalid_argument("Vulkan device index " + selector + " is out of range; devices: " + device_list(devices));
    if (!allowed(devices[index]))
      return Status(StatusCode::backend_unavailable,
                    "Vulkan device " + selector + " (" + devices[index].name + ") cannot be used" +
                        (devices[index].usable ? " by the automatic backend (a CPU device; ask for --backend vulkan)"
                                               : " (needs Vulkan 1.1 and a compute queue)"));
    return static_cast<uint32_t>(index);
  }
  const std::string needle = lower(selector);
  int best = -1;
  for (size_t i = 0; i < devices.size(); ++i) {
    if (!allowed(devices[i])) continue;
    if (!needle.empty() && lower(devices[i].name).find(needle) == std::string::npos) continue;
    if (best < 0 || type_rank(devices[i].type) < type_rank(devices[best].type)) best = static_cast<int>(i);
  }
  if (best < 0) {
    if (!needle.empty())
      return invalid_argument("no usable Vulkan device matches '" + selector + "'" +
                              (only_gpus ? " among GPUs" : "") + "; devices: " + device_list(devices));
    return Status(StatusCode::backend_unavailable,
                  std::string("no usable Vulkan ") + (only_gpus ? "GPU" : "device") + "; devices: " + device_list(devices));
  }
  return static_cast<uint32_t>(best);
}

DeviceProperties query_properties(const InstanceFunctions& ifn, VkPhysicalDevice physical) {
  DeviceProperties out;
  ifn.vkGetPhysicalDeviceProperties(physical, &out.core);
  if (out.core.apiVersion < VK_API_VERSION_1_1) return out;
  VkPhysicalDeviceSubgroupProperties subgroup{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_PROPERTIES};
  VkPhysicalDeviceDriverProperties driver{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_DRIVER_PROPERTIES};
  VkPhysicalDeviceProperties2 props2{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2};
  props2.pNext = &subgroup;
  const bool has_driver_props = out.core.apiVersion >= VK_API_VERSION_1_2;
  if (has_driver_props) subgroup.pNext = &driver;
  ifn.vkGetPhysicalDeviceProperties2(physical, &props2);
  out.subgroup_size = subgroup.subgroupSize;
  out.subgroup_ballot = (subgroup.supportedStages & VK_SHADER_STAGE_COMPUTE_BIT) != 0 &&
                        (subgroup.supportedOperations & VK_SUBGROUP_FEATURE_BALLOT_BIT) != 0;
  out.driver = has_driver_props ? std::string(driver.driverName) + " (" + driver.driverInfo + ")"
                                : "driver version " + std::to_string(out.core.driverVersion);

  VkPhysicalDevice16BitStorageFeatures storage16{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_16BIT_STORAGE_FEATURES};
  VkPhysicalDeviceFeatures2 features{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2};
  features.pNext = &storage16;
  ifn.vkGetPhysicalDeviceFeatures2(physical, &features);
  out.storage_buffer_16bit = storage16.storageBuffer16BitAccess == VK_TRUE;
  return out;
}

Result<std::vector<VulkanDeviceInfo>> enumerate_devices() {
  // A machine with a loader but no device still lists (nothing); only a missing loader fails.
  auto lib = LoaderLibrary::open();
  if (!lib.ok()) return lib.status();
  auto gfn = load_global_functions(lib->get_instance_proc_addr());
  if (!gfn.ok()) return gfn.status();
  VkApplicationInfo app{VK_STRUCTURE_TYPE_APPLICATION_INFO};
  app.pApplicationName = "upconv";
  app.apiVersion = VK_API_VERSION_1_1;
  VkInstanceCreateInfo info{VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO};
  info.pApplicationInfo = &app;
  VkInstance raw = VK_NULL_HANDLE;
  UPCONV_VK_CHECK(gfn->vkCreateInstance(&info, nullptr, &raw));
  auto destroy = reinterpret_cast<PFN_vkDestroyInstance>(lib->get_instance_proc_addr()(raw, "vkDestroyInstance"));
  OwnedInstance instance(raw, destroy);
  auto ifn = load_instance_functions(lib->get_instance_proc_addr(), raw);
  if (!ifn.ok()) return ifn.status();
  auto physicals = physical_devices(*ifn, raw);
  if (!physicals.ok()) return physicals.status();
  std::vector<VulkanDeviceInfo> list;
  for (uint32_t i = 0; i < physicals->size(); ++i) {
    const VkPhysicalDevice p = (*physicals)[i];
    const DeviceProperties props = query_properties(*ifn, p);
    const auto& l = props.core.limits;
    VulkanDeviceInfo d;
    d.index = i;
    d.name = props.core.deviceName;
    d.type = type_name(props.core.deviceType);
    d.api_version = version_string(props.core.apiVersion);
    d.driver = props.driver;
    d.vendor_id = props.core.vendorID;
    d.device_id = props.core.deviceID;
    for (int k = 0; k < 3; ++k) {
      d.max_workgroup_size[k] = l.maxComputeWorkGroupSize[k];
      d.max_workgroup_count[k] = l.maxComputeWorkGroupCount[k];
    }
    d.max_workgroup_invocations = l.maxComputeWorkGroupInvocations;
    d.max_shared_memory_bytes = l.maxComputeSharedMemorySize;
    d.max_push_constants_bytes = l.maxPushConstantsSize;
    d.subgroup_size = props.subgroup_size;
    d.subgroup_ballot = props.subgroup_ballot;
    d.storage_buffer_16bit = props.storage_buffer_16bit;
    auto texel_reads = use_texel_reads(props.core.deviceType);
    d.texel_reads = texel_reads.ok() && *texel_reads;
    auto staging = use_shared_staging(props.core.deviceType);
    d.shared_staging = staging.ok() && *staging;
    d.timestamp_period_ns = l.timestampPeriod;
    compute_queue_family(*ifn, p, &d.timestamp_valid_bits);
    if (!l.timestampComputeAndGraphics) d.timestamp_valid_bits = 0;
    d.usable = usable(*ifn, p, props.core);
    list.push_back(std::move(d));
  }
  return list;
}

Status VulkanDevice::create_instance(bool validation) {
  auto lib = LoaderLibrary::open();
  if (!lib.ok()) return lib.status();
  library_ = std::move(lib).value();
  auto gfn = load_global_functions(library_.get_instance_proc_addr());
  if (!gfn.ok()) return gfn.status();
  gfn_ = *gfn;
  uint32_t loader_version = VK_API_VERSION_1_0;
  if (gfn_.vkEnumerateInstanceVersion) UPCONV_VK_CHECK(gfn_.vkEnumerateInstanceVersion(&loader_version));
  if (loader_version < VK_API_VERSION_1_1)
    return Status(StatusCode::backend_unavailable,
                  "the Vulkan loader supports only Vulkan " + version_string(loader_version) + "; upconv needs 1.1");

  uint32_t count = 0;
  UPCONV_VK_CHECK(gfn_.vkEnumerateInstanceExtensionProperties(nullptr, &count, nullptr));
  std::vector<VkExtensionProperties> available(count);
  UPCONV_VK_CHECK(gfn_.vkEnumerateInstanceExtensionProperties(nullptr, &count, available.data()));
  auto has_extension = [&](const char* name) {
    return std::any_of(available.begin(), available.end(),
                       [&](const VkExtensionProperties& e) { return std::strcmp(e.extensionName, name) == 0; });
  };
  std::vector<const char*> extensions, layers;
  VkInstanceCreateInfo info{VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO};
  if (has_extension(VK_KHR_PORTABILITY_ENUMERATION_EXTENSION_NAME)) {
    extensions.push_back(VK_KHR_PORTABILITY_ENUMERATION_EXTENSION_NAME);
    info.flags |= VK_INSTANCE_CREATE_ENUMERATE_PORTABILITY_BIT_KHR;
  }
  VkDebugUtilsMessengerCreateInfoEXT debug_info = messenger_info(log_.get());
  if (validation) {
    UPCONV_VK_CHECK(gfn_.vkEnumerateInstanceLayerProperties(&count, nullptr));
    std::vector<VkLayerProperties> layer_props(count);
    UPCONV_VK_CHECK(gfn_.vkEnumerateInstanceLayerProperties(&count, layer_props.data()));
    const bool has_layer = std::any_of(layer_props.begin(), layer_props.end(), [](const VkLayerProperties& l) {
      return std::strcmp(l.layerName, kValidationLayer) == 0;
    });
    if (!has_layer)
      return Status(StatusCode::backend_unavailable,
                    std::string("Vulkan validation was asked for but the layer ") + kValidationLayer +
                        " is not installed (Debian: vulkan-validationlayers)");
    if (!has_extension(VK_EXT_DEBUG_UTILS_EXTENSION_NAME))
      return Status(StatusCode::backend_unavailable, "Vulkan validation needs VK_EXT_debug_utils, which is missing");
    layers.push_back(kValidationLayer);
    extensions.push_back(VK_EXT_DEBUG_UTILS_EXTENSION_NAME);
    info.pNext = &debug_info;  // also reports problems of vkCreateInstance/vkDestroyInstance
  }
  VkApplicationInfo app{VK_STRUCTURE_TYPE_APPLICATION_INFO};
  app.pApplicationName = "upconv";
  app.pEngineName = "upconv";
  app.apiVersion = std::min(loader_version, VK_API_VERSION_1_3);
  info.pApplicationInfo = &app;
  info.enabledLayerCount = static_cast<uint32_t>(layers.size());
  info.ppEnabledLayerNames = layers.data();
  info.enabledExtensionCount = static_cast<uint32_t>(extensions.size());
  info.ppEnabledExtensionNames = extensions.data();
  VkInstance instance = VK_NULL_HANDLE;
  UPCONV_VK_CHECK(gfn_.vkCreateInstance(&info, nullptr, &instance));
  auto destroy = reinterpret_cast<PFN_vkDestroyInstance>(gfn_.vkGetInstanceProcAddr(instance, "vkDestroyInstance"));
  instance_ = OwnedInstance(instance, destroy);
  instance_handle_ = instance;
  auto ifn = load_instance_functions(gfn_.vkGetInstanceProcAddr, instance);
  if (!ifn.ok()) return ifn.status();
  ifn_ = *ifn;
  if (validation) {
    if (!ifn_.vkCreateDebugUtilsMessengerEXT || !ifn_.vkDestroyDebugUtilsMessengerEXT)
      return Status(StatusCode::backend_unavailable, "vkCreateDebugUtilsMessengerEXT is missing");
    VkDebugUtilsMessengerEXT messenger = VK_NULL_HANDLE;
    UPCONV_VK_CHECK(ifn_.vkCreateDebugUtilsMessengerEXT(instance, &debug_info, nullptr, &messenger));
    messenger_ = OwnedMessenger(instance, messenger, ifn_.vkDestroyDebugUtilsMessengerEXT);
  }
  return {};
}

Status VulkanDevice::create_device(uint32_t index, const std::vector<VkPhysicalDevice>& physicals) {
  physical_ = physicals[index];
  props_ = query_properties(ifn_, physical_);
  const int family = compute_queue_family(ifn_, physical_, &timestamp_valid_bits_);
  if (family < 0) return Status(StatusCode::backend_unavailable, name() + " has no compute queue");
  queue_family_ = static_cast<uint32_t>(family);

  const float priority = 1.0f;
  VkDeviceQueueCreateInfo queue_info{VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO};
  queue_info.queueFamilyIndex = queue_family_;
  queue_info.queueCount = 1;
  queue_info.pQueuePriorities = &priority;
  // Only what the shaders need: 16-bit storage-buffer access for fp16 storage (fp32 math).
  VkPhysicalDevice16BitStorageFeatures storage16{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_16BIT_STORAGE_FEATURES};
  storage16.storageBuffer16BitAccess = props_.storage_buffer_16bit ? VK_TRUE : VK_FALSE;
  VkPhysicalDeviceFeatures2 features{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2};
  features.pNext = &storage16;
  // The driver's pipeline statistics, only when asked for (UPCONV_VULKAN_PIPELINE_STATS).
  VkPhysicalDevicePipelineExecutablePropertiesFeaturesKHR executables{
      VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PIPELINE_EXECUTABLE_PROPERTIES_FEATURES_KHR};
  std::vector<const char*> extensions;
  const bool stats = env_flag("UPCONV_VULKAN_PIPELINE_STATS");
  const bool stats_offered = stats && device_offers_pipeline_stats(ifn_, physical_);
  if (stats_offered) {
    executables.pipelineExecutableInfo = VK_TRUE;
    storage16.pNext = &executables;
    extensions.push_back(VK_KHR_PIPELINE_EXECUTABLE_PROPERTIES_EXTENSION_NAME);
  } else if (stats) {
    std::fprintf(stderr, "upconv: UPCONV_VULKAN_PIPELINE_STATS: %s does not offer %s\n", name().c_str(),
                 VK_KHR_PIPELINE_EXECUTABLE_PROPERTIES_EXTENSION_NAME);
  }
  VkDeviceCreateInfo info{VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO};
  info.pNext = &features;
  info.queueCreateInfoCount = 1;
  info.pQueueCreateInfos = &queue_info;
  info.enabledExtensionCount = static_cast<uint32_t>(extensions.size());
  info.ppEnabledExtensionNames = extensions.data();
  VkDevice device = VK_NULL_HANDLE;
  UPCONV_VK_CHECK(ifn_.vkCreateDevice(physical_, &info, nullptr, &device));
  auto destroy = reinterpret_cast<PFN_vkDestroyDevice>(ifn_.vkGetDeviceProcAddr(device, "vkDestroyDevice"));
  device_ = OwnedDevice(device, destroy);
  device_handle_ = device;
  fp16_enabled_ = props_.storage_buffer_16bit;
  auto dfn = load_device_functions(ifn_, device);
  if (!dfn.ok()) return dfn.status();
  dfn_ = *dfn;
  dfn_.vkGetDeviceQueue(device, queue_family_, 0, &queue_);
  if (stats_offered) pipeline_stats_ = PipelineStatsReporter(ifn_, device);
  return {};
}

Status VulkanDevice::finish_setup(const ContextOptions& options) {
  if (!props_.core.limits.timestampComputeAndGraphics) timestamp_valid_bits_ = 0;
  subgroup_broadcast_ = props_.subgroup_ballot && !env_flag("UPCONV_VULKAN_NO_SUBGROUPS");
  auto texel_reads = use_texel_reads(props_.core.deviceType);
  if (!texel_reads.ok()) return texel_reads.status();
  texel_reads_ = *texel_reads;
  auto staging = use_shared_staging(props_.core.deviceType);
  if (!staging.ok()) return staging.status();
  shared_staging_ = *staging;
  auto target_lanes = target_lanes_for(props_.core.deviceType);
  if (!target_lanes.ok()) return target_lanes.status();
  staged_target_lanes_ = *target_lanes;
  auto split = split_mode_from_env();
  if (!split.ok()) return split.status();
  split_reduction_ = *split != SplitMode::none;
  split_first_ = *split == SplitMode::before_shrinking;
  auto batch = stage_batch_from_env();
  if (!batch.ok()) return batch.status();
  stage_batch_ = static_cast<uint32_t>(*batch);
  auto staged_wg = staged_workgroup_from_env();
  if (!staged_wg.ok()) return staged_wg.status();
  staged_workgroup_ = static_cast<uint32_t>(*staged_wg);
  auto co_first = staged_co_first_from_env();
  if (!co_first.ok()) return co_first.status();
  staged_co_first_ = static_cast<uint32_t>(*co_first);
  auto loop = staged_loop_from_env();
  if (!loop.ok()) return loop.status();
  staged_loop_ = *loop;
  auto repeats = timing_repeats_from_env();
  if (!repeats.ok()) return repeats.status();
  timing_repeats_ = static_cast<uint32_t>(*repeats);
  ifn_.vkGetPhysicalDeviceMemoryProperties(physical_, &memory_props_);
  if (props_.core.limits.maxPushConstantsSize < kPushConstantRangeBytes)
    return Status(StatusCode::unsupported, name() + " allows only " +
                                               std::to_string(props_.core.limits.maxPushConstantsSize) +
                                               " bytes of push constants; upconv needs 128");
  memory_ = std::make_unique<MemoryAllocator>(dfn_, device_handle_, memory_props_);
  auto store = PipelineStore::create(dfn_, device_handle_, props_.core, options.pipeline_cache_path);
  if (!store.ok()) return store.status();
  pipelines_ = std::move(store).value();
  pipelines_->report_statistics(pipeline_stats_);
  return take_validation_status();
}

Result<std::shared_ptr<VulkanDevice>> VulkanDevice::create(const ContextOptions& options, bool only_gpus) {
  std::shared_ptr<VulkanDevice> d(new VulkanDevice());
  const bool validation = options.vulkan_validation || env_flag("UPCONV_VALIDATION");
  UPCONV_RETURN_IF_ERROR(d->create_instance(validation));
  auto physicals = physical_devices(d->ifn_, d->instance_handle_);
  if (!physicals.ok()) return physicals.status();
  std::vector<DeviceCandidate> candidates;
  for (VkPhysicalDevice p : *physicals) {
    VkPhysicalDeviceProperties props{};
    d->ifn_.vkGetPhysicalDeviceProperties(p, &props);
    candidates.push_back({props.deviceName, props.deviceType, usable(d->ifn_, p, props)});
  }
  std::string selector = options.vulkan_device;
  if (selector.empty())
    if (const char* env = std::getenv("UPCONV_DEVICE")) selector = env;
  auto index = choose_device(candidates, selector, only_gpus);
  if (!index.ok()) {
    if (selector == options.vulkan_device || index.status().code() != StatusCode::invalid_argument)
      return index.status();
    return Status(index.status().code(), "UPCONV_DEVICE: " + index.status().message());
  }
  UPCONV_RETURN_IF_ERROR(d->create_device(*index, *physicals));
  watch_process_exit();  // after the driver and layers loaded: runs before their teardown
  UPCONV_RETURN_IF_ERROR(d->finish_setup(options));
  return d;
}

Result<std::shared_ptr<VulkanDevice>> VulkanDevice::adopt(const VulkanAdoptInfo& info, const ContextOptions& options) {
  if (!info.instance || !info.physical_device || !info.device || !info.queue)
    return invalid_argument("VulkanAdoptInfo: instance, physical_device, device and queue must all be set");
  std::shared_ptr<VulkanDevice> d(new VulkanDevice());
  PFN_vkGetInstanceProcAddr gipa = info.get_instance_proc_addr;
  if (!gipa) {
    auto lib = LoaderLibrary::open();
    if (!lib.ok()) return lib.status();
    d->library_ = std::move(lib).value();
    gipa = d->library_.get_instance_proc_addr();
  }
  d->gfn_.vkGetInstanceProcAddr = gipa;
  d->instance_ = Borrowed<VkInstance>{info.instance};
  d->instance_handle_ = info.instance;
  auto ifn = load_instance_functions(gipa, info.instance);
  if (!ifn.ok()) return ifn.status();
  d->ifn_ = *ifn;
  d->physical_ = info.physical_device;
  d->props_ = query_properties(d->ifn_, info.physical_device);
  if (d->props_.core.apiVersion < VK_API_VERSION_1_1)
    return Status(StatusCode::unsupported, "VulkanAdoptInfo: the physical device supports only Vulkan " +
                                               version_string(d->props_.core.apiVersion) + "; upconv needs 1.1");
  uint32_t family_count = 0;
  d->ifn_.vkGetPhysicalDeviceQueueFamilyProperties(info.physical_device, &family_count, nullptr);
  std::vector<VkQueueFamilyProperties> families(family_count);
  d->ifn_.vkGetPhysicalDeviceQueueFamilyProperties(info.physical_device, &family_count, families.data());
  if (info.queue_family >= family_count || !(families[info.queue_family].queueFlags & VK_QUEUE_COMPUTE_BIT))
    return invalid_argument("VulkanAdoptInfo: queue_family " + std::to_string(info.queue_family) +
                            " is not a compute queue family of the device");
  d->queue_family_ = info.queue_family;
  d->timestamp_valid_bits_ = families[info.queue_family].timestampValidBits;
  d->device_ = Borrowed<VkDevice>{info.device};
  d->device_handle_ = info.device;
  d->queue_ = info.queue;
  d->fp16_enabled_ = info.storage_buffer_16bit_enabled && d->props_.storage_buffer_16bit;
  auto dfn = load_device_functions(d->ifn_, info.device);
  if (!dfn.ok()) return dfn.status();
  d->dfn_ = *dfn;
  watch_process_exit();
  UPCONV_RETURN_IF_ERROR(d->finish_setup(options));
  return d;
}

VulkanDevice::~VulkanDevice() {
  // Everything upconv made on the device must be idle before it is destroyed. On a borrowed
  // device, plans wait for their own submissions, so there is nothing to wait for here (and
  // vkDeviceWaitIdle would need the caller's queues to be externally synchronised).
  if (std::holds_alternative<OwnedDevice>(device_) && device_handle_ && dfn_.vkDeviceWaitIdle && !process_exiting())
    dfn_.vkDeviceWaitIdle(device_handle_);
  pipelines_.reset();  // saves the cache file
  memory_.reset();
}

Status VulkanDevice::submit(VkCommandBuffer cmd, VkFence fence) {
  VkSubmitInfo info{VK_STRUCTURE_TYPE_SUBMIT_INFO};
  info.commandBufferCount = 1;
  info.pCommandBuffers = &cmd;
  std::lock_guard lock(queue_mutex_);
  UPCONV_VK_CHECK(dfn_.vkQueueSubmit(queue_, 1, &info, fence));
  return {};
}

Status VulkanDevice::take_validation_status() {
  std::lock_guard lock(log_->mutex);
  if (log_->pending.empty()) return {};
  std::string message = "Vulkan validation reported " + std::to_string(log_->pending.size()) + " message(s):";
  for (const auto& m : log_->pending) message += "\n  " + m;
  log_->pending.clear();
  return Status(StatusCode::backend_error, message);
}

uint64_t VulkanDevice::validation_message_count() {
  std::lock_guard lock(log_->mutex);
  return log_->total;
}

}  // namespace upconv::detail::vk

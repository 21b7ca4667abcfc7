// Loading the Vulkan loader at run time and resolving per-context function tables.
#include "runtime/vulkan/vk_functions.hpp"

#include <dlfcn.h>

#include <atomic>

#include <cstdlib>
#include <string>
#include <utility>

namespace upconv::detail::vk {

Result<LoaderLibrary> LoaderLibrary::open() {
  // UPCONV_VULKAN_LOADER names a specific loader library (and lets tests simulate a machine
  // without one). Otherwise libvulkan.so.1, the loader's ABI name; the unversioned name exists
  // only with -dev packages.
  const char* forced = std::getenv("UPCONV_VULKAN_LOADER");
  void* handle = nullptr;
  if (forced && *forced) {
    handle = dlopen(forced, RTLD_NOW | RTLD_LOCAL);
    if (!handle)
      return Status(StatusCode::backend_unavailable,
                    std::string("no Vulkan loader: UPCONV_VULKAN_LOADER=") + forced + " could not be opened");
  } else {
    handle = dlopen("libvulkan.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!handle) handle = dlopen("libvulkan.so", RTLD_NOW | RTLD_LOCAL);
  }
  if (!handle)
    return Status(StatusCode::backend_unavailable,
                  "no Vulkan loader found (libvulkan.so.1 could not be opened; install a Vulkan loader and driver)");
  auto gipa = reinterpret_cast<PFN_vkGetInstanceProcAddr>(dlsym(handle, "vkGetInstanceProcAddr"));
  if (!gipa) {
    dlclose(handle);
    return Status(StatusCode::backend_unavailable, "the Vulkan loader libvulkan.so.1 has no vkGetInstanceProcAddr");
  }
  LoaderLibrary lib;
  lib.handle_ = handle;
  lib.gipa_ = gipa;
  return lib;
}

LoaderLibrary::LoaderLibrary(LoaderLibrary&& other) noexcept
    : handle_(std::exchange(other.handle_, nullptr)), gipa_(std::exchange(other.gipa_, nullptr)) {}

LoaderLibrary& LoaderLibrary::operator=(LoaderLibrary&& other) noexcept {
  if (this != &other) {
    if (handle_) dlclose(handle_);
    handle_ = std::exchange(other.handle_, nullptr);
    gipa_ = std::exchange(other.gipa_, nullptr);
  }
  return *this;
}

LoaderLibrary::~LoaderLibrary() {
  if (handle_ && !process_exiting()) dlclose(handle_);
}

namespace {
std::atomic<bool> g_process_exiting{false};
void mark_process_exiting() { g_process_exiting.store(true, std::memory_order_relaxed); }
}  // namespace

bool process_exiting() noexcept { return g_process_exiting.load(std::memory_order_relaxed); }

void watch_process_exit() noexcept { (void)std::atexit(mark_process_exiting); }

Result<GlobalFunctions> load_global_functions(PFN_vkGetInstanceProcAddr gipa) {
  GlobalFunctions g;
  g.vkGetInstanceProcAddr = gipa;
#define UPCONV_VK_LOAD_GLOBAL(name) g.name = reinterpret_cast<PFN_##name>(gipa(VK_NULL_HANDLE, #name));
  UPCONV_VK_GLOBAL_FUNCTIONS(UPCONV_VK_LOAD_GLOBAL)
#undef UPCONV_VK_LOAD_GLOBAL
  if (!g.vkCreateInstance || !g.vkEnumerateInstanceExtensionProperties || !g.vkEnumerateInstanceLayerProperties)
    return Status(StatusCode::backend_unavailable, "the Vulkan loader does not provide vkCreateInstance");
  return g;
}

Result<InstanceFunctions> load_instance_functions(PFN_vkGetInstanceProcAddr gipa, VkInstance instance) {
  InstanceFunctions f;
#define UPCONV_VK_LOAD_INSTANCE(name)                                                          \
  f.name = reinterpret_cast<PFN_##name>(gipa(instance, #name));                                \
  if (!f.name) return Status(StatusCode::backend_error, "Vulkan instance function " #name " is missing");
  UPCONV_VK_INSTANCE_FUNCTIONS(UPCONV_VK_LOAD_INSTANCE)
#undef UPCONV_VK_LOAD_INSTANCE
#define UPCONV_VK_LOAD_OPTIONAL(name) f.name = reinterpret_cast<PFN_##name>(gipa(instance, #name));
  UPCONV_VK_OPTIONAL_INSTANCE_FUNCTIONS(UPCONV_VK_LOAD_OPTIONAL)
#undef UPCONV_VK_LOAD_OPTIONAL
  return f;
}

Result<DeviceFunctions> load_device_functions(const InstanceFunctions& ifn, VkDevice device) {
  DeviceFunctions f;
#define UPCONV_VK_LOAD_DEVICE(name)                                                            \
  f.name = reinterpret_cast<PFN_##name>(ifn.vkGetDeviceProcAddr(device, #name));               \
  if (!f.name) return Status(StatusCode::backend_error, "Vulkan device function " #name " is missing");
  UPCONV_VK_DEVICE_FUNCTIONS(UPCONV_VK_LOAD_DEVICE)
#undef UPCONV_VK_LOAD_DEVICE
  return f;
}

const char* result_name(VkResult result) noexcept {
  switch (result) {
#define UPCONV_VK_RESULT_CASE(r) \
  case r: return #r;
    UPCONV_VK_RESULT_CASE(VK_SUCCESS)
    UPCONV_VK_RESULT_CASE(VK_NOT_READY)
    UPCONV_VK_RESULT_CASE(VK_TIMEOUT)
    UPCONV_VK_RESULT_CASE(VK_EVENT_SET)
    UPCONV_VK_RESULT_CASE(VK_EVENT_RESET)
    UPCONV_VK_RESULT_CASE(VK_INCOMPLETE)
    UPCONV_VK_RESULT_CASE(VK_ERROR_OUT_OF_HOST_MEMORY)
    UPCONV_VK_RESULT_CASE(VK_ERROR_OUT_OF_DEVICE_MEMORY)
    UPCONV_VK_RESULT_CASE(VK_ERROR_INITIALIZATION_FAILED)
    UPCONV_VK_RESULT_CASE(VK_ERROR_DEVICE_LOST)
    UPCONV_VK_RESULT_CASE(VK_ERROR_MEMORY_MAP_FAILED)
    UPCONV_VK_RESULT_CASE(VK_ERROR_LAYER_NOT_PRESENT)
    UPCONV_VK_RESULT_CASE(VK_ERROR_EXTENSION_NOT_PRESENT)
    UPCONV_VK_RESULT_CASE(VK_ERROR_FEATURE_NOT_PRESENT)
    UPCONV_VK_RESULT_CASE(VK_ERROR_INCOMPATIBLE_DRIVER)
    UPCONV_VK_RESULT_CASE(VK_ERROR_TOO_MANY_OBJECTS)
    UPCONV_VK_RESULT_CASE(VK_ERROR_FORMAT_NOT_SUPPORTED)
    UPCONV_VK_RESULT_CASE(VK_ERROR_FRAGMENTED_POOL)
    UPCONV_VK_RESULT_CASE(VK_ERROR_UNKNOWN)
    UPCONV_VK_RESULT_CASE(VK_ERROR_OUT_OF_POOL_MEMORY)
    UPCONV_VK_RESULT_CASE(VK_ERROR_INVALID_EXTERNAL_HANDLE)
    UPCONV_VK_RESULT_CASE(VK_ERROR_FRAGMENTATION)
    UPCONV_VK_RESULT_CASE(VK_ERROR_INVALID_OPAQUE_CAPTURE_ADDRESS)
    UPCONV_VK_RESULT_CASE(VK_PIPELINE_COMPILE_REQUIRED)
    UPCONV_VK_RESULT_CASE(VK_ERROR_VALIDATION_FAILED_EXT)
#undef UPCONV_VK_RESULT_CASE
    default: return "VkResult(unnamed)";
  }
}

Status result_status(VkResult result, const char* what) {
  const StatusCode code = (result == VK_ERROR_OUT_OF_HOST_MEMORY || result == VK_ERROR_OUT_OF_DEVICE_MEMORY)
                              ? StatusCode::out_of_memory
                              : StatusCode::backend_error;
  std::string name = result_name(result);
  if (name == "VkResult(unnamed)") name = "VkResult(" + std::to_string(static_cast<int>(result)) + ")";
  return Status(code, std::string(what) + " failed with " + name);
}

}  // namespace upconv::detail::vk

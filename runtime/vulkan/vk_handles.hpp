// Internal: ownership of Vulkan handles. An Owned<H> destroys its handle exactly once; a
// Borrowed<H> (an adopted caller's instance, device or queue) is a different type and never
// destroys anything, so borrowed handles cannot be freed by accident. During process exit (see
// process_exiting) owners leave their handles to the OS.
#pragma once

#include <utility>

#include "runtime/vulkan/vk_functions.hpp"

namespace upconv::detail::vk {

/// A handle that belongs to someone else (the caller of create_vulkan_context).
template <class H>
struct Borrowed {
  H handle = VK_NULL_HANDLE;
};

/// A device-child handle destroyed with vkDestroy<H>(device, handle, nullptr) (or vkFreeMemory).
template <class H>
class Owned {
 public:
  using Destroy = void (*)(VkDevice, H, const VkAllocationCallbacks*);

  Owned() = default;
  Owned(VkDevice device, H handle, Destroy destroy) : device_(device), handle_(handle), destroy_(destroy) {}
  Owned(Owned&& other) noexcept
      : device_(other.device_), handle_(std::exchange(other.handle_, H(VK_NULL_HANDLE))), destroy_(other.destroy_) {}
  Owned& operator=(Owned&& other) noexcept {
    if (this != &other) {
      reset();
      device_ = other.device_;
      handle_ = std::exchange(other.handle_, H(VK_NULL_HANDLE));
      destroy_ = other.destroy_;
    }
    return *this;
  }
  Owned(const Owned&) = delete;
  Owned& operator=(const Owned&) = delete;
  ~Owned() { reset(); }

  H get() const noexcept { return handle_; }
  explicit operator bool() const noexcept { return handle_ != H(VK_NULL_HANDLE); }
  void reset() noexcept {
    if (handle_ != H(VK_NULL_HANDLE) && destroy_ && !process_exiting()) destroy_(device_, handle_, nullptr);
    handle_ = H(VK_NULL_HANDLE);
  }

 private:
  VkDevice device_ = VK_NULL_HANDLE;
  H handle_ = VK_NULL_HANDLE;
  Destroy destroy_ = nullptr;
};

/// An instance upconv created (destroyed with vkDestroyInstance).
class OwnedInstance {
 public:
  OwnedInstance() = default;
  OwnedInstance(VkInstance instance, PFN_vkDestroyInstance destroy) : handle_(instance), destroy_(destroy) {}
  OwnedInstance(OwnedInstance&& o) noexcept
      : handle_(std::exchange(o.handle_, VK_NULL_HANDLE)), destroy_(o.destroy_) {}
  OwnedInstance& operator=(OwnedInstance&& o) noexcept {
    if (this != &o) {
      reset();
      handle_ = std::exchange(o.handle_, VK_NULL_HANDLE);
      destroy_ = o.destroy_;
    }
    return *this;
  }
  OwnedInstance(const OwnedInstance&) = delete;
  OwnedInstance& operator=(const OwnedInstance&) = delete;
  ~OwnedInstance() { reset(); }

  VkInstance get() const noexcept { return handle_; }
  void reset() noexcept {
    if (handle_ && destroy_ && !process_exiting()) destroy_(handle_, nullptr);
    handle_ = VK_NULL_HANDLE;
  }

 private:
  VkInstance handle_ = VK_NULL_HANDLE;
  PFN_vkDestroyInstance destroy_ = nullptr;
};

/// A logical device upconv created (waited idle, then destroyed with vkDestroyDevice).
class OwnedDevice {
 public:
  OwnedDevice() = default;
  OwnedDevice(VkDevice device, PFN_vkDestroyDevice destroy) : handle_(device), destroy_(destroy) {}
  OwnedDevice(OwnedDevice&& o) noexcept : handle_(std::exchange(o.handle_, VK_NULL_HANDLE)), destroy_(o.destroy_) {}
  OwnedDevice& operator=(OwnedDevice&& o) noexcept {
    if (this != &o) {
      reset();
      handle_ = std::exchange(o.handle_, VK_NULL_HANDLE);
      destroy_ = o.destroy_;
    }
    return *this;
  }
  OwnedDevice(const OwnedDevice&) = delete;
  OwnedDevice& operator=(const OwnedDevice&) = delete;
  ~OwnedDevice() { reset(); }

  VkDevice get() const noexcept { return handle_; }
  void reset() noexcept {
    if (handle_ && destroy_ && !process_exiting()) destroy_(handle_, nullptr);
    handle_ = VK_NULL_HANDLE;
  }

 private:
  VkDevice handle_ = VK_NULL_HANDLE;
  PFN_vkDestroyDevice destroy_ = nullptr;
};

/// A debug-utils messenger (destroyed through the instance's extension function).
class OwnedMessenger {
 public:
  OwnedMessenger() = default;
  OwnedMessenger(VkInstance instance, VkDebugUtilsMessengerEXT messenger, PFN_vkDestroyDebugUtilsMessengerEXT destroy)
      : instance_(instance), handle_(messenger), destroy_(destroy) {}
  OwnedMessenger(OwnedMessenger&& o) noexcept
      : instance_(o.instance_), handle_(std::exchange(o.handle_, VK_NULL_HANDLE)), destroy_(o.destroy_) {}
  OwnedMessenger& operator=(OwnedMessenger&& o) noexcept {
    if (this != &o) {
      reset();
      instance_ = o.instance_;
      handle_ = std::exchange(o.handle_, VK_NULL_HANDLE);
      destroy_ = o.destroy_;
    }
    return *this;
  }
  OwnedMessenger(const OwnedMessenger&) = delete;
  OwnedMessenger& operator=(const OwnedMessenger&) = delete;
  ~OwnedMessenger() { reset(); }

  void reset() noexcept {
    if (handle_ && destroy_ && !process_exiting()) destroy_(instance_, handle_, nullptr);
    handle_ = VK_NULL_HANDLE;
  }

 private:
  VkInstance instance_ = VK_NULL_HANDLE;
  VkDebugUtilsMessengerEXT handle_ = VK_NULL_HANDLE;
  PFN_vkDestroyDebugUtilsMessengerEXT destroy_ = nullptr;
};

}  // namespace upconv::detail::vk

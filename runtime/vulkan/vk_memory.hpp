// Internal: device memory. A few large VkDeviceMemory blocks per memory type, sub-allocated
// first-fit with alignment (drivers limit the number of allocations, and each one is slow), and
// buffers that own a sub-allocation. Host-visible blocks stay mapped for their lifetime.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <vector>

#include "runtime/vulkan/vk_functions.hpp"
#include "runtime/vulkan/vk_handles.hpp"

namespace upconv::detail::vk {

/// What a buffer is for; decides the memory type.
enum class MemoryUse {
  device_local,  ///< GPU only (weights, activations)
  staging,       ///< host-visible + coherent, for uploads and downloads (prefers host-cached)
  shared,        ///< device-local AND host-visible + coherent (unified memory): no staging needed
};

struct Allocation {
  VkDeviceMemory memory = VK_NULL_HANDLE;
  VkDeviceSize offset = 0;
  VkDeviceSize size = 0;
  uint32_t memory_type = 0;
  void* mapped = nullptr;  // host pointer to `offset` for host-visible memory, else null
  const void* block = nullptr;  // the owning block (opaque)
};

class MemoryAllocator {
 public:
  /// Size of a regular block; larger requests get a block of their own.
  static constexpr VkDeviceSize kBlockSize = VkDeviceSize{64} << 20;

  MemoryAllocator(const DeviceFunctions& fn, VkDevice device, const VkPhysicalDeviceMemoryProperties& props);
  MemoryAllocator(const MemoryAllocator&) = delete;
  MemoryAllocator& operator=(const MemoryAllocator&) = delete;
  ~MemoryAllocator();

  /// A memory type index allowed by `type_bits` for `use`, or -1.
  int find_memory_type(uint32_t type_bits, MemoryUse use) const;
  /// Whether this device has a memory type for MemoryUse::shared.
  bool has_shared_memory() const;

  Result<Allocation> allocate(const VkMemoryRequirements& req, MemoryUse use);
  void free(const Allocation& allocation) noexcept;

  /// Live VkDeviceMemory blocks (for tests: few allocations, not one per buffer).
  size_t block_count();

 private:
  struct Block;
  Result<Allocation> allocate_in(Block& block, VkDeviceSize size, VkDeviceSize alignment);

  const DeviceFunctions& fn_;
  VkDevice device_;
  VkPhysicalDeviceMemoryProperties props_;
  std::mutex mutex_;
  std::vector<std::unique_ptr<Block>> blocks_;
};

/// A VkBuffer bound to a sub-allocation it owns.
class Buffer {
 public:
  /// `size` > 0 bytes; usage gets STORAGE_BUFFER | TRANSFER_SRC | TRANSFER_DST added.
  static Result<Buffer> create(const DeviceFunctions& fn, VkDevice device, MemoryAllocator& allocator,
                               VkDeviceSize size, MemoryUse use);

  Buffer() = default;
  Buffer(Buffer&& other) noexcept;
  Buffer& operator=(Buffer&& other) noexcept;
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;
  ~Buffer();

  VkBuffer get() const noexcept { return buffer_.get(); }
  VkDeviceSize size() const noexcept { return size_; }
  /// Host pointer to the buffer's first byte (host-visible uses only).
  void* mapped() const noexcept { return allocation_.mapped; }
  explicit operator bool() const noexcept { return static_cast<bool>(buffer_); }

 private:
  void release() noexcept;
  Owned<VkBuffer> buffer_;
  Allocation allocation_;
  MemoryAllocator* allocator_ = nullptr;
  VkDeviceSize size_ = 0;
};

}  // namespace upconv::detail::vk

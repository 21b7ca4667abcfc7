// Block sub-allocator and owning buffers.
#include "runtime/vulkan/vk_memory.hpp"

#include <algorithm>
#include <string>
#include <utility>

namespace upconv::detail::vk {

struct MemoryAllocator::Block {
  Owned<VkDeviceMemory> memory;
  VkDeviceSize size = 0;
  uint32_t memory_type = 0;
  void* mapped = nullptr;
  std::map<VkDeviceSize, VkDeviceSize> free_ranges;  // offset -> size, never adjacent (coalesced)
  VkDeviceSize used = 0;
};

namespace {

VkDeviceSize align_up(VkDeviceSize v, VkDeviceSize a) { return a <= 1 ? v : (v + a - 1) / a * a; }

bool has_flags(VkMemoryPropertyFlags flags, VkMemoryPropertyFlags wanted) { return (flags & wanted) == wanted; }

}  // namespace

MemoryAllocator::MemoryAllocator(const DeviceFunctions& fn, VkDevice device,
                                 const VkPhysicalDeviceMemoryProperties& props)
    : fn_(fn), device_(device), props_(props) {}

MemoryAllocator::~MemoryAllocator() {
  for (auto& b : blocks_)
    if (b->mapped && !process_exiting()) fn_.vkUnmapMemory(device_, b->memory.get());
  blocks_.clear();  // Owned<VkDeviceMemory> frees each block
}

int MemoryAllocator::find_memory_type(uint32_t type_bits, MemoryUse use) const {
  const VkMemoryPropertyFlags host = VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;
  VkMemoryPropertyFlags required = 0, preferred = 0;
  switch (use) {
    case MemoryUse::device_local: required = VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT; break;
    case MemoryUse::staging: required = host; preferred = VK_MEMORY_PROPERTY_HOST_CACHED_BIT; break;
    case MemoryUse::shared: required = host | VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT; preferred = VK_MEMORY_PROPERTY_HOST_CACHED_BIT; break;
  }
  int fallback = -1;
  for (uint32_t i = 0; i < props_.memoryTypeCount; ++i) {
    if (!(type_bits & (1u << i))) continue;
    const VkMemoryPropertyFlags f = props_.memoryTypes[i].propertyFlags;
    if (!has_flags(f, required)) continue;
    if (has_flags(f, preferred)) return static_cast<int>(i);
    if (fallback < 0) fallback = static_cast<int>(i);
  }
  // device_local with no device-local type left (rare): any type will do.
  if (fallback < 0 && use == MemoryUse::device_local)
    for (uint32_t i = 0; i < props_.memoryTypeCount; ++i)
      if (type_bits & (1u << i)) return static_cast<int>(i);
  return fallback;
}

bool MemoryAllocator::has_shared_memory() const { return find_memory_type(~0u, MemoryUse::shared) >= 0; }

Result<Allocation> MemoryAllocator::allocate_in(Block& block, VkDeviceSize size, VkDeviceSize alignment) {
  for (auto it = block.free_ranges.begin(); it != block.free_ranges.end(); ++it) {
    const VkDeviceSize start = align_up(it->first, alignment);
    const VkDeviceSize end = it->first + it->second;
    if (start + size > end) continue;
    const VkDeviceSize range_begin = it->first;
    block.free_ranges.erase(it);
    if (start > range_begin) block.free_ranges.emplace(range_begin, start - range_begin);
    if (start + size < end) block.free_ranges.emplace(start + size, end - (start + size));
    block.used += size;
    Allocation a;
    a.memory = block.memory.get();
    a.offset = start;
    a.size = size;
    a.memory_type = block.memory_type;
    a.mapped = block.mapped ? static_cast<char*>(block.mapped) + start : nullptr;
    a.block = &block;
    return a;
  }
  return Status(StatusCode::out_of_memory, "no room in block");
}

Result<Allocation> MemoryAllocator::allocate(const VkMemoryRequirements& req, MemoryUse use) {
  const int type = find_memory_type(req.memoryTypeBits, use);
  if (type < 0)
    return Status(StatusCode::unsupported, "the Vulkan device has no memory type for this buffer (type bits " +
                                               std::to_string(req.memoryTypeBits) + ")");
  std::lock_guard lock(mutex_);
  for (auto& b : blocks_) {
    if (b->memory_type != static_cast<uint32_t>(type)) continue;
    auto a = allocate_in(*b, req.size, req.alignment);
    if (a.ok()) return a;
  }
  // A new block: regular size, or exactly the request when it is larger.
  auto block = std::make_unique<Block>();
  block->size = std::max(kBlockSize, align_up(req.size, 4096));
  const VkDeviceSize heap_size = props_.memoryHeaps[props_.memoryTypes[type].heapIndex].size;
  if (block->size > heap_size / 2 && req.size <= heap_size / 2) block->size = std::max(req.size, heap_size / 8);
  block->memory_type = static_cast<uint32_t>(type);
  VkMemoryAllocateInfo info{VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO};
  info.allocationSize = block->size;
  info.memoryTypeIndex = block->memory_type;
  VkDeviceMemory memory = VK_NULL_HANDLE;
  UPCONV_VK_CHECK(fn_.vkAllocateMemory(device_, &info, nullptr, &memory));
  block->memory = Owned<VkDeviceMemory>(device_, memory, fn_.vkFreeMemory);
  if (props_.memoryTypes[type].propertyFlags & VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT)
    UPCONV_VK_CHECK(fn_.vkMapMemory(device_, memory, 0, VK_WHOLE_SIZE, 0, &block->mapped));
  block->free_ranges.emplace(0, block->size);
  blocks_.push_back(std::move(block));
  return allocate_in(*blocks_.back(), req.size, req.alignment);
}

void MemoryAllocator::free(const Allocation& a) noexcept {
  if (!a.block) return;
  std::lock_guard lock(mutex_);
  auto it = std::find_if(blocks_.begin(), blocks_.end(), [&](const auto& b) { return b.get() == a.block; });
  if (it == blocks_.end()) return;
  Block& b = **it;
  auto [pos, inserted] = b.free_ranges.emplace(a.offset, a.size);
  (void)inserted;
  // Coalesce with the following and the preceding free range.
  auto next = std::next(pos);
  if (next != b.free_ranges.end() && pos->first + pos->second == next->first) {
    pos->second += next->second;
    b.free_ranges.erase(next);
  }
  if (pos != b.free_ranges.begin()) {
    auto prev = std::prev(pos);
    if (prev->first + prev->second == pos->first) {
      prev->second += pos->second;
      b.free_ranges.erase(pos);
    }
  }
  b.used -= a.size;
  // Give an empty block back unless it is the last one of its memory type (kept for reuse).
  if (b.used == 0) {
    const auto same_type = std::count_if(blocks_.begin(), blocks_.end(),
                                         [&](const auto& o) { return o->memory_type == b.memory_type; });
    if (same_type > 1 || b.size > kBlockSize) {
      if (b.mapped && !process_exiting()) fn_.vkUnmapMemory(device_, b.memory.get());
      blocks_.erase(it);
    }
  }
}

size_t MemoryAllocator::block_count() {
  std::lock_guard lock(mutex_);
  return blocks_.size();
}

Result<Buffer> Buffer::create(const DeviceFunctions& fn, VkDevice device, MemoryAllocator& allocator,
                              VkDeviceSize size, MemoryUse use) {
  VkBufferCreateInfo info{VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO};
  info.size = size;
  // Texel usage: conv weights and conv / pixel_shuffle inputs may be read through a uniform
  // texel buffer view (VulkanKernel).
  info.usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_UNIFORM_TEXEL_BUFFER_BIT |
               VK_BUFFER_USAGE_TRANSFER_SRC_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT;
  info.sharingMode = VK_SHARING_MODE_EXCLUSIVE;
  VkBuffer handle = VK_NULL_HANDLE;
  UPCONV_VK_CHECK(fn.vkCreateBuffer(device, &info, nullptr, &handle));
  Buffer buffer;
  buffer.buffer_ = Owned<VkBuffer>(device, handle, fn.vkDestroyBuffer);
  buffer.size_ = size;
  VkMemoryRequirements req{};
  fn.vkGetBufferMemoryRequirements(device, handle, &req);
  auto allocation = allocator.allocate(req, use);
  if (!allocation.ok()) return allocation.status();
  buffer.allocation_ = *allocation;
  buffer.allocator_ = &allocator;
  UPCONV_VK_CHECK(fn.vkBindBufferMemory(device, handle, allocation->memory, allocation->offset));
  return buffer;
}

Buffer::Buffer(Buffer&& o) noexcept
    : buffer_(std::move(o.buffer_)),
      allocation_(std::exchange(o.allocation_, Allocation{})),
      allocator_(std::exchange(o.allocator_, nullptr)),
      size_(std::exchange(o.size_, 0)) {}

Buffer& Buffer::operator=(Buffer&& o) noexcept {
  if (this != &o) {
    release();
    buffer_ = std::move(o.buffer_);
    allocation_ = std::exchange(o.allocation_, Allocation{});
    allocator_ = std::exchange(o.allocator_, nullptr);
    size_ = std::exchange(o.size_, 0);
  }
  return *this;
}

Buffer::~Buffer() { release(); }

void Buffer::release() noexcept {
  buffer_.reset();  // the buffer goes before its memory
  if (allocator_) allocator_->free(allocation_);
  allocator_ = nullptr;
  allocation_ = {};
}

}  // namespace upconv::detail::vk

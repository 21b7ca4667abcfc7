// Internal: what every upconv compute pipeline shares on one device — the descriptor set layout
// (5 storage buffers, bindings 0..4, and uniform texel buffers at 5 and 6), the pipeline layout (128
// bytes of push constants), a VkPipelineCache persisted to ContextOptions::pipeline_cache_path —
// and the pipelines
// themselves, cached per (shader, storage variant, specialization constants) so plans with the
// same constants share one pipeline.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <tuple>
#include <vector>

#include "runtime/vulkan/vk_functions.hpp"
#include "runtime/vulkan/vk_handles.hpp"
#include "runtime/vulkan/vk_pipeline_stats.hpp"

namespace upconv::detail::vk {

inline constexpr uint32_t kBindingCount = 5;  // storage buffers, bindings 0..4
// Uniform texel buffers after them, bindings 5 and 6 (dispatch_plan.hpp Binding: kWeightTexels,
// kInputTexels).
inline constexpr uint32_t kTexelBindingCount = 2;
inline constexpr uint32_t kPushConstantRangeBytes = 128;

/// Identifies a pipeline: shader id, storage variant (0 fp32, 1 fp16) and the
/// (constant id, value) pairs in the order the dispatch plan gave them.
struct PipelineKey {
  uint32_t shader = 0;
  uint32_t storage = 0;
  std::vector<std::pair<uint32_t, uint32_t>> spec;
  friend bool operator<(const PipelineKey& a, const PipelineKey& b) {
    return std::tie(a.shader, a.storage, a.spec) < std::tie(b.shader, b.storage, b.spec);
  }
};

/// Checks a pipeline-cache blob's header against this device (Vulkan spec, "Pipeline Cache"):
/// length >= 32, header length >= 32 and within the blob, header version ONE, vendor and device
/// IDs and pipelineCacheUUID equal. A blob that fails is not handed to the driver.
bool pipeline_cache_header_matches(std::span<const uint8_t> blob, const VkPhysicalDeviceProperties& props);

/// The pipeline-cache file: the driver's blob behind upconv's own 24 bytes (8 of magic, the
/// blob's length and its FNV-1a 64 hash, in the host's byte order), so that a file cut short or
/// damaged is recognised as such and never reaches the driver. The Vulkan header alone cannot
/// tell: a blob cut after it passes, and with the validation layer on the NVIDIA driver reports
/// "unable to load pipeline cache entry" for it, which fails the context.
std::vector<uint8_t> seal_pipeline_cache(std::span<const uint8_t> blob);
/// The blob a sealed file holds, or an empty span where the file is not exactly one (wrong magic,
/// length or hash).
std::span<const uint8_t> unseal_pipeline_cache(std::span<const uint8_t> file);

class PipelineStore {
 public:
  /// Creates the layouts and the cache, seeded from `cache_path` when it holds a valid blob.
  static Result<std::unique_ptr<PipelineStore>> create(const DeviceFunctions& fn, VkDevice device,
                                                       const VkPhysicalDeviceProperties& props,
                                                       std::string cache_path);
  PipelineStore(const PipelineStore&) = delete;
  PipelineStore& operator=(const PipelineStore&) = delete;
  /// Saves the cache to the file (best effort: a write failure leaves the old file).
  ~PipelineStore();

  VkDescriptorSetLayout set_layout() const noexcept { return set_layout_.get(); }
  VkPipelineLayout pipeline_layout() const noexcept { return pipeline_layout_.get(); }

  /// The pipeline for `key`, created from `spirv` on first use. Thread-safe. Pipelines live as
  /// long as the store (the device).
  Result<VkPipeline> get(const PipelineKey& key, std::span<const uint32_t> spirv);

  /// Writes the cache file now (atomically: temporary file + rename).
  Status save();
  /// Whether the cache was seeded from the file (tests).
  bool loaded_from_file() const noexcept { return loaded_from_file_; }
  /// Number of distinct pipelines created so far.
  size_t pipeline_count();
  /// Pipelines created from now on capture the driver's statistics and print them to stderr
  /// (UPCONV_VULKAN_PIPELINE_STATS), where `reporter` is enabled.
  void report_statistics(const PipelineStatsReporter& reporter) { stats_ = reporter; }

 private:
  PipelineStore(const DeviceFunctions& fn, VkDevice device) : fn_(fn), device_(device) {}

  const DeviceFunctions& fn_;
  VkDevice device_;
  std::string cache_path_;
  bool loaded_from_file_ = false;
  Owned<VkDescriptorSetLayout> set_layout_;
  Owned<VkPipelineLayout> pipeline_layout_;
  Owned<VkPipelineCache> cache_;
  std::mutex mutex_;
  std::map<std::pair<uint32_t, uint32_t>, Owned<VkShaderModule>> modules_;
  std::map<PipelineKey, Owned<VkPipeline>> pipelines_;
  PipelineStatsReporter stats_;
};

}  // namespace upconv::detail::vk

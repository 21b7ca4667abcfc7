// Descriptor/pipeline layouts, the persistent pipeline cache and the pipeline map.
#include "runtime/vulkan/vk_pipelines.hpp"

#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <memory>

#include "upconv/shaders.hpp"

namespace upconv::detail::vk {
namespace {

uint32_t read_u32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);  // the header is in the host's byte order by definition
  return v;
}

std::vector<uint8_t> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return {};
  in.seekg(0, std::ios::end);
  const std::streamoff size = in.tellg();
  // A pipeline cache is a few MB at most; anything absurd is not ours.
  if (size <= 0 || size > (std::streamoff{256} << 20)) return {};
  std::vector<uint8_t> data(static_cast<size_t>(size));
  in.seekg(0);
  in.read(reinterpret_cast<char*>(data.data()), size);
  if (!in) return {};
  return data;
}

constexpr char kCacheMagic[8] = {'u', 'p', 'c', 'o', 'n', 'v', 'P', 'C'};
constexpr size_t kCacheEnvelope = 24;  // magic, blob length, blob hash

uint64_t fnv1a64(std::span<const uint8_t> bytes) {
  uint64_t h = 14695981039346656037ull;
  for (uint8_t b : bytes) h = (h ^ b) * 1099511628211ull;
  return h;
}

}  // namespace

std::vector<uint8_t> seal_pipeline_cache(std::span<const uint8_t> blob) {
  std::vector<uint8_t> file(kCacheEnvelope + blob.size());
  const uint64_t length = blob.size(), hash = fnv1a64(blob);
  std::memcpy(file.data(), kCacheMagic, 8);
  std::memcpy(file.data() + 8, &length, 8);
  std::memcpy(file.data() + 16, &hash, 8);
  if (!blob.empty()) std::memcpy(file.data() + kCacheEnvelope, blob.data(), blob.size());
  return file;
}

std::span<const uint8_t> unseal_pipeline_cache(std::span<const uint8_t> file) {
  if (file.size() < kCacheEnvelope || std::memcmp(file.data(), kCacheMagic, 8) != 0) return {};
  uint64_t length = 0, hash = 0;
  std::memcpy(&length, file.data() + 8, 8);
  std::memcpy(&hash, file.data() + 16, 8);
  const auto blob = file.subspan(kCacheEnvelope);
  if (length != blob.size() || hash != fnv1a64(blob)) return {};
  return blob;
}

bool pipeline_cache_header_matches(std::span<const uint8_t> blob, const VkPhysicalDeviceProperties& props) {
  constexpr size_t kHeaderOne = 16 + VK_UUID_SIZE;  // length, version, vendor, device, uuid
  if (blob.size() < kHeaderOne) return false;
  const uint32_t header_length = read_u32(blob.data());
  if (header_length < kHeaderOne || header_length > blob.size()) return false;
  if (read_u32(blob.data() + 4) != VK_PIPELINE_CACHE_HEADER_VERSION_ONE) return false;
  if (read_u32(blob.data() + 8) != props.vendorID) return false;
  if (read_u32(blob.data() + 12) != props.deviceID) return false;
  return std::memcmp(blob.data() + 16, props.pipelineCacheUUID, VK_UUID_SIZE) == 0;
}

Result<std::unique_ptr<PipelineStore>> PipelineStore::create(const DeviceFunctions& fn, VkDevice device,
                                                             const VkPhysicalDeviceProperties& props,
                                                             std::string cache_path) {
  std::unique_ptr<PipelineStore> store(new PipelineStore(fn, device));
  store->cache_path_ = std::move(cache_path);

  VkDescriptorSetLayoutBinding bindings[kBindingCount + kTexelBindingCount]{};
  for (uint32_t i = 0; i < kBindingCount + kTexelBindingCount; ++i) {
    bindings[i].binding = i;
    bindings[i].descriptorType =
        i >= kBindingCount ? VK_DESCRIPTOR_TYPE_UNIFORM_TEXEL_BUFFER : VK_DESCRIPTOR_TYPE_STORAGE_BUFFER;
    bindings[i].descriptorCount = 1;
    bindings[i].stageFlags = VK_SHADER_STAGE_COMPUTE_BIT;
  }
  VkDescriptorSetLayoutCreateInfo set_info{VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO};
  set_info.bindingCount = kBindingCount + kTexelBindingCount;
  set_info.pBindings = bindings;
  VkDescriptorSetLayout set_layout = VK_NULL_HANDLE;
  UPCONV_VK_CHECK(fn.vkCreateDescriptorSetLayout(device, &set_info, nullptr, &set_layout));
  store->set_layout_ = Owned<VkDescriptorSetLayout>(device, set_layout, fn.vkDestroyDescriptorSetLayout);

  VkPushConstantRange push{VK_SHADER_STAGE_COMPUTE_BIT, 0, kPushConstantRangeBytes};
  VkPipelineLayoutCreateInfo layout_info{VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO};
  layout_info.setLayoutCount = 1;
  layout_info.pSetLayouts = &set_layout;
  layout_info.pushConstantRangeCount = 1;
  layout_info.pPushConstantRanges = &push;
  VkPipelineLayout pipeline_layout = VK_NULL_HANDLE;
  UPCONV_VK_CHECK(fn.vkCreatePipelineLayout(device, &layout_info, nullptr, &pipeline_layout));
  store->pipeline_layout_ = Owned<VkPipelineLayout>(device, pipeline_layout, fn.vkDestroyPipelineLayout);

  std::vector<uint8_t> file;
  std::span<const uint8_t> blob;
  if (!store->cache_path_.empty()) {
    file = read_file(store->cache_path_);
    blob = unseal_pipeline_cache(file);                          // cut short or damaged: empty
    if (!pipeline_cache_header_matches(blob, props)) blob = {};  // another device or driver
  }
  VkPipelineCacheCreateInfo cache_info{VK_STRUCTURE_TYPE_PIPELINE_CACHE_CREATE_INFO};
  cache_info.initialDataSize = blob.size();
  cache_info.pInitialData = blob.empty() ? nullptr : blob.data();
  VkPipelineCache cache = VK_NULL_HANDLE;
  VkResult r = fn.vkCreatePipelineCache(device, &cache_info, nullptr, &cache);
  if (r != VK_SUCCESS && !blob.empty()) {
    // The driver rejected data whose header looked right: start empty rather than fail.
    cache_info.initialDataSize = 0;
    cache_info.pInitialData = nullptr;
    blob = {};
    r = fn.vkCreatePipelineCache(device, &cache_info, nullptr, &cache);
  }
  UPCONV_VK_CHECK(r);
  store->cache_ = Owned<VkPipelineCache>(device, cache, fn.vkDestroyPipelineCache);
  store->loaded_from_file_ = !blob.empty();
  return store;
}

PipelineStore::~PipelineStore() {
  if (!cache_path_.empty() && !process_exiting()) (void)save();
}

Status PipelineStore::save() {
  if (cache_path_.empty()) return {};
  std::vector<uint8_t> data;
  {
    std::lock_guard lock(mutex_);
    size_t size = 0;
    UPCONV_VK_CHECK(fn_.vkGetPipelineCacheData(device_, cache_.get(), &size, nullptr));
    data.resize(size);
    UPCONV_VK_CHECK(fn_.vkGetPipelineCacheData(device_, cache_.get(), &size, data.data()));
    data.resize(size);
  }
  data = seal_pipeline_cache(data);
  const std::string tmp = cache_path_ + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data.data()), static_cast<std::streamsize>(data.size()));
    if (!out) {
      std::remove(tmp.c_str());
      return Status(StatusCode::io_error, "cannot write pipeline cache file '" + tmp + "'");
    }
  }
  if (std::rename(tmp.c_str(), cache_path_.c_str()) != 0) {
    std::remove(tmp.c_str());
    return Status(StatusCode::io_error, "cannot replace pipeline cache file '" + cache_path_ + "'");
  }
  return {};
}

Result<VkPipeline> PipelineStore::get(const PipelineKey& key, std::span<const uint32_t> spirv) {
  std::lock_guard lock(mutex_);
  if (auto it = pipelines_.find(key); it != pipelines_.end()) return it->second.get();

  auto& module = modules_[{key.shader, key.storage}];
  if (!module) {
    VkShaderModuleCreateInfo info{VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO};
    info.codeSize = spirv.size_bytes();
    info.pCode = spirv.data();
    VkShaderModule handle = VK_NULL_HANDLE;
    const VkResult r = fn_.vkCreateShaderModule(device_, &info, nullptr, &handle);
    if (r != VK_SUCCESS) {
      modules_.erase({key.shader, key.storage});
      return result_status(r, "vkCreateShaderModule");
    }
    module = Owned<VkShaderModule>(device_, handle, fn_.vkDestroyShaderModule);
  }

  std::vector<VkSpecializationMapEntry> entries;
  std::vector<uint32_t> values;
  for (const auto& [id, value] : key.spec) {
    entries.push_back({id, static_cast<uint32_t>(values.size() * sizeof(uint32_t)), sizeof(uint32_t)});
    values.push_back(value);
  }
  VkSpecializationInfo spec{};
  spec.mapEntryCount = static_cast<uint32_t>(entries.size());
  spec.pMapEntries = entries.data();
  spec.dataSize = values.size() * sizeof(uint32_t);
  spec.pData = values.data();

  VkComputePipelineCreateInfo info{VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO};
  info.stage.sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO;
  info.stage.stage = VK_SHADER_STAGE_COMPUTE_BIT;
  info.stage.module = module.get();
  info.stage.pName = "main";
  info.stage.pSpecializationInfo = entries.empty() ? nullptr : &spec;
  info.layout = pipeline_layout_.get();
  if (stats_.enabled()) info.flags |= VK_PIPELINE_CREATE_CAPTURE_STATISTICS_BIT_KHR;
  VkPipeline pipeline = VK_NULL_HANDLE;
  UPCONV_VK_CHECK(fn_.vkCreateComputePipelines(device_, cache_.get(), 1, &info, nullptr, &pipeline));
  pipelines_.emplace(key, Owned<VkPipeline>(device_, pipeline, fn_.vkDestroyPipeline));
  if (stats_.enabled()) {
    std::string label = std::string(shaders::name(static_cast<shaders::ShaderId>(key.shader))) +
                        (key.storage ? " fp16" : " fp32") + " spec";
    for (const auto& [id, value] : key.spec) label.append(" ").append(std::to_string(id)).append("=").append(std::to_string(value));
    std::fputs(stats_.describe(device_, pipeline, label).c_str(), stderr);
  }
  return pipeline;
}

size_t PipelineStore::pipeline_count() {
  std::lock_guard lock(mutex_);
  return pipelines_.size();
}

}  // namespace upconv::detail::vk

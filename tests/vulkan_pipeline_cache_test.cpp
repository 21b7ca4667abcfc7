// The persistent pipeline cache: saved when the device goes, seeded from the file next time, and
// a garbage, truncated or foreign file is ignored safely (never handed to the driver with a bad
// header, never an error).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <unistd.h>
#include <filesystem>
#include <fstream>
#include <random>
#include <vector>

#include "runtime/vulkan/vk_backend_access.hpp"
#include "runtime/vulkan/vk_device.hpp"
#include "runtime/vulkan/vk_pipelines.hpp"
#include "upconv/upconv.hpp"
#include "vulkan_test_device.hpp"

namespace upconv {
namespace {

namespace fs = std::filesystem;

class VulkanPipelineCache : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = (fs::temp_directory_path() /
             ("upconv_pipeline_cache_" + std::to_string(::getpid()) + "_" +
              ::testing::UnitTest::GetInstance()->current_test_info()->name() + ".bin"))
                .string();
    fs::remove(path_);
  }
  void TearDown() override { fs::remove(path_); }

  ContextOptions options() const {
    ContextOptions o;
    o.backend = BackendKind::vulkan;
    o.vulkan_device = testing::vulkan_test_device();
    o.vulkan_validation = true;
    o.pipeline_cache_path = path_;
    return o;
  }

  /// Creates a context, builds and runs one plan, and returns whether the cache came from the file.
  bool use_context() {
    auto ctx = Context::create(options());
    EXPECT_TRUE(ctx.ok()) << ctx.status().to_string();
    if (!ctx.ok()) return false;
    auto* dev = detail::vk::device_of(*ctx);
    const bool loaded = dev->pipelines().loaded_from_file();
    PixelShuffleParams p;
    p.factor = 2;
    auto plan = make_pixel_shuffle(*ctx, p);
    EXPECT_TRUE(plan.ok()) << plan.status().to_string();
    if (plan.ok()) {
      Tensor x({1, 4, 3, 3}), y;
      for (int64_t i = 0; i < x.size(); ++i) x.data()[i] = static_cast<float>(i);
      EXPECT_TRUE(plan->run(x, y).ok());
      EXPECT_EQ(y.data()[1], 1.0f * 9);  // y[0,0,0,1] = x[0,1,0,0]
    }
    EXPECT_EQ(dev->validation_message_count(), 0u);
    return loaded;
  }

  std::vector<uint8_t> file() const {
    std::ifstream in(path_, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  }
  void write(const std::vector<uint8_t>& bytes) const {
    std::ofstream out(path_, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  }

  std::string path_;
};

TEST_F(VulkanPipelineCache, RoundTripThroughTheFile) {
  EXPECT_FALSE(use_context()) << "no file yet";
  const auto saved = file();
  ASSERT_GE(saved.size(), 24u + 32u) << "the cache was not saved to " << path_;
  EXPECT_FALSE(detail::vk::unseal_pipeline_cache(saved).empty()) << "the file is not one sealed blob";
  EXPECT_FALSE(fs::exists(path_ + ".tmp"));
  EXPECT_TRUE(use_context()) << "the saved cache was not loaded";
}

TEST_F(VulkanPipelineCache, GarbageFileIsIgnored) {
  std::mt19937 rng(7);
  std::vector<uint8_t> garbage(4096);
  for (auto& b : garbage) b = static_cast<uint8_t>(rng());
  write(garbage);
  EXPECT_FALSE(use_context());
  EXPECT_TRUE(use_context()) << "the garbage was replaced by a valid cache";
}

// A file cut anywhere, in upconv's envelope, the driver's header or its payload, is rejected
// before the driver sees it (the NVIDIA driver reports a payload cut short through the
// validation layer, which fails the context), and replaced by a whole one.
TEST_F(VulkanPipelineCache, TruncatedFilesAreIgnored) {
  EXPECT_FALSE(use_context());
  const auto valid = file();
  ASSERT_GE(valid.size(), 24u + 32u);
  for (size_t cut : {size_t{0}, size_t{4}, size_t{23}, size_t{24 + 20}, size_t{24 + 31}, valid.size() / 2,
                     valid.size() - 1}) {
    write({valid.begin(), valid.begin() + static_cast<std::ptrdiff_t>(cut)});
    EXPECT_FALSE(use_context()) << "cut at " << cut;
  }
  EXPECT_TRUE(use_context()) << "the cut file was replaced by a whole one";
}

// A damaged byte anywhere in the driver's blob fails the hash.
TEST_F(VulkanPipelineCache, DamagedPayloadIsIgnored) {
  EXPECT_FALSE(use_context());
  auto damaged = file();
  damaged[damaged.size() - 1] ^= 0x40;
  write(damaged);
  EXPECT_FALSE(use_context());
  EXPECT_TRUE(use_context());
}

// An intact file whose blob comes from another device or driver (its Vulkan header differs) is
// ignored too.
TEST_F(VulkanPipelineCache, ForeignDeviceHeaderIsIgnored) {
  EXPECT_FALSE(use_context());
  const auto sealed = file();
  const auto blob = detail::vk::unseal_pipeline_cache(sealed);
  ASSERT_GE(blob.size(), 32u) << "the saved file is not a sealed cache";
  for (size_t at : {size_t{8} /* vendor ID */, size_t{20} /* pipelineCacheUUID */}) {
    std::vector<uint8_t> foreign(blob.begin(), blob.end());
    foreign[at] ^= 0x01;
    write(detail::vk::seal_pipeline_cache(foreign));
    EXPECT_FALSE(use_context()) << "byte " << at;
  }
}

TEST(VulkanPipelineCacheFile, SealedBlobsRoundTripAndAnyCutOrFlipIsRejected) {
  std::vector<uint8_t> blob(100);
  for (size_t i = 0; i < blob.size(); ++i) blob[i] = static_cast<uint8_t>(i * 37 + 1);
  const auto sealed = detail::vk::seal_pipeline_cache(blob);
  ASSERT_EQ(sealed.size(), blob.size() + 24);
  const auto back = detail::vk::unseal_pipeline_cache(sealed);
  EXPECT_TRUE(std::equal(back.begin(), back.end(), blob.begin(), blob.end()));
  for (size_t cut = 0; cut < sealed.size(); ++cut)
    EXPECT_TRUE(detail::vk::unseal_pipeline_cache({sealed.data(), cut}).empty()) << "cut at " << cut;
  for (size_t at = 0; at < sealed.size(); ++at) {
    auto flipped = sealed;
    flipped[at] ^= 0x10;
    EXPECT_TRUE(detail::vk::unseal_pipeline_cache(flipped).empty()) << "byte " << at;
  }
  auto longer = sealed;
  longer.push_back(0);
  EXPECT_TRUE(detail::vk::unseal_pipeline_cache(longer).empty()) << "a byte appended";
}

TEST(VulkanPipelineCacheHeader, ChecksEveryField) {
  VkPhysicalDeviceProperties props{};
  props.vendorID = 0x10005;
  props.deviceID = 7;
  for (uint32_t i = 0; i < VK_UUID_SIZE; ++i) props.pipelineCacheUUID[i] = static_cast<uint8_t>(i);
  std::vector<uint8_t> blob(48, 0);
  auto put = [&](size_t at, uint32_t v) { std::memcpy(blob.data() + at, &v, 4); };
  put(0, 32);
  put(4, VK_PIPELINE_CACHE_HEADER_VERSION_ONE);
  put(8, props.vendorID);
  put(12, props.deviceID);
  std::memcpy(blob.data() + 16, props.pipelineCacheUUID, VK_UUID_SIZE);
  using detail::vk::pipeline_cache_header_matches;
  EXPECT_TRUE(pipeline_cache_header_matches(blob, props));
  EXPECT_FALSE(pipeline_cache_header_matches({blob.data(), 31}, props));
  auto broken = blob;
  std::memcpy(broken.data(), "\x10\x00\x00\x00", 4);  // header length 16 < 32
  EXPECT_FALSE(pipeline_cache_header_matches(broken, props));
  broken = blob;
  std::memcpy(broken.data(), "\x00\x10\x00\x00", 4);  // header length beyond the blob
  EXPECT_FALSE(pipeline_cache_header_matches(broken, props));
  broken = blob;
  broken[4] = 2;  // unknown header version
  EXPECT_FALSE(pipeline_cache_header_matches(broken, props));
  broken = blob;
  broken[12] = 8;  // device ID
  EXPECT_FALSE(pipeline_cache_header_matches(broken, props));
  broken = blob;
  broken[47 - 16] ^= 1;  // last UUID byte
  EXPECT_FALSE(pipeline_cache_header_matches(broken, props));
}

}  // namespace
}  // namespace upconv

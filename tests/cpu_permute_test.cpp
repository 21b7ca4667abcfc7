// The memory-bound CPU kernels (pixel shuffle / unshuffle, nearest upsampling, bed of nails,
// max unpooling) against the reference, bit-exactly, for every ISA this machine has and for
// 1, 2 and 3 threads (the thread split must not change a single bit).
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <cctype>
#include <limits>
#include <random>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "cpu/permute_kernels.hpp"
#include "cpu/reference/reference.hpp"

namespace upconv::detail::cpu {
namespace {

std::vector<float> random_floats(int64_t count, uint32_t seed) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<float> v(static_cast<size_t>(count));
  for (float& f : v) f = dist(gen);
  return v;
}

// Output filled with a sentinel so a kernel that skips an element is caught.
std::vector<float> sentinel_output(int64_t count) { return std::vector<float>(static_cast<size_t>(count), -7.5f); }

bool bit_equal(const std::vector<float>& a, const std::vector<float>& b, int64_t* first_bad) {
  for (size_t k = 0; k < a.size(); ++k)
    if (std::memcmp(&a[k], &b[k], sizeof(float)) != 0) {
      *first_bad = static_cast<int64_t>(k);
      return false;
    }
  return a.size() == b.size();
}

class CpuPermuteTest : public ::testing::TestWithParam<std::string> {
 protected:
  PermuteRowKernels rows() const { return select_permute_row_kernels(GetParam()); }
};

TEST_P(CpuPermuteTest, SelectsTheRequestedIsa) {
  const std::string want = GetParam();
  EXPECT_EQ(std::string(rows().isa), want);
}

TEST_P(CpuPermuteTest, PixelShuffleAndUnshuffleMatchReference) {
  const PermuteRowKernels rows = this->rows();
  uint32_t seed = 1;
  for (int inverse = 0; inverse < 2; ++inverse)
    for (ShuffleMode mode : {ShuffleMode::crd, ShuffleMode::dcr})
      for (int64_t r = 1; r <= 5; ++r)
        for (int64_t n : {1, 2})
          for (int64_t c : {1, 3})
            for (int64_t h : {1, 4})
              for (int64_t w : {1, 7, 15, 16, 17, 33, 70})
                for (int threads : {1, 2, 3}) {
                  ++seed;
                  const ShuffleDesc desc{.factor = r, .mode = mode, .inverse = inverse != 0};
                  const Dims4 deep{n, c * r * r, h, w}, wide{n, c, h * r, w * r};
                  const Dims4 xd = inverse ? wide : deep, yd = inverse ? deep : wide;
                  const std::vector<float> x = random_floats(xd.count(), seed);
                  std::vector<float> want = sentinel_output(yd.count()), got = want;
                  ref::pixel_shuffle(desc, x.data(), xd, want.data(), yd);
                  // With 2 threads every output takes the streaming-store path (threshold 0).
                  auto kernel = make_shuffle_kernel(desc, std::make_shared<ThreadPool>(threads), rows,
                                                    threads == 2 ? 0 : last_level_cache_bytes());
                  ASSERT_TRUE(kernel->run({.x = x.data(), .xd = xd, .y = got.data(), .yd = yd}).ok());
                  int64_t bad = -1;
                  ASSERT_TRUE(bit_equal(got, want, &bad))
                      << (inverse ? "pixel_unshuffle" : "pixel_shuffle") << " isa=" << rows.isa
                      << " mode=" << (mode == ShuffleMode::crd ? "crd" : "dcr") << " r=" << r << " n=" << n
                      << " c=" << c << " h=" << h << " w=" << w << " threads=" << threads << " seed=" << seed
                      << " first mismatch at " << bad << ": got " << got[bad] << " want " << want[bad];
                }
}

TEST_P(CpuPermuteTest, NearestAndBedOfNailsMatchReference) {
  const PermuteRowKernels rows = this->rows();
  uint32_t seed = 1000;
  for (int zero_insert = 0; zero_insert < 2; ++zero_insert)
    for (int64_t fh : {1, 2, 3})
      for (int64_t fw : {1, 2, 3, 4, 5})
        for (int64_t w : {1, 9, 16, 31})
          for (int threads : {1, 2, 3}) {
            ++seed;
            const ResampleDesc desc{.factor_h = fh, .factor_w = fw, .zero_insert = zero_insert != 0};
            const Dims4 xd{2, 3, 5, w}, yd{2, 3, 5 * fh, w * fw};
            const std::vector<float> x = random_floats(xd.count(), seed);
            std::vector<float> want = sentinel_output(yd.count()), got = want;
            ref::resample(desc, x.data(), xd, want.data(), yd);
            // With 2 threads every output takes the streaming-store path (threshold 0).
            auto kernel = make_resample_kernel(desc, std::make_shared<ThreadPool>(threads), rows,
                                               threads == 2 ? 0 : last_level_cache_bytes());
            ASSERT_TRUE(kernel->run({.x = x.data(), .xd = xd, .y = got.data(), .yd = yd}).ok());
            int64_t bad = -1;
            ASSERT_TRUE(bit_equal(got, want, &bad))
                << (zero_insert ? "bed_of_nails2d" : "upsample_nearest2d") << " isa=" << rows.isa << " factor=("
                << fh << "," << fw << ") w=" << w << " threads=" << threads << " seed=" << seed
                << " first mismatch at " << bad;
          }
}

// Large outputs take the streaming-store path, which depends on the row's alignment: check it
// at every float offset, for every vector factor, against the cached path.
TEST_P(CpuPermuteTest, StreamingInterleaveMatchesCachedPath) {
  const PermuteRowKernels rows = this->rows();
  for (int64_t r = 1; r <= 5; ++r)
    for (int64_t width : {1, 5, 16, 37, 100})
      for (int64_t offset = 0; offset < 16; ++offset) {
        std::vector<std::vector<float>> sources;
        std::vector<const float*> source_rows;
        for (int64_t j = 0; j < r; ++j) sources.push_back(random_floats(width, static_cast<uint32_t>(r * 100 + j)));
        for (const auto& row : sources) source_rows.push_back(row.data());
        std::vector<float> want = sentinel_output(width * r + 32), got = want;
        rows.interleave(source_rows.data(), r, want.data() + offset, width, false);
        rows.interleave(source_rows.data(), r, got.data() + offset, width, true);
        streaming_fence();
        int64_t bad = -1;
        ASSERT_TRUE(bit_equal(got, want, &bad)) << "streaming interleave isa=" << rows.isa << " r=" << r
                                                << " width=" << width << " offset=" << offset
                                                << " first mismatch at " << bad;
      }
}

INSTANTIATE_TEST_SUITE_P(EveryIsa, CpuPermuteTest, ::testing::ValuesIn([] {
                           std::vector<std::string> names;
                           for (std::string_view n : available_permute_isas()) names.emplace_back(n);
                           return names;
                         }()),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           std::string name = info.param;
                           for (char& ch : name)
                             if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
                           return name;
                         });

// Indices that each point into the element's own 2x2 block (max_pool2d's, output exactly twice
// the input) take the block path: each output row written once from the split input row. A
// plane with one index elsewhere in it is redone by the general scatter. Every ISA, with and
// without streaming stores, odd widths for the vector tails; -0.0 and NaN must pass bit-exact.
TEST(CpuUnpoolTest, BlockIndicesMatchReferenceOnEveryIsa) {
  for (std::string_view isa : available_permute_isas())
    for (int64_t w : {5, 17, 40})
      for (int64_t cache : {int64_t{1} << 30, int64_t{1} << 10})
        for (bool stray : {false, true}) {
          SCOPED_TRACE(std::string(isa) + " w=" + std::to_string(w) + " cache=" + std::to_string(cache) +
                       (stray ? " one stray index" : ""));
          const Dims4 xd{2, 3, 7, w}, yd{2, 3, 14, 2 * w};
          std::vector<float> x = random_floats(xd.count(), static_cast<uint32_t>(w));
          x[3] = -0.0f;
          x[static_cast<size_t>(xd.count() - 2)] = std::numeric_limits<float>::quiet_NaN();
          std::mt19937 gen(static_cast<uint32_t>(w) * 7 + stray);
          std::uniform_int_distribution<int64_t> slot(0, 3);
          std::vector<int64_t> idx(static_cast<size_t>(xd.count()));
          for (int64_t p = 0; p < xd.n * xd.c; ++p)
            for (int64_t h = 0; h < xd.h; ++h)
              for (int64_t x0 = 0; x0 < xd.w; ++x0) {
                const int64_t s = slot(gen);
                idx[static_cast<size_t>((p * xd.h + h) * xd.w + x0)] = (2 * h + s / 2) * yd.w + 2 * x0 + s % 2;
              }
          // Plane 4, row 3: an index two blocks to the right (inside the plane, outside its block).
          if (stray) idx[static_cast<size_t>((4 * xd.h + 3) * xd.w + 1)] += 4;
          std::vector<float> want = sentinel_output(yd.count()), got = want;
          ref::max_unpool2d(x.data(), idx.data(), xd, want.data(), yd);
          for (int threads : {1, 2}) {
            auto kernel =
                make_unpool_kernel(std::make_shared<ThreadPool>(threads), select_permute_row_kernels(isa), cache);
            ASSERT_TRUE(kernel->run({.x = x.data(), .xd = xd, .indices = idx.data(), .y = got.data(), .yd = yd}).ok());
            int64_t bad = -1;
            ASSERT_TRUE(bit_equal(got, want, &bad)) << "threads=" << threads << " first mismatch at " << bad;
          }
        }
}

// max_unpool2d with arbitrary indices (the general scatter); duplicates must resolve as in the
// reference (the later element in C order wins).
TEST(CpuUnpoolTest, MatchesReferenceWithDuplicateIndices) {
  for (int threads : {1, 2, 3})
    for (uint32_t seed = 1; seed <= 20; ++seed) {
      std::mt19937 gen(seed);
      const Dims4 xd{2, 3, 3 + static_cast<int64_t>(seed % 4), 5}, yd{2, 3, 2 * xd.h + 1, 2 * xd.w};
      const std::vector<float> x = random_floats(xd.count(), seed);
      std::vector<int64_t> idx(static_cast<size_t>(xd.count()));
      std::uniform_int_distribution<int64_t> pick(0, yd.plane() / 4);  // small range: many duplicates
      for (int64_t& i : idx) i = pick(gen);
      std::vector<float> want = sentinel_output(yd.count()), got = want;
      ref::max_unpool2d(x.data(), idx.data(), xd, want.data(), yd);
      auto kernel = make_unpool_kernel(std::make_shared<ThreadPool>(threads), select_permute_row_kernels());
      ASSERT_TRUE(kernel->run({.x = x.data(), .xd = xd, .indices = idx.data(), .y = got.data(), .yd = yd}).ok());
      int64_t bad = -1;
      ASSERT_TRUE(bit_equal(got, want, &bad)) << "max_unpool2d threads=" << threads << " seed=" << seed
                                              << " first mismatch at " << bad;
    }
}

// An output larger than the cache (1 MiB here; the machine's L3 size by default) is assembled
// per plane and streamed out; an index outside its plane is still reported.
TEST(CpuUnpoolTest, StreamedLargeOutputMatchesReference) {
  constexpr int64_t kCacheBytes = int64_t{1} << 20;
  const Dims4 xd{1, 2, 256, 512}, yd{1, 2, 512, 1024};
  ASSERT_GT(yd.count() * 4, kCacheBytes);
  const std::vector<float> x = random_floats(xd.count(), 99);
  std::vector<int64_t> idx(static_cast<size_t>(xd.count()));
  std::mt19937 gen(99);
  std::uniform_int_distribution<int64_t> pick(0, yd.plane() - 1);
  for (int64_t& i : idx) i = pick(gen);
  std::vector<float> want = sentinel_output(yd.count()), got = want;
  ref::max_unpool2d(x.data(), idx.data(), xd, want.data(), yd);
  for (int threads : {1, 2}) {
    auto kernel =
        make_unpool_kernel(std::make_shared<ThreadPool>(threads), select_permute_row_kernels(), kCacheBytes);
    ASSERT_TRUE(kernel->run({.x = x.data(), .xd = xd, .indices = idx.data(), .y = got.data(), .yd = yd}).ok());
    int64_t bad = -1;
    ASSERT_TRUE(bit_equal(got, want, &bad)) << "streamed max_unpool2d threads=" << threads << " first mismatch at " << bad;
    std::vector<int64_t> wrong = idx;
    wrong[200000] = yd.plane();
    const Status s = kernel->run({.x = x.data(), .xd = xd, .indices = wrong.data(), .y = got.data(), .yd = yd});
    EXPECT_NE(s.message().find("indices element 200000"), std::string::npos) << s.message();
  }
}

}  // namespace
}  // namespace upconv::detail::cpu

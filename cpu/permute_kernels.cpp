// The memory-bound kernels: index bookkeeping and threading here, the vector row primitives in
// the per-ISA translation units (cpu/arch/permute_<isa>.cpp).
#include "cpu/permute_kernels.hpp"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>

#include <xmmintrin.h>

#include <xsimd/xsimd.hpp>

#include "runtime/validate.hpp"

namespace upconv::detail::cpu {

extern template PermuteRowKernels PermuteRowKernelsFor::operator()<xsimd::avx512f>(xsimd::avx512f) const;
extern template PermuteRowKernels PermuteRowKernelsFor::operator()<xsimd::fma3<xsimd::avx2>>(
    xsimd::fma3<xsimd::avx2>) const;
extern template PermuteRowKernels PermuteRowKernelsFor::operator()<xsimd::sse4_1>(xsimd::sse4_1) const;
extern template PermuteRowKernels PermuteRowKernelsFor::operator()<xsimd::sse2>(xsimd::sse2) const;

namespace {

// Best first. "avx2" is accepted as a short name for fma3+avx2.
struct IsaEntry {
  std::string_view name;
  bool (*supported)();
  PermuteRowKernels (*kernels)();
};
const IsaEntry kIsas[] = {
    {"avx512f", [] { return xsimd::available_architectures().avx512f != 0; },
     [] { return PermuteRowKernelsFor{}(xsimd::avx512f{}); }},
    {"fma3+avx2", [] { return xsimd::available_architectures().fma3_avx2 != 0; },
     [] { return PermuteRowKernelsFor{}(xsimd::fma3<xsimd::avx2>{}); }},
    {"sse4_1", [] { return xsimd::available_architectures().sse4_1 != 0; },
     [] { return PermuteRowKernelsFor{}(xsimd::sse4_1{}); }},
    {"sse2", [] { return true; }, [] { return PermuteRowKernelsFor{}(xsimd::sse2{}); }},
};

// Streaming stores (no read-for-ownership, a third less DRAM traffic) when what a run touches
// does not fit in the last-level cache; otherwise ordinary stores leave the output cached for
// the next layer (measurements in permute_kernels.hpp). With several threads the line moves up
// by a quarter of the cache: a working set about the cache's size is then served faster from
// what stays cached than by streaming to DRAM (shuffle_x2, 16 + 16 MiB on a 32 MiB L3, 2 threads
// on a Zen 4 host: 0.63-0.67 ms streamed vs 0.43-0.46 ordinary; 1 thread: 0.61-0.71 vs 0.79-1.00,
// and espcn_x3's 50 MiB streamed faster at both thread counts).
bool stream_output(int64_t touched_bytes, int64_t cache_bytes, int threads) {
  return touched_bytes >= (threads > 1 ? cache_bytes + cache_bytes / 4 : cache_bytes);
}

int64_t shuffle_channel(ShuffleMode mode, int64_t c, int64_t c_wide, int64_t r, int64_t i, int64_t j) {
  return mode == ShuffleMode::crd ? (c * r + i) * r + j : (i * r + j) * c_wide + c;
}

class ShuffleKernel final : public OpKernel {
 public:
  ShuffleKernel(const ShuffleDesc& d, std::shared_ptr<ThreadPool> pool, const PermuteRowKernels& rows, int64_t cache_bytes)
      : desc_(d), pool_(std::move(pool)), rows_(rows), cache_bytes_(cache_bytes) {}

  Status run(const OpArgs& a) override {
    const int64_t r = desc_.factor;
    const Dims4& deep = desc_.inverse ? a.yd : a.xd;  // (N, C*r*r, H, W)
    const Dims4& wide = desc_.inverse ? a.xd : a.yd;  // (N, C, H*r, W*r)
    // One work item = one wide row (n, c, h*r + i) and its r deep row segments.
    const int64_t wide_rows = wide.n * wide.c * wide.h;
    const bool streaming = stream_output(2 * wide.count() * static_cast<int64_t>(sizeof(float)), cache_bytes_, pool_->size());
    pool_->parallel_for(wide_rows, [&](int64_t begin, int64_t end) {
      std::vector<float*> deep_rows(static_cast<size_t>(r));
      for (int64_t q = begin; q < end; ++q) {
        const int64_t i = q % r, h = q / r % deep.h, c = q / (r * deep.h) % wide.c, n = q / (r * deep.h * wide.c);
        float* deep_base = desc_.inverse ? a.y : const_cast<float*>(a.x);
        for (int64_t j = 0; j < r; ++j)
          deep_rows[j] = deep_base + ((n * deep.c + shuffle_channel(desc_.mode, c, wide.c, r, i, j)) * deep.h + h) * deep.w;
        if (desc_.inverse)
          rows_.deinterleave(a.x + q * wide.w, r, deep_rows.data(), deep.w);
        else
          rows_.interleave(deep_rows.data(), r, a.y + q * wide.w, deep.w, streaming);
      }
      if (streaming) streaming_fence();
    });
    return {};
  }

 private:
  ShuffleDesc desc_;
  std::shared_ptr<ThreadPool> pool_;
  PermuteRowKernels rows_;
  int64_t cache_bytes_;
};

class ResampleKernel final : public OpKernel {
 public:
  ResampleKernel(const ResampleDesc& d, std::shared_ptr<ThreadPool> pool, const PermuteRowKernels& rows, int64_t cache_bytes)
      : desc_(d), pool_(std::move(pool)), rows_(rows), cache_bytes_(cache_bytes) {}

  Status run(const OpArgs& a) override {
    const int64_t fh = desc_.factor_h, fw = desc_.factor_w;
    const bool streaming = stream_output((a.xd.count() + a.yd.count()) * static_cast<int64_t>(sizeof(float)), cache_bytes_,
                                         pool_->size());
    // Bed of nails interleaves each input row with fw - 1 rows of zeros, and its other fh - 1
    // output rows are all zeros.
    const std::vector<float> zeros(desc_.zero_insert ? static_cast<size_t>(a.xd.w) : 0, 0.0f);
    // One work item = one input row and the fh output rows it produces. Every output row is
    // produced from the (L1-resident) input row, never copied from the previous output row, so
    // large outputs can be streamed without reading them back.
    pool_->parallel_for(a.xd.n * a.xd.c * a.xd.h, [&](int64_t begin, int64_t end) {
      std::vector<const float*> sources(static_cast<size_t>(fw));
      for (int64_t q = begin; q < end; ++q) {
        const float* in = a.x + q * a.xd.w;
        float* out = a.y + q * fh * a.yd.w;
        for (int64_t i = 0; i < fh; ++i) {
          for (int64_t j = 0; j < fw; ++j)
            sources[j] = (desc_.zero_insert && (i > 0 || j > 0)) ? zeros.data() : in;
          rows_.interleave(sources.data(), fw, out + i * a.yd.w, a.xd.w, streaming);
        }
      }
      if (streaming) streaming_fence();
    });
    return {};
  }

 private:
  ResampleDesc desc_;
  std::shared_ptr<ThreadPool> pool_;
  PermuteRowKernels rows_;
  int64_t cache_bytes_;
};

// out[idx[e]] = in[e] in C order (a later duplicate wins). An index outside [0, out_plane) is
// skipped and makes the result false: the check rides on the one read of the indices.
bool scatter_plane(const float* in, const int64_t* idx, int64_t count, float* out, int64_t out_plane) {
  const auto limit = static_cast<uint64_t>(out_plane);
  bool inside = true;
  for (int64_t e = 0; e < count; ++e) {
    const auto at = static_cast<uint64_t>(idx[e]);
    if (at < limit)
      out[at] = in[e];
    else
      inside = false;
  }
  return inside;
}

class UnpoolKernel final : public OpKernel {
 public:
  UnpoolKernel(std::shared_ptr<ThreadPool> pool, const PermuteRowKernels& rows, int64_t cache_bytes)
      : pool_(std::move(pool)), rows_(rows), cache_bytes_(cache_bytes) {}

  Status run(const OpArgs& a) override {
    const int64_t in_plane = a.xd.plane(), out_plane = a.yd.plane();
    const size_t plane_bytes = static_cast<size_t>(out_plane) * sizeof(float);
    // A large output is assembled plane by plane in a cache-resident buffer (zero, scatter) and
    // then streamed out, so each output line goes to memory once, without read-for-ownership.
    const bool streaming = stream_output(a.xd.count() * static_cast<int64_t>(sizeof(float) + sizeof(int64_t)) +
                                             a.yd.count() * static_cast<int64_t>(sizeof(float)),
                                         cache_bytes_, pool_->size());
    // Output exactly twice the input: indices that all point into their element's own 2x2
    // block (max_pool2d's) are written block row by block row, each output row once, with no
    // zero-fill pass and no scatter. A plane with any other index is redone the general way.
    const bool blocks = a.yd.h == 2 * a.xd.h && a.yd.w == 2 * a.xd.w;
    // One work item = one (n, c) plane: indices never leave their plane (checked as they are
    // read), and C order within a plane keeps "the later duplicate wins".
    std::atomic<bool> all_inside{true};
    pool_->parallel_for(a.xd.n * a.xd.c, [&](int64_t begin, int64_t end) {
      std::vector<float> staging;  // sized on the first plane that needs it (not on the block path)
      std::vector<float> block_rows(blocks ? static_cast<size_t>(4 * a.xd.w) : 0);
      float* const rows[4] = {block_rows.data(), block_rows.data() + a.xd.w, block_rows.data() + 2 * a.xd.w,
                              block_rows.data() + 3 * a.xd.w};
      for (int64_t p = begin; p < end; ++p) {
        if (blocks && unpool_blocks(a, p, rows, streaming)) continue;
        if (streaming) staging.resize(static_cast<size_t>(out_plane));
        float* out = streaming ? staging.data() : a.y + p * out_plane;
        const float* in = a.x + p * in_plane;
        const int64_t* idx = a.indices + p * in_plane;
        std::memset(out, 0, plane_bytes);
        if (!scatter_plane(in, idx, in_plane, out, out_plane)) all_inside.store(false, std::memory_order_relaxed);
        if (streaming) {
          const float* plane = staging.data();
          rows_.interleave(&plane, 1, a.y + p * out_plane, out_plane, true);
        }
      }
      if (streaming) streaming_fence();
    });
    if (!all_inside.load()) return check_unpool_indices(a.indices, a.xd.count(), out_plane);  // words the error
    return {};
  }

 private:
  // Plane p by 2x2 blocks (see run); false as soon as an index leaves its block.
  bool unpool_blocks(const OpArgs& a, int64_t p, float* const (&rows)[4], bool streaming) const {
    const int64_t w = a.xd.w, out_w = a.yd.w;
    const float* in = a.x + p * a.xd.plane();
    const int64_t* idx = a.indices + p * a.xd.plane();
    float* out = a.y + p * a.yd.plane();
    for (int64_t h = 0; h < a.xd.h; ++h, in += w, idx += w, out += 2 * out_w) {
      if (!rows_.split_unpool_blocks(in, idx, w, 2 * h * out_w, out_w, rows)) return false;
      rows_.interleave(rows, 2, out, w, streaming);
      rows_.interleave(rows + 2, 2, out + out_w, w, streaming);
    }
    return true;
  }

  std::shared_ptr<ThreadPool> pool_;
  PermuteRowKernels rows_;
  int64_t cache_bytes_;
};

}  // namespace

void streaming_fence() { _mm_sfence(); }

PermuteRowKernels select_permute_row_kernels(std::string_view isa) {
  if (isa.empty())
    if (const char* env = std::getenv("UPCONV_CPU_ISA")) isa = env;
  if (isa == "avx2") isa = "fma3+avx2";
  if (isa == "sse4.1") isa = "sse4_1";
  // Start at the named ISA (or the top when unnamed/unknown), take the first one supported.
  size_t start = 0;
  for (size_t k = 0; k < std::size(kIsas); ++k)
    if (kIsas[k].name == isa) start = k;
  size_t chosen = std::size(kIsas) - 1;
  for (size_t k = start; k < std::size(kIsas); ++k)
    if (kIsas[k].supported()) {
      chosen = k;
      break;
    }
  PermuteRowKernels kernels = kIsas[chosen].kernels();
  kernels.isa = kIsas[chosen].name.data();  // our names (xsimd spells sse4_1 "sse4.1")
  return kernels;
}

std::vector<std::string_view> available_permute_isas() {
  std::vector<std::string_view> names;
  for (const IsaEntry& e : kIsas)
    if (e.supported()) names.push_back(e.name);
  return names;
}

int64_t last_level_cache_bytes() {
  static const int64_t bytes = []() -> int64_t {
    // The unified level-3 cache of cpu0, as Linux reports it ("32768K").
    for (int index = 0; index < 8; ++index) {
      const std::string dir = "/sys/devices/system/cpu/cpu0/cache/index" + std::to_string(index) + "/";
      std::ifstream level(dir + "level"), size(dir + "size");
      int l = 0;
      std::string text;
      if (!(level >> l) || l != 3 || !(size >> text) || text.empty()) continue;
      char* end = nullptr;
      const long long value = std::strtoll(text.c_str(), &end, 10);
      const long long unit = *end == 'K' ? 1024 : *end == 'M' ? 1024 * 1024 : 1;
      if (value > 0 && value * unit >= (int64_t{1} << 20) && value * unit <= (int64_t{1} << 32)) return value * unit;
    }
    return int64_t{32} << 20;
  }();
  return bytes;
}

std::unique_ptr<OpKernel> make_shuffle_kernel(const ShuffleDesc& desc, std::shared_ptr<ThreadPool> pool,
                                              const PermuteRowKernels& rows, int64_t cache_bytes) {
  return std::make_unique<ShuffleKernel>(desc, std::move(pool), rows, cache_bytes);
}
std::unique_ptr<OpKernel> make_resample_kernel(const ResampleDesc& desc, std::shared_ptr<ThreadPool> pool,
                                               const PermuteRowKernels& rows, int64_t cache_bytes) {
  return std::make_unique<ResampleKernel>(desc, std::move(pool), rows, cache_bytes);
}
std::unique_ptr<OpKernel> make_unpool_kernel(std::shared_ptr<ThreadPool> pool, const PermuteRowKernels& rows,
                                             int64_t cache_bytes) {
  return std::make_unique<UnpoolKernel>(std::move(pool), rows, cache_bytes);
}

}  // namespace upconv::detail::cpu

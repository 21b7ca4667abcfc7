// Internal: the memory-bound CPU kernels — pixel_shuffle / pixel_unshuffle (crd and dcr),
// upsample_nearest2d, bed_of_nails2d and max_unpool2d. They move data and never do arithmetic,
// so every one is an exact permutation (or a scatter) and bit-identical to the reference.
// Work is split over output rows (or planes), so results do not depend on the thread count.
#pragma once

#include <memory>
#include <string_view>
#include <vector>

#include "runtime/backend.hpp"
#include "runtime/thread_pool.hpp"

namespace upconv::detail::cpu {

/// The ISA-specific row primitives, resolved once per plan (see permute_kernels_impl.hpp).
struct PermuteRowKernels {
  /// dst[x * r + j] = src[j][x] for x < width, j < r. `streaming`: write with non-temporal
  /// stores where the row's alignment allows (for outputs too large to stay in cache); the
  /// caller must then call streaming_fence() after its last row, before others read the rows.
  void (*interleave)(const float* const* src, int64_t r, float* dst, int64_t width, bool streaming) = nullptr;
  /// dst[j][x] = src[x * r + j] for x < width, j < r.
  void (*deinterleave)(const float* src, int64_t r, float* const* dst, int64_t width) = nullptr;
  /// xsimd name of the ISA, e.g. "avx512f".
  const char* isa = "";
};

/// Orders the streaming stores of the calling thread before its later stores (x86 sfence).
void streaming_fence();

/// xsimd dispatch functor: returns the row kernels compiled for `Arch`. Defined in
/// permute_kernels_impl.hpp and explicitly instantiated in cpu/arch/permute_<isa>.cpp.
struct PermuteRowKernelsFor {
  template <class Arch>
  PermuteRowKernels operator()(Arch) const;
};

/// The row kernels of the best ISA this CPU supports, or of the ISA named by `isa` ("sse4_1",
/// "avx2", "avx512f"; "" = best, also honouring UPCONV_CPU_ISA). An ISA that this build or this
/// CPU lacks falls back to the best available one below it.
PermuteRowKernels select_permute_row_kernels(std::string_view isa = {});

/// Names of the ISAs whose row kernels this CPU can run, best first (tests use every one).
std::vector<std::string_view> available_permute_isas();

/// Outputs of at least this many bytes are written with streaming stores: they exceed half the
/// L3 of the target machines (32 MiB on Zen 5), so they would not stay cached for the next
/// layer anyway, and skipping the read-for-ownership saves a third of the DRAM traffic.
inline constexpr int64_t kStreamingOutputBytes = int64_t{16} << 20;

/// Kernel factories. `pool` must outlive the kernel (the context owns both).
std::unique_ptr<OpKernel> make_shuffle_kernel(const ShuffleDesc& desc, std::shared_ptr<ThreadPool> pool,
                                              const PermuteRowKernels& rows);
std::unique_ptr<OpKernel> make_resample_kernel(const ResampleDesc& desc, std::shared_ptr<ThreadPool> pool,
                                               const PermuteRowKernels& rows);
std::unique_ptr<OpKernel> make_unpool_kernel(std::shared_ptr<ThreadPool> pool, const PermuteRowKernels& rows);

}  // namespace upconv::detail::cpu

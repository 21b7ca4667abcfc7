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
  /// One input row of a 2x max_unpool2d whose indices each point into the element's own 2x2
  /// output block: value x goes to rows[d][x] for its slot d (0, 1: top row; 2, 3: bottom row;
  /// slot offsets from the block's first output 0, 1, out_w, out_w + 1), zeros to the other
  /// three rows. `base` is the flat output index of the row's first block. False, with the rows
  /// unspecified, when some index lies outside its block.
  bool (*split_unpool_blocks)(const float* in, const int64_t* idx, int64_t width, int64_t base, int64_t out_w,
                              float* const* rows) = nullptr;
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

/// This machine's last-level (L3) cache size in bytes (sysfs; 32 MiB where unknown). The
/// permutation kernels write their output with streaming stores (no read-for-ownership, a third
/// less DRAM traffic) when input and output together fill it (with several threads: a quarter
/// more, see stream_output in permute_kernels.cpp); otherwise the output stays cached for the
/// next layer. Measured on the 2-vCPU Zen 5 VM (32 MiB L3), ordinary vs streaming
/// stores, 2 threads: nearest_x2 (4 + 16 MiB) 0.28-0.34 vs 0.59-0.63 ms (six interleaved runs),
/// nails_x2 0.21-0.33 vs 0.35-0.49 ms; shuffle_x2 (16 + 16 MiB, streamed) 0.67-0.90 vs 0.58-0.70
/// ms in the same runs, and 1 thread favoured streaming for it too (0.70-0.79 vs 0.89-1.79 ms).
int64_t last_level_cache_bytes();

/// Kernel factories. `pool` must outlive the kernel (the context owns both). Tests pass a small
/// `cache_bytes` to exercise the streaming paths on small tensors.
std::unique_ptr<OpKernel> make_shuffle_kernel(const ShuffleDesc& desc, std::shared_ptr<ThreadPool> pool,
                                              const PermuteRowKernels& rows,
                                              int64_t cache_bytes = last_level_cache_bytes());
std::unique_ptr<OpKernel> make_resample_kernel(const ResampleDesc& desc, std::shared_ptr<ThreadPool> pool,
                                               const PermuteRowKernels& rows,
                                               int64_t cache_bytes = last_level_cache_bytes());
std::unique_ptr<OpKernel> make_unpool_kernel(std::shared_ptr<ThreadPool> pool, const PermuteRowKernels& rows,
                                             int64_t cache_bytes = last_level_cache_bytes());

}  // namespace upconv::detail::cpu

// Internal: 64-byte aligned float storage for packed weights, padded inputs and scratch (read by
// full-width vector loads). Baseline-ISA code only (the planners), never the per-ISA kernels.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>

namespace upconv::detail::cpu {

class AlignedFloats {
 public:
  AlignedFloats() = default;
  explicit AlignedFloats(int64_t count, bool zero = true)
      : data_(static_cast<float*>(std::aligned_alloc(64, bytes(count)))) {
    // Out of memory as std::vector reports it (the C API turns it into a status), never a
    // write through null.
    if (data_ == nullptr) throw std::bad_alloc();
    if (zero) std::memset(data_.get(), 0, bytes(count));
  }
  float* get() const noexcept { return data_.get(); }

 private:
  static size_t bytes(int64_t count) { return (static_cast<size_t>(std::max<int64_t>(count, 1)) * 4 + 63) / 64 * 64; }
  struct Free {
    void operator()(float* p) const noexcept { std::free(p); }
  };
  std::unique_ptr<float, Free> data_;
};

}  // namespace upconv::detail::cpu

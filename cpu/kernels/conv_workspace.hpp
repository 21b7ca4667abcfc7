// Internal: the large per-run buffers of a context's conv kernels, one set shared by all of them.
#pragma once

#include <cstdint>
#include <mutex>

#include "cpu/kernels/aligned_floats.hpp"

namespace upconv::detail::cpu {

/// Buffers that one run needs and no later run reads, and that can be tens of MB a layer (the
/// Winograd form's channel-last copies, transformed inputs and products: 38 MB for aspp_d12).
/// Held per plan, a network's plans would hold the sum of its layers'; held per context, the
/// largest layer's. A run holds lock() for its whole length: plans of one context run from
/// several threads take turns here, as they do for the context's thread pool anyway.
class ConvWorkspace {
 public:
  enum Slot { winograd_input, winograd_transformed, winograd_products, winograd_output, kSlots };

  [[nodiscard]] std::unique_lock<std::mutex> lock() { return std::unique_lock<std::mutex>(mutex_); }

  /// At least `floats` floats of `slot`, 64-byte aligned, with whatever an earlier run of any
  /// plan left there (the buffer only grows). Call with lock() held.
  float* get(Slot slot, int64_t floats) {
    if (capacity_[slot] < floats) {
      // The old one goes before the new one comes; if that throws, the slot holds nothing.
      buffers_[slot] = AlignedFloats();
      capacity_[slot] = 0;
      buffers_[slot] = AlignedFloats(floats, /*zero=*/false);
      capacity_[slot] = floats;
    }
    return buffers_[slot].get();
  }

  /// Floats held in all slots (tests).
  int64_t floats() {
    std::lock_guard guard(mutex_);
    int64_t sum = 0;
    for (int64_t c : capacity_) sum += c;
    return sum;
  }

 private:
  std::mutex mutex_;
  AlignedFloats buffers_[kSlots];
  int64_t capacity_[kSlots] = {};
};

}  // namespace upconv::detail::cpu

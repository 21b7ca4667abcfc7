// oneDNN (Debian libdnnl-dev 2.6.3, OpenMP runtime) as the peer library, on the same layers and
// the same operands as upconv. Built only when CMake finds oneDNN (UPCONV_BENCH_ONEDNN).
//
// Three ways to run a layer, so the comparison with upconv (NCHW in, NCHW out) is honest:
//   nchw_direct  the primitive created on plain NCHW tensors (oneDNN picks an NCHW-capable kernel)
//   nchw_reorder the primitive on oneDNN's preferred blocked layouts (format_tag::any), with the
//                NCHW -> blocked reorder of the input and blocked -> NCHW of the output included
//   blocked      that primitive alone on blocked tensors (not a like-for-like comparison: the
//                layout conversion is left to the caller's other layers)
// Weights are reordered once at setup in every variant, as upconv packs them at plan creation.
// pixel_shuffle runs as a oneDNN reorder between two strided 6-D views of the same data (there is
// no shuffle primitive); it has one variant, nchw_direct. upsample_nearest2d, bed_of_nails2d
// and max_unpool2d have no peer here (oneDNN 2.6.3's nearest resampling primitive crashed inside
// its JIT code on this machine, with AVX-512 and with ONEDNN_MAX_CPU_ISA=AVX2).
#pragma once

#include <memory>
#include <string>

#include "bench/bench_core.hpp"

namespace upconv::bench {

enum class OnednnVariant { nchw_direct, nchw_reorder, blocked };
const char* to_string(OnednnVariant variant);

/// Whether `variant` applies to `layer` (permutations have nchw_direct only).
bool onednn_supports(const Layer& layer, OnednnVariant variant);

/// A layer prepared on oneDNN (engine, stream, primitives, memories). Not thread-safe.
class OnednnLayer {
 public:
  /// Builds the primitives for `layer` with `data` (weights reordered here). Fails with a
  /// message when oneDNN rejects the layer.
  static Result<std::unique_ptr<OnednnLayer>> create(const Layer& layer, const LayerData& data,
                                                     OnednnVariant variant);
  virtual ~OnednnLayer() = default;
  /// One forward pass (including the variant's reorders); waits for completion.
  virtual void run() = 0;
  /// The NCHW output of the last run (reordered back from blocked layouts if needed).
  virtual Tensor output() = 0;
  /// oneDNN's implementation name, e.g. "jit:avx512_core".
  virtual std::string implementation() const = 0;
};

/// Sets the OpenMP thread count oneDNN uses (it reads omp_get_max_threads at each execution).
void set_onednn_threads(int threads);

}  // namespace upconv::bench

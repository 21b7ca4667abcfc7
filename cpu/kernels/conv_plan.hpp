// Internal: the fast CPU conv / conv_transpose kernel object (an OpKernel). Weights are packed at
// creation for both kernel shapes; each run picks the one that wastes fewer vector lanes for the
// input's geometry, pads the input, and splits the outputs over the thread pool.
#pragma once

#include <memory>

#include "cpu/isa.hpp"
#include "runtime/backend.hpp"
#include "runtime/thread_pool.hpp"

namespace upconv::detail::cpu {

/// Which kernel a run uses (tests force each one; `automatic` picks per run). `depthwise` applies
/// to depthwise layers only (others then pick automatically); automatic picks it for them.
enum class ConvTileKind { automatic, rows, channels, depthwise };

/// `isa` must be available (see isa.hpp). `pool` must outlive the kernel.
std::unique_ptr<OpKernel> make_fast_conv_kernel(const ConvDesc& desc, const float* weight, const float* bias,
                                                Isa isa, std::shared_ptr<ThreadPool> pool,
                                                ConvTileKind tile = ConvTileKind::automatic);

}  // namespace upconv::detail::cpu

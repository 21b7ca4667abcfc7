// Internal: the fast CPU conv / conv_transpose kernel object (an OpKernel). Each run picks the
// kernel shape that wastes fewer vector lanes for the input's geometry, pads the input (the row
// kernel pads the rows it reads itself), and splits the outputs over the thread pool. Weights are
// packed at creation for the shape the runs most likely take, and repacked for the other one by
// the first run that takes it. Stride-1 convs and conv_transposes may instead run in the
// Winograd form (winograd_plan.hpp) where its estimated cost is lower. Layers whose every phase
// is one tap on its own input position (kernel = stride, no padding; 1x1 convs) take the
// pointwise kernel: channel GEMMs over panels of the whole input plane. On AVX-512 the row kernel
// runs a W phase of two taps two vectors or more apart (WaveNet's dilated convs) two outputs at a
// time by Winograd F(2, 2) (conv_row_pairs.ipp).
#pragma once

#include <memory>

#include "cpu/isa.hpp"
#include "cpu/kernels/conv_workspace.hpp"
#include "runtime/backend.hpp"
#include "runtime/thread_pool.hpp"

namespace upconv::detail::cpu {

/// Which kernel a run uses (tests force each one; `automatic` picks per run). `depthwise` applies
/// to depthwise layers only (others then pick automatically); automatic picks it for them.
/// `winograd` applies where WinogradConv takes the layer and the run's geometry (others pick
/// automatically); automatic picks it where its estimated cost is below the direct kernels'.
/// `pointwise` applies where every phase has one tap reading its own input position (others pick
/// automatically); automatic picks it there. `row_pairs` is the row kernel with its Winograd
/// F(2, 2) tiles where a run's W axis is one phase of two taps at least two vectors apart (AVX-512;
/// others pick automatically); automatic takes them wherever it takes the row kernel there, and
/// `rows` never does.
enum class ConvTileKind { automatic, rows, channels, depthwise, winograd, pointwise, row_pairs };

/// `isa` must be available (see isa.hpp). `pool` must outlive the kernel. `workspace`: the
/// per-run buffers shared by a context's conv kernels (one of its own where null).
std::unique_ptr<OpKernel> make_fast_conv_kernel(const ConvDesc& desc, const float* weight, const float* bias,
                                                Isa isa, std::shared_ptr<ThreadPool> pool,
                                                ConvTileKind tile = ConvTileKind::automatic,
                                                std::shared_ptr<ConvWorkspace> workspace = nullptr);

/// Floats of packed weights and bias a kernel from make_fast_conv_kernel holds now (tests).
int64_t packed_weight_floats(const OpKernel& fast_conv_kernel);

/// The kernel the last run of a kernel from make_fast_conv_kernel took (automatic: no run yet;
/// tests).
ConvTileKind last_run_kernel(const OpKernel& fast_conv_kernel);

}  // namespace upconv::detail::cpu

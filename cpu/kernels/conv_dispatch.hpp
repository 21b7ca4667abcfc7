// Internal: run-time choice of the per-ISA conv kernel instantiations (xsimd dispatch with an
// explicit ISA, so that tests and UPCONV_CPU_ISA can pick a lower one than the best).
#pragma once

#include <xsimd/xsimd.hpp>

#include "cpu/kernels/conv_job.hpp"
#include "cpu/kernels/winograd_job.hpp"

namespace upconv::detail::cpu {

// Instantiated in cpu/arch/conv_<isa>.cpp, each compiled with its ISA's flags.
#define UPCONV_CONV_KERNEL_EXTERN(ARCH)                                                              \
  extern template void ConvRowKernel::operator()<ARCH>(ARCH, const ConvJob&, int64_t, int64_t, float*) const; \
  extern template void ConvChannelKernel::operator()<ARCH>(ARCH, const ConvJob&, int64_t, int64_t, float*) const; \
  extern template void ConvDepthwiseKernel::operator()<ARCH>(ARCH, const ConvJob&, int64_t, int64_t, float*) const; \
  extern template void ConvPointwiseKernel::operator()<ARCH>(ARCH, const ConvJob&, int64_t, int64_t, float*) const; \
  extern template void WinogradToChannelLastKernel::operator()<ARCH>(ARCH, const WinogradJob&, int64_t, int64_t) const; \
  extern template void WinogradFromChannelLastKernel::operator()<ARCH>(ARCH, const WinogradJob&, int64_t, int64_t) const; \
  extern template void WinogradInputKernel::operator()<ARCH>(ARCH, const WinogradJob&, int64_t, int64_t) const; \
  extern template void WinogradProductKernel::operator()<ARCH>(ARCH, const WinogradJob&, int64_t, int64_t) const; \
  extern template void WinogradOutputKernel::operator()<ARCH>(ARCH, const WinogradJob&, int64_t, int64_t) const;
UPCONV_CONV_KERNEL_EXTERN(xsimd::sse4_1)
UPCONV_CONV_KERNEL_EXTERN(xsimd::fma3<xsimd::avx2>)
UPCONV_CONV_KERNEL_EXTERN(xsimd::avx512f)
#undef UPCONV_CONV_KERNEL_EXTERN

/// Calls kernel(Arch{}, args...) for the xsimd arch of `isa` (which must be available).
template <class Kernel, class... Args>
void dispatch_isa(Isa isa, const Kernel& kernel, Args&&... args) {
  switch (isa) {
    case Isa::avx512f: kernel(xsimd::avx512f{}, std::forward<Args>(args)...); return;
    case Isa::avx2: kernel(xsimd::fma3<xsimd::avx2>{}, std::forward<Args>(args)...); return;
    case Isa::sse4_1: kernel(xsimd::sse4_1{}, std::forward<Args>(args)...); return;
  }
}

}  // namespace upconv::detail::cpu

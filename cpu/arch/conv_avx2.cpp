// The conv / conv_transpose kernels compiled for AVX2 + FMA3 (this file is built with that ISA's flags).
#include "cpu/kernels/conv_kernels.ipp"

namespace upconv::detail::cpu {
template void ConvRowKernel::operator()<xsimd::fma3<xsimd::avx2>>(xsimd::fma3<xsimd::avx2>, const ConvJob&, int64_t, int64_t, float*) const;
template void ConvChannelKernel::operator()<xsimd::fma3<xsimd::avx2>>(xsimd::fma3<xsimd::avx2>, const ConvJob&, int64_t, int64_t, float*) const;
template void ConvDepthwiseKernel::operator()<xsimd::fma3<xsimd::avx2>>(xsimd::fma3<xsimd::avx2>, const ConvJob&, int64_t, int64_t, float*) const;
}  // namespace upconv::detail::cpu

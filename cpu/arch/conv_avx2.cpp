// The conv / conv_transpose kernels compiled for AVX2 + FMA3 (this file is built with that ISA's flags).
#include "cpu/kernels/conv_kernels.ipp"
#include "cpu/kernels/winograd_kernels.ipp"

namespace upconv::detail::cpu {
template void ConvRowKernel::operator()<xsimd::fma3<xsimd::avx2>>(xsimd::fma3<xsimd::avx2>, const ConvJob&, int64_t, int64_t, float*) const;
template void ConvChannelKernel::operator()<xsimd::fma3<xsimd::avx2>>(xsimd::fma3<xsimd::avx2>, const ConvJob&, int64_t, int64_t, float*) const;
template void ConvDepthwiseKernel::operator()<xsimd::fma3<xsimd::avx2>>(xsimd::fma3<xsimd::avx2>, const ConvJob&, int64_t, int64_t, float*) const;
template void ConvPointwiseKernel::operator()<xsimd::fma3<xsimd::avx2>>(xsimd::fma3<xsimd::avx2>, const ConvJob&, int64_t, int64_t, float*) const;
template void WinogradToChannelLastKernel::operator()<xsimd::fma3<xsimd::avx2>>(xsimd::fma3<xsimd::avx2>, const WinogradJob&, int64_t, int64_t) const;
template void WinogradFromChannelLastKernel::operator()<xsimd::fma3<xsimd::avx2>>(xsimd::fma3<xsimd::avx2>, const WinogradJob&, int64_t, int64_t) const;
template void WinogradInputKernel::operator()<xsimd::fma3<xsimd::avx2>>(xsimd::fma3<xsimd::avx2>, const WinogradJob&, int64_t, int64_t) const;
template void WinogradProductKernel::operator()<xsimd::fma3<xsimd::avx2>>(xsimd::fma3<xsimd::avx2>, const WinogradJob&, int64_t, int64_t) const;
template void WinogradOutputKernel::operator()<xsimd::fma3<xsimd::avx2>>(xsimd::fma3<xsimd::avx2>, const WinogradJob&, int64_t, int64_t) const;
}  // namespace upconv::detail::cpu

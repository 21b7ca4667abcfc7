// The conv / conv_transpose kernels compiled for AVX-512F (this file is built with that ISA's flags).
#include "cpu/kernels/conv_kernels.ipp"
#include "cpu/kernels/winograd_kernels.ipp"

namespace upconv::detail::cpu {
template void ConvRowKernel::operator()<xsimd::avx512f>(xsimd::avx512f, const ConvJob&, int64_t, int64_t, float*) const;
template void ConvChannelKernel::operator()<xsimd::avx512f>(xsimd::avx512f, const ConvJob&, int64_t, int64_t, float*) const;
template void ConvDepthwiseKernel::operator()<xsimd::avx512f>(xsimd::avx512f, const ConvJob&, int64_t, int64_t, float*) const;
template void ConvPointwiseKernel::operator()<xsimd::avx512f>(xsimd::avx512f, const ConvJob&, int64_t, int64_t, float*) const;
template void WinogradToChannelLastKernel::operator()<xsimd::avx512f>(xsimd::avx512f, const WinogradJob&, int64_t, int64_t) const;
template void WinogradFromChannelLastKernel::operator()<xsimd::avx512f>(xsimd::avx512f, const WinogradJob&, int64_t, int64_t) const;
template void WinogradInputKernel::operator()<xsimd::avx512f>(xsimd::avx512f, const WinogradJob&, int64_t, int64_t) const;
template void WinogradProductKernel::operator()<xsimd::avx512f>(xsimd::avx512f, const WinogradJob&, int64_t, int64_t) const;
template void WinogradOutputKernel::operator()<xsimd::avx512f>(xsimd::avx512f, const WinogradJob&, int64_t, int64_t) const;
}  // namespace upconv::detail::cpu

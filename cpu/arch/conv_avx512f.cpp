// The conv / conv_transpose kernels compiled for AVX-512F (this file is built with that ISA's flags).
#include "cpu/kernels/conv_kernels.ipp"

namespace upconv::detail::cpu {
template void ConvRowKernel::operator()<xsimd::avx512f>(xsimd::avx512f, const ConvJob&, int64_t, int64_t, float*) const;
template void ConvChannelKernel::operator()<xsimd::avx512f>(xsimd::avx512f, const ConvJob&, int64_t, int64_t, float*) const;
template void ConvDepthwiseKernel::operator()<xsimd::avx512f>(xsimd::avx512f, const ConvJob&, int64_t, int64_t, float*) const;
}  // namespace upconv::detail::cpu

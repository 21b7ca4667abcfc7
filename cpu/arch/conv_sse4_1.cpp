// The conv / conv_transpose kernels compiled for SSE4.1 (this file is built with that ISA's flags).
#include "cpu/kernels/conv_kernels.ipp"
#include "cpu/kernels/winograd_kernels.ipp"

namespace upconv::detail::cpu {
template void ConvRowKernel::operator()<xsimd::sse4_1>(xsimd::sse4_1, const ConvJob&, int64_t, int64_t, float*) const;
template void ConvChannelKernel::operator()<xsimd::sse4_1>(xsimd::sse4_1, const ConvJob&, int64_t, int64_t, float*) const;
template void ConvDepthwiseKernel::operator()<xsimd::sse4_1>(xsimd::sse4_1, const ConvJob&, int64_t, int64_t, float*) const;
template void ConvPointwiseKernel::operator()<xsimd::sse4_1>(xsimd::sse4_1, const ConvJob&, int64_t, int64_t, float*) const;
template void WinogradToChannelLastKernel::operator()<xsimd::sse4_1>(xsimd::sse4_1, const WinogradJob&, int64_t, int64_t) const;
template void WinogradFromChannelLastKernel::operator()<xsimd::sse4_1>(xsimd::sse4_1, const WinogradJob&, int64_t, int64_t) const;
template void WinogradInputKernel::operator()<xsimd::sse4_1>(xsimd::sse4_1, const WinogradJob&, int64_t, int64_t) const;
template void WinogradProductKernel::operator()<xsimd::sse4_1>(xsimd::sse4_1, const WinogradJob&, int64_t, int64_t) const;
template void WinogradOutputKernel::operator()<xsimd::sse4_1>(xsimd::sse4_1, const WinogradJob&, int64_t, int64_t) const;
}  // namespace upconv::detail::cpu

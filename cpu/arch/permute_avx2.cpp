// The permutation row kernels compiled for AVX2 + FMA (this file is built with that ISA's flags).
#include "cpu/permute_kernels_impl.hpp"

namespace upconv::detail::cpu {
template PermuteRowKernels PermuteRowKernelsFor::operator()<xsimd::fma3<xsimd::avx2>>(xsimd::fma3<xsimd::avx2>) const;
}  // namespace upconv::detail::cpu

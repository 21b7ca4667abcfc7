// The permutation row kernels compiled for AVX-512F (this file is built with that ISA's flags).
#include "cpu/permute_kernels_impl.hpp"

namespace upconv::detail::cpu {
template PermuteRowKernels PermuteRowKernelsFor::operator()<xsimd::avx512f>(xsimd::avx512f) const;
}  // namespace upconv::detail::cpu

// The permutation row kernels compiled for SSE4.1 (this file is built with that ISA's flags).
#include "cpu/permute_kernels_impl.hpp"

namespace upconv::detail::cpu {
template PermuteRowKernels PermuteRowKernelsFor::operator()<xsimd::sse4_1>(xsimd::sse4_1) const;
}  // namespace upconv::detail::cpu

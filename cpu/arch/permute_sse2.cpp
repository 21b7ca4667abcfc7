// The permutation row kernels compiled for SSE2, the x86-64 baseline and last fallback (this file is built with that ISA's flags).
#include "cpu/permute_kernels_impl.hpp"

namespace upconv::detail::cpu {
template PermuteRowKernels PermuteRowKernelsFor::operator()<xsimd::sse2>(xsimd::sse2) const;
}  // namespace upconv::detail::cpu

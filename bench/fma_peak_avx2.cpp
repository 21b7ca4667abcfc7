// The FMA-peak loop compiled for AVX2 + FMA3 (this file is built with that ISA's flags).
#include "bench/fma_peak_impl.hpp"

namespace upconv::bench {
double fma_chains_avx2(int64_t iters, float* sink) { return fma_chains<xsimd::fma3<xsimd::avx2>>(iters, sink); }
}  // namespace upconv::bench

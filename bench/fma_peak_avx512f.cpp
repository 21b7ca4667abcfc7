// The FMA-peak loop compiled for AVX-512F (this file is built with that ISA's flags).
#include "bench/fma_peak_impl.hpp"

namespace upconv::bench {
double fma_chains_avx512f(int64_t iters, float* sink) { return fma_chains<xsimd::avx512f>(iters, sink); }
}  // namespace upconv::bench

// The FMA-peak loop compiled for SSE4.1 (this file is built with that ISA's flags).
#include "bench/fma_peak_impl.hpp"

namespace upconv::bench {
double fma_chains_sse4_1(int64_t iters, float* sink) { return fma_chains<xsimd::sse4_1>(iters, sink); }
}  // namespace upconv::bench

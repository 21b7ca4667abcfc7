// The CPU's floating-point peak, measured rather than assumed: "% of peak" in the benchmark
// tables is relative to it. The hosts of this project's VMs change generation from day to day
// (a Zen 4 core peaks at half a Zen 5 core's rate with the same instructions), so a fixed figure
// misstates every row on some days.
#pragma once

#include <string>

namespace upconv::bench {

struct FmaPeak {
  double gflops = 0.0;  // summed over the threads
  std::string isa;      // the instructions it ran: those of the conv kernels ("avx512f", ...)
  int threads = 1;
};

/// Runs `threads` threads for about `seconds`, each a loop of independent vector FMA chains in
/// registers only (no memory traffic), with the SIMD instructions the CPU conv kernels use
/// (UPCONV_CPU_ISA included). Returns 0 GFLOP/s and isa "none" on a CPU without x86 SIMD kernels.
FmaPeak measure_fma_peak(int threads, double seconds = 0.25);

}  // namespace upconv::bench

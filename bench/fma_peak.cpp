#include "bench/fma_peak.hpp"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <thread>
#include <vector>

#include "cpu/isa.hpp"

namespace upconv::bench {

#ifdef UPCONV_CPU_X86
// bench/fma_peak_<isa>.cpp: the loop of fma_peak_impl.hpp built with each ISA's flags.
double fma_chains_avx512f(int64_t iters, float* sink);
double fma_chains_avx2(int64_t iters, float* sink);
double fma_chains_sse4_1(int64_t iters, float* sink);
#endif

FmaPeak measure_fma_peak(int threads, double seconds) {
  FmaPeak peak;
  peak.threads = threads < 1 ? 1 : threads;
  peak.isa = "none";
#ifdef UPCONV_CPU_X86
  namespace cpu = upconv::detail::cpu;
  if (!cpu::simd_kernels_available()) return peak;
  const cpu::Isa isa = cpu::default_isa();
  peak.isa = cpu::isa_name(isa);
  double (*chains)(int64_t, float*) = isa == cpu::Isa::avx512f ? fma_chains_avx512f
                                      : isa == cpu::Isa::avx2  ? fma_chains_avx2
                                                               : fma_chains_sse4_1;
  // Each thread repeats blocks of iterations until its time is up, after a short warm-up (clocks
  // and the vector units' power-up), and reports FLOPs over its own wall time; the threads start
  // together, so on a time-sliced VM the sum is what they get at once.
  using Clock = std::chrono::steady_clock;
  constexpr int64_t kBlock = 1 << 14;
  std::vector<double> rate(static_cast<size_t>(peak.threads), 0.0);
  std::vector<float> sinks(static_cast<size_t>(peak.threads), 0.0f);
  std::atomic<int> ready{0};
  const auto run = [&](int t) {
    float* sink = &sinks[static_cast<size_t>(t)];
    chains(kBlock, sink);
    ready.fetch_add(1);
    while (ready.load() < peak.threads) std::this_thread::yield();
    const Clock::time_point start = Clock::now();
    double done = 0.0, elapsed = 0.0;
    while (elapsed < seconds) {
      done += chains(kBlock, sink);
      elapsed = std::chrono::duration<double>(Clock::now() - start).count();
    }
    rate[static_cast<size_t>(t)] = done / elapsed;
  };
  std::vector<std::thread> pool;
  for (int t = 1; t < peak.threads; ++t) pool.emplace_back(run, t);
  run(0);
  for (std::thread& th : pool) th.join();
  for (double r : rate) peak.gflops += r * 1e-9;
#endif
  return peak;
}

}  // namespace upconv::bench

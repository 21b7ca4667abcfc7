#include "bench/fma_peak.hpp"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <thread>
#include <vector>

#include "cpu/isa.hpp"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define UPCONV_FMA_PEAK_X86 1
#endif

namespace upconv::bench {
namespace {

#ifdef UPCONV_FMA_PEAK_X86
// Each loop keeps kChains accumulators in registers: more independent chains than the FMA
// latency times the FMA units, so the loop runs at the issue rate. a = a * m + c converges to
// c / (1 - m) = 1, so the values never turn denormal. The result is stored so that the loop is
// not dropped. Returns FLOPs done.
constexpr float kM = 0.999f, kC = 0.001f;

__attribute__((target("avx512f"))) double chains_avx512(int64_t iters, float* sink) {
  constexpr int kChains = 24;  // of 32 zmm registers
  __m512 a[kChains];
  for (int k = 0; k < kChains; ++k) a[k] = _mm512_set1_ps(0.5f + 0.01f * static_cast<float>(k));
  const __m512 m = _mm512_set1_ps(kM), c = _mm512_set1_ps(kC);
  for (int64_t i = 0; i < iters; ++i) {
#pragma GCC unroll 24
    for (int k = 0; k < kChains; ++k) a[k] = _mm512_fmadd_ps(a[k], m, c);
  }
  __m512 s = a[0];
  for (int k = 1; k < kChains; ++k) s = _mm512_add_ps(s, a[k]);
  alignas(64) float lanes[16];
  _mm512_store_ps(lanes, s);
  *sink = lanes[0] + lanes[15];
  return 2.0 * 16 * kChains * static_cast<double>(iters);
}

__attribute__((target("avx2,fma"))) double chains_avx2(int64_t iters, float* sink) {
  constexpr int kChains = 12;  // of 16 ymm registers
  __m256 a[kChains];
  for (int k = 0; k < kChains; ++k) a[k] = _mm256_set1_ps(0.5f + 0.01f * static_cast<float>(k));
  const __m256 m = _mm256_set1_ps(kM), c = _mm256_set1_ps(kC);
  for (int64_t i = 0; i < iters; ++i) {
#pragma GCC unroll 12
    for (int k = 0; k < kChains; ++k) a[k] = _mm256_fmadd_ps(a[k], m, c);
  }
  __m256 s = a[0];
  for (int k = 1; k < kChains; ++k) s = _mm256_add_ps(s, a[k]);
  alignas(32) float lanes[8];
  _mm256_store_ps(lanes, s);
  *sink = lanes[0] + lanes[7];
  return 2.0 * 8 * kChains * static_cast<double>(iters);
}

// SSE4.1 kernels have no FMA: a multiply and an add, counted as two FLOPs as the kernels' are.
double chains_sse(int64_t iters, float* sink) {
  constexpr int kChains = 12;
  __m128 a[kChains];
  for (int k = 0; k < kChains; ++k) a[k] = _mm_set1_ps(0.5f + 0.01f * static_cast<float>(k));
  const __m128 m = _mm_set1_ps(kM), c = _mm_set1_ps(kC);
  for (int64_t i = 0; i < iters; ++i) {
#pragma GCC unroll 12
    for (int k = 0; k < kChains; ++k) a[k] = _mm_add_ps(_mm_mul_ps(a[k], m), c);
  }
  __m128 s = a[0];
  for (int k = 1; k < kChains; ++k) s = _mm_add_ps(s, a[k]);
  *sink = _mm_cvtss_f32(s);
  return 2.0 * 4 * kChains * static_cast<double>(iters);
}
#endif

}  // namespace

FmaPeak measure_fma_peak(int threads, double seconds) {
  FmaPeak peak;
  peak.threads = threads < 1 ? 1 : threads;
  peak.isa = "none";
#ifdef UPCONV_FMA_PEAK_X86
  namespace cpu = upconv::detail::cpu;
  if (!cpu::simd_kernels_available()) return peak;
  const cpu::Isa isa = cpu::default_isa();
  peak.isa = cpu::isa_name(isa);
  double (*chains)(int64_t, float*) = isa == cpu::Isa::avx512f ? chains_avx512
                                      : isa == cpu::Isa::avx2  ? chains_avx2
                                                               : chains_sse;
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

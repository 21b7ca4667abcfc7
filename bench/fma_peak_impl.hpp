// Internal to bench/fma_peak*.cpp: the FMA-chain loop, written once over the xsimd arch and
// compiled in bench/fma_peak_<isa>.cpp with that ISA's flags (the pattern of cpu/arch/), so it
// runs the very instructions the conv kernels use: xsimd::fma, a fused multiply-add with AVX2 and
// AVX-512, a multiply and an add with SSE4.1.
#pragma once

#include <cstdint>

#include <xsimd/xsimd.hpp>

namespace upconv::bench {
namespace {

/// `iters` rounds of kChains independent chains a = a * m + c in registers: more chains than the
/// FMA latency times the FMA units, so the loop runs at the issue rate. The values converge to
/// c / (1 - m) = 1 and never turn denormal; their sum is stored to `sink` so that the loop is kept.
/// Returns the FLOPs done (two per lane and chain and round).
template <class Arch>
double fma_chains(int64_t iters, float* sink) {
  using B = xsimd::batch<float, Arch>;
  constexpr int kChains = B::size == 16 ? 24 : 12;  // of 32 zmm / 16 ymm or xmm registers
  B a[kChains];
  for (int k = 0; k < kChains; ++k) a[k] = B(0.5f + 0.01f * static_cast<float>(k));
  const B m(0.999f), c(0.001f);
  for (int64_t i = 0; i < iters; ++i) {
#pragma GCC unroll 24
    for (int k = 0; k < kChains; ++k) a[k] = xsimd::fma(a[k], m, c);
  }
  B s = a[0];
  for (int k = 1; k < kChains; ++k) s += a[k];
  *sink = s.get(0) + s.get(B::size - 1);
  return 2.0 * B::size * kChains * static_cast<double>(iters);
}

}  // namespace
}  // namespace upconv::bench

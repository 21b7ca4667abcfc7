// Internal, included by conv_kernels.ipp only: bias + fused activation, vector and scalar forms.
// Everything here has internal linkage or is templated on the xsimd arch, so per-ISA copies
// never merge at link time.
#pragma once

#include <cmath>
#include <cstdint>
#include <type_traits>
#include <utility>

#include <xsimd/xsimd.hpp>

// Fully unrolls a loop over a tile's accumulators. GCC keeps an array of accumulators in
// registers only where every access has a constant index by the time it scalarizes aggregates,
// which is before its own complete unrolling of outer loops; otherwise the array lives on the
// stack, with a store of each accumulator before and after the tile's loop and a load in its
// epilogue (unrolled: unet_up 1.45 -> 1.38 ms, frame_up 3.63 -> 3.22, wavenet_d64 1.35 -> 1.30).
#define UPCONV_UNROLL _Pragma("GCC unroll 16")

namespace upconv::detail::cpu {
namespace {

// Local, so that no std:: template is instantiated with ISA flags and merged across TUs.
inline int64_t min_i64(int64_t a, int64_t b) { return a < b ? a : b; }

enum ActivationCode { act_none = 0, act_relu = 1, act_leaky = 2, act_sigmoid = 3, act_tanh = 4 };

inline float activate_scalar(int kind, float alpha, float v) {
  switch (kind) {
    case act_relu: return v > 0.0f ? v : 0.0f;
    case act_leaky: return v > 0.0f ? v : alpha * v;
    case act_sigmoid: return 1.0f / (1.0f + std::exp(-v));
    case act_tanh: return std::tanh(v);
    default: return v;
  }
}

template <class Arch>
inline xsimd::batch<float, Arch> activate(int kind, float alpha, xsimd::batch<float, Arch> v) {
  using B = xsimd::batch<float, Arch>;
  switch (kind) {
    case act_relu: return xsimd::max(v, B(0.0f));
    case act_leaky: return xsimd::select(v > B(0.0f), v, v * B(alpha));
    case act_sigmoid: return B(1.0f) / (B(1.0f) + xsimd::exp(-v));
    case act_tanh: return xsimd::tanh(v);
    default: return v;
  }
}

/// The activation kind as a type (a local one: see min_i64).
template <int Kind>
struct ActivationKind {
  static constexpr int value = Kind;
};

/// fn(ActivationKind<kind>{}): the caller's loop is instantiated per activation, so its body has
/// no branch on the kind, and this is the one place that maps a run-time kind to those.
template <class Fn>
inline void with_activation(int kind, const Fn& fn) {
  switch (kind) {
    case act_relu: return fn(ActivationKind<act_relu>{});
    case act_leaky: return fn(ActivationKind<act_leaky>{});
    case act_sigmoid: return fn(ActivationKind<act_sigmoid>{});
    case act_tanh: return fn(ActivationKind<act_tanh>{});
    default: return fn(ActivationKind<act_none>{});
  }
}

/// dst[i] = act(src[i] + bias) for i < count; the activation is a template argument so the
/// loop body has no branch.
template <class Arch, int Kind>
inline void bias_activate_row_as(const float* src, float* dst, int64_t count, float bias, float alpha) {
  using B = xsimd::batch<float, Arch>;
  constexpr int64_t L = B::size;
  int64_t i = 0;
  for (; i + L <= count; i += L)
    activate<Arch>(Kind, alpha, B::load_unaligned(src + i) + B(bias)).store_unaligned(dst + i);
  for (; i < count; ++i) dst[i] = activate_scalar(Kind, alpha, src[i] + bias);
}

template <class Arch>
inline void bias_activate_row(const float* src, float* dst, int64_t count, float bias, int kind, float alpha) {
  with_activation(kind, [&](auto k) { bias_activate_row_as<Arch, decltype(k)::value>(src, dst, count, bias, alpha); });
}

/// Lane order that makes xsimd 8.1's zip_lo/zip_hi (which interleave within each 128-bit lane,
/// as unpacklo/hi do) produce a full-width interleave: for every 4-lane group k the halves
/// a[2k, 2k+1] and a[L/2 + 2k, L/2 + 2k + 1].
struct ZipPrepareOrder {
  static constexpr uint32_t get(unsigned i, unsigned size) {
    const unsigned k = i / 4, j = i % 4;
    return j < 2 ? 2 * k + j : size / 2 + 2 * k + (j - 2);
  }
};

template <class Arch>
inline xsimd::batch<float, Arch> zip_prepare(xsimd::batch<float, Arch> v) {
  if constexpr (xsimd::batch<float, Arch>::size == 4) {
    return v;
  } else {
    return xsimd::swizzle(v, xsimd::make_batch_constant<xsimd::batch<uint32_t, Arch>, ZipPrepareOrder>());
  }
}

/// dst[0 .. 2L) = a[0], b[0], a[1], b[1], ...: two stride-2 phases interleaved on their store.
/// AVX-512 does it with two two-source permutes (vpermt2ps); elsewhere xsimd's in-lane zips
/// after a lane reorder each (zip_prepare), four shuffles where AVX-512 needs two.
template <class Arch>
inline void store_interleaved2(xsimd::batch<float, Arch> a, xsimd::batch<float, Arch> b, float* dst) {
#ifdef __AVX512F__  // only the AVX-512 translation unit has the 512-bit types
  if constexpr (std::is_base_of_v<xsimd::avx512f, Arch>) {
    const __m512i lo = _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
    const __m512i hi = _mm512_setr_epi32(8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
    _mm512_storeu_ps(dst, _mm512_permutex2var_ps(a, lo, b));
    _mm512_storeu_ps(dst + 16, _mm512_permutex2var_ps(a, hi, b));
    return;
  }
#endif
  a = zip_prepare<Arch>(a);
  b = zip_prepare<Arch>(b);
  xsimd::zip_lo(a, b).store_unaligned(dst);
  xsimd::zip_hi(a, b).store_unaligned(dst + xsimd::batch<float, Arch>::size);
}

/// dst[2q + j] = act(src_j[q] + bias) for 2q + j < count: the store of two stride-2 phases.
template <class Arch, int Kind>
inline void bias_activate_interleave2_as(const float* src0, const float* src1, float* dst, int64_t count, float bias,
                                         float alpha) {
  using B = xsimd::batch<float, Arch>;
  constexpr int64_t L = B::size;
  int64_t q = 0;
  for (; 2 * (q + L) <= count; q += L) {
    store_interleaved2<Arch>(activate<Arch>(Kind, alpha, B::load_unaligned(src0 + q) + B(bias)),
                             activate<Arch>(Kind, alpha, B::load_unaligned(src1 + q) + B(bias)), dst + 2 * q);
  }
  for (; 2 * q < count; ++q) {
    dst[2 * q] = activate_scalar(Kind, alpha, src0[q] + bias);
    if (2 * q + 1 < count) dst[2 * q + 1] = activate_scalar(Kind, alpha, src1[q] + bias);
  }
}

template <class Arch>
inline void bias_activate_interleave2(const float* src0, const float* src1, float* dst, int64_t count, float bias,
                                      int kind, float alpha) {
  with_activation(kind, [&](auto k) {
    bias_activate_interleave2_as<Arch, decltype(k)::value>(src0, src1, dst, count, bias, alpha);
  });
}

}  // namespace
}  // namespace upconv::detail::cpu

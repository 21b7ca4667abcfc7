// Internal: the ISA-specific part of the memory-bound kernels (pixel shuffle / unshuffle, nearest
// upsampling, bed of nails). All of them reduce to two row primitives:
//   interleave:   dst[x * r + j] = src[j][x]      (r source rows -> one row r times wider)
//   deinterleave: dst[j][x] = src[x * r + j]      (one wide row -> r rows)
// Both are exact permutations done in registers: for r input vectors (N lanes each) the r output
// vectors take lane l from source (k*N + l) % r, element (k*N + l) / r, which is always inside the
// same N-lane chunk. So each output vector is r single-source swizzles merged by r-1 constant
// blends: no gathers, no cross-chunk dependencies, full-width loads and stores.
// (xsimd 8.1's zip_lo/zip_hi interleave within 128-bit lanes only on AVX/AVX-512, so they are not
// a full-width zip and are not used here.)
//
// This header is included only by the per-ISA translation units cpu/arch/permute_<isa>.cpp,
// each compiled with its ISA's flags.
#pragma once

#include <cstdint>
#include <algorithm>
#include <cstring>
#include <type_traits>
#include <utility>

#include <xsimd/xsimd.hpp>

#include "cpu/permute_kernels.hpp"

namespace upconv::detail::cpu {
namespace permute_impl {

// Lane l of output vector K of an R-way interleave reads lane (K*N + l) / R of its source ...
template <unsigned K, unsigned R>
struct InterleaveLane {
  static constexpr unsigned get(unsigned l, unsigned n) { return (K * n + l) / R; }
};
// ... and that source is row (K*N + l) % R.
template <unsigned K, unsigned R, unsigned J>
struct InterleaveFrom {
  static constexpr bool get(unsigned l, unsigned n) { return (K * n + l) % R == J; }
};
// Lane l of deinterleaved row J reads wide lane l*R + J: lane (l*R + J) % N of input vector K ...
template <unsigned J, unsigned R>
struct DeinterleaveLane {
  static constexpr unsigned get(unsigned l, unsigned n) { return (l * R + J) % n; }
};
// ... where K = (l*R + J) / N.
template <unsigned J, unsigned R, unsigned K>
struct DeinterleaveFrom {
  static constexpr bool get(unsigned l, unsigned n) { return (l * R + J) / n == K; }
};

template <class Arch>
using FloatBatch = xsimd::batch<float, Arch>;
template <class Arch>
using IndexBatch = xsimd::batch<uint32_t, Arch>;

// Output vector K of the interleave: blend of the R sources, each swizzled into place.
template <class Arch, unsigned R, unsigned K, unsigned J = R - 1>
inline FloatBatch<Arch> interleave_vector(const FloatBatch<Arch>* in) {
  constexpr auto lanes = xsimd::make_batch_constant<IndexBatch<Arch>, InterleaveLane<K, R>>();
  const FloatBatch<Arch> moved = xsimd::swizzle(in[J], lanes);
  if constexpr (J == 0) {
    return moved;
  } else {
    constexpr auto mine = xsimd::make_batch_bool_constant<FloatBatch<Arch>, InterleaveFrom<K, R, J>>();
    return xsimd::select(mine, moved, interleave_vector<Arch, R, K, J - 1>(in));
  }
}

// Deinterleaved row J: blend of the R wide input vectors, each swizzled into place.
template <class Arch, unsigned R, unsigned J, unsigned K = R - 1>
inline FloatBatch<Arch> deinterleave_vector(const FloatBatch<Arch>* in) {
  constexpr auto lanes = xsimd::make_batch_constant<IndexBatch<Arch>, DeinterleaveLane<J, R>>();
  const FloatBatch<Arch> moved = xsimd::swizzle(in[K], lanes);
  if constexpr (K == 0) {
    return moved;
  } else {
    constexpr auto mine = xsimd::make_batch_bool_constant<FloatBatch<Arch>, DeinterleaveFrom<J, R, K>>();
    return xsimd::select(mine, moved, deinterleave_vector<Arch, R, J, K - 1>(in));
  }
}

// Non-temporal (streaming) store of one full vector to a vector-aligned address: the line goes
// to memory without first being read for ownership, which saves a third of the DRAM traffic of
// a large output (measured on Zen 5: 16 MiB copy 0.73 ms with stores, 0.50 ms streaming).
template <class Arch>
inline void stream_store(float* p, const FloatBatch<Arch>& v) {
  if constexpr (std::is_base_of_v<xsimd::avx512f, Arch>)
    _mm512_stream_ps(p, v);
  else if constexpr (std::is_base_of_v<xsimd::avx, Arch>)
    _mm256_stream_ps(p, v);
  else
    _mm_stream_ps(p, v);
}

template <class Arch, unsigned R, bool Stream>
void interleave_fixed(const float* const* src, float* dst, int64_t width) {
  using B = FloatBatch<Arch>;
  constexpr int64_t n = B::size;
  int64_t x = 0;
  if constexpr (Stream) {
    // Streaming stores need vector-aligned addresses. Output element x*R + j is at dst + x*R + j,
    // so a scalar head of `head` elements aligns the rest when it covers whole pixels (head % R
    // == 0; true for the 16-byte offset of glibc's large blocks and R = 2, 3, 4 with 512-bit
    // vectors). Otherwise the row takes the cached path.
    const auto address = reinterpret_cast<uintptr_t>(dst);
    const int64_t head = static_cast<int64_t>((n - address / sizeof(float) % n) % n);
    if (address % sizeof(float) != 0 || head % R != 0) return interleave_fixed<Arch, R, false>(src, dst, width);
    for (; x < std::min<int64_t>(head / R, width); ++x)
      for (unsigned j = 0; j < R; ++j) dst[x * R + j] = src[j][x];
  }
  for (; x + n <= width; x += n) {
    B in[R];
    for (unsigned j = 0; j < R; ++j) in[j] = B::load_unaligned(src[j] + x);
    float* out = dst + x * R;
    [&]<unsigned... K>(std::integer_sequence<unsigned, K...>) {
      if constexpr (Stream)
        (stream_store<Arch>(out + K * n, interleave_vector<Arch, R, K>(in)), ...);
      else
        (interleave_vector<Arch, R, K>(in).store_unaligned(out + K * n), ...);
    }(std::make_integer_sequence<unsigned, R>{});
  }
  if constexpr (Stream) {
    // The last partial group goes through a zero-padded copy of the sources, so its whole
    // output lines are streamed as well; only the final fraction of a line is stored scalar.
    if (const int64_t left = width - x; left > 0) {
      alignas(64) float padded[R][n] = {};
      alignas(64) float lanes[n];
      for (unsigned j = 0; j < R; ++j)
        for (int64_t k = 0; k < left; ++k) padded[j][k] = src[j][x + k];
      B in[R];
      for (unsigned j = 0; j < R; ++j) in[j] = B::load_aligned(padded[j]);
      float* out = dst + x * R;
      const int64_t floats = left * R;
      [&]<unsigned... K>(std::integer_sequence<unsigned, K...>) {
        ((K * n < floats ? (K * n + n <= floats
                                ? stream_store<Arch>(out + K * n, interleave_vector<Arch, R, K>(in))
                                : (interleave_vector<Arch, R, K>(in).store_aligned(lanes),
                                   std::copy(lanes, lanes + (floats - K * n), out + K * n), void()))
                           : void()),
         ...);
      }(std::make_integer_sequence<unsigned, R>{});
      x = width;
    }
  }
  for (; x < width; ++x)
    for (unsigned j = 0; j < R; ++j) dst[x * R + j] = src[j][x];
  // No fence here: the caller fences once after its last row (an sfence per 1 KiB row stalls
  // on every drain and made shuffle_x2 2.7x slower).
}

template <class Arch, unsigned R>
void deinterleave_fixed(const float* src, float* const* dst, int64_t width) {
  using B = FloatBatch<Arch>;
  constexpr int64_t n = B::size;
  int64_t x = 0;
  for (; x + n <= width; x += n) {
    B in[R];
    for (unsigned k = 0; k < R; ++k) in[k] = B::load_unaligned(src + x * R + k * n);
    [&]<unsigned... J>(std::integer_sequence<unsigned, J...>) {
      (deinterleave_vector<Arch, R, J>(in).store_unaligned(dst[J] + x), ...);
    }(std::make_integer_sequence<unsigned, R>{});
  }
  for (; x < width; ++x)
    for (unsigned j = 0; j < R; ++j) dst[j][x] = src[x * R + j];
}

template <class Arch, bool Stream>
void interleave_rows_impl(const float* const* src, int64_t r, float* dst, int64_t width) {
  switch (r) {
    case 1:  // a copy; streamed through the identity interleave when asked
      if constexpr (Stream)
        interleave_fixed<Arch, 1, true>(src, dst, width);
      else
        std::memcpy(dst, src[0], static_cast<size_t>(width) * sizeof(float));
      return;
    case 2: interleave_fixed<Arch, 2, Stream>(src, dst, width); return;
    case 3: interleave_fixed<Arch, 3, Stream>(src, dst, width); return;
    case 4: interleave_fixed<Arch, 4, Stream>(src, dst, width); return;
    default:  // factors > 4 are rare: a strided loop, each output line still filled while in L1
      for (int64_t x = 0; x < width; ++x)
        for (int64_t j = 0; j < r; ++j) dst[x * r + j] = src[j][x];
  }
}

template <class Arch>
void interleave_rows(const float* const* src, int64_t r, float* dst, int64_t width, bool streaming) {
  if (streaming)
    interleave_rows_impl<Arch, true>(src, r, dst, width);
  else
    interleave_rows_impl<Arch, false>(src, r, dst, width);
}

template <class Arch>
void deinterleave_row(const float* src, int64_t r, float* const* dst, int64_t width) {
  switch (r) {
    case 1: std::memcpy(dst[0], src, static_cast<size_t>(width) * sizeof(float)); return;
    case 2: deinterleave_fixed<Arch, 2>(src, dst, width); return;
    case 3: deinterleave_fixed<Arch, 3>(src, dst, width); return;
    case 4: deinterleave_fixed<Arch, 4>(src, dst, width); return;
    default:
      for (int64_t x = 0; x < width; ++x)
        for (int64_t j = 0; j < r; ++j) dst[j][x] = src[x * r + j];
  }
}

// Branch-free (an index's slot in its block is data, so branches on it mispredict a quarter of
// the time), with masks rather than conditionals and restrict-qualified rows so that the
// compiler vectorises it with this ISA's int64 compares (measured: the conditional form
// compiled to scalar branches and ran 6x slower).
template <class Arch>
bool split_unpool_blocks(const float* in, const int64_t* idx, int64_t width, int64_t base, int64_t out_w,
                         float* const* rows) {
  const float* __restrict src = in;
  const int64_t* __restrict at = idx;
  float* __restrict r0 = rows[0];
  float* __restrict r1 = rows[1];
  float* __restrict r2 = rows[2];
  float* __restrict r3 = rows[3];
  const auto w = static_cast<uint64_t>(out_w);
  const auto first = static_cast<uint64_t>(base);
  uint32_t inside = 1;
  for (int64_t x = 0; x < width; ++x) {
    // Unsigned: any int64 index (INT64_MIN too) wraps instead of overflowing, and a wrapped
    // offset equals 0, 1, w or w + 1 only when the index is exactly that block slot.
    const uint64_t d = static_cast<uint64_t>(at[x]) - (first + 2 * static_cast<uint64_t>(x));
    const uint32_t bits = std::bit_cast<uint32_t>(src[x]);
    const uint32_t m0 = 0u - static_cast<uint32_t>(d == 0), m1 = 0u - static_cast<uint32_t>(d == 1);
    const uint32_t m2 = 0u - static_cast<uint32_t>(d == w), m3 = 0u - static_cast<uint32_t>(d == w + 1);
    r0[x] = std::bit_cast<float>(bits & m0);
    r1[x] = std::bit_cast<float>(bits & m1);
    r2[x] = std::bit_cast<float>(bits & m2);
    r3[x] = std::bit_cast<float>(bits & m3);
    inside &= (m0 | m1 | m2 | m3) & 1u;
  }
  return inside != 0;
}

}  // namespace permute_impl

template <class Arch>
PermuteRowKernels PermuteRowKernelsFor::operator()(Arch) const {
  return {&permute_impl::interleave_rows<Arch>, &permute_impl::deinterleave_row<Arch>,
          &permute_impl::split_unpool_blocks<Arch>, Arch::name()};
}

}  // namespace upconv::detail::cpu

// Internal, included by conv_kernels.ipp only: the depthwise kernel (one input and one output
// channel per group: dw_up_x2, MobileNet-style decoders). Each output is a handful of taps, so
// the layer is bound by moving data, not by FMAs; what matters is touching each output once.
//
// An item is a block of output rows of one (n, channel) plane. For each row, the valid kernel
// rows (the H phase's taps that read inside the input) and the W phase's taps give at most
// kh x ceil(kw / stride) weights, broadcast once per row; each vector of outputs of a W phase is
// the sum over those taps of weight x input vector read straight from the zero-padded input row.
// The bias is added in registers and the result stored straight into the output row: for one
// phase (conv) as is, for two stride-2 phases (the common transposed case) interleaved in
// registers; other strides go through a phase row and a strided copy. A non-trivial activation
// then takes one pass over the finished row while it is in L1 (a call on the run-time kind per
// vector cost the stride-2 rows of dw_up_x2 ~20%). Two stride-2 phases keep their tap lists
// while an H phase's rows share their valid taps (the rows inside the padding's reach).
// Rows are written in output order: taking an H phase's rows together (every other row) made
// dw_up_x2 1.5x slower, its stores stalling.
// Sums run over taps in a fixed order, whatever the thread count.
#pragma once

namespace upconv::detail::cpu {
namespace {

/// Taps of one output row: input row pointers (kernel rows whose input row is valid) and the
/// weights of every (kernel row, W tap) pair of one W phase.
struct DepthwiseRowTaps {
  static constexpr int kMax = 64;  // larger kernels take the general kernels (see the planner)
  const float* x[kMax];            // input address of the pair at q = 0
  float w[kMax];
  int count = 0;
};

inline void depthwise_row_taps(const ConvJob& job, const float* xplane, const float* wplane, const AxisPhase& ph,
                               int64_t qh, uint64_t hmask, const AxisPhase& pw, DepthwiseRowTaps& out) {
  out.count = 0;
  for (int32_t jh = ph.tap_begin; jh < ph.tap_end; ++jh) {
    if (!tap_valid(hmask, jh, ph.tap_begin)) continue;
    const AxisTap& th = job.h.taps[jh];
    const float* xrow = xplane + (qh * job.h.in_step + th.off) * job.xp_w;
    for (int32_t jw = pw.tap_begin; jw < pw.tap_end; ++jw) {
      const AxisTap& tw = job.w.taps[jw];
      out.x[out.count] = xrow + tw.off;
      out.w[out.count] = wplane[th.t * job.kw + tw.t];
      ++out.count;
    }
  }
}

/// One vector of outputs q0 .. q0 + L - 1 of a W phase, before bias. Reads up to L - 1 floats past
/// the phase's last output (the padded input has slack for that). One FMA chain per vector: four
/// independent vectors per call measured no faster on dw_up_x2 (2.57 vs 2.09 ms median of five
/// interleaved runs, 1 thread), the loads and stores bound it, not the FMA latency.
template <class Arch>
inline xsimd::batch<float, Arch> depthwise_vector(const DepthwiseRowTaps& t, int64_t q0) {
  using B = xsimd::batch<float, Arch>;
  B acc(0.0f);
  for (int k = 0; k < t.count; ++k) acc = xsimd::fma(B(t.w[k]), B::load_unaligned(t.x[k] + q0), acc);
  return acc;
}

/// The steps of a row of two zipped stride-2 phases: step(q, dst) writes outputs 2q .. 2q + 2L - 1
/// to dst; the last step, past the row's end, writes to `lanes` and its valid part is kept.
template <int64_t L, class Step>
inline void depthwise_zip2_steps(int64_t y_w, float* yrow, float* lanes, const Step& step) {
  int64_t q = 0;
  for (; 2 * (q + L) <= y_w; q += L) step(q, yrow + 2 * q);
  if (2 * q < y_w) {
    step(q, lanes);
    for (int64_t k = 0; 2 * q + k < y_w; ++k) yrow[2 * q + k] = lanes[k];
  }
}

/// One output row of two stride-2 W phases (the common transposed case), zipped in registers:
/// outputs 2q .. 2q + 2L - 1 per step from K0 and K1 taps known at compile time (their input
/// addresses x_off floats on from the lists'), plus the bias. Weights are broadcast once per row and the input addresses held in
/// registers, so a step is the FMAs and their loads: with the tap lists read per vector
/// (depthwise_vector), dw_up_x2 took ~45 cycles per 32 outputs, on the loop over the list rather
/// than on memory; with the activation applied per vector (a call on the run-time kind, two per
/// step) and the tap lists built for every row it took 1.45-1.50 ms on one thread.
template <class Arch, int K0, int K1>
void depthwise_zip2_row(const DepthwiseRowTaps& t0, const DepthwiseRowTaps& t1, int64_t x_off, float* yrow,
                        const ConvJob& job, float* lanes, float bias) {
  using B = xsimd::batch<float, Arch>;
  constexpr int64_t L = B::size;
  B w0[K0], w1[K1];
  const float* x0[K0];
  const float* x1[K1];
  for (int k = 0; k < K0; ++k) w0[k] = B(t0.w[k]), x0[k] = t0.x[k] + x_off;
  for (int k = 0; k < K1; ++k) w1[k] = B(t1.w[k]), x1[k] = t1.x[k] + x_off;
  const B bias_v(bias);
  const int64_t y_w = job.y_w;
  // The same sums, in the same order, as depthwise_vector.
  depthwise_zip2_steps<L>(y_w, yrow, lanes, [&](int64_t q, float* dst) {
    B a(0.0f), b(0.0f);
    for (int k = 0; k < K0; ++k) a = xsimd::fma(w0[k], B::load_unaligned(x0[k] + q), a);
    for (int k = 0; k < K1; ++k) b = xsimd::fma(w1[k], B::load_unaligned(x1[k] + q), b);
    store_interleaved2<Arch>(a + bias_v, b + bias_v, dst);
  });
}

/// depthwise_zip2_row for run-time tap counts (more than 4 per phase): the lists read per vector.
template <class Arch>
void depthwise_zip2_row_any(const DepthwiseRowTaps& t0, const DepthwiseRowTaps& t1, int64_t x_off, float* yrow,
                            const ConvJob& job, float* lanes, float bias) {
  using B = xsimd::batch<float, Arch>;
  constexpr int64_t L = B::size;
  const B bias_v(bias);
  depthwise_zip2_steps<L>(job.y_w, yrow, lanes, [&](int64_t q, float* dst) {
    store_interleaved2<Arch>(depthwise_vector<Arch>(t0, x_off + q) + bias_v,
                             depthwise_vector<Arch>(t1, x_off + q) + bias_v, dst);
  });
}

template <class Arch, int K0>
bool depthwise_zip2_row_k1(const DepthwiseRowTaps& t0, const DepthwiseRowTaps& t1, int64_t x_off, float* yrow,
                           const ConvJob& job, float* lanes, float bias) {
  switch (t1.count) {
    case 1: depthwise_zip2_row<Arch, K0, 1>(t0, t1, x_off, yrow, job, lanes, bias); return true;
    case 2: depthwise_zip2_row<Arch, K0, 2>(t0, t1, x_off, yrow, job, lanes, bias); return true;
    case 3: depthwise_zip2_row<Arch, K0, 3>(t0, t1, x_off, yrow, job, lanes, bias); return true;
    case 4: depthwise_zip2_row<Arch, K0, 4>(t0, t1, x_off, yrow, job, lanes, bias); return true;
    default: return false;
  }
}

/// The sliding-window shape of a stride-2 row (depthwise_zip2_slide_shape): R valid kernel rows,
/// N taps per W phase per row at consecutive input columns (descending, as the taps' kernel
/// indices ascend), phase 1's first tap D (0 or 1: the padding's parity) columns after phase 0's;
/// 0 where the taps are otherwise.
inline int depthwise_slide_code(int rows, int taps, int d) { return rows * 100 + taps * 10 + (d + 1); }

/// depthwise_slide_code of a row's tap lists (with n taps per W phase per kernel row), or 0.
inline int depthwise_zip2_slide_shape(const DepthwiseRowTaps& t0, const DepthwiseRowTaps& t1, int n) {
  if (n < 1 || n > 2 || t0.count != t1.count || t0.count % n != 0) return 0;
  const int rows = t0.count / n;
  if (rows < 1 || rows > 2) return 0;
  const int64_t d = t1.x[0] - t0.x[0];
  if (d < 0 || d > 1) return 0;
  for (int r = 0; r < rows; ++r)
    for (int j = 0; j < n; ++j)
      if (t0.x[r * n + j] != t0.x[r * n] - j || t1.x[r * n + j] != t0.x[r * n] + d - j) return 0;
  return depthwise_slide_code(rows, n, static_cast<int>(d));
}

#ifdef __AVX512F__  // only the AVX-512 translation unit has the 512-bit types (slide_in: conv_kernels.ipp)
/// One kernel row's taps of a sliding-window step: phase 0's tap j reads column N - 1 - j of the
/// window that starts at cur and runs on into next, phase 1's D columns further.
template <int N, int D>
[[gnu::always_inline]] inline void slide_row_taps(__m512& a, __m512& b, __m512 w00, __m512 w01, __m512 w10,
                                                  __m512 w11, __m512 cur, __m512 next) {
  a = _mm512_fmadd_ps(w00, slide_in<N - 1>(cur, next), a);
  if constexpr (N == 2) a = _mm512_fmadd_ps(w01, slide_in<N - 2>(cur, next), a);
  b = _mm512_fmadd_ps(w10, slide_in<D + N - 1>(cur, next), b);
  if constexpr (N == 2) b = _mm512_fmadd_ps(w11, slide_in<D + N - 2>(cur, next), b);
}

/// depthwise_zip2_row for rows of depthwise_slide_code(R, N, D) on AVX-512: per kernel row one
/// 64-byte load per step, the taps' column offsets (0-2 floats on) built from it and the previous
/// load with valignd. The unaligned loads at offsets -1 / 0 / +1 of the generic row mostly
/// straddle two cache lines: a stand-alone dw_up_x2 loop took 0.63 ms that way, 0.50 with this.
/// The same sums in the same order as depthwise_vector. Not inlined: inlined into the kernel, its
/// windows and weights went through the stack (each input vector loaded three times; dw_up_x2
/// 1.33-1.46 ms, or level with the generic row, depending on the code around it) where on its
/// own it stays in registers (0.88-0.92).
template <int R, int N, int D>
[[gnu::noinline]] void depthwise_zip2_row_slide(const DepthwiseRowTaps& t0, const DepthwiseRowTaps& t1, int64_t x_off,
                                                float* yrow, const ConvJob& job, float* lanes, float bias) {
  static_assert(R >= 1 && R <= 2 && N >= 1 && N <= 2);
  // Per kernel row, the window starts at the column of phase 0's last tap.
  const float* base0 = t0.x[0] - (N - 1) + x_off;
  const float* base1 = t0.x[(R - 1) * N] - (N - 1) + x_off;
  const __m512 a00 = _mm512_set1_ps(t0.w[0]), a01 = _mm512_set1_ps(t0.w[N - 1]);
  const __m512 b00 = _mm512_set1_ps(t1.w[0]), b01 = _mm512_set1_ps(t1.w[N - 1]);
  const __m512 a10 = _mm512_set1_ps(t0.w[(R - 1) * N]), a11 = _mm512_set1_ps(t0.w[R * N - 1]);
  const __m512 b10 = _mm512_set1_ps(t1.w[(R - 1) * N]), b11 = _mm512_set1_ps(t1.w[R * N - 1]);
  const __m512 bias_v = _mm512_set1_ps(bias);
  const int64_t y_w = job.y_w;
  __m512 cur0 = _mm512_loadu_ps(base0), cur1 = _mm512_loadu_ps(base1);
  for (int64_t q = 0; 2 * q < y_w; q += 16) {
    __m512 a = _mm512_setzero_ps(), b = _mm512_setzero_ps();
    const __m512 next0 = _mm512_loadu_ps(base0 + q + 16);
    slide_row_taps<N, D>(a, b, a00, a01, b00, b01, cur0, next0);
    cur0 = next0;
    if constexpr (R == 2) {
      const __m512 next1 = _mm512_loadu_ps(base1 + q + 16);
      slide_row_taps<N, D>(a, b, a10, a11, b10, b11, cur1, next1);
      cur1 = next1;
    }
    const bool whole = 2 * (q + 16) <= y_w;
    float* dst = whole ? yrow + 2 * q : lanes;  // the last outputs: full vectors computed, the valid part kept
    store_interleaved2<xsimd::avx512f>(xsimd::batch<float, xsimd::avx512f>(_mm512_add_ps(a, bias_v)),
                                       xsimd::batch<float, xsimd::avx512f>(_mm512_add_ps(b, bias_v)), dst);
    if (!whole)
      for (int64_t k = 0; 2 * q + k < y_w; ++k) yrow[2 * q + k] = lanes[k];
  }
}

template <int R, int N>
bool depthwise_zip2_slide_d(int d, const DepthwiseRowTaps& t0, const DepthwiseRowTaps& t1, int64_t x_off, float* yrow,
                            const ConvJob& job, float* lanes, float bias) {
  switch (d) {
    case 0: depthwise_zip2_row_slide<R, N, 0>(t0, t1, x_off, yrow, job, lanes, bias); return true;
    case 1: depthwise_zip2_row_slide<R, N, 1>(t0, t1, x_off, yrow, job, lanes, bias); return true;
    default: return false;
  }
}

/// depthwise_zip2_row_slide for a row of shape `code`; false for shapes it was not built for.
inline bool depthwise_zip2_slide(int code, const DepthwiseRowTaps& t0, const DepthwiseRowTaps& t1, int64_t x_off,
                                 float* yrow, const ConvJob& job, float* lanes, float bias) {
  const int d = code % 10 - 1;
  switch (code / 10) {
    case 11: return depthwise_zip2_slide_d<1, 1>(d, t0, t1, x_off, yrow, job, lanes, bias);
    case 12: return depthwise_zip2_slide_d<1, 2>(d, t0, t1, x_off, yrow, job, lanes, bias);
    case 21: return depthwise_zip2_slide_d<2, 1>(d, t0, t1, x_off, yrow, job, lanes, bias);
    case 22: return depthwise_zip2_slide_d<2, 2>(d, t0, t1, x_off, yrow, job, lanes, bias);
    default: return false;
  }
}
#endif

/// One output row of two stride-2 W phases, plus the bias: depthwise_zip2_row_slide where the
/// taps allow (AVX-512), depthwise_zip2_row for 1 to 4 taps per phase (kernels up to 4 x 4 at
/// stride 2), else depthwise_zip2_row_any.
template <class Arch>
void depthwise_zip2(const DepthwiseRowTaps& t0, const DepthwiseRowTaps& t1, int slide_code, int64_t x_off,
                    float* yrow, const ConvJob& job, float* lanes, float bias) {
#ifdef __AVX512F__
  if constexpr (std::is_base_of_v<xsimd::avx512f, Arch>)
    if (slide_code != 0 && depthwise_zip2_slide(slide_code, t0, t1, x_off, yrow, job, lanes, bias)) return;
#else
  (void)slide_code;
#endif
  bool done = false;
  switch (t0.count) {
    case 1: done = depthwise_zip2_row_k1<Arch, 1>(t0, t1, x_off, yrow, job, lanes, bias); break;
    case 2: done = depthwise_zip2_row_k1<Arch, 2>(t0, t1, x_off, yrow, job, lanes, bias); break;
    case 3: done = depthwise_zip2_row_k1<Arch, 3>(t0, t1, x_off, yrow, job, lanes, bias); break;
    case 4: done = depthwise_zip2_row_k1<Arch, 4>(t0, t1, x_off, yrow, job, lanes, bias); break;
    default: break;
  }
  if (!done) depthwise_zip2_row_any<Arch>(t0, t1, x_off, yrow, job, lanes, bias);
}

/// The tap lists of the two W phases for the rows of one H phase that share the valid taps of
/// row q_base (rows q_base .. q_end - 1, one segment): row q reads (q - q_base) * in_step input
/// rows further on.
struct DepthwiseZip2Taps {
  int64_t q_base = 0, q_end = 0;  // empty until built
  const float* plane = nullptr;
  DepthwiseRowTaps t[2];
  int slide_code = 0;  // depthwise_zip2_slide_shape of the lists
};

/// End of the run of phase rows from q that share q's valid taps (its segment), at most q_hi.
inline int64_t same_taps_end(const AxisView& a, const AxisPhase& p, int64_t q, int64_t q_hi) {
  int64_t end = q_hi;
  for (int32_t s = p.seg_begin; s < p.seg_end; ++s) {
    const AxisSeg& seg = a.segs[s];
    if (q >= seg.q_begin && q < seg.q_end) return min_i64(seg.q_end, q_hi);
    if (seg.q_begin > q) end = min_i64(end, seg.q_begin);
  }
  return end;
}

}  // namespace

template <class Arch>
void ConvDepthwiseKernel::operator()(Arch, const ConvJob& job, int64_t begin, int64_t end, float* scratch) const {
  using B = xsimd::batch<float, Arch>;
  constexpr int64_t L = B::size;
  const int64_t xp_plane = job.xp_h * job.xp_w;
  const int64_t rows_per_item = job.row_chunk;
  const int64_t row_items = (job.y_h + rows_per_item - 1) / rows_per_item;
  const int32_t phases = job.w.num_phases;
  // Two stride-2 phases with outputs 0, 2, 4... and 1, 3, 5...: interleaved in registers.
  const bool zip2 = phases == 2 && job.w.out_step == 2 && job.w.phases[0].out_start == 0 &&
                    job.w.phases[1].out_start == 1;
  DepthwiseRowTaps taps[2];
  // Tap lists of up to kZip2Cached H phases (stride_h), the last entry for any further phase.
  constexpr int32_t kZip2Cached = 4;
  DepthwiseZip2Taps zip_taps[kZip2Cached + 1];
  alignas(64) float lanes[2 * L];
  for (int64_t item = begin; item < end; ++item) {
    const int64_t plane = item / row_items;  // n * c_out + channel (= group)
    const int64_t oh_begin = item % row_items * rows_per_item;
    const int64_t oh_end = min_i64(job.y_h, oh_begin + rows_per_item);
    const int64_t g = plane % job.groups;
    const float* xplane = job.xp + plane * xp_plane;
    const float* wplane = job.wpack + g * job.blocks * job.kh * job.kw * job.block_width;
    const float bias = job.bpack[g * job.blocks * job.block_width];
    const B bias_v(bias);
    // Rows in order (the output is written front to back); with two stride-2 phases each H
    // phase's tap lists are kept while its rows share their valid taps: building them for every
    // row cost dw_up_x2 ~10%.
    for (int64_t oh = oh_begin; oh < oh_end; ++oh) {
      const int32_t hp = job.row_phase[oh];
      const AxisPhase& ph = job.h.phases[hp];
      const int64_t qh = job.row_q[oh];
      float* yrow = job.y + (plane * job.y_h + oh) * job.y_w;
      if (zip2) {
        DepthwiseZip2Taps& c = zip_taps[hp < kZip2Cached ? hp : kZip2Cached];
        if (hp >= kZip2Cached || c.plane != xplane || qh < c.q_base || qh >= c.q_end) {
          const uint64_t hmask = seg_mask(job.h, ph, qh);
          depthwise_row_taps(job, xplane, wplane, ph, qh, hmask, job.w.phases[0], c.t[0]);
          depthwise_row_taps(job, xplane, wplane, ph, qh, hmask, job.w.phases[1], c.t[1]);
          c.q_base = qh;
          c.q_end = same_taps_end(job.h, ph, qh, ph.count);
          c.plane = xplane;
          const int32_t w_taps = job.w.phases[0].tap_end - job.w.phases[0].tap_begin;
          c.slide_code = depthwise_zip2_slide_shape(c.t[0], c.t[1], w_taps);
        }
        depthwise_zip2<Arch>(c.t[0], c.t[1], c.slide_code, (qh - c.q_base) * job.h.in_step * job.xp_w, yrow, job,
                             lanes, bias);
      } else {
        const uint64_t hmask = seg_mask(job.h, ph, qh);
        for (int32_t p = 0; p < phases; ++p) {
          const AxisPhase& pw = job.w.phases[p];
          if (pw.count == 0) continue;
          depthwise_row_taps(job, xplane, wplane, ph, qh, hmask, pw, taps[0]);
          // One phase with unit output step (conv): straight into the row; else a phase row in
          // scratch, then a strided copy.
          float* dst = job.w.out_step == 1 ? yrow + pw.out_start : scratch;
          int64_t q = 0;
          for (; q + L <= pw.count; q += L) (depthwise_vector<Arch>(taps[0], q) + bias_v).store_unaligned(dst + q);
          if (q < pw.count) {
            (depthwise_vector<Arch>(taps[0], q) + bias_v).store_unaligned(lanes);
            for (int64_t k = 0; q + k < pw.count; ++k) dst[q + k] = lanes[k];
          }
          if (job.w.out_step != 1)
            for (int64_t k = 0; k < pw.count; ++k) yrow[pw.out_start + k * job.w.out_step] = scratch[k];
        }
      }
      // The row is complete (every output column belongs to one W phase); the bias is in.
      if (job.activation != act_none) bias_activate_row<Arch>(yrow, yrow, job.y_w, 0.0f, job.activation, job.alpha);
    }
  }
}

}  // namespace upconv::detail::cpu

// Internal, included by conv_kernels.ipp only: the depthwise kernel (one input and one output
// channel per group: dw_up_x2, MobileNet-style decoders). Each output is a handful of taps, so
// the layer is bound by moving data, not by FMAs; what matters is touching each output once.
//
// An item is a block of output rows of one (n, channel) plane. For each row, the valid kernel
// rows (the H phase's taps that read inside the input) and the W phase's taps give at most
// kh x ceil(kw / stride) weights, broadcast once per row; each vector of outputs of a W phase is
// the sum over those taps of weight x input vector read straight from the zero-padded input row.
// Bias and activation are applied in registers and the result is stored straight into the
// output row: for one phase (conv) as is, for two stride-2 phases (the common transposed
// case) interleaved in registers; other strides go through a phase row and a strided copy.
// Two stride-2 phases keep their tap lists while an H phase's rows share their valid taps (the
// rows inside the padding's reach) and apply a non-trivial activation in a pass over the row.
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

/// One output row of two stride-2 W phases (the common transposed case), zipped in registers:
/// outputs 2q .. 2q + 2L - 1 per step from K0 and K1 taps known at compile time (their input
/// addresses x_off floats on from the lists'), plus the bias, then the activation over the row
/// while it is in L1. Weights are broadcast once per row and the input addresses held in
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
  auto interleaved = [&](int64_t q, float* dst) {
    B a(0.0f), b(0.0f);
    for (int k = 0; k < K0; ++k) a = xsimd::fma(w0[k], B::load_unaligned(x0[k] + q), a);
    for (int k = 0; k < K1; ++k) b = xsimd::fma(w1[k], B::load_unaligned(x1[k] + q), b);
    store_interleaved2<Arch>(a + bias_v, b + bias_v, dst);
  };
  int64_t q = 0;
  for (; 2 * (q + L) <= y_w; q += L) interleaved(q, yrow + 2 * q);
  if (2 * q < y_w) {  // the last outputs: full vectors computed, the valid part kept
    interleaved(q, lanes);
    for (int64_t k = 0; 2 * q + k < y_w; ++k) yrow[2 * q + k] = lanes[k];
  }
  // The bias is already in.
  if (job.activation != act_none) bias_activate_row<Arch>(yrow, yrow, y_w, 0.0f, job.activation, job.alpha);
}

/// The same for run-time tap counts (more than 4 per phase): the tap lists read per vector.
template <class Arch>
void depthwise_zip2_row_any(const DepthwiseRowTaps& t0, const DepthwiseRowTaps& t1, int64_t x_off, float* yrow,
                            const ConvJob& job, float* lanes, float bias) {
  using B = xsimd::batch<float, Arch>;
  constexpr int64_t L = B::size;
  auto finish = [&](B v) { return activate<Arch>(job.activation, job.alpha, v + B(bias)); };
  auto interleaved = [&](int64_t q, float* dst) {
    store_interleaved2<Arch>(finish(depthwise_vector<Arch>(t0, x_off + q)), finish(depthwise_vector<Arch>(t1, x_off + q)),
                             dst);
  };
  int64_t q = 0;
  for (; 2 * (q + L) <= job.y_w; q += L) interleaved(q, yrow + 2 * q);
  if (2 * q < job.y_w) {
    interleaved(q, lanes);
    for (int64_t k = 0; 2 * q + k < job.y_w; ++k) yrow[2 * q + k] = lanes[k];
  }
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

/// depthwise_zip2_row for 1 to 4 taps per phase (kernels up to 4 x 4 at stride 2), else
/// depthwise_zip2_row_any.
template <class Arch>
void depthwise_zip2(const DepthwiseRowTaps& t0, const DepthwiseRowTaps& t1, int64_t x_off, float* yrow,
                    const ConvJob& job, float* lanes, float bias) {
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
    if (zip2) {
      // Rows in order (the output is written front to back), each H phase's tap lists kept
      // while its rows share their valid taps: building them for every row cost dw_up_x2 ~10%.
      for (int64_t oh = oh_begin; oh < oh_end; ++oh) {
        const int32_t hp = job.row_phase[oh];
        const AxisPhase& ph = job.h.phases[hp];
        const int64_t q = job.row_q[oh];
        DepthwiseZip2Taps& c = zip_taps[hp < kZip2Cached ? hp : kZip2Cached];
        if (hp >= kZip2Cached || c.plane != xplane || q < c.q_base || q >= c.q_end) {
          const uint64_t hmask = seg_mask(job.h, ph, q);
          depthwise_row_taps(job, xplane, wplane, ph, q, hmask, job.w.phases[0], c.t[0]);
          depthwise_row_taps(job, xplane, wplane, ph, q, hmask, job.w.phases[1], c.t[1]);
          c.q_base = q;
          c.q_end = same_taps_end(job.h, ph, q, ph.count);
          c.plane = xplane;
        }
        depthwise_zip2<Arch>(c.t[0], c.t[1], (q - c.q_base) * job.h.in_step * job.xp_w,
                             job.y + (plane * job.y_h + oh) * job.y_w, job, lanes, bias);
      }
      continue;
    }
    for (int64_t oh = oh_begin; oh < oh_end; ++oh) {
      const AxisPhase& ph = job.h.phases[job.row_phase[oh]];
      const int64_t qh = job.row_q[oh];
      const uint64_t hmask = seg_mask(job.h, ph, qh);
      float* yrow = job.y + (plane * job.y_h + oh) * job.y_w;
      auto finish = [&](B v) { return activate<Arch>(job.activation, job.alpha, v + B(bias)); };
      for (int32_t p = 0; p < phases; ++p) {
        const AxisPhase& pw = job.w.phases[p];
        if (pw.count == 0) continue;
        depthwise_row_taps(job, xplane, wplane, ph, qh, hmask, pw, taps[0]);
        // One phase with unit output step (conv): straight into the row; else a phase row in
        // scratch, then a strided copy.
        float* dst = job.w.out_step == 1 ? yrow + pw.out_start : scratch;
        int64_t q = 0;
        for (; q + L <= pw.count; q += L) finish(depthwise_vector<Arch>(taps[0], q)).store_unaligned(dst + q);
        if (q < pw.count) {
          finish(depthwise_vector<Arch>(taps[0], q)).store_unaligned(lanes);
          for (int64_t k = 0; q + k < pw.count; ++k) dst[q + k] = lanes[k];
        }
        if (job.w.out_step != 1)
          for (int64_t k = 0; k < pw.count; ++k) yrow[pw.out_start + k * job.w.out_step] = scratch[k];
      }
    }
  }
}

}  // namespace upconv::detail::cpu

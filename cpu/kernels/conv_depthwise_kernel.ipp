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
  alignas(64) float lanes[2 * L];
  for (int64_t item = begin; item < end; ++item) {
    const int64_t plane = item / row_items;  // n * c_out + channel (= group)
    const int64_t oh_begin = item % row_items * rows_per_item;
    const int64_t oh_end = min_i64(job.y_h, oh_begin + rows_per_item);
    const int64_t g = plane % job.groups;
    const float* xplane = job.xp + plane * xp_plane;
    const float* wplane = job.wpack + g * job.blocks * job.kh * job.kw * job.block_width;
    const float bias = job.bpack[g * job.blocks * job.block_width];
    for (int64_t oh = oh_begin; oh < oh_end; ++oh) {
      const AxisPhase& ph = job.h.phases[job.row_phase[oh]];
      const int64_t qh = job.row_q[oh];
      const uint64_t hmask = seg_mask(job.h, ph, qh);
      float* yrow = job.y + (plane * job.y_h + oh) * job.y_w;
      auto finish = [&](B v) { return activate<Arch>(job.activation, job.alpha, v + B(bias)); };
      if (zip2) {
        depthwise_row_taps(job, xplane, wplane, ph, qh, hmask, job.w.phases[0], taps[0]);
        depthwise_row_taps(job, xplane, wplane, ph, qh, hmask, job.w.phases[1], taps[1]);
        // Outputs 2q .. 2q + 2L - 1 to dst.
        auto interleaved = [&](int64_t q, float* dst) {
          const B a = zip_prepare<Arch>(finish(depthwise_vector<Arch>(taps[0], q)));
          const B b = zip_prepare<Arch>(finish(depthwise_vector<Arch>(taps[1], q)));
          xsimd::zip_lo(a, b).store_unaligned(dst);
          xsimd::zip_hi(a, b).store_unaligned(dst + L);
        };
        int64_t q = 0;
        for (; 2 * (q + L) <= job.y_w; q += L) interleaved(q, yrow + 2 * q);
        if (2 * q < job.y_w) {  // the last outputs: full vectors computed, the valid part kept
          interleaved(q, lanes);
          for (int64_t k = 0; 2 * q + k < job.y_w; ++k) yrow[2 * q + k] = lanes[k];
        }
        continue;
      }
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

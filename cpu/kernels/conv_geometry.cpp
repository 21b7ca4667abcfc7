#include "cpu/kernels/conv_geometry.hpp"

#include <algorithm>
#include <limits>

namespace upconv::detail::cpu {
namespace {

int64_t floor_mod(int64_t a, int64_t m) { return ((a % m) + m) % m; }

// Splits each phase's outputs into runs with the same set of in-range taps.
void add_segments(AxisPlan& p, AxisPhase& phase, const std::vector<int64_t>& raw_off, int64_t in_len) {
  phase.seg_begin = static_cast<int32_t>(p.segs.size());
  for (int64_t q = 0; q < phase.count; ++q) {
    uint64_t mask = 0;
    for (int32_t j = phase.tap_begin; j < phase.tap_end && j - phase.tap_begin < 64; ++j) {
      const int64_t i = q * p.in_step + raw_off[static_cast<size_t>(j)];
      if (i >= 0 && i < in_len) mask |= uint64_t{1} << (j - phase.tap_begin);
    }
    if (static_cast<int32_t>(p.segs.size()) > phase.seg_begin && p.segs.back().mask == mask)
      p.segs.back().q_end = q + 1;
    else
      p.segs.push_back({q, q + 1, mask});
  }
  phase.seg_end = static_cast<int32_t>(p.segs.size());
}

}  // namespace

// (position, tap) pairs of all phases that read inside the input, and all of them.
static void count_taps(const AxisPlan& p, double& valid, double& total) {
  valid = total = 0;
  for (const AxisPhase& ph : p.phases)
    for (int32_t s = ph.seg_begin; s < ph.seg_end; ++s) {
      const int32_t n = ph.tap_end - ph.tap_begin;
      const double len = static_cast<double>(p.segs[s].q_end - p.segs[s].q_begin);
      total += len * n;
      valid += len * (n > 64 ? n : __builtin_popcountll(p.segs[s].mask));
    }
}

double AxisPlan::valid_tap_fraction() const {
  double valid = 0, total = 0;
  count_taps(*this, valid, total);
  return total > 0 ? valid / total : 1.0;
}

double AxisPlan::valid_taps() const {
  double valid = 0, total = 0;
  count_taps(*this, valid, total);
  return valid;
}

AxisPlan make_axis_plan(const AxisAttrs& a, int64_t in_len, int64_t out_len) {
  AxisPlan p;
  std::vector<int64_t> raw_off;  // input index at q = 0, before padding
  if (!a.transposed) {
    p.out_step = 1;
    p.in_step = a.stride;
    AxisPhase ph{0, out_len, 0, static_cast<int32_t>(a.kernel), 0, 0};
    for (int64_t t = 0; t < a.kernel; ++t) {
      p.taps.push_back({t, 0});
      raw_off.push_back(t * a.dilation - a.pad_begin);
    }
    p.phases.push_back(ph);
  } else {
    p.out_step = a.stride;
    p.in_step = 1;
    for (int64_t phi = 0; phi < a.stride; ++phi) {
      AxisPhase ph;
      ph.out_start = phi;
      ph.count = out_len > phi ? (out_len - 1 - phi) / a.stride + 1 : 0;
      ph.tap_begin = static_cast<int32_t>(p.taps.size());
      for (int64_t t = 0; t < a.kernel; ++t) {
        const int64_t num = phi + a.pad_begin - t * a.dilation;
        if (floor_mod(num, a.stride) != 0) continue;
        p.taps.push_back({t, 0});
        raw_off.push_back(num / a.stride);  // exact division
      }
      ph.tap_end = static_cast<int32_t>(p.taps.size());
      p.phases.push_back(ph);
    }
  }
  // Padding so that every tap of every computed output reads inside the buffer.
  int64_t lo = 0, hi = in_len - 1;
  for (const AxisPhase& ph : p.phases) {
    if (ph.count == 0) continue;
    for (int32_t j = ph.tap_begin; j < ph.tap_end; ++j) {
      lo = std::min(lo, raw_off[static_cast<size_t>(j)]);
      hi = std::max(hi, (ph.count - 1) * p.in_step + raw_off[static_cast<size_t>(j)]);
    }
  }
  p.pad_before = -lo;
  p.padded_len = hi - lo + 1;
  for (size_t j = 0; j < p.taps.size(); ++j) p.taps[j].off = raw_off[j] + p.pad_before;
  for (AxisPhase& ph : p.phases) add_segments(p, ph, raw_off, in_len);
  return p;
}

}  // namespace upconv::detail::cpu

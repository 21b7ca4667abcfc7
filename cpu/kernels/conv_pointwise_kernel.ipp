// Internal, included by conv_kernels.ipp only: the pointwise kernel, for layers whose every
// stride phase has one tap on each axis that reads input position q at phase position q (a
// conv_transpose whose kernel equals its stride, as U-Net decoders' 2x2 stride-2 up-convs; a 1x1
// conv). Each phase pair is then one channel GEMM over the whole input plane: the row kernel's
// tiles stop at each input row (unet_up's 64-wide rows: tiles of 2 vectors, where 3 fit the
// registers), these run on panels of consecutive positions across rows.
//
// An item is a panel of positions of one (image, group): the panel's inputs over the group's
// channels are copied next to each other first ([cig][panel], read by every tile of every phase
// and block from L1: the planes' own rows lie a plane apart, 16 KB for unet_up, all in one L1
// set), then per H phase and block of output channels the row tiles compute each W phase's sums,
// stored with bias and activation into the output rows the panel's input rows map to (two
// stride-2 W phases interleaved): by the tiles themselves where the rows are whole vectors
// long, else through scratch. Sums run over the input channels in a fixed order, whatever the
// thread count.
#pragma once

namespace upconv::detail::cpu {

template <class Arch>
void ConvPointwiseKernel::operator()(Arch, const ConvJob& job, int64_t begin, int64_t end, float* scratch) const {
  using B = xsimd::batch<float, Arch>;
  constexpr int64_t L = B::size;
  constexpr bool wide = L == 16;
  const int R = static_cast<int>(job.block_width);
  const int max_v = row_max_vectors(wide, R);
  const int64_t P = job.panel, plane = job.x_h * job.x_w, cig = job.cig;
  const int32_t phases_w = job.w.num_phases;  // 1, or 2 stored interleaved
  // Scratch (sized in FastConvKernel::run, conv_plan.cpp): the panel's inputs [cig][P], the sums
  // [R][W phase][P], the tap offset.
  float* panel = scratch;
  float* sums = panel + cig * P;
  const int64_t sums_row = phases_w * P;
  auto* w_off = reinterpret_cast<int64_t*>(sums + R * sums_row);
  const float* x_tap[1] = {panel};
  const int64_t tap_floats = cig * R, block_floats = job.kh * job.kw * tap_floats;

  for (int64_t item = begin; item < end; ++item) {
    const int64_t k = item % job.panels;
    const int64_t g = item / job.panels % job.groups, n = item / job.panels / job.groups;
    const int64_t p0 = k * P, count = min_i64(P, plane - p0);
    const int64_t vectors = (count + L - 1) / L;
    // The panel's inputs; lanes past `count` zero (their sums are computed, never stored).
    const float* src = job.x + (n * job.c_in + g * cig) * plane + p0;
    for (int64_t ci = 0; ci < cig; ++ci, src += plane) {
      float* dst = panel + ci * P;
      int64_t i = 0;
      for (; i + L <= count; i += L) B::load_unaligned(src + i).store_aligned(dst + i);
      for (; i < count; ++i) dst[i] = src[i];
      for (; i < vectors * L; ++i) dst[i] = 0.0f;
    }
    const float* wg = job.wpack + g * job.blocks * block_floats;
    const int64_t tiles = (vectors + max_v - 1) / max_v;
    // Rows a whole number of vectors long: every vector of the panel lies in one input row, so
    // the tiles store their sums with the epilogue straight into the output rows (the second of
    // two W phases reading the first one's back from scratch, see RowTileEpilogue), as the row
    // kernel's tiles do; otherwise the sums go through scratch, stored a row's stretch at a time.
    const bool direct = job.x_w % L == 0;
    for (int32_t phi = 0; phi < job.h.num_phases; ++phi) {
      const AxisPhase& ph = job.h.phases[phi];
      const int64_t th = job.h.taps[ph.tap_begin].t;
      // Output address of position p (channel g * cog + blk * R + r at + r * plane).
      const int64_t out_plane = job.y_h * job.y_w;
      auto output_at = [&](int64_t blk, int64_t p) {
        const int64_t i = p / job.x_w, j = p % job.x_w;
        return job.y + (n * job.c_out + g * job.cog + blk * R) * out_plane + (ph.out_start + i * job.h.out_step) * job.y_w +
               j * phases_w;
      };
      for (int64_t blk = 0; blk < job.blocks; ++blk) {
        const float* wb = wg + blk * block_floats;
        const int rows = static_cast<int>(min_i64(R, job.cog - blk * R));
        for (int64_t t = 0, q0 = 0; t < tiles; ++t) {
          const int v = near_equal_part(vectors, tiles, t);
          const RowTileFn tile = row_tile_for<Arch>(R, v);
          for (int32_t pwi = 0; pwi < phases_w; ++pwi) {
            w_off[0] = (th * job.kw + job.w.taps[job.w.phases[pwi].tap_begin].t) * tap_floats;
            float* tile_sums = sums + pwi * P + q0;
            if (!direct || pwi + 1 < phases_w) {
              tile(x_tap, q0, wb, w_off, 1, cig, P, tile_sums, sums_row, nullptr);
              continue;
            }
            float* dst[kMaxRowVectors];
            for (int k = 0; k < v; ++k) dst[k] = output_at(blk, p0 + q0 + k * L);
            const RowTileEpilogue epi{job.bpack + (g * job.blocks + blk) * R, rows, job.activation, job.alpha,
                                      phases_w == 2 ? sums + q0 : nullptr, sums_row, dst};
            tile(x_tap, q0, wb, w_off, 1, cig, P, dst[0], out_plane, &epi);
          }
          q0 += int64_t{v} * L;
        }
        if (direct) continue;
        // Bias, activation and the store, one input row's stretch of the panel at a time.
        for (int64_t r = 0; r < rows; ++r) {
          const float bias = job.bpack[(g * job.blocks + blk) * R + r];
          const float* s0 = sums + r * sums_row;
          for (int64_t p = p0; p < p0 + count;) {
            const int64_t len = min_i64(job.x_w - p % job.x_w, p0 + count - p);
            float* out = output_at(blk, p) + r * out_plane;
            if (phases_w == 1)
              bias_activate_row<Arch>(s0 + (p - p0), out, len, bias, job.activation, job.alpha);
            else
              bias_activate_interleave2<Arch>(s0 + (p - p0), s0 + P + (p - p0), out, 2 * len, bias, job.activation,
                                              job.alpha);
            p += len;
          }
        }
      }
    }
  }
}

}  // namespace upconv::detail::cpu

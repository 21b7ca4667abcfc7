// Reference pixel shuffle / unshuffle, max unpooling, nearest upsampling and bed of nails:
// each a literal transcription of its index map.
#include <algorithm>

#include "cpu/reference/reference.hpp"

namespace upconv::ref {

void pixel_shuffle(const detail::ShuffleDesc& d, const float* x, const Dims4& xd, float* y, const Dims4& yd) {
  const int64_t r = d.factor;
  // The small (space) side of the permutation: channels C*r*r at H x W.
  const Dims4& deep = d.inverse ? yd : xd;
  const Dims4& wide = d.inverse ? xd : yd;
  for (int64_t n = 0; n < wide.n; ++n)
    for (int64_t c = 0; c < wide.c; ++c)
      for (int64_t h = 0; h < deep.h; ++h)
        for (int64_t w = 0; w < deep.w; ++w)
          for (int64_t i = 0; i < r; ++i)
            for (int64_t j = 0; j < r; ++j) {
              const int64_t dc = d.mode == ShuffleMode::crd ? c * r * r + i * r + j : (i * r + j) * wide.c + c;
              const int64_t deep_at = ((n * deep.c + dc) * deep.h + h) * deep.w + w;
              const int64_t wide_at = ((n * wide.c + c) * wide.h + h * r + i) * wide.w + w * r + j;
              if (d.inverse)
                y[deep_at] = x[wide_at];
              else
                y[wide_at] = x[deep_at];
            }
}

void max_unpool2d(const float* x, const int64_t* indices, const Dims4& xd, float* y, const Dims4& yd) {
  std::fill(y, y + yd.count(), 0.0f);
  for (int64_t p = 0; p < xd.n * xd.c; ++p)
    for (int64_t i = 0; i < xd.plane(); ++i) y[p * yd.plane() + indices[p * xd.plane() + i]] = x[p * xd.plane() + i];
}

void resample(const detail::ResampleDesc& d, const float* x, const Dims4& xd, float* y, const Dims4& yd) {
  for (int64_t p = 0; p < yd.n * yd.c; ++p)
    for (int64_t oh = 0; oh < yd.h; ++oh)
      for (int64_t ow = 0; ow < yd.w; ++ow) {
        const int64_t ih = oh / d.factor_h, iw = ow / d.factor_w;
        const bool on_nail = oh % d.factor_h == 0 && ow % d.factor_w == 0;
        const float v = x[(p * xd.h + ih) * xd.w + iw];
        y[(p * yd.h + oh) * yd.w + ow] = (!d.zero_insert || on_nail) ? v : 0.0f;
      }
}

}  // namespace upconv::ref

// Reference conv and conv_transpose, straight from the index relations in ConvDesc.
#include <vector>

#include "cpu/reference/reference.hpp"

namespace upconv::ref {
namespace {

// Accumulates conv: y[o] = sum over taps t of x[o * s - p + t * d] * w[t].
void conv_forward(const ConvDesc& d, const float* x, const Dims4& xd, const float* w, std::vector<double>& acc,
                  const Dims4& yd) {
  const int64_t cig = d.c_in_per_group(), cog = d.c_out_per_group();
  for (int64_t n = 0; n < yd.n; ++n)
    for (int64_t co = 0; co < yd.c; ++co) {
      const int64_t g = co / cog;
      for (int64_t oh = 0; oh < yd.h; ++oh)
        for (int64_t ow = 0; ow < yd.w; ++ow) {
          double sum = 0.0;
          for (int64_t ci = 0; ci < cig; ++ci)
            for (int64_t th = 0; th < d.kh; ++th) {
              const int64_t ih = oh * d.stride_h - d.pad_top + th * d.dil_h;
              if (ih < 0 || ih >= xd.h) continue;
              for (int64_t tw = 0; tw < d.kw; ++tw) {
                const int64_t iw = ow * d.stride_w - d.pad_left + tw * d.dil_w;
                if (iw < 0 || iw >= xd.w) continue;
                const double xv = x[((n * xd.c + g * cig + ci) * xd.h + ih) * xd.w + iw];
                const double wv = w[((co * cig + ci) * d.kh + th) * d.kw + tw];
                sum += xv * wv;
              }
            }
          acc[((n * yd.c + co) * yd.h + oh) * yd.w + ow] = sum;
        }
    }
}

// Accumulates conv_transpose by scattering: each input element adds x * w[t] at
// o = i * s - p + t * d. Written as a scatter (not as the conv gather) so that it is an
// independent implementation of the adjoint.
void conv_transpose_scatter(const ConvDesc& d, const float* x, const Dims4& xd, const float* w,
                            std::vector<double>& acc, const Dims4& yd) {
  const int64_t cig = d.c_in_per_group(), cog = d.c_out_per_group();
  for (int64_t n = 0; n < xd.n; ++n)
    for (int64_t ci = 0; ci < xd.c; ++ci) {
      const int64_t g = ci / cig;
      for (int64_t ih = 0; ih < xd.h; ++ih)
        for (int64_t iw = 0; iw < xd.w; ++iw) {
          const double xv = x[((n * xd.c + ci) * xd.h + ih) * xd.w + iw];
          for (int64_t co = 0; co < cog; ++co)
            for (int64_t th = 0; th < d.kh; ++th) {
              const int64_t oh = ih * d.stride_h - d.pad_top + th * d.dil_h;
              if (oh < 0 || oh >= yd.h) continue;
              for (int64_t tw = 0; tw < d.kw; ++tw) {
                const int64_t ow = iw * d.stride_w - d.pad_left + tw * d.dil_w;
                if (ow < 0 || ow >= yd.w) continue;
                const double wv = w[((ci * cog + co) * d.kh + th) * d.kw + tw];
                acc[((n * yd.c + g * cog + co) * yd.h + oh) * yd.w + ow] += xv * wv;
              }
            }
        }
    }
}

}  // namespace

void conv(const ConvDesc& d, const float* x, const Dims4& xd, const float* weight, const float* bias, float* y,
          const Dims4& yd) {
  std::vector<double> acc(static_cast<size_t>(yd.count()), 0.0);
  if (d.transposed)
    conv_transpose_scatter(d, x, xd, weight, acc, yd);
  else
    conv_forward(d, x, xd, weight, acc, yd);
  for (int64_t n = 0; n < yd.n; ++n)
    for (int64_t c = 0; c < yd.c; ++c) {
      const double b = bias ? bias[c] : 0.0;
      for (int64_t i = 0; i < yd.plane(); ++i) {
        const size_t at = static_cast<size_t>((n * yd.c + c) * yd.plane() + i);
        y[at] = detail::apply_activation(d.activation, static_cast<float>(acc[at] + b));
      }
    }
}

}  // namespace upconv::ref

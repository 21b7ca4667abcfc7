// Sub-pixel weight conversion (seed 003): a stride-r transposed conv with a (k*r)-tap kernel is
// a k-tap stride-1 conv producing r*r phase channels, followed by pixel_shuffle(r).
//
// Per axis, with padding p = m*r, output o = q*r + phi gets taps t = j*r + phi from inputs
// i = q + m - j (j in [0, k)). Flipping j' = k-1-j turns this into a correlation over inputs
// q - (k-1-m) + j', i.e. a conv with padding k-1-m whose weight for phase phi and tap j' is
// w[(k-1-j')*r + phi]. When p is not a multiple of r the phases need different input offsets and
// one k-tap conv cannot express them all, hence the restriction.
#include <string>

#include "upconv/shapes.hpp"

namespace upconv {

Result<Tensor> subpixel_conv_weight(const Tensor& w, int64_t r, int64_t p, int64_t* conv_padding) {
  const auto s = [](int64_t v) { return std::to_string(v); };
  if (w.rank() != 4) return invalid_argument("deconv_weight must have rank 4, got shape " + shape_to_string(w.shape()));
  if (r < 1 || r > 4096) return invalid_argument("stride must be in [1, 4096], got " + s(r));
  const int64_t c_in = w.dim(0), c_out = w.dim(1), KH = w.dim(2), KW = w.dim(3);
  if (KH % r || KW % r)
    return invalid_argument("deconv_weight kernel " + s(KH) + "x" + s(KW) + " must be a multiple of stride " + s(r));
  if (KH != KW) return invalid_argument("deconv_weight kernel must be square, got " + s(KH) + "x" + s(KW));
  const int64_t kh = KH / r, kw = KW / r;
  if (p < 0 || p % r || p / r > std::min(kh, kw) - 1)
    return invalid_argument("deconv_padding must be m * stride with 0 <= m <= k - 1 (k = " + s(std::min(kh, kw)) +
                            ", stride = " + s(r) + "), got " + s(p));
  const int64_t m = p / r;
  auto out = Tensor::zeros({c_out * r * r, c_in, kh, kw});
  if (!out.ok()) return out.status();
  for (int64_t co = 0; co < c_out; ++co)
    for (int64_t ph = 0; ph < r; ++ph)
      for (int64_t pw = 0; pw < r; ++pw)
        for (int64_t ci = 0; ci < c_in; ++ci)
          for (int64_t jh = 0; jh < kh; ++jh)
            for (int64_t jw = 0; jw < kw; ++jw) {
              const int64_t oc = co * r * r + ph * r + pw;  // crd channel order of pixel_shuffle
              const int64_t th = (kh - 1 - jh) * r + ph, tw = (kw - 1 - jw) * r + pw;
              out->data()[((oc * c_in + ci) * kh + jh) * kw + jw] = w.data()[((ci * c_out + co) * KH + th) * KW + tw];
            }
  if (conv_padding) *conv_padding = kh - 1 - m;
  return std::move(out).value();
}

}  // namespace upconv

// OpCase::random_*: small random valid cases for sweeps. Every attribute is drawn from the seed,
// so a case is replayed by its seed alone; sizes stay small so hundreds run in a blink.
#include <algorithm>

#include "op_case.hpp"

namespace upconv::testing {
namespace {

int64_t multiplier(OpCase::Size size) { return size == OpCase::Size::large ? 4 : 1; }

// A distinct stream for attributes, so attribute draws do not shift the operand data.
SplitMix attribute_rng(uint64_t seed) { return SplitMix(seed * 0x2545F4914F6CDD1Dull + 0x51ED27ull); }

Activation random_activation(SplitMix& rng, float& alpha) {
  alpha = 0.01f + 0.3f * static_cast<float>(rng.uniform(0, 100)) / 100.0f;
  switch (rng.uniform(0, 5)) {
    case 0: return Activation::relu;
    case 1: return Activation::leaky_relu;
    case 2: return Activation::sigmoid;
    case 3: return Activation::tanh;
    default: return Activation::none;
  }
}

// Channels and groups: plain, grouped, or depthwise.
void random_channels(SplitMix& rng, int64_t m, int64_t& c_in, int64_t& c_out, int64_t& groups) {
  switch (rng.uniform(0, 3)) {
    case 0:  // depthwise (channel multiplier 1)
      groups = c_in = c_out = rng.uniform(1, 6 * m);
      break;
    case 1:  // grouped
      groups = rng.uniform(2, 3);
      c_in = groups * rng.uniform(1, 3 * m);
      c_out = groups * rng.uniform(1, 3 * m);
      break;
    default:
      groups = 1;
      c_in = rng.uniform(1, 5 * m);
      c_out = rng.uniform(1, 5 * m);
      break;
  }
}

struct AxisAttrs {
  int64_t in, k, s, d, pb, pe, op;
};

// One spatial axis of a conv (transposed = false) or conv_transpose whose output is >= 1.
AxisAttrs random_axis(SplitMix& rng, bool transposed, int rank, int64_t m) {
  const int64_t max_in = (rank == 1 ? 16 : 7) * m;
  for (;;) {
    AxisAttrs a;
    a.in = rng.uniform(1, max_in);
    a.k = rng.uniform(1, rank == 1 ? 6 : 4);
    a.s = rng.uniform(1, transposed ? 4 : 3);
    a.d = rng.uniform(0, 3) == 0 ? rng.uniform(2, 3) : 1;
    const int64_t extent = a.d * (a.k - 1);
    // Pads up to the dilated kernel extent, occasionally beyond (legal, crops more / pads zeros).
    a.pb = rng.uniform(0, extent + 1);
    a.pe = rng.uniform(0, extent + 1);
    a.op = transposed ? rng.uniform(0, std::max(a.s, a.d) - 1) : 0;
    const int64_t out = transposed ? (a.in - 1) * a.s - a.pb - a.pe + extent + a.op + 1
                                   : a.in + a.pb + a.pe - extent - 1;  // conv: numerator, >= 0
    if (transposed ? out >= 1 : out >= 0) return a;
  }
}

// m: the size multiplier (1 for Size::small, 4 for Size::large).
OpCase random_conv_like(uint64_t seed, int rank, bool transposed, int64_t m) {
  SplitMix rng = attribute_rng(seed);
  if (rank == 0) rank = rng.coin() ? 1 : 2;
  OpCase c = transposed ? (rank == 1 ? OpCase::conv_transpose1d() : OpCase::conv_transpose2d())
                        : (rank == 1 ? OpCase::conv1d() : OpCase::conv2d());
  int64_t c_in, c_out, groups;
  random_channels(rng, m, c_in, c_out, groups);
  float alpha;
  const Activation act = random_activation(rng, alpha);
  c.batch(rng.uniform(1, 2)).channels(c_in, c_out).groups(groups).bias(rng.coin()).activation(act, alpha).seed(seed);
  if (rank == 1) {
    const AxisAttrs a = random_axis(rng, transposed, 1, m);
    c.input(a.in).kernel(a.k).stride(a.s).dilation(a.d).pad(a.pb, a.pe);
    if (transposed) c.output_padding(a.op);
  } else {
    const AxisAttrs h = random_axis(rng, transposed, 2, m), w = random_axis(rng, transposed, 2, m);
    c.input(h.in, w.in).kernel(h.k, w.k).stride(h.s, w.s).dilation(h.d, w.d).pad(h.pb, w.pb, h.pe, w.pe);
    if (transposed) c.output_padding(h.op, w.op);
  }
  return c;
}

}  // namespace

OpCase OpCase::random_conv(uint64_t seed, int rank, Size size) {
  return random_conv_like(seed, rank, false, multiplier(size));
}

OpCase OpCase::random_conv_transpose(uint64_t seed, int rank, Size size) {
  return random_conv_like(seed, rank, true, multiplier(size));
}

OpCase OpCase::random_pixel_shuffle(uint64_t seed, Size size) {
  SplitMix rng = attribute_rng(seed);
  const int64_t m = multiplier(size);
  const int64_t r = rng.uniform(1, 4);
  return pixel_shuffle()
      .factor(r)
      .mode(rng.coin() ? ShuffleMode::crd : ShuffleMode::dcr)
      .batch(rng.uniform(1, 2))
      .channels(rng.uniform(1, 4 * m) * r * r)
      .input(rng.uniform(1, 6 * m), rng.uniform(1, 6 * m))
      .seed(seed);
}

OpCase OpCase::random_pixel_unshuffle(uint64_t seed, Size size) {
  SplitMix rng = attribute_rng(seed);
  const int64_t m = multiplier(size);
  const int64_t r = rng.uniform(1, 4);
  return pixel_unshuffle()
      .factor(r)
      .mode(rng.coin() ? ShuffleMode::crd : ShuffleMode::dcr)
      .batch(rng.uniform(1, 2))
      .channels(rng.uniform(1, 4 * m))
      .input(rng.uniform(1, 5 * m) * r, rng.uniform(1, 5 * m) * r)
      .seed(seed);
}

OpCase OpCase::random_max_unpool2d(uint64_t seed, Size size) {
  SplitMix rng = attribute_rng(seed);
  const int64_t m = multiplier(size);
  OpCase c = max_unpool2d().batch(rng.uniform(1, 2)).channels(rng.uniform(1, 3 * m)).seed(seed);
  const int64_t kh = rng.uniform(1, 4), kw = rng.uniform(1, 4);
  const int64_t sh = rng.uniform(0, 3), sw = rng.uniform(0, 3);  // 0 = kernel
  int64_t ph = rng.uniform(0, kh / 2), pw = rng.uniform(0, kw / 2);
  const int64_t ih = rng.uniform(1, 6 * m), iw = rng.uniform(1, 6 * m);
  const int64_t esh = sh ? sh : kh, esw = sw ? sw : kw;
  if ((ih - 1) * esh - 2 * ph + kh < 1) ph = 0;  // keep the default output non-empty
  if ((iw - 1) * esw - 2 * pw + kw < 1) pw = 0;
  c.kernel(kh, kw).stride(sh, sw).padding(ph, pw).input(ih, iw);
  const int64_t dh = (ih - 1) * esh - 2 * ph + kh, dw = (iw - 1) * esw - 2 * pw + kw;
  if (rng.coin()) {  // explicit output_size strictly within stride of the default, and >= 1
    const int64_t oh = std::max<int64_t>(1, dh + rng.uniform(-(esh - 1), esh - 1));
    const int64_t ow = std::max<int64_t>(1, dw + rng.uniform(-(esw - 1), esw - 1));
    if (oh > dh - esh && ow > dw - esw) c.output_size(oh, ow);
  }
  return c;
}

OpCase OpCase::random_upsample_nearest2d(uint64_t seed, Size size) {
  SplitMix rng = attribute_rng(seed);
  const int64_t m = multiplier(size);
  return upsample_nearest2d()
      .factor(rng.uniform(1, 4), rng.uniform(1, 4))
      .batch(rng.uniform(1, 2))
      .channels(rng.uniform(1, 4 * m))
      .input(rng.uniform(1, 6 * m), rng.uniform(1, 6 * m))
      .seed(seed);
}

OpCase OpCase::random_bed_of_nails2d(uint64_t seed, Size size) {
  OpCase c = random_upsample_nearest2d(seed, size);
  c.kind_ = OpKind::bed_of_nails2d;
  return c;
}

OpCase OpCase::random(uint64_t seed, Size size) {
  switch (SplitMix(seed ^ 0xA5A5A5A5ull).uniform(0, 6)) {
    case 0: return random_conv(seed, 0, size);
    case 1: return random_conv_transpose(seed, 0, size);
    case 2: return random_pixel_shuffle(seed, size);
    case 3: return random_pixel_unshuffle(seed, size);
    case 4: return random_max_unpool2d(seed, size);
    case 5: return random_upsample_nearest2d(seed, size);
    default: return random_bed_of_nails2d(seed, size);
  }
}

}  // namespace upconv::testing

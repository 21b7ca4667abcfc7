// Sub-pixel equivalence (seed 003; Shi et al. 2016, "Is the deconvolution layer the same as a
// convolutional layer?"): a stride-r conv_transpose2d with a (k*r) x (k*r) kernel and padding m*r
// equals a k x k stride-1 conv producing C_out*r^2 channels (padding k-1-m) followed by
// pixel_shuffle(r, crd), with the weight converted by upconv::subpixel_conv_weight.
#include <gtest/gtest.h>

#include <string>

#include "op_case.hpp"
#include "upconv/upconv.hpp"

namespace {

using namespace upconv;
using upconv::testing::SplitMix;

struct SubpixelCase {
  int64_t n, c_in, c_out, k, r, m, h, w;
  uint64_t seed;
  std::string describe() const {
    return "N=" + std::to_string(n) + " C=" + std::to_string(c_in) + "->" + std::to_string(c_out) +
           " k=" + std::to_string(k) + " r=" + std::to_string(r) + " padding=" + std::to_string(m * r) +
           " in=" + std::to_string(h) + "x" + std::to_string(w) + " seed=" + std::to_string(seed);
  }
};

::testing::AssertionResult equivalent(Context& ctx, const SubpixelCase& c) {
  const std::string what = c.describe();
  SplitMix rng(c.seed);
  const Tensor wt = upconv::testing::random_tensor({c.c_in, c.c_out, c.k * c.r, c.k * c.r}, rng);
  const Tensor x = upconv::testing::random_tensor({c.n, c.c_in, c.h, c.w}, rng);
  const Tensor bias = upconv::testing::random_tensor({c.c_out}, rng);

  ConvTransposeParams tp;
  tp.stride = {c.r, c.r};
  tp.pad_begin = tp.pad_end = {c.m * c.r, c.m * c.r};
  auto deconv = make_conv_transpose(ctx, tp, wt);
  if (!deconv.ok()) return ::testing::AssertionFailure() << what << ": " << deconv.status().to_string();
  Tensor want;
  if (Status s = deconv->run(x, want); !s.ok()) return ::testing::AssertionFailure() << what << ": " << s.to_string();

  int64_t conv_pad = -1;
  auto wc = subpixel_conv_weight(wt, c.r, c.m * c.r, &conv_pad);
  if (!wc.ok()) return ::testing::AssertionFailure() << what << ": " << wc.status().to_string();
  if (wc->shape() != Shape{c.c_out * c.r * c.r, c.c_in, c.k, c.k})
    return ::testing::AssertionFailure() << what << ": converted weight shape " << shape_to_string(wc->shape());
  if (conv_pad != c.k - 1 - c.m) return ::testing::AssertionFailure() << what << ": conv padding " << conv_pad;
  ConvParams cp;
  cp.pad_begin = cp.pad_end = {conv_pad, conv_pad};
  auto conv = make_conv(ctx, cp, *wc);
  auto shuffle = make_pixel_shuffle(ctx, {c.r, ShuffleMode::crd});
  if (!conv.ok() || !shuffle.ok()) return ::testing::AssertionFailure() << what << ": plan creation failed";
  Tensor lr, got;
  if (Status s = conv->run(x, lr); !s.ok()) return ::testing::AssertionFailure() << what << ": " << s.to_string();
  if (Status s = shuffle->run(lr, got); !s.ok()) return ::testing::AssertionFailure() << what << ": " << s.to_string();
  return upconv::testing::compare_tensors(got, want, 1e-5, what);
}

TEST(Subpixel, ConvPlusShuffleEqualsStridedConvTranspose) {
  auto ctx = Context::create({.backend = BackendKind::cpu});
  ASSERT_TRUE(ctx.ok());
  int count = 0;
  uint64_t seed = 1;
  for (int64_t k : {1, 2, 3, 4})
    for (int64_t r : {1, 2, 3, 4})
      for (int64_t m = 0; m < k; ++m)
        for (int64_t ch : {1, 3}) {
          SplitMix pick(seed);
          const int64_t h = 2 * m + pick.uniform(1, 4), w = 2 * m + pick.uniform(1, 5);  // keeps outputs >= 1
          EXPECT_TRUE(equivalent(*ctx, {pick.uniform(1, 2), ch, 5 - ch, k, r, m, h, w, seed}));
          ++seed;
          ++count;
        }
  EXPECT_GE(count, 60);
}

// Seed 003, section 1: in the sub-pixel view the taps of each phase are applied in reverse
// order — phase (ph, pw), tap (jh, jw) of the k x k conv uses deconv tap ((k-1-jh)*r + ph,
// (k-1-jw)*r + pw).
TEST(Subpixel, WeightLayoutFlipsTheTapsOfEachPhase) {
  Tensor wt({1, 1, 4, 4});
  for (int th = 0; th < 4; ++th)
    for (int tw = 0; tw < 4; ++tw) wt.data()[th * 4 + tw] = static_cast<float>(10 * th + tw);
  auto wc = subpixel_conv_weight(wt, 2, 0);
  ASSERT_TRUE(wc.ok()) << wc.status().to_string();
  ASSERT_EQ(wc->shape(), (Shape{4, 1, 2, 2}));
  // Phase channel (ph, pw) = ph*2 + pw (crd), 2x2 taps each.
  EXPECT_EQ(wc->storage(), (std::vector<float>{22, 20, 2, 0,     // phase (0,0)
                                               23, 21, 3, 1,     // phase (0,1)
                                               32, 30, 12, 10,   // phase (1,0)
                                               33, 31, 13, 11})); // phase (1,1)
}

TEST(Subpixel, RejectsShapesWhereTheIdentityDoesNotHold) {
  SplitMix rng(3);
  const Tensor w6 = upconv::testing::random_tensor({2, 3, 6, 6}, rng);  // k = 3 at r = 2
  auto expect_error = [](const Result<Tensor>& r, const std::string& needle) {
    ASSERT_FALSE(r.ok()) << needle;
    EXPECT_EQ(r.status().code(), StatusCode::invalid_argument);
    EXPECT_NE(r.status().message().find(needle), std::string::npos) << r.status().message();
  };
  expect_error(subpixel_conv_weight(w6, 0), "stride");
  expect_error(subpixel_conv_weight(w6, -2), "stride");
  expect_error(subpixel_conv_weight(w6, 4), "multiple of stride");       // 6 % 4
  expect_error(subpixel_conv_weight(w6, 2, 1), "deconv_padding");        // not m * r
  expect_error(subpixel_conv_weight(w6, 2, 3), "deconv_padding");
  expect_error(subpixel_conv_weight(w6, 2, 6), "deconv_padding");        // m = 3 > k - 1
  expect_error(subpixel_conv_weight(w6, 2, -2), "deconv_padding");
  expect_error(subpixel_conv_weight(upconv::testing::random_tensor({2, 3, 4, 6}, rng), 2), "square");
  expect_error(subpixel_conv_weight(upconv::testing::random_tensor({2, 3, 6}, rng), 2), "rank 4");
  expect_error(subpixel_conv_weight(Tensor(), 2), "rank 4");
  // The largest valid padding works: m = k - 1 gives conv padding 0.
  int64_t pad = -1;
  ASSERT_TRUE(subpixel_conv_weight(w6, 2, 4, &pad).ok());
  EXPECT_EQ(pad, 0);
}

}  // namespace

// pixel_shuffle / pixel_unshuffle: exact permutations. Checked against hand-written index maps
// (written as "where does each input element go", the opposite direction of the reference's
// loops), the ONNX DepthToSpace examples, and shuffle∘unshuffle = identity bit-exactly.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "op_case.hpp"
#include "upconv/upconv.hpp"

namespace {

using namespace upconv;
using upconv::testing::OpCase;
using upconv::testing::SplitMix;

Context cpu() {
  auto ctx = Context::create({.backend = BackendKind::cpu});
  EXPECT_TRUE(ctx.ok());
  return std::move(ctx).value();
}

Tensor run(Result<Plan> plan, const Tensor& x) {
  EXPECT_TRUE(plan.ok()) << plan.status().to_string();
  Tensor y;
  if (plan.ok()) {
    Status s = plan->run(x, y);
    EXPECT_TRUE(s.ok()) << s.to_string();
  }
  return y;
}

// Scatter map of DepthToSpace: input (n, ch, h, w) with ch = C*r*r goes to output
// (n, c, h*r + i, w*r + j) where, decomposing ch,
//   crd: ch = (c, i, j) in row-major order over (C, r, r);
//   dcr: ch = (i, j, c) in row-major order over (r, r, C).
Tensor depth_to_space_by_hand(const Tensor& x, int64_t r, ShuffleMode mode) {
  const int64_t n = x.dim(0), ch = x.dim(1), h = x.dim(2), w = x.dim(3), C = ch / (r * r);
  Tensor y({n, C, h * r, w * r});
  for (int64_t b = 0; b < n; ++b)
    for (int64_t k = 0; k < ch; ++k) {
      int64_t c, i, j;
      if (mode == ShuffleMode::crd) {
        c = k / (r * r), i = (k / r) % r, j = k % r;
      } else {
        i = k / (r * C), j = (k / C) % r, c = k % C;
      }
      for (int64_t y0 = 0; y0 < h; ++y0)
        for (int64_t x0 = 0; x0 < w; ++x0)
          y.data()[((b * C + c) * h * r + y0 * r + i) * w * r + x0 * r + j] = x.data()[((b * ch + k) * h + y0) * w + x0];
    }
  return y;
}

// The ONNX DepthToSpace operator documentation example: x of shape (1, 8, 2, 3), blocksize 2,
// channel k holding 9k + [0..5].
Tensor onnx_example_input() {
  Tensor x({1, 8, 2, 3});
  for (int k = 0; k < 8; ++k)
    for (int e = 0; e < 6; ++e) x.data()[k * 6 + e] = static_cast<float>(9 * k + e);
  return x;
}

TEST(PixelShuffle, OnnxDepthToSpaceDcrExample) {
  auto ctx = cpu();
  const Tensor y = run(make_pixel_shuffle(ctx, {2, ShuffleMode::dcr}), onnx_example_input());
  EXPECT_EQ(y.shape(), (Shape{1, 2, 4, 6}));
  EXPECT_EQ(y.storage(), (std::vector<float>{0,  18, 1,  19, 2,  20, 36, 54, 37, 55, 38, 56,  //
                                             3,  21, 4,  22, 5,  23, 39, 57, 40, 58, 41, 59,  //
                                             9,  27, 10, 28, 11, 29, 45, 63, 46, 64, 47, 65,  //
                                             12, 30, 13, 31, 14, 32, 48, 66, 49, 67, 50, 68}));
}

TEST(PixelShuffle, OnnxDepthToSpaceCrdExample) {
  auto ctx = cpu();
  const Tensor y = run(make_pixel_shuffle(ctx, {2, ShuffleMode::crd}), onnx_example_input());
  EXPECT_EQ(y.shape(), (Shape{1, 2, 4, 6}));
  EXPECT_EQ(y.storage(), (std::vector<float>{0,  9,  1,  10, 2,  11, 18, 27, 19, 28, 20, 29,  //
                                             3,  12, 4,  13, 5,  14, 21, 30, 22, 31, 23, 32,  //
                                             36, 45, 37, 46, 38, 47, 54, 63, 55, 64, 56, 65,  //
                                             39, 48, 40, 49, 41, 50, 57, 66, 58, 67, 59, 68}));
}

// ONNX SpaceToDepth (the DCR inverse): the ONNX documentation's (1, 2, 4, 6) example maps back
// to the 8 channels above.
TEST(PixelUnshuffle, OnnxSpaceToDepthIsTheDcrInverse) {
  auto ctx = cpu();
  const Tensor hr = run(make_pixel_shuffle(ctx, {2, ShuffleMode::dcr}), onnx_example_input());
  const Tensor back = run(make_pixel_unshuffle(ctx, {2, ShuffleMode::dcr}), hr);
  EXPECT_EQ(back.storage(), onnx_example_input().storage());
}

TEST(PixelShuffle, MatchesHandWrittenIndexMaps) {
  auto ctx = cpu();
  for (ShuffleMode mode : {ShuffleMode::crd, ShuffleMode::dcr})
    for (int64_t r : {1, 2, 3, 5})
      for (int64_t c : {1, 3}) {
        SplitMix rng(static_cast<uint64_t>(r * 10 + c));
        const Tensor x = upconv::testing::random_tensor({2, c * r * r, 3, 4}, rng);
        const Tensor want = depth_to_space_by_hand(x, r, mode);
        const std::string what = std::string(mode == ShuffleMode::crd ? "crd" : "dcr") + " r=" + std::to_string(r) +
                                 " C=" + std::to_string(c);
        EXPECT_TRUE(upconv::testing::compare_tensors(run(make_pixel_shuffle(ctx, {r, mode}), x), want, 0.0, what));
        // Unshuffle of the hand-shuffled tensor recovers x.
        EXPECT_TRUE(upconv::testing::compare_tensors(run(make_pixel_unshuffle(ctx, {r, mode}), want), x, 0.0, what));
      }
}

// crd and dcr are different permutations for r > 1 and C > 1 (a mode mix-up cannot pass).
TEST(PixelShuffle, ModesDiffer) {
  auto ctx = cpu();
  SplitMix rng(9);
  const Tensor x = upconv::testing::random_tensor({1, 8, 2, 2}, rng);
  EXPECT_NE(run(make_pixel_shuffle(ctx, {2, ShuffleMode::crd}), x).storage(),
            run(make_pixel_shuffle(ctx, {2, ShuffleMode::dcr}), x).storage());
}

TEST(PixelShuffle, ShuffleUnshuffleIsIdentityBothWaysBothModes) {
  auto ctx = cpu();
  for (uint64_t seed = 0; seed < 60; ++seed) {
    const OpCase c = OpCase::random_pixel_shuffle(seed);
    const auto ops = c.operands();
    const PixelShuffleParams p = c.shuffle_params();
    const Tensor hr = run(make_pixel_shuffle(ctx, p), ops.input);
    const Tensor back = run(make_pixel_unshuffle(ctx, p), hr);
    EXPECT_EQ(back.shape(), ops.input.shape()) << c.describe();
    EXPECT_EQ(back.storage(), ops.input.storage()) << c.describe();  // bit-exact

    const OpCase u = OpCase::random_pixel_unshuffle(seed);
    const auto uops = u.operands();
    const Tensor lr = run(make_pixel_unshuffle(ctx, u.shuffle_params()), uops.input);
    const Tensor again = run(make_pixel_shuffle(ctx, u.shuffle_params()), lr);
    EXPECT_EQ(again.storage(), uops.input.storage()) << u.describe();
  }
}

// PyTorch's PixelShuffle on its documented shape: (1, 9, 4, 4) with r = 3 -> (1, 1, 12, 12);
// NaN and infinities pass through unchanged (a permutation never does arithmetic).
TEST(PixelShuffle, ShapesAndSpecialValues) {
  auto ctx = cpu();
  auto plan = make_pixel_shuffle(ctx, {3, ShuffleMode::crd});
  ASSERT_TRUE(plan.ok());
  auto shape = plan->output_shape({1, 9, 4, 4});
  ASSERT_TRUE(shape.ok());
  EXPECT_EQ(*shape, (Shape{1, 1, 12, 12}));
  Tensor x({1, 4, 1, 1}, {std::numeric_limits<float>::infinity(), -0.0f, std::numeric_limits<float>::quiet_NaN(), 1});
  const Tensor y = run(make_pixel_shuffle(ctx, {2, ShuffleMode::crd}), x);
  ASSERT_EQ(y.size(), 4);
  EXPECT_EQ(y.data()[0], std::numeric_limits<float>::infinity());
  EXPECT_TRUE(std::signbit(y.data()[1]));
  EXPECT_TRUE(std::isnan(y.data()[2]));
  EXPECT_EQ(y.data()[3], 1.0f);
}

}  // namespace

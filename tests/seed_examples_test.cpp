// The worked examples of the seed notes, with hand-computed expected arrays (the arithmetic is
// written out in the comments so a reviewer can check it without running anything).
#include <gtest/gtest.h>

#include <vector>

#include "upconv/upconv.hpp"

namespace {

using namespace upconv;

Context cpu() {
  auto ctx = Context::create({.backend = BackendKind::cpu});
  EXPECT_TRUE(ctx.ok()) << ctx.status().to_string();
  return std::move(ctx).value();
}

Tensor run_conv_transpose(const ConvTransposeParams& p, const Tensor& x, const Tensor& w) {
  auto ctx = cpu();
  auto plan = make_conv_transpose(ctx, p, w);
  EXPECT_TRUE(plan.ok()) << plan.status().to_string();
  Tensor y;
  if (plan.ok()) {
    EXPECT_TRUE(plan->run(x, y).ok());
  }
  return y;
}

Tensor run_conv(const ConvParams& p, const Tensor& x, const Tensor& w) {
  auto ctx = cpu();
  auto plan = make_conv(ctx, p, w);
  EXPECT_TRUE(plan.ok()) << plan.status().to_string();
  Tensor y;
  if (plan.ok()) {
    EXPECT_TRUE(plan->run(x, y).ok());
  }
  return y;
}

const Tensor k123({1, 1, 3, 3}, {1, 2, 3, 4, 5, 6, 7, 8, 9});
const Tensor x1234({1, 1, 2, 2}, {1, 2, 3, 4});

// Seed 001, example 1: 2x2 input, 2x2 kernel, stride 1, padding 0 -> 3x3. Each input element
// scales the kernel; the copies are placed one step apart and overlapping entries are summed.
TEST(Seed001, Example1_2x2Kernel_Stride1) {
  // x = [[0,1],[2,3]], w = [[0,1],[2,3]]:
  //   y[0][0] = 0*0                 = 0     y[0][1] = 0*1 + 1*0 = 0      y[0][2] = 1*1 = 1
  //   y[1][0] = 0*2 + 2*0           = 0     y[1][1] = 0*3 + 1*2 + 2*1 + 3*0 = 4
  //   y[1][2] = 1*3 + 3*1           = 6     y[2][0] = 2*2 = 4  y[2][1] = 2*3 + 3*2 = 12  y[2][2] = 9
  const Tensor x({1, 1, 2, 2}, {0, 1, 2, 3}), w({1, 1, 2, 2}, {0, 1, 2, 3});
  const Tensor y = run_conv_transpose({}, x, w);
  EXPECT_EQ(y.shape(), (Shape{1, 1, 3, 3}));
  EXPECT_EQ(y.storage(), (std::vector<float>{0, 0, 1, 0, 4, 6, 4, 12, 9}));

  // With an all-ones kernel each output counts the overlapping input copies: corners get one
  // element, edges two, the centre all four (1+2+3+4 = 10).
  const Tensor ones({1, 1, 2, 2}, {1, 1, 1, 1});
  EXPECT_EQ(run_conv_transpose({}, x1234, ones).storage(), (std::vector<float>{1, 3, 2, 4, 10, 6, 3, 7, 4}));
}

// Seed 001, example 2: 2x2 input, 3x3 kernel, stride 2, padding 1 -> 3x3.
TEST(Seed001, Example2_3x3Kernel_Stride2_Padding1) {
  // Full (uncropped) output, 5x5: y[r][c] = sum_ij x[i][j] * w[r - 2i][c - 2j] with x = [[1,2],[3,4]],
  // w = [[1,2,3],[4,5,6],[7,8,9]]. E.g. the centre y[2][2] = 1*9 + 2*7 + 3*3 + 4*1 = 36.
  ConvTransposeParams full;
  full.stride = {2, 2};
  const Tensor f = run_conv_transpose(full, x1234, k123);
  EXPECT_EQ(f.shape(), (Shape{1, 1, 5, 5}));
  EXPECT_EQ(f.storage(), (std::vector<float>{1, 2, 5, 4, 6,        //
                                             4, 5, 14, 10, 12,     //
                                             10, 14, 36, 24, 30,   //
                                             12, 15, 34, 20, 24,   //
                                             21, 24, 55, 32, 36}));
  // Padding 1 crops one row/column on every side: (2-1)*2 - 2*1 + 3 = 3.
  ConvTransposeParams p = full;
  p.pad_begin = p.pad_end = {1, 1};
  const Tensor y = run_conv_transpose(p, x1234, k123);
  EXPECT_EQ(y.shape(), (Shape{1, 1, 3, 3}));
  EXPECT_EQ(y.storage(), (std::vector<float>{5, 14, 10, 14, 36, 24, 15, 34, 20}));
  // output_padding 1 keeps one more row/column at the end (the cropped full-output row 4, col 4).
  p.output_padding = {1, 1};
  const Tensor yo = run_conv_transpose(p, x1234, k123);
  EXPECT_EQ(yo.shape(), (Shape{1, 1, 4, 4}));
  EXPECT_EQ(yo.storage(), (std::vector<float>{5, 14, 10, 12, 14, 36, 24, 30, 15, 34, 20, 24, 24, 55, 32, 36}));
}

TEST(Seed001, Example1In1D) {
  ConvTransposeParams p;
  p.spatial_rank = 1;
  const Tensor y = run_conv_transpose(p, Tensor({1, 1, 2}, {1, 2}), Tensor({1, 1, 2}, {1, 1}));
  EXPECT_EQ(y.shape(), (Shape{1, 1, 3}));
  EXPECT_EQ(y.storage(), (std::vector<float>{1, 3, 2}));
}

// Seed 004, Figure 4.1: the transpose of convolving a 3x3 kernel over a 4x4 input (i=4, k=3,
// s=1, p=0) is equivalent to convolving a 3x3 kernel over the 2x2 input padded with a border of
// 2 zeros (i'=2, k'=k, s'=1, p'=2) — with the kernel rotated by 180 degrees.
TEST(Seed004, Figure4_1_TransposeOf3x3Over4x4) {
  // y[r][c] = sum_ij x[i][j] * w[r - i][c - j]; e.g. y[1][1] = 1*5 + 2*4 + 3*2 + 4*1 = 23.
  const Tensor y = run_conv_transpose({}, x1234, k123);
  EXPECT_EQ(y.shape(), (Shape{1, 1, 4, 4}));
  EXPECT_EQ(y.storage(), (std::vector<float>{1, 4, 7, 6, 7, 23, 33, 24, 19, 53, 63, 42, 21, 52, 59, 36}));

  ConvParams padded;
  padded.pad_begin = padded.pad_end = {2, 2};
  const Tensor flipped({1, 1, 3, 3}, {9, 8, 7, 6, 5, 4, 3, 2, 1});
  EXPECT_EQ(run_conv(padded, x1234, flipped).storage(), y.storage());

  // And the forward direction of the figure: 3x3 over 4x4 gives 2x2, whose shape the transpose
  // restores.
  Tensor x16({1, 1, 4, 4});
  for (int i = 0; i < 16; ++i) x16.data()[i] = static_cast<float>(i);
  const Tensor c = run_conv({}, x16, k123);
  EXPECT_EQ(c.shape(), (Shape{1, 1, 2, 2}));
  // c[0][0] = sum_t w[t] * x[t-th window] = 0*1+1*2+2*3+4*4+5*5+6*6+8*7+9*8+10*9 = 303.
  EXPECT_EQ(c.storage(), (std::vector<float>{303, 348, 483, 528}));
  EXPECT_EQ(run_conv_transpose({}, c, k123).shape(), x16.shape());
}

// Seed 004, section 5: a 3x3 filter with dilation 2 has a 5x5 receptive field at the cost of 9
// taps: it equals the 5x5 kernel with zeros between the taps.
TEST(Seed004, DilatedConvIsAZeroInsertedKernel) {
  auto ctx = cpu();
  Tensor x({1, 1, 7, 7});
  for (int i = 0; i < 49; ++i) x.data()[i] = static_cast<float>((i * 37) % 11) - 5.0f;
  Tensor w5({1, 1, 5, 5});
  for (int r = 0; r < 3; ++r)
    for (int c = 0; c < 3; ++c) w5.data()[(2 * r) * 5 + 2 * c] = k123.data()[r * 3 + c];
  ConvParams dil;
  dil.dilation = {2, 2};
  const Tensor a = run_conv(dil, x, k123), b = run_conv({}, x, w5);
  EXPECT_EQ(a.shape(), (Shape{1, 1, 3, 3}));  // 7 - 2*(3-1) = 3
  EXPECT_EQ(a.storage(), b.storage());
  // The same identity for the transposed op (seed 004 combines both).
  ConvTransposeParams tdil;
  tdil.dilation = {2, 2};
  EXPECT_EQ(run_conv_transpose(tdil, x1234, k123).storage(), run_conv_transpose({}, x1234, w5).storage());
}

}  // namespace

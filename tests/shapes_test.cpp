// Shape helpers: PyTorch output-size rules (checked against brute-force window counting), ONNX
// auto_pad / output_shape rules (checked against the ONNX specification's formulas and the ONNX
// backend-test examples, run end to end), and the error cases.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "upconv/upconv.hpp"

namespace {

using namespace upconv;

// ---------------------------------------------------------------- PyTorch rules

// Number of window positions o >= 0 whose dilated window [o*s - pb, o*s - pb + d*(k-1)] fits in
// the padded range [-pb, in - 1 + pe].
int64_t brute_conv_out(int64_t in, int64_t k, int64_t s, int64_t pb, int64_t pe, int64_t d) {
  int64_t n = 0;
  for (int64_t o = 0; o * s - pb + d * (k - 1) <= in - 1 + pe; ++o) ++n;
  return n;
}

TEST(Shapes, ConvOutputSizeMatchesWindowCounting) {
  for (int64_t in = 1; in <= 9; ++in)
    for (int64_t k = 1; k <= 4; ++k)
      for (int64_t s = 1; s <= 3; ++s)
        for (int64_t d = 1; d <= 3; ++d)
          for (int64_t pb = 0; pb <= 3; ++pb)
            for (int64_t pe = 0; pe <= 3; ++pe) {
              auto r = conv_output_size(in, k, s, pb, pe, d);
              const int64_t want = brute_conv_out(in, k, s, pb, pe, d);
              const std::string what = "in=" + std::to_string(in) + " k=" + std::to_string(k) + " s=" +
                                       std::to_string(s) + " d=" + std::to_string(d) + " pads=" + std::to_string(pb) +
                                       "," + std::to_string(pe);
              if (want == 0) {
                EXPECT_FALSE(r.ok()) << what;
              } else {
                ASSERT_TRUE(r.ok()) << what << ": " << r.status().to_string();
                EXPECT_EQ(*r, want) << what;
              }
            }
}

TEST(Shapes, ConvTransposeOutputSizeIsPyTorchFormula) {
  // PyTorch ConvTranspose2d: (in - 1) * stride - 2 * padding + dilation * (k - 1) + output_padding + 1.
  EXPECT_EQ(*conv_transpose_output_size(4, 4, 2, 1, 1, 1, 0), 8);   // DCGAN block doubles
  EXPECT_EQ(*conv_transpose_output_size(7, 3, 2, 1, 1, 1, 1), 14);  // "same" x2 with output_padding
  EXPECT_EQ(*conv_transpose_output_size(5, 9, 3, 4, 4, 1, 2), 15);  // FSRCNN x3
  EXPECT_EQ(*conv_transpose_output_size(3, 3, 1, 0, 0, 2, 0), 7);
  EXPECT_EQ(*conv_transpose_output_size(1, 1, 5, 0, 0, 1, 4), 5);
  // It is the inverse of the conv rule: conv of the transposed output gives back `in` whenever
  // output_padding < stride.
  for (int64_t in = 1; in <= 6; ++in)
    for (int64_t k = 1; k <= 4; ++k)
      for (int64_t s = 1; s <= 3; ++s)
        for (int64_t p = 0; p <= 2; ++p)
          for (int64_t op = 0; op < s; ++op) {
            auto t = conv_transpose_output_size(in, k, s, p, p, 1, op);
            if (!t.ok()) continue;
            auto back = conv_output_size(*t, k, s, p, p, 1);
            ASSERT_TRUE(back.ok());
            EXPECT_EQ(*back, in) << "in=" << in << " k=" << k << " s=" << s << " p=" << p << " op=" << op;
          }
}

TEST(Shapes, FullOutputShapes) {
  ConvTransposeParams tp;
  tp.stride = {2, 3};
  tp.pad_begin = {1, 0};
  tp.pad_end = {0, 2};
  tp.output_padding = {1, 2};
  tp.groups = 2;
  auto s = conv_transpose_output_shape({2, 4, 5, 6}, {4, 3, 3, 4}, tp);
  ASSERT_TRUE(s.ok()) << s.status().to_string();
  // H: 4*2 - 1 - 0 + 2 + 1 + 1 = 11; W: 5*3 - 0 - 2 + 3 + 2 + 1 = 19; C_out = 3 * groups.
  EXPECT_EQ(*s, (Shape{2, 6, 11, 19}));
  ConvParams cp;
  cp.spatial_rank = 1;
  cp.dilation = {4, 1};
  auto c1 = conv_output_shape({1, 2, 16}, {3, 2, 3}, cp);
  ASSERT_TRUE(c1.ok());
  EXPECT_EQ(*c1, (Shape{1, 3, 8}));
  EXPECT_EQ(*pixel_shuffle_output_shape({1, 18, 2, 3}, {3}), (Shape{1, 2, 6, 9}));
  EXPECT_EQ(*pixel_unshuffle_output_shape({1, 2, 6, 9}, {3}), (Shape{1, 18, 2, 3}));
  EXPECT_EQ(*upsample_output_shape({1, 2, 3, 4}, {{2, 5}}), (Shape{1, 2, 6, 20}));
  EXPECT_EQ(*max_unpool2d_output_shape({1, 1, 3, 3}, {{3, 3}, {2, 2}, {1, 1}}), (Shape{1, 1, 5, 5}));
}

TEST(Shapes, AxisHelperErrorsAndOverflow) {
  EXPECT_FALSE(conv_output_size(0, 3, 1, 0, 0, 1).ok());
  EXPECT_FALSE(conv_output_size(5, 0, 1, 0, 0, 1).ok());
  EXPECT_FALSE(conv_output_size(5, 3, 0, 0, 0, 1).ok());
  EXPECT_FALSE(conv_output_size(5, 3, 1, 0, 0, 0).ok());
  EXPECT_FALSE(conv_output_size(5, 3, 1, -1, 0, 1).ok());
  EXPECT_FALSE(conv_output_size(5, 3, 1, 0, -1, 1).ok());
  EXPECT_FALSE(conv_output_size(2, 3, 1, 0, 0, 1).ok());          // kernel wider than the input
  EXPECT_FALSE(conv_output_size(5, 3, 1, 0, 0, 3).ok());          // dilated extent 7 > 5
  EXPECT_FALSE(conv_transpose_output_size(1, 1, 1, 1, 0, 1, 0).ok());  // cropped to nothing
  EXPECT_FALSE(conv_transpose_output_size(3, 3, 1, 0, 0, 1, -1).ok());
  const int64_t huge = int64_t{1} << 62;
  for (int64_t bad : {huge, -huge, INT64_MAX, INT64_MIN}) {
    EXPECT_FALSE(conv_output_size(bad, 3, 1, 0, 0, 1).ok()) << bad;
    EXPECT_FALSE(conv_output_size(5, bad, 1, 0, 0, 1).ok()) << bad;
    EXPECT_FALSE(conv_transpose_output_size(5, 3, bad, 0, 0, 1, 0).ok()) << bad;
    EXPECT_FALSE(conv_transpose_output_size(5, 3, 1, 0, 0, bad, 0).ok()) << bad;
    EXPECT_FALSE(conv_transpose_output_size(bad, 3, 2, 0, 0, 1, 0).ok()) << bad;
  }
  auto msg = conv_output_size(5, 3, 0, 0, 0, 1);
  EXPECT_NE(msg.status().message().find("stride"), std::string::npos) << msg.status().message();
  EXPECT_NE(msg.status().message().find("0"), std::string::npos) << msg.status().message();
  // Whole-shape helpers: element-count overflow is an error, not an allocation.
  EXPECT_FALSE(upsample_output_shape({1 << 20, 1 << 20, 4, 4}, {{1 << 12, 1 << 12}}).ok());
  EXPECT_FALSE(conv_transpose_output_shape({1, 1, 1 << 20, 1 << 20}, {1, 1, 3, 3}, {.stride = {1 << 20, 1 << 20}}).ok());
}

// ---------------------------------------------------------------- ONNX Conv auto_pad

TEST(OnnxPads, ConvSameAndValidFollowTheSpec) {
  for (int64_t in = 1; in <= 10; ++in)
    for (int64_t k = 1; k <= 5; ++k)
      for (int64_t s = 1; s <= 3; ++s)
        for (int64_t d = 1; d <= 2; ++d) {
          const std::string what = "in=" + std::to_string(in) + " k=" + std::to_string(k) + " s=" +
                                   std::to_string(s) + " d=" + std::to_string(d);
          const int64_t out = (in + s - 1) / s;  // ceil(in / s)
          const int64_t total = std::max<int64_t>(0, (out - 1) * s + (k - 1) * d + 1 - in);
          int64_t pb = 7, pe = 7;
          ASSERT_TRUE(onnx_conv_pads(AutoPad::same_upper, in, k, s, d, pb, pe).ok()) << what;
          EXPECT_EQ(pb, total / 2) << what;
          EXPECT_EQ(pe, total - total / 2) << what;
          EXPECT_EQ(*conv_output_size(in, k, s, pb, pe, d), out) << what;
          ASSERT_TRUE(onnx_conv_pads(AutoPad::same_lower, in, k, s, d, pb, pe).ok()) << what;
          EXPECT_EQ(pb, total - total / 2) << what;
          EXPECT_EQ(pe, total / 2) << what;
          EXPECT_EQ(*conv_output_size(in, k, s, pb, pe, d), out) << what;
          ASSERT_TRUE(onnx_conv_pads(AutoPad::valid, in, k, s, d, pb, pe).ok()) << what;
          EXPECT_EQ(pb, 0);
          EXPECT_EQ(pe, 0);
          pb = 2, pe = 1;
          ASSERT_TRUE(onnx_conv_pads(AutoPad::notset, in, k, s, d, pb, pe).ok());
          EXPECT_EQ(pb, 2);  // explicit pads kept
          EXPECT_EQ(pe, 1);
        }
  int64_t pb = 0, pe = 0;
  EXPECT_FALSE(onnx_conv_pads(AutoPad::same_upper, 0, 3, 1, 1, pb, pe).ok());
  EXPECT_FALSE(onnx_conv_pads(AutoPad::same_upper, 5, 3, 0, 1, pb, pe).ok());
  EXPECT_FALSE(onnx_conv_pads(static_cast<AutoPad>(42), 5, 3, 1, 1, pb, pe).ok());
}

Context cpu() {
  auto ctx = Context::create({.backend = BackendKind::cpu});
  EXPECT_TRUE(ctx.ok());
  return std::move(ctx).value();
}

Tensor arange(Shape shape) {
  Tensor t(std::move(shape));
  for (int64_t i = 0; i < t.size(); ++i) t.data()[i] = static_cast<float>(i);
  return t;
}
Tensor ones(Shape shape) {
  Tensor t(std::move(shape));
  for (auto& v : t.storage()) v = 1.0f;
  return t;
}

Tensor run_conv(ConvParams p, const Tensor& x, const Tensor& w) {
  auto ctx = cpu();
  auto plan = make_conv(ctx, p, w);
  EXPECT_TRUE(plan.ok()) << plan.status().to_string();
  Tensor y;
  if (plan.ok()) {
    Status s = plan->run(x, y);
    EXPECT_TRUE(s.ok()) << s.to_string();
  }
  return y;
}

Tensor run_convt(ConvTransposeParams p, const Tensor& x, const Tensor& w) {
  auto ctx = cpu();
  auto plan = make_conv_transpose(ctx, p, w);
  EXPECT_TRUE(plan.ok()) << plan.status().to_string();
  Tensor y;
  if (plan.ok()) {
    Status s = plan->run(x, y);
    EXPECT_TRUE(s.ok()) << s.to_string();
  }
  return y;
}

// ONNX backend tests test_conv_with_autopad_same, test_conv_with_strides_padding,
// test_conv_with_strides_no_padding, test_conv_with_strides_and_asymmetric_padding,
// test_basic_conv_with_padding / without_padding (x = arange, W = ones 3x3).
TEST(OnnxExamples, Conv) {
  const Tensor w = ones({1, 1, 3, 3});
  {
    ConvParams p;
    p.stride = {2, 2};
    const Tensor x = arange({1, 1, 5, 5});
    ASSERT_TRUE(apply_onnx_auto_pad(p, AutoPad::same_lower, x.shape(), w.shape()).ok());
    EXPECT_EQ(p.pad_begin, (Pair{1, 1}));
    EXPECT_EQ(p.pad_end, (Pair{1, 1}));
    EXPECT_EQ(run_conv(p, x, w).storage(), (std::vector<float>{12, 27, 24, 63, 108, 81, 72, 117, 84}));
  }
  const Tensor x75 = arange({1, 1, 7, 5});
  {
    ConvParams p;
    p.stride = {2, 2};
    p.pad_begin = p.pad_end = {1, 1};
    const Tensor y = run_conv(p, x75, w);
    EXPECT_EQ(y.shape(), (Shape{1, 1, 4, 3}));
    EXPECT_EQ(y.storage(), (std::vector<float>{12, 27, 24, 63, 108, 81, 123, 198, 141, 112, 177, 124}));
  }
  {
    ConvParams p;
    p.stride = {2, 2};
    EXPECT_EQ(run_conv(p, x75, w).storage(), (std::vector<float>{54, 72, 144, 162, 234, 252}));
  }
  {
    ConvParams p;
    p.stride = {2, 2};
    p.pad_begin = {1, 0};  // ONNX pads [1, 0, 1, 0]
    p.pad_end = {1, 0};
    const Tensor y = run_conv(p, x75, w);
    EXPECT_EQ(y.shape(), (Shape{1, 1, 4, 2}));
    EXPECT_EQ(y.storage(), (std::vector<float>{21, 33, 99, 117, 189, 207, 171, 183}));
  }
  const Tensor x55 = arange({1, 1, 5, 5});
  {
    ConvParams p;
    p.pad_begin = p.pad_end = {1, 1};
    EXPECT_EQ(run_conv(p, x55, w).storage(),
              (std::vector<float>{12, 21, 27, 33, 24, 33, 54, 63, 72, 51, 63, 99, 108, 117, 81, 93, 144, 153, 162,
                                  111, 72, 111, 117, 123, 84}));
    ConvParams v;
    ASSERT_TRUE(apply_onnx_auto_pad(v, AutoPad::valid, x55.shape(), w.shape()).ok());
    EXPECT_EQ(run_conv(v, x55, w).storage(), (std::vector<float>{54, 63, 72, 99, 108, 117, 144, 153, 162}));
  }
}

// ONNX backend tests for ConvTranspose (x = arange(9) as 3x3, W = ones (1, 2, 3, 3); both output
// channels are equal).
std::vector<float> twice(const std::vector<float>& v) {
  std::vector<float> r = v;
  r.insert(r.end(), v.begin(), v.end());
  return r;
}

TEST(OnnxExamples, ConvTransposeBasicAnd1d) {
  const Tensor x = arange({1, 1, 3, 3});
  const Tensor w = ones({1, 2, 3, 3});
  EXPECT_EQ(run_convt({}, x, w).storage(),
            twice({0, 1, 3, 3, 2, 3, 8, 15, 12, 7, 9, 21, 36, 27, 15, 9, 20, 33, 24, 13, 6, 13, 21, 15, 8}));
  ConvTransposeParams p1;
  p1.spatial_rank = 1;
  const Tensor y1 = run_convt(p1, arange({1, 1, 3}), ones({1, 2, 3}));
  EXPECT_EQ(y1.shape(), (Shape{1, 2, 5}));
  EXPECT_EQ(y1.storage(), twice({0, 1, 3, 3, 2}));
}

TEST(OnnxExamples, ConvTransposePads) {
  // test_convtranspose_pads: strides [3, 2], pads [1, 2, 1, 2] -> (1, 2, 7, 3).
  ConvTransposeParams p;
  p.stride = {3, 2};
  p.pad_begin = p.pad_end = {1, 2};
  const Tensor y = run_convt(p, arange({1, 1, 3, 3}), ones({1, 2, 3, 3}));
  EXPECT_EQ(y.shape(), (Shape{1, 2, 7, 3}));
  EXPECT_EQ(y.storage(), twice({1, 1, 3, 1, 1, 3, 7, 4, 9, 7, 4, 9, 7, 4, 9, 13, 7, 15, 13, 7, 15}));
}

const std::vector<float> kOnnx10x8 = {0, 0, 1, 1, 3, 2, 2, 0,   0, 0, 1, 1, 3, 2, 2, 0,   0, 0, 1, 1, 3, 2, 2, 0,
                                      3, 3, 7, 4, 9, 5, 5, 0,   3, 3, 7, 4, 9, 5, 5, 0,   3, 3, 7, 4, 9, 5, 5, 0,
                                      6, 6, 13, 7, 15, 8, 8, 0, 6, 6, 13, 7, 15, 8, 8, 0, 6, 6, 13, 7, 15, 8, 8, 0,
                                      0, 0, 0, 0, 0, 0, 0, 0};

TEST(OnnxExamples, ConvTransposeOutputShapeAndOutputPadding) {
  const Tensor x = arange({1, 1, 3, 3});
  const Tensor w = ones({1, 2, 3, 3});
  // test_convtranspose_output_shape: strides [3, 2], output_shape [10, 8]. The full output is
  // 9 x 7, so the total padding is -1 per axis: one row/column of output padding.
  ConvTransposeParams p;
  p.stride = {3, 2};
  ASSERT_TRUE(apply_onnx_auto_pad(p, AutoPad::notset, x.shape(), w.shape(), std::vector<int64_t>{10, 8}).ok());
  EXPECT_EQ(p.pad_begin, (Pair{0, 0}));
  EXPECT_EQ(p.pad_end, (Pair{0, 0}));
  EXPECT_EQ(p.output_padding, (Pair{1, 1}));
  Tensor y = run_convt(p, x, w);
  EXPECT_EQ(y.shape(), (Shape{1, 2, 10, 8}));
  EXPECT_EQ(y.storage(), twice(kOnnx10x8));
  // test_convtranspose_with_output_padding / test_convtranspose_kernel_shape: output_padding
  // [1, 1] at strides [3, 2] gives the same tensor.
  ConvTransposeParams q;
  q.stride = {3, 2};
  q.output_padding = {1, 1};
  EXPECT_EQ(run_convt(q, x, w).storage(), twice(kOnnx10x8));
}

TEST(OnnxExamples, ConvTransposeAutoPadSameUpper) {
  // test_convtranspose_autopad_same: SAME_UPPER, strides [2, 2] -> output in * stride = 6 x 6;
  // total padding 2*2 + 3 - 6 = 1 goes to the end (pads[start] = total / 2 = 0).
  const Tensor x = arange({1, 1, 3, 3});
  const Tensor w = ones({1, 2, 3, 3});
  ConvTransposeParams p;
  p.stride = {2, 2};
  ASSERT_TRUE(apply_onnx_auto_pad(p, AutoPad::same_upper, x.shape(), w.shape()).ok());
  EXPECT_EQ(p.pad_begin, (Pair{0, 0}));
  EXPECT_EQ(p.pad_end, (Pair{1, 1}));
  const Tensor y = run_convt(p, x, w);
  EXPECT_EQ(y.shape(), (Shape{1, 2, 6, 6}));
  EXPECT_EQ(y.storage(), twice({0, 0, 1, 1, 3, 2, 0, 0, 1, 1, 3, 2, 3, 3, 8, 5, 12, 7,
                                3, 3, 7, 4, 9, 5, 9, 9, 20, 11, 24, 13, 6, 6, 13, 7, 15, 8}));
  // SAME_LOWER puts the odd unit at the beginning instead.
  ConvTransposeParams l;
  l.stride = {2, 2};
  ASSERT_TRUE(apply_onnx_auto_pad(l, AutoPad::same_lower, x.shape(), w.shape()).ok());
  EXPECT_EQ(l.pad_begin, (Pair{1, 1}));
  EXPECT_EQ(l.pad_end, (Pair{0, 0}));
}

TEST(OnnxExamples, ConvTransposeDilations) {
  // test_convtranspose_dilations: W 2x2 with dilations [2, 2] -> 5 x 5.
  const Tensor x({1, 1, 3, 3}, {3, 8, 1, 9, 5, 7, 3, 2, 6});
  const Tensor w({1, 1, 2, 2}, {7, 2, 1, 9});
  ConvTransposeParams p;
  p.dilation = {2, 2};
  const Tensor y = run_convt(p, x, w);
  EXPECT_EQ(y.shape(), (Shape{1, 1, 5, 5}));
  EXPECT_EQ(y.storage(), (std::vector<float>{21, 56, 13, 16, 2, 63, 35, 67, 10, 14, 24, 22, 76, 76, 21,
                                             9, 5, 88, 45, 63, 3, 2, 33, 18, 54}));
}

// The ONNX ConvTranspose rule over a sweep: output_shape (or SAME's in * stride) is reached
// exactly, with the spec's split of the total padding.
TEST(OnnxPads, ConvTransposeOutputShapeSweep) {
  for (int64_t in = 1; in <= 6; ++in)
    for (int64_t k = 1; k <= 4; ++k)
      for (int64_t s = 1; s <= 3; ++s)
        for (int64_t d = 1; d <= 2; ++d)
          for (int64_t want = 1; want <= in * s + 3; ++want)
            for (AutoPad ap : {AutoPad::notset, AutoPad::same_upper, AutoPad::same_lower}) {
              const std::string what = "in=" + std::to_string(in) + " k=" + std::to_string(k) + " s=" +
                                       std::to_string(s) + " d=" + std::to_string(d) + " output_shape=" +
                                       std::to_string(want) + " auto_pad=" + std::to_string(static_cast<int>(ap));
              int64_t pb = 9, pe = 9, op = 0;
              ASSERT_TRUE(onnx_conv_transpose_pads(ap, in, k, s, d, want, pb, pe, op).ok()) << what;
              const int64_t total = s * (in - 1) + d * (k - 1) + 1 - want;
              if (total >= 0) {
                EXPECT_EQ(op, 0) << what;
                EXPECT_EQ(pb + pe, total) << what;
                EXPECT_EQ(pb, ap == AutoPad::same_upper ? total / 2 : total - total / 2) << what;
              } else {
                EXPECT_EQ(pb, 0) << what;
                EXPECT_EQ(pe, 0) << what;
                EXPECT_EQ(op, -total) << what;
              }
              auto out = conv_transpose_output_size(in, k, s, pb, pe, d, op);
              ASSERT_TRUE(out.ok()) << what;
              EXPECT_EQ(*out, want) << what;
            }
  int64_t pb = 0, pe = 0, op = 0;
  ASSERT_TRUE(onnx_conv_transpose_pads(AutoPad::same_upper, 4, 3, 2, 1, std::nullopt, pb, pe, op).ok());
  EXPECT_EQ(*conv_transpose_output_size(4, 3, 2, pb, pe, 1, op), 8);  // in * stride
  pb = 3, pe = 3;
  ASSERT_TRUE(onnx_conv_transpose_pads(AutoPad::valid, 4, 3, 2, 1, std::nullopt, pb, pe, op).ok());
  EXPECT_EQ(pb + pe, 0);
  pb = 2, pe = 1;
  ASSERT_TRUE(onnx_conv_transpose_pads(AutoPad::notset, 4, 3, 2, 1, std::nullopt, pb, pe, op).ok());
  EXPECT_EQ(pb, 2);
  EXPECT_EQ(pe, 1);
  EXPECT_FALSE(onnx_conv_transpose_pads(AutoPad::notset, 4, 3, 2, 1, 0, pb, pe, op).ok());
  EXPECT_FALSE(onnx_conv_transpose_pads(AutoPad::notset, 4, 3, 2, 1, -5, pb, pe, op).ok());
  op = -1;
  EXPECT_FALSE(onnx_conv_transpose_pads(AutoPad::notset, 4, 3, 2, 1, 8, pb, pe, op).ok());
}

TEST(OnnxPads, WholeOpFormsRejectBadRanks) {
  ConvParams cp;
  EXPECT_FALSE(apply_onnx_auto_pad(cp, AutoPad::same_upper, {1, 1, 5}, {1, 1, 3, 3}).ok());
  EXPECT_FALSE(apply_onnx_auto_pad(cp, AutoPad::same_upper, {1, 1, 5, 5}, {1, 1, 3}).ok());
  cp.spatial_rank = 3;
  EXPECT_FALSE(apply_onnx_auto_pad(cp, AutoPad::same_upper, {1, 1, 5, 5, 5}, {1, 1, 3, 3, 3}).ok());
  ConvTransposeParams tp;
  EXPECT_FALSE(apply_onnx_auto_pad(tp, AutoPad::notset, {1, 1, 5, 5}, {1, 1, 3, 3}, std::vector<int64_t>{10}).ok());
  // 1-D forms touch axis 0 only.
  ConvTransposeParams t1;
  t1.spatial_rank = 1;
  t1.stride = {2, 1};
  ASSERT_TRUE(apply_onnx_auto_pad(t1, AutoPad::same_upper, {1, 1, 5}, {1, 1, 3}).ok());
  EXPECT_EQ(*conv_transpose_output_shape({1, 1, 5}, {1, 1, 3}, t1), (Shape{1, 1, 10}));
}

}  // namespace

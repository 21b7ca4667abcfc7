// Unpooling (seed 002: nearest-neighbour, bed of nails, max unpooling): PyTorch's MaxUnpool2d
// examples and output_size rule, index validation, and identities tying the resamplers to
// conv_transpose.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "op_case.hpp"
#include "upconv/upconv.hpp"

namespace {

using namespace upconv;
using upconv::testing::SplitMix;

Context cpu() {
  auto ctx = Context::create({.backend = BackendKind::cpu});
  EXPECT_TRUE(ctx.ok());
  return std::move(ctx).value();
}

Result<Tensor> unpool(Context& ctx, const MaxUnpool2dParams& p, const Tensor& x, const IndexTensor& idx) {
  auto plan = make_max_unpool2d(ctx, p);
  if (!plan.ok()) return plan.status();
  Tensor y;
  Status s = plan->run(x, idx, y);
  if (!s.ok()) return s;
  return y;
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

// PyTorch's MaxUnpool2d documentation: MaxPool2d(2, stride=2) of [[1..4],[5..8],[9..12],[13..16]]
// gives [[6, 8], [14, 16]] at indices [[5, 7], [13, 15]]; unpooling puts them back.
TEST(MaxUnpool2d, PyTorchDocExample) {
  auto ctx = cpu();
  const Tensor x({1, 1, 2, 2}, {6, 8, 14, 16});
  const IndexTensor idx({1, 1, 2, 2}, {5, 7, 13, 15});
  MaxUnpool2dParams p;  // kernel 2, stride 0 = kernel
  auto y = unpool(ctx, p, x, idx);
  ASSERT_TRUE(y.ok()) << y.status().to_string();
  EXPECT_EQ(y->shape(), (Shape{1, 1, 4, 4}));
  EXPECT_EQ(y->storage(), (std::vector<float>{0, 0, 0, 0, 0, 6, 0, 8, 0, 0, 0, 0, 0, 14, 0, 16}));
}

// The same documentation's output_size example: pooling a 4x5 input loses the odd column; the
// indices address the 4x5 plane, so the default 4x4 output rejects index 18 and output_size
// (4, 5) restores the original layout.
TEST(MaxUnpool2d, PyTorchDocOutputSizeExample) {
  auto ctx = cpu();
  const Tensor x({1, 1, 2, 2}, {7, 9, 17, 19});
  const IndexTensor idx({1, 1, 2, 2}, {6, 8, 16, 18});
  MaxUnpool2dParams p;
  auto bad = unpool(ctx, p, x, idx);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::invalid_argument);
  // The first index outside the 16-element default plane is element 2, index 16.
  EXPECT_NE(bad.status().message().find("= 16"), std::string::npos) << bad.status().message();
  p.output_size = Pair{4, 5};
  auto y = unpool(ctx, p, x, idx);
  ASSERT_TRUE(y.ok()) << y.status().to_string();
  EXPECT_EQ(y->shape(), (Shape{1, 1, 4, 5}));
  EXPECT_EQ(y->storage(), (std::vector<float>{0, 0, 0, 0, 0, 0, 7, 0, 9, 0, 0, 0, 0, 0, 0, 0, 17, 0, 19, 0}));
}

// PyTorch's rule: default D = (in - 1) * stride - 2 * padding + kernel; an explicit output size
// must lie strictly between D - stride and D + stride.
TEST(MaxUnpool2d, OutputSizeRange) {
  for (int64_t k : {2, 3})
    for (int64_t s : {1, 2, 3})
      for (int64_t pad = 0; pad <= k / 2; ++pad) {
        MaxUnpool2dParams p;
        p.kernel = {k, k};
        p.stride = {s, s};
        p.padding = {pad, pad};
        const int64_t in = 3, d = (in - 1) * s - 2 * pad + k;
        const std::string what = "k=" + std::to_string(k) + " s=" + std::to_string(s) + " p=" + std::to_string(pad);
        auto def = max_unpool2d_output_shape({1, 1, in, in}, p);
        ASSERT_TRUE(def.ok()) << what;
        EXPECT_EQ(*def, (Shape{1, 1, d, d})) << what;
        for (int64_t want = d - s - 1; want <= d + s + 1; ++want) {
          p.output_size = Pair{want, d};
          auto r = max_unpool2d_output_shape({1, 1, in, in}, p);
          const bool valid = want > d - s && want < d + s && want >= 1;
          EXPECT_EQ(r.ok(), valid) << what << " output_size " << want;
          if (r.ok()) {
            EXPECT_EQ(*r, (Shape{1, 1, want, d})) << what;
          } else {
            EXPECT_NE(r.status().message().find("output_size"), std::string::npos) << r.status().message();
          }
        }
      }
}

TEST(MaxUnpool2d, RejectsBadIndices) {
  auto ctx = cpu();
  const Tensor x({1, 2, 1, 2}, {1, 2, 3, 4});
  MaxUnpool2dParams p;  // 2x4 output plane of 8 elements
  for (int64_t bad : {-1, 8, 100}) {
    auto r = unpool(ctx, p, x, IndexTensor({1, 2, 1, 2}, {0, 1, bad, 2}));
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().code(), StatusCode::invalid_argument);
    EXPECT_NE(r.status().message().find(std::to_string(bad)), std::string::npos) << r.status().message();
  }
  auto shape = unpool(ctx, p, x, IndexTensor({1, 2, 2, 1}, {0, 1, 2, 3}));
  ASSERT_FALSE(shape.ok());
  EXPECT_NE(shape.status().message().find("indices shape"), std::string::npos) << shape.status().message();
  // run() without indices is refused for max_unpool2d, and indices are refused elsewhere.
  auto plan = make_max_unpool2d(ctx, p);
  ASSERT_TRUE(plan.ok());
  Tensor y;
  EXPECT_EQ(plan->run(x, y).code(), StatusCode::invalid_argument);
  auto up = make_upsample_nearest2d(ctx, {});
  ASSERT_TRUE(up.ok());
  EXPECT_EQ(up->run(x, IndexTensor({1, 2, 1, 2}), y).code(), StatusCode::invalid_argument);
}

// Indices are per (n, c) plane; a repeated index keeps the later element in C order (as
// PyTorch's CPU kernel does); positions no index names are zero.
TEST(MaxUnpool2d, PlanesAreIndependentAndDuplicatesKeepTheLast) {
  auto ctx = cpu();
  const Tensor x({2, 1, 1, 2}, {1, 2, 3, 4});
  const IndexTensor idx({2, 1, 1, 2}, {3, 3, 0, 2});
  auto y = unpool(ctx, {}, x, idx);
  ASSERT_TRUE(y.ok());
  EXPECT_EQ(y->storage(), (std::vector<float>{0, 0, 0, 2, 0, 0, 0, 0, 3, 0, 4, 0, 0, 0, 0, 0}));
}

TEST(UpsampleNearest2d, HandExamples) {
  auto ctx = cpu();
  const Tensor x({1, 1, 2, 2}, {1, 2, 3, 4});
  EXPECT_EQ(run(make_upsample_nearest2d(ctx, {{2, 2}}), x).storage(),
            (std::vector<float>{1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4}));
  const Tensor a = run(make_upsample_nearest2d(ctx, {{1, 3}}), x);
  EXPECT_EQ(a.shape(), (Shape{1, 1, 2, 6}));
  EXPECT_EQ(a.storage(), (std::vector<float>{1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4}));
  const Tensor b = run(make_upsample_nearest2d(ctx, {{3, 1}}), x);
  EXPECT_EQ(b.shape(), (Shape{1, 1, 6, 2}));
  EXPECT_EQ(b.storage(), (std::vector<float>{1, 2, 1, 2, 1, 2, 3, 4, 3, 4, 3, 4}));
  EXPECT_EQ(run(make_upsample_nearest2d(ctx, {{1, 1}}), x).storage(), x.storage());
}

TEST(BedOfNails2d, HandExamples) {
  auto ctx = cpu();
  const Tensor x({1, 1, 2, 2}, {1, 2, 3, 4});
  EXPECT_EQ(run(make_bed_of_nails2d(ctx, {{2, 2}}), x).storage(),
            (std::vector<float>{1, 0, 2, 0, 0, 0, 0, 0, 3, 0, 4, 0, 0, 0, 0, 0}));
  const Tensor a = run(make_bed_of_nails2d(ctx, {{1, 3}}), x);
  EXPECT_EQ(a.storage(), (std::vector<float>{1, 0, 0, 2, 0, 0, 3, 0, 0, 4, 0, 0}));
}

// Cross-op identities: with a depthwise conv_transpose of stride r,
//   bed_of_nails2d = a 1x1 kernel of ones plus output_padding r - 1;
//   upsample_nearest2d = an r x r kernel of ones.
TEST(Resample, EqualsDepthwiseConvTransposeWithOnes) {
  auto ctx = cpu();
  for (int64_t rh : {1, 2, 3})
    for (int64_t rw : {1, 2, 4}) {
      SplitMix rng(static_cast<uint64_t>(rh * 7 + rw));
      const int64_t c = 3;
      const Tensor x = upconv::testing::random_tensor({2, c, 3, 4}, rng);
      const std::string what = "factor " + std::to_string(rh) + "x" + std::to_string(rw);
      ConvTransposeParams p;
      p.stride = {rh, rw};
      p.groups = c;
      p.output_padding = {rh - 1, rw - 1};
      Tensor one({c, 1, 1, 1});
      for (auto& v : one.storage()) v = 1.0f;
      EXPECT_TRUE(upconv::testing::compare_tensors(run(make_bed_of_nails2d(ctx, {{rh, rw}}), x),
                                                   run(make_conv_transpose(ctx, p, one), x), 0.0, what));
      p.output_padding = {0, 0};
      Tensor block({c, 1, rh, rw});
      for (auto& v : block.storage()) v = 1.0f;
      EXPECT_TRUE(upconv::testing::compare_tensors(run(make_upsample_nearest2d(ctx, {{rh, rw}}), x),
                                                   run(make_conv_transpose(ctx, p, block), x), 0.0, what));
    }
}

}  // namespace

// Sweeps of random OpCases through the public API on the CPU backend, compared with the
// reference; plus checks that the OpCase utility itself can fail and reports what it should.
#include <gtest/gtest.h>

#include <cmath>

#include "op_case.hpp"

namespace {

using upconv::Activation;
using upconv::testing::OpCase;

upconv::Context cpu_context() {
  auto ctx = upconv::Context::create({.backend = upconv::BackendKind::cpu});
  EXPECT_TRUE(ctx.ok()) << ctx.status().to_string();
  return std::move(ctx).value();
}

TEST(OpCase, FluentExampleFromTheHeader) {
  auto ctx = cpu_context();
  const OpCase c = OpCase::conv_transpose2d()
                       .batch(2)
                       .channels(6, 4)
                       .input(7, 5)
                       .kernel(3, 3)
                       .stride(2, 2)
                       .pad(1, 0, 1, 2)
                       .output_padding(1, 0)
                       .dilation(1, 1)
                       .groups(2)
                       .bias(true)
                       .activation(Activation::leaky_relu, 0.1f)
                       .seed(42);
  EXPECT_TRUE(c.check(ctx));
  EXPECT_EQ(c.describe(),
            "conv_transpose2d N=2 C=6->4 in=7x5 k=3x3 s=2x2 pad=(1,0)-(1,2) opad=1x0 d=1x1 g=2 bias=1 "
            "act=leaky_relu(0.1) seed=42");
  auto y = c.reference();
  ASSERT_TRUE(y.ok());
  // (7-1)*2 - 1 - 1 + 2 + 1 + 1 = 14 rows, (5-1)*2 - 0 - 2 + 2 + 0 + 1 = 9 columns.
  EXPECT_EQ(y->shape(), (upconv::Shape{2, 4, 14, 9}));
}

TEST(OpCase, OperandsAreDeterministicAndSeedDependent) {
  const auto a = OpCase::conv2d().channels(2, 3).bias(true).seed(7).operands();
  const auto b = OpCase::conv2d().channels(2, 3).bias(true).seed(7).operands();
  const auto c = OpCase::conv2d().channels(2, 3).bias(true).seed(8).operands();
  EXPECT_EQ(a.input.storage(), b.input.storage());
  EXPECT_EQ(a.weight.storage(), b.weight.storage());
  EXPECT_EQ(a.bias->storage(), b.bias->storage());
  EXPECT_NE(a.input.storage(), c.input.storage());
  EXPECT_EQ(OpCase::random(123).describe(), OpCase::random(123).describe());
}

TEST(OpCase, UnpoolIndicesComeFromARealMaxPool) {
  for (uint64_t s = 0; s < 50; ++s) {
    const OpCase c = OpCase::random_max_unpool2d(s);
    const auto ops = c.operands();
    auto y = c.reference(ops);
    ASSERT_TRUE(y.ok()) << c.describe() << ": " << y.status().to_string();
    const int64_t plane = y->dim(2) * y->dim(3);
    for (int64_t i = 0; i < ops.indices.size(); ++i) {
      const int64_t idx = ops.indices.data()[i];
      ASSERT_TRUE(idx >= 0 && idx < plane) << c.describe();
      // The scattered value lands where the index says (duplicates carry equal values).
      const int64_t nc = i / (ops.input.dim(2) * ops.input.dim(3));
      EXPECT_EQ(y->data()[nc * plane + idx], ops.input.data()[i]) << c.describe();
    }
  }
}

TEST(OpCase, CompareReportsTheFirstMismatchAndMaxError) {
  upconv::Tensor want({1, 1, 2, 2}, {1, 2, 3, 4});
  upconv::Tensor got({1, 1, 2, 2}, {1, 2, 3.5f, 4.25f});
  auto r = upconv::testing::compare_tensors(got, want, 1e-4, "case X");
  ASSERT_FALSE(r);
  const std::string msg = r.message();
  EXPECT_NE(msg.find("case X"), std::string::npos) << msg;
  EXPECT_NE(msg.find("2 of 4"), std::string::npos) << msg;
  EXPECT_NE(msg.find("(0,0,1,0)"), std::string::npos) << msg;
  EXPECT_NE(msg.find("max error 0.5"), std::string::npos) << msg;
  EXPECT_TRUE(upconv::testing::compare_tensors(want, want, 0.0));
  upconv::Tensor nan({1, 1, 2, 2}, {1, 2, 3, std::nanf("")});
  EXPECT_FALSE(upconv::testing::compare_tensors(nan, want, 1.0));
  upconv::Tensor other_shape({1, 1, 4}, {1, 2, 3, 4});
  EXPECT_FALSE(upconv::testing::compare_tensors(other_shape, want, 1.0));
}

TEST(OpCase, InvalidCaseFailsWithTheStatus) {
  auto ctx = cpu_context();
  auto r = OpCase::conv2d().channels(3, 4).groups(2).check(ctx);
  ASSERT_FALSE(r);
  EXPECT_NE(std::string(r.message()).find("channels"), std::string::npos) << r.message();
}

class RandomSweep : public ::testing::TestWithParam<int> {};

TEST_P(RandomSweep, CpuBackendMatchesReference) {
  auto ctx = cpu_context();
  for (uint64_t s = 0; s < 60; ++s) {
    const uint64_t seed = static_cast<uint64_t>(GetParam()) * 1000 + s;
    OpCase c = OpCase::random(seed);
    switch (GetParam()) {
      case 0: c = OpCase::random_conv(seed); break;
      case 1: c = OpCase::random_conv_transpose(seed); break;
      case 2: c = OpCase::random_pixel_shuffle(seed); break;
      case 3: c = OpCase::random_pixel_unshuffle(seed); break;
      case 4: c = OpCase::random_max_unpool2d(seed); break;
      case 5: c = OpCase::random_upsample_nearest2d(seed); break;
      case 6: c = OpCase::random_bed_of_nails2d(seed); break;
      default: break;
    }
    EXPECT_TRUE(c.check(ctx));
  }
}

INSTANTIATE_TEST_SUITE_P(AllOps, RandomSweep, ::testing::Range(0, 8));

// Larger cases: extents and channel counts that cross SIMD register tiles and thread splits.
TEST(RandomSweepLarge, CpuBackendMatchesReference) {
  auto ctx = cpu_context();
  for (uint64_t seed = 0; seed < 70; ++seed) EXPECT_TRUE(OpCase::random(50000 + seed, OpCase::Size::large).check(ctx));
}

}  // namespace

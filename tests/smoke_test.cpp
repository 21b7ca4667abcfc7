// Smallest end-to-end check of the public API: seed 001's first worked example through a plan.
#include <gtest/gtest.h>

#include "upconv/upconv.hpp"

TEST(Smoke, ConvTransposeSeed001Example1) {
  auto ctx = upconv::Context::create({.backend = upconv::BackendKind::cpu});
  ASSERT_TRUE(ctx.ok()) << ctx.status().to_string();
  upconv::Tensor x({1, 1, 2, 2}, {1, 2, 3, 4});
  upconv::Tensor w({1, 1, 2, 2}, {1, 1, 1, 1});
  auto plan = upconv::make_conv_transpose(*ctx, {}, w);
  ASSERT_TRUE(plan.ok()) << plan.status().to_string();
  upconv::Tensor y;
  ASSERT_TRUE(plan->run(x, y).ok());
  EXPECT_EQ(y.shape(), (upconv::Shape{1, 1, 3, 3}));
  EXPECT_EQ(y.storage(), (std::vector<float>{1, 3, 2, 4, 10, 6, 3, 7, 4}));
}

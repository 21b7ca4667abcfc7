// Validation: every bad attribute, weight, bias or input gives StatusCode::invalid_argument
// with a message naming the parameter and the offending value; nothing crashes, also under a
// fuzz of random (mostly invalid) attribute sets.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <functional>
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

// A failed Status whose message contains every needle.
::testing::AssertionResult rejected(const Status& s, std::vector<std::string> needles) {
  if (s.ok()) return ::testing::AssertionFailure() << "accepted, expected an error mentioning " << needles[0];
  if (s.code() != StatusCode::invalid_argument)
    return ::testing::AssertionFailure() << "code " << to_string(s.code()) << ": " << s.message();
  for (const auto& n : needles)
    if (s.message().find(n) == std::string::npos)
      return ::testing::AssertionFailure() << "message '" << s.message() << "' does not mention '" << n << "'";
  return ::testing::AssertionSuccess();
}
template <class T>
::testing::AssertionResult rejected(const Result<T>& r, std::vector<std::string> needles) {
  return rejected(r.ok() ? Status() : r.status(), std::move(needles));
}

Tensor filled(Shape s) {
  Tensor t(std::move(s));
  for (auto& v : t.storage()) v = 0.5f;
  return t;
}

Status conv_status(const ConvParams& p, const Shape& w, const Shape& x, const Tensor* bias = nullptr) {
  auto ctx = cpu();
  auto plan = make_conv(ctx, p, filled(w), bias);
  if (!plan.ok()) return plan.status();
  Tensor y;
  return plan->run(filled(x), y);
}

Status convt_status(const ConvTransposeParams& p, const Shape& w, const Shape& x, const Tensor* bias = nullptr) {
  auto ctx = cpu();
  auto plan = make_conv_transpose(ctx, p, filled(w), bias);
  if (!plan.ok()) return plan.status();
  Tensor y;
  return plan->run(filled(x), y);
}

const Shape kW = {4, 2, 3, 3}, kX = {1, 2, 6, 6};

TEST(Validation, ConvAttributes) {
  ConvParams ok;
  ASSERT_TRUE(conv_status(ok, kW, kX).ok());
  auto with = [&](std::function<void(ConvParams&)> f) {
    ConvParams p;
    f(p);
    return conv_status(p, kW, kX);
  };
  EXPECT_TRUE(rejected(with([](auto& p) { p.stride[0] = 0; }), {"stride[0]", "got 0"}));
  EXPECT_TRUE(rejected(with([](auto& p) { p.stride[1] = -3; }), {"stride[1]", "-3"}));
  EXPECT_TRUE(rejected(with([](auto& p) { p.stride[1] = int64_t{1} << 40; }), {"stride[1]", "1099511627776"}));
  EXPECT_TRUE(rejected(with([](auto& p) { p.dilation[0] = 0; }), {"dilation[0]", "got 0"}));
  EXPECT_TRUE(rejected(with([](auto& p) { p.pad_begin[1] = -1; }), {"pad_begin[1]", "-1"}));
  EXPECT_TRUE(rejected(with([](auto& p) { p.pad_end[0] = -2; }), {"pad_end[0]", "-2"}));
  EXPECT_TRUE(rejected(with([](auto& p) { p.groups = 0; }), {"groups", "0"}));
  EXPECT_TRUE(rejected(with([](auto& p) { p.groups = -2; }), {"groups", "-2"}));
  EXPECT_TRUE(rejected(with([](auto& p) { p.groups = 3; }), {"groups = 3", "4"}));  // C_out 4
  EXPECT_TRUE(rejected(with([](auto& p) { p.spatial_rank = 3; }), {"spatial_rank", "3"}));
  EXPECT_TRUE(rejected(with([](auto& p) { p.spatial_rank = 0; }), {"spatial_rank", "0"}));
  EXPECT_TRUE(rejected(with([](auto& p) { p.activation = {Activation::leaky_relu, NAN}; }), {"alpha"}));
  EXPECT_TRUE(rejected(with([](auto& p) { p.activation.kind = static_cast<Activation>(99); }), {"activation", "99"}));
  // 1-D ops name the axis without an index.
  ConvParams p1;
  p1.spatial_rank = 1;
  p1.stride = {0, 1};
  EXPECT_TRUE(rejected(conv_status(p1, {4, 2, 3}, {1, 2, 6}), {"stride must", "got 0"}));
}

TEST(Validation, ConvTransposeAttributes) {
  const Shape w = {2, 3, 3, 3};  // C_in 2, C_out 3
  auto with = [&](std::function<void(ConvTransposeParams&)> f) {
    ConvTransposeParams p;
    f(p);
    return convt_status(p, w, {1, 2, 4, 4});
  };
  EXPECT_TRUE(with([](auto&) {}).ok());
  EXPECT_TRUE(rejected(with([](auto& p) { p.stride[0] = 0; }), {"stride[0]", "got 0"}));
  EXPECT_TRUE(rejected(with([](auto& p) { p.dilation[1] = -1; }), {"dilation[1]", "-1"}));
  EXPECT_TRUE(rejected(with([](auto& p) { p.pad_begin[0] = -1; }), {"pad_begin[0]", "-1"}));
  // output_padding must be < max(stride, dilation).
  EXPECT_TRUE(rejected(with([](auto& p) { p.stride = {2, 2}; p.output_padding = {2, 0}; }),
                       {"output_padding[0]", "max(stride, dilation) = 2", "got 2"}));
  EXPECT_TRUE(rejected(with([](auto& p) { p.output_padding = {0, 1}; }), {"output_padding[1]", "got 1"}));
  EXPECT_TRUE(rejected(with([](auto& p) { p.output_padding = {-1, 0}; }), {"output_padding[0]", "-1"}));
  EXPECT_TRUE(with([](auto& p) { p.dilation = {3, 1}; p.output_padding = {2, 0}; }).ok());  // < dilation
  EXPECT_TRUE(rejected(convt_status({.groups = 2}, {3, 1, 3, 3}, {1, 3, 4, 4}), {"C_in = 3", "groups = 2"}));
  ConvTransposeParams p1;
  p1.spatial_rank = 1;
  p1.stride = {2, 1};
  p1.output_padding = {2, 0};
  EXPECT_TRUE(rejected(convt_status(p1, {2, 3, 3}, {1, 2, 5}), {"output_padding must", "got 2"}));
}

TEST(Validation, WeightsAndBias) {
  EXPECT_TRUE(rejected(conv_status({}, {4, 2, 3}, kX), {"weight", "rank 4", "[4, 2, 3]"}));
  EXPECT_TRUE(rejected(conv_status({.spatial_rank = 1}, {4, 2, 3, 3}, {1, 2, 6}), {"weight", "rank 3"}));
  EXPECT_TRUE(rejected(conv_status({}, {4, 2, 0, 3}, kX), {"weight shape", "dimension 2"}));
  EXPECT_TRUE(rejected(convt_status({}, {2, 3, 3, 3, 1}, kX), {"weight", "rank 4"}));
  const Tensor b3 = filled({3}), b4 = filled({4}), b22 = filled({2, 2});
  EXPECT_TRUE(conv_status({}, kW, kX, &b4).ok());
  EXPECT_TRUE(rejected(conv_status({}, kW, kX, &b3), {"bias", "C_out = 4", "got 3"}));
  EXPECT_TRUE(rejected(conv_status({}, kW, kX, &b22), {"bias", "rank 1"}));
  EXPECT_TRUE(rejected(convt_status({}, {2, 3, 3, 3}, {1, 2, 4, 4}, &b4), {"bias", "C_out = 3", "got 4"}));
  // An empty weight tensor (default-constructed) is rejected, not dereferenced.
  auto ctx = cpu();
  EXPECT_TRUE(rejected(make_conv(ctx, {}, Tensor()), {"weight"}));
  EXPECT_TRUE(rejected(make_conv_transpose(ctx, {}, Tensor()), {"weight"}));
}

TEST(Validation, InputsAtRunTime) {
  // Channel mismatch, wrong rank, zero dimension, empty output.
  EXPECT_TRUE(rejected(conv_status({}, kW, {1, 3, 6, 6}), {"3 channels", "C_in = 2"}));
  EXPECT_TRUE(rejected(convt_status({}, {2, 3, 3, 3}, {1, 5, 4, 4}), {"5 channels", "C_in = 2"}));
  EXPECT_TRUE(rejected(conv_status({}, kW, {2, 6, 6}), {"rank 4", "[2, 6, 6]"}));
  EXPECT_TRUE(rejected(conv_status({}, kW, {1, 2, 0, 6}), {"input shape", "dimension 2"}));
  EXPECT_TRUE(rejected(conv_status({}, kW, {1, 2, 2, 6}), {"empty", "2"}));              // 3x3 over 2 rows
  EXPECT_TRUE(rejected(conv_status({.dilation = {3, 1}}, kW, kX), {"empty"}));           // extent 7 > 6
  EXPECT_TRUE(rejected(convt_status({.pad_begin = {1, 0}, .pad_end = {1, 0}}, {2, 3, 1, 1}, {1, 2, 1, 4}),
                       {"empty"}));
  // Plan::output_shape reports the same errors without running.
  auto ctx = cpu();
  auto plan = make_conv(ctx, {}, filled(kW));
  ASSERT_TRUE(plan.ok());
  EXPECT_TRUE(rejected(plan->output_shape({1, 3, 6, 6}), {"channels"}));
  EXPECT_EQ(*plan->output_shape(kX), (Shape{1, 4, 4, 4}));
}

TEST(Validation, ShuffleUnpoolResample) {
  auto ctx = cpu();
  EXPECT_TRUE(rejected(make_pixel_shuffle(ctx, {0}), {"factor", "got 0"}));
  EXPECT_TRUE(rejected(make_pixel_shuffle(ctx, {-2}), {"factor", "-2"}));
  EXPECT_TRUE(rejected(make_pixel_unshuffle(ctx, {5000}), {"factor", "5000"}));
  EXPECT_TRUE(rejected(make_pixel_shuffle(ctx, {2, static_cast<ShuffleMode>(7)}), {"mode", "7"}));
  auto ps = make_pixel_shuffle(ctx, {2});
  ASSERT_TRUE(ps.ok());
  Tensor y;
  EXPECT_TRUE(rejected(ps->run(filled({1, 6, 2, 2}), y), {"channels (6)", "factor^2 = 4"}));
  EXPECT_TRUE(rejected(ps->run(filled({1, 4, 2}), y), {"rank 4"}));
  auto pu = make_pixel_unshuffle(ctx, {2});
  ASSERT_TRUE(pu.ok());
  EXPECT_TRUE(rejected(pu->run(filled({1, 1, 5, 4}), y), {"(5, 4)", "factor = 2"}));

  EXPECT_TRUE(rejected(make_max_unpool2d(ctx, {.kernel = {0, 2}}), {"kernel[0]", "got 0"}));
  EXPECT_TRUE(rejected(make_max_unpool2d(ctx, {.stride = {2, -1}}), {"stride[1]", "-1"}));
  EXPECT_TRUE(rejected(make_max_unpool2d(ctx, {.kernel = {3, 3}, .padding = {2, 0}}), {"padding[0]", "kernel / 2 = 1", "got 2"}));
  EXPECT_TRUE(rejected(make_max_unpool2d(ctx, {.padding = {0, -1}}), {"padding[1]", "-1"}));
  EXPECT_TRUE(rejected(make_max_unpool2d(ctx, {.output_size = Pair{0, 4}}), {"output_size[0]", "got 0"}));
  auto up = make_max_unpool2d(ctx, {.output_size = Pair{4, 9}});  // 2x2 input: default 4x4, range (2, 6)
  ASSERT_TRUE(up.ok());
  EXPECT_TRUE(rejected(up->run(filled({1, 1, 2, 2}), IndexTensor({1, 1, 2, 2}), y), {"output_size[1] = 9", "2", "6"}));

  EXPECT_TRUE(rejected(make_upsample_nearest2d(ctx, {{0, 2}}), {"factor[0]", "got 0"}));
  EXPECT_TRUE(rejected(make_bed_of_nails2d(ctx, {{2, -2}}), {"factor[1]", "-2"}));
  auto us = make_upsample_nearest2d(ctx, {{1 << 20, 1 << 20}});
  ASSERT_TRUE(us.ok());
  EXPECT_FALSE(us->run(filled({1, 1, 64, 64}), y).ok());  // 2^52 elements: refused, not allocated
}

TEST(Validation, MovedFromContextIsAnErrorNotACrash) {
  auto ctx = cpu();
  Context other = std::move(ctx);
  EXPECT_TRUE(rejected(make_conv(ctx, {}, filled(kW)), {"context"}));  // NOLINT(bugprone-use-after-move)
  EXPECT_TRUE(make_conv(other, {}, filled(kW)).ok());
  // Its accessors answer instead of dereferencing nothing.
  EXPECT_NE(ctx.description().find("moved-from"), std::string::npos);  // NOLINT(bugprone-use-after-move)
  EXPECT_EQ(ctx.num_threads(), 0);                                     // NOLINT(bugprone-use-after-move)
  EXPECT_EQ(ctx.backend(), BackendKind::cpu);                          // NOLINT(bugprone-use-after-move)
}

// Tensor storage is a public vector: a tensor whose storage disagrees with its shape, or one
// built from an invalid shape, is rejected by name before any kernel reads it.
TEST(Validation, StorageThatDisagreesWithTheShapeIsAnError) {
  auto ctx = cpu();
  Tensor short_weight = filled(kW);
  short_weight.storage().pop_back();
  EXPECT_TRUE(rejected(make_conv(ctx, {}, short_weight), {"weight", "elements", shape_to_string(kW)}));
  EXPECT_TRUE(rejected(make_conv_transpose(ctx, {}, short_weight), {"weight", "elements"}));
  Tensor short_bias = filled({kW[0]});
  short_bias.storage().resize(2);
  EXPECT_TRUE(rejected(make_conv(ctx, {}, filled(kW), &short_bias), {"bias", "elements"}));

  auto plan = make_conv(ctx, {}, filled(kW));
  ASSERT_TRUE(plan.ok());
  Tensor x = filled(kX), y;
  x.storage().resize(3);
  EXPECT_TRUE(rejected(plan->run(x, y), {"input", "3 elements", shape_to_string(kX)}));
  EXPECT_TRUE(rejected(plan->run(Tensor({1, 2, -6, 6}), y), {"input shape", "-6"}));

  auto unpool = make_max_unpool2d(ctx, {.kernel = {2, 2}});
  ASSERT_TRUE(unpool.ok());
  IndexTensor idx({1, 1, 2, 2});
  idx.storage().clear();
  EXPECT_TRUE(rejected(unpool->run(filled({1, 1, 2, 2}), idx, y), {"indices", "0 elements"}));
}

// Every index must name an element of its (n, c) output plane (4 x 4 here); the check looks at
// 32-bit halves, so values whose low half alone would be in range are rejected too.
TEST(Validation, UnpoolIndicesOutsideThePlane) {
  auto ctx = cpu();
  auto unpool = make_max_unpool2d(ctx, {.kernel = {2, 2}});
  ASSERT_TRUE(unpool.ok());
  Tensor y;
  for (int64_t bad : {int64_t{-1}, int64_t{16}, (int64_t{1} << 32) + 3, int64_t{-4294967296}, INT64_MIN}) {
    IndexTensor idx({1, 2, 2, 2}, {0, 2, 8, 10, 1, 3, 9, 11});
    idx.storage()[6] = bad;
    EXPECT_TRUE(rejected(unpool->run(filled({1, 2, 2, 2}), idx, y), {"indices element 6", std::to_string(bad)}));
  }
  IndexTensor ok({1, 2, 2, 2}, {0, 2, 8, 10, 1, 3, 9, 15});
  EXPECT_TRUE(unpool->run(filled({1, 2, 2, 2}), ok, y).ok());
}

// The CPU kernel checks indices as it scatters them, plane by plane on several threads: the
// error still names the first bad element in C order, whichever plane a thread met first, on
// small and large (16 MiB) outputs, and the plan keeps working afterwards.
TEST(Validation, UnpoolIndicesOutsideThePlaneAnyPlaneAnyThreadCount) {
  for (int threads : {1, 2})
    for (int64_t side : {16, 512}) {  // output planes of 32 x 32 and 1024 x 1024 floats (4 planes: 16 MiB)
      auto ctx = Context::create({.backend = BackendKind::cpu, .num_threads = threads});
      ASSERT_TRUE(ctx.ok());
      auto unpool = make_max_unpool2d(*ctx, {.kernel = {2, 2}});
      ASSERT_TRUE(unpool.ok());
      const Shape shape{2, 2, side, side};
      IndexTensor idx(shape);
      for (int64_t p = 0; p < 4; ++p)
        for (int64_t i = 0; i < side; ++i)
          for (int64_t j = 0; j < side; ++j) idx.data()[(p * side + i) * side + j] = (2 * i) * (2 * side) + 2 * j;
      Tensor y;
      ASSERT_TRUE(unpool->run(filled(shape), idx, y).ok());
      const int64_t plane = side * side, first = 2 * plane + 5, later = 3 * plane + 1;
      idx.data()[later] = -7;
      idx.data()[first] = 4 * plane;
      EXPECT_TRUE(rejected(unpool->run(filled(shape), idx, y),
                           {"indices element " + std::to_string(first), std::to_string(4 * plane)}))
          << threads << " threads, side " << side;
      idx.data()[first] = 0;
      EXPECT_TRUE(rejected(unpool->run(filled(shape), idx, y), {"indices element " + std::to_string(later), "-7"}));
      idx.data()[later] = 1;
      EXPECT_TRUE(unpool->run(filled(shape), idx, y).ok()) << "a plan that rejected indices runs again";
    }
}

// An empty batch (N = 0) is valid, as in PyTorch: every op returns an empty output of the right
// shape without computing anything. Other zero extents stay errors.
TEST(Validation, EmptyBatchGivesAnEmptyOutputOfTheRightShape) {
  auto ctx = cpu();
  Tensor y({1});
  auto conv = make_conv_transpose(ctx, {.stride = {2, 2}}, filled({3, 4, 2, 2}));
  ASSERT_TRUE(conv.ok());
  ASSERT_TRUE(conv->run(Tensor({0, 3, 5, 6}), y).ok());
  EXPECT_EQ(y.shape(), (Shape{0, 4, 10, 12}));
  EXPECT_EQ(y.size(), 0);
  auto conv1d = make_conv(ctx, {.spatial_rank = 1}, filled({4, 3, 3}));
  ASSERT_TRUE(conv1d.ok());
  ASSERT_TRUE(conv1d->run(Tensor({0, 3, 7}), y).ok());
  EXPECT_EQ(y.shape(), (Shape{0, 4, 5}));
  auto shuffle = make_pixel_shuffle(ctx, {});
  ASSERT_TRUE(shuffle.ok());
  ASSERT_TRUE(shuffle->run(Tensor({0, 8, 2, 3}), y).ok());
  EXPECT_EQ(y.shape(), (Shape{0, 2, 4, 6}));
  auto unpool = make_max_unpool2d(ctx, {.kernel = {2, 2}});
  ASSERT_TRUE(unpool.ok());
  ASSERT_TRUE(unpool->run(Tensor({0, 2, 3, 3}), IndexTensor({0, 2, 3, 3}), y).ok());
  EXPECT_EQ(y.shape(), (Shape{0, 2, 6, 6}));
  EXPECT_TRUE(rejected(conv->run(Tensor({1, 3, 0, 6}), y), {"dimension 2"}));
  EXPECT_TRUE(rejected(shuffle->run(Tensor({1, 0, 2, 3}), y), {"dimension 1"}));
}

TEST(Validation, MovedFromPlanAndInPlaceRunsAreErrorsNotCrashes) {
  auto ctx = cpu();
  auto made = make_conv(ctx, {}, filled(kW));
  ASSERT_TRUE(made.ok());
  Plan plan = std::move(made).value();
  Tensor x = filled(kX), y;
  EXPECT_TRUE(rejected(plan.run(x, x), {"output", "different tensor"}));
  Plan other = std::move(plan);
  EXPECT_TRUE(rejected(plan.run(x, y), {"plan", "moved from"}));  // NOLINT(bugprone-use-after-move)
  EXPECT_TRUE(rejected(plan.output_shape(kX), {"moved from"}));  // NOLINT(bugprone-use-after-move)
  EXPECT_EQ(plan.last_device_time_ms(), -1.0);                   // NOLINT(bugprone-use-after-move)
  EXPECT_TRUE(other.run(x, y).ok());
  auto unpool = make_max_unpool2d(ctx, {.kernel = {2, 2}});
  ASSERT_TRUE(unpool.ok());
  Tensor u = filled({1, 1, 2, 2});
  IndexTensor idx({1, 1, 2, 2}, {0, 2, 8, 10});
  EXPECT_TRUE(rejected(unpool->run(u, idx, u), {"output", "different tensor"}));
}

// Random, mostly invalid attribute sets for every op: the plan and the reference agree on
// validity, errors are invalid_argument with a message, and valid cases match the reference.
TEST(Validation, FuzzNothingCrashes) {
  auto ctx = cpu();
  int valid = 0, invalid = 0;
  for (uint64_t seed = 0; seed < 1500; ++seed) {
    SplitMix r(seed);
    auto v = [&] { return r.uniform(-1, 5); };
    OpCase c = OpCase::random(seed);
    switch (r.uniform(0, 3)) {
      case 0: c.stride(v(), v()).dilation(v(), v()); break;
      case 1: c.pad(v(), v(), v(), v()).output_padding(v(), v()); break;
      case 2: c.channels(v(), v()).groups(v()).kernel(v(), v()); break;
      default: c.input(v(), v()).factor(v()).output_size(v(), v()); break;
    }
    auto want = c.reference();
    auto got = c.run(ctx);
    ASSERT_EQ(got.ok(), want.ok()) << c.describe() << ": " << (got.ok() ? want.status() : got.status()).to_string();
    if (got.ok()) {
      ++valid;
      EXPECT_TRUE(upconv::testing::compare_tensors(*got, *want, c.tolerance(), c.describe()));
    } else {
      ++invalid;
      EXPECT_EQ(got.status().code(), StatusCode::invalid_argument) << c.describe();
      EXPECT_FALSE(got.status().message().empty()) << c.describe();
    }
  }
  EXPECT_GT(valid, 100);
  EXPECT_GT(invalid, 100);
}

}  // namespace

// Structural properties of conv / conv_transpose that any correct backend must have, checked
// through the public API: groups are independent convs on channel slices, batch elements are
// independent, a 1-D op is the 2-D op with a height-1 kernel, the output_padding tail carries only
// the bias, and the fused activations follow their definitions.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "op_case.hpp"
#include "upconv/upconv.hpp"

namespace {

using namespace upconv;
using upconv::testing::compare_tensors;
using upconv::testing::OpCase;
using upconv::testing::SplitMix;

Context cpu() {
  auto ctx = Context::create({.backend = BackendKind::cpu});
  EXPECT_TRUE(ctx.ok());
  return std::move(ctx).value();
}

Tensor slice_channels(const Tensor& t, int64_t begin, int64_t count) {
  Shape s = t.shape();
  const int64_t inner = t.size() / (s[0] * s[1]);
  Tensor out([&] { Shape r = s; r[1] = count; return r; }());
  for (int64_t n = 0; n < s[0]; ++n)
    for (int64_t c = 0; c < count; ++c)
      for (int64_t i = 0; i < inner; ++i)
        out.data()[(n * count + c) * inner + i] = t.data()[(n * s[1] + begin + c) * inner + i];
  return out;
}

Tensor slice_batch(const Tensor& t, int64_t n) {
  Shape s = t.shape();
  const int64_t per = t.size() / s[0];
  s[0] = 1;
  return Tensor(s, std::vector<float>(t.data() + n * per, t.data() + (n + 1) * per));
}

Tensor run_case(Context& ctx, const OpCase& c, const Tensor& x, const Tensor& w, const Tensor* b) {
  Result<Plan> plan = c.kind() == upconv::testing::OpKind::conv ? make_conv(ctx, c.conv_params(), w, b)
                                                                 : make_conv_transpose(ctx, c.conv_transpose_params(), w, b);
  EXPECT_TRUE(plan.ok()) << c.describe() << ": " << plan.status().to_string();
  Tensor y;
  if (plan.ok()) {
    Status s = plan->run(x, y);
    EXPECT_TRUE(s.ok()) << c.describe() << ": " << s.to_string();
  }
  return y;
}

// A grouped op equals `groups` ungrouped ops on the channel slices, concatenated.
TEST(ConvSemantics, GroupsAreIndependentSlices) {
  auto ctx = cpu();
  int checked = 0;
  for (uint64_t seed = 0; seed < 200 && checked < 40; ++seed) {
    for (bool transposed : {false, true}) {
      OpCase c = transposed ? OpCase::random_conv_transpose(seed) : OpCase::random_conv(seed);
      const int64_t g = c.conv_params().groups;
      if (g < 2) continue;
      ++checked;
      const auto ops = c.operands();
      const Tensor* bias = ops.bias ? &*ops.bias : nullptr;
      const Tensor whole = run_case(ctx, c, ops.input, ops.weight, bias);
      // Weight dimension 0 is C_out (conv) or C_in (conv_transpose): sliced the same way as the
      // channels it belongs to.
      const int64_t c_in = ops.input.dim(1), c_out = whole.dim(1);
      const int64_t w_per = ops.weight.dim(0) / g;
      OpCase single = c;
      single.groups(1).channels(c_in / g, c_out / g);
      for (int64_t k = 0; k < g; ++k) {
        const Tensor xk = slice_channels(ops.input, k * (c_in / g), c_in / g);
        Tensor wk({w_per});
        {
          Shape ws = ops.weight.shape();
          ws[0] = w_per;
          const int64_t inner = ops.weight.size() / ops.weight.dim(0);
          wk = Tensor(ws, std::vector<float>(ops.weight.data() + k * w_per * inner,
                                             ops.weight.data() + (k + 1) * w_per * inner));
        }
        std::optional<Tensor> bk;
        if (bias) bk = slice_channels(Tensor({1, c_out, 1}, bias->storage()), k * (c_out / g), c_out / g);
        if (bk) bk->resize({c_out / g});
        const Tensor part = run_case(ctx, single, xk, wk, bk ? &*bk : nullptr);
        EXPECT_TRUE(compare_tensors(part, slice_channels(whole, k * (c_out / g), c_out / g), 1e-5,
                                    c.describe() + " group " + std::to_string(k)));
      }
    }
  }
  EXPECT_GE(checked, 40);
}

// Batch elements never mix.
TEST(ConvSemantics, BatchElementsAreIndependent) {
  auto ctx = cpu();
  for (uint64_t seed = 0; seed < 40; ++seed) {
    OpCase c = (seed % 2 ? OpCase::random_conv_transpose(seed) : OpCase::random_conv(seed)).batch(3);
    const auto ops = c.operands();
    const Tensor* bias = ops.bias ? &*ops.bias : nullptr;
    const Tensor whole = run_case(ctx, c, ops.input, ops.weight, bias);
    OpCase one = c;
    one.batch(1);
    for (int64_t n = 0; n < 3; ++n)
      EXPECT_TRUE(compare_tensors(run_case(ctx, one, slice_batch(ops.input, n), ops.weight, bias),
                                  slice_batch(whole, n), 0.0, c.describe() + " batch " + std::to_string(n)));
  }
}

// conv1d / conv_transpose1d equal the 2-D ops on (N, C, 1, L) with (.., 1, k) kernels.
TEST(ConvSemantics, OneDimensionalIsTwoDimensionalWithHeightOne) {
  auto ctx = cpu();
  for (uint64_t seed = 0; seed < 60; ++seed) {
    const bool transposed = seed % 2;
    OpCase c1 = transposed ? OpCase::random_conv_transpose(seed, 1) : OpCase::random_conv(seed, 1);
    const auto ops = c1.operands();
    const Tensor* bias = ops.bias ? &*ops.bias : nullptr;
    const Tensor y1 = run_case(ctx, c1, ops.input, ops.weight, bias);
    Shape xs = ops.input.shape(), ws = ops.weight.shape();
    xs.insert(xs.begin() + 2, 1);
    ws.insert(ws.begin() + 2, 1);
    Tensor y2;
    if (transposed) {
      ConvTransposeParams p = c1.conv_transpose_params();
      p.spatial_rank = 2;
      p.stride = {1, p.stride[0]};
      p.dilation = {1, p.dilation[0]};
      p.pad_begin = {0, p.pad_begin[0]};
      p.pad_end = {0, p.pad_end[0]};
      p.output_padding = {0, p.output_padding[0]};
      auto plan = make_conv_transpose(ctx, p, Tensor(ws, ops.weight.storage()), bias);
      ASSERT_TRUE(plan.ok()) << c1.describe() << ": " << plan.status().to_string();
      ASSERT_TRUE(plan->run(Tensor(xs, ops.input.storage()), y2).ok());
    } else {
      ConvParams p = c1.conv_params();
      p.spatial_rank = 2;
      p.stride = {1, p.stride[0]};
      p.dilation = {1, p.dilation[0]};
      p.pad_begin = {0, p.pad_begin[0]};
      p.pad_end = {0, p.pad_end[0]};
      auto plan = make_conv(ctx, p, Tensor(ws, ops.weight.storage()), bias);
      ASSERT_TRUE(plan.ok()) << c1.describe() << ": " << plan.status().to_string();
      ASSERT_TRUE(plan->run(Tensor(xs, ops.input.storage()), y2).ok());
    }
    ASSERT_EQ(y2.dim(2), 1) << c1.describe();
    y2.resize({y2.dim(0), y2.dim(1), y2.dim(3)});
    EXPECT_TRUE(compare_tensors(y1, y2, 1e-6, c1.describe()));
  }
}

// With no end padding, the output_padding rows/columns lie past every input's reach: they hold
// exactly activation(bias).
TEST(ConvSemantics, OutputPaddingTailIsBiasOnly) {
  auto ctx = cpu();
  const OpCase c = OpCase::conv_transpose2d()
                       .channels(2, 3)
                       .input(3, 4)
                       .kernel(2, 3)
                       .stride(3, 4)
                       .pad(1, 1, 0, 0)
                       .output_padding(2, 3)
                       .bias(true)
                       .activation(Activation::leaky_relu, 0.2f)
                       .seed(11);
  const auto ops = c.operands();
  auto y = c.run(ctx, ops);
  ASSERT_TRUE(y.ok()) << y.status().to_string();
  // H: 2*3 - 1 + 1 + 2 + 1 = 9 (last full row 6); W: 3*4 - 1 + 2 + 3 + 1 = 17 (last full col 13).
  ASSERT_EQ(y->shape(), (Shape{1, 3, 9, 17}));
  for (int64_t co = 0; co < 3; ++co) {
    const float b = ops.bias->data()[co];
    const float want = b > 0 ? b : 0.2f * b;
    for (int64_t h = 0; h < 9; ++h)
      for (int64_t w = 0; w < 17; ++w)
        if (h >= 7 || w >= 14) {
          EXPECT_EQ(y->data()[(co * 9 + h) * 17 + w], want) << "co=" << co << " h=" << h << " w=" << w;
        }
  }
}

// Each fused activation equals the activation applied to the un-fused (bias-included) result.
TEST(ConvSemantics, FusedActivationsFollowTheirDefinitions) {
  auto ctx = cpu();
  for (uint64_t seed = 0; seed < 30; ++seed) {
    OpCase base = (seed % 2 ? OpCase::random_conv_transpose(seed) : OpCase::random_conv(seed)).bias(true);
    base.activation(Activation::none);
    auto linear = base.run(ctx);
    ASSERT_TRUE(linear.ok()) << base.describe();
    struct Act {
      Activation kind;
      float alpha;
      double (*f)(double, double);
    };
    const Act acts[] = {
        {Activation::relu, 0.f, [](double x, double) { return x > 0 ? x : 0.0; }},
        {Activation::leaky_relu, 0.3f, [](double x, double a) { return x > 0 ? x : a * x; }},
        {Activation::leaky_relu, -1.5f, [](double x, double a) { return x > 0 ? x : a * x; }},
        {Activation::sigmoid, 0.f, [](double x, double) { return 1.0 / (1.0 + std::exp(-x)); }},
        {Activation::tanh, 0.f, [](double x, double) { return std::tanh(x); }},
    };
    for (const Act& a : acts) {
      OpCase c = base;
      c.activation(a.kind, a.alpha);
      auto y = c.run(ctx);
      ASSERT_TRUE(y.ok()) << c.describe();
      Tensor want = *linear;
      for (auto& v : want.storage()) v = static_cast<float>(a.f(v, a.alpha));
      EXPECT_TRUE(compare_tensors(*y, want, 1e-5, c.describe()));
    }
  }
}

// One plan, many input sizes (and repeated runs): every run matches the reference for its own
// input, so no per-shape state leaks between runs.
TEST(ConvSemantics, PlanIsReusableAcrossInputShapes) {
  auto ctx = cpu();
  for (uint64_t seed = 0; seed < 20; ++seed) {
    const OpCase c = seed % 2 ? OpCase::random_conv_transpose(seed) : OpCase::random_conv(seed);
    upconv::testing::Operands ops = c.operands();
    auto plan = c.make_plan(ctx, ops);
    ASSERT_TRUE(plan.ok()) << c.describe() << ": " << plan.status().to_string();
    SplitMix rng(seed + 77);
    for (int round = 0; round < 4; ++round) {
      Shape xs = ops.input.shape();
      for (size_t a = 2; a < xs.size(); ++a) xs[a] += rng.uniform(0, 5);
      xs[0] = rng.uniform(1, 3);
      upconv::testing::Operands next = ops;
      next.input = upconv::testing::random_tensor(xs, rng);
      auto want = c.reference(next);
      ASSERT_TRUE(want.ok()) << c.describe() << " input " << shape_to_string(xs);
      Tensor got;
      ASSERT_TRUE(plan->run(next.input, got).ok()) << c.describe();
      EXPECT_TRUE(compare_tensors(got, *want, c.tolerance(), c.describe() + " rerun with input " + shape_to_string(xs)));
    }
  }
}

}  // namespace

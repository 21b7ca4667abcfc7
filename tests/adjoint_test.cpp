// Transposed convolution is the adjoint of convolution (seeds 000 and 002):
//   <conv(x; w), y> == <x, conv_transpose(y; w)>
// for the same weight tensor, stride, padding, dilation and groups, over hundreds of seeded random
// attribute sets, through the public API on the CPU backend.
//
// Sizes: conv_transpose maps y (length i) to length X = (i-1)*s - pb - pe + d*(k-1) + op + 1.
// conv maps length X back to floor((X + pb + pe - d*(k-1) - 1) / s) + 1 = i + floor(op / s).
// When op >= s (allowed when dilation > stride) the conv output has extra trailing rows that y
// does not cover; the identity then holds with y zero-extended, i.e. comparing conv(x) cropped
// to y's extent. Those output_padding rows of conv_transpose(y) still receive contributions
// when pe > 0 (they are rows the end padding would otherwise crop) — both sides see them.
#include <gtest/gtest.h>

#include <cmath>

#include "op_case.hpp"
#include "upconv/upconv.hpp"

namespace {

using namespace upconv;
using upconv::testing::OpCase;
using upconv::testing::SplitMix;

struct Coverage {
  int rank1 = 0, rank2 = 0, grouped = 0, depthwise = 0, dilated = 0, strided = 0, asymmetric = 0,
      out_pad = 0, out_pad_ge_stride = 0, batched = 0;
};

// <a, b> over a's elements whose per-axis position lies inside b's extents (a may be larger).
struct Dot {
  double value = 0.0, magnitude = 0.0;
};
Dot cropped_dot(const Tensor& a, const Tensor& b) {
  Dot d;
  const int r = a.rank();
  const int64_t n = b.dim(0), c = b.dim(1);
  const int64_t bh = r == 4 ? b.dim(2) : 1, bw = b.dim(-1);
  const int64_t ah = r == 4 ? a.dim(2) : 1, aw = a.dim(-1);
  for (int64_t i = 0; i < n * c; ++i)
    for (int64_t h = 0; h < bh; ++h)
      for (int64_t w = 0; w < bw; ++w) {
        const double av = a.data()[(i * ah + h) * aw + w], bv = b.data()[(i * bh + h) * bw + w];
        d.value += av * bv;
        d.magnitude += std::fabs(av * bv);
      }
  return d;
}

::testing::AssertionResult adjoint_holds(Context& ctx, const OpCase& tc, Coverage& cov) {
  const std::string what = tc.describe();
  const auto ops = tc.operands();  // ops.input plays y, ops.weight is shared by both plans
  const Tensor& y = ops.input;
  auto convt = tc.make_plan(ctx, ops);
  if (!convt.ok()) return ::testing::AssertionFailure() << what << ": " << convt.status().to_string();
  Tensor ty;
  if (Status s = convt->run(y, ty); !s.ok()) return ::testing::AssertionFailure() << what << ": " << s.to_string();

  const ConvTransposeParams tp = tc.conv_transpose_params();
  ConvParams cp;
  cp.spatial_rank = tp.spatial_rank;
  cp.stride = tp.stride;
  cp.dilation = tp.dilation;
  cp.pad_begin = tp.pad_begin;
  cp.pad_end = tp.pad_end;
  cp.groups = tp.groups;
  auto conv = make_conv(ctx, cp, ops.weight);
  if (!conv.ok()) return ::testing::AssertionFailure() << what << ": conv " << conv.status().to_string();
  SplitMix rng(tc.seed() ^ 0x5DEECE66Dull);
  const Tensor x = upconv::testing::random_tensor(ty.shape(), rng);
  Tensor cx;
  if (Status s = conv->run(x, cx); !s.ok()) return ::testing::AssertionFailure() << what << ": " << s.to_string();
  for (int a = 2; a < cx.rank(); ++a)
    if (cx.dim(a) < y.dim(a))
      return ::testing::AssertionFailure() << what << ": conv output " << shape_to_string(cx.shape())
                                           << " smaller than y " << shape_to_string(y.shape());

  const Dot lhs = cropped_dot(cx, y), rhs = cropped_dot(x, ty);
  const double tol = 1e-5 * (1.0 + lhs.magnitude + rhs.magnitude);

  // Coverage bookkeeping.
  const int rank = tp.spatial_rank;
  (rank == 1 ? cov.rank1 : cov.rank2)++;
  const int64_t c_in = ops.weight.dim(0), c_out = ops.weight.dim(1) * tp.groups;
  if (tp.groups > 1) (tp.groups == c_in && tp.groups == c_out ? cov.depthwise : cov.grouped)++;
  for (int a = 0; a < rank; ++a) {
    if (tp.dilation[a] > 1) { cov.dilated++; break; }
  }
  for (int a = 0; a < rank; ++a) {
    if (tp.stride[a] > 1) { cov.strided++; break; }
  }
  for (int a = 0; a < rank; ++a) {
    if (tp.pad_begin[a] != tp.pad_end[a]) { cov.asymmetric++; break; }
  }
  for (int a = 0; a < rank; ++a) {
    if (tp.output_padding[a] > 0) { cov.out_pad++; break; }
  }
  for (int a = 0; a < rank; ++a) {
    if (tp.output_padding[a] >= tp.stride[a]) { cov.out_pad_ge_stride++; break; }
  }
  if (y.dim(0) > 1) cov.batched++;

  if (std::fabs(lhs.value - rhs.value) <= tol) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << what << ": <conv(x), y> = " << lhs.value << " but <x, conv_transpose(y)> = "
                                       << rhs.value << " (tolerance " << tol << ")";
}

TEST(Adjoint, ConvTransposeIsTheAdjointOfConv_RandomSweep) {
  auto ctx = Context::create({.backend = BackendKind::cpu});
  ASSERT_TRUE(ctx.ok());
  Coverage cov;
  int cases = 0;
  for (uint64_t seed = 1; seed <= 300; ++seed) {
    OpCase tc = OpCase::random_conv_transpose(seed).bias(false).activation(Activation::none);
    EXPECT_TRUE(adjoint_holds(*ctx, tc, cov));
    ++cases;
  }
  EXPECT_GE(cases, 200);
  // The sweep must actually reach every attribute the identity is claimed for.
  EXPECT_GE(cov.rank1, 50);
  EXPECT_GE(cov.rank2, 50);
  EXPECT_GE(cov.grouped, 20);
  EXPECT_GE(cov.depthwise, 20);
  EXPECT_GE(cov.dilated, 40);
  EXPECT_GE(cov.strided, 100);
  EXPECT_GE(cov.asymmetric, 100);
  EXPECT_GE(cov.out_pad, 50);
  EXPECT_GE(cov.out_pad_ge_stride, 5);
  EXPECT_GE(cov.batched, 50);
}

// Larger extents and channel counts (crossing SIMD tiles and thread splits of the backend).
TEST(Adjoint, LargeCases) {
  auto ctx = Context::create({.backend = BackendKind::cpu});
  ASSERT_TRUE(ctx.ok());
  Coverage cov;
  for (uint64_t seed = 1000; seed < 1040; ++seed)
    EXPECT_TRUE(adjoint_holds(*ctx, OpCase::random_conv_transpose(seed, 0, OpCase::Size::large).bias(false)
                                        .activation(Activation::none), cov));
}

// Hand-picked edges: output_padding >= stride (dilation > stride), pads larger than the kernel
// extent, stride larger than the kernel, 1x1 kernels.
TEST(Adjoint, Edges) {
  auto ctx = Context::create({.backend = BackendKind::cpu});
  ASSERT_TRUE(ctx.ok());
  Coverage cov;
  EXPECT_TRUE(adjoint_holds(*ctx, OpCase::conv_transpose1d().channels(2, 2).input(5).kernel(3).stride(1).dilation(3)
                                      .output_padding(2).pad(1, 2).seed(1), cov));
  EXPECT_TRUE(adjoint_holds(*ctx, OpCase::conv_transpose2d().channels(3, 3).groups(3).input(4, 3).kernel(2, 3)
                                      .stride(1, 2).dilation(4, 1).output_padding(3, 1).pad(0, 1, 2, 0).seed(2), cov));
  EXPECT_TRUE(adjoint_holds(*ctx, OpCase::conv_transpose2d().channels(2, 4).input(3, 3).kernel(2).stride(5)
                                      .output_padding(4).seed(3), cov));
  EXPECT_TRUE(adjoint_holds(*ctx, OpCase::conv_transpose2d().channels(4, 2).groups(2).input(4, 4).kernel(3).stride(2)
                                      .pad(3, 3, 3, 3).seed(4), cov));
  EXPECT_TRUE(adjoint_holds(*ctx, OpCase::conv_transpose2d().channels(5, 3).input(3, 2).kernel(1).stride(3)
                                      .output_padding(2, 1).seed(5), cov));
}

}  // namespace

// Seed 002's matrix view of convolution: a conv is multiplication by a sparse (Toeplitz-like)
// matrix C built from the kernel, and the transposed conv is multiplication by C^T. C is built
// here directly from the definition  y[co, oh, ow] = sum x[ci, oh*s - p + th*d, ow*s - p + tw*d]
// * w[co, ci', th, tw]  (one matrix entry per tap), then both plans are checked against the
// dense products.
#include <gtest/gtest.h>

#include <cmath>
#include <sstream>
#include <vector>

#include "op_case.hpp"
#include "upconv/upconv.hpp"

namespace {

using namespace upconv;
using upconv::testing::SplitMix;

struct MatrixCase {
  int64_t c_in, c_out, groups;
  int64_t ih, iw, kh, kw;
  int64_t sh, sw, dh, dw;
  int64_t pt, pl, pb, pr;

  std::string describe() const {
    std::ostringstream o;
    o << "C=" << c_in << "->" << c_out << " g=" << groups << " in=" << ih << "x" << iw << " k=" << kh << "x" << kw
      << " s=" << sh << "x" << sw << " d=" << dh << "x" << dw << " pad=(" << pt << "," << pl << ")-(" << pb << ","
      << pr << ")";
    return o.str();
  }
  int64_t oh() const { return (ih + pt + pb - dh * (kh - 1) - 1) / sh + 1; }
  int64_t ow() const { return (iw + pl + pr - dw * (kw - 1) - 1) / sw + 1; }
};

// Dense C, rows = outputs (co, oh, ow), columns = inputs (ci, ih, iw), for batch 1.
std::vector<double> conv_matrix(const MatrixCase& m, const Tensor& w) {
  const int64_t rows = m.c_out * m.oh() * m.ow(), cols = m.c_in * m.ih * m.iw;
  const int64_t cig = m.c_in / m.groups, cog = m.c_out / m.groups;
  std::vector<double> c(static_cast<size_t>(rows * cols), 0.0);
  for (int64_t co = 0; co < m.c_out; ++co)
    for (int64_t y = 0; y < m.oh(); ++y)
      for (int64_t x = 0; x < m.ow(); ++x) {
        const int64_t row = (co * m.oh() + y) * m.ow() + x;
        for (int64_t cl = 0; cl < cig; ++cl) {
          const int64_t ci = (co / cog) * cig + cl;
          for (int64_t th = 0; th < m.kh; ++th)
            for (int64_t tw = 0; tw < m.kw; ++tw) {
              const int64_t r = y * m.sh - m.pt + th * m.dh, s = x * m.sw - m.pl + tw * m.dw;
              if (r < 0 || r >= m.ih || s < 0 || s >= m.iw) continue;  // a zero of the padding
              const int64_t col = (ci * m.ih + r) * m.iw + s;
              c[static_cast<size_t>(row * cols + col)] += w.data()[((co * cig + cl) * m.kh + th) * m.kw + tw];
            }
        }
      }
  return c;
}

std::vector<double> multiply(const std::vector<double>& c, int64_t rows, int64_t cols, const Tensor& v,
                             bool transposed) {
  std::vector<double> out(static_cast<size_t>(transposed ? cols : rows), 0.0);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t k = 0; k < cols; ++k) {
      const double e = c[static_cast<size_t>(r * cols + k)];
      if (transposed)
        out[static_cast<size_t>(k)] += e * v.data()[r];
      else
        out[static_cast<size_t>(r)] += e * v.data()[k];
    }
  return out;
}

::testing::AssertionResult near(const Tensor& got, const std::vector<double>& want, const std::string& what) {
  if (got.size() != static_cast<int64_t>(want.size()))
    return ::testing::AssertionFailure() << what << ": size " << got.size() << " != " << want.size();
  for (int64_t i = 0; i < got.size(); ++i)
    if (!(std::fabs(got.data()[i] - want[static_cast<size_t>(i)]) <= 1e-5 * (1 + std::fabs(want[static_cast<size_t>(i)]))))
      return ::testing::AssertionFailure() << what << ": element " << i << " got " << got.data()[i] << " want "
                                           << want[static_cast<size_t>(i)];
  return ::testing::AssertionSuccess();
}

void check_case(const MatrixCase& m, uint64_t seed) {
  const std::string what = m.describe() + " seed=" + std::to_string(seed);
  SplitMix rng(seed);
  auto ctx = Context::create({.backend = BackendKind::cpu});
  ASSERT_TRUE(ctx.ok());
  const Tensor w = upconv::testing::random_tensor({m.c_out, m.c_in / m.groups, m.kh, m.kw}, rng);
  const Tensor x = upconv::testing::random_tensor({1, m.c_in, m.ih, m.iw}, rng);
  const Tensor y = upconv::testing::random_tensor({1, m.c_out, m.oh(), m.ow()}, rng);
  const auto c = conv_matrix(m, w);
  const int64_t rows = m.c_out * m.oh() * m.ow(), cols = m.c_in * m.ih * m.iw;

  ConvParams cp;
  cp.stride = {m.sh, m.sw};
  cp.dilation = {m.dh, m.dw};
  cp.pad_begin = {m.pt, m.pl};
  cp.pad_end = {m.pb, m.pr};
  cp.groups = m.groups;
  auto conv = make_conv(*ctx, cp, w);
  ASSERT_TRUE(conv.ok()) << what << ": " << conv.status().to_string();
  Tensor cx;
  ASSERT_TRUE(conv->run(x, cx).ok()) << what;
  EXPECT_TRUE(near(cx, multiply(c, rows, cols, x, false), what + " conv = C x"));

  // The same weight tensor, read as a conv_transpose weight (C_in' = c_out, C_out'/g = c_in/g),
  // maps y back to x's space. output_padding restores the rows the conv's floor division dropped.
  ConvTransposeParams tp;
  tp.stride = cp.stride;
  tp.dilation = cp.dilation;
  tp.pad_begin = cp.pad_begin;
  tp.pad_end = cp.pad_end;
  tp.groups = m.groups;
  tp.output_padding = {(m.ih + m.pt + m.pb - m.dh * (m.kh - 1) - 1) % m.sh,
                       (m.iw + m.pl + m.pr - m.dw * (m.kw - 1) - 1) % m.sw};
  auto convt = make_conv_transpose(*ctx, tp, w);
  ASSERT_TRUE(convt.ok()) << what << ": " << convt.status().to_string();
  Tensor cty;
  ASSERT_TRUE(convt->run(y, cty).ok()) << what;
  EXPECT_EQ(cty.shape(), x.shape()) << what;
  EXPECT_TRUE(near(cty, multiply(c, rows, cols, y, true), what + " conv_transpose = C^T y"));
}

// Seed 002's example: 4x4 input, 3x3 kernel, stride 1, no padding -> C is 4 x 16, each row the
// kernel laid out on the flattened 4x4 grid at the window's offset.
TEST(MatrixView, Seed002FourBySixteen) {
  const MatrixCase m{1, 1, 1, 4, 4, 3, 3, 1, 1, 1, 1, 0, 0, 0, 0};
  const Tensor w({1, 1, 3, 3}, {1, 2, 3, 4, 5, 6, 7, 8, 9});
  const auto c = conv_matrix(m, w);
  ASSERT_EQ(c.size(), 64u);
  const std::vector<double> expected = {
      1, 2, 3, 0, 4, 5, 6, 0, 7, 8, 9, 0, 0, 0, 0, 0,  // window at (0,0)
      0, 1, 2, 3, 0, 4, 5, 6, 0, 7, 8, 9, 0, 0, 0, 0,  // (0,1)
      0, 0, 0, 0, 1, 2, 3, 0, 4, 5, 6, 0, 7, 8, 9, 0,  // (1,0)
      0, 0, 0, 0, 0, 1, 2, 3, 0, 4, 5, 6, 0, 7, 8, 9,  // (1,1)
  };
  EXPECT_EQ(c, expected);
  check_case(m, 2);
}

TEST(MatrixView, SmallCasesWithStridePaddingDilationGroups) {
  const std::vector<MatrixCase> cases = {
      {1, 1, 1, 2, 2, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1},  // seed 001 example 2
      {1, 1, 1, 5, 5, 3, 3, 2, 2, 1, 1, 0, 0, 0, 0},
      {2, 3, 1, 4, 5, 2, 3, 1, 2, 1, 1, 1, 0, 0, 2},  // asymmetric padding
      {1, 2, 1, 6, 6, 3, 3, 1, 1, 2, 2, 2, 2, 2, 2},  // dilated
      {4, 4, 4, 5, 4, 3, 3, 2, 1, 1, 2, 1, 2, 1, 0},  // depthwise
      {4, 6, 2, 5, 5, 2, 2, 3, 3, 1, 1, 0, 1, 1, 0},  // groups, stride > kernel
      {3, 3, 3, 7, 6, 3, 2, 2, 3, 2, 1, 2, 0, 1, 1},  // groups x dilation x stride
      {2, 2, 1, 1, 7, 1, 4, 1, 2, 1, 2, 0, 3, 0, 3},  // a 1-D-like row
  };
  for (size_t i = 0; i < cases.size(); ++i) check_case(cases[i], 100 + i);
}

// The 1-D op is the same matrix with one row axis; checked through a plan of rank 1.
TEST(MatrixView, OneDimensionalConvIsTheSameMatrix) {
  const MatrixCase m{2, 2, 2, 1, 9, 1, 3, 1, 2, 1, 2, 0, 2, 0, 1};
  SplitMix rng(5);
  auto ctx = Context::create({.backend = BackendKind::cpu});
  ASSERT_TRUE(ctx.ok());
  const Tensor w4 = upconv::testing::random_tensor({2, 1, 1, 3}, rng);
  const Tensor x3 = upconv::testing::random_tensor({1, 2, 9}, rng);
  const Tensor w3({2, 1, 3}, w4.storage());
  ConvParams p;
  p.spatial_rank = 1;
  p.stride = {2, 0};
  p.dilation = {2, 0};
  p.pad_begin = {2, 0};
  p.pad_end = {1, 0};
  p.groups = 2;
  auto plan = make_conv(*ctx, p, w3);
  ASSERT_TRUE(plan.ok()) << plan.status().to_string();
  Tensor y;
  ASSERT_TRUE(plan->run(x3, y).ok());
  const auto c = conv_matrix(m, w4);
  EXPECT_TRUE(near(y, multiply(c, 2 * m.oh() * m.ow(), 2 * 9, x3, false), m.describe()));
}

}  // namespace

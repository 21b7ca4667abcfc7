// The row kernel's Winograd F(2, 2) form for a W phase of two taps at least two vectors apart
// (cpu/kernels/conv_row_pairs.ipp; AVX-512 only): against the scalar reference at the direct
// kernels' tolerance, over the geometry its blocks of 2d outputs meet (full blocks, a last block
// with fewer pairs than d, with pairs that are not whole vectors, with fewer than a vector of
// pairs, rows of one block only), the kernels it is chosen over, and which layers take it.
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "cpu_conv_case.hpp"

namespace upconv::testing {
namespace {

using detail::cpu::ConvTileKind;
using detail::cpu::Isa;

// A WaveNet-style dilated conv: kernel 1 x 2, dilation d along W, no padding.
ConvCase dilated_pair(int64_t c_in, int64_t c_out, int64_t h, int64_t w, int64_t d) {
  ConvCase c = conv_case(c_in, c_out, h, w, 1, 2);
  c.dw = d;
  return c;
}

bool has_avx512() {
  for (Isa isa : detail::cpu::available_isas())
    if (isa == Isa::avx512f) return true;
  return false;
}

// The kernel the last run of case c took on AVX-512 (one run at c's width), its result checked.
ConvTileKind kernel_of(const ConvCase& c, ConvTileKind tile = ConvTileKind::automatic) {
  std::vector<int64_t> floats;
  std::vector<ConvTileKind> kernels;
  const std::string err = check_one_kernel_over_widths(c, Isa::avx512f, {c.w}, floats, &kernels, tile);
  EXPECT_TRUE(err.empty()) << err;
  return kernels.empty() ? ConvTileKind::automatic : kernels.back();
}

// Case c takes the row-pair tiles, matches the reference at the direct tolerance, and gives the
// same bits on `threads` threads as on one, writing nothing past the output.
void expect_row_pairs_match(const ConvCase& c, int threads) {
  EXPECT_EQ(kernel_of(c, ConvTileKind::row_pairs), ConvTileKind::row_pairs) << c.describe();
  const std::string err = check_against_reference(c, Isa::avx512f, ConvTileKind::row_pairs, 1);
  EXPECT_TRUE(err.empty()) << err;
  const ConvRun one = run_fast(c, Isa::avx512f, ConvTileKind::row_pairs, 1);
  const ConvRun many = run_fast(c, Isa::avx512f, ConvTileKind::row_pairs, threads);
  EXPECT_FALSE(many.wrote_past_end) << c.describe();
  EXPECT_EQ(one.y, many.y) << c.describe() << " threads=" << threads;
}

// Output widths w - d around the block structure for d = 32, 33, 40, 64: whole blocks of 2d, a
// last block of d + a vector and a bit (pairs not whole vectors), of d + less than a vector (its
// first half left to row tiles), of less than d, and exactly 2d (one block). Output channels
// that fill 8-row blocks, leave one short, and take 4-row blocks; 1 and 3 threads, which must
// agree bit for bit.
TEST(CpuRowPairs, MatchTheReferenceAroundTheirBlocks) {
  if (!has_avx512()) GTEST_SKIP() << "the row-pair form is AVX-512 only";
  uint64_t seed = 4000;
  for (int64_t d : {32, 33, 40, 64})
    for (int64_t outputs : {4 * d, 3 * d + 21, 3 * d + 5, 2 * d + d / 2, 2 * d, 5 * d + 16})
      for (int64_t co : {3, 8, 13}) {
        ConvCase c = dilated_pair(6, co, 1, outputs + d, d);
        c.seed = seed++;
        expect_row_pairs_match(c, 3);
      }
}

// Rows longer than one item (whole blocks of 2d, about 256 outputs: the chunk boundaries are
// block boundaries), several H taps with rows in the padding skipped, W padding (read through
// the ring of padded rows, the copy reading zeros past the row's end), groups, batch, bias and
// activations; a conv_transpose of W stride 1, whose W taps come in decreasing input offset.
TEST(CpuRowPairs, TwoDimensionalGroupedPaddedAndTransposed) {
  if (!has_avx512()) GTEST_SKIP() << "the row-pair form is AVX-512 only";
  ConvCase long_row = dilated_pair(5, 9, 2, 700, 48);
  long_row.seed = 4100;
  ConvCase two_d = dilated_pair(4, 8, 7, 150, 35);
  two_d.kh = 3;
  two_d.dh = 2;
  two_d.pt = 5, two_d.pb = 2;  // output row 0 reads padding only
  two_d.pl = 3, two_d.pr = 5;
  two_d.bias = true;
  two_d.act = Activation::leaky_relu;
  two_d.seed = 4101;
  ConvCase grouped = dilated_pair(8, 16, 3, 150, 40);
  grouped.groups = 2;
  grouped.n = 2;
  grouped.bias = true;
  grouped.act = Activation::tanh;
  grouped.seed = 4102;
  ConvCase transposed = dilated_pair(6, 12, 2, 120, 32);
  transposed.transposed = true;
  transposed.pl = transposed.pr = 4;
  transposed.seed = 4103;
  for (const ConvCase& c : {long_row, two_d, grouped, transposed}) expect_row_pairs_match(c, 2);
}

// One kernel object over changing widths: every width sizes its own copy and blocks (and a
// width too short to pair goes back to plain row tiles).
TEST(CpuRowPairs, WidthsChangeBetweenRuns) {
  if (!has_avx512()) GTEST_SKIP() << "the row-pair form is AVX-512 only";
  ConvCase c = dilated_pair(7, 8, 1, 200, 32);
  c.bias = true;
  std::vector<int64_t> floats;
  std::vector<ConvTileKind> kernels;
  const std::string err =
      check_one_kernel_over_widths(c, Isa::avx512f, {200, 97, 600, 90, 200}, floats, &kernels, ConvTileKind::row_pairs);
  EXPECT_TRUE(err.empty()) << err;
  ASSERT_EQ(kernels.size(), 5u);
  for (size_t k : {0, 1, 2, 4}) EXPECT_EQ(kernels[k], ConvTileKind::row_pairs) << k;
  EXPECT_NE(kernels[3], ConvTileKind::row_pairs);  // 58 outputs: fewer than 2d
}

// The automatic choice takes it for WaveNet's layer shape and where its conditions hold, not with
// taps closer than two vectors, a row shorter than 2d, items whose scratch would pass 8 MB,
// three W taps, a W stride, one or two
// output channels (row blocks too narrow for its tiles), when a test forces plain row tiles, or
// when the environment asks for the direct form.
TEST(CpuRowPairs, ChosenWhereTwoWTapsAreTwoVectorsApart) {
  if (!has_avx512()) GTEST_SKIP() << "the row-pair form is AVX-512 only";
  EXPECT_EQ(kernel_of(dilated_pair(64, 64, 1, 1000, 64)), ConvTileKind::row_pairs);
  EXPECT_EQ(kernel_of(dilated_pair(16, 4, 1, 200, 32)), ConvTileKind::row_pairs);
  EXPECT_NE(kernel_of(dilated_pair(16, 8, 1, 200, 31)), ConvTileKind::row_pairs);
  EXPECT_NE(kernel_of(dilated_pair(16, 8, 1, 100, 40)), ConvTileKind::row_pairs);  // 60 outputs < 2d
  ConvCase three = dilated_pair(16, 8, 1, 200, 32);
  three.kw = 3;
  EXPECT_NE(kernel_of(three), ConvTileKind::row_pairs);
  ConvCase strided = dilated_pair(16, 8, 1, 200, 32);
  strided.sw = 2;
  EXPECT_NE(kernel_of(strided), ConvTileKind::row_pairs);
  EXPECT_NE(kernel_of(dilated_pair(16, 2, 1, 200, 32)), ConvTileKind::row_pairs);
  // Items of whole blocks of 2d would need more than 8 MB of scratch per thread: 512 channels
  // at d = 2048 (a 4096-output item, a 6192-float copy row per channel); 64 channels do not.
  EXPECT_EQ(kernel_of(dilated_pair(64, 8, 1, 6200, 2048)), ConvTileKind::row_pairs);
  EXPECT_NE(kernel_of(dilated_pair(512, 8, 1, 6200, 2048)), ConvTileKind::row_pairs);
  EXPECT_EQ(kernel_of(dilated_pair(16, 8, 1, 200, 32), ConvTileKind::rows), ConvTileKind::rows);
  // UPCONV_CPU_WINOGRAD=0 (read when the kernel is created) keeps the direct form's rounding.
  ::setenv("UPCONV_CPU_WINOGRAD", "0", 1);
  const ConvTileKind direct = kernel_of(dilated_pair(64, 64, 1, 1000, 64));
  ::unsetenv("UPCONV_CPU_WINOGRAD");
  EXPECT_EQ(direct, ConvTileKind::rows);
}

}  // namespace
}  // namespace upconv::testing

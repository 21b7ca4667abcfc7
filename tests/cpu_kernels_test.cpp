// The optimised CPU conv / conv_transpose kernels against the scalar reference, once per ISA the
// machine supports and per register-tile kind (row tiles, channel tiles, automatic choice).
#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>

#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "cpu/kernels/conv_job.hpp"
#include "cpu_conv_case.hpp"
#include "upconv/upconv.hpp"

namespace upconv::testing {
namespace {

using detail::cpu::ConvTileKind;
using detail::cpu::Isa;

const char* tile_name(ConvTileKind t) {
  return t == ConvTileKind::rows ? "rows" : t == ConvTileKind::channels ? "channels"
       : t == ConvTileKind::depthwise ? "depthwise" : t == ConvTileKind::winograd ? "winograd"
       : t == ConvTileKind::pointwise ? "pointwise" : "auto";
}

class CpuConvKernels : public ::testing::TestWithParam<std::tuple<Isa, ConvTileKind>> {
 protected:
  Isa isa() const { return std::get<0>(GetParam()); }
  ConvTileKind tile() const { return std::get<1>(GetParam()); }
  void expect_matches(const ConvCase& c, int threads = 1) {
    const std::string err = check_against_reference(c, isa(), tile(), threads);
    EXPECT_TRUE(err.empty()) << err;
  }
};

ConvCase ct(int64_t c_in, int64_t c_out, int64_t h, int64_t w, int64_t k, int64_t s, int64_t p) {
  ConvCase c;
  c.transposed = true;
  c.c_in = c_in;
  c.c_out = c_out;
  c.h = h;
  c.w = w;
  c.kh = c.kw = k;
  c.sh = c.sw = s;
  c.pt = c.pl = c.pb = c.pr = p;
  return c;
}

ConvCase cv(int64_t c_in, int64_t c_out, int64_t h, int64_t w, int64_t k, int64_t s, int64_t p, int64_t d) {
  ConvCase c = ct(c_in, c_out, h, w, k, s, p);
  c.transposed = false;
  c.dh = c.dw = d;
  return c;
}

TEST_P(CpuConvKernels, SeedExample2x2Kernel) {
  expect_matches(ct(1, 1, 2, 2, 2, 1, 0));
  expect_matches(ct(1, 1, 2, 2, 3, 2, 1));
}

TEST_P(CpuConvKernels, OddChannelsAndWidthsAroundVectorAndTile) {
  for (int64_t w : {1, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33, 47, 48, 49, 127, 128, 129})
    for (int64_t co : {1, 3, 7, 8, 9, 17}) {
      ConvCase c = ct(3, co, 3, w, 4, 2, 1);
      c.seed = static_cast<uint64_t>(w * 100 + co);
      expect_matches(c);
      ConvCase f = cv(5, co, 2, w, 3, 1, 1, 1);
      f.seed = c.seed;
      expect_matches(f);
    }
}

// Rows longer than one row-kernel item (about 256 outputs, a whole number of the widest tiles for
// the block's rows and the ISA: 240, 256, 264 or 288), for every block height (1, 2, 4 and 8
// output channels), read in place (no padding) and through the padded-row ring, and a stride-2
// transposed conv whose two W phases are paired.
TEST_P(CpuConvKernels, RowsLongerThanOneItem) {
  for (int64_t w : {239, 241, 256, 265, 289, 530})
    for (int64_t co : {1, 2, 4, 8, 9}) {
      ConvCase in_place = cv(3, co, 1, w, 3, 1, 0, 1);
      in_place.seed = static_cast<uint64_t>(w * 10 + co);
      expect_matches(in_place);
      ConvCase padded = cv(2, co, 2, w, 3, 1, 1, 2);
      padded.seed = in_place.seed + 1;
      expect_matches(padded);
      ConvCase paired = ct(2, co, 1, w / 2, 2, 2, 0);
      paired.seed = in_place.seed + 2;
      expect_matches(paired);
    }
}

// Layers whose every phase is one tap reading its own input position (kernel = stride, no
// padding; 1x1 convs): the automatic choice runs them as channel GEMMs over panels of the whole
// input plane (the pointwise kernel), whose tiles cross input rows, and whose panel edges fall
// anywhere in a row. Output channels around the block height, groups, batches, bias and
// activation, H strides 1-3 with W strides 1 and 2.
TEST_P(CpuConvKernels, PointwisePhases) {
  struct Shape {
    int64_t c_in, c_out, h, w, kh, kw;
  };
  uint64_t seed = 900;
  for (const Shape& s : {Shape{3, 5, 4, 7, 2, 2}, Shape{16, 9, 5, 33, 2, 2}, Shape{20, 17, 20, 37, 2, 2},
                         Shape{8, 8, 3, 1, 2, 2}, Shape{6, 4, 7, 16, 3, 2}, Shape{5, 12, 6, 10, 2, 1},
                         Shape{7, 3, 9, 11, 1, 1}, Shape{32, 20, 12, 12, 1, 1}})
    for (int variant = 0; variant < 2; ++variant) {
      ConvCase c = ct(s.c_in, s.c_out, s.h, s.w, 1, 1, 0);
      c.kh = c.sh = s.kh;
      c.kw = c.sw = s.kw;
      c.transposed = s.kh * s.kw > 1;  // else a 1x1 conv
      c.seed = seed++;
      if (variant == 1) {
        c.n = 2;
        c.bias = true;
        c.act = c.transposed ? Activation::leaky_relu : Activation::tanh;
        if (s.c_in % 2 == 0 && s.c_out % 2 == 0) c.groups = 2;
      }
      expect_matches(c);
      expect_matches(c, 3);
    }
}

TEST_P(CpuConvKernels, ManyOutputChannels) {
  for (int64_t co : {15, 16, 31, 32, 33, 63, 64, 65, 96}) {
    expect_matches(ct(6, co, 5, 6, 4, 2, 1));
    expect_matches(cv(6, co, 6, 9, 3, 1, 2, 2));
  }
}

// One output channel per group with equal-length W phases takes the merged-phase row tile
// (phases share input loads); widths around the vector and tile sizes, fsrcnn-like attributes.
TEST_P(CpuConvKernels, SingleOutputChannelMergedPhases) {
  for (int64_t w : {1, 2, 5, 16, 17, 33, 96, 97, 129})
    for (int64_t s : {2, 3, 4}) {
      ConvCase c = ct(5, 1, 4, w, 3 * s, s, s + 1);
      c.oph = c.opw = s - 1;
      c.bias = true;
      c.act = Activation::leaky_relu;
      c.seed = static_cast<uint64_t>(w * 10 + s);
      expect_matches(c);
      ConvCase dw = ct(4, 4, 3, w, 4, s, 1);  // depthwise: one channel per group
      dw.groups = 4;
      dw.dw = 2;
      dw.seed = c.seed + 1;
      expect_matches(dw);
    }
}

// The merged phases' sliding-window tile (AVX-512; other ISAs take the merged tile, which this
// checks as well): kernels 1-4 strides long at strides 2-4, every padding below the stride (which
// moves the phases whose taps start one input column later), output padding that keeps the phase
// lengths equal, and widths of whole window tiles with and without a rest; two groups.
TEST_P(CpuConvKernels, SingleOutputChannelSlidingWindow) {
  for (int64_t s : {2, 3, 4})
    for (int64_t taps : {1, 2, 3, 4})
      for (int64_t pad = 0; pad < s; ++pad) {
        const int64_t tile_q = 16 * detail::cpu::slide_vectors(static_cast<int>(s));
        for (int64_t q : {tile_q, 2 * tile_q + 5}) {
          // out = (w - 1) s - 2 pad + taps s + op = q s: every phase q long.
          const int64_t op = (2 * pad) % s;
          const int64_t w = q - taps + 1 + (2 * pad - op) / s;
          if (w < 1) continue;
          ConvCase c = ct(6, 2, 3, w, taps * s, s, pad);
          c.groups = 2;
          c.kh = 3;
          c.pt = c.pb = 1;
          c.opw = op;
          c.bias = true;
          c.seed = static_cast<uint64_t>(s * 1000 + taps * 100 + pad * 10 + (q > tile_q));
          detail::Dims4 out;
          ASSERT_TRUE(c.output_dims(out));
          ASSERT_EQ(out.w, q * s) << c.describe();
          expect_matches(c);
        }
      }
}

// The row kernel pads the input rows its items read into a per-thread ring of rows: images and
// groups sharing row numbers, rows read out of order or far apart (dilation, input strides),
// item ranges split over threads; and the padded copy it falls back to when a ring would not
// fit in L2 (many wide channels) or holds too few rows (17 kernel rows); and an unpadded input
// that the ring takes because its channel planes alias in L1.
TEST_P(CpuConvKernels, RowKernelPaddedRows) {
  std::vector<ConvCase> cases;
  ConvCase a = cv(6, 4, 13, 11, 3, 2, 2, 3);  // H stride 2 (W 1: the row kernel), dilation 3
  a.sw = 1;
  a.n = 2;
  a.groups = 2;
  cases.push_back(a);
  ConvCase b = ct(4, 3, 7, 9, 7, 3, 2);  // seven kernel rows, rows of three phases
  b.n = 2;
  b.bias = true;
  cases.push_back(b);
  ConvCase c = cv(300, 2, 3, 500, 3, 1, 1, 1);  // a 7-row ring of 300 x 502 floats: too large
  cases.push_back(c);
  ConvCase d = cv(2, 2, 20, 6, 17, 1, 8, 1);  // 17 rows per output row
  d.kw = 3;
  d.pl = d.pr = 1;
  cases.push_back(d);
  // No padding, but channel planes 4 KB apart (they alias in L1): the ring instead of reading
  // the input in place (unet_up's case), two images of two groups.
  ConvCase e = ct(32, 8, 32, 32, 2, 2, 0);
  e.n = 2;
  e.groups = 2;
  e.bias = true;
  cases.push_back(e);
  uint64_t seed = 40;
  for (ConvCase& k : cases)
    for (int threads : {1, 2, 3}) {
      k.seed = seed++;
      expect_matches(k, threads);
    }
}

// The channel kernel's groups of tiles shrink to keep their packed inputs in L2, down to one
// tile: with 3000 input channels and 9 taps (27000 floats a position) a strided conv's budget
// would allow 4 positions; transposed with 1100 channels, 4 taps a phase.
TEST_P(CpuConvKernels, ChannelKernelGroupsOfOneTile) {
  ConvCase c = cv(3000, 20, 6, 9, 3, 2, 1, 1);
  c.bias = true;
  expect_matches(c, 2);
  ConvCase t = ct(1100, 33, 3, 5, 4, 2, 1);
  expect_matches(t, 2);
}

TEST_P(CpuConvKernels, StrideGreaterThanKernel) {
  expect_matches(ct(3, 4, 5, 6, 2, 3, 0));  // phases without taps get bias only
  ConvCase c = ct(2, 3, 4, 5, 1, 4, 0);
  c.bias = true;
  c.oph = c.opw = 3;
  expect_matches(c);
  expect_matches(cv(3, 4, 11, 13, 2, 3, 0, 1));
}

TEST_P(CpuConvKernels, DilationAndOutputPadding) {
  ConvCase c = ct(4, 5, 6, 7, 3, 2, 2);
  c.dh = 2;
  c.dw = 3;
  c.oph = 1;
  c.opw = 2;
  c.bias = true;
  expect_matches(c);
  expect_matches(cv(4, 6, 20, 24, 3, 1, 6, 6));
  expect_matches(cv(4, 6, 9, 30, 3, 2, 3, 3));
}

TEST_P(CpuConvKernels, AsymmetricPadding) {
  ConvCase c = ct(3, 5, 5, 9, 4, 2, 0);
  c.pt = 0;
  c.pb = 3;
  c.pl = 2;
  c.pr = 1;
  expect_matches(c);
  ConvCase f = cv(3, 5, 7, 9, 3, 1, 0, 2);
  f.pt = 4;
  f.pb = 0;
  f.pl = 1;
  f.pr = 3;
  expect_matches(f);
}

TEST_P(CpuConvKernels, GroupsDilationStrideTogether) {
  ConvCase c = ct(6, 9, 5, 7, 3, 3, 2);
  c.groups = 3;
  c.dh = 2;
  c.dw = 2;
  c.oph = 1;
  c.opw = 2;
  c.n = 2;
  c.bias = true;
  c.act = Activation::leaky_relu;
  expect_matches(c);
  ConvCase f = cv(8, 12, 10, 13, 3, 2, 2, 2);
  f.groups = 4;
  f.n = 2;
  expect_matches(f);
}

TEST_P(CpuConvKernels, Depthwise) {
  ConvCase c = ct(16, 16, 9, 20, 4, 2, 1);
  c.groups = 16;
  c.bias = true;
  expect_matches(c);
  ConvCase f = cv(7, 7, 9, 19, 3, 1, 2, 2);
  f.groups = 7;
  expect_matches(f);
}

// Depthwise layers in every form the depthwise kernel takes (automatic and depthwise params use
// it; rows and channels force the general kernels on the same cases): strides 1-4 (two stride-2
// phases are interleaved in registers, others go through a phase row), dilation, asymmetric
// padding, output padding, widths around the vector size, batch 2, every activation, 1-D.
TEST_P(CpuConvKernels, DepthwiseEveryForm) {
  uint64_t seed = 1;
  for (int64_t s : {1, 2, 3, 4})
    for (int64_t w : {1, 2, 7, 8, 15, 16, 17, 31, 33, 64})
      for (bool transposed : {true, false}) {
        ConvCase c = transposed ? ct(3, 3, 5, w, 2 * s, s, s / 2) : cv(3, 3, 6, w + 4, 3, s, 1, 1);
        c.groups = 3;
        c.n = 2;
        c.bias = seed % 2 == 0;
        c.act = static_cast<Activation>(seed % 5);
        if (transposed) c.oph = c.opw = s > 1 ? s - 1 : 0;
        c.seed = seed++;
        expect_matches(c);
      }
  ConvCase d = ct(4, 4, 6, 21, 3, 2, 1);
  d.groups = 4;
  d.dh = 2;
  d.dw = 3;
  d.pt = 0;
  d.pb = 2;
  d.pl = 3;
  d.pr = 1;
  expect_matches(d);
  ConvCase one = ct(5, 5, 1, 77, 1, 1, 0);  // 1-D transposed, kernel 4, stride 2
  one.kw = 4;
  one.sw = 2;
  one.pl = one.pr = 1;
  one.groups = 5;
  expect_matches(one);
  // Stride 2, kernel 6: 3 x 3 taps per phase inside, fewer at the borders, so rows take both the
  // compile-time tap counts (1-4 per phase) and the tap lists.
  ConvCase six = ct(3, 3, 6, 37, 6, 2, 2);
  six.groups = 3;
  six.bias = true;
  expect_matches(six);
  // Stride 3 over a 2-tap kernel: a third of the output rows and columns have no tap (bias only).
  ConvCase sparse = ct(3, 3, 7, 23, 2, 3, 0);
  sparse.groups = 3;
  sparse.bias = true;
  expect_matches(sparse);
  // Kernel 4 (and 4 x 2) at stride 2 with every padding parity: AVX-512 builds the taps' column
  // offsets from one load per kernel row (valignd) for each way phase 1's taps can sit against
  // phase 0's (one column on, level, one column back) and one or two valid kernel rows.
  for (int64_t pad : {0, 1, 2, 3})
    for (int64_t kw : {4, 2}) {
      ConvCase k4 = ct(2, 2, 7, 37, 4, 2, pad);
      k4.kw = kw;
      k4.pl = k4.pr = pad % kw;
      k4.groups = 2;
      k4.bias = true;
      k4.act = pad % 2 ? Activation::none : Activation::leaky_relu;
      expect_matches(k4);
    }
  // W stride 2 (interleaved in registers) under H strides of 3 and 5: the kernel keeps the tap
  // lists of up to four H phases while their rows share valid taps, any further phase shares
  // one slot; each phase's rows must read their own taps.
  for (int64_t sh : {3, 5}) {
    ConvCase tall = ct(3, 3, 9, 21, 4, 2, 1);
    tall.sh = sh;
    tall.kh = sh + 2;
    tall.groups = 3;
    tall.bias = true;
    tall.act = Activation::relu;
    expect_matches(tall);
  }
  ConvCase big = cv(2, 2, 3, 40, 9, 1, 4, 1);  // 81 taps: past the depthwise kernel's 64
  big.groups = 2;
  expect_matches(big);
}

TEST_P(CpuConvKernels, OneDimensional) {
  ConvCase w = cv(8, 8, 1, 300, 1, 1, 0, 1);  // WaveNet-like: kernel 1x2, dilation 64
  w.kw = 2;
  w.dw = 64;
  expect_matches(w);
  ConvCase t = ct(5, 3, 1, 50, 1, 1, 0);
  t.kw = 5;
  t.sw = 4;
  t.pl = 1;
  t.pr = 2;
  t.opw = 3;
  expect_matches(t);
}

TEST_P(CpuConvKernels, MoreThan64TapsPerPhase) {
  ConvCase c = cv(2, 17, 1, 150, 1, 1, 0, 1);  // 1-D, kernel 70: tap masks cover 64 taps only
  c.kw = 70;
  c.pl = 30;
  c.pr = 41;
  expect_matches(c);
  ConvCase t = ct(3, 5, 1, 20, 1, 1, 0);
  t.kw = 67;
  t.pl = 5;
  t.pr = 60;
  expect_matches(t);
}

TEST_P(CpuConvKernels, EveryActivationWithAndWithoutBias) {
  for (int a = 0; a <= 4; ++a)
    for (bool bias : {false, true}) {
      ConvCase c = ct(4, 20, 4, 37, 3, 2, 1);
      c.act = static_cast<Activation>(a);
      c.bias = bias;
      c.seed = static_cast<uint64_t>(a * 2 + bias);
      expect_matches(c);
      ConvCase f = cv(4, 5, 5, 21, 3, 1, 1, 1);
      f.act = c.act;
      f.bias = bias;
      expect_matches(f);
    }
}

TEST_P(CpuConvKernels, BenchLayerShapesScaledDown) {
  ConvCase g2 = ct(64, 32, 8, 8, 4, 2, 1);  // dcgan_g2
  expect_matches(g2);
  expect_matches(ct(32, 16, 16, 16, 2, 2, 0));  // unet_up
  ConvCase fs = ct(8, 1, 20, 20, 9, 3, 4);      // fsrcnn_x3
  fs.oph = fs.opw = 2;
  expect_matches(fs);
  ConvCase dw = ct(8, 8, 16, 40, 4, 2, 1);  // dw_up_x2
  dw.groups = 8;
  expect_matches(dw);
  expect_matches(ct(16, 8, 9, 48, 4, 2, 1));    // frame_up
  expect_matches(cv(32, 32, 24, 24, 3, 1, 12, 12));  // aspp_d12
}

TEST_P(CpuConvKernels, RandomConvTranspose) {
  for (uint64_t s = 0; s < 150; ++s) expect_matches(random_conv_case(s, true));
}

TEST_P(CpuConvKernels, RandomConv) {
  for (uint64_t s = 0; s < 150; ++s) expect_matches(random_conv_case(s, false));
}

TEST_P(CpuConvKernels, BitIdenticalForAnyThreadCount) {
  for (uint64_t s = 0; s < 20; ++s)
    for (bool transposed : {true, false}) {
      ConvCase c = random_conv_case(s + 1000, transposed);
      const ConvRun one = run_fast(c, isa(), tile(), 1);
      for (int threads : {2, 3}) {
        const ConvRun many = run_fast(c, isa(), tile(), threads);
        ASSERT_EQ(one.y.size(), many.y.size());
        EXPECT_EQ(0, std::memcmp(one.y.data(), many.y.data(), one.y.size() * sizeof(float)))
            << c.describe() << " threads=" << threads;
      }
    }
}

// The plan contract: distinct plans may run concurrently on one context. The CPU plans then
// share the context's thread pool, and the Winograd ones (all but the first: 64-channel 3x3
// convs, see CpuConvKernelWinograd) its conv workspace; every run must still compute its own
// result exactly.
TEST(CpuBackend, DistinctPlansRunConcurrentlyOnOneContext) {
  auto ctx = Context::create({.backend = BackendKind::cpu, .num_threads = 2});
  ASSERT_TRUE(ctx.ok()) << ctx.status().to_string();
  constexpr int kThreads = 4;
  std::vector<Plan> plans;
  std::vector<Tensor> inputs, expected;
  auto ref = Context::create({.backend = BackendKind::cpu, .num_threads = 1});
  ASSERT_TRUE(ref.ok());
  for (int t = 0; t < kThreads; ++t) {
    const bool winograd = t > 0;
    const int64_t c_in = winograd ? 64 : 6;
    Tensor w(winograd ? Shape{64 + t, 64, 3, 3} : Shape{6, 4 + t, 3, 3});
    for (int64_t i = 0; i < w.size(); ++i) w.data()[i] = static_cast<float>((i * 7 + t) % 11) * 0.1f - 0.5f;
    ConvTransposeParams p;
    p.stride = {2, 2};
    p.pad_begin = p.pad_end = {1, 1};
    ConvParams pc;
    pc.pad_begin = pc.pad_end = {1, 1};
    auto plan = winograd ? make_conv(*ctx, pc, w) : make_conv_transpose(*ctx, p, w);
    auto solo = winograd ? make_conv(*ref, pc, w) : make_conv_transpose(*ref, p, w);
    ASSERT_TRUE(plan.ok() && solo.ok());
    Tensor x({1, c_in, 9 + t, winograd ? 20 + t : 40}), y;
    for (int64_t i = 0; i < x.size(); ++i) x.data()[i] = static_cast<float>((i * 13 + t) % 17) * 0.1f - 0.8f;
    ASSERT_TRUE(solo->run(x, y).ok());
    plans.push_back(std::move(plan).value());
    inputs.push_back(std::move(x));
    expected.push_back(std::move(y));
  }
  std::vector<int> failures(kThreads, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      Tensor y;
      for (int round = 0; round < 200; ++round)
        if (!plans[t].run(inputs[t], y).ok() || y.storage() != expected[t].storage()) ++failures[t];
    });
  for (auto& th : threads) th.join();
  for (int t = 0; t < kThreads; ++t) EXPECT_EQ(failures[t], 0) << "thread " << t;
}

// Weights are packed for one kernel at creation and for the other by the first run that takes it;
// the first layout is dropped then unless a run used it. One output channel: the row layout is
// 1 lane wide, the channel layout a vector wide. A wide input takes the row kernel, a 1-wide
// one the channel kernel (a row vector would hold one valid lane).
// The Winograd form transforms the weights of whichever layout is packed when a tile size is
// first used (it keeps no copy of the caller's). On AVX-512 a 2-wide input of this layer takes
// the channel kernel, whose layout replaces the row layout packed at creation (no run used
// it), and a 32-wide one (32 x 32) then the Winograd form, from the channel layout.
TEST(CpuConvKernelWeights, WinogradTransformsTheLayoutThatIsPacked) {
  ConvCase c = ct(128, 56, 32, 8, 4, 2, 1);  // dcgan_g4-like
  c.bias = true;
  for (Isa isa : detail::cpu::available_isas()) {
    const int64_t rows = 56 * (1 + 128 * 16), channels = 64 * (1 + 128 * 16);
    std::vector<int64_t> floats;
    std::vector<ConvTileKind> kernels;
    const std::string err = check_one_kernel_over_widths(c, isa, {2, 32}, floats, &kernels);
    EXPECT_TRUE(err.empty()) << err;
    if (isa != Isa::avx512f) continue;  // other ISAs choose otherwise
    EXPECT_EQ(floats, (std::vector<int64_t>{rows, channels, channels}));
    EXPECT_EQ(kernels, (std::vector<ConvTileKind>{ConvTileKind::channels, ConvTileKind::winograd}));
  }
}

// The automatic choice takes the pointwise kernel exactly where every phase is one tap on its
// own input position: not with padding, output padding, a kernel longer than the stride, or
// three W phases (only two are stored interleaved).
TEST(CpuConvKernelChoice, PointwiseWhereEveryPhaseIsOneTapOnItsOwnPosition) {
  const auto kernel_of = [](ConvCase c) {
    std::vector<int64_t> floats;
    std::vector<ConvTileKind> kernels;
    const std::string err = check_one_kernel_over_widths(c, detail::cpu::available_isas().back(), {c.w}, floats, &kernels);
    EXPECT_TRUE(err.empty()) << err;
    return kernels.empty() ? ConvTileKind::automatic : kernels.back();
  };
  if (detail::cpu::available_isas().empty()) GTEST_SKIP() << "no x86 SIMD kernels";
  EXPECT_EQ(kernel_of(ct(16, 8, 6, 10, 2, 2, 0)), ConvTileKind::pointwise);
  EXPECT_EQ(kernel_of(cv(16, 8, 6, 10, 1, 1, 0, 1)), ConvTileKind::pointwise);
  ConvCase h_only = ct(16, 8, 6, 10, 2, 2, 0);
  h_only.kw = h_only.sw = 1;
  EXPECT_EQ(kernel_of(h_only), ConvTileKind::pointwise);
  ConvCase padded = ct(16, 8, 6, 10, 2, 2, 0);
  padded.pt = 1;
  EXPECT_NE(kernel_of(padded), ConvTileKind::pointwise);
  ConvCase out_pad = ct(16, 8, 6, 10, 2, 2, 0);
  out_pad.opw = 1;
  EXPECT_NE(kernel_of(out_pad), ConvTileKind::pointwise);
  EXPECT_NE(kernel_of(ct(16, 8, 6, 10, 4, 2, 1)), ConvTileKind::pointwise);
  EXPECT_NE(kernel_of(ct(16, 8, 6, 10, 3, 3, 0)), ConvTileKind::pointwise);
  EXPECT_NE(kernel_of(cv(16, 8, 6, 10, 1, 2, 0, 1)), ConvTileKind::pointwise);  // strided 1x1 conv
  EXPECT_NE(kernel_of(cv(16, 8, 6, 10, 1, 1, 1, 1)), ConvTileKind::pointwise);  // padded 1x1 conv
}

TEST(CpuConvKernelWeights, PackedForTheKernelsRunsTakeAndOnlyThose) {
  ConvCase c = cv(8, 1, 5, 64, 3, 1, 1, 1);
  c.bias = true;
  for (Isa isa : detail::cpu::available_isas()) {
    const int64_t rows = 1 * (1 + 8 * 9), channels = detail::cpu::isa_lanes(isa) * (1 + 8 * 9);
    std::vector<int64_t> floats;
    std::string err = check_one_kernel_over_widths(c, isa, {64, 1, 64, 1}, floats);
    EXPECT_TRUE(err.empty()) << err;
    EXPECT_EQ(floats, (std::vector<int64_t>{rows, rows, rows + channels, rows + channels, rows + channels}))
        << detail::cpu::isa_name(isa);
    err = check_one_kernel_over_widths(c, isa, {1, 1, 64, 1}, floats);
    EXPECT_TRUE(err.empty()) << err;
    EXPECT_EQ(floats, (std::vector<int64_t>{rows, channels, channels, rows + channels, rows + channels}))
        << detail::cpu::isa_name(isa);
  }
  // A conv strided along W always takes the channel kernel: only that layout is ever packed.
  ConvCase strided = cv(8, 1, 5, 64, 3, 2, 1, 1);
  for (Isa isa : detail::cpu::available_isas()) {
    const int64_t channels = detail::cpu::isa_lanes(isa) * (1 + 8 * 9);
    std::vector<int64_t> floats;
    const std::string err = check_one_kernel_over_widths(strided, isa, {64, 7}, floats);
    EXPECT_TRUE(err.empty()) << err;
    EXPECT_EQ(floats, (std::vector<int64_t>{channels, channels, channels})) << detail::cpu::isa_name(isa);
  }
}

// The zero-padded input buffer is kept between runs, and its zero border is written again only
// when the layout changes: a run of another width (shorter, so the buffer is not reallocated)
// must not find the previous run's inputs in its border. Padding = dilation, so every border row
// and column is under some tap; one output channel (the row kernel, whose vectors read the
// border; 800 input channels, so that its ring of padded rows would pass 512 KB at every width
// and it reads the padded copy) and depthwise.
TEST(CpuConvKernelPadding, BorderIsZeroAgainAfterTheLayoutChanges) {
  ConvCase rows = cv(800, 1, 6, 40, 3, 1, 3, 3);
  ConvCase depthwise = cv(4, 4, 6, 40, 3, 1, 3, 3);
  depthwise.groups = 4;
  for (ConvCase c : {rows, depthwise}) {
    c.bias = true;
    for (Isa isa : detail::cpu::available_isas()) {
      std::vector<int64_t> floats;
      const std::string err = check_one_kernel_over_widths(c, isa, {40, 40, 33, 47, 47, 20, 40}, floats);
      EXPECT_TRUE(err.empty()) << err;
    }
  }
}

// One kernel object, runs of changing widths: the merged-phase and window tables are built once
// per geometry and kept between runs of the same one, so each width must find its own.
// The window tile reads a vector past a row's last tile, so it never runs on an input read in
// place; whether a run reads in place depends on its width (kernel = stride, no padding: at 128
// the last tile ends with the row, at 129 it reads past it), so widths alternate (under ASan a
// window over the in-place input reads past the tensor).
TEST(CpuConvKernelPadding, MergedPhaseTablesFollowTheGeometry) {
  ConvCase fs = ct(5, 1, 4, 96, 9, 3, 4);  // fsrcnn-like: merged phases, window tiles on AVX-512
  fs.oph = fs.opw = 2;
  fs.bias = true;
  ConvCase up = ct(3, 1, 2, 129, 2, 2, 0);  // the row kernel's (automatic: the pointwise kernel's)
  for (const ConvCase& c : {fs, up})
    for (Isa isa : detail::cpu::available_isas()) {
      std::vector<int64_t> floats;
      const std::string err =
          check_one_kernel_over_widths(c, isa, {96, 129, 128, 1, 2, 129, 128, 17, 96}, floats, nullptr, ConvTileKind::rows);
      EXPECT_TRUE(err.empty()) << err;
    }
}

TEST(CpuBackend, DescriptionNamesIsaAndThreads) {
  auto ctx = Context::create({.backend = BackendKind::cpu, .num_threads = 2});
  ASSERT_TRUE(ctx.ok()) << ctx.status().to_string();
  const std::string d = ctx->description();
  EXPECT_NE(d.find("2 threads"), std::string::npos) << d;
  if (!detail::cpu::available_isas().empty()) {
    const std::string best = detail::cpu::isa_name(detail::cpu::default_isa());
    EXPECT_NE(d.find(best), std::string::npos) << d;
  }
}

TEST(CpuBackend, EnvironmentForcesALowerIsa) {
  if (detail::cpu::available_isas().empty()) GTEST_SKIP() << "no x86 SIMD kernels";
  ::setenv("UPCONV_CPU_ISA", "sse4_1", 1);
  auto ctx = Context::create({.backend = BackendKind::cpu, .num_threads = 1});
  ::unsetenv("UPCONV_CPU_ISA");
  ASSERT_TRUE(ctx.ok()) << ctx.status().to_string();
  EXPECT_NE(ctx->description().find("sse4_1"), std::string::npos) << ctx->description();
  // And the forced ISA still computes the right answer through the public API.
  ::setenv("UPCONV_CPU_ISA", "sse4_1", 1);
  auto forced = Context::create({.backend = BackendKind::cpu, .num_threads = 1});
  ::unsetenv("UPCONV_CPU_ISA");
  ASSERT_TRUE(forced.ok());
  Tensor x({1, 1, 2, 2}, {1, 2, 3, 4});
  Tensor w({1, 1, 2, 2}, {1, 1, 1, 1});
  auto plan = make_conv_transpose(*forced, {}, w);
  ASSERT_TRUE(plan.ok()) << plan.status().to_string();
  Tensor y;
  ASSERT_TRUE(plan->run(x, y).ok());
  EXPECT_EQ(y.storage(), (std::vector<float>{1, 3, 2, 4, 10, 6, 3, 7, 4}));
}

// A stride-1 3x3 conv of 64 channels takes the Winograd form by itself (its rounding differs from
// both direct kernels', within the tolerance), and UPCONV_CPU_WINOGRAD=0 keeps it on a direct one.
TEST(CpuConvKernelWinograd, ChosenForWideThreeByThreeUnlessTheEnvironmentSaysNo) {
  if (detail::cpu::available_isas().empty()) GTEST_SKIP() << "no x86 SIMD kernels";
  ConvCase c = cv(64, 64, 6, 24, 3, 1, 1, 1);
  c.bias = true;
  const Isa isa = detail::cpu::available_isas().front();
  ::unsetenv("UPCONV_CPU_WINOGRAD");
  const ConvRun chosen = run_fast(c, isa, ConvTileKind::automatic, 1);
  const std::string err = check_against_reference(c, isa, ConvTileKind::automatic);
  EXPECT_TRUE(err.empty()) << err;
  ::setenv("UPCONV_CPU_WINOGRAD", "0", 1);
  const ConvRun direct = run_fast(c, isa, ConvTileKind::automatic, 1);
  ::unsetenv("UPCONV_CPU_WINOGRAD");
  const ConvRun rows = run_fast(c, isa, ConvTileKind::rows, 1), channels = run_fast(c, isa, ConvTileKind::channels, 1);
  EXPECT_TRUE(direct.y == rows.y || direct.y == channels.y);
  EXPECT_NE(chosen.y, rows.y);
  EXPECT_NE(chosen.y, channels.y);
}

std::vector<std::tuple<Isa, ConvTileKind>> params() {
  std::vector<std::tuple<Isa, ConvTileKind>> p;
  for (Isa isa : detail::cpu::available_isas())
    for (ConvTileKind t : {ConvTileKind::automatic, ConvTileKind::rows, ConvTileKind::channels, ConvTileKind::depthwise,
                           ConvTileKind::winograd})
      p.emplace_back(isa, t);
  return p;
}

INSTANTIATE_TEST_SUITE_P(AvailableIsas, CpuConvKernels, ::testing::ValuesIn(params()),
                         [](const ::testing::TestParamInfo<std::tuple<Isa, ConvTileKind>>& info) {
                           return std::string(detail::cpu::isa_name(std::get<0>(info.param))) + "_" +
                                  tile_name(std::get<1>(info.param));
                         });
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(CpuConvKernels);

}  // namespace
}  // namespace upconv::testing

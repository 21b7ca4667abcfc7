// The Winograd form of the CPU conv (cpu/kernels/winograd_*): its transform matrices against the
// correlation they stand for, and the whole conv with every tile size it may pick, on every ISA
// the machine has, against the scalar reference (within the conv tolerance plus the transforms'
// rounding, see kWinogradRounding).
#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <limits>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "cpu/kernels/winograd_matrices.hpp"
#include "cpu/kernels/winograd_plan.hpp"
#include "cpu_conv_case.hpp"

namespace upconv::testing {
namespace {

using detail::cpu::Isa;
using detail::cpu::WinogradConv;

// y = AT [(G g) . (BT d)] is the correlation y_i = sum_k g_k d_{i+k}, for every F(m, r) used.
TEST(WinogradMatrices, ComputeTheCorrelation) {
  std::mt19937_64 rng(5);
  std::uniform_real_distribution<double> u(-1.0, 1.0);
  for (int r = 1; r <= detail::cpu::winograd_max_alpha; ++r)
    for (int m = 1; m + r - 1 <= detail::cpu::winograd_max_alpha; ++m) {
      const detail::cpu::WinogradMatrices f = detail::cpu::winograd_matrices(m, r);
      const int a = f.alpha;
      ASSERT_EQ(a, m + r - 1);
      for (int trial = 0; trial < 4; ++trial) {
        std::vector<double> g(static_cast<size_t>(r)), d(static_cast<size_t>(a));
        for (double& v : g) v = u(rng);
        for (double& v : d) v = u(rng);
        std::vector<double> prod(static_cast<size_t>(a));
        for (int e = 0; e < a; ++e) {
          double gg = 0, dd = 0;
          for (int k = 0; k < r; ++k) gg += f.g[e * r + k] * g[k];
          for (int j = 0; j < a; ++j) dd += f.bt[e * a + j] * d[j];
          prod[e] = gg * dd;
        }
        for (int i = 0; i < m; ++i) {
          double y = 0, want = 0;
          for (int e = 0; e < a; ++e) y += f.at[i * a + e] * prod[e];
          for (int k = 0; k < r; ++k) want += g[k] * d[i + k];
          EXPECT_NEAR(y, want, 1e-12) << "F(" << m << ", " << r << ") output " << i;
        }
      }
    }
}

// One output per tile is the plain dot product: no transform, nothing rounded on the way.
TEST(WinogradMatrices, OneOutputIsTheIdentityForm) {
  const detail::cpu::WinogradMatrices f = detail::cpu::winograd_matrices(1, 3);
  EXPECT_EQ(f.at, (std::vector<double>{1, 1, 1}));
  EXPECT_EQ(f.bt, (std::vector<double>{1, 0, 0, 0, 1, 0, 0, 0, 1}));
}

std::vector<ConvCase> cases() {
  std::vector<ConvCase> v;
  ConvCase aspp = conv_case(20, 35, 13, 17, 3, 3);  // aspp_d12 in small: dilated, padded by the dilation
  aspp.dh = aspp.dw = 3;
  aspp.pt = aspp.pl = aspp.pb = aspp.pr = 3;
  aspp.bias = true;
  aspp.act = Activation::relu;
  v.push_back(aspp);
  ConvCase lopsided = conv_case(7, 9, 9, 11, 3, 2);  // asymmetric padding, dilation on H only
  lopsided.dh = 2;
  lopsided.pt = 2, lopsided.pl = 0, lopsided.pb = 1, lopsided.pr = 1;
  lopsided.act = Activation::leaky_relu;
  v.push_back(lopsided);
  ConvCase wave = conv_case(16, 17, 1, 70, 1, 2);  // wavenet_d64 in small: 1-D, dilated, no padding
  wave.dw = 4;
  wave.n = 2;
  wave.act = Activation::tanh;
  v.push_back(wave);
  ConvCase wide = conv_case(5, 3, 12, 10, 5, 4);  // largest kernels; channels below a vector
  wide.pt = wide.pb = 1;
  wide.bias = true;
  wide.act = Activation::sigmoid;
  v.push_back(wide);
  ConvCase tiny = conv_case(33, 40, 2, 3, 3, 3);  // input smaller than the kernel, padded
  tiny.pt = tiny.pl = tiny.pb = tiny.pr = 1;
  v.push_back(tiny);
  ConvCase dcgan = conv_case(20, 35, 5, 6, 4, 4);  // dcgan's conv_transpose: four 2x2 phases
  dcgan.transposed = true;
  dcgan.sh = dcgan.sw = 2;
  dcgan.pt = dcgan.pl = dcgan.pb = dcgan.pr = 1;
  dcgan.bias = true;
  dcgan.act = Activation::relu;
  v.push_back(dcgan);
  ConvCase uneven = conv_case(6, 18, 4, 5, 3, 5);  // phases of 2 and 1 taps (H), 2, 2 and 1 (W)
  uneven.transposed = true;
  uneven.sh = 2, uneven.sw = 3;
  uneven.pt = 1, uneven.pb = 0, uneven.pl = 2, uneven.pr = 1;
  uneven.oph = 1, uneven.opw = 2;
  v.push_back(uneven);
  ConvCase spaced = conv_case(9, 10, 4, 4, 3, 3);  // dilated conv_transpose: taps 3 apart in a phase
  spaced.transposed = true;
  spaced.sh = spaced.sw = 2;
  spaced.dh = spaced.dw = 3;
  spaced.pt = spaced.pl = spaced.pb = spaced.pr = 2;
  spaced.act = Activation::tanh;
  v.push_back(spaced);
  return v;
}

// Every tile size of every case on every ISA, on 1 and 3 threads (identical outputs).
TEST(WinogradConv, EveryTileSizeMatchesTheReference) {
  uint64_t seed = 300;
  for (ConvCase c : cases()) {
    ASSERT_TRUE(WinogradConv::supports(c.desc())) << c.describe();
    c.seed = seed++;
    for (Isa isa : detail::cpu::available_isas())
      for (int mh = 1; mh <= WinogradConv::max_tile_size(c.kh); ++mh)
        for (int mw = 1; mw <= WinogradConv::max_tile_size(c.kw); ++mw)
          for (int threads : {1, 3}) {
            const std::string err = check_winograd_against_reference(c, isa, mh, mw, threads);
            EXPECT_TRUE(err.empty()) << err;
          }
  }
}

// One kernel over inputs of other widths, wider and narrower: its buffers and the position its
// padding taps read (past the channel-last input's end) follow each input.
TEST(WinogradConv, InputsOfOtherWidthsAfterEachOther) {
  ConvCase c = cases()[0];
  c.seed = 400;
  for (Isa isa : detail::cpu::available_isas()) {
    const std::string err = check_winograd_against_reference(c, isa, 3, 3, 2, {30, 5, 17, 2});
    EXPECT_TRUE(err.empty()) << err;
  }
}

// The kernels of one context take their buffers from one workspace (ConvWorkspace), which keeps
// whatever the last run of any of them left: a run must not depend on its contents. Here they
// start as NaN, and runs of layers of other channel counts, kernels and strides alternate on
// them (a lane past c_in or c_out that reached an output, or a padding position not cleared,
// would show as NaN or a stale value).
TEST(WinogradConv, KernelsSharingAWorkspaceNeedNothingFromItsContents) {
  using detail::cpu::ConvWorkspace;
  const std::vector<ConvCase> all = cases();
  for (Isa isa : detail::cpu::available_isas()) {
    auto workspace = std::make_shared<ConvWorkspace>();
    {
      const auto hold = workspace->lock();
      for (int slot = 0; slot < ConvWorkspace::kSlots; ++slot) {
        constexpr int64_t kFloats = int64_t{1} << 18;  // more than any case here needs
        std::fill_n(workspace->get(static_cast<ConvWorkspace::Slot>(slot), kFloats), kFloats, std::nanf(""));
      }
    }
    const int64_t held = workspace->floats();
    uint64_t seed = 500;
    for (const std::vector<int64_t>& widths : {std::vector<int64_t>{}, std::vector<int64_t>{7, 40}})
      for (size_t k : {0, 5, 2, 4, 1, 6, 7, 3}) {  // aspp, dcgan, wave, tiny, lopsided, uneven, spaced, wide
        ConvCase c = all[k];
        c.seed = seed++;
        const std::string err = check_winograd_against_reference(c, isa, 2, 2, 2, widths, workspace);  // 2 x 2 or less
        EXPECT_TRUE(err.empty()) << err;
      }
    EXPECT_EQ(workspace->floats(), held) << "the cases fit the first buffers: none was replaced";
  }
}

// Kernels of one context may run at the same time from threads of the caller's (each plan
// with its own pool here, so that nothing else serialises their runs): the workspace they share
// is held for a whole run. Two kernels of other shapes, each run over and over from its own
// thread, must give exactly what each gave alone (without the workspace's lock, the first
// mismatch came within a few runs).
TEST(WinogradConv, KernelsSharingAWorkspaceRunConcurrently) {
  using detail::cpu::ConvWorkspace;
  ConvCase first = conv_case(32, 40, 24, 30, 3, 3);
  first.dh = first.dw = 2;
  first.pt = first.pl = first.pb = first.pr = 2;
  first.seed = 600;
  ConvCase second = conv_case(24, 16, 20, 20, 4, 4);
  second.transposed = true;
  second.sh = second.sw = 2;
  second.pt = second.pl = second.pb = second.pr = 1;
  second.seed = 601;
  for (Isa isa : detail::cpu::available_isas()) {
    auto workspace = std::make_shared<ConvWorkspace>();
    struct Runner {
      std::unique_ptr<WinogradConv> conv;
      std::vector<float> x, w, alone, got;
      detail::OpArgs args;
      detail::cpu::AxisPlan ph, pw;
      int mismatches = 0;
    };
    std::vector<Runner> runners(2);
    for (int k = 0; k < 2; ++k) {
      const ConvCase& c = k == 0 ? first : second;
      const detail::ConvDesc d = c.desc();
      Runner& r = runners[static_cast<size_t>(k)];
      std::mt19937_64 rng(c.seed);
      std::uniform_real_distribution<float> u(-1.0f, 1.0f);
      for (int64_t i = 0; i < d.weight_count(); ++i) r.w.push_back(u(rng));
      for (int64_t i = 0; i < c.input_dims().count(); ++i) r.x.push_back(u(rng));
      r.conv = std::make_unique<WinogradConv>(d, WinogradConv::caller_weights(d, r.w.data()), nullptr, isa,
                                              std::make_shared<detail::ThreadPool>(1), workspace);
      r.args.x = r.x.data();
      r.args.xd = c.input_dims();
      ASSERT_TRUE(c.output_dims(r.args.yd));
      r.ph = detail::cpu::make_axis_plan({d.transposed, d.kh, d.stride_h, d.dil_h, d.pad_top}, c.h, r.args.yd.h);
      r.pw = detail::cpu::make_axis_plan({d.transposed, d.kw, d.stride_w, d.dil_w, d.pad_left}, c.w, r.args.yd.w);
      ASSERT_LT(r.conv->cost(r.ph, r.pw, r.args.xd, r.args.yd), std::numeric_limits<double>::infinity());
      r.alone.assign(static_cast<size_t>(r.args.yd.count()), 0.0f);
      r.args.y = r.alone.data();
      r.conv->run(r.args, r.ph, r.pw);
      r.got.assign(r.alone.size(), 0.0f);
      r.args.y = r.got.data();
    }
    std::atomic<int> ready{0};
    std::vector<std::thread> threads;
    for (Runner& r : runners)
      threads.emplace_back([&ready, &r] {
        ready.fetch_add(1);
        while (ready.load() < 2) {
        }
        for (int run = 0; run < 40; ++run) {
          std::fill(r.got.begin(), r.got.end(), std::nanf(""));
          r.conv->run(r.args, r.ph, r.pw);
          if (r.got != r.alone) ++r.mismatches;
        }
      });
    for (std::thread& t : threads) t.join();
    EXPECT_EQ(runners[0].mismatches, 0) << detail::cpu::isa_name(isa);
    EXPECT_EQ(runners[1].mismatches, 0) << detail::cpu::isa_name(isa);
  }
}

double cost_of(const ConvCase& c) {
  const detail::ConvDesc d = c.desc();
  detail::Dims4 yd;
  EXPECT_TRUE(c.output_dims(yd)) << c.describe();
  const detail::cpu::AxisPlan ph = detail::cpu::make_axis_plan({d.transposed, d.kh, d.stride_h, d.dil_h, d.pad_top}, c.h, yd.h);
  const detail::cpu::AxisPlan pw = detail::cpu::make_axis_plan({d.transposed, d.kw, d.stride_w, d.dil_w, d.pad_left}, c.w, yd.w);
  const std::vector<float> w(static_cast<size_t>(d.weight_count()), 1.0f);
  WinogradConv conv(d, WinogradConv::caller_weights(d, w.data()), nullptr, detail::cpu::available_isas().front(),
                    std::make_shared<detail::ThreadPool>(1));
  return conv.cost(ph, pw, c.input_dims(), yd);
}

// Which layers it takes: one group, a conv of stride 1 or a conv_transpose, whose phases each have
// evenly spaced taps, at most winograd_max_alpha per axis.
TEST(WinogradConv, LayersItTakes) {
  if (detail::cpu::available_isas().empty()) GTEST_SKIP() << "no x86 SIMD kernels";
  constexpr double kNone = std::numeric_limits<double>::infinity();
  ConvCase c = conv_case(8, 8, 8, 8, 3, 3);
  EXPECT_TRUE(WinogradConv::supports(c.desc()));
  EXPECT_LT(cost_of(c), kNone);
  ConvCase strided = c;
  strided.sw = 2;
  EXPECT_FALSE(WinogradConv::supports(strided.desc()));
  ConvCase grouped = c;
  grouped.groups = 2;
  EXPECT_FALSE(WinogradConv::supports(grouped.desc()));
  ConvCase pointwise = conv_case(8, 8, 8, 8, 1, 1);
  EXPECT_FALSE(WinogradConv::supports(pointwise.desc()));
  ConvCase transposed = c;
  transposed.transposed = true;
  transposed.sh = transposed.sw = 2;
  EXPECT_TRUE(WinogradConv::supports(transposed.desc()));
  EXPECT_LT(cost_of(transposed), kNone);
  ConvCase long_kernel = conv_case(8, 8, 8, 8, 1, detail::cpu::winograd_max_alpha + 1);
  EXPECT_EQ(cost_of(long_kernel), kNone);
  ConvCase empty_phase = transposed;  // stride 2, dilation 2: odd phases have no taps
  empty_phase.dh = empty_phase.dw = 2;
  EXPECT_EQ(cost_of(empty_phase), kNone);
}

}  // namespace
}  // namespace upconv::testing

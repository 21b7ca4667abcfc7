// `upconv run` end to end, one case (or more) per operator: the CLI's output file must equal
// what the library computes in-process for params written out by hand here — so a flag mapped
// to the wrong field (padding order, per-axis lists, defaults) fails the comparison.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "cli/cli_runner.hpp"
#include "upconv/npy.hpp"
#include "upconv/upconv.hpp"

namespace upconv::test {
namespace {

class CliOpTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto c = Context::create({.backend = BackendKind::cpu});
    ASSERT_TRUE(c.ok()) << c.status().to_string();
    ctx_.emplace(std::move(c).value());
  }

  /// Runs `upconv run ...` expecting success, and returns the output tensor. Adds
  /// `--backend cpu` unless the arguments name a backend.
  Tensor run_ok(std::vector<std::string> args) {
    const bool has_backend = std::find(args.begin(), args.end(), "--backend") != args.end();
    args.insert(args.begin(), "run");
    if (!has_backend) args.insert(args.end(), {"--backend", "cpu"});
    args.insert(args.end(), {"--output", dir_.path("y.npy")});
    const CliResult r = run_cli(args, dir_.dir());
    std::string cmd;
    for (const auto& a : args) cmd += a + " ";
    EXPECT_EQ(r.exit_code, 0) << cmd << "\n" << r.describe();
    EXPECT_EQ(r.err, "") << cmd;
    auto y = npy::read_float32(dir_.path("y.npy"));
    EXPECT_TRUE(y.ok()) << cmd << ": " << y.status().to_string();
    return y.ok() ? std::move(y).value() : Tensor();
  }

  /// Same shape, and |got - want| <= tol * (1 + |want|) everywhere. The default is for the same
  /// CPU library on both sides, which should agree far more closely.
  static void expect_close(const Tensor& got, const Tensor& want, const std::string& what, float tol = 1e-5f) {
    ASSERT_EQ(got.shape(), want.shape()) << what;
    for (int64_t i = 0; i < want.size(); ++i)
      ASSERT_LE(std::fabs(got.data()[i] - want.data()[i]), tol * (1.0f + std::fabs(want.data()[i])))
          << what << " at element " << i << ": got " << got.data()[i] << ", want " << want.data()[i];
  }

  Tensor expected(Result<Plan> plan, const Tensor& x) {
    EXPECT_TRUE(plan.ok()) << plan.status().to_string();
    Tensor y;
    if (plan.ok()) {
      EXPECT_TRUE(plan->run(x, y).ok());
    }
    return y;
  }

  ScratchDir dir_;
  std::optional<Context> ctx_;
};

TEST_F(CliOpTest, ConvTranspose2dAllAttributes) {
  const Tensor x = random_tensor({2, 4, 5, 4}, 11), w = random_tensor({4, 3, 3, 2}, 12), b = random_tensor({6}, 13);
  const Tensor y = run_ok({"conv_transpose2d", "--input", dir_.write("x.npy", x), "--weight", dir_.write("w.npy", w),
                           "--bias", dir_.write("b.npy", b), "--stride", "2,3", "--padding", "1,0,0,2",
                           "--output-padding", "1,0", "--dilation", "1,2", "--groups", "2", "--activation",
                           "leaky_relu:0.2"});
  const ConvTransposeParams p{.stride = {2, 3}, .dilation = {1, 2}, .pad_begin = {1, 0}, .pad_end = {0, 2},
                              .output_padding = {1, 0}, .groups = 2,
                              .activation = {Activation::leaky_relu, 0.2f}};
  expect_close(y, expected(make_conv_transpose(*ctx_, p, w, &b), x), "conv_transpose2d");
}

TEST_F(CliOpTest, ConvTranspose1d) {
  const Tensor x = random_tensor({1, 3, 7}, 21), w = random_tensor({3, 2, 4}, 22);
  const Tensor y = run_ok({"conv_transpose1d", "--input", dir_.write("x.npy", x), "--weight", dir_.write("w.npy", w),
                           "--stride", "3", "--padding", "1", "--output-padding", "2", "--activation", "relu"});
  const ConvTransposeParams p{.spatial_rank = 1, .stride = {3, 1}, .pad_begin = {1, 0}, .pad_end = {1, 0},
                              .output_padding = {2, 0}, .activation = {Activation::relu}};
  expect_close(y, expected(make_conv_transpose(*ctx_, p, w), x), "conv_transpose1d");
}

TEST_F(CliOpTest, Conv2dDilatedWithBias) {
  const Tensor x = random_tensor({1, 2, 9, 8}, 31), w = random_tensor({5, 2, 3, 3}, 32), b = random_tensor({5}, 33);
  const Tensor y = run_ok({"conv2d", "--input", dir_.write("x.npy", x), "--weight", dir_.write("w.npy", w), "--bias",
                           dir_.write("b.npy", b), "--stride", "2", "--padding", "1,2", "--dilation", "2",
                           "--activation", "sigmoid"});
  const ConvParams p{.stride = {2, 2}, .dilation = {2, 2}, .pad_begin = {1, 2}, .pad_end = {1, 2},
                     .activation = {Activation::sigmoid}};
  expect_close(y, expected(make_conv(*ctx_, p, w, &b), x), "conv2d");
}

TEST_F(CliOpTest, Conv1dBeginEndPaddingDepthwise) {
  const Tensor x = random_tensor({2, 4, 11}, 41), w = random_tensor({4, 1, 3}, 42);
  const Tensor y = run_ok({"conv1d", "--input", dir_.write("x.npy", x), "--weight", dir_.write("w.npy", w),
                           "--dilation", "3", "--padding", "2,4", "--groups", "4", "--activation", "tanh"});
  const ConvParams p{.spatial_rank = 1, .dilation = {3, 1}, .pad_begin = {2, 0}, .pad_end = {4, 0}, .groups = 4,
                     .activation = {Activation::tanh}};
  expect_close(y, expected(make_conv(*ctx_, p, w), x), "conv1d");
}

TEST_F(CliOpTest, PaddingSpellingsAreEquivalent) {
  const Tensor x = random_tensor({1, 1, 4, 4}, 51), w = random_tensor({1, 1, 3, 3}, 52);
  const std::string xp = dir_.write("x.npy", x), wp = dir_.write("w.npy", w);
  const Tensor a = run_ok({"conv2d", "--input", xp, "--weight", wp, "--padding", "1"});
  const Tensor b = run_ok({"conv2d", "--input", xp, "--weight", wp, "--padding", "1,1"});
  const Tensor c = run_ok({"conv2d", "--input", xp, "--weight", wp, "--padding=1,1,1,1", "--stride=1"});
  expect_close(b, a, "--padding 1,1 vs 1");
  expect_close(c, a, "--padding=1,1,1,1 vs 1");
  EXPECT_EQ(a.shape(), (Shape{1, 1, 4, 4}));
}

TEST_F(CliOpTest, PixelShuffleAndUnshuffle) {
  const Tensor x = random_tensor({1, 18, 3, 4}, 61);
  const std::string xp = dir_.write("x.npy", x);
  const Tensor dcr = run_ok({"pixel_shuffle", "--input", xp, "--factor", "3", "--mode", "dcr"});
  expect_close(dcr, expected(make_pixel_shuffle(*ctx_, {3, ShuffleMode::dcr}), x), "pixel_shuffle dcr");
  const Tensor crd = run_ok({"pixel_shuffle", "--input", xp, "--factor", "3"});
  expect_close(crd, expected(make_pixel_shuffle(*ctx_, {3, ShuffleMode::crd}), x), "pixel_shuffle default crd");

  const Tensor u = random_tensor({2, 3, 4, 6}, 62);
  const Tensor back = run_ok({"pixel_unshuffle", "--input", dir_.write("u.npy", u), "--factor", "2"});
  expect_close(back, expected(make_pixel_unshuffle(*ctx_, {2, ShuffleMode::crd}), u), "pixel_unshuffle");
}

// An empty batch (N = 0) is valid input, as in PyTorch: the output file holds an empty tensor of
// the right shape.
TEST_F(CliOpTest, EmptyBatch) {
  const std::string xp = dir_.write("x0.npy", Tensor({0, 2, 3, 4}));
  const std::string wp = dir_.write("w.npy", random_tensor({2, 5, 3, 3}, 63));
  EXPECT_EQ(run_ok({"conv_transpose2d", "--input", xp, "--weight", wp, "--stride", "2"}).shape(), (Shape{0, 5, 7, 9}));
  EXPECT_EQ(run_ok({"upsample_nearest2d", "--input", xp, "--factor", "3"}).shape(), (Shape{0, 2, 9, 12}));
}

TEST_F(CliOpTest, MaxUnpool2d) {
  const Tensor x = random_tensor({1, 2, 2, 2}, 71);
  const IndexTensor idx({1, 2, 2, 2}, {0, 3, 10, 24, 6, 2, 20, 18});
  const std::string xp = dir_.write("x.npy", x), ip = dir_.write("i.npy", idx);
  const Tensor y = run_ok({"max_unpool2d", "--input", xp, "--indices", ip, "--kernel", "2", "--output-size", "5,5"});
  // PyTorch's (N, C, H, W) spelling of output_size gives the same.
  const Tensor y4 = run_ok({"max_unpool2d", "--input", xp, "--indices", ip, "--output-size", "1,2,5,5"});
  expect_close(y4, y, "max_unpool2d output_size N,C,H,W");
  auto plan = make_max_unpool2d(*ctx_, {.kernel = {2, 2}, .output_size = Pair{5, 5}});
  ASSERT_TRUE(plan.ok()) << plan.status().to_string();
  Tensor want;
  ASSERT_TRUE(plan->run(x, idx, want).ok());
  expect_close(y, want, "max_unpool2d output_size");

  // kernel 3, stride 2, padding 1: a 3x3 output plane, so indices below 9.
  const IndexTensor idx3({1, 2, 2, 2}, {0, 2, 4, 8, 1, 3, 5, 7});
  const Tensor z = run_ok({"max_unpool2d", "--input", xp, "--indices", dir_.write("i3.npy", idx3), "--kernel", "3,3",
                           "--stride", "2", "--padding", "1"});
  auto plan2 = make_max_unpool2d(*ctx_, {.kernel = {3, 3}, .stride = {2, 2}, .padding = {1, 1}});
  ASSERT_TRUE(plan2.ok()) << plan2.status().to_string();
  Tensor want2;
  ASSERT_TRUE(plan2->run(x, idx3, want2).ok());
  expect_close(z, want2, "max_unpool2d kernel 3 stride 2 padding 1");
}

TEST_F(CliOpTest, UpsampleNearestAndBedOfNails) {
  const Tensor x = random_tensor({2, 3, 3, 2}, 81);
  const std::string xp = dir_.write("x.npy", x);
  const Tensor up = run_ok({"upsample_nearest2d", "--input", xp, "--factor", "2,3"});
  expect_close(up, expected(make_upsample_nearest2d(*ctx_, {{2, 3}}), x), "upsample_nearest2d 2,3");
  const Tensor nails = run_ok({"bed_of_nails2d", "--input", xp, "--factor", "3"});
  expect_close(nails, expected(make_bed_of_nails2d(*ctx_, {{3, 3}}), x), "bed_of_nails2d 3");
  // Spot-check the semantics too: value at the top-left of each cell, zeros elsewhere.
  EXPECT_EQ(nails.data()[0], x.data()[0]);
  EXPECT_EQ(nails.data()[1], 0.0f);
}

TEST_F(CliOpTest, VulkanBackendMatchesCpuWhenAvailable) {
  auto vk = Context::create({.backend = BackendKind::vulkan});
  if (!vk.ok()) GTEST_SKIP() << "no Vulkan here: " << vk.status().message();
  const Tensor x = random_tensor({1, 4, 6, 5}, 91), w = random_tensor({4, 3, 4, 4}, 92), b = random_tensor({3}, 93);
  const std::vector<std::string> args = {"conv_transpose2d", "--input",  dir_.write("x.npy", x), "--weight",
                                         dir_.write("w.npy", w), "--bias", dir_.write("b.npy", b), "--stride",
                                         "2", "--padding", "1", "--activation", "relu"};
  const Tensor want = expected(make_conv_transpose(*ctx_, {.stride = {2, 2}, .pad_begin = {1, 1}, .pad_end = {1, 1},
                                                           .activation = {Activation::relu}},
                                                   w, &b),
                               x);
  auto with = [&](std::vector<std::string> extra) {
    std::vector<std::string> a = args;
    a.insert(a.end(), extra.begin(), extra.end());
    return a;
  };
  expect_close(run_ok(with({"--backend", "vulkan"})), want, "vulkan fp32", 1e-4f);
  // fp16 storage: inputs and weights rounded to 11 significant bits, fp32 accumulation.
  expect_close(run_ok(with({"--backend", "vulkan", "--precision", "fp16"})), want, "vulkan fp16", 2e-2f);
}

TEST_F(CliOpTest, InfoAndHelpSucceed) {
  const CliResult info = run_cli({"info"}, dir_.dir());
  EXPECT_EQ(info.exit_code, 0) << info.describe();
  EXPECT_NE(info.out.find(std::string("upconv ") + version()), std::string::npos) << info.out;
  EXPECT_NE(info.out.find("cpu: "), std::string::npos) << info.out;
  EXPECT_NE(info.out.find("vulkan: "), std::string::npos) << info.out;
  const CliResult help = run_cli({"run", "--help"}, dir_.dir());
  EXPECT_EQ(help.exit_code, 0) << help.describe();
  EXPECT_NE(help.out.find("max_unpool2d"), std::string::npos);
}

TEST_F(CliOpTest, DemoDataRunsThroughTheReadmeCommand) {
  const CliResult make = run_cli({"make-demo-data", dir_.path("demo")}, dir_.dir());
  ASSERT_EQ(make.exit_code, 0) << make.describe();
  const Tensor y = run_ok({"conv_transpose2d", "--input", dir_.path("demo/x.npy"), "--weight",
                           dir_.path("demo/w.npy"), "--bias", dir_.path("demo/b.npy"), "--stride", "2", "--padding",
                           "1"});
  EXPECT_EQ(y.shape(), (Shape{1, 2, 16, 16}));
}

}  // namespace
}  // namespace upconv::test

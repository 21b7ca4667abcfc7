// The PyTorch golden data through the command-line program: every manifest case becomes one
// `upconv run OP ... --backend cpu` invocation with the flags of DESIGN.md's CLI contract
// (padding as all begins then all ends), and the written output must match torch within
// 1e-4 * (1 + |ref|) (conv ops) or exactly (permutations).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "cli/cli_runner.hpp"
#include "golden_manifest.hpp"
#include "op_case.hpp"
#include "upconv/npy.hpp"

namespace {

using upconv::testing::GoldenCase;

std::string join(const upconv::Pair& p, int rank) {
  return rank == 1 ? std::to_string(p[0]) : std::to_string(p[0]) + "," + std::to_string(p[1]);
}

// The `upconv run` arguments of a golden case (without --output).
std::vector<std::string> cli_args(const GoldenCase& c) {
  const std::string op = c.at("op");
  std::vector<std::string> a = {"run", op, "--input", c.file("x"), "--backend", "cpu"};
  if (op.rfind("conv", 0) == 0) {
    const int rank = op.find("1d") != std::string::npos ? 1 : 2;
    const auto pb = c.pair("pad_begin", {0, 0}), pe = c.pair("pad_end", {0, 0});
    a.insert(a.end(), {"--weight", c.file("w"), "--stride", join(c.pair("stride", {1, 1}), rank), "--dilation",
                       join(c.pair("dilation", {1, 1}), rank), "--padding",
                       join(pb, rank) + "," + join(pe, rank), "--groups", c.at("groups"), "--activation",
                       c.at("activation")});
    if (c.at("bias") == "1") a.insert(a.end(), {"--bias", c.file("b")});
    if (c.has("output_padding")) a.insert(a.end(), {"--output-padding", join(c.pair("output_padding", {0, 0}), rank)});
  } else if (op == "pixel_shuffle" || op == "pixel_unshuffle") {
    a.insert(a.end(), {"--factor", c.at("factor"), "--mode", c.at("mode")});
  } else if (op == "max_unpool2d") {
    a.insert(a.end(), {"--indices", c.file("i"), "--kernel", c.at("kernel"), "--stride", c.at("stride"),
                       "--padding", c.at("padding")});
    if (c.has("output_size")) a.insert(a.end(), {"--output-size", c.at("output_size")});
  } else {
    a.insert(a.end(), {"--factor", c.at("factor")});
  }
  return a;
}

class GoldenCli : public ::testing::TestWithParam<GoldenCase> {};

TEST_P(GoldenCli, UpconvRunMatchesPyTorch) {
  const GoldenCase& c = GetParam();
  upconv::test::ScratchDir dir;
  std::vector<std::string> args = cli_args(c);
  args.insert(args.end(), {"--output", dir.path("y.npy")});
  std::string cmd = "upconv";
  for (const auto& s : args) cmd += " " + s;
  const upconv::test::CliResult r = upconv::test::run_cli(args, dir.dir());
  ASSERT_EQ(r.exit_code, 0) << cmd << "\n" << r.describe();
  auto got = upconv::npy::read_float32(dir.path("y.npy"));
  ASSERT_TRUE(got.ok()) << got.status().to_string();
  auto want = upconv::npy::read_float32(c.file("y"));
  ASSERT_TRUE(want.ok()) << want.status().to_string();
  const double tol = c.at("op").rfind("conv", 0) == 0 ? 1e-4 : 0.0;
  EXPECT_TRUE(upconv::testing::compare_tensors(*got, *want, tol, cmd));
}

INSTANTIATE_TEST_SUITE_P(PyTorch, GoldenCli, ::testing::ValuesIn(upconv::testing::load_golden_manifest()),
                         [](const ::testing::TestParamInfo<GoldenCase>& info) { return info.param.name; });

}  // namespace

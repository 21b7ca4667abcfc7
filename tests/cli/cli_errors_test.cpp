// `upconv run` on bad input: every malformed-input class must exit non-zero, print exactly one
// line on stderr that names the problem, and leave no output file (nor a temporary) behind —
// and a pre-existing output file must keep its content.
#include <gtest/gtest.h>

#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "cli/cli_runner.hpp"
#include "upconv/npy.hpp"
#include "upconv/upconv.hpp"

namespace upconv::test {
namespace {

namespace fs = std::filesystem;

class CliErrorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    x_ = dir_.write("x.npy", random_tensor({1, 4, 5, 5}, 1));
    w_ = dir_.write("w.npy", random_tensor({4, 2, 3, 3}, 2));   // conv_transpose: C_in 4 -> C_out 2
    cw_ = dir_.write("cw.npy", random_tensor({2, 4, 3, 3}, 3));  // conv: C_in 4 -> C_out 2
    idx_ = dir_.write("i.npy", IndexTensor({1, 4, 5, 5}));
    out_ = dir_.path("y.npy");
  }

  std::set<std::string> files() const {
    std::set<std::string> names;
    for (const auto& e : fs::directory_iterator(dir_.dir())) names.insert(e.path().filename().string());
    return names;
  }

  /// Runs `upconv run args... --output y.npy` and checks the failure contract. `needle` must
  /// appear in the single stderr line.
  void expect_failure(std::vector<std::string> args, const std::string& needle, bool add_output = true) {
    args.insert(args.begin(), "run");
    if (add_output) args.insert(args.end(), {"--output", out_});
    std::string cmd = "upconv";
    for (const auto& a : args) cmd += " " + a;
    SCOPED_TRACE(cmd);
    const auto before = files();
    const CliResult r = run_cli(args, dir_.dir());
    EXPECT_NE(r.exit_code, 0) << r.describe();
    EXPECT_LT(r.exit_code, 128) << "crashed: " << r.describe();
    const auto lines = r.err_lines();
    ASSERT_EQ(lines.size(), 1u) << r.describe();
    EXPECT_NE(lines[0].find(needle), std::string::npos) << "stderr '" << lines[0] << "' lacks '" << needle << "'";
    EXPECT_EQ(lines[0].rfind("upconv run: ", 0), 0u) << lines[0];
    EXPECT_FALSE(fs::exists(out_)) << "output file written";
    EXPECT_EQ(files(), before) << "files were created or removed";
  }

  ScratchDir dir_;
  std::string x_, w_, cw_, idx_, out_;
};

TEST_F(CliErrorTest, CommandLineSyntax) {
  expect_failure({}, "missing OP", false);
  expect_failure({"conv3d", "--input", x_}, "unknown operator 'conv3d'");
  expect_failure({"conv_transpose2d", "--input", x_, "--weight", w_, "--bogus", "1"}, "unknown flag --bogus");
  expect_failure({"conv_transpose2d", "--input", x_, "--weight", w_, "--stride", "1", "--stride", "2"},
                 "--stride is given more than once");
  expect_failure({"conv_transpose2d", "--input", x_, "--weight", w_, "stray"}, "unexpected argument 'stray'");
  expect_failure({"conv_transpose2d", "--input", x_, "--output", out_, "--weight", w_, "--stride"},
                 "--stride needs a value", false);
  expect_failure({"conv_transpose2d", "--input", x_, "--weight", w_, "--stride", "2x"}, "'2x'");
  expect_failure({"conv_transpose2d", "--input", x_, "--weight", w_, "--stride", "2,,2"}, "is not an integer");
  expect_failure({"conv_transpose2d", "--input", x_, "--weight", w_, "--stride", "99999999999999999999"},
                 "int64 range");
  expect_failure({"conv_transpose2d", "--input", x_, "--weight", w_, "--stride", "1,2,3"}, "--stride takes 1 or 2");
  expect_failure({"conv_transpose2d", "--input", x_, "--weight", w_, "--padding", "1,2,3"}, "--padding takes");
  expect_failure({"conv_transpose2d", "--input", x_, "--weight", w_, "--activation", "gelu"}, "--activation");
  expect_failure({"conv_transpose2d", "--input", x_, "--weight", w_, "--activation", "leaky_relu:x"}, "slope");
  expect_failure({"conv_transpose2d", "--input", x_, "--weight", w_, "--backend", "metal"}, "--backend");
  expect_failure({"conv_transpose2d", "--input", x_, "--weight", w_, "--precision", "fp64"}, "--precision");
  expect_failure({"pixel_shuffle", "--input", x_, "--mode", "xyz"}, "--mode must be crd or dcr");
  expect_failure({"pixel_shuffle", "--input", x_, "--factor", "2,2"}, "--factor takes one integer");
  expect_failure({"max_unpool2d", "--input", x_, "--indices", idx_, "--output-size", "5"}, "--output-size takes two");
  expect_failure({"max_unpool2d", "--input", x_, "--indices", idx_, "--output-size", "1,5,5"}, "--output-size");
  expect_failure({"--input", x_, "conv2d"}, "missing OP");
}

TEST_F(CliErrorTest, FlagsThatDoNotApplyOrAreMissing) {
  expect_failure({"conv2d", "--input", x_, "--weight", cw_, "--kernel", "3"}, "--kernel does not apply to conv2d");
  expect_failure({"conv2d", "--input", x_, "--weight", cw_, "--output-padding", "1"},
                 "--output-padding does not apply to conv2d");
  expect_failure({"pixel_shuffle", "--input", x_, "--weight", w_}, "--weight does not apply to pixel_shuffle");
  expect_failure({"upsample_nearest2d", "--input", x_, "--mode", "crd"}, "--mode does not apply");
  expect_failure({"conv_transpose2d", "--input", x_, "--indices", idx_, "--weight", w_}, "--indices does not apply");
  expect_failure({"conv_transpose2d", "--input", x_}, "needs --weight");
  expect_failure({"conv2d", "--weight", cw_}, "needs --input");
  expect_failure({"max_unpool2d", "--input", x_}, "needs --indices");
  expect_failure({"upsample_nearest2d", "--input", x_}, "needs --output", false);
}

TEST_F(CliErrorTest, MissingAndMalformedFiles) {
  expect_failure({"upsample_nearest2d", "--input", dir_.path("absent.npy")}, "absent.npy: no such file");
  expect_failure({"conv_transpose2d", "--input", x_, "--weight", dir_.path("nope.npy")}, "nope.npy: no such file");
  const std::string good = npy::encode(random_tensor({1, 1, 2, 2}, 5));
  const std::string trunc = dir_.write_bytes("trunc.npy", good.substr(0, good.size() - 5));
  expect_failure({"upsample_nearest2d", "--input", trunc}, "truncated");
  std::string bad_magic = good;
  bad_magic[0] = 'N';
  expect_failure({"upsample_nearest2d", "--input", dir_.write_bytes("magic.npy", bad_magic)}, "bad magic");
  std::string big_endian = good;
  big_endian.replace(big_endian.find("<f4"), 3, ">f4");
  expect_failure({"upsample_nearest2d", "--input", dir_.write_bytes("be.npy", big_endian)}, "big-endian");
  std::string fortran = good;
  fortran.replace(fortran.find("False"), 5, "True ");
  expect_failure({"upsample_nearest2d", "--input", dir_.write_bytes("f.npy", fortran)}, "Fortran");
  std::string f64 = good;
  f64.replace(f64.find("<f4"), 3, "<f8");
  expect_failure({"upsample_nearest2d", "--input", dir_.write_bytes("f8.npy", f64)}, "'<f8' is not supported");
  std::string huge = good;
  huge.replace(huge.find("(1, 1, 2, 2)"), 12, "(99999,9999)");  // same length: header stays valid
  expect_failure({"upsample_nearest2d", "--input", dir_.write_bytes("huge.npy", huge)}, "data bytes");
}

TEST_F(CliErrorTest, WrongDtypeRankAndShapes) {
  expect_failure({"upsample_nearest2d", "--input", idx_}, "dtype is int64, expected float32");
  expect_failure({"max_unpool2d", "--input", x_, "--indices", x_}, "dtype is float32, expected int64");
  const std::string x3 = dir_.write("x3.npy", random_tensor({4, 5, 5}, 6));
  expect_failure({"conv_transpose2d", "--input", x3, "--weight", w_}, "rank");
  expect_failure({"conv_transpose1d", "--input", x_, "--weight", w_}, "rank");
  expect_failure({"conv2d", "--input", x_, "--weight", w_}, "channels");  // w_ expects C_in 2
  const std::string b2d = dir_.write("b2d.npy", random_tensor({1, 2}, 7));
  expect_failure({"conv_transpose2d", "--input", x_, "--weight", w_, "--bias", b2d}, "bias must have rank 1");
  const std::string b3 = dir_.write("b3.npy", random_tensor({3}, 8));
  expect_failure({"conv_transpose2d", "--input", x_, "--weight", w_, "--bias", b3}, "bias");
  const std::string idx_small = dir_.write("is.npy", IndexTensor({1, 4, 5, 4}));
  expect_failure({"max_unpool2d", "--input", x_, "--indices", idx_small}, "indices shape");
  const std::string idx_far = dir_.write("if.npy", IndexTensor({1, 1, 1, 1}, {1000}));
  const std::string x1 = dir_.write("x1.npy", random_tensor({1, 1, 1, 1}, 9));
  expect_failure({"max_unpool2d", "--input", x1, "--indices", idx_far}, "outside the output plane");
  expect_failure({"pixel_shuffle", "--input", x_, "--factor", "3"}, "divisible");
}

TEST_F(CliErrorTest, InvalidAttributesAndNonPositiveOutput) {
  expect_failure({"conv_transpose2d", "--input", x_, "--weight", w_, "--stride", "0"}, "stride[0]");
  expect_failure({"conv_transpose2d", "--input", x_, "--weight", w_, "--stride", "1,-2"}, "stride[1]");
  expect_failure({"conv_transpose2d", "--input", x_, "--weight", w_, "--output-padding", "1"}, "output_padding");
  expect_failure({"conv_transpose2d", "--input", x_, "--weight", w_, "--groups", "3"}, "groups");
  expect_failure({"conv_transpose2d", "--input", x_, "--weight", w_, "--padding", "20"}, "empty or negative");
  expect_failure({"conv2d", "--input", x_, "--weight", cw_, "--dilation", "4"}, "empty or negative");
  expect_failure({"upsample_nearest2d", "--input", x_, "--factor", "0"}, "factor");
  expect_failure({"max_unpool2d", "--input", x_, "--indices", idx_, "--output-size", "1,1"}, "output_size");
}

TEST_F(CliErrorTest, UnwritableOutputLeavesNothing) {
  const std::string target = dir_.path("no_such_dir/y.npy");
  expect_failure({"upsample_nearest2d", "--input", x_, "--output", target}, "no_such_dir/y.npy", false);
  EXPECT_FALSE(fs::exists(target));
}

TEST_F(CliErrorTest, ExistingOutputIsKeptOnFailure) {
  const std::string old = npy::encode(random_tensor({1}, 10));
  dir_.write_bytes("y.npy", old);
  const CliResult r = run_cli({"run", "upsample_nearest2d", "--input", x_, "--factor", "0", "--output", out_}, dir_.dir());
  EXPECT_NE(r.exit_code, 0);
  auto kept = npy::read_float32(out_);
  ASSERT_TRUE(kept.ok()) << kept.status().to_string();
  EXPECT_EQ(npy::encode(*kept), old);
}

TEST_F(CliErrorTest, ExplicitVulkanWorksOrFailsClearly) {
  auto vk = Context::create({.backend = BackendKind::vulkan});
  if (vk.ok()) {
    const CliResult r =
        run_cli({"run", "upsample_nearest2d", "--input", x_, "--backend", "vulkan", "--output", out_}, dir_.dir());
    EXPECT_EQ(r.exit_code, 0) << r.describe();
    EXPECT_TRUE(fs::exists(out_));
    return;
  }
  // The CLI must report the library's reason, on one line, and write nothing.
  expect_failure({"upsample_nearest2d", "--input", x_, "--backend", "vulkan"}, vk.status().message());
}

TEST_F(CliErrorTest, TopLevelUsageErrors) {
  for (const auto& args : std::vector<std::vector<std::string>>{{}, {"frobnicate"}, {"info", "extra"}}) {
    const CliResult r = run_cli(args, dir_.dir());
    EXPECT_NE(r.exit_code, 0) << r.describe();
    EXPECT_EQ(r.err_lines().size(), 1u) << r.describe();
  }
}

}  // namespace
}  // namespace upconv::test

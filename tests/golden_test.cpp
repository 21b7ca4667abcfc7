// PyTorch golden data (tests/data/golden, generated once by tests/golden/gen_golden.py with
// python3-torch): every case of manifest.txt runs through a plan on the CPU backend and must
// match torch's float64 result within 1e-4 * (1 + |ref|) (conv ops) or exactly (permutations).
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "golden_manifest.hpp"
#include "op_case.hpp"
#include "upconv/npy.hpp"
#include "upconv/upconv.hpp"

namespace {

using namespace upconv;

using upconv::testing::GoldenCase;
using upconv::testing::load_golden_manifest;

ActivationParams activation_of(const std::string& s) {
  if (s == "relu") return {Activation::relu};
  if (s == "sigmoid") return {Activation::sigmoid};
  if (s == "tanh") return {Activation::tanh};
  if (s.rfind("leaky_relu:", 0) == 0) return {Activation::leaky_relu, std::stof(s.substr(11))};
  return {};
}

Tensor load(const std::string& path) {
  auto t = npy::read_float32(path);
  EXPECT_TRUE(t.ok()) << t.status().to_string();
  return t.ok() ? std::move(t).value() : Tensor();
}

// Runs one golden case on `ctx` and compares with torch's output.
void check_golden(Context& ctx_ref, const GoldenCase& c) {
  Context* ctx = &ctx_ref;
  const std::string op = c.attrs.at("op");
  const Tensor x = load(c.file("x")), want = load(c.file("y"));

  Result<Plan> plan = Status(StatusCode::internal, "op " + op + " not handled by the test");
  double tol = 0.0;
  Tensor w, b;
  const bool has_bias = c.attrs.count("bias") && c.attrs.at("bias") == "1";
  if (has_bias) b = load(c.file("b"));
  if (op.rfind("conv", 0) == 0) {
    tol = 1e-4;
    w = load(c.file("w"));
    const int rank = op.back() == 'd' && op[op.size() - 2] == '1' ? 1 : 2;
    if (op.rfind("conv_transpose", 0) == 0) {
      ConvTransposeParams p;
      p.spatial_rank = rank;
      p.stride = c.pair("stride", p.stride);
      p.dilation = c.pair("dilation", p.dilation);
      p.pad_begin = c.pair("pad_begin", p.pad_begin);
      p.pad_end = c.pair("pad_end", p.pad_end);
      p.output_padding = c.pair("output_padding", p.output_padding);
      p.groups = std::stoll(c.attrs.at("groups"));
      p.activation = activation_of(c.attrs.at("activation"));
      plan = make_conv_transpose(*ctx, p, w, has_bias ? &b : nullptr);
    } else {
      ConvParams p;
      p.spatial_rank = rank;
      p.stride = c.pair("stride", p.stride);
      p.dilation = c.pair("dilation", p.dilation);
      p.pad_begin = c.pair("pad_begin", p.pad_begin);
      p.pad_end = c.pair("pad_end", p.pad_end);
      p.groups = std::stoll(c.attrs.at("groups"));
      p.activation = activation_of(c.attrs.at("activation"));
      plan = make_conv(*ctx, p, w, has_bias ? &b : nullptr);
    }
  } else if (op == "pixel_shuffle" || op == "pixel_unshuffle") {
    PixelShuffleParams p{c.pair("factor", {2, 2})[0], c.attrs.at("mode") == "dcr" ? ShuffleMode::dcr : ShuffleMode::crd};
    plan = op == "pixel_shuffle" ? make_pixel_shuffle(*ctx, p) : make_pixel_unshuffle(*ctx, p);
  } else if (op == "max_unpool2d") {
    MaxUnpool2dParams p;
    p.kernel = c.pair("kernel", p.kernel);
    p.stride = c.pair("stride", p.stride);
    p.padding = c.pair("padding", p.padding);
    if (c.attrs.count("output_size")) p.output_size = c.pair("output_size", {0, 0});
    plan = make_max_unpool2d(*ctx, p);
  } else if (op == "upsample_nearest2d") {
    plan = make_upsample_nearest2d(*ctx, {c.pair("factor", {2, 2})});
  } else if (op == "bed_of_nails2d") {
    plan = make_bed_of_nails2d(*ctx, {c.pair("factor", {2, 2})});
  }
  ASSERT_TRUE(plan.ok()) << c.line << ": " << plan.status().to_string();

  Tensor y;
  Status st;
  if (op == "max_unpool2d") {
    auto idx = npy::read_int64(c.file("i"));
    ASSERT_TRUE(idx.ok()) << idx.status().to_string();
    st = plan->run(x, *idx, y);
  } else {
    st = plan->run(x, y);
  }
  ASSERT_TRUE(st.ok()) << c.line << ": " << st.to_string();
  EXPECT_TRUE(upconv::testing::compare_tensors(y, want, tol, c.line + " [" + ctx->description() + "]"));
}

class Golden : public ::testing::TestWithParam<GoldenCase> {};

TEST_P(Golden, CpuMatchesPyTorch) {
  auto ctx = Context::create({.backend = BackendKind::cpu});
  ASSERT_TRUE(ctx.ok()) << ctx.status().to_string();
  check_golden(*ctx, GetParam());
}

// The same data on the Vulkan backend (the best device; lavapipe where there is no GPU), fp32
// storage, validation layer on; skipped where the build or the machine has no Vulkan. One test
// over all cases, so the context (~100 ms with the validation layer) is created once per process
// under ctest, and destroyed before exit() (a context destroyed after the validation layer
// unloads can crash).
TEST(GoldenVulkan, AllCasesMatchPyTorch) {
  ContextOptions o;
  o.backend = BackendKind::vulkan;
  o.vulkan_validation = true;
  auto ctx = Context::create(o);
  if (!ctx.ok()) GTEST_SKIP() << "no Vulkan backend: " << ctx.status().to_string();
  for (const GoldenCase& c : load_golden_manifest()) {
    SCOPED_TRACE(c.line);
    check_golden(*ctx, c);
  }
}

INSTANTIATE_TEST_SUITE_P(PyTorch, Golden, ::testing::ValuesIn(load_golden_manifest()),
                         [](const ::testing::TestParamInfo<GoldenCase>& info) { return info.param.name; });

// The sweep must not silently shrink (e.g. a missing manifest gives zero instantiations).
TEST(GoldenManifest, HasTheFullSweep) {
  const auto cases = load_golden_manifest();
  EXPECT_GE(cases.size(), 60u) << "manifest " << upconv::testing::golden_dir() << "manifest.txt";
  std::map<std::string, int> per_op;
  for (const auto& c : cases) ++per_op[c.attrs.at("op")];
  for (const char* op : {"conv1d", "conv2d", "conv_transpose1d", "conv_transpose2d", "pixel_shuffle",
                         "pixel_unshuffle", "max_unpool2d", "upsample_nearest2d", "bed_of_nails2d"})
    EXPECT_GE(per_op[op], 4) << op;
}

}  // namespace

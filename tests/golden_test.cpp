// PyTorch golden data (tests/data/golden, generated once by tests/golden/gen_golden.py with
// python3-torch): every case of manifest.txt runs through a plan on the CPU backend and must
// match torch's float64 result within 1e-4 * (1 + |ref|) (conv ops) or exactly (permutations).
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "op_case.hpp"
#include "upconv/npy.hpp"
#include "upconv/upconv.hpp"

namespace {

using namespace upconv;

const std::string kDir = std::string(UPCONV_TEST_DATA_DIR) + "/golden/";

struct GoldenCase {
  std::string name, line;
  std::map<std::string, std::string> attrs;
};

// gtest prints a failing case's parameter with this: the whole manifest line.
[[maybe_unused]] void PrintTo(const GoldenCase& c, std::ostream* os) { *os << c.line; }

std::vector<GoldenCase> load_manifest() {
  std::vector<GoldenCase> cases;
  std::ifstream in(kDir + "manifest.txt");
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    std::istringstream words(line);
    GoldenCase c;
    c.line = line;
    words >> c.name;
    std::string kv;
    while (words >> kv) {
      const auto eq = kv.find('=');
      c.attrs[kv.substr(0, eq)] = kv.substr(eq + 1);
    }
    cases.push_back(std::move(c));
  }
  return cases;
}

// "2,1" -> {2, 1}; a single value fills both axes.
Pair pair_of(const GoldenCase& c, const std::string& key, Pair fallback) {
  auto it = c.attrs.find(key);
  if (it == c.attrs.end()) return fallback;
  std::vector<int64_t> v;
  std::istringstream s(it->second);
  std::string part;
  while (std::getline(s, part, ',')) v.push_back(std::stoll(part));
  return {v.at(0), v.size() > 1 ? v[1] : v[0]};
}

ActivationParams activation_of(const std::string& s) {
  if (s == "relu") return {Activation::relu};
  if (s == "sigmoid") return {Activation::sigmoid};
  if (s == "tanh") return {Activation::tanh};
  if (s.rfind("leaky_relu:", 0) == 0) return {Activation::leaky_relu, std::stof(s.substr(11))};
  return {};
}

Tensor load(const std::string& file) {
  auto t = npy::read_float32(kDir + file);
  EXPECT_TRUE(t.ok()) << t.status().to_string();
  return t.ok() ? std::move(t).value() : Tensor();
}

class Golden : public ::testing::TestWithParam<GoldenCase> {};

TEST_P(Golden, CpuMatchesPyTorch) {
  const GoldenCase& c = GetParam();
  const std::string op = c.attrs.at("op");
  auto ctx = Context::create({.backend = BackendKind::cpu});
  ASSERT_TRUE(ctx.ok()) << ctx.status().to_string();
  const Tensor x = load(c.name + "_x.npy"), want = load(c.name + "_y.npy");

  Result<Plan> plan = Status(StatusCode::internal, "op " + op + " not handled by the test");
  double tol = 0.0;
  Tensor w, b;
  const bool has_bias = c.attrs.count("bias") && c.attrs.at("bias") == "1";
  if (has_bias) b = load(c.name + "_b.npy");
  if (op.rfind("conv", 0) == 0) {
    tol = 1e-4;
    w = load(c.name + "_w.npy");
    const int rank = op.back() == 'd' && op[op.size() - 2] == '1' ? 1 : 2;
    if (op.rfind("conv_transpose", 0) == 0) {
      ConvTransposeParams p;
      p.spatial_rank = rank;
      p.stride = pair_of(c, "stride", p.stride);
      p.dilation = pair_of(c, "dilation", p.dilation);
      p.pad_begin = pair_of(c, "pad_begin", p.pad_begin);
      p.pad_end = pair_of(c, "pad_end", p.pad_end);
      p.output_padding = pair_of(c, "output_padding", p.output_padding);
      p.groups = std::stoll(c.attrs.at("groups"));
      p.activation = activation_of(c.attrs.at("activation"));
      plan = make_conv_transpose(*ctx, p, w, has_bias ? &b : nullptr);
    } else {
      ConvParams p;
      p.spatial_rank = rank;
      p.stride = pair_of(c, "stride", p.stride);
      p.dilation = pair_of(c, "dilation", p.dilation);
      p.pad_begin = pair_of(c, "pad_begin", p.pad_begin);
      p.pad_end = pair_of(c, "pad_end", p.pad_end);
      p.groups = std::stoll(c.attrs.at("groups"));
      p.activation = activation_of(c.attrs.at("activation"));
      plan = make_conv(*ctx, p, w, has_bias ? &b : nullptr);
    }
  } else if (op == "pixel_shuffle" || op == "pixel_unshuffle") {
    PixelShuffleParams p{pair_of(c, "factor", {2, 2})[0], c.attrs.at("mode") == "dcr" ? ShuffleMode::dcr : ShuffleMode::crd};
    plan = op == "pixel_shuffle" ? make_pixel_shuffle(*ctx, p) : make_pixel_unshuffle(*ctx, p);
  } else if (op == "max_unpool2d") {
    MaxUnpool2dParams p;
    p.kernel = pair_of(c, "kernel", p.kernel);
    p.stride = pair_of(c, "stride", p.stride);
    p.padding = pair_of(c, "padding", p.padding);
    if (c.attrs.count("output_size")) p.output_size = pair_of(c, "output_size", {0, 0});
    plan = make_max_unpool2d(*ctx, p);
  } else if (op == "upsample_nearest2d") {
    plan = make_upsample_nearest2d(*ctx, {pair_of(c, "factor", {2, 2})});
  } else if (op == "bed_of_nails2d") {
    plan = make_bed_of_nails2d(*ctx, {pair_of(c, "factor", {2, 2})});
  }
  ASSERT_TRUE(plan.ok()) << c.line << ": " << plan.status().to_string();

  Tensor y;
  Status st;
  if (op == "max_unpool2d") {
    auto idx = npy::read_int64(kDir + c.name + "_i.npy");
    ASSERT_TRUE(idx.ok()) << idx.status().to_string();
    st = plan->run(x, *idx, y);
  } else {
    st = plan->run(x, y);
  }
  ASSERT_TRUE(st.ok()) << c.line << ": " << st.to_string();
  EXPECT_TRUE(upconv::testing::compare_tensors(y, want, tol, c.line));
}

INSTANTIATE_TEST_SUITE_P(PyTorch, Golden, ::testing::ValuesIn(load_manifest()),
                         [](const ::testing::TestParamInfo<GoldenCase>& info) { return info.param.name; });

// The sweep must not silently shrink (e.g. a missing manifest gives zero instantiations).
TEST(GoldenManifest, HasTheFullSweep) {
  const auto cases = load_manifest();
  EXPECT_GE(cases.size(), 60u) << "manifest " << kDir << "manifest.txt";
  std::map<std::string, int> per_op;
  for (const auto& c : cases) ++per_op[c.attrs.at("op")];
  for (const char* op : {"conv1d", "conv2d", "conv_transpose1d", "conv_transpose2d", "pixel_shuffle",
                         "pixel_unshuffle", "max_unpool2d", "upsample_nearest2d", "bed_of_nails2d"})
    EXPECT_GE(per_op[op], 4) << op;
}

}  // namespace

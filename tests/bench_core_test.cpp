// The benchmark core (bench/bench_core): the shapes reader, the exact valid-tap FLOP count
// (against a brute-force count that walks the reference's index relation in 2-D), bytes, and
// the verification that makes a wrong kernel fail its row.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <string>

#include "bench/bench_core.hpp"
#include "bench/fma_peak.hpp"
#include "cpu/isa.hpp"
#include "bench/json_reader.hpp"

namespace upconv::bench {
namespace {

// Multiply-adds of a conv / conv_transpose layer by visiting every (output, input, tap) triple
// of the 2-D index relation, as the reference does.
double brute_force_flops(const Layer& l) {
  const Shape out = output_shape(l).value();
  const bool t = l.is_transposed();
  int64_t valid = 0;
  for (int64_t kh = 0; kh < l.kernel[0]; ++kh)
    for (int64_t kw = 0; kw < l.kernel[1]; ++kw)
      for (int64_t a = 0; a < (t ? l.hw[0] : out[2]); ++a)
        for (int64_t b = 0; b < (t ? l.hw[1] : out[3]); ++b) {
          const int64_t y = a * l.stride[0] - l.pad[0] + kh * l.dilation[0];
          const int64_t x = b * l.stride[1] - l.pad[1] + kw * l.dilation[1];
          const int64_t bound_h = t ? out[2] : l.hw[0], bound_w = t ? out[3] : l.hw[1];
          if (y >= 0 && y < bound_h && x >= 0 && x < bound_w) ++valid;
        }
  return 2.0 * static_cast<double>(l.n * l.c_out * (l.c_in / l.groups) * valid);
}

TEST(BenchCoreTest, ParsesTheRepositoryShapesFile) {
  auto layers = load_layers(default_shapes_path());
  ASSERT_TRUE(layers.ok()) << layers.status().to_string();
  ASSERT_EQ(layers->size(), 10u);
  EXPECT_EQ((*layers)[0].name, "dcgan_g2");
  EXPECT_EQ((*layers)[0].op, "conv_transpose2d");
  EXPECT_EQ((*layers)[0].c_in, 512);
  EXPECT_EQ((*layers)[3].out_pad, (Pair{2, 2}));
  EXPECT_EQ((*layers)[6].dilation, (Pair{12, 12}));
  EXPECT_EQ((*layers)[9].factor, 3);
}

TEST(BenchCoreTest, DcganFlopsAreTheValidTapsOnly) {
  // Stride 2, kernel 4, padding 1 on 8 -> 16: per axis 8*4 pairs, 2 of which fall into the
  // cropped border, so 30 * 30 valid tap pairs per channel pair.
  Layer l{.name = "dcgan_g2", .op = "conv_transpose2d", .n = 1, .c_in = 512, .c_out = 256, .hw = {8, 8},
          .kernel = {4, 4}, .stride = {2, 2}, .pad = {1, 1}};
  EXPECT_DOUBLE_EQ(layer_flops(l), 2.0 * 512 * 256 * 30 * 30);
  EXPECT_DOUBLE_EQ(layer_bytes(l), 4.0 * (512 * 64 + 256 * 256 + 512 * 256 * 16));
}

TEST(BenchCoreTest, FlopCountMatchesBruteForceOnRandomLayers) {
  std::mt19937 gen(7);
  auto pick = [&](int lo, int hi) { return std::uniform_int_distribution<int64_t>(lo, hi)(gen); };
  for (int k = 0; k < 300; ++k) {
    Layer l;
    l.op = k % 2 ? "conv_transpose2d" : "conv2d";
    l.groups = pick(1, 3);
    l.c_in = l.groups * pick(1, 3);
    l.c_out = l.groups * pick(1, 3);
    l.hw = {pick(1, 9), pick(1, 9)};
    l.kernel = {pick(1, 5), pick(1, 5)};
    l.stride = {pick(1, 3), pick(1, 3)};
    l.dilation = {pick(1, 3), pick(1, 3)};
    l.pad = {pick(0, 4), pick(0, 4)};
    if (l.is_transposed())
      for (int a = 0; a < 2; ++a) l.out_pad[a] = pick(0, std::max(l.stride[a], l.dilation[a]) - 1);
    if (!output_shape(l).ok()) continue;  // e.g. more padding than output
    l.name = "random" + std::to_string(k);
    EXPECT_DOUBLE_EQ(layer_flops(l), brute_force_flops(l))
        << l.op << " case " << k << " hw=" << l.hw[0] << "x" << l.hw[1] << " kernel=" << l.kernel[0] << "x"
        << l.kernel[1] << " stride=" << l.stride[0] << "," << l.stride[1] << " dilation=" << l.dilation[0] << ","
        << l.dilation[1] << " pad=" << l.pad[0] << "," << l.pad[1] << " out_pad=" << l.out_pad[0] << ","
        << l.out_pad[1];
  }
}

TEST(BenchCoreTest, RejectsMalformedShapes) {
  EXPECT_FALSE(parse_layers("", "t").ok());
  EXPECT_FALSE(parse_layers("{\"shapes\": [", "t").ok());
  EXPECT_FALSE(parse_layers("{\"shapes\": []}", "t").ok());
  EXPECT_FALSE(parse_layers("{\"shapes\": [{\"name\": \"x\", \"op\": \"conv9d\", \"n\": 1, \"c_in\": 1, \"hw\": [1, 1]}]}", "t").ok());
  const auto missing = parse_layers("{\"shapes\": [{\"name\": \"x\", \"op\": \"pixel_shuffle\", \"n\": 1, \"c_in\": 4}]}", "t");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("hw"), std::string::npos) << missing.status().message();
  // c_in not divisible by factor^2: rejected by the library's own validation.
  EXPECT_FALSE(parse_layers("{\"shapes\": [{\"name\": \"x\", \"op\": \"pixel_shuffle\", \"n\": 1, \"c_in\": 3, "
                            "\"hw\": [2, 2], \"factor\": 2}]}", "t").ok());
  const auto bad_json = parse_json("{\"a\": tru}", "file.json");
  ASSERT_FALSE(bad_json.ok());
  EXPECT_NE(bad_json.status().message().find("file.json"), std::string::npos);
}

TEST(BenchCoreTest, JsonReaderHandlesEscapesAndNesting) {
  auto v = parse_json(R"({"s": "a\"b\\n\u0041", "a": [1, -2.5e1, true, false, null, {"k": []}]})", "t");
  ASSERT_TRUE(v.ok()) << v.status().to_string();
  EXPECT_EQ(v->find("s")->string(), "a\"b\\nA");
  ASSERT_EQ(v->find("a")->array().size(), 6u);
  EXPECT_DOUBLE_EQ(v->find("a")->array()[1].number(), -25.0);
  EXPECT_TRUE(v->find("a")->array()[5].find("k")->is_array());
  EXPECT_FALSE(parse_json(std::string(200, '['), "t").ok());  // nesting bound
}

TEST(BenchCoreTest, VerificationCatchesAWrongResult) {
  Layer l{.name = "tiny", .op = "conv_transpose2d", .n = 1, .c_in = 4, .c_out = 3, .hw = {5, 6}, .kernel = {3, 3},
          .stride = {2, 2}, .pad = {1, 1}, .out_pad = {1, 0}};
  const LayerData data = make_layer_data(l);
  auto ctx = Context::create({.backend = BackendKind::cpu, .num_threads = 2});
  ASSERT_TRUE(ctx.ok());
  auto plan = make_layer_plan(*ctx, l, data);
  ASSERT_TRUE(plan.ok()) << plan.status().to_string();
  Tensor out;
  ASSERT_TRUE(plan->run(data.input, out).ok());
  const Tensor want = reference_output(l, data);
  EXPECT_LE(max_rel_error(out, want), error_tolerance(l, Precision::fp32));
  out.data()[7] += 0.01f;
  EXPECT_GT(max_rel_error(out, want), error_tolerance(l, Precision::fp32));
  out.data()[7] = std::numeric_limits<float>::quiet_NaN();
  EXPECT_TRUE(std::isinf(max_rel_error(out, want)));
}

// A permutation is exact in fp32; in fp16 storage it may round each value to half, no more.
TEST(BenchCoreTest, PermutationToleranceIsHalfRoundingInFp16) {
  const Layer l{.name = "perm", .op = "pixel_shuffle", .n = 1, .c_in = 4, .hw = {3, 3}, .factor = 2};
  EXPECT_EQ(error_tolerance(l, Precision::fp32), 0.0);
  const double tol = error_tolerance(l, Precision::fp16);
  EXPECT_GT(tol, 0.0);
  for (float v : {0.1f, -0.7f, 0.999f, 3.3f, 1e-6f}) {
    const float h = static_cast<float>(static_cast<_Float16>(v));  // what fp16 storage keeps
    EXPECT_LE(std::fabs(h - v) / (1.0 + std::fabs(v)), tol) << v;
  }
  // Four times the rounding step of a value of 3.3 is caught.
  const double v = 3.3, wrong = v * (1 + 4.0 / 2048);
  EXPECT_GT(std::fabs(wrong - v) / (1.0 + v), tol);
}

TEST(BenchCoreTest, MemoryBoundLayersRunAndVerify) {
  auto layers = load_layers(memory_shapes_path());
  ASSERT_TRUE(layers.ok()) << layers.status().to_string();
  EXPECT_EQ(layers->size(), 3u);
  auto ctx = Context::create({.backend = BackendKind::cpu, .num_threads = 2});
  ASSERT_TRUE(ctx.ok());
  // The same ops on small planes (odd sizes), each checked bit-exactly against the reference.
  for (Layer l : *layers) {
    l.c_in = 3;
    l.hw = {5, 7};
    const LayerData data = make_layer_data(l);
    auto plan = make_layer_plan(*ctx, l, data);
    ASSERT_TRUE(plan.ok()) << l.name << ": " << plan.status().to_string();
    Tensor out;
    ASSERT_TRUE(run_layer(*plan, l, data, out).ok()) << l.name;
    EXPECT_EQ(max_rel_error(out, reference_output(l, data)), 0.0) << l.name;
    EXPECT_GT(layer_bytes(l), 0.0);
    EXPECT_EQ(layer_flops(l), 0.0);
  }
}

TEST(BenchCoreTest, MedianTimerRunsAtLeastTheMinimum) {
  int calls = 0;
  const TimingResult t = time_median([&] { ++calls; return 2.0; }, 5, 0.0, 1);
  EXPECT_EQ(t.repetitions, 5);
  EXPECT_EQ(calls, 6);  // one warm-up
  EXPECT_TRUE(t.device_timed);
  EXPECT_DOUBLE_EQ(t.median_ms, 2.0);
}

// The FMA peak is "% of peak"'s reference: it must run the conv kernels' instructions (the ISA
// UPCONV_CPU_ISA lowers them to) and count its work right: per thread at most 2 FLOPs x lanes x 2
// FMA units x 6 GHz, at least one FMA of all lanes per 10 cycles at 1 GHz.
TEST(BenchCoreTest, FmaPeakRunsTheKernelsIsaAndCountsItsWork) {
  namespace cpu = upconv::detail::cpu;
  if (!cpu::simd_kernels_available()) GTEST_SKIP() << "no x86 SIMD kernels in this build";
  for (const cpu::Isa isa : cpu::available_isas()) {
    ASSERT_EQ(setenv("UPCONV_CPU_ISA", cpu::isa_name(isa), 1), 0);
    const FmaPeak peak = measure_fma_peak(1, 0.05);
    EXPECT_EQ(peak.isa, cpu::isa_name(isa));
    EXPECT_EQ(peak.threads, 1);
    const double lanes = isa == cpu::Isa::avx512f ? 16 : isa == cpu::Isa::avx2 ? 8 : 4;
    EXPECT_LT(peak.gflops, 2 * lanes * 2 * 6.0) << peak.isa;
    EXPECT_GT(peak.gflops, 2 * lanes * 1.0 / 10) << peak.isa;
  }
  ASSERT_EQ(unsetenv("UPCONV_CPU_ISA"), 0);
  const FmaPeak two = measure_fma_peak(2, 0.05);
  EXPECT_EQ(two.threads, 2);
  EXPECT_GT(two.gflops, 0.0);
}

}  // namespace
}  // namespace upconv::bench

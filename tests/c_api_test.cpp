// The C ABI: every op through upconv.h gives exactly what the C++ API gives for the same params;
// defaults match the C++ structs; NULLs, short buffers and bad enums fail with a message, never
// a crash; the last error is per thread.
#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "upconv/upconv.h"
#include "upconv/upconv.hpp"

namespace {

using upconv::Shape;
using upconv::Tensor;

Tensor random_tensor(Shape shape, uint32_t seed) {
  Tensor t(std::move(shape));
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  for (auto& v : t.storage()) v = dist(rng);
  return t;
}

class CApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    upconv_context_options o = upconv_context_options_default();
    o.backend = UPCONV_BACKEND_CPU;
    ASSERT_EQ(upconv_context_create(&o, &c_), UPCONV_OK) << upconv_last_error_message();
    auto cpp = upconv::Context::create({.backend = upconv::BackendKind::cpu});
    ASSERT_TRUE(cpp.ok());
    cpp_.emplace(std::move(cpp).value());
  }
  void TearDown() override { upconv_context_destroy(c_); }

  /// Runs a C plan on x and checks the result equals the C++ plan's, bit for bit.
  void expect_same(upconv_plan* plan, upconv::Result<upconv::Plan> cpp_plan, const Tensor& x) {
    ASSERT_NE(plan, nullptr);
    ASSERT_TRUE(cpp_plan.ok()) << cpp_plan.status().to_string();
    Tensor want;
    ASSERT_TRUE(cpp_plan->run(x, want).ok());
    int64_t dims[UPCONV_MAX_RANK];
    int rank = 0;
    ASSERT_EQ(upconv_plan_output_shape(plan, x.shape().data(), x.rank(), dims, &rank), UPCONV_OK)
        << upconv_last_error_message();
    EXPECT_EQ(Shape(dims, dims + rank), want.shape());
    std::vector<float> got(static_cast<size_t>(want.size()), -99.0f);
    ASSERT_EQ(upconv_plan_run(plan, x.data(), x.shape().data(), x.rank(), got.data(), want.size()), UPCONV_OK)
        << upconv_last_error_message();
    EXPECT_EQ(got, want.storage());
    upconv_plan_destroy(plan);
  }

  upconv_context* c_ = nullptr;
  std::optional<upconv::Context> cpp_;
};

TEST_F(CApiTest, ConvTransposeMatchesCpp) {
  const Tensor x = random_tensor({2, 4, 5, 6}, 1), w = random_tensor({4, 3, 3, 2}, 2), b = random_tensor({6}, 3);
  upconv_conv_transpose_params p = upconv_conv_transpose_params_default();
  p.stride[0] = 2;
  p.stride[1] = 3;
  p.pad_begin[0] = 1;
  p.pad_end[1] = 1;
  p.output_padding[0] = 1;
  p.dilation[1] = 2;
  p.groups = 2;
  p.activation = UPCONV_ACTIVATION_LEAKY_RELU;
  p.activation_alpha = 0.2f;
  upconv_plan* plan = nullptr;
  ASSERT_EQ(upconv_plan_create_conv_transpose(c_, &p, w.data(), w.shape().data(), 4, b.data(), 6, &plan), UPCONV_OK)
      << upconv_last_error_message();
  upconv::ConvTransposeParams cp{.stride = {2, 3},
                                 .dilation = {1, 2},
                                 .pad_begin = {1, 0},
                                 .pad_end = {0, 1},
                                 .output_padding = {1, 0},
                                 .groups = 2,
                                 .activation = {upconv::Activation::leaky_relu, 0.2f}};
  expect_same(plan, upconv::make_conv_transpose(*cpp_, cp, w, &b), x);
}

TEST_F(CApiTest, Conv1dMatchesCpp) {
  const Tensor x = random_tensor({1, 3, 17}, 4), w = random_tensor({5, 3, 3}, 5);
  upconv_conv_params p = upconv_conv_params_default();
  p.spatial_rank = 1;
  p.dilation[0] = 4;
  p.pad_begin[0] = 8;
  p.activation = UPCONV_ACTIVATION_TANH;
  upconv_plan* plan = nullptr;
  ASSERT_EQ(upconv_plan_create_conv(c_, &p, w.data(), w.shape().data(), 3, nullptr, 0, &plan), UPCONV_OK)
      << upconv_last_error_message();
  upconv::ConvParams cp{.spatial_rank = 1, .dilation = {4, 1}, .pad_begin = {8, 0},
                        .activation = {upconv::Activation::tanh}};
  expect_same(plan, upconv::make_conv(*cpp_, cp, w), x);
}

TEST_F(CApiTest, PermutationOpsMatchCpp) {
  const Tensor x = random_tensor({1, 8, 4, 6}, 6);
  upconv_plan* plan = nullptr;
  upconv_pixel_shuffle_params ps = upconv_pixel_shuffle_params_default();
  ps.mode = UPCONV_SHUFFLE_DCR;
  ASSERT_EQ(upconv_plan_create_pixel_shuffle(c_, &ps, &plan), UPCONV_OK) << upconv_last_error_message();
  expect_same(plan, upconv::make_pixel_shuffle(*cpp_, {2, upconv::ShuffleMode::dcr}), x);

  ASSERT_EQ(upconv_plan_create_pixel_unshuffle(c_, &ps, &plan), UPCONV_OK) << upconv_last_error_message();
  expect_same(plan, upconv::make_pixel_unshuffle(*cpp_, {2, upconv::ShuffleMode::dcr}), x);

  upconv_upsample_params up = upconv_upsample_params_default();
  up.factor[1] = 3;
  ASSERT_EQ(upconv_plan_create_upsample_nearest2d(c_, &up, &plan), UPCONV_OK) << upconv_last_error_message();
  expect_same(plan, upconv::make_upsample_nearest2d(*cpp_, {{2, 3}}), x);
  ASSERT_EQ(upconv_plan_create_bed_of_nails2d(c_, &up, &plan), UPCONV_OK) << upconv_last_error_message();
  expect_same(plan, upconv::make_bed_of_nails2d(*cpp_, {{2, 3}}), x);
}

TEST_F(CApiTest, MaxUnpoolMatchesCpp) {
  const Tensor x = random_tensor({1, 2, 2, 2}, 7);
  const upconv::IndexTensor idx({1, 2, 2, 2}, {0, 3, 9, 14, 5, 2, 13, 11});
  upconv_max_unpool2d_params p = upconv_max_unpool2d_params_default();
  p.has_output_size = 1;
  p.output_size[0] = 4;
  p.output_size[1] = 5;
  upconv_plan* plan = nullptr;
  ASSERT_EQ(upconv_plan_create_max_unpool2d(c_, &p, &plan), UPCONV_OK) << upconv_last_error_message();
  auto cpp = upconv::make_max_unpool2d(*cpp_, {.output_size = upconv::Pair{4, 5}});
  ASSERT_TRUE(cpp.ok());
  Tensor want;
  ASSERT_TRUE(cpp->run(x, idx, want).ok());
  std::vector<float> got(static_cast<size_t>(want.size()));
  ASSERT_EQ(upconv_plan_run_unpool(plan, x.data(), idx.data(), x.shape().data(), 4, got.data(), want.size()),
            UPCONV_OK)
      << upconv_last_error_message();
  EXPECT_EQ(got, want.storage());
  // The plain run entry point refuses max_unpool2d with a message.
  EXPECT_EQ(upconv_plan_run(plan, x.data(), x.shape().data(), 4, got.data(), want.size()), UPCONV_INVALID_ARGUMENT);
  EXPECT_NE(std::string(upconv_last_error_message()).find("indices"), std::string::npos);
  upconv_plan_destroy(plan);
}

TEST_F(CApiTest, DefaultsMatchCppStructs) {
  const upconv_conv_transpose_params c = upconv_conv_transpose_params_default();
  const upconv::ConvTransposeParams cpp;
  EXPECT_EQ(c.spatial_rank, cpp.spatial_rank);
  EXPECT_EQ(c.stride[0], cpp.stride[0]);
  EXPECT_EQ(c.dilation[1], cpp.dilation[1]);
  EXPECT_EQ(c.groups, cpp.groups);
  EXPECT_EQ(c.activation_alpha, cpp.activation.alpha);
  const upconv_max_unpool2d_params u = upconv_max_unpool2d_params_default();
  EXPECT_EQ(u.kernel[0], upconv::MaxUnpool2dParams{}.kernel[0]);
  EXPECT_EQ(u.stride[0], upconv::MaxUnpool2dParams{}.stride[0]);
  EXPECT_EQ(upconv_pixel_shuffle_params_default().factor, upconv::PixelShuffleParams{}.factor);
}

TEST_F(CApiTest, BadArgumentsFailWithMessages) {
  const Tensor w = random_tensor({2, 2, 3, 3}, 8);
  upconv_conv_params p = upconv_conv_params_default();
  upconv_plan* plan = reinterpret_cast<upconv_plan*>(0x1);
  EXPECT_EQ(upconv_plan_create_conv(nullptr, &p, w.data(), w.shape().data(), 4, nullptr, 0, &plan),
            UPCONV_INVALID_ARGUMENT);
  EXPECT_EQ(plan, nullptr);
  EXPECT_EQ(upconv_plan_create_conv(c_, nullptr, w.data(), w.shape().data(), 4, nullptr, 0, &plan),
            UPCONV_INVALID_ARGUMENT);
  EXPECT_EQ(upconv_plan_create_conv(c_, &p, nullptr, w.shape().data(), 4, nullptr, 0, &plan), UPCONV_INVALID_ARGUMENT);
  EXPECT_NE(std::string(upconv_last_error_message()).find("weight data is NULL"), std::string::npos);
  EXPECT_EQ(upconv_plan_create_conv(c_, &p, w.data(), w.shape().data(), 99, nullptr, 0, &plan),
            UPCONV_INVALID_ARGUMENT);
  EXPECT_EQ(upconv_plan_create_conv(c_, &p, w.data(), w.shape().data(), 4, w.data(), 3, &plan),
            UPCONV_INVALID_ARGUMENT);
  EXPECT_NE(std::string(upconv_last_error_message()).find("bias"), std::string::npos);
  p.activation = static_cast<upconv_activation>(42);
  EXPECT_EQ(upconv_plan_create_conv(c_, &p, w.data(), w.shape().data(), 4, nullptr, 0, &plan),
            UPCONV_INVALID_ARGUMENT);
  EXPECT_NE(std::string(upconv_last_error_message()).find("activation"), std::string::npos);

  upconv_context_options o = upconv_context_options_default();
  o.backend = static_cast<upconv_backend>(7);
  upconv_context* c = reinterpret_cast<upconv_context*>(0x1);
  EXPECT_EQ(upconv_context_create(&o, &c), UPCONV_INVALID_ARGUMENT);
  EXPECT_EQ(c, nullptr);
  EXPECT_EQ(upconv_context_create(&o, nullptr), UPCONV_INVALID_ARGUMENT);
  o = upconv_context_options_default();
  const int32_t negative = -3;  // what a C caller can store; out of the C++ enum's range
  std::memcpy(&o.precision, &negative, sizeof negative);
  EXPECT_EQ(upconv_context_create(&o, &c), UPCONV_INVALID_ARGUMENT);
  EXPECT_NE(std::string(upconv_last_error_message()).find("precision -3"), std::string::npos);
  upconv_pixel_shuffle_params ps = upconv_pixel_shuffle_params_default();
  ps.mode = static_cast<upconv_shuffle_mode>(5);
  EXPECT_EQ(upconv_plan_create_pixel_shuffle(c_, &ps, &plan), UPCONV_INVALID_ARGUMENT);
  EXPECT_NE(std::string(upconv_last_error_message()).find("mode"), std::string::npos);

  // Run-time shape errors and short buffers.
  p = upconv_conv_params_default();
  ASSERT_EQ(upconv_plan_create_conv(c_, &p, w.data(), w.shape().data(), 4, nullptr, 0, &plan), UPCONV_OK);
  const Tensor x = random_tensor({1, 3, 5, 5}, 9);  // 3 channels, weight wants 2
  float out[100];
  int64_t dims[UPCONV_MAX_RANK];
  int rank = 0;
  EXPECT_EQ(upconv_plan_output_shape(plan, x.shape().data(), 4, dims, &rank), UPCONV_INVALID_ARGUMENT);
  EXPECT_EQ(upconv_plan_run(plan, x.data(), x.shape().data(), 4, out, 100), UPCONV_INVALID_ARGUMENT);
  const int64_t ok_dims[4] = {1, 2, 5, 5};
  EXPECT_EQ(upconv_plan_run(plan, x.data(), ok_dims, 4, out, 17), UPCONV_INVALID_ARGUMENT);
  EXPECT_NE(std::string(upconv_last_error_message()).find("output_capacity 17"), std::string::npos);
  EXPECT_EQ(upconv_plan_run(plan, x.data(), ok_dims, 4, nullptr, 100), UPCONV_INVALID_ARGUMENT);
  EXPECT_EQ(upconv_plan_run(nullptr, x.data(), ok_dims, 4, out, 100), UPCONV_INVALID_ARGUMENT);
  EXPECT_EQ(upconv_plan_run(plan, x.data(), ok_dims, 4, out, 18), UPCONV_OK) << upconv_last_error_message();
  upconv_plan_destroy(plan);
  upconv_plan_destroy(nullptr);
  upconv_context_destroy(nullptr);
}

TEST(CApi, StatusStringsAndVersion) {
  EXPECT_STREQ(upconv_status_string(UPCONV_OK), "ok");
  EXPECT_STREQ(upconv_status_string(UPCONV_BACKEND_UNAVAILABLE), "backend_unavailable");
  EXPECT_STREQ(upconv_status_string(UPCONV_INTERNAL), "internal");
  EXPECT_STREQ(upconv_status_string(static_cast<upconv_status>(99)), "unknown");
  EXPECT_STREQ(upconv_version(), upconv::version());
}

TEST(CApi, LastErrorIsPerThread) {
  upconv_context* c = nullptr;
  ASSERT_EQ(upconv_context_create(nullptr, &c), UPCONV_OK) << upconv_last_error_message();  // NULL = defaults
  upconv_pixel_shuffle_params p = upconv_pixel_shuffle_params_default();
  p.factor = 0;
  upconv_plan* plan = nullptr;
  ASSERT_EQ(upconv_plan_create_pixel_shuffle(c, &p, &plan), UPCONV_INVALID_ARGUMENT);
  const std::string mine = upconv_last_error_message();
  EXPECT_NE(mine.find("factor"), std::string::npos) << mine;
  std::string other;
  std::thread([&] { other = upconv_last_error_message(); }).join();
  EXPECT_EQ(other, "");
  EXPECT_EQ(std::string(upconv_last_error_message()), mine);
  upconv_context_destroy(c);
}

TEST(CApi, ExplicitVulkanFailsCleanlyOrWorks) {
  upconv_context_options o = upconv_context_options_default();
  o.backend = UPCONV_BACKEND_VULKAN;
  upconv_context* c = nullptr;
  const upconv_status s = upconv_context_create(&o, &c);
  if (s == UPCONV_OK) {
    EXPECT_EQ(upconv_context_backend(c), UPCONV_BACKEND_VULKAN);
    upconv_context_destroy(c);
  } else {
    EXPECT_EQ(c, nullptr);
    EXPECT_GT(std::string(upconv_last_error_message()).size(), 0u);
  }
}

}  // namespace

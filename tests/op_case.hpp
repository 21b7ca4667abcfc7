// OpCase — a fluent, seeded description of one operator invocation, for comparing any backend
// with the scalar reference (cpu/reference). In the spirit of XNNPACK's
// DeconvolutionOperatorTester.
//
// Usage:
//   #include "op_case.hpp"
//   using upconv::testing::OpCase;
//   auto ctx = upconv::Context::create({.backend = upconv::BackendKind::cpu});
//   EXPECT_TRUE(OpCase::conv_transpose2d().batch(2).channels(6, 4).input(7, 5).kernel(3, 3)
//                   .stride(2, 2).pad(1, 0, 1, 2).output_padding(1, 0).groups(2).bias(true)
//                   .activation(upconv::Activation::leaky_relu, 0.1f).seed(42)
//                   .check(*ctx));
//   for (uint64_t s = 0; s < 100; ++s) EXPECT_TRUE(OpCase::random_conv_transpose(s).check(*ctx));
//
// Builders: conv1d, conv2d, conv_transpose1d, conv_transpose2d, pixel_shuffle, pixel_unshuffle,
// max_unpool2d, upsample_nearest2d, bed_of_nails2d. Random valid cases: random_conv,
// random_conv_transpose, random_pixel_shuffle, random_pixel_unshuffle, random_max_unpool2d,
// random_upsample_nearest2d, random_bed_of_nails2d, and random(seed) for any op.
//
// Setter conventions (every setter returns *this):
// - one-value setters set every spatial axis: stride(2) on a 2-D op is stride(2, 2);
// - two-value setters are (H, W); a 1-D op uses the first value only (its L axis);
// - pad(begin, end) sets begin/end for all axes; pad(top, left, bottom, right) is the 2-D ONNX
//   order (all begins, then all ends); padding(p) is symmetric;
// - channels(c_in, c_out) for conv ops; channels(c) sets the INPUT channel count of any op
//   (pixel_shuffle needs it divisible by factor^2);
// - input(h, w) / input(l) is the spatial size of the input tensor (for max_unpool2d: the pooled
//   size; indices come from a real max-pool over a random plane of the unpool output size).
//
// Data: input, weight, bias (and unpool indices) are generated deterministically from seed() with
// a platform-independent generator (values uniform in [-1, 1)), so a failing case is replayed by
// its describe() string. The reference output comes from upconv::ref on the descriptor built by
// runtime/validate.hpp — the same validation the plans use, so an invalid case fails identically.
//
// Debugging: UPCONV_OPCASE_TRACE=1 makes check() print each case to stderr before running it.
//
// Tolerance: |got - ref| <= tol * (1 + |ref|) elementwise; default 1e-4 for conv ops (fp32
// arithmetic), 0 (bit-exact) for the permutations/copies. NaN never compares equal.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <optional>
#include <string>

#include "upconv/upconv.hpp"

namespace upconv::testing {

enum class OpKind {
  conv,
  conv_transpose,
  pixel_shuffle,
  pixel_unshuffle,
  max_unpool2d,
  upsample_nearest2d,
  bed_of_nails2d,
};

/// "conv2d", "conv_transpose1d", "pixel_shuffle", ... (rank-dependent names for conv ops).
std::string op_name(OpKind kind, int spatial_rank);
const char* to_string(Activation kind);

/// The operands of one case, generated from its seed.
struct Operands {
  Tensor input;
  Tensor weight;         ///< conv ops only (empty otherwise)
  std::optional<Tensor> bias;  ///< conv ops with bias(true)
  IndexTensor indices;   ///< max_unpool2d only
};

/// Elementwise comparison: |got - want| <= tol * (1 + |want|), shapes equal. The failure message
/// gives the shapes, the number of mismatches, the first mismatching index (as a multi-index) with
/// both values, and the maximum error. `what` is prefixed to the message (e.g. describe()).
::testing::AssertionResult compare_tensors(const Tensor& got, const Tensor& want, double tol,
                                           const std::string& what = "");

class OpCase {
 public:
  // ---- builders (defaults: batch 1, 1 channel in/out, 5x5 input, 3x3 kernel, stride 1) ----
  static OpCase conv1d();
  static OpCase conv2d();
  static OpCase conv_transpose1d();
  static OpCase conv_transpose2d();
  static OpCase pixel_shuffle();        ///< factor 2, crd, 4 input channels
  static OpCase pixel_unshuffle();      ///< factor 2, crd, 1 channel, 4x4 input
  static OpCase max_unpool2d();         ///< kernel 2, stride 2 (0 = kernel), padding 0
  static OpCase upsample_nearest2d();   ///< factor 2x2
  static OpCase bed_of_nails2d();       ///< factor 2x2

  // ---- random valid cases ----
  /// small: a sweep of hundreds runs in well under a second (spatial extents up to ~7, channels
  /// up to ~9). large: extents and channel counts 4x as wide (crosses SIMD tiles and GPU
  /// workgroups; the reference takes milliseconds per case).
  enum class Size { small, large };
  /// rank 0 = choose 1-D or 2-D from the seed.
  static OpCase random_conv(uint64_t seed, int rank = 0, Size size = Size::small);
  static OpCase random_conv_transpose(uint64_t seed, int rank = 0, Size size = Size::small);
  static OpCase random_pixel_shuffle(uint64_t seed, Size size = Size::small);
  static OpCase random_pixel_unshuffle(uint64_t seed, Size size = Size::small);
  static OpCase random_max_unpool2d(uint64_t seed, Size size = Size::small);
  static OpCase random_upsample_nearest2d(uint64_t seed, Size size = Size::small);
  static OpCase random_bed_of_nails2d(uint64_t seed, Size size = Size::small);
  /// Any op (chosen from the seed).
  static OpCase random(uint64_t seed, Size size = Size::small);

  // ---- setters ----
  OpCase& batch(int64_t n);
  OpCase& channels(int64_t c);
  OpCase& channels(int64_t c_in, int64_t c_out);
  OpCase& input(int64_t l);
  OpCase& input(int64_t h, int64_t w);
  OpCase& kernel(int64_t k);
  OpCase& kernel(int64_t kh, int64_t kw);
  OpCase& stride(int64_t s);
  OpCase& stride(int64_t sh, int64_t sw);
  OpCase& dilation(int64_t d);
  OpCase& dilation(int64_t dh, int64_t dw);
  OpCase& padding(int64_t p);
  OpCase& padding(int64_t ph, int64_t pw);
  OpCase& pad(int64_t begin, int64_t end);
  OpCase& pad(int64_t top, int64_t left, int64_t bottom, int64_t right);
  OpCase& output_padding(int64_t o);
  OpCase& output_padding(int64_t oh, int64_t ow);
  OpCase& groups(int64_t g);
  OpCase& bias(bool on);
  OpCase& activation(Activation kind, float alpha = 0.01f);
  OpCase& factor(int64_t r);
  OpCase& factor(int64_t rh, int64_t rw);
  OpCase& mode(ShuffleMode m);
  OpCase& output_size(int64_t h, int64_t w);
  OpCase& seed(uint64_t s);
  /// Overrides the default tolerance (e.g. wider for fp16 storage).
  OpCase& tolerance(double tol);

  // ---- queries ----
  OpKind kind() const { return kind_; }
  int spatial_rank() const { return rank_; }
  uint64_t seed() const { return seed_; }
  double tolerance() const;
  /// One line with every attribute and the seed, e.g.
  /// "conv_transpose2d N=2 C=6->4 in=7x5 k=3x3 s=2x2 pad=(1,0)-(1,2) opad=1x0 d=1x1 g=2 bias=1
  ///  act=leaky_relu(0.1) seed=42".
  std::string describe() const;

  /// The public-API params of this case (only the one matching kind() is meaningful).
  ConvParams conv_params() const;
  ConvTransposeParams conv_transpose_params() const;
  PixelShuffleParams shuffle_params() const;
  MaxUnpool2dParams unpool_params() const;
  UpsampleParams upsample_params() const;

  /// Input tensor shape (NCL or NCHW) and weight shape (PyTorch layout; empty for non-conv ops).
  Shape input_shape() const;
  Shape weight_shape() const;

  /// Deterministic operands from the seed.
  Operands operands() const;
  /// Reference output (cpu/reference) for operands(); an error if the case is invalid.
  Result<Tensor> reference(const Operands& ops) const;
  Result<Tensor> reference() const { return reference(operands()); }

  /// Creates the plan on `ctx` through the public API.
  Result<Plan> make_plan(Context& ctx, const Operands& ops) const;
  /// Runs operands() through a plan on `ctx`.
  Result<Tensor> run(Context& ctx, const Operands& ops) const;
  Result<Tensor> run(Context& ctx) const { return run(ctx, operands()); }

  /// Runs on `ctx` and compares with the reference within tolerance(). On failure the message
  /// starts with describe() and the backend, then compare_tensors' details (or the failed Status).
  ::testing::AssertionResult check(Context& ctx) const;

 private:
  explicit OpCase(OpKind kind, int rank);

  OpKind kind_;
  int rank_;
  int64_t n_ = 1, c_in_ = 1, c_out_ = 1;
  Pair in_ = {5, 5};
  Pair kernel_ = {3, 3}, stride_ = {1, 1}, dilation_ = {1, 1};
  Pair pad_begin_ = {0, 0}, pad_end_ = {0, 0}, out_pad_ = {0, 0};
  int64_t groups_ = 1;
  bool bias_ = false;
  ActivationParams activation_ = {};
  Pair factor_ = {2, 2};
  ShuffleMode mode_ = ShuffleMode::crd;
  std::optional<Pair> output_size_;
  uint64_t seed_ = 1;
  std::optional<double> tolerance_;
};

/// A tiny deterministic generator (SplitMix64), identical on every platform and standard
/// library, for tests that need their own random data.
class SplitMix {
 public:
  explicit SplitMix(uint64_t seed) : state_(seed) {}
  uint64_t next();
  /// Uniform integer in [lo, hi].
  int64_t uniform(int64_t lo, int64_t hi);
  /// Uniform float in [-1, 1) with 24 random bits (exactly representable).
  float symmetric();
  bool coin() { return (next() >> 63) != 0; }

 private:
  uint64_t state_;
};

/// A tensor of `shape` filled with rng.symmetric().
Tensor random_tensor(const Shape& shape, SplitMix& rng);

}  // namespace upconv::testing

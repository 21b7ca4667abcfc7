// OpCase: operand generation, reference evaluation, plan execution and comparison.
#include "op_case.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <iomanip>
#include <sstream>
#include <utility>

#include "cpu/reference/reference.hpp"
#include "runtime/validate.hpp"

namespace upconv::testing {

// ---------------------------------------------------------------- random numbers

uint64_t SplitMix::next() {
  uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

int64_t SplitMix::uniform(int64_t lo, int64_t hi) {
  const uint64_t span = static_cast<uint64_t>(hi - lo) + 1;
  return lo + static_cast<int64_t>(next() % span);
}

float SplitMix::symmetric() {
  const int64_t bits = static_cast<int64_t>(next() >> 40);  // 24 bits
  return static_cast<float>(bits - (int64_t{1} << 23)) / static_cast<float>(int64_t{1} << 23);
}

Tensor random_tensor(const Shape& shape, SplitMix& rng) {
  Tensor t(shape);
  for (auto& v : t.storage()) v = rng.symmetric();
  return t;
}

// ---------------------------------------------------------------- names and descriptions

std::string op_name(OpKind kind, int rank) {
  const std::string r = rank == 1 ? "1d" : "2d";
  switch (kind) {
    case OpKind::conv: return "conv" + r;
    case OpKind::conv_transpose: return "conv_transpose" + r;
    case OpKind::pixel_shuffle: return "pixel_shuffle";
    case OpKind::pixel_unshuffle: return "pixel_unshuffle";
    case OpKind::max_unpool2d: return "max_unpool2d";
    case OpKind::upsample_nearest2d: return "upsample_nearest2d";
    case OpKind::bed_of_nails2d: return "bed_of_nails2d";
  }
  return "unknown";
}

const char* to_string(Activation kind) {
  switch (kind) {
    case Activation::none: return "none";
    case Activation::relu: return "relu";
    case Activation::leaky_relu: return "leaky_relu";
    case Activation::sigmoid: return "sigmoid";
    case Activation::tanh: return "tanh";
  }
  return "unknown";
}

namespace {

bool is_conv(OpKind k) { return k == OpKind::conv || k == OpKind::conv_transpose; }

std::string pair_str(const Pair& p, int rank) {
  return rank == 1 ? std::to_string(p[0]) : std::to_string(p[0]) + "x" + std::to_string(p[1]);
}

std::string index_str(const Shape& shape, int64_t flat) {
  std::vector<int64_t> idx(shape.size());
  for (size_t a = shape.size(); a-- > 0;) {
    idx[a] = shape[a] ? flat % shape[a] : 0;
    flat = shape[a] ? flat / shape[a] : 0;
  }
  std::ostringstream s;
  s << '(';
  for (size_t a = 0; a < idx.size(); ++a) s << (a ? "," : "") << idx[a];
  s << ')';
  return s.str();
}

}  // namespace

std::string OpCase::describe() const {
  std::ostringstream o;
  o << op_name(kind_, rank_) << " N=" << n_;
  if (is_conv(kind_))
    o << " C=" << c_in_ << "->" << c_out_;
  else
    o << " C=" << c_in_;
  o << " in=" << pair_str(in_, rank_);
  switch (kind_) {
    case OpKind::conv:
    case OpKind::conv_transpose:
      o << " k=" << pair_str(kernel_, rank_) << " s=" << pair_str(stride_, rank_);
      if (rank_ == 1)
        o << " pad=(" << pad_begin_[0] << ")-(" << pad_end_[0] << ")";
      else
        o << " pad=(" << pad_begin_[0] << "," << pad_begin_[1] << ")-(" << pad_end_[0] << "," << pad_end_[1] << ")";
      if (kind_ == OpKind::conv_transpose) o << " opad=" << pair_str(out_pad_, rank_);
      o << " d=" << pair_str(dilation_, rank_) << " g=" << groups_ << " bias=" << bias_
        << " act=" << to_string(activation_.kind);
      if (activation_.kind == Activation::leaky_relu) o << "(" << activation_.alpha << ")";
      break;
    case OpKind::pixel_shuffle:
    case OpKind::pixel_unshuffle:
      o << " r=" << factor_[0] << " mode=" << (mode_ == ShuffleMode::crd ? "crd" : "dcr");
      break;
    case OpKind::max_unpool2d:
      o << " k=" << pair_str(kernel_, 2) << " s=" << pair_str(stride_, 2) << " p=" << pair_str(pad_begin_, 2);
      if (output_size_) o << " output_size=" << pair_str(*output_size_, 2);
      break;
    case OpKind::upsample_nearest2d:
    case OpKind::bed_of_nails2d:
      o << " r=" << pair_str(factor_, 2);
      break;
  }
  o << " seed=" << seed_;
  if (tolerance_) o << " tol=" << *tolerance_;
  return o.str();
}

// ---------------------------------------------------------------- builders and setters

OpCase::OpCase(OpKind kind, int rank) : kind_(kind), rank_(rank) {}

OpCase OpCase::conv1d() { return OpCase(OpKind::conv, 1); }
OpCase OpCase::conv2d() { return OpCase(OpKind::conv, 2); }
OpCase OpCase::conv_transpose1d() { return OpCase(OpKind::conv_transpose, 1); }
OpCase OpCase::conv_transpose2d() { return OpCase(OpKind::conv_transpose, 2); }
OpCase OpCase::pixel_shuffle() { return OpCase(OpKind::pixel_shuffle, 2).channels(4).input(3, 3); }
OpCase OpCase::pixel_unshuffle() { return OpCase(OpKind::pixel_unshuffle, 2).input(4, 4); }
OpCase OpCase::max_unpool2d() { return OpCase(OpKind::max_unpool2d, 2).kernel(2).stride(0).input(3, 3); }
OpCase OpCase::upsample_nearest2d() { return OpCase(OpKind::upsample_nearest2d, 2).input(3, 3); }
OpCase OpCase::bed_of_nails2d() { return OpCase(OpKind::bed_of_nails2d, 2).input(3, 3); }

OpCase& OpCase::batch(int64_t n) { n_ = n; return *this; }
OpCase& OpCase::channels(int64_t c) { c_in_ = c_out_ = c; return *this; }
OpCase& OpCase::channels(int64_t ci, int64_t co) { c_in_ = ci, c_out_ = co; return *this; }
OpCase& OpCase::input(int64_t l) { in_ = {l, l}; if (rank_ == 1) in_ = {1, l}; return *this; }
OpCase& OpCase::input(int64_t h, int64_t w) { in_ = rank_ == 1 ? Pair{1, h} : Pair{h, w}; return *this; }
OpCase& OpCase::kernel(int64_t k) { kernel_ = {k, k}; return *this; }
OpCase& OpCase::kernel(int64_t kh, int64_t kw) { kernel_ = {kh, kw}; return *this; }
OpCase& OpCase::stride(int64_t s) { stride_ = {s, s}; return *this; }
OpCase& OpCase::stride(int64_t sh, int64_t sw) { stride_ = {sh, sw}; return *this; }
OpCase& OpCase::dilation(int64_t d) { dilation_ = {d, d}; return *this; }
OpCase& OpCase::dilation(int64_t dh, int64_t dw) { dilation_ = {dh, dw}; return *this; }
OpCase& OpCase::padding(int64_t p) { return pad(p, p); }
OpCase& OpCase::padding(int64_t ph, int64_t pw) { return pad(ph, pw, ph, pw); }
OpCase& OpCase::pad(int64_t b, int64_t e) { pad_begin_ = {b, b}; pad_end_ = {e, e}; return *this; }
OpCase& OpCase::pad(int64_t t, int64_t l, int64_t b, int64_t r) {
  pad_begin_ = {t, l};
  pad_end_ = {b, r};
  return *this;
}
OpCase& OpCase::output_padding(int64_t o) { out_pad_ = {o, o}; return *this; }
OpCase& OpCase::output_padding(int64_t oh, int64_t ow) { out_pad_ = {oh, ow}; return *this; }
OpCase& OpCase::groups(int64_t g) { groups_ = g; return *this; }
OpCase& OpCase::bias(bool on) { bias_ = on; return *this; }
OpCase& OpCase::activation(Activation kind, float alpha) { activation_ = {kind, alpha}; return *this; }
OpCase& OpCase::factor(int64_t r) { factor_ = {r, r}; return *this; }
OpCase& OpCase::factor(int64_t rh, int64_t rw) { factor_ = {rh, rw}; return *this; }
OpCase& OpCase::mode(ShuffleMode m) { mode_ = m; return *this; }
OpCase& OpCase::output_size(int64_t h, int64_t w) { output_size_ = Pair{h, w}; return *this; }
OpCase& OpCase::seed(uint64_t s) { seed_ = s; return *this; }
OpCase& OpCase::tolerance(double tol) { tolerance_ = tol; return *this; }

double OpCase::tolerance() const {
  if (tolerance_) return *tolerance_;
  return is_conv(kind_) ? 1e-4 : 0.0;
}

// ---------------------------------------------------------------- params and shapes

ConvParams OpCase::conv_params() const {
  ConvParams p;
  p.spatial_rank = rank_;
  p.stride = stride_;
  p.dilation = dilation_;
  p.pad_begin = pad_begin_;
  p.pad_end = pad_end_;
  p.groups = groups_;
  p.activation = activation_;
  return p;
}

ConvTransposeParams OpCase::conv_transpose_params() const {
  ConvTransposeParams p;
  p.spatial_rank = rank_;
  p.stride = stride_;
  p.dilation = dilation_;
  p.pad_begin = pad_begin_;
  p.pad_end = pad_end_;
  p.output_padding = out_pad_;
  p.groups = groups_;
  p.activation = activation_;
  return p;
}

PixelShuffleParams OpCase::shuffle_params() const { return {factor_[0], mode_}; }

MaxUnpool2dParams OpCase::unpool_params() const { return {kernel_, stride_, pad_begin_, output_size_}; }

UpsampleParams OpCase::upsample_params() const { return {factor_}; }

Shape OpCase::input_shape() const {
  if (rank_ == 1) return {n_, c_in_, in_[1]};
  return {n_, c_in_, in_[0], in_[1]};
}

Shape OpCase::weight_shape() const {
  if (!is_conv(kind_)) return {};
  const int64_t g = groups_ > 0 ? groups_ : 1;
  Shape s = kind_ == OpKind::conv ? Shape{c_out_, c_in_ / g} : Shape{c_in_, c_out_ / g};
  if (rank_ == 2) s.push_back(kernel_[0]);
  s.push_back(rank_ == 2 ? kernel_[1] : kernel_[0]);
  return s;
}

// ---------------------------------------------------------------- operands

namespace {

// Indices as max_pool2d(return_indices=True) gives them: each pooled element takes the first
// maximum of its window over a random plane of the unpool output size. Windows that fall
// entirely outside the plane (possible with a small explicit output_size) take the nearest
// in-plane element. Values equal the plane's value at the index, so repeated indices (overlapping
// windows) always carry equal values and the unpool result does not depend on scatter order.
void pool_indices(const detail::Dims4& xd, const detail::Dims4& yd, const MaxUnpool2dParams& p, SplitMix& rng, Tensor& values,
                  IndexTensor& indices) {
  const int64_t sh = p.stride[0] ? p.stride[0] : p.kernel[0];
  const int64_t sw = p.stride[1] ? p.stride[1] : p.kernel[1];
  std::vector<float> plane(static_cast<size_t>(yd.plane()));
  for (int64_t nc = 0; nc < xd.n * xd.c; ++nc) {
    for (auto& v : plane) v = rng.symmetric();
    for (int64_t ph = 0; ph < xd.h; ++ph)
      for (int64_t pw = 0; pw < xd.w; ++pw) {
        const int64_t h0 = ph * sh - p.padding[0], w0 = pw * sw - p.padding[1];
        int64_t h_lo = std::max<int64_t>(h0, 0), h_hi = std::min(h0 + p.kernel[0], yd.h);
        int64_t w_lo = std::max<int64_t>(w0, 0), w_hi = std::min(w0 + p.kernel[1], yd.w);
        if (h_lo >= h_hi) h_lo = std::min(h_lo, yd.h - 1), h_hi = h_lo + 1;
        if (w_lo >= w_hi) w_lo = std::min(w_lo, yd.w - 1), w_hi = w_lo + 1;
        int64_t best = h_lo * yd.w + w_lo;
        for (int64_t h = h_lo; h < h_hi; ++h)
          for (int64_t w = w_lo; w < w_hi; ++w)
            if (plane[static_cast<size_t>(h * yd.w + w)] > plane[static_cast<size_t>(best)]) best = h * yd.w + w;
        const int64_t at = (nc * xd.h + ph) * xd.w + pw;
        indices.data()[at] = best;
        values.data()[at] = plane[static_cast<size_t>(best)];
      }
  }
}

}  // namespace

Operands OpCase::operands() const {
  SplitMix rng(seed_);
  Operands ops;
  const Shape in_shape = input_shape();
  auto count = checked_element_count(in_shape, int64_t{1} << 28);
  if (!count.ok()) return ops;  // invalid case: reference()/run() report the error
  ops.input = random_tensor(in_shape, rng);
  if (is_conv(kind_)) {
    const Shape ws = weight_shape();
    if (checked_element_count(ws, int64_t{1} << 28).ok()) ops.weight = random_tensor(ws, rng);
    if (bias_) ops.bias = random_tensor({c_out_}, rng);
  }
  if (kind_ == OpKind::max_unpool2d) {
    ops.indices = IndexTensor(in_shape);
    auto desc = detail::make_unpool_desc(unpool_params());
    if (!desc.ok()) return ops;
    auto io = detail::resolve_io(*desc, in_shape);
    if (!io.ok()) return ops;
    pool_indices(io->in, io->out, unpool_params(), rng, ops.input, ops.indices);
  }
  return ops;
}

// ---------------------------------------------------------------- reference and backend runs

Result<Tensor> OpCase::reference(const Operands& ops) const {
  Result<detail::OpDesc> desc = Status(StatusCode::internal, "unset");
  const int64_t bias_count = ops.bias ? ops.bias->size() : -1;
  auto widen = [](auto d) -> Result<detail::OpDesc> {
    if (!d.ok()) return d.status();
    return detail::OpDesc(*d);
  };
  switch (kind_) {
    case OpKind::conv: desc = widen(detail::make_conv_desc(conv_params(), ops.weight.shape(), bias_count)); break;
    case OpKind::conv_transpose:
      desc = widen(detail::make_conv_transpose_desc(conv_transpose_params(), ops.weight.shape(), bias_count));
      break;
    case OpKind::pixel_shuffle: desc = widen(detail::make_shuffle_desc(shuffle_params(), false)); break;
    case OpKind::pixel_unshuffle: desc = widen(detail::make_shuffle_desc(shuffle_params(), true)); break;
    case OpKind::max_unpool2d: desc = widen(detail::make_unpool_desc(unpool_params())); break;
    case OpKind::upsample_nearest2d: desc = widen(detail::make_resample_desc(upsample_params(), false)); break;
    case OpKind::bed_of_nails2d: desc = widen(detail::make_resample_desc(upsample_params(), true)); break;
  }
  if (!desc.ok()) return desc.status();
  auto io = detail::resolve_io(*desc, ops.input.shape());
  if (!io.ok()) return io.status();
  Tensor y(detail::output_shape_of(*desc, io->out));
  if (const auto* c = std::get_if<detail::ConvDesc>(&*desc)) {
    ref::conv(*c, ops.input.data(), io->in, ops.weight.data(), ops.bias ? ops.bias->data() : nullptr, y.data(),
              io->out);
  } else if (const auto* s = std::get_if<detail::ShuffleDesc>(&*desc)) {
    ref::pixel_shuffle(*s, ops.input.data(), io->in, y.data(), io->out);
  } else if (std::holds_alternative<detail::UnpoolDesc>(*desc)) {
    if (ops.indices.shape() != ops.input.shape())
      return invalid_argument("indices shape " + shape_to_string(ops.indices.shape()) + " must equal input shape");
    for (int64_t v : ops.indices.storage())
      if (v < 0 || v >= io->out.plane()) return invalid_argument("index " + std::to_string(v) + " out of range");
    ref::max_unpool2d(ops.input.data(), ops.indices.data(), io->in, y.data(), io->out);
  } else {
    ref::resample(std::get<detail::ResampleDesc>(*desc), ops.input.data(), io->in, y.data(), io->out);
  }
  return y;
}

Result<Plan> OpCase::make_plan(Context& ctx, const Operands& ops) const {
  const Tensor* b = ops.bias ? &*ops.bias : nullptr;
  switch (kind_) {
    case OpKind::conv: return make_conv(ctx, conv_params(), ops.weight, b);
    case OpKind::conv_transpose: return make_conv_transpose(ctx, conv_transpose_params(), ops.weight, b);
    case OpKind::pixel_shuffle: return upconv::make_pixel_shuffle(ctx, shuffle_params());
    case OpKind::pixel_unshuffle: return upconv::make_pixel_unshuffle(ctx, shuffle_params());
    case OpKind::max_unpool2d: return upconv::make_max_unpool2d(ctx, unpool_params());
    case OpKind::upsample_nearest2d: return upconv::make_upsample_nearest2d(ctx, upsample_params());
    case OpKind::bed_of_nails2d: return upconv::make_bed_of_nails2d(ctx, upsample_params());
  }
  return Status(StatusCode::internal, "unknown op kind");
}

Result<Tensor> OpCase::run(Context& ctx, const Operands& ops) const {
  auto plan = make_plan(ctx, ops);
  if (!plan.ok()) return plan.status();
  Tensor y;
  Status st = kind_ == OpKind::max_unpool2d ? plan->run(ops.input, ops.indices, y) : plan->run(ops.input, y);
  if (!st.ok()) return st;
  return y;
}

::testing::AssertionResult OpCase::check(Context& ctx) const {
  const std::string what = describe() + " [backend " + ctx.description() + "]";
  // UPCONV_OPCASE_TRACE=1 prints every case before it runs, to name the one that crashes.
  if (const char* trace = std::getenv("UPCONV_OPCASE_TRACE"); trace && *trace && *trace != '0')
    std::fprintf(stderr, "OpCase: %s\n", what.c_str());
  const Operands ops = operands();
  auto want = reference(ops);
  if (!want.ok()) return ::testing::AssertionFailure() << what << ": reference failed: " << want.status().to_string();
  auto got = run(ctx, ops);
  if (!got.ok()) return ::testing::AssertionFailure() << what << ": run failed: " << got.status().to_string();
  return compare_tensors(*got, *want, tolerance(), what);
}

::testing::AssertionResult compare_tensors(const Tensor& got, const Tensor& want, double tol,
                                           const std::string& what) {
  const std::string prefix = what.empty() ? "" : what + ": ";
  if (got.shape() != want.shape())
    return ::testing::AssertionFailure() << prefix << "shape " << shape_to_string(got.shape()) << " != expected "
                                         << shape_to_string(want.shape());
  int64_t mismatches = 0, first = -1, worst = -1;
  double max_err = 0.0;
  for (int64_t i = 0; i < want.size(); ++i) {
    const double g = got.data()[i], w = want.data()[i];
    const double err = std::fabs(g - w);
    const bool ok = err <= tol * (1.0 + std::fabs(w)) || (g == w);  // g == w: equal infinities
    if (!ok) {
      ++mismatches;
      if (first < 0) first = i;
    }
    if (!(err <= max_err)) max_err = err, worst = i;  // NaN errors count as worst
  }
  if (mismatches == 0) return ::testing::AssertionSuccess();
  std::ostringstream f;
  f << std::setprecision(9) << prefix << mismatches << " of " << want.size() << " elements differ beyond " << tol
    << " * (1 + |ref|); shape " << shape_to_string(want.shape()) << "; first at " << index_str(want.shape(), first)
    << " got " << got.data()[first] << " want " << want.data()[first];
  if (worst >= 0)
    f << "; max error " << max_err << " at " << index_str(want.shape(), worst) << " got " << got.data()[worst]
      << " want " << want.data()[worst];
  return ::testing::AssertionFailure() << f.str();
}

}  // namespace upconv::testing

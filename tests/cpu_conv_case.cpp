#include "cpu_conv_case.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <sstream>

#include "cpu/kernels/winograd_plan.hpp"
#include "cpu/reference/reference.hpp"
#include "runtime/thread_pool.hpp"

namespace upconv::testing {
namespace {

int64_t out_len(bool transposed, int64_t in, int64_t k, int64_t s, int64_t d, int64_t pb, int64_t pe, int64_t op) {
  if (transposed) return (in - 1) * s - pb - pe + d * (k - 1) + op + 1;
  const int64_t span = in + pb + pe - d * (k - 1) - 1;
  return span < 0 ? 0 : span / s + 1;
}

std::vector<float> random_values(std::mt19937_64& rng, int64_t count) {
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  std::vector<float> v(static_cast<size_t>(count));
  for (float& f : v) f = u(rng);
  return v;
}

struct Data {
  std::vector<float> x, w, b;
};

Data make_data(const ConvCase& c) {
  std::mt19937_64 rng(c.seed);
  const detail::ConvDesc d = c.desc();
  Data data;
  data.x = random_values(rng, c.input_dims().count());
  data.w = random_values(rng, d.weight_count());
  if (c.bias) data.b = random_values(rng, c.c_out);
  return data;
}

}  // namespace

detail::ConvDesc ConvCase::desc() const {
  detail::ConvDesc d;
  d.transposed = transposed;
  d.c_in = c_in;
  d.c_out = c_out;
  d.groups = groups;
  d.kh = kh;
  d.kw = kw;
  d.stride_h = sh;
  d.stride_w = sw;
  d.dil_h = dh;
  d.dil_w = dw;
  d.pad_top = pt;
  d.pad_left = pl;
  d.pad_bottom = pb;
  d.pad_right = pr;
  d.out_pad_h = oph;
  d.out_pad_w = opw;
  d.has_bias = bias;
  d.activation.kind = act;
  d.activation.alpha = 0.125f;
  return d;
}

bool ConvCase::output_dims(detail::Dims4& out) const {
  out = {n, c_out, out_len(transposed, h, kh, sh, dh, pt, pb, oph), out_len(transposed, w, kw, sw, dw, pl, pr, opw)};
  return out.h >= 1 && out.w >= 1;
}

std::string ConvCase::describe() const {
  std::ostringstream s;
  s << (transposed ? "conv_transpose" : "conv") << " n=" << n << " c_in=" << c_in << " c_out=" << c_out
    << " groups=" << groups << " in=" << h << "x" << w << " k=" << kh << "x" << kw << " stride=" << sh << "," << sw
    << " dil=" << dh << "," << dw << " pad(t,l,b,r)=" << pt << "," << pl << "," << pb << "," << pr
    << " out_pad=" << oph << "," << opw << " bias=" << bias << " act=" << static_cast<int>(act) << " seed=" << seed;
  return s.str();
}

ConvCase conv_case(int64_t c_in, int64_t c_out, int64_t h, int64_t w, int64_t kh, int64_t kw) {
  ConvCase c;
  c.transposed = false;
  c.c_in = c_in;
  c.c_out = c_out;
  c.h = h;
  c.w = w;
  c.kh = kh;
  c.kw = kw;
  return c;
}

ConvCase random_conv_case(uint64_t seed, bool transposed) {
  std::mt19937_64 rng(seed * 7919 + (transposed ? 1 : 0));
  auto pick = [&](int64_t lo, int64_t hi) { return std::uniform_int_distribution<int64_t>(lo, hi)(rng); };
  for (;;) {
    ConvCase c;
    c.transposed = transposed;
    c.seed = seed;
    c.groups = pick(0, 3) == 0 ? pick(2, 4) : 1;
    c.c_in = c.groups * pick(1, 6);
    c.c_out = c.groups * (pick(0, 3) == 0 ? pick(8, 40) : pick(1, 6));
    if (pick(0, 5) == 0) c.c_in = c.c_out = c.groups = pick(1, 9);  // depthwise
    c.n = pick(1, 2);
    c.h = pick(0, 3) == 0 ? 1 : pick(1, 12);
    c.w = pick(1, 40);
    c.kh = c.h == 1 ? pick(1, 2) : pick(1, 5);
    c.kw = pick(1, 5);
    c.sh = pick(1, 3);
    c.sw = pick(1, 4);
    c.dh = pick(0, 2) == 0 ? pick(1, 3) : 1;
    c.dw = pick(0, 2) == 0 ? pick(1, 4) : 1;
    const int64_t max_pad_h = c.dh * (c.kh - 1), max_pad_w = c.dw * (c.kw - 1);
    c.pt = pick(0, max_pad_h);
    c.pb = pick(0, max_pad_h);
    c.pl = pick(0, max_pad_w);
    c.pr = pick(0, max_pad_w);
    if (transposed) {
      c.oph = pick(0, std::max(c.sh, c.dh) - 1);
      c.opw = pick(0, std::max(c.sw, c.dw) - 1);
    }
    c.bias = pick(0, 1) == 1;
    c.act = static_cast<Activation>(pick(0, 4));
    detail::Dims4 yd;
    if (c.output_dims(yd)) return c;
  }
}

ConvRun run_fast(const ConvCase& c, detail::cpu::Isa isa, detail::cpu::ConvTileKind tile, int threads) {
  const Data data = make_data(c);
  const detail::ConvDesc d = c.desc();
  ConvRun r;
  c.output_dims(r.yd);
  // As many guard floats as the output has (at least 4096): a kernel writing whole register
  // tiles past the last channel or row would land there (and outside the tensor in real use).
  const auto count = static_cast<size_t>(r.yd.count());
  constexpr float kGuard = 12345.0f;
  r.y.assign(count, std::nanf(""));
  r.y.resize(count + std::max<size_t>(count, 4096), kGuard);
  auto pool = std::make_shared<detail::ThreadPool>(threads);
  auto kernel = detail::cpu::make_fast_conv_kernel(d, data.w.data(), c.bias ? data.b.data() : nullptr, isa, pool, tile);
  detail::OpArgs args;
  args.x = data.x.data();
  args.xd = c.input_dims();
  args.y = r.y.data();
  args.yd = r.yd;
  const Status st = kernel->run(args);
  r.wrote_past_end = std::any_of(r.y.begin() + static_cast<std::ptrdiff_t>(count), r.y.end(),
                                 [](float v) { return v != kGuard; });
  r.y.resize(count);
  if (!st.ok()) r.y.clear();
  return r;
}

namespace {

// Empty when got is within |got - ref| <= 1e-4 * (1 + |ref|) + kWinogradRounding * |x||w| of ref
// (|x||w|: the sum of the absolute products of the output's terms, `magnitude`, where given),
// else the first mismatch.
std::string compare(const ConvCase& c, const std::vector<float>& got, const std::vector<float>& ref,
                    const detail::Dims4& yd, const std::string& context, const std::vector<float>* magnitude = nullptr) {
  if (got.size() != ref.size()) return "run failed: " + c.describe() + context;
  for (size_t i = 0; i < ref.size(); ++i) {
    const float g = got[i], e = ref[i];
    const double slack = magnitude ? kWinogradRounding * (*magnitude)[i] : 0.0;
    if (!(std::fabs(g - e) <= 1e-4f * (1.0f + std::fabs(e)) + slack)) {      const int64_t plane = yd.h * yd.w;
      std::ostringstream s;
      s << c.describe() << context << ": at (n,c,h,w)=(" << static_cast<int64_t>(i) / (plane * yd.c) << ","
        << static_cast<int64_t>(i) / plane % yd.c << "," << static_cast<int64_t>(i) % plane / yd.w << ","
        << static_cast<int64_t>(i) % yd.w << ") got " << g << " want " << e;
      return s.str();
    }
  }
  return {};
}

// Per output, the sum over its terms of |x| |w| (and |bias|): the reference conv of the absolute
// values, without activation (all of them are 1-Lipschitz or flatter for the alphas tested).
std::vector<float> term_magnitudes(const ConvCase& c, const Data& data, const detail::Dims4& xd, const float* x,
                                   const detail::Dims4& yd) {
  auto absolute = [](const float* v, size_t n) {
    std::vector<float> a(v, v + n);
    for (float& f : a) f = std::fabs(f);
    return a;
  };
  detail::ConvDesc d = c.desc();
  d.activation = {};
  const std::vector<float> ax = absolute(x, static_cast<size_t>(xd.count()));
  const std::vector<float> aw = absolute(data.w.data(), data.w.size()), ab = absolute(data.b.data(), data.b.size());
  std::vector<float> m(static_cast<size_t>(yd.count()));
  ref::conv(d, ax.data(), xd, aw.data(), c.bias ? ab.data() : nullptr, m.data(), yd);
  return m;
}

}  // namespace

namespace {

// Compares `got` (the layer of case c on input x, case `shown`'s extents, output yd) with the
// reference; `winograd`: the run may have taken the Winograd form, whose rounding is allowed for.
std::string compare_with_reference(const ConvCase& c, const Data& data, const ConvCase& shown, const std::vector<float>& x,
                                   const std::vector<float>& got, const detail::Dims4& yd, const std::string& context,
                                   bool winograd) {
  const detail::Dims4 xd = shown.input_dims();
  std::vector<float> ref(static_cast<size_t>(yd.count()));
  ref::conv(c.desc(), x.data(), xd, data.w.data(), c.bias ? data.b.data() : nullptr, ref.data(), yd);
  if (!winograd) return compare(shown, got, ref, yd, context);
  const std::vector<float> magnitude = term_magnitudes(c, data, xd, x.data(), yd);
  return compare(shown, got, ref, yd, context, &magnitude);
}

}  // namespace

std::string check_against_reference(const ConvCase& c, detail::cpu::Isa isa, detail::cpu::ConvTileKind tile,
                                    int threads) {
  const Data data = make_data(c);
  const ConvRun got = run_fast(c, isa, tile, threads);
  std::ostringstream context;
  context << " isa=" << detail::cpu::isa_name(isa) << " tile=" << static_cast<int>(tile) << " threads=" << threads;
  if (got.wrote_past_end) return "wrote past the output's end: " + c.describe() + context.str();
  const bool winograd = (tile == detail::cpu::ConvTileKind::winograd || tile == detail::cpu::ConvTileKind::automatic) &&
                        detail::cpu::WinogradConv::supports(c.desc());
  return compare_with_reference(c, data, c, data.x, got.y, got.yd, context.str(), winograd);
}

std::string check_one_kernel_over_widths(const ConvCase& c, detail::cpu::Isa isa, const std::vector<int64_t>& widths,
                                         std::vector<int64_t>& packed_floats,
                                         std::vector<detail::cpu::ConvTileKind>* kernels, detail::cpu::ConvTileKind tile) {
  const Data data = make_data(c);
  const detail::ConvDesc d = c.desc();
  auto pool = std::make_shared<detail::ThreadPool>(2);
  auto kernel = detail::cpu::make_fast_conv_kernel(d, data.w.data(), c.bias ? data.b.data() : nullptr, isa, pool, tile);
  packed_floats = {detail::cpu::packed_weight_floats(*kernel)};
  std::mt19937_64 rng(c.seed + 17);
  for (int64_t w : widths) {
    ConvCase cw = c;
    cw.w = w;
    const std::vector<float> x = random_values(rng, cw.input_dims().count());
    detail::OpArgs args;
    args.x = x.data();
    args.xd = cw.input_dims();
    if (!cw.output_dims(args.yd)) return "empty output for width " + std::to_string(w);
    std::vector<float> got(static_cast<size_t>(args.yd.count()), std::nanf(""));
    args.y = got.data();
    if (!kernel->run(args).ok()) got.clear();
    packed_floats.push_back(detail::cpu::packed_weight_floats(*kernel));
    if (kernels) kernels->push_back(detail::cpu::last_run_kernel(*kernel));
    const std::string err = compare_with_reference(c, data, cw, x, got, args.yd,
                                                   " isa=" + std::string(detail::cpu::isa_name(isa)),
                                                   detail::cpu::WinogradConv::supports(d));
    if (!err.empty()) return err;
  }
  return {};
}

std::string check_winograd_against_reference(const ConvCase& c, detail::cpu::Isa isa, int mh, int mw, int threads,
                                             const std::vector<int64_t>& widths,
                                             std::shared_ptr<detail::cpu::ConvWorkspace> workspace) {
  const Data data = make_data(c);
  const detail::ConvDesc d = c.desc();
  if (!detail::cpu::WinogradConv::supports(d)) return "not a Winograd layer: " + c.describe();
  auto pool = std::make_shared<detail::ThreadPool>(threads);
  detail::cpu::WinogradConv conv(d, detail::cpu::WinogradConv::caller_weights(d, data.w.data()),
                                 c.bias ? data.b.data() : nullptr, isa, pool, std::move(workspace));
  conv.pin_tile_sizes(mh, mw);
  std::mt19937_64 rng(c.seed + 29);
  for (size_t k = 0; k <= widths.size(); ++k) {
    // The case's own input first, then inputs of each further width.
    ConvCase cw = c;
    if (k > 0) cw.w = widths[k - 1];
    const std::vector<float> x = k == 0 ? data.x : random_values(rng, cw.input_dims().count());
    std::ostringstream context;
    context << " isa=" << detail::cpu::isa_name(isa) << " winograd tiles=" << mh << "x" << mw << " threads=" << threads
            << " width=" << cw.w;
    detail::OpArgs args;
    args.x = x.data();
    args.xd = cw.input_dims();
    if (!cw.output_dims(args.yd)) return "empty output: " + cw.describe();
    std::vector<float> got(static_cast<size_t>(args.yd.count()), std::nanf(""));
    args.y = got.data();
    const detail::cpu::AxisPlan ph = detail::cpu::make_axis_plan({d.transposed, d.kh, d.stride_h, d.dil_h, d.pad_top}, args.xd.h, args.yd.h);
    const detail::cpu::AxisPlan pw = detail::cpu::make_axis_plan({d.transposed, d.kw, d.stride_w, d.dil_w, d.pad_left}, args.xd.w, args.yd.w);
    if (!(conv.cost(ph, pw, args.xd, args.yd) < std::numeric_limits<double>::infinity()))
      return "no Winograd form for this geometry: " + cw.describe() + context.str();
    conv.run(args, ph, pw);
    const std::string err = compare_with_reference(c, data, cw, x, got, args.yd, context.str(), true);
    if (!err.empty()) return err;
  }
  return {};
}

}  // namespace upconv::testing

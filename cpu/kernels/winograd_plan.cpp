#include "cpu/kernels/winograd_plan.hpp"

#include <algorithm>
#include <limits>

#include "cpu/kernels/conv_dispatch.hpp"
#include "cpu/kernels/winograd_job.hpp"
#include "cpu/kernels/winograd_matrices.hpp"

namespace upconv::detail::cpu {
namespace {

// Tile origins along one axis of `len` outputs: blocks of dil * m outputs, each holding dil
// tiles (one per residue mod dil) of m outputs dil apart; origins past the end are left out.
std::vector<int64_t> tile_origins(int64_t len, int64_t dil, int m) {
  std::vector<int64_t> origins;
  for (int64_t block = 0; block < len; block += dil * m)
    for (int64_t k = 0; k < dil && block + k < len; ++k) origins.push_back(block + k);
  return origins;
}

std::vector<float> to_floats(const std::vector<double>& v) { return std::vector<float>(v.begin(), v.end()); }

// The tile sizes the cost model may take on its own: those whose rounding stays within about
// 2x the direct kernels' (winograd_points): one output (the plain dot product), up to 4 inputs
// per axis, and F(3, 3) on 5. F(4, 2), also on 5, measured 4.3x (1.3e-4 against 3.0e-5 on 512
// channels x 2x2 taps).
bool accurate_enough(int m, int64_t taps) { return m == 1 || m + taps - 1 <= 4 || (m == 3 && taps == 3); }

// Costs in multiply-adds of the products (which run at about the direct kernels' speed), per
// float of each pass, measured on aspp_d12 at 1 thread (Zen 5; F(3x3, 3x3), 576 tiles of 25
// elements x 256 channels: products 9.3 ms, 101 G multiply-adds/s; input transform 1.03 ms,
// output transform 0.74, channel-last input 0.68, NCHW output 0.93).
constexpr double kInputTransform = 28, kOutputTransform = 20, kToChannelLast = 40, kFromChannelLast = 45;

}  // namespace

bool WinogradConv::supports(const ConvDesc& d) {
  return d.groups == 1 && (d.transposed || (d.stride_h == 1 && d.stride_w == 1)) && d.kh * d.kw > 1;
}

WinogradConv::WeightReader WinogradConv::caller_weights(const ConvDesc& d, const float* weight) {
  return [d, weight](int64_t co, int64_t ci, int64_t t) {
    return d.transposed ? weight[(ci * d.c_out + co) * d.kh * d.kw + t] : weight[(co * d.c_in + ci) * d.kh * d.kw + t];
  };
}

WinogradConv::WinogradConv(const ConvDesc& d, WeightReader weights, const float* bias, Isa isa,
                           std::shared_ptr<ThreadPool> pool, std::shared_ptr<ConvWorkspace> workspace)
    : desc_(d),
      isa_(isa),
      pool_(std::move(pool)),
      weights_(std::move(weights)),
      workspace_(workspace ? std::move(workspace) : std::make_shared<ConvWorkspace>()) {
  const int64_t lanes = isa_lanes(isa_);
  cp_ = (d.c_in + 15) / 16 * 16;
  width_ = std::min<int64_t>(2, (d.c_out + lanes - 1) / lanes) * lanes;
  blocks_ = (d.c_out + width_ - 1) / width_;
  bias_ = AlignedFloats(blocks_ * width_);
  if (bias) std::copy(bias, bias + d.c_out, bias_.get());
}

int WinogradConv::max_tile_size(int64_t taps) {
  return taps == 1 ? 1 : std::max(1, winograd_max_alpha - static_cast<int>(taps) + 1);
}

void WinogradConv::pin_tile_sizes(int mh, int mw) {
  pinned_h_ = mh, pinned_w_ = mw;
  geo_ = {};
}

// Each phase's taps sorted by input offset must be evenly spaced (a correlation): true for a
// conv of stride 1 (spacing = dilation) and for every conv_transpose phase with taps (spacing =
// dilation / gcd(dilation, stride): 1 without dilation), checked rather than assumed.
bool WinogradConv::axis_forms(const AxisPlan& plan, std::vector<AxisForm>& forms) {
  forms.clear();
  if (plan.in_step != 1) return false;
  for (const AxisPhase& ph : plan.phases) {
    std::vector<AxisTap> taps(plan.taps.begin() + ph.tap_begin, plan.taps.begin() + ph.tap_end);
    if (taps.empty() || taps.size() > static_cast<size_t>(winograd_max_alpha)) return false;
    std::sort(taps.begin(), taps.end(), [](const AxisTap& a, const AxisTap& b) { return a.off < b.off; });
    AxisForm f;
    f.start = ph.out_start, f.step = plan.out_step, f.count = ph.count;
    f.first = taps[0].off - plan.pad_before;
    f.spacing = taps.size() > 1 ? taps[1].off - taps[0].off : 1;
    for (size_t a = 0; a < taps.size(); ++a) {
      if (f.spacing < 1 || taps[a].off != taps[0].off + f.spacing * static_cast<int64_t>(a)) return false;
      f.taps.push_back(taps[a].t);
    }
    forms.push_back(std::move(f));
  }
  return true;
}

std::vector<WinogradConv::Tiles> WinogradConv::tile_candidates(const AxisForm& f, int pinned) const {
  const auto taps = static_cast<int64_t>(f.taps.size());
  std::vector<Tiles> c;
  for (int m = 1; m <= max_tile_size(taps); ++m) {
    const bool wanted = pinned > 0 ? m == std::min(pinned, max_tile_size(taps)) : accurate_enough(m, taps);
    if (wanted) c.push_back({m, m + static_cast<int>(taps) - 1, tile_origins(f.count, f.spacing, m)});
  }
  return c;
}

const WinogradConv::Geometry& WinogradConv::geometry(const AxisPlan& h, const AxisPlan& w, const Dims4& xd,
                                                     const Dims4& yd) {
  Geometry& g = geo_;
  if (g.x_h == xd.h && g.x_w == xd.w && g.y_h == yd.h && g.y_w == yd.w) return g;
  g = {};
  g.x_h = xd.h, g.x_w = xd.w, g.y_h = yd.h, g.y_w = yd.w;
  if (!axis_forms(h, g.h) || !axis_forms(w, g.w)) return g;
  const double cin = static_cast<double>(desc_.c_in), cout = static_cast<double>(desc_.c_out);
  const double per_element = cin * cout + kInputTransform * static_cast<double>(cp_) +
                             kOutputTransform * static_cast<double>(blocks_ * width_);
  g.cost = kToChannelLast * static_cast<double>(xd.h * xd.w * cp_) +
           kFromChannelLast * static_cast<double>(yd.h * yd.w * blocks_ * width_);
  for (int ph = 0; ph < static_cast<int>(g.h.size()); ++ph)
    for (int pw = 0; pw < static_cast<int>(g.w.size()); ++pw) {
      if (g.h[ph].count == 0 || g.w[pw].count == 0) continue;
      // The cheapest pair of tile sizes for this phase pair (the axes' costs multiply).
      PhasePair best{ph, pw, {}, {}};
      double best_cost = -1;
      for (const Tiles& th : tile_candidates(g.h[ph], pinned_h_))
        for (const Tiles& tw : tile_candidates(g.w[pw], pinned_w_)) {
          const double c = static_cast<double>(th.origins.size() * th.alpha) *
                           static_cast<double>(tw.origins.size() * tw.alpha) * per_element;
          if (best_cost < 0 || c < best_cost) best = {ph, pw, th, tw}, best_cost = c;
        }
      g.cost += best_cost;
      g.pairs.push_back(std::move(best));
    }
  g.ok = true;
  return g;
}

double WinogradConv::cost(const AxisPlan& h, const AxisPlan& w, const Dims4& xd, const Dims4& yd) {
  const Geometry& g = geometry(h, w, xd, yd);
  return g.ok ? g.cost : std::numeric_limits<double>::infinity();
}

const WinogradConv::Transformed& WinogradConv::transformed(const PhasePair& p) {
  const auto index = static_cast<size_t>(p.ph) * geo_.w.size() + static_cast<size_t>(p.pw);
  if (transformed_.size() < geo_.h.size() * geo_.w.size()) transformed_.resize(geo_.h.size() * geo_.w.size());
  Transformed& t = transformed_[index];
  if (t.mh == p.h.m && t.mw == p.w.m) return t;
  const ConvDesc& d = desc_;
  const AxisForm& fh = geo_.h[p.ph];
  const AxisForm& fw = geo_.w[p.pw];
  const auto rh = static_cast<int>(fh.taps.size()), rw = static_cast<int>(fw.taps.size());
  const WinogradMatrices mh = winograd_matrices(p.h.m, rh), mw = winograd_matrices(p.w.m, rw);
  const int ah = mh.alpha, aw = mw.alpha;
  t.u = AlignedFloats(static_cast<int64_t>(ah * aw) * blocks_ * d.c_in * width_);
  // Kernel tap (sub-tap a, sub-tap b) of output co, input ci.
  auto weight_at = [&](int64_t co, int64_t ci, int a, int b) {
    return static_cast<double>(weights_(co, ci, fh.taps[a] * d.kw + fw.taps[b]));
  };
  // Per (co, ci): G_h g G_w^T in double, W axis first.
  std::vector<double> gw(static_cast<size_t>(rh * aw));
  for (int64_t co = 0; co < d.c_out; ++co)
    for (int64_t ci = 0; ci < d.c_in; ++ci) {
      for (int a = 0; a < rh; ++a)
        for (int j = 0; j < aw; ++j) {
          double s = 0;
          for (int b = 0; b < rw; ++b) s += mw.g[j * rw + b] * weight_at(co, ci, a, b);
          gw[a * aw + j] = s;
        }
      const int64_t blk = co / width_, lane = co % width_;
      for (int i = 0; i < ah; ++i)
        for (int j = 0; j < aw; ++j) {
          double s = 0;
          for (int a = 0; a < rh; ++a) s += mh.g[i * rh + a] * gw[a * aw + j];
          t.u.get()[(((i * aw + j) * blocks_ + blk) * d.c_in + ci) * width_ + lane] = static_cast<float>(s);
        }
    }
  t.bt_h = to_floats(mh.bt), t.bt_w = to_floats(mw.bt);
  auto square = [](const WinogradMatrices& f) {
    std::vector<float> at(static_cast<size_t>(f.alpha * f.alpha), 0.0f);
    std::copy(f.at.begin(), f.at.end(), at.begin());
    return at;
  };
  t.at_h = square(mh), t.at_w = square(mw);
  t.mh = p.h.m, t.mw = p.w.m;
  return t;
}

void WinogradConv::run(const OpArgs& a, const AxisPlan& h, const AxisPlan& w) {
  const ConvDesc& d = desc_;
  const Geometry& g = geometry(h, w, a.xd, a.yd);
  if (!g.ok) return;  // the caller asks cost() first
  WinogradJob job;
  job.x_h = a.xd.h, job.x_w = a.xd.w, job.cp = cp_;
  job.c_in = d.c_in, job.c_out = d.c_out, job.width = width_, job.blocks = blocks_, job.cop = blocks_ * width_;
  job.bias = bias_.get();
  job.activation = static_cast<int>(d.activation.kind), job.alpha = d.activation.alpha;
  job.y_h = a.yd.h, job.y_w = a.yd.w;
  // Buffers from the workspace, held by the context's other conv kernels' runs too: nothing in
  // them is relied on from before this run. Lanes past c_in (of the channel-last input and so of
  // the transformed inputs) and past c_out keep what they held, as no product or output reads
  // them; the zero position that padding taps read, past the input's end, is cleared here.
  int64_t most_v = 0, most_prod = 0;
  for (const PhasePair& p : g.pairs) {
    const auto tiles = static_cast<int64_t>(p.h.origins.size() * p.w.origins.size());
    most_v = std::max(most_v, p.h.alpha * p.w.alpha * tiles * cp_);
    most_prod = std::max(most_prod, p.h.alpha * p.w.alpha * tiles * job.cop);
  }
  const std::unique_lock<std::mutex> hold = workspace_->lock();
  job.xt = workspace_->get(ConvWorkspace::winograd_input, (a.xd.h * a.xd.w + 1) * cp_);
  std::fill_n(job.xt + a.xd.h * a.xd.w * cp_, cp_, 0.0f);
  job.v = workspace_->get(ConvWorkspace::winograd_transformed, most_v);
  job.prod = workspace_->get(ConvWorkspace::winograd_products, most_prod);
  job.yt = workspace_->get(ConvWorkspace::winograd_output, a.yd.h * a.yd.w * job.cop);
  const int64_t in_plane = a.xd.h * a.xd.w, out_plane = a.yd.h * a.yd.w;
  for (int64_t n = 0; n < a.xd.n; ++n) {
    job.x = a.x + n * d.c_in * in_plane;
    job.y = a.y + n * d.c_out * out_plane;
    pool_->parallel_for(a.xd.h, [&](int64_t b, int64_t e) { dispatch_isa(isa_, WinogradToChannelLastKernel{}, job, b, e); });
    for (const PhasePair& p : g.pairs) {
      const Transformed& t = transformed(p);
      const AxisForm& fh = g.h[p.ph];
      const AxisForm& fw = g.w[p.pw];
      job.mh = p.h.m, job.mw = p.w.m, job.ah = p.h.alpha, job.aw = p.w.alpha;
      job.bt_h = t.bt_h.data(), job.bt_w = t.bt_w.data(), job.at_h = t.at_h.data(), job.at_w = t.at_w.data();
      job.u = t.u.get();
      job.tiles_h = static_cast<int64_t>(p.h.origins.size()), job.tiles_w = static_cast<int64_t>(p.w.origins.size());
      job.origin_h = p.h.origins.data(), job.origin_w = p.w.origins.data();
      job.dil_h = fh.spacing, job.dil_w = fw.spacing, job.pad_top = -fh.first, job.pad_left = -fw.first;
      job.q_h = fh.count, job.q_w = fw.count;
      job.out_start_h = fh.start, job.out_step_h = fh.step, job.out_start_w = fw.start, job.out_step_w = fw.step;
      const int64_t tiles = job.tiles(), elems = job.ah * job.aw;
      pool_->parallel_for(tiles, [&](int64_t b, int64_t e) { dispatch_isa(isa_, WinogradInputKernel{}, job, b, e); });
      pool_->parallel_for(elems * blocks_, [&](int64_t b, int64_t e) { dispatch_isa(isa_, WinogradProductKernel{}, job, b, e); });
      pool_->parallel_for(tiles, [&](int64_t b, int64_t e) { dispatch_isa(isa_, WinogradOutputKernel{}, job, b, e); });
    }
    pool_->parallel_for(a.yd.h, [&](int64_t b, int64_t e) { dispatch_isa(isa_, WinogradFromChannelLastKernel{}, job, b, e); });
  }
}

}  // namespace upconv::detail::cpu

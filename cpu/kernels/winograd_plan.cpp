#include "cpu/kernels/winograd_plan.hpp"

#include <algorithm>

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

// Costs in multiply-adds of the products (which run at about the direct kernels' speed), per
// float of each pass, measured on aspp_d12 at 1 thread (Zen 5; F(3x3, 3x3), 576 tiles of 25
// elements x 256 channels: products 9.3 ms, 101 G multiply-adds/s; input transform 1.03 ms,
// output transform 0.74, channel-last input 0.68, NCHW output 0.93).
constexpr double kInputTransform = 28, kOutputTransform = 20, kToChannelLast = 40, kFromChannelLast = 45;

}  // namespace

bool WinogradConv::supports(const ConvDesc& d) {
  return !d.transposed && d.groups == 1 && d.stride_h == 1 && d.stride_w == 1 && d.kh * d.kw > 1 &&
         d.kh <= winograd_max_alpha && d.kw <= winograd_max_alpha;
}

WinogradConv::WinogradConv(const ConvDesc& d, const float* weight, const float* bias, Isa isa,
                           std::shared_ptr<ThreadPool> pool)
    : desc_(d), isa_(isa), pool_(std::move(pool)), weight_(weight, weight + d.weight_count()) {
  const int64_t lanes = isa_lanes(isa_);
  cp_ = (d.c_in + 15) / 16 * 16;
  width_ = std::min<int64_t>(2, (d.c_out + lanes - 1) / lanes) * lanes;
  blocks_ = (d.c_out + width_ - 1) / width_;
  bias_ = AlignedFloats(blocks_ * width_);
  if (bias)
    std::copy(bias, bias + d.c_out, bias_.get());
}

const WinogradConv::Choice& WinogradConv::choose(int64_t y_h, int64_t y_w) {
  if (choice_.y_h == y_h && choice_.y_w == y_w) return choice_;
  const ConvDesc& d = desc_;
  // Candidate tile sizes per axis: one tap needs no transform (m = 1), more take any m with
  // alpha <= winograd_max_alpha.
  auto candidates = [](int64_t len, int64_t dil, int64_t r) {
    std::vector<Tiles> c;
    const int most = max_tile_size(r);
    for (int m = 1; m <= most; ++m) c.push_back({m, m + static_cast<int>(r) - 1, tile_origins(len, dil, m)});
    return c;
  };
  const std::vector<Tiles> hs = candidates(y_h, d.dil_h, d.kh), ws = candidates(y_w, d.dil_w, d.kw);
  const double cin = static_cast<double>(d.c_in), cout = static_cast<double>(d.c_out);
  const double cpad = static_cast<double>(cp_), copad = static_cast<double>(blocks_ * width_);
  choice_ = {};
  for (const Tiles& h : hs)
    for (const Tiles& w : ws) {
      const double tiles = static_cast<double>(h.origins.size() * w.origins.size());
      const double elems = h.alpha * w.alpha;
      const double cost = tiles * elems * (cin * cout + kInputTransform * cpad + kOutputTransform * copad);
      if ((pinned_h_ > 0 && h.m != pinned_h_) || (pinned_w_ > 0 && w.m != pinned_w_)) continue;
      if (choice_.y_h < 0 || cost < choice_.cost) choice_ = {y_h, y_w, h, w, cost};
    }
  return choice_;
}

void WinogradConv::pin_tile_sizes(int mh, int mw) {
  pinned_h_ = std::min(mh, max_tile_size(desc_.kh));
  pinned_w_ = std::min(mw, max_tile_size(desc_.kw));
  choice_ = {};
}

int WinogradConv::max_tile_size(int64_t taps) { return taps == 1 ? 1 : winograd_max_alpha - static_cast<int>(taps) + 1; }

double WinogradConv::cost(const Dims4& xd, const Dims4& yd) {
  const double moved = kToChannelLast * static_cast<double>(xd.h * xd.w * cp_) +
                       kFromChannelLast * static_cast<double>(yd.h * yd.w * blocks_ * width_);
  return choose(yd.h, yd.w).cost + moved;
}

void WinogradConv::transform_weights(int mh, int mw) {
  if (u_mh_ == mh && u_mw_ == mw) return;
  const ConvDesc& d = desc_;
  const WinogradMatrices fh = winograd_matrices(mh, static_cast<int>(d.kh));
  const WinogradMatrices fw = winograd_matrices(mw, static_cast<int>(d.kw));
  const int ah = fh.alpha, aw = fw.alpha;
  const int64_t taps = d.kh * d.kw;
  u_floats_ = static_cast<int64_t>(ah * aw) * blocks_ * d.c_in * width_;
  u_ = AlignedFloats(u_floats_);
  // Per (co, ci): G_h g G_w^T in double, W axis first.
  std::vector<double> gw(static_cast<size_t>(d.kh * aw));
  for (int64_t co = 0; co < d.c_out; ++co)
    for (int64_t ci = 0; ci < d.c_in; ++ci) {
      const float* g = weight_.data() + (co * d.c_in + ci) * taps;
      for (int64_t th = 0; th < d.kh; ++th)
        for (int j = 0; j < aw; ++j) {
          double s = 0;
          for (int64_t tw = 0; tw < d.kw; ++tw) s += fw.g[j * d.kw + tw] * g[th * d.kw + tw];
          gw[th * aw + j] = s;
        }
      const int64_t blk = co / width_, lane = co % width_;
      for (int i = 0; i < ah; ++i)
        for (int j = 0; j < aw; ++j) {
          double s = 0;
          for (int64_t th = 0; th < d.kh; ++th) s += fh.g[i * d.kh + th] * gw[th * aw + j];
          u_.get()[(((i * aw + j) * blocks_ + blk) * d.c_in + ci) * width_ + lane] = static_cast<float>(s);
        }
    }
  bt_h_ = to_floats(fh.bt), bt_w_ = to_floats(fw.bt);
  // AT padded with zero rows to alpha x alpha (the kernels compute alpha outputs, store m).
  auto square = [](const WinogradMatrices& f) {
    std::vector<float> at(static_cast<size_t>(f.alpha * f.alpha), 0.0f);
    std::copy(f.at.begin(), f.at.end(), at.begin());
    return at;
  };
  at_h_ = square(fh), at_w_ = square(fw);
  u_mh_ = mh, u_mw_ = mw;
}

int64_t WinogradConv::transformed_weight_floats() const noexcept { return u_floats_; }

void WinogradConv::run(const OpArgs& a) {
  const ConvDesc& d = desc_;
  const Choice& c = choose(a.yd.h, a.yd.w);
  transform_weights(c.h.m, c.w.m);
  WinogradJob job;
  job.mh = c.h.m, job.mw = c.w.m, job.ah = c.h.alpha, job.aw = c.w.alpha;
  job.bt_h = bt_h_.data(), job.bt_w = bt_w_.data(), job.at_h = at_h_.data(), job.at_w = at_w_.data();
  job.tiles_h = static_cast<int64_t>(c.h.origins.size());
  job.tiles_w = static_cast<int64_t>(c.w.origins.size());
  job.origin_h = c.h.origins.data(), job.origin_w = c.w.origins.data();
  job.dil_h = d.dil_h, job.dil_w = d.dil_w, job.pad_top = d.pad_top, job.pad_left = d.pad_left;
  job.x_h = a.xd.h, job.x_w = a.xd.w, job.cp = cp_;
  job.c_in = d.c_in, job.c_out = d.c_out, job.width = width_, job.blocks = blocks_, job.cop = blocks_ * width_;
  job.u = u_.get(), job.bias = bias_.get();
  job.activation = static_cast<int>(d.activation.kind), job.alpha = d.activation.alpha;
  job.y_h = a.yd.h, job.y_w = a.yd.w;
  const int64_t tiles = job.tiles(), elems = job.ah * job.aw;
  // Buffers, grown as needed. The channel-last input's channels past c_in stay zero (never
  // written); its zero position past the end is cleared per run.
  auto ensure = [](AlignedFloats& buf, int64_t& have, int64_t need, bool zero) {
    if (have < need) buf = AlignedFloats(need, zero), have = need;
  };
  ensure(xt_, xt_floats_, (a.xd.h * a.xd.w + 1) * cp_, true);
  std::fill_n(xt_.get() + a.xd.h * a.xd.w * cp_, cp_, 0.0f);  // held a position of a larger input
  ensure(v_, v_floats_, elems * tiles * cp_, false);
  ensure(prod_, prod_floats_, elems * tiles * job.cop, false);
  ensure(yt_, yt_floats_, a.yd.h * a.yd.w * job.cop, false);
  job.xt = xt_.get(), job.v = v_.get(), job.prod = prod_.get(), job.yt = yt_.get();
  const int64_t in_plane = a.xd.h * a.xd.w, out_plane = a.yd.h * a.yd.w;
  for (int64_t n = 0; n < a.xd.n; ++n) {
    const float* x = a.x + n * d.c_in * in_plane;
    float* y = a.y + n * d.c_out * out_plane;
    job.x = x, job.y = y;
    pool_->parallel_for(a.xd.h, [&](int64_t b, int64_t e) { dispatch_isa(isa_, WinogradToChannelLastKernel{}, job, b, e); });
    pool_->parallel_for(tiles, [&](int64_t b, int64_t e) { dispatch_isa(isa_, WinogradInputKernel{}, job, b, e); });
    pool_->parallel_for(elems * blocks_, [&](int64_t b, int64_t e) { dispatch_isa(isa_, WinogradProductKernel{}, job, b, e); });
    pool_->parallel_for(tiles, [&](int64_t b, int64_t e) { dispatch_isa(isa_, WinogradOutputKernel{}, job, b, e); });
    pool_->parallel_for(a.yd.h, [&](int64_t b, int64_t e) { dispatch_isa(isa_, WinogradFromChannelLastKernel{}, job, b, e); });
  }
}

}  // namespace upconv::detail::cpu

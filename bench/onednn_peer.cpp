#include "bench/onednn_peer.hpp"

#include <omp.h>

#include <oneapi/dnnl/dnnl.hpp>

namespace upconv::bench {
namespace {

using dnnl::memory;
using Tag = memory::format_tag;
using DataType = memory::data_type;

memory::dims dims_of(const Shape& s) { return memory::dims(s.begin(), s.end()); }

// conv / conv_transpose on oneDNN. PyTorch's weight layouts map to oneDNN's logical weight dims
// (OC, IC, KH, KW) — grouped (G, OC/G, IC/G, KH, KW) — as oihw / goihw for conv and
// iohw / giohw for the transposed weight (C_in, C_out/g, kH, kW).
class OnednnConv final : public OnednnLayer {
 public:
  OnednnConv(const Layer& l, const LayerData& d, OnednnVariant variant)
      : engine_(dnnl::engine::kind::cpu, 0), stream_(engine_), input_(d.input), bias_(d.bias),
        output_(output_shape(l).value()) {
    const bool grouped = l.groups > 1;
    const memory::dims wdims = grouped ? memory::dims{l.groups, l.c_out / l.groups, l.c_in / l.groups, l.kernel[0], l.kernel[1]}
                                       : memory::dims{l.c_out, l.c_in, l.kernel[0], l.kernel[1]};
    const Tag user_wtag = l.is_transposed() ? (grouped ? Tag::giohw : Tag::iohw) : (grouped ? Tag::goihw : Tag::oihw);
    const memory::desc user_src(dims_of(input_.shape()), DataType::f32, Tag::nchw);
    const memory::desc user_dst(dims_of(output_.shape()), DataType::f32, Tag::nchw);
    const memory::desc user_wei(wdims, DataType::f32, user_wtag);
    const memory::desc bias_md({l.c_out}, DataType::f32, Tag::x);
    const bool plain = variant == OnednnVariant::nchw_direct;
    const memory::desc src_md = plain ? user_src : memory::desc(user_src.dims(), DataType::f32, Tag::any);
    const memory::desc dst_md = plain ? user_dst : memory::desc(user_dst.dims(), DataType::f32, Tag::any);
    const memory::desc wei_md(wdims, DataType::f32, Tag::any);
    // oneDNN counts dilation from 0; its deconvolution has no output_padding, which is the
    // same as cropping less at the end.
    const memory::dims strides{l.stride[0], l.stride[1]}, dilates{l.dilation[0] - 1, l.dilation[1] - 1};
    const memory::dims pad_l{l.pad[0], l.pad[1]};
    const memory::dims pad_r{l.pad[0] - l.out_pad[0], l.pad[1] - l.out_pad[1]};

    memory::desc chosen_src, chosen_wei, chosen_dst;
    if (l.is_transposed()) {
      const dnnl::deconvolution_forward::desc desc(dnnl::prop_kind::forward_inference,
                                                   dnnl::algorithm::deconvolution_direct, src_md, wei_md, bias_md,
                                                   dst_md, strides, dilates, pad_l, pad_r);
      const dnnl::deconvolution_forward::primitive_desc pd(desc, engine_);
      primitive_ = dnnl::deconvolution_forward(pd);
      impl_ = pd.impl_info_str();
      chosen_src = pd.src_desc(), chosen_wei = pd.weights_desc(), chosen_dst = pd.dst_desc();
    } else {
      const dnnl::convolution_forward::desc desc(dnnl::prop_kind::forward_inference,
                                                 dnnl::algorithm::convolution_direct, src_md, wei_md, bias_md, dst_md,
                                                 strides, dilates, pad_l, pad_r);
      const dnnl::convolution_forward::primitive_desc pd(desc, engine_);
      primitive_ = dnnl::convolution_forward(pd);
      impl_ = pd.impl_info_str();
      chosen_src = pd.src_desc(), chosen_wei = pd.weights_desc(), chosen_dst = pd.dst_desc();
    }
    user_src_ = memory(user_src, engine_, input_.data());
    user_dst_ = memory(user_dst, engine_, output_.data());
    bias_mem_ = memory(bias_md, engine_, bias_.data());
    // Weights: reordered once, outside any timing.
    Tensor weight = d.weight;
    memory user_w(user_wei, engine_, weight.data());
    weights_ = memory(chosen_wei, engine_);
    dnnl::reorder(user_w, weights_).execute(stream_, user_w, weights_);
    // Activations: blocked buffers when oneDNN chose a layout other than NCHW.
    src_ = chosen_src == user_src ? user_src_ : memory(chosen_src, engine_);
    dst_ = chosen_dst == user_dst ? user_dst_ : memory(chosen_dst, engine_);
    if (src_ != user_src_) dnnl::reorder(user_src_, src_).execute(stream_, user_src_, src_);  // blocked variant input
    reorder_in_ = variant == OnednnVariant::nchw_reorder && src_ != user_src_;
    reorder_out_ = dst_ != user_dst_;
    time_out_reorder_ = variant == OnednnVariant::nchw_reorder;
    stream_.wait();
  }

  void run() override {
    if (reorder_in_) dnnl::reorder(user_src_, src_).execute(stream_, user_src_, src_);
    primitive_.execute(stream_, {{DNNL_ARG_SRC, src_}, {DNNL_ARG_WEIGHTS, weights_}, {DNNL_ARG_BIAS, bias_mem_},
                                 {DNNL_ARG_DST, dst_}});
    if (reorder_out_ && time_out_reorder_) dnnl::reorder(dst_, user_dst_).execute(stream_, dst_, user_dst_);
    stream_.wait();
  }

  Tensor output() override {
    if (reorder_out_) {
      dnnl::reorder(dst_, user_dst_).execute(stream_, dst_, user_dst_);
      stream_.wait();
    }
    return output_;
  }

  std::string implementation() const override { return impl_; }

 private:
  dnnl::engine engine_;
  dnnl::stream stream_;
  Tensor input_, bias_, output_;
  dnnl::primitive primitive_;
  memory user_src_, user_dst_, bias_mem_, weights_, src_, dst_;
  bool reorder_in_ = false, reorder_out_ = false, time_out_reorder_ = false;
  std::string impl_;
};

// pixel_shuffle / pixel_unshuffle as one reorder between two strided views of the 6-D tensor
// (n, c, h, i, w, j): the deep side is (N, C*r*r, H, W) with channel c*r*r + i*r + j (crd), the
// wide side is (N, C, H*r, W*r) with row h*r + i and column w*r + j.
class OnednnShuffle final : public OnednnLayer {
 public:
  OnednnShuffle(const Layer& l, const LayerData& d)
      : engine_(dnnl::engine::kind::cpu, 0), stream_(engine_), input_(d.input), output_(output_shape(l).value()) {
    const bool inverse = l.op == "pixel_unshuffle";
    const Shape& deep = inverse ? output_.shape() : input_.shape();
    const int64_t r = l.factor, n = deep[0], c = deep[1] / (r * r), h = deep[2], w = deep[3];
    const memory::dims dims{n, c, h, r, w, r};
    const memory::dims deep_strides{c * r * r * h * w, r * r * h * w, w, r * h * w, 1, h * w};
    const memory::dims wide_strides{c * h * r * w * r, h * r * w * r, r * w * r, w * r, r, 1};
    const memory::desc deep_md(dims, DataType::f32, deep_strides), wide_md(dims, DataType::f32, wide_strides);
    src_ = memory(inverse ? wide_md : deep_md, engine_, input_.data());
    dst_ = memory(inverse ? deep_md : wide_md, engine_, output_.data());
    const dnnl::reorder::primitive_desc pd(src_, dst_);
    impl_ = pd.impl_info_str();
    reorder_ = dnnl::reorder(pd);
  }

  void run() override {
    reorder_.execute(stream_, src_, dst_);
    stream_.wait();
  }
  Tensor output() override { return output_; }
  std::string implementation() const override { return impl_; }

 private:
  dnnl::engine engine_;
  dnnl::stream stream_;
  Tensor input_, output_;
  memory src_, dst_;
  dnnl::reorder reorder_;
  std::string impl_;
};

}  // namespace

const char* to_string(OnednnVariant variant) {
  switch (variant) {
    case OnednnVariant::nchw_direct: return "onednn_nchw_direct";
    case OnednnVariant::nchw_reorder: return "onednn_nchw_reorder";
    case OnednnVariant::blocked: return "onednn_blocked";
  }
  return "onednn";
}

bool onednn_supports(const Layer& layer, OnednnVariant variant) {
  if (layer.is_conv()) return true;
  return (layer.op == "pixel_shuffle" || layer.op == "pixel_unshuffle") && variant == OnednnVariant::nchw_direct;
}

Result<std::unique_ptr<OnednnLayer>> OnednnLayer::create(const Layer& layer, const LayerData& data,
                                                         OnednnVariant variant) {
  if (!onednn_supports(layer, variant))
    return unsupported(std::string(to_string(variant)) + " does not apply to " + layer.op);
  try {
    if (layer.is_conv()) return std::unique_ptr<OnednnLayer>(new OnednnConv(layer, data, variant));
    return std::unique_ptr<OnednnLayer>(new OnednnShuffle(layer, data));
  } catch (const dnnl::error& e) {
    return Status(StatusCode::backend_error, "oneDNN rejected " + layer.name + ": " + e.what());
  }
}

void set_onednn_threads(int threads) { omp_set_num_threads(threads); }

}  // namespace upconv::bench

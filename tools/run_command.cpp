// `upconv run OP ...`: one operator on .npy files, per the CLI contract of DESIGN.md.
// This file only maps flags to the library's params structs and files to tensors; every check
// of values and shapes is the library's (its Status message is what the user sees). The output
// is written atomically by npy::write, so a failed run leaves no output file.
#include <array>
#include <iostream>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tools/cli_args.hpp"
#include "tools/commands.hpp"
#include "upconv/npy.hpp"
#include "upconv/upconv.hpp"

namespace upconv::cli {
namespace {

enum class OpFamily { conv, conv_transpose, pixel_shuffle, pixel_unshuffle, max_unpool2d, upsample, bed_of_nails };

struct OpInfo {
  std::string_view name;
  OpFamily family;
  int spatial_rank;
};

constexpr std::array kOps = {
    OpInfo{"conv_transpose1d", OpFamily::conv_transpose, 1}, OpInfo{"conv_transpose2d", OpFamily::conv_transpose, 2},
    OpInfo{"conv1d", OpFamily::conv, 1},                     OpInfo{"conv2d", OpFamily::conv, 2},
    OpInfo{"pixel_shuffle", OpFamily::pixel_shuffle, 2},     OpInfo{"pixel_unshuffle", OpFamily::pixel_unshuffle, 2},
    OpInfo{"max_unpool2d", OpFamily::max_unpool2d, 2},       OpInfo{"upsample_nearest2d", OpFamily::upsample, 2},
    OpInfo{"bed_of_nails2d", OpFamily::bed_of_nails, 2},
};

constexpr std::string_view kAllFlags[] = {"input",   "weight",   "bias",       "indices", "output",  "stride",
                                          "padding", "output-padding", "dilation", "groups", "kernel", "factor",
                                          "mode",    "output-size", "activation", "backend", "precision"};

/// The flags each op family accepts.
std::vector<std::string_view> flags_for(OpFamily family) {
  constexpr std::string_view common[] = {"input", "output", "backend", "precision"};
  constexpr std::string_view conv[] = {"weight", "bias", "stride", "padding", "dilation", "groups", "activation"};
  constexpr std::string_view shuffle[] = {"factor", "mode"};
  constexpr std::string_view unpool[] = {"indices", "kernel", "stride", "padding", "output-size"};
  constexpr std::string_view resample[] = {"factor"};
  std::span<const std::string_view> specific;
  switch (family) {
    case OpFamily::conv:
    case OpFamily::conv_transpose: specific = conv; break;
    case OpFamily::pixel_shuffle:
    case OpFamily::pixel_unshuffle: specific = shuffle; break;
    case OpFamily::max_unpool2d: specific = unpool; break;
    case OpFamily::upsample:
    case OpFamily::bed_of_nails: specific = resample; break;
  }
  std::vector<std::string_view> flags(std::begin(common), std::end(common));
  for (std::string_view f : specific) flags.push_back(f);
  if (family == OpFamily::conv_transpose) flags.push_back("output-padding");
  return flags;
}

constexpr std::string_view kRunUsage = R"(usage: upconv run OP --input X.npy [--weight W.npy] [--bias B.npy] [--indices I.npy]
                  --output Y.npy [options]
OP: conv_transpose1d conv_transpose2d conv1d conv2d pixel_shuffle pixel_unshuffle
    max_unpool2d upsample_nearest2d bed_of_nails2d
options (each only where it applies to OP):
  --stride S --dilation D --output-padding O --kernel K   one integer, or one per spatial axis (H,W)
  --padding P         one integer, one per axis, or all begins then all ends (ONNX order: hb,wb,he,we)
  --groups G          convolution groups (default 1)
  --factor R          pixel_shuffle/unshuffle: one integer; upsample/bed_of_nails: R or RH,RW
  --mode crd|dcr      pixel_shuffle/unshuffle channel order (default crd, as PyTorch)
  --output-size H,W   max_unpool2d explicit output size
  --activation none|relu|leaky_relu[:A]|sigmoid|tanh     fused into conv epilogues
  --backend auto|cpu|vulkan   --precision fp32|fp16
files: float32 little-endian C-order .npy; --indices int64 with the input's shape; --bias 1-D.
)";

/// A syntax error in the command line: exit code 2. Anything else (files, shapes, values the
/// library rejects): exit code 1.
struct Failure {
  Status status;
  int exit_code;
};

Status int_flag(const Flags& flags, std::string_view name, std::optional<std::vector<int64_t>>& out) {
  const auto text = flags.get(name);
  if (!text) return {};
  auto values = parse_int_list(name, *text);
  if (!values.ok()) return values.status();
  out = std::move(values).value();
  return {};
}

/// Fills the attributes conv and conv_transpose share (same field names in both structs).
template <class P>
Status fill_conv_params(const Flags& flags, int rank, P& p) {
  p.spatial_rank = rank;
  std::optional<std::vector<int64_t>> stride, dilation, padding, groups;
  UPCONV_RETURN_IF_ERROR(int_flag(flags, "stride", stride));
  UPCONV_RETURN_IF_ERROR(int_flag(flags, "dilation", dilation));
  UPCONV_RETURN_IF_ERROR(int_flag(flags, "padding", padding));
  UPCONV_RETURN_IF_ERROR(int_flag(flags, "groups", groups));
  if (stride) UPCONV_RETURN_IF_ERROR(assign_per_axis("stride", *stride, rank, p.stride));
  if (dilation) UPCONV_RETURN_IF_ERROR(assign_per_axis("dilation", *dilation, rank, p.dilation));
  if (padding) UPCONV_RETURN_IF_ERROR(assign_padding("padding", *padding, rank, p.pad_begin, p.pad_end));
  if (groups) {
    if (groups->size() != 1) return invalid_argument("--groups takes one integer");
    p.groups = (*groups)[0];
  }
  if (const auto act = flags.get("activation")) {
    auto a = parse_activation(*act);
    if (!a.ok()) return a.status();
    p.activation = *a;
  }
  return {};
}

Result<PixelShuffleParams> shuffle_params(const Flags& flags) {
  PixelShuffleParams p;
  std::optional<std::vector<int64_t>> factor;
  UPCONV_RETURN_IF_ERROR(int_flag(flags, "factor", factor));
  if (factor) {
    if (factor->size() != 1) return invalid_argument("--factor takes one integer for pixel shuffle ops");
    p.factor = (*factor)[0];
  }
  if (const auto mode = flags.get("mode")) {
    auto m = parse_shuffle_mode(*mode);
    if (!m.ok()) return m.status();
    p.mode = *m;
  }
  return p;
}

Result<MaxUnpool2dParams> unpool_params(const Flags& flags) {
  MaxUnpool2dParams p;
  std::optional<std::vector<int64_t>> kernel, stride, padding, size;
  UPCONV_RETURN_IF_ERROR(int_flag(flags, "kernel", kernel));
  UPCONV_RETURN_IF_ERROR(int_flag(flags, "stride", stride));
  UPCONV_RETURN_IF_ERROR(int_flag(flags, "padding", padding));
  UPCONV_RETURN_IF_ERROR(int_flag(flags, "output-size", size));
  if (kernel) UPCONV_RETURN_IF_ERROR(assign_per_axis("kernel", *kernel, 2, p.kernel));
  // Without --stride, p.stride stays {0, 0}: "same as kernel", PyTorch's default.
  if (stride) UPCONV_RETURN_IF_ERROR(assign_per_axis("stride", *stride, 2, p.stride));
  if (padding) UPCONV_RETURN_IF_ERROR(assign_per_axis("padding", *padding, 2, p.padding));
  if (size) {
    // H,W — or N,C,H,W as PyTorch's MaxUnpool2d also accepts, of which only H,W matter.
    if (size->size() != 2 && size->size() != 4)
      return invalid_argument("--output-size takes two integers H,W, got " + std::to_string(size->size()));
    p.output_size = Pair{(*size)[size->size() - 2], (*size)[size->size() - 1]};
  }
  return p;
}

Result<UpsampleParams> upsample_params(const Flags& flags) {
  UpsampleParams p;
  std::optional<std::vector<int64_t>> factor;
  UPCONV_RETURN_IF_ERROR(int_flag(flags, "factor", factor));
  if (factor) UPCONV_RETURN_IF_ERROR(assign_per_axis("factor", *factor, 2, p.factor));
  return p;
}

/// Everything a run needs, parsed from the command line but not yet validated by the library.
struct Request {
  const OpInfo* op = nullptr;
  Flags flags;
  ConvParams conv;
  ConvTransposeParams conv_transpose;
  PixelShuffleParams shuffle;
  MaxUnpool2dParams unpool;
  UpsampleParams upsample;
  ContextOptions context;
};

template <class T>
Status take(Result<T> r, T& out) {
  if (!r.ok()) return r.status();
  out = std::move(r).value();
  return {};
}

Status parse_request(std::span<const std::string> args, Request& req) {
  const std::string& name = args[0];
  if (name.rfind("--", 0) == 0)
    return invalid_argument("missing OP: the first argument after `upconv run` must be the operator, got " + name);
  for (const OpInfo& op : kOps)
    if (op.name == name) req.op = &op;
  if (!req.op)
    return invalid_argument("unknown operator '" + name +
                            "' (expected conv_transpose1d, conv_transpose2d, conv1d, conv2d, pixel_shuffle, "
                            "pixel_unshuffle, max_unpool2d, upsample_nearest2d or bed_of_nails2d)");
  const auto allowed = flags_for(req.op->family);
  UPCONV_RETURN_IF_ERROR(take(parse_flags(args.subspan(1), allowed, kAllFlags, name), req.flags));

  std::vector<std::string_view> required = {"input", "output"};
  const OpFamily family = req.op->family;
  if (family == OpFamily::conv || family == OpFamily::conv_transpose) required.push_back("weight");
  if (family == OpFamily::max_unpool2d) required.push_back("indices");
  for (std::string_view r : required)
    if (!req.flags.has(r)) return invalid_argument(name + " needs --" + std::string(r));

  switch (family) {
    case OpFamily::conv: UPCONV_RETURN_IF_ERROR(fill_conv_params(req.flags, req.op->spatial_rank, req.conv)); break;
    case OpFamily::conv_transpose: {
      ConvTransposeParams& p = req.conv_transpose;
      UPCONV_RETURN_IF_ERROR(fill_conv_params(req.flags, req.op->spatial_rank, p));
      std::optional<std::vector<int64_t>> out_pad;
      UPCONV_RETURN_IF_ERROR(int_flag(req.flags, "output-padding", out_pad));
      if (out_pad) UPCONV_RETURN_IF_ERROR(assign_per_axis("output-padding", *out_pad, p.spatial_rank, p.output_padding));
      break;
    }
    case OpFamily::pixel_shuffle:
    case OpFamily::pixel_unshuffle: UPCONV_RETURN_IF_ERROR(take(shuffle_params(req.flags), req.shuffle)); break;
    case OpFamily::max_unpool2d: UPCONV_RETURN_IF_ERROR(take(unpool_params(req.flags), req.unpool)); break;
    case OpFamily::upsample:
    case OpFamily::bed_of_nails: UPCONV_RETURN_IF_ERROR(take(upsample_params(req.flags), req.upsample)); break;
  }
  if (const auto b = req.flags.get("backend")) UPCONV_RETURN_IF_ERROR(take(parse_backend(*b), req.context.backend));
  if (const auto p = req.flags.get("precision"))
    UPCONV_RETURN_IF_ERROR(take(parse_precision(*p), req.context.precision));
  return {};
}

/// Loads the weights the op needs and creates its plan; the library validates everything.
Result<Plan> make_plan(Context& context, const Request& req) {
  const Flags& f = req.flags;
  if (req.op->family == OpFamily::conv || req.op->family == OpFamily::conv_transpose) {
    auto weight = npy::read_float32(*f.get("weight"));
    if (!weight.ok()) return weight.status();
    std::optional<Tensor> bias;
    if (const auto path = f.get("bias")) {
      auto b = npy::read_float32(*path);
      if (!b.ok()) return b.status();
      bias = std::move(b).value();
    }
    const Tensor* bias_ptr = bias ? &*bias : nullptr;
    if (req.op->family == OpFamily::conv) return make_conv(context, req.conv, *weight, bias_ptr);
    return make_conv_transpose(context, req.conv_transpose, *weight, bias_ptr);
  }
  switch (req.op->family) {
    case OpFamily::pixel_shuffle: return make_pixel_shuffle(context, req.shuffle);
    case OpFamily::pixel_unshuffle: return make_pixel_unshuffle(context, req.shuffle);
    case OpFamily::max_unpool2d: return make_max_unpool2d(context, req.unpool);
    case OpFamily::upsample: return make_upsample_nearest2d(context, req.upsample);
    case OpFamily::bed_of_nails: return make_bed_of_nails2d(context, req.upsample);
    default: return Status(StatusCode::internal, "unhandled operator family");
  }
}

Status execute(const Request& req, Shape& input_shape, Shape& output_shape, std::string& backend) {
  auto context = Context::create(req.context);
  if (!context.ok()) return context.status();
  backend = context->description();
  auto input = npy::read_float32(*req.flags.get("input"));
  if (!input.ok()) return input.status();
  input_shape = input->shape();
  auto plan = make_plan(*context, req);
  if (!plan.ok()) return plan.status();
  Tensor output;
  if (req.op->family == OpFamily::max_unpool2d) {
    auto indices = npy::read_int64(*req.flags.get("indices"));
    if (!indices.ok()) return indices.status();
    UPCONV_RETURN_IF_ERROR(plan->run(*input, *indices, output));
  } else {
    UPCONV_RETURN_IF_ERROR(plan->run(*input, output));
  }
  output_shape = output.shape();
  return npy::write(*req.flags.get("output"), output);
}

}  // namespace

int run_command(std::span<const std::string> args) {
  if (args.empty())
    return report_error("run", "missing OP (e.g. upconv run conv_transpose2d --input x.npy ...); see upconv run --help",
                        kExitUsage);
  if (args[0] == "--help" || args[0] == "-h") {
    std::cout << kRunUsage;
    return kExitOk;
  }
  Request req;
  if (Status s = parse_request(args, req); !s.ok()) return report_error("run", s.message(), kExitUsage);
  Shape in, out;
  std::string backend;
  if (Status s = execute(req, in, out, backend); !s.ok()) return report_error("run", s.message(), kExitFailure);
  std::cout << req.op->name << " on " << backend << ": " << shape_to_string(in) << " -> " << shape_to_string(out)
            << ", wrote " << *req.flags.get("output") << "\n";
  return kExitOk;
}

}  // namespace upconv::cli

// Plan creation and execution: validate, let the backend prepare, then check every run's
// operands before a kernel sees them.
#include <string>

#include "runtime/context_impl.hpp"
#include "runtime/no_throw.hpp"
#include "runtime/validate.hpp"

namespace upconv {
namespace {

using detail::OpDesc;

Result<Plan> prepare(Context& context, Result<OpDesc> desc, const float* weight, const float* bias) {
  if (!desc.ok()) return desc.status();
  if (!context.impl()) return invalid_argument("context is empty (moved from)");
  return detail::status_on_bad_alloc([&]() -> Result<Plan> {
    auto kernel = context.impl()->backend->prepare(*desc, weight, bias);
    if (!kernel.ok()) return kernel.status();
    return Plan(std::make_unique<detail::PlanImpl>(context.impl(), std::move(desc).value(), std::move(kernel).value()));
  });
}

template <class D>
Result<OpDesc> widen(Result<D> d) {
  if (!d.ok()) return d.status();
  return OpDesc(std::move(d).value());
}

// A tensor's storage is a public std::vector, so it can disagree with its shape; a kernel
// trusts the shape, so every operand is checked here before one reads it.
template <class T>
Status check_storage(const char* name, const BasicTensor<T>& t) {
  auto n = checked_element_count(t.shape());
  if (!n.ok()) return invalid_argument(std::string(name) + ": " + n.status().message());
  if (*n != t.size())
    return invalid_argument(std::string(name) + " has " + std::to_string(t.size()) + " elements but its shape " +
                            shape_to_string(t.shape()) + " needs " + std::to_string(*n));
  return {};
}

// A moved-from plan has no implementation; using it is an error, not a crash. Resizing an
// output that is the input would free the input under the kernel.
Status check_run(const std::unique_ptr<detail::PlanImpl>& impl, const Tensor& input, const Tensor& output) {
  if (!impl) return invalid_argument("plan is empty (moved from)");
  if (&output == &input) return invalid_argument("output must be a different tensor than input (no in-place runs)");
  return {};
}

Status check_bias(const Tensor* bias) {
  if (!bias) return {};
  if (bias->rank() != 1)
    return invalid_argument("bias must have rank 1, got shape " + shape_to_string(bias->shape()));
  return check_storage("bias", *bias);
}

}  // namespace

Plan::Plan(std::unique_ptr<detail::PlanImpl> impl) : impl_(std::move(impl)) {}
Plan::Plan(Plan&&) noexcept = default;
Plan& Plan::operator=(Plan&&) noexcept = default;
Plan::~Plan() = default;

Result<Shape> Plan::output_shape(const Shape& input) const {
  if (!impl_) return invalid_argument("plan is empty (moved from)");
  auto io = detail::resolve_io(impl_->desc(), input);
  if (!io.ok()) return io.status();
  return detail::output_shape_of(impl_->desc(), io->out);
}

double Plan::last_device_time_ms() const { return impl_ ? impl_->kernel().last_device_time_ms() : -1.0; }

Status Plan::run(const Tensor& input, Tensor& output) {
  UPCONV_RETURN_IF_ERROR(check_run(impl_, input, output));
  if (std::holds_alternative<detail::UnpoolDesc>(impl_->desc()))
    return invalid_argument("max_unpool2d needs indices: call run(input, indices, output)");
  auto io = detail::resolve_io(impl_->desc(), input.shape());
  if (!io.ok()) return io.status();
  UPCONV_RETURN_IF_ERROR(check_storage("input", input));
  return detail::status_on_bad_alloc([&]() -> Status {
    output.resize(detail::output_shape_of(impl_->desc(), io->out));
    if (io->out.count() == 0) return {};  // an empty batch: nothing to compute
    return impl_->kernel().run({input.data(), io->in, nullptr, output.data(), io->out});
  });
}

Status Plan::run(const Tensor& input, const IndexTensor& indices, Tensor& output) {
  UPCONV_RETURN_IF_ERROR(check_run(impl_, input, output));
  if (!std::holds_alternative<detail::UnpoolDesc>(impl_->desc()))
    return invalid_argument("only max_unpool2d takes indices");
  auto io = detail::resolve_io(impl_->desc(), input.shape());
  if (!io.ok()) return io.status();
  UPCONV_RETURN_IF_ERROR(check_storage("input", input));
  if (indices.shape() != input.shape())
    return invalid_argument("indices shape " + shape_to_string(indices.shape()) + " must equal input shape " +
                            shape_to_string(input.shape()));
  UPCONV_RETURN_IF_ERROR(check_storage("indices", indices));
  // The kernel checks every index against its plane (check_unpool_indices) as it reads it.
  return detail::status_on_bad_alloc([&]() -> Status {
    output.resize(detail::output_shape_of(impl_->desc(), io->out));
    if (io->out.count() == 0) return {};  // an empty batch: nothing to compute
    return impl_->kernel().run({input.data(), io->in, indices.data(), output.data(), io->out});
  });
}

Result<Plan> make_conv(Context& context, const ConvParams& params, const Tensor& weight, const Tensor* bias) {
  UPCONV_RETURN_IF_ERROR(check_bias(bias));
  auto desc = detail::make_conv_desc(params, weight.shape(), bias ? bias->size() : -1);
  if (!desc.ok()) return desc.status();  // the validator's message first: it names the bad attribute
  UPCONV_RETURN_IF_ERROR(check_storage("weight", weight));
  return prepare(context, widen(std::move(desc)), weight.data(), bias ? bias->data() : nullptr);
}

Result<Plan> make_conv_transpose(Context& context, const ConvTransposeParams& params, const Tensor& weight,
                                 const Tensor* bias) {
  UPCONV_RETURN_IF_ERROR(check_bias(bias));
  auto desc = detail::make_conv_transpose_desc(params, weight.shape(), bias ? bias->size() : -1);
  if (!desc.ok()) return desc.status();  // the validator's message first: it names the bad attribute
  UPCONV_RETURN_IF_ERROR(check_storage("weight", weight));
  return prepare(context, widen(std::move(desc)), weight.data(), bias ? bias->data() : nullptr);
}

Result<Plan> make_pixel_shuffle(Context& context, const PixelShuffleParams& params) {
  return prepare(context, widen(detail::make_shuffle_desc(params, false)), nullptr, nullptr);
}
Result<Plan> make_pixel_unshuffle(Context& context, const PixelShuffleParams& params) {
  return prepare(context, widen(detail::make_shuffle_desc(params, true)), nullptr, nullptr);
}
Result<Plan> make_max_unpool2d(Context& context, const MaxUnpool2dParams& params) {
  return prepare(context, widen(detail::make_unpool_desc(params)), nullptr, nullptr);
}
Result<Plan> make_upsample_nearest2d(Context& context, const UpsampleParams& params) {
  return prepare(context, widen(detail::make_resample_desc(params, false)), nullptr, nullptr);
}
Result<Plan> make_bed_of_nails2d(Context& context, const UpsampleParams& params) {
  return prepare(context, widen(detail::make_resample_desc(params, true)), nullptr, nullptr);
}

}  // namespace upconv

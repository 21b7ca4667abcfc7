// The C ABI (include/upconv/upconv.h) over the C++ API. Every entry point runs inside
// `guarded`, so no exception crosses the C boundary; failures set the calling thread's last
// error message. Tensors are copied into and out of upconv::Tensor: simple and safe, at the cost
// of one copy of the input and output per run.
#include "upconv/upconv.h"

#include <algorithm>
#include <cstring>
#include <optional>
#include <string>
#include <utility>

#include "runtime/c_api_internal.hpp"
#include "upconv/upconv.hpp"

namespace upconv::c_api {
namespace {
thread_local std::string t_last_error;
}  // namespace

upconv_status to_c(StatusCode code) {
  switch (code) {
    case StatusCode::ok: return UPCONV_OK;
    case StatusCode::invalid_argument: return UPCONV_INVALID_ARGUMENT;
    case StatusCode::unsupported: return UPCONV_UNSUPPORTED;
    case StatusCode::out_of_memory: return UPCONV_OUT_OF_MEMORY;
    case StatusCode::io_error: return UPCONV_IO_ERROR;
    case StatusCode::backend_unavailable: return UPCONV_BACKEND_UNAVAILABLE;
    case StatusCode::backend_error: return UPCONV_BACKEND_ERROR;
    case StatusCode::internal: return UPCONV_INTERNAL;
  }
  return UPCONV_INTERNAL;
}

upconv_status fail(const Status& status) {
  t_last_error = status.message();
  return to_c(status.code());
}

upconv_status fail_noexcept(StatusCode code, const char* prefix, const char* what) noexcept {
  try {
    t_last_error = std::string(prefix) + what;
  } catch (...) {
    t_last_error.clear();
  }
  return to_c(code);
}

const char* last_error() noexcept { return t_last_error.c_str(); }

Result<Shape> shape_of(const char* what, const int64_t* dims, int rank) {
  if (rank < 0 || rank > UPCONV_MAX_RANK)
    return invalid_argument(std::string(what) + " rank must be in [0, " + std::to_string(UPCONV_MAX_RANK) +
                            "], got " + std::to_string(rank));
  if (rank > 0 && !dims) return invalid_argument(std::string(what) + " dims is NULL");
  return Shape(dims, dims + rank);
}

Result<ContextOptions> context_options_of(const upconv_context_options* options) {
  const upconv_context_options o = options ? *options : upconv_context_options_default();
  const int32_t backend = enum_value(o.backend), precision = enum_value(o.precision);
  if (backend < UPCONV_BACKEND_AUTO || backend > UPCONV_BACKEND_VULKAN)
    return invalid_argument("backend " + std::to_string(backend) + " is unknown");
  if (precision < UPCONV_PRECISION_FP32 || precision > UPCONV_PRECISION_FP16)
    return invalid_argument("precision " + std::to_string(precision) + " is unknown");
  ContextOptions opts;
  opts.backend = backend == UPCONV_BACKEND_CPU      ? BackendKind::cpu
                 : backend == UPCONV_BACKEND_VULKAN ? BackendKind::vulkan
                                                    : BackendKind::automatic;
  opts.num_threads = o.num_threads;
  opts.pin_threads = o.pin_threads != 0;
  opts.precision = precision == UPCONV_PRECISION_FP16 ? Precision::fp16 : Precision::fp32;
  opts.vulkan_device = o.vulkan_device ? o.vulkan_device : "";
  opts.vulkan_validation = o.vulkan_validation != 0;
  opts.pipeline_cache_path = o.pipeline_cache_path ? o.pipeline_cache_path : "";
  return opts;
}

upconv_status emit_context(Result<Context> context, upconv_context** out) {
  if (!context.ok()) return fail(context.status());
  std::string description = context->description();
  *out = new upconv_context{std::move(context).value(), std::move(description)};
  return UPCONV_OK;
}

}  // namespace upconv::c_api

namespace {

using namespace upconv::c_api;  // NOLINT: the helpers every entry point uses
using upconv::Status;
using upconv::StatusCode;

/// Copies a caller's array into a tensor of the given shape, checking every pointer and size.
template <class T>
upconv::Result<upconv::BasicTensor<T>> tensor_of(const char* what, const T* data, const int64_t* dims, int rank) {
  auto shape = shape_of(what, dims, rank);
  if (!shape.ok()) return shape.status();
  auto count = upconv::checked_element_count(*shape);
  if (!count.ok()) return count.status();
  if (*count > 0 && !data) return upconv::invalid_argument(std::string(what) + " data is NULL");
  std::vector<T> values(data, data + *count);
  return upconv::BasicTensor<T>::create(std::move(shape).value(), std::move(values));
}

upconv::ActivationParams activation_of(const upconv_activation& kind, float alpha) {
  // upconv::Activation is a scoped enum (underlying int): every int is a valid value, and
  // validation rejects unknown ones with a message.
  return {static_cast<upconv::Activation>(enum_value(kind)), alpha};
}

upconv::ShuffleMode mode_of(const upconv_shuffle_mode& mode) {
  return static_cast<upconv::ShuffleMode>(enum_value(mode));
}

upconv::Pair pair(const int64_t (&v)[2]) { return {v[0], v[1]}; }

upconv_status check_out(const void* context, const void* params, upconv_plan** out) {
  if (!out) return fail(StatusCode::invalid_argument, "out (the plan pointer) is NULL");
  *out = nullptr;
  if (!context) return fail(StatusCode::invalid_argument, "context is NULL");
  if (!params) return fail(StatusCode::invalid_argument, "params is NULL");
  return UPCONV_OK;
}

upconv_status emit(upconv::Result<upconv::Plan> plan, upconv_plan** out) {
  if (!plan.ok()) return fail(plan.status());
  *out = new upconv_plan{std::move(plan).value()};
  return UPCONV_OK;
}

/// Conv and conv_transpose share everything but the params conversion.
template <class P, class Make>
upconv_status create_conv_like(upconv_context* context, const P& params, const float* weight,
                               const int64_t* weight_dims, int weight_rank, const float* bias, int64_t bias_count,
                               upconv_plan** out, Make make) {
  auto w = tensor_of("weight", weight, weight_dims, weight_rank);
  if (!w.ok()) return fail(w.status());
  std::optional<upconv::Tensor> b;
  if (bias) {
    const int64_t dims[1] = {bias_count};
    auto t = tensor_of("bias", bias, dims, 1);
    if (!t.ok()) return fail(t.status());
    b = std::move(t).value();
  }
  return emit(make(context->context, params, *w, b ? &*b : nullptr), out);
}

/// Output shape + capacity check shared by both run entry points.
upconv_status prepare_output(const upconv_plan* plan, const upconv::Shape& input, float* output,
                             int64_t output_capacity) {
  auto shape = plan->plan.output_shape(input);
  if (!shape.ok()) return fail(shape.status());
  auto count = upconv::checked_element_count(*shape);
  if (!count.ok()) return fail(count.status());
  if (*count > 0 && !output) return fail(StatusCode::invalid_argument, "output is NULL");
  if (output_capacity < *count)
    return fail(StatusCode::invalid_argument, "output_capacity " + std::to_string(output_capacity) +
                                                  " is smaller than the output's " + std::to_string(*count) +
                                                  " elements (shape " + upconv::shape_to_string(*shape) + ")");
  return UPCONV_OK;
}

void copy_out(const upconv::Tensor& t, float* output) {
  if (t.size() > 0) std::memcpy(output, t.data(), static_cast<size_t>(t.size()) * sizeof(float));
}

}  // namespace

extern "C" {

const char* upconv_status_string(upconv_status status) {
  const int32_t v = enum_value(status);
  if (v < UPCONV_OK || v > UPCONV_INTERNAL) return "unknown";
  return upconv::to_string(static_cast<StatusCode>(v));
}

const char* upconv_last_error_message(void) { return upconv::c_api::last_error(); }

const char* upconv_version(void) { return upconv::version(); }

upconv_context_options upconv_context_options_default(void) {
  return {UPCONV_BACKEND_AUTO, 0, 0, UPCONV_PRECISION_FP32, nullptr, 0, nullptr};
}

upconv_status upconv_context_create(const upconv_context_options* options, upconv_context** out) {
  return guarded([&] {
    if (!out) return fail(StatusCode::invalid_argument, "out (the context pointer) is NULL");
    *out = nullptr;
    auto opts = context_options_of(options);
    if (!opts.ok()) return fail(opts.status());
    return emit_context(upconv::Context::create(*opts), out);
  });
}

void upconv_context_destroy(upconv_context* context) { delete context; }

upconv_backend upconv_context_backend(const upconv_context* context) {
  if (!context) return UPCONV_BACKEND_CPU;
  return context->context.backend() == upconv::BackendKind::vulkan ? UPCONV_BACKEND_VULKAN : UPCONV_BACKEND_CPU;
}

const char* upconv_context_description(const upconv_context* context) {
  return context ? context->description.c_str() : "";
}

upconv_conv_params upconv_conv_params_default(void) {
  return {2, {1, 1}, {1, 1}, {0, 0}, {0, 0}, 1, UPCONV_ACTIVATION_NONE, 0.01f};
}

upconv_conv_transpose_params upconv_conv_transpose_params_default(void) {
  return {2, {1, 1}, {1, 1}, {0, 0}, {0, 0}, {0, 0}, 1, UPCONV_ACTIVATION_NONE, 0.01f};
}

upconv_pixel_shuffle_params upconv_pixel_shuffle_params_default(void) { return {2, UPCONV_SHUFFLE_CRD}; }

upconv_max_unpool2d_params upconv_max_unpool2d_params_default(void) { return {{2, 2}, {0, 0}, {0, 0}, 0, {0, 0}}; }

upconv_upsample_params upconv_upsample_params_default(void) { return {{2, 2}}; }

upconv_status upconv_plan_create_conv(upconv_context* context, const upconv_conv_params* params, const float* weight,
                                      const int64_t* weight_dims, int weight_rank, const float* bias,
                                      int64_t bias_count, upconv_plan** out) {
  return guarded([&] {
    if (upconv_status s = check_out(context, params, out); s != UPCONV_OK) return s;
    upconv::ConvParams p;
    p.spatial_rank = params->spatial_rank;
    p.stride = pair(params->stride);
    p.dilation = pair(params->dilation);
    p.pad_begin = pair(params->pad_begin);
    p.pad_end = pair(params->pad_end);
    p.groups = params->groups;
    p.activation = activation_of(params->activation, params->activation_alpha);
    return create_conv_like(context, p, weight, weight_dims, weight_rank, bias, bias_count, out,
                            [](auto&&... a) { return upconv::make_conv(a...); });
  });
}

upconv_status upconv_plan_create_conv_transpose(upconv_context* context, const upconv_conv_transpose_params* params,
                                                const float* weight, const int64_t* weight_dims, int weight_rank,
                                                const float* bias, int64_t bias_count, upconv_plan** out) {
  return guarded([&] {
    if (upconv_status s = check_out(context, params, out); s != UPCONV_OK) return s;
    upconv::ConvTransposeParams p;
    p.spatial_rank = params->spatial_rank;
    p.stride = pair(params->stride);
    p.dilation = pair(params->dilation);
    p.pad_begin = pair(params->pad_begin);
    p.pad_end = pair(params->pad_end);
    p.output_padding = pair(params->output_padding);
    p.groups = params->groups;
    p.activation = activation_of(params->activation, params->activation_alpha);
    return create_conv_like(context, p, weight, weight_dims, weight_rank, bias, bias_count, out,
                            [](auto&&... a) { return upconv::make_conv_transpose(a...); });
  });
}

upconv_status upconv_plan_create_pixel_shuffle(upconv_context* context, const upconv_pixel_shuffle_params* params,
                                               upconv_plan** out) {
  return guarded([&] {
    if (upconv_status s = check_out(context, params, out); s != UPCONV_OK) return s;
    return emit(upconv::make_pixel_shuffle(context->context, {params->factor, mode_of(params->mode)}),
                out);
  });
}

upconv_status upconv_plan_create_pixel_unshuffle(upconv_context* context, const upconv_pixel_shuffle_params* params,
                                                 upconv_plan** out) {
  return guarded([&] {
    if (upconv_status s = check_out(context, params, out); s != UPCONV_OK) return s;
    return emit(
        upconv::make_pixel_unshuffle(context->context, {params->factor, mode_of(params->mode)}),
        out);
  });
}

upconv_status upconv_plan_create_max_unpool2d(upconv_context* context, const upconv_max_unpool2d_params* params,
                                              upconv_plan** out) {
  return guarded([&] {
    if (upconv_status s = check_out(context, params, out); s != UPCONV_OK) return s;
    upconv::MaxUnpool2dParams p;
    p.kernel = pair(params->kernel);
    p.stride = pair(params->stride);
    p.padding = pair(params->padding);
    if (params->has_output_size) p.output_size = pair(params->output_size);
    return emit(upconv::make_max_unpool2d(context->context, p), out);
  });
}

upconv_status upconv_plan_create_upsample_nearest2d(upconv_context* context, const upconv_upsample_params* params,
                                                    upconv_plan** out) {
  return guarded([&] {
    if (upconv_status s = check_out(context, params, out); s != UPCONV_OK) return s;
    return emit(upconv::make_upsample_nearest2d(context->context, {pair(params->factor)}), out);
  });
}

upconv_status upconv_plan_create_bed_of_nails2d(upconv_context* context, const upconv_upsample_params* params,
                                                upconv_plan** out) {
  return guarded([&] {
    if (upconv_status s = check_out(context, params, out); s != UPCONV_OK) return s;
    return emit(upconv::make_bed_of_nails2d(context->context, {pair(params->factor)}), out);
  });
}

void upconv_plan_destroy(upconv_plan* plan) { delete plan; }

upconv_status upconv_plan_output_shape(const upconv_plan* plan, const int64_t* input_dims, int input_rank,
                                       int64_t* output_dims, int* output_rank) {
  return guarded([&] {
    if (!plan) return fail(StatusCode::invalid_argument, "plan is NULL");
    if (!output_dims || !output_rank) return fail(StatusCode::invalid_argument, "output_dims or output_rank is NULL");
    auto input = shape_of("input", input_dims, input_rank);
    if (!input.ok()) return fail(input.status());
    auto shape = plan->plan.output_shape(*input);
    if (!shape.ok()) return fail(shape.status());
    if (shape->size() > UPCONV_MAX_RANK) return fail(StatusCode::internal, "output rank exceeds UPCONV_MAX_RANK");
    std::copy(shape->begin(), shape->end(), output_dims);
    *output_rank = static_cast<int>(shape->size());
    return UPCONV_OK;
  });
}

upconv_status upconv_plan_run(upconv_plan* plan, const float* input, const int64_t* input_dims, int input_rank,
                              float* output, int64_t output_capacity) {
  return guarded([&] {
    if (!plan) return fail(StatusCode::invalid_argument, "plan is NULL");
    auto x = tensor_of("input", input, input_dims, input_rank);
    if (!x.ok()) return fail(x.status());
    if (upconv_status s = prepare_output(plan, x->shape(), output, output_capacity); s != UPCONV_OK) return s;
    upconv::Tensor y;
    if (upconv_status s = check(plan->plan.run(*x, y)); s != UPCONV_OK) return s;
    copy_out(y, output);
    return UPCONV_OK;
  });
}

upconv_status upconv_plan_run_unpool(upconv_plan* plan, const float* input, const int64_t* indices,
                                     const int64_t* input_dims, int input_rank, float* output,
                                     int64_t output_capacity) {
  return guarded([&] {
    if (!plan) return fail(StatusCode::invalid_argument, "plan is NULL");
    auto x = tensor_of("input", input, input_dims, input_rank);
    if (!x.ok()) return fail(x.status());
    auto idx = tensor_of("indices", indices, input_dims, input_rank);
    if (!idx.ok()) return fail(idx.status());
    if (upconv_status s = prepare_output(plan, x->shape(), output, output_capacity); s != UPCONV_OK) return s;
    upconv::Tensor y;
    if (upconv_status s = check(plan->plan.run(*x, *idx, y)); s != UPCONV_OK) return s;
    copy_out(y, output);
    return UPCONV_OK;
  });
}

double upconv_plan_last_device_time_ms(const upconv_plan* plan) {
  if (!plan) return -1.0;
  try {
    return plan->plan.last_device_time_ms();
  } catch (...) {
    return -1.0;
  }
}

}  // extern "C"

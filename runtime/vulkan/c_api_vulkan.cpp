// The C ABI's Vulkan interop (include/upconv/upconv_vulkan.h) over upconv/vulkan.hpp. Like the
// rest of the C ABI every entry point runs inside `guarded`: no exception crosses it.
#include "upconv/upconv_vulkan.h"

#include <string>

#include "runtime/c_api_internal.hpp"
#include "upconv/vulkan.hpp"

namespace {

using namespace upconv::c_api;  // NOLINT: the helpers every entry point uses
using upconv::StatusCode;

upconv::VulkanBufferBinding binding_of(const upconv_vulkan_buffer_binding& b) { return {b.buffer, b.offset, b.range}; }

}  // namespace

extern "C" {

upconv_status upconv_context_create_vulkan_adopted(const upconv_vulkan_adopt_info* info,
                                                   const upconv_context_options* options, upconv_context** out) {
  return guarded([&] {
    if (!out) return fail(StatusCode::invalid_argument, "out (the context pointer) is NULL");
    *out = nullptr;
    if (!info) return fail(StatusCode::invalid_argument, "info is NULL");
    auto opts = context_options_of(options);
    if (!opts.ok()) return fail(opts.status());
    upconv::VulkanAdoptInfo adopt;
    adopt.instance = info->instance;
    adopt.physical_device = info->physical_device;
    adopt.device = info->device;
    adopt.queue_family = info->queue_family;
    adopt.queue = info->queue;
    adopt.get_instance_proc_addr = info->get_instance_proc_addr;
    adopt.storage_buffer_16bit_enabled = info->storage_buffer_16bit_enabled != 0;
    return emit_context(upconv::create_vulkan_context(adopt, *opts), out);
  });
}

upconv_status upconv_vulkan_storage_precision(const upconv_context* context, upconv_precision* out) {
  return guarded([&] {
    if (!context) return fail(StatusCode::invalid_argument, "context is NULL");
    if (!out) return fail(StatusCode::invalid_argument, "out (the precision pointer) is NULL");
    auto precision = upconv::vulkan_storage_precision(context->context);
    if (!precision.ok()) return fail(precision.status());
    *out = *precision == upconv::Precision::fp16 ? UPCONV_PRECISION_FP16 : UPCONV_PRECISION_FP32;
    return UPCONV_OK;
  });
}

upconv_status upconv_plan_record(upconv_plan* plan, VkCommandBuffer cmd, const int64_t* input_dims, int input_rank,
                                 const upconv_vulkan_buffer_binding* input,
                                 const upconv_vulkan_buffer_binding* output,
                                 const upconv_vulkan_buffer_binding* indices, upconv_record_timing timing) {
  return guarded([&] {
    if (!plan) return fail(StatusCode::invalid_argument, "plan is NULL");
    if (!input || !output) return fail(StatusCode::invalid_argument, "input or output binding is NULL");
    const int32_t t = enum_value(timing);
    if (t != UPCONV_RECORD_TIMING_OFF && t != UPCONV_RECORD_TIMING_TIMESTAMPS)
      return fail(StatusCode::invalid_argument, "timing " + std::to_string(t) + " is unknown");
    auto shape = shape_of("input", input_dims, input_rank);
    if (!shape.ok()) return fail(shape.status());
    upconv::VulkanBufferBinding idx;
    if (indices) idx = binding_of(*indices);
    return check(upconv::record(plan->plan, cmd, *shape, binding_of(*input), binding_of(*output),
                                indices ? &idx : nullptr,
                                t == UPCONV_RECORD_TIMING_TIMESTAMPS ? upconv::RecordTiming::timestamps
                                                                     : upconv::RecordTiming::off));
  });
}

}  // extern "C"

// The Vulkan backend behind the runtime's Backend interface, and the public interop functions of
// upconv/vulkan.hpp (device listing, adopting a caller's device, recording into its commands).
#include "runtime/vulkan/vulkan_backend.hpp"

#include <cstdlib>

#include "runtime/context_impl.hpp"
#include "runtime/validate.hpp"
#include "runtime/vulkan/vk_backend_access.hpp"
#include "runtime/vulkan/vk_device.hpp"
#include "runtime/vulkan/vk_kernel.hpp"
#include "upconv/vulkan.hpp"

namespace upconv::detail {
namespace vk {
namespace {

class VulkanBackend final : public Backend {
 public:
  VulkanBackend(std::shared_ptr<VulkanDevice> device, Precision precision)
      : device_(std::move(device)), precision_(precision) {}

  BackendKind kind() const noexcept override { return BackendKind::vulkan; }

  std::string description() const override {
    const char* type = "";
    switch (device_->properties().core.deviceType) {
      case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU: type = "discrete"; break;
      case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU: type = "integrated"; break;
      case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU: type = "virtual"; break;
      case VK_PHYSICAL_DEVICE_TYPE_CPU: type = "cpu"; break;
      default: type = "other"; break;
    }
    return "vulkan (" + device_->name() + ", " + type + ", " + to_string(storage_precision()) +
           (device_->adopted() ? ", adopted device" : "") + ")";
  }

  Result<std::unique_ptr<OpKernel>> prepare(const OpDesc& desc, const float* weight, const float* bias) override {
    auto kernel = VulkanKernel::create(device_, precision_, desc, weight, bias);
    if (!kernel.ok()) return kernel.status();
    return std::unique_ptr<OpKernel>(std::move(kernel).value());
  }

  Precision storage_precision() const noexcept {
    return precision_ == Precision::fp16 && device_->fp16_storage() ? Precision::fp16 : Precision::fp32;
  }
  const std::shared_ptr<VulkanDevice>& device() const noexcept { return device_; }

 private:
  std::shared_ptr<VulkanDevice> device_;
  Precision precision_;
};

const VulkanBackend* vulkan_backend_of(const Context& context) {
  if (!context.impl() || !context.impl()->backend) return nullptr;
  return dynamic_cast<const VulkanBackend*>(context.impl()->backend.get());
}

}  // namespace

VulkanDevice* device_of(const Context& context) {
  const VulkanBackend* backend = vulkan_backend_of(context);
  return backend ? backend->device().get() : nullptr;
}

uint32_t set_benchmark_dispatch_repeats(const Context& context, uint32_t repeats) {
  VulkanDevice* device = device_of(context);
  if (!device) return 0;
  if (repeats == 0) {
    const char* env = std::getenv("UPCONV_VULKAN_TIMING_REPEATS");
    const bool cpu_type = device->properties().core.deviceType == VK_PHYSICAL_DEVICE_TYPE_CPU;
    // The variable was validated at context creation and is already in effect.
    repeats = env && *env ? device->timing_repeats() : cpu_type ? 1u : 20u;
  }
  device->set_timing_repeats(repeats);
  return device->timing_repeats();
}

}  // namespace vk

Result<std::unique_ptr<Backend>> create_vulkan_backend(const ContextOptions& options, bool only_gpus) {
  auto device = vk::VulkanDevice::create(options, only_gpus);
  if (!device.ok()) return device.status();
  return std::unique_ptr<Backend>(std::make_unique<vk::VulkanBackend>(std::move(device).value(), options.precision));
}

}  // namespace upconv::detail

namespace upconv {

Result<std::vector<VulkanDeviceInfo>> list_vulkan_devices() { return detail::vk::enumerate_devices(); }

Result<Context> create_vulkan_context(const VulkanAdoptInfo& info, const ContextOptions& options) {
  auto device = detail::vk::VulkanDevice::adopt(info, options);
  if (!device.ok()) return device.status();
  // A CPU context supplies the shared parts (options, thread pool); its backend is then swapped
  // for the adopted device's. Threads: the Vulkan backend uses none of its own.
  ContextOptions cpu_options = options;
  cpu_options.backend = BackendKind::cpu;
  if (cpu_options.num_threads == 0) cpu_options.num_threads = 1;
  auto context = Context::create(cpu_options);
  if (!context.ok()) return context.status();
  context->impl()->options.backend = BackendKind::vulkan;
  context->impl()->backend = std::make_unique<detail::vk::VulkanBackend>(std::move(device).value(), options.precision);
  return context;
}

Result<Precision> vulkan_storage_precision(const Context& context) {
  const auto* backend = detail::vk::vulkan_backend_of(context);
  if (!backend) return invalid_argument("vulkan_storage_precision: the context is not a Vulkan context");
  return backend->storage_precision();
}

Status record(Plan& plan, VkCommandBuffer cmd, const Shape& input_shape, VulkanBufferBinding input,
              VulkanBufferBinding output, const VulkanBufferBinding* indices, RecordTiming timing) {
  detail::PlanImpl* impl = plan.impl();
  if (!impl) return invalid_argument("record: plan is empty (moved from)");
  auto* kernel = dynamic_cast<detail::vk::VulkanKernel*>(&impl->kernel());
  if (!kernel) return invalid_argument("record: the plan was not made on a Vulkan context");
  auto io = detail::resolve_io(impl->desc(), input_shape);
  if (!io.ok()) return io.status();
  return kernel->record(cmd, io->in, io->out, input, output, indices, timing);
}

}  // namespace upconv

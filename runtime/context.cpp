// Context creation: backend choice (explicit, environment, or automatic with CPU fallback).
#include <cstdlib>
#include <string>

#include "cpu/cpu_backend.hpp"
#include "runtime/context_impl.hpp"
#include "runtime/vulkan/vulkan_backend.hpp"

namespace upconv {

const char* to_string(BackendKind kind) noexcept {
  switch (kind) {
    case BackendKind::automatic: return "auto";
    case BackendKind::cpu: return "cpu";
    case BackendKind::vulkan: return "vulkan";
  }
  return "unknown";
}

const char* to_string(Precision precision) noexcept { return precision == Precision::fp16 ? "fp16" : "fp32"; }

const char* version() noexcept { return "0.1.0"; }

namespace {

Result<BackendKind> backend_from_env(BackendKind requested) {
  if (requested != BackendKind::automatic) return requested;
  const char* env = std::getenv("UPCONV_BACKEND");
  if (!env || !*env) return BackendKind::automatic;
  const std::string v = env;
  if (v == "auto") return BackendKind::automatic;
  if (v == "cpu") return BackendKind::cpu;
  if (v == "vulkan") return BackendKind::vulkan;
  return invalid_argument("UPCONV_BACKEND must be auto, cpu or vulkan, got '" + v + "'");
}

}  // namespace

Result<Context> Context::create(const ContextOptions& options) {
  auto kind = backend_from_env(options.backend);
  if (!kind.ok()) return kind.status();
  if (options.num_threads < 0)
    return invalid_argument("num_threads must be >= 0, got " + std::to_string(options.num_threads));
  if (options.precision != Precision::fp32 && options.precision != Precision::fp16)
    return invalid_argument("precision " + std::to_string(static_cast<int>(options.precision)) + " is unknown");

  auto impl = std::make_shared<detail::ContextImpl>();
  impl->options = options;
  impl->pool = std::make_shared<detail::ThreadPool>(detail::resolve_thread_count(options.num_threads),
                                                    options.pin_threads);
  if (*kind != BackendKind::cpu) {
    auto vk = detail::create_vulkan_backend(options, *kind == BackendKind::automatic);
    if (vk.ok())
      impl->backend = std::move(vk).value();
    else if (*kind == BackendKind::vulkan)
      return vk.status();
    // automatic: no usable GPU is not an error; fall through to the CPU.
  }
  if (!impl->backend) impl->backend = detail::create_cpu_backend(impl->pool);
  return Context(std::move(impl));
}

Context::Context(std::shared_ptr<detail::ContextImpl> impl) : impl_(std::move(impl)) {}
Context::Context(Context&&) noexcept = default;
Context& Context::operator=(Context&&) noexcept = default;
Context::~Context() = default;

// A moved-from context has no implementation: its accessors answer without crashing, and
// plan factories reject it (prepare in plan.cpp).
BackendKind Context::backend() const noexcept { return impl_ ? impl_->backend->kind() : BackendKind::cpu; }
std::string Context::description() const { return impl_ ? impl_->backend->description() : "empty (moved-from) context"; }
int Context::num_threads() const noexcept { return impl_ ? impl_->pool->size() : 0; }

}  // namespace upconv

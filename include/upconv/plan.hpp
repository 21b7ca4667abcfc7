// upconv — contexts (a chosen backend plus its resources) and plans (one operator with its
// weights, prepared once and run many times).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "upconv/params.hpp"
#include "upconv/status.hpp"
#include "upconv/tensor.hpp"

namespace upconv {

namespace detail {
struct ContextImpl;
class PlanImpl;
}  // namespace detail

/// Which backend a context runs on.
enum class BackendKind {
  automatic,  ///< a discrete/integrated GPU through Vulkan if there is one, else the CPU
  cpu,        ///< the xsimd CPU kernels (always available)
  vulkan,     ///< Vulkan; fails with backend_unavailable when there is no loader or device
};
const char* to_string(BackendKind kind) noexcept;

/// Storage precision of activations and weights on the device. Accumulation is always fp32.
enum class Precision { fp32, fp16 };
const char* to_string(Precision precision) noexcept;

/// Options for Context::create. Every field has a usable default.
struct ContextOptions {
  /// Backend to use. With `automatic`, the UPCONV_BACKEND environment variable (cpu|vulkan|auto)
  /// overrides. Default: automatic.
  BackendKind backend = BackendKind::automatic;
  /// CPU worker threads; 0 = the UPCONV_NUM_THREADS environment variable, else the number of
  /// hardware threads. Results are bit-identical for every thread count.
  int num_threads = 0;
  /// Pin CPU worker threads to cores (helps on VMs whose vCPUs time-slice). Default: off.
  bool pin_threads = false;
  /// Storage precision on Vulkan devices with 16-bit storage; the CPU backend always computes
  /// in fp32 and ignores this. Default: fp32.
  Precision precision = Precision::fp32;
  /// Vulkan device: "" = the UPCONV_DEVICE environment variable, else the best device
  /// (discrete > integrated > virtual > CPU). Otherwise an index or a name substring.
  std::string vulkan_device;
  /// Enable the Khronos validation layer and turn each of its messages into a failed Status of
  /// the next call. Default: off (tests turn it on).
  bool vulkan_validation = false;
  /// Path of a persistent Vulkan pipeline cache file; "" = in-memory only. A missing, corrupt
  /// or foreign file is ignored.
  std::string pipeline_cache_path;
};

/// A backend with its resources (device, queues, memory, thread pool). Move-only. Plans keep
/// what they need of it alive, so a context may be destroyed before its plans.
/// No global state: any number of contexts may exist side by side.
class Context {
 public:
  /// Creates a context. Never throws; a missing Vulkan loader or device is an error only when
  /// Vulkan was asked for explicitly.
  static Result<Context> create(const ContextOptions& options = {});

  Context(Context&&) noexcept;
  Context& operator=(Context&&) noexcept;
  ~Context();

  /// The backend actually in use (never `automatic`; `cpu` for a moved-from context, whose
  /// description says so and whose plan factories return errors).
  BackendKind backend() const noexcept;
  /// Human-readable description: "cpu (avx512f, 2 threads)" or "vulkan (NVIDIA ..., fp16)".
  std::string description() const;
  /// Number of CPU worker threads.
  int num_threads() const noexcept;

  /// Internal; used by the plan factories and the Vulkan interop header.
  const std::shared_ptr<detail::ContextImpl>& impl() const noexcept { return impl_; }

 private:
  explicit Context(std::shared_ptr<detail::ContextImpl> impl);
  std::shared_ptr<detail::ContextImpl> impl_;
};

/// One operator bound to its weights on one backend. Create once (weights are packed and
/// pipelines built here), then run on any number of inputs. Move-only. Not thread-safe: run one
/// plan from one thread at a time (distinct plans may run concurrently).
class Plan {
 public:
  Plan(Plan&&) noexcept;
  Plan& operator=(Plan&&) noexcept;
  ~Plan();

  /// Output shape for an input shape, or an error naming the mismatch (e.g. channel count).
  Result<Shape> output_shape(const Shape& input) const;

  /// Runs the op on `input`; `output` is resized to output_shape(input) and overwritten. It must
  /// be a different tensor than `input` (an error otherwise). A moved-from plan returns errors.
  /// An empty batch (N = 0) is valid, as in PyTorch, and gives an empty output.
  Status run(const Tensor& input, Tensor& output);
  /// max_unpool2d: `indices` has the input's shape. Other ops reject this overload.
  Status run(const Tensor& input, const IndexTensor& indices, Tensor& output);

  /// Time the last run took on the device in milliseconds (Vulkan timestamp queries), or -1
  /// where the backend does not measure it (the CPU backend). After a timed upconv::record (see
  /// upconv/vulkan.hpp), the time of the recorded commands' last completed execution.
  double last_device_time_ms() const;

  /// Internal.
  /// Internal; null for a moved-from plan.
  detail::PlanImpl* impl() noexcept { return impl_.get(); }
  explicit Plan(std::unique_ptr<detail::PlanImpl> impl);

 private:
  std::unique_ptr<detail::PlanImpl> impl_;
};

/// Plan factories. Weights are copied (and packed) at creation; the caller's tensors need not
/// outlive the call. `bias` is optional (nullptr = no bias) and has C_out elements.
Result<Plan> make_conv(Context& context, const ConvParams& params, const Tensor& weight,
                       const Tensor* bias = nullptr);
Result<Plan> make_conv_transpose(Context& context, const ConvTransposeParams& params, const Tensor& weight,
                                 const Tensor* bias = nullptr);
Result<Plan> make_pixel_shuffle(Context& context, const PixelShuffleParams& params);
Result<Plan> make_pixel_unshuffle(Context& context, const PixelShuffleParams& params);
Result<Plan> make_max_unpool2d(Context& context, const MaxUnpool2dParams& params);
Result<Plan> make_upsample_nearest2d(Context& context, const UpsampleParams& params);
Result<Plan> make_bed_of_nails2d(Context& context, const UpsampleParams& params);

/// Library version, "MAJOR.MINOR.PATCH".
const char* version() noexcept;

}  // namespace upconv

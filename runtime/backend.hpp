// Internal: the small interface every backend implements. The runtime is the only code that
// knows more than one backend; backends never include each other.
#pragma once

#include <memory>
#include <string>

#include "runtime/op_desc.hpp"
#include "upconv/plan.hpp"
#include "upconv/status.hpp"

namespace upconv::detail {

/// Host-side operands of one run. Shapes are validated by the runtime before a kernel sees them;
/// `y` is allocated with `yd` extents. `indices` is set for max_unpool2d only; their values are
/// not validated yet: the kernel must return check_unpool_indices' error for an index outside
/// its output plane (never write through it; the output is then unspecified).
struct OpArgs {
  const float* x = nullptr;
  Dims4 xd;
  const int64_t* indices = nullptr;
  float* y = nullptr;
  Dims4 yd;
};

/// One prepared operator on one backend (weights packed, pipelines built).
class OpKernel {
 public:
  virtual ~OpKernel() = default;
  virtual Status run(const OpArgs& args) = 0;
  /// Device time of the last run in milliseconds, where the backend measures it (Vulkan
  /// timestamp queries); -1 where it does not.
  virtual double last_device_time_ms() const { return -1.0; }
};

/// A backend: turns validated descriptors (and weights in the layout of ConvDesc) into kernels.
class Backend {
 public:
  virtual ~Backend() = default;
  virtual BackendKind kind() const noexcept = 0;
  virtual std::string description() const = 0;
  /// `weight`/`bias` are null for ops without them; they need not outlive the call.
  virtual Result<std::unique_ptr<OpKernel>> prepare(const OpDesc& desc, const float* weight,
                                                    const float* bias) = 0;
};

}  // namespace upconv::detail

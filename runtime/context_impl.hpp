// Internal: what a Context holds. Plans share ownership so they can outlive their Context.
#pragma once

#include <memory>

#include "runtime/backend.hpp"
#include "runtime/thread_pool.hpp"
#include "upconv/plan.hpp"

namespace upconv::detail {

struct ContextImpl {
  ContextOptions options;
  std::shared_ptr<ThreadPool> pool;
  std::unique_ptr<Backend> backend;
};

/// A prepared op: descriptor + backend kernel + the context it lives in.
class PlanImpl {
 public:
  PlanImpl(std::shared_ptr<ContextImpl> ctx, OpDesc desc, std::unique_ptr<OpKernel> kernel)
      : ctx_(std::move(ctx)), desc_(std::move(desc)), kernel_(std::move(kernel)) {}

  const OpDesc& desc() const noexcept { return desc_; }
  OpKernel& kernel() noexcept { return *kernel_; }
  const OpKernel& kernel() const noexcept { return *kernel_; }
  ContextImpl& context() noexcept { return *ctx_; }

 private:
  std::shared_ptr<ContextImpl> ctx_;  // declared first: destroyed after the kernel
  OpDesc desc_;
  std::unique_ptr<OpKernel> kernel_;
};

}  // namespace upconv::detail

// Internal: the CPU backend (xsimd kernels, multi-threaded; reference kernels where none exist).
#pragma once

#include <memory>

#include "runtime/backend.hpp"
#include "runtime/thread_pool.hpp"

namespace upconv::detail {

/// `pool` must outlive the backend and every kernel it prepares (the context owns both).
std::unique_ptr<Backend> create_cpu_backend(std::shared_ptr<ThreadPool> pool);

}  // namespace upconv::detail

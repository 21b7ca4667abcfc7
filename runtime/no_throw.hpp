// Internal: the public API's promise that nothing throws, kept where the library allocates.
// Kernels and planners use std::vector and AlignedFloats, which report exhausted host memory
// by throwing std::bad_alloc (from any pool thread: the pool hands it to the caller); the entry
// points that reach them turn it into a status here.
#pragma once

#include <new>

#include "upconv/status.hpp"

namespace upconv::detail {

/// body()'s result (a Status or a Result<T>), or out_of_memory if it ran out of host memory.
template <class F>
auto status_on_bad_alloc(F&& body) -> decltype(body()) {
  try {
    return body();
  } catch (const std::bad_alloc&) {
    return Status{StatusCode::out_of_memory, "out of host memory"};
  }
}

}  // namespace upconv::detail

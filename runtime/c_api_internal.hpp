// Internal: what the C ABI's translation units share (runtime/c_api.cpp, and the Vulkan
// interop in runtime/vulkan/c_api_vulkan.cpp): the handle types, the status conversion, the
// per-thread last error and the exception guard every entry point runs in.
#pragma once

#include <cstdint>
#include <cstring>
#include <exception>
#include <new>
#include <string>
#include <utility>

#include "upconv/upconv.h"
#include "upconv/upconv.hpp"

struct upconv_context {
  upconv::Context context;
  std::string description;
};

struct upconv_plan {
  upconv::Plan plan;
};

namespace upconv::c_api {

upconv_status to_c(StatusCode code);

/// Sets the calling thread's last error message and returns the status code for it.
upconv_status fail(const Status& status);
inline upconv_status fail(StatusCode code, std::string message) { return fail(Status(code, std::move(message))); }
inline upconv_status check(const Status& status) { return status.ok() ? UPCONV_OK : fail(status); }

/// Records a message without letting an allocation failure escape (used in catch handlers).
upconv_status fail_noexcept(StatusCode code, const char* prefix, const char* what) noexcept;

/// The calling thread's last error message.
const char* last_error() noexcept;

/// Runs `body`, turning any exception into a status.
template <class F>
upconv_status guarded(F&& body) noexcept {
  try {
    return body();
  } catch (const std::bad_alloc&) {
    return fail_noexcept(StatusCode::out_of_memory, "out of host memory", "");
  } catch (const std::exception& e) {
    return fail_noexcept(StatusCode::internal, "unexpected exception: ", e.what());
  } catch (...) {
    return fail_noexcept(StatusCode::internal, "unexpected exception", "");
  }
}

/// The integer in a C enum field. A C caller may store any int there, but in C++ loading a value
/// outside the enumeration's range through the enum type is undefined, so read the bytes.
template <class E>
int32_t enum_value(const E& field) {
  static_assert(sizeof(E) == sizeof(int32_t), "C ABI enums are 32-bit (*_MAX_ENUM sentinels)");
  int32_t v;
  std::memcpy(&v, &field, sizeof v);
  return v;
}

/// A shape from a caller's dims array, rank and pointer checked.
Result<Shape> shape_of(const char* what, const int64_t* dims, int rank);

/// The C++ options for C ones (NULL = defaults); unknown enum values are errors.
Result<ContextOptions> context_options_of(const upconv_context_options* options);

/// Wraps a created context in a new handle for *out.
upconv_status emit_context(Result<Context> context, upconv_context** out);

}  // namespace upconv::c_api

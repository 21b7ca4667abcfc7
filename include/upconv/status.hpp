// upconv — status and result types. Nothing in the public API throws or aborts:
// every fallible call returns a Status (or a Result<T>) whose message says why.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace upconv {

/// What kind of failure a Status reports. `ok` is success.
enum class StatusCode {
  ok = 0,
  invalid_argument,     ///< a parameter, shape or file content is wrong; the message names it
  unsupported,          ///< valid, but not supported by the chosen backend / device
  out_of_memory,        ///< a host or device allocation failed
  io_error,             ///< a file could not be opened, read or written
  backend_unavailable,  ///< the requested backend (e.g. Vulkan) is not present on this machine
  backend_error,        ///< the backend (driver) reported an error, e.g. a VkResult
  internal,             ///< a bug in upconv
};

/// Stable lower-case name of a status code, e.g. "invalid_argument".
const char* to_string(StatusCode code) noexcept;

/// Success, or a code plus a human-readable message naming the offending parameter and value.
class [[nodiscard]] Status {
 public:
  /// Success.
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status success() { return {}; }

  bool ok() const noexcept { return code_ == StatusCode::ok; }
  explicit operator bool() const noexcept { return ok(); }
  StatusCode code() const noexcept { return code_; }
  /// Empty on success.
  const std::string& message() const noexcept { return message_; }
  /// "invalid_argument: stride[0] must be >= 1, got 0".
  std::string to_string() const;

 private:
  StatusCode code_ = StatusCode::ok;
  std::string message_;
};

/// Shorthand constructors used throughout the library.
inline Status invalid_argument(std::string msg) { return {StatusCode::invalid_argument, std::move(msg)}; }
inline Status unsupported(std::string msg) { return {StatusCode::unsupported, std::move(msg)}; }

/// Either a value or a failed Status. Accessing value() of a failed result is a bug (asserts in debug).
template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}            // NOLINT: implicit on purpose
  Result(Status status) : status_(std::move(status)) {}    // NOLINT: implicit on purpose

  bool ok() const noexcept { return value_.has_value(); }
  explicit operator bool() const noexcept { return ok(); }
  const Status& status() const noexcept { return status_; }

  T& value() & { return *value_; }
  const T& value() const& { return *value_; }
  T&& value() && { return std::move(*value_); }
  T* operator->() { return &*value_; }
  const T* operator->() const { return &*value_; }
  T& operator*() & { return *value_; }
  const T& operator*() const& { return *value_; }
  T&& operator*() && { return std::move(*value_); }

 private:
  std::optional<T> value_;
  Status status_;
};

}  // namespace upconv

/// Propagates a failed Status from an expression returning Status.
#define UPCONV_RETURN_IF_ERROR(expr)              \
  do {                                            \
    ::upconv::Status upconv_status_ = (expr);     \
    if (!upconv_status_.ok()) return upconv_status_; \
  } while (0)

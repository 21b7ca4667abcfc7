// upconv — host tensors: a shape plus contiguous C-order (row-major) storage.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "upconv/status.hpp"

namespace upconv {

/// Dimensions, outermost first (NCHW for 2D ops, NCL for 1D ops).
using Shape = std::vector<int64_t>;

/// "[1, 3, 8, 8]".
std::string shape_to_string(const Shape& shape);

/// Number of elements of `shape`, or an error when a dimension is negative or the product
/// overflows `max_elements` (so a malformed shape never turns into a huge allocation).
Result<int64_t> checked_element_count(const Shape& shape, int64_t max_elements = int64_t{1} << 40);

/// A dense C-order tensor of T (float for activations and weights, int64_t for unpool indices).
/// Owns its storage. Copyable and movable.
template <class T>
class BasicTensor {
 public:
  using value_type = T;

  BasicTensor() = default;
  /// Zero-filled tensor. An invalid `shape` (negative or overflowing) gets no storage; plans
  /// reject such a tensor with an error naming it (see `create` to fail here instead).
  explicit BasicTensor(Shape shape);
  /// Tensor with the given data. `data.size()` should equal the element count of `shape`; plans
  /// reject a tensor whose storage and shape disagree (see `create` to fail here instead).
  BasicTensor(Shape shape, std::vector<T> data);

  /// Checked constructor: fails on negative dimensions, overflow or a size mismatch.
  static Result<BasicTensor> create(Shape shape, std::vector<T> data);
  /// Checked zero-filled constructor.
  static Result<BasicTensor> zeros(Shape shape);

  const Shape& shape() const noexcept { return shape_; }
  int rank() const noexcept { return static_cast<int>(shape_.size()); }
  /// Size of dimension `axis`; negative axes count from the end.
  int64_t dim(int axis) const { return shape_[axis < 0 ? axis + rank() : axis]; }
  int64_t size() const noexcept { return static_cast<int64_t>(data_.size()); }

  T* data() noexcept { return data_.data(); }
  const T* data() const noexcept { return data_.data(); }
  std::span<T> span() noexcept { return data_; }
  std::span<const T> span() const noexcept { return data_; }
  std::vector<T>& storage() noexcept { return data_; }
  const std::vector<T>& storage() const noexcept { return data_; }

  /// Changes the shape, keeping (and zero-extending or truncating) the storage.
  void resize(Shape shape);

 private:
  Shape shape_;
  std::vector<T> data_;
};

using Tensor = BasicTensor<float>;
using IndexTensor = BasicTensor<int64_t>;

extern template class BasicTensor<float>;
extern template class BasicTensor<int64_t>;

}  // namespace upconv

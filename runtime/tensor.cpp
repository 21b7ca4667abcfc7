#include "upconv/tensor.hpp"

namespace upconv {

std::string shape_to_string(const Shape& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ", ";
    s += std::to_string(shape[i]);
  }
  return s + "]";
}

Result<int64_t> checked_element_count(const Shape& shape, int64_t max_elements) {
  int64_t count = 1;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] < 0)
      return invalid_argument("shape " + shape_to_string(shape) + " has a negative dimension");
    if (shape[i] != 0 && count > max_elements / shape[i])
      return invalid_argument("shape " + shape_to_string(shape) + " has more than " +
                              std::to_string(max_elements) + " elements");
    count *= shape[i];
  }
  return count;
}

template <class T>
BasicTensor<T>::BasicTensor(Shape shape) : shape_(std::move(shape)) {
  // No assert: nothing aborts across the public API. An invalid shape gets no storage, and
  // every operation checks storage against shape (see Plan::run), so it fails there, named.
  auto n = checked_element_count(shape_);
  data_.assign(n.ok() ? static_cast<size_t>(*n) : 0, T{});
}

template <class T>
BasicTensor<T>::BasicTensor(Shape shape, std::vector<T> data) : shape_(std::move(shape)), data_(std::move(data)) {}

template <class T>
Result<BasicTensor<T>> BasicTensor<T>::create(Shape shape, std::vector<T> data) {
  auto n = checked_element_count(shape);
  if (!n.ok()) return n.status();
  if (*n != static_cast<int64_t>(data.size()))
    return invalid_argument("tensor data has " + std::to_string(data.size()) + " elements but shape " +
                            shape_to_string(shape) + " needs " + std::to_string(*n));
  return BasicTensor(std::move(shape), std::move(data));
}

template <class T>
Result<BasicTensor<T>> BasicTensor<T>::zeros(Shape shape) {
  auto n = checked_element_count(shape);
  if (!n.ok()) return n.status();
  return BasicTensor(std::move(shape));
}

template <class T>
void BasicTensor<T>::resize(Shape shape) {
  auto n = checked_element_count(shape);
  shape_ = std::move(shape);
  data_.resize(n.ok() ? static_cast<size_t>(*n) : 0);
}

template class BasicTensor<float>;
template class BasicTensor<int64_t>;

}  // namespace upconv

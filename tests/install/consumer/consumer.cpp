// Uses an installed upconv (C++ API, and the Vulkan interop header where it was built with it).
#include <cstdio>

#include "upconv/upconv.hpp"
#if __has_include("upconv/vulkan.hpp")
#include "upconv/vulkan.hpp"
#endif

int main() {
  auto ctx = upconv::Context::create({.backend = upconv::BackendKind::cpu});
  if (!ctx.ok()) return 1;
  upconv::Tensor weight({1, 1, 2, 2}, {1, 1, 1, 1});
  auto plan = upconv::make_conv_transpose(*ctx, {}, weight);
  if (!plan.ok()) return 1;
  upconv::Tensor x({1, 1, 2, 2}, {1, 2, 3, 4}), y;
  if (!plan->run(x, y).ok() || y.size() != 9 || y.data()[4] != 10.0f) return 1;
  std::printf("consumer: ok (upconv %s)\n", upconv::version());
  return 0;
}

#include <cstdio>

#include "upconv/upconv.hpp"

int main() {
  // BackendKind::automatic would pick a GPU through Vulkan when there is one.
  auto ctx = upconv::Context::create({.backend = upconv::BackendKind::cpu});
  if (!ctx.ok()) return std::fprintf(stderr, "%s\n", ctx.status().to_string().c_str()), 1;

  // ConvTranspose2d(1, 1, kernel_size=3, stride=2, padding=1) with an all-ones kernel.
  upconv::Tensor weight({1, 1, 3, 3}, std::vector<float>(9, 1.0f));
  upconv::ConvTransposeParams params{.stride = {2, 2}, .pad_begin = {1, 1}, .pad_end = {1, 1}};
  auto plan = upconv::make_conv_transpose(*ctx, params, weight);  // weights packed once here
  if (!plan.ok()) return std::fprintf(stderr, "%s\n", plan.status().to_string().c_str()), 1;

  upconv::Tensor x({1, 1, 2, 2}, {1, 2, 3, 4}), y;
  if (upconv::Status s = plan->run(x, y); !s.ok()) return std::fprintf(stderr, "%s\n", s.to_string().c_str()), 1;
  for (int64_t i = 0; i < y.size(); ++i)  // prints the 3x3 result: 1 3 2 / 4 10 6 / 3 7 4
    std::printf("%g%c", y.data()[i], (i + 1) % y.dim(-1) ? ' ' : '\n');
}

// `upconv make-demo-data DIR`: writes a small deterministic problem for a first `upconv run`
// (the README's main job), so trying the program needs neither NumPy nor PyTorch:
//   x.npy (1, 4, 8, 8)   an input batch
//   w.npy (4, 2, 4, 4)   conv_transpose2d weight (C_in, C_out, kH, kW)
//   b.npy (2,)           bias
// e.g. upconv run conv_transpose2d --input x.npy --weight w.npy --bias b.npy --stride 2
//      --padding 1 --output y.npy   gives y of shape (1, 2, 16, 16).
#include <cmath>
#include <filesystem>
#include <iostream>

#include "tools/cli_args.hpp"
#include "tools/commands.hpp"
#include "upconv/npy.hpp"

namespace upconv::cli {
namespace {

/// Smooth, sign-changing values that make a recognisable output; no RNG needed.
Tensor pattern(Shape shape, float frequency, float scale) {
  Tensor t(std::move(shape));
  for (int64_t i = 0; i < t.size(); ++i) t.data()[i] = scale * std::sin(frequency * static_cast<float>(i + 1));
  return t;
}

}  // namespace

int make_demo_data_command(std::span<const std::string> args) {
  if (args.size() != 1) return report_error("make-demo-data", "takes exactly one argument: the output directory", kExitUsage);
  const std::filesystem::path dir = args[0];
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return report_error("make-demo-data", dir.string() + ": cannot create directory: " + ec.message());
  const std::pair<const char*, Tensor> files[] = {
      {"x.npy", pattern({1, 4, 8, 8}, 0.37f, 1.0f)},
      {"w.npy", pattern({4, 2, 4, 4}, 0.71f, 0.25f)},
      {"b.npy", pattern({2}, 1.3f, 0.1f)},
  };
  for (const auto& [name, tensor] : files) {
    const std::string path = (dir / name).string();
    if (Status s = npy::write(path, tensor); !s.ok()) return report_error("make-demo-data", s.message());
    std::cout << "wrote " << path << " " << shape_to_string(tensor.shape()) << "\n";
  }
  return kExitOk;
}

}  // namespace upconv::cli

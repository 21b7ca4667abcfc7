// `upconv info`: what this build and this machine offer. Each backend is probed by creating a
// context for it, so what is printed is exactly what `upconv run --backend X` would get.
#include <cstdlib>
#include <iostream>

#include "tools/cli_args.hpp"
#include "tools/commands.hpp"
#include "upconv/plan.hpp"

namespace upconv::cli {
namespace {

void print_env(const char* name) {
  const char* value = std::getenv(name);
  std::cout << "  " << name << "=" << (value ? value : "(unset)") << "\n";
}

}  // namespace

int info_command(std::span<const std::string> args) {
  if (!args.empty()) return report_error("info", "takes no arguments, got '" + args[0] + "'", kExitUsage);

  std::cout << "upconv " << version() << "\n";
  std::cout << "backends:\n";
  auto cpu = Context::create({.backend = BackendKind::cpu});
  if (!cpu.ok()) return report_error("info", "cpu backend failed: " + cpu.status().message(), kExitFailure);
  std::cout << "  cpu: " << cpu->description() << "\n";

  auto vulkan = Context::create({.backend = BackendKind::vulkan});
  if (vulkan.ok())
    std::cout << "  vulkan: " << vulkan->description() << "\n";
  else
    std::cout << "  vulkan: unavailable (" << vulkan.status().message() << ")\n";

  // What `--backend auto` resolves to (honours UPCONV_BACKEND).
  auto automatic = Context::create({});
  if (automatic.ok())
    std::cout << "  auto -> " << to_string(automatic->backend()) << "\n";
  else
    std::cout << "  auto -> error (" << automatic.status().message() << ")\n";

  std::cout << "cpu threads: " << cpu->num_threads() << "\n";
  std::cout << "environment:\n";
  for (const char* name : {"UPCONV_BACKEND", "UPCONV_DEVICE", "UPCONV_NUM_THREADS", "UPCONV_CPU_ISA"}) print_env(name);
  return kExitOk;
}

}  // namespace upconv::cli

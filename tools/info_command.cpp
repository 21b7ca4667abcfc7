// `upconv info`: what this build and this machine offer. Each backend is probed by creating a
// context for it, so what is printed is exactly what `upconv run --backend X` would get.
#include <cstdlib>
#include <iostream>

#include "tools/cli_args.hpp"
#include "tools/commands.hpp"
#include "upconv/plan.hpp"
#if __has_include(<vulkan/vulkan.h>)
#include "upconv/vulkan.hpp"
#define UPCONV_INFO_VULKAN_DEVICES 1
#endif

namespace upconv::cli {
namespace {

void print_env(const char* name) {
  const char* value = std::getenv(name);
  std::cout << "  " << name << "=" << (value ? value : "(unset)") << "\n";
}

#ifdef UPCONV_INFO_VULKAN_DEVICES
/// Every Vulkan device with the limits and features upconv's dispatch planning uses.
void print_vulkan_devices() {
  auto devices = list_vulkan_devices();
  if (!devices.ok()) {
    std::cout << "vulkan devices: none (" << devices.status().message() << ")\n";
    return;
  }
  std::cout << "vulkan devices: " << devices->size() << "\n";
  for (const VulkanDeviceInfo& d : *devices) {
    std::cout << "  [" << d.index << "] " << d.name << " (" << d.type << ", Vulkan " << d.api_version << ", "
              << d.driver << ")" << (d.usable ? "" : " — unusable: needs Vulkan 1.1 and a compute queue") << "\n"
              << "      workgroup size max " << d.max_workgroup_size[0] << "x" << d.max_workgroup_size[1] << "x"
              << d.max_workgroup_size[2] << ", invocations " << d.max_workgroup_invocations << ", count max "
              << d.max_workgroup_count[0] << "x" << d.max_workgroup_count[1] << "x" << d.max_workgroup_count[2] << "\n"
              << "      shared memory " << d.max_shared_memory_bytes << " B, push constants "
              << d.max_push_constants_bytes << " B, subgroup " << d.subgroup_size
              << (d.subgroup_ballot ? " (ballot: yes)" : " (ballot: no)") << "\n"
              << "      fp16 storage (storageBuffer16BitAccess): " << (d.storage_buffer_16bit ? "yes" : "no")
              << ", conv/shuffle reads: " << (d.texel_reads ? "texel buffers" : "storage buffers")
              << ", conv tiles: " << (d.shared_staging ? "staged in shared memory" : "registers only")
              << ", timestamps: ";
    if (d.timestamp_valid_bits)
      std::cout << d.timestamp_valid_bits << " bits, " << d.timestamp_period_ns << " ns/tick\n";
    else
      std::cout << "none\n";
  }
  std::cout << "  (auto uses the best GPU: discrete > integrated > virtual; a cpu-type device only with"
               " --backend vulkan; UPCONV_DEVICE=<index|name> chooses)\n";
}
#endif

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
#ifdef UPCONV_INFO_VULKAN_DEVICES
  print_vulkan_devices();
#endif
  std::cout << "environment:\n";
  for (const char* name : {"UPCONV_BACKEND", "UPCONV_DEVICE", "UPCONV_NUM_THREADS", "UPCONV_CPU_ISA",
                           "UPCONV_VALIDATION", "UPCONV_VULKAN_LOADER", "UPCONV_VULKAN_READS", "UPCONV_VULKAN_STAGING",
                           "UPCONV_VULKAN_STAGED_LANES", "UPCONV_VULKAN_SPLIT",
                           "UPCONV_VULKAN_STAGE_BATCH", "UPCONV_VULKAN_STAGED_WG", "UPCONV_VULKAN_STAGED_CO",
                           "UPCONV_VULKAN_STAGED_LOOP", "UPCONV_VULKAN_PIPELINE_STATS",
                           "UPCONV_VULKAN_TIMING_REPEATS", "UPCONV_VULKAN_NO_SUBGROUPS"})
    print_env(name);
  return kExitOk;
}

}  // namespace upconv::cli

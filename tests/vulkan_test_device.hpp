// The Vulkan device the Vulkan tests run on. CI runs them on lavapipe (Mesa's CPU driver, device
// name "llvmpipe"), the one Vulkan device it has. On a machine with a GPU,
// UPCONV_TEST_VULKAN_DEVICE names another (a case-insensitive substring of its name, as
// UPCONV_DEVICE takes), so the same tests check the shaders on that GPU's compiler
// (scripts/device-check.sh). Assertions about lavapipe's own properties hold only when it is the
// device under test.
#pragma once

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <string>

namespace upconv::testing {

inline std::string vulkan_test_device() {
  const char* env = std::getenv("UPCONV_TEST_VULKAN_DEVICE");
  return env && *env ? env : "llvmpipe";
}

inline bool vulkan_test_device_is_lavapipe() { return vulkan_test_device() == "llvmpipe"; }

/// Whether a physical device's name is the device under test (case-insensitive substring).
inline bool is_vulkan_test_device(std::string name) {
  std::string want = vulkan_test_device();
  auto lower = [](std::string& s) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  };
  lower(name);
  lower(want);
  return name.find(want) != std::string::npos;
}

}  // namespace upconv::testing

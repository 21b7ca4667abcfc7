#!/usr/bin/env bash
# Packs what scripts/device-check.sh runs on a machine with a GPU into .devrun/: the Release
# build's Vulkan test binaries, examples and `upconv` (they load Vulkan at run time and link
# nothing else outside glibc / libstdc++), the Khronos validation layer of this Debian machine
# (the tests fail on any of its messages, as in CI), and one shapes file of every benchmark layer.
#   [DEVICE_BUNDLE_BASE=path/to/old/upconv] bash scripts/device-bundle.sh   (builds build/ first)
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir="${UPCONV_BUILD_DIR:-build}"
cmake --build "$build_dir" -j"$(nproc)"
rm -rf .devrun && mkdir -p .devrun/bin .devrun/layer
for exe in tests/vulkan_ops_test tests/vulkan_runtime_test tests/vulkan_pipeline_cache_test \
           tests/vulkan_half_test tests/vulkan_exit_test tests/vulkan_adopt_test \
           tests/vulkan_dispatch_plan_test tests/c_api_vulkan_smoke tests/golden_test \
           examples/image_upsample examples/engine_embedding tools/upconv; do
  cp "$build_dir/$exe" .devrun/bin/
  strip .devrun/bin/"$(basename "$exe")"
done
layer_json=/usr/share/vulkan/explicit_layer.d/VkLayer_khronos_validation.json
layer_lib="$(dirname "$(readlink -f /usr/lib/x86_64-linux-gnu/libVkLayer_khronos_validation.so)")/libVkLayer_khronos_validation.so"
cp "$layer_lib" .devrun/layer/
# A library_path with a slash is taken relative to the manifest, so the bundle can live anywhere.
sed 's|"library_path": *"[^"]*"|"library_path": "./libVkLayer_khronos_validation.so"|' "$layer_json" \
  > .devrun/layer/VkLayer_khronos_validation.json
python3 - <<'PY'
import json
shapes = [s for f in ("bench/shapes.json", "bench/memory_shapes.json") for s in json.load(open(f))["shapes"]]
json.dump({"about": "bench/shapes.json and bench/memory_shapes.json together", "shapes": shapes},
          open(".devrun/all_shapes.json", "w"), indent=1)
PY
# A baseline `upconv` to time beside this build (scripts/device-check.sh runs it as base_*).
if [ -n "${DEVICE_BUNDLE_BASE:-}" ]; then mkdir -p .devrun/base && cp "$DEVICE_BUNDLE_BASE" .devrun/base/upconv; fi
pwd > .devrun/source_root  # where the binaries look for tests/data
du -sh .devrun

#!/usr/bin/env bash
# The Vulkan tests and benchmarks on a machine with a real GPU (the workplace's lent device
# machine; never CI, which has lavapipe only). Runs from the repository root with the bundle of
# scripts/device-bundle.sh in .devrun/ and, for the loader, the .deb files of the device tool's
# README in .gl/. Logs and JSON go to $OUT (default /tmp/device-check; six files, within the
# tool's eight); the summary is printed last.
#   UPCONV_TEST_VULKAN_DEVICE=NVIDIA bash scripts/device-check.sh
set -uo pipefail
cd "$(dirname "$0")/.."
out="${OUT:-/tmp/device-check}"
mkdir -p "$out"
bin="$PWD/.devrun/bin"
export UPCONV_TEST_VULKAN_DEVICE="${UPCONV_TEST_VULKAN_DEVICE:-NVIDIA}"
summary="$out/summary.txt"
: > "$summary"
note() { echo "$*" | tee -a "$summary"; }

# Loader: the Debian packages unpack over / (the device tool's README recipe) where none is.
if ! ldconfig -p | grep -q 'libvulkan.so.1 ' && ls .gl/*.deb >/dev/null 2>&1; then
  for f in .gl/*.deb; do dpkg -x "$f" /; done
  ldconfig
fi
icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
if [ -e "$icd" ]; then export VK_DRIVER_FILES="$icd" VK_ICD_FILENAMES="$icd"; fi
export VK_LAYER_PATH="$PWD/.devrun/layer"
# The test binaries read their data from the checkout they were built in.
source_root="$(cat .devrun/source_root)"
if [ ! -e "$source_root/tests/data" ]; then
  mkdir -p "$(dirname "$source_root")" && ln -sfn "$PWD" "$source_root"
fi
note "=== $(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null)"
"$bin/upconv" info 2>&1 | tee -a "$summary"

# One line per test run in the summary; each run's whole output in tests.log.
run_test() {  # <label> <timeout s> <env...> -- <command...>
  local label="$1" limit="$2"; shift 2
  local envs=()
  while [ "$1" != "--" ]; do envs+=("$1"); shift; done
  shift
  local log="$out/t_$label.log" start=$SECONDS status
  env "${envs[@]}" timeout "$limit" "$@" > "$log" 2>&1
  status=$?
  local tail_line
  tail_line="$(grep -E '^\[  (PASSED|FAILED)  \]|tests? ran' "$log" | tr '\n' ' ')"
  echo "$label rc=$status $((SECONDS - start))s $tail_line" >> "$out/results.txt"
}
# DEVICE_CHECK_BENCH_ONLY=1 skips the tests and times only the variants of
# $DEVICE_CHECK_VARIANTS (see below), $DEVICE_CHECK_ROUNDS times over in the same order, on
# bench/shapes.json: interleaved A/B timing when little device time is left.
bench_only="${DEVICE_CHECK_BENCH_ONLY:-0}"
run_tests() {
: > "$out/results.txt"
conv='VulkanOps.Subgroup*:VulkanOps.WeightPath*:VulkanOps.Staging*:VulkanOps.Conv*:VulkanOps.EveryActivation*:VulkanOps.RandomConvSweep*'
tmp_examples="$(mktemp -d)"
(
  run_test ops_default 200 UPCONV_X=1 -- "$bin/vulkan_ops_test"
  run_test golden_default 90 UPCONV_X=1 -- "$bin/golden_test" --gtest_filter='GoldenVulkan.*'
) &
# DEVICE_CHECK_QUICK=1 leaves out the runs of the register path, texel reads, fp16 and the variants
# without subgroups or with the largest staged tiles (for a second call whose changes are all in
# the staged path, when device time is short).
quick="${DEVICE_CHECK_QUICK:-0}"
[ "$quick" = 1 ] || (
  run_test ops_register_path 200 UPCONV_VULKAN_STAGING=none -- "$bin/vulkan_ops_test" --gtest_filter="$conv"
  run_test golden_register_path 90 UPCONV_VULKAN_STAGING=none -- "$bin/golden_test" --gtest_filter='GoldenVulkan.*'
) &
(
  if [ "$quick" != 1 ]; then
    run_test ops_texel_reads 200 UPCONV_VULKAN_READS=texel -- "$bin/vulkan_ops_test" --gtest_filter="$conv:VulkanOps.PixelShuffle*:VulkanOps.RandomCopySweep*"
    run_test ops_staged_big_tiles 200 UPCONV_VULKAN_STAGED_LANES=0 -- "$bin/vulkan_ops_test" --gtest_filter="$conv"
  fi
  run_test ops_split 200 UPCONV_VULKAN_SPLIT=auto UPCONV_VULKAN_STAGED_LANES=1000000000000 -- "$bin/vulkan_ops_test" --gtest_filter="$conv"
  run_test ops_split_first 200 UPCONV_VULKAN_SPLIT=first UPCONV_VULKAN_STAGED_LANES=1024 -- "$bin/vulkan_ops_test" --gtest_filter="$conv"
  run_test ops_wide_workgroups 200 UPCONV_VULKAN_STAGED_WG=256 UPCONV_VULKAN_STAGE_BATCH=3 -- "$bin/vulkan_ops_test" --gtest_filter="$conv"
  # Staging in rounds (UPCONV_VULKAN_STAGED_LOOP; the default prefetches), and prefetching with 4
  # channel tiles first and fewer lanes.
  run_test ops_prefetch_co4 200 UPCONV_VULKAN_STAGED_CO=4 UPCONV_VULKAN_STAGED_LANES=16384 -- "$bin/vulkan_ops_test" --gtest_filter="$conv"
  run_test golden_rounds 90 UPCONV_VULKAN_STAGED_LOOP=rounds UPCONV_VULKAN_STAGED_CO=1 -- "$bin/golden_test" --gtest_filter='GoldenVulkan.*'
  run_test ops_rounds 200 UPCONV_VULKAN_STAGED_LOOP=rounds -- "$bin/vulkan_ops_test" --gtest_filter="$conv"
  [ "$quick" = 1 ] || run_test ops_no_subgroups 200 UPCONV_VULKAN_NO_SUBGROUPS=1 UPCONV_TEST_EXPECT_NO_SUBGROUPS=1 -- "$bin/vulkan_ops_test" --gtest_filter="$conv"
) &
(
  # VulkanDeviceChoice tests need lavapipe beside the GPU; the device has the GPU alone.
  run_test runtime 200 UPCONV_X=1 -- "$bin/vulkan_runtime_test" --gtest_filter='-VulkanDeviceChoice.*'
  run_test pipeline_cache 120 UPCONV_X=1 -- "$bin/vulkan_pipeline_cache_test"
  run_test half 120 UPCONV_X=1 -- "$bin/vulkan_half_test"
  run_test exit 120 UPCONV_X=1 -- "$bin/vulkan_exit_test"
  run_test adopt 120 UPCONV_X=1 -- "$bin/vulkan_adopt_test"
  run_test dispatch_plan 120 UPCONV_X=1 -- "$bin/vulkan_dispatch_plan_test"
  run_test c_api 120 UPCONV_X=1 -- "$bin/c_api_vulkan_smoke"
  run_test engine_embedding 120 UPCONV_DEVICE="$UPCONV_TEST_VULKAN_DEVICE" UPCONV_VALIDATION=1 -- "$bin/engine_embedding"
  (cd "$tmp_examples" && run_test image_upsample 120 UPCONV_DEVICE="$UPCONV_TEST_VULKAN_DEVICE" UPCONV_VALIDATION=1 -- \
     bash -c "'$bin/image_upsample' --backend cpu --factor 2 --output x2.ppm && '$bin/image_upsample' --backend vulkan --factor 3 --input x2.ppm --output vk.ppm")
) &
wait
tee -a "$summary" < "$out/results.txt"
rm -f "$out/results.txt"
for f in "$out"/t_*.log; do echo "##### $f"; cat "$f"; done > "$out/tests.log"
rm -f "$out"/t_*.log
grep -E '^\[  FAILED  \]|Failure|error:' "$out/tests.log" | head -n 40 | tee -a "$summary"
}
[ "$bench_only" = 1 ] || run_tests

# Benchmarks: GPU timestamps, every result checked against the CPU reference by `upconv bench`.
# A first pass is thrown away: the GPU's clocks ramp up from idle during it. Variants beside the
# default: fp16, the register path, without the split over input channels, `upconv` of .devrun/base/ (a
# baseline build, if bundled),
# UPCONV_VULKAN_STAGED_LANES=N for each N in $DEVICE_CHECK_LANES, and each entry
# label:VAR=value[,VAR=value...] of $DEVICE_CHECK_VARIANTS (e.g. "batch1:UPCONV_VULKAN_STAGE_BATCH=1");
# the default once more last, for the drift over the run.
shapes=.devrun/all_shapes.json
bench() {  # <label> <upconv> <env...> -- <args...>
  local label="$1" exe="$2"; shift 2
  local envs=()
  while [ "$1" != "--" ]; do envs+=("$1"); shift; done
  shift
  env "${envs[@]}" timeout 90 "$exe" bench --backend vulkan --shapes "$shapes" --json "$out/vk_$label.json" "$@" \
    >> "$out/bench.txt" 2>&1
  echo "bench $label rc=$?" | tee -a "$summary"
}
: > "$out/bench.txt"
bench warmup "$bin/upconv" UPCONV_X=1 -- --repetitions 3
rm -f "$out/vk_warmup.json"
if [ "$bench_only" = 1 ]; then
  shapes=bench/shapes.json
  for round in $(seq "${DEVICE_CHECK_ROUNDS:-1}"); do
    for variant in ${DEVICE_CHECK_VARIANTS:-}; do
      IFS=, read -r -a variant_env <<< "${variant#*:}"
      bench "${variant%%:*}_$round" "$bin/upconv" UPCONV_X=1 "${variant_env[@]}" --
    done
  done
  python3 - "$out" <<'PY' | tee -a "$summary"
import glob, json, os, sys
out = sys.argv[1]
runs = {}
for path in sorted(glob.glob(os.path.join(out, "vk_*.json")), key=os.path.getmtime):
    runs[os.path.basename(path)[3:-5]] = {r["name"]: r["median_ms"] for r in json.load(open(path))["results"]}
    os.remove(path)
json.dump(runs, open(os.path.join(out, "vk_all.json"), "w"), indent=1)
names = list(next(iter(runs.values()), {}))
print(f"{'layer':12s}" + "".join(f" {l[:10]:>10s}" for l in runs))
for n in names:
    print(f"{n:12s}" + "".join(f" {runs[l].get(n, float('nan')):10.4f}" for l in runs))
PY
  exit 0
fi
bench fp32 "$bin/upconv" UPCONV_X=1 --
if [ -x .devrun/base/upconv ]; then bench base_fp32 .devrun/base/upconv UPCONV_X=1 --; fi
[ "$quick" = 1 ] || bench fp16 "$bin/upconv" UPCONV_X=1 -- --precision fp16
# `upconv bench` records each run's dispatches 20 times back to back on a GPU (the clocks of
# steady work); one dispatch per run, between the run's host transfers, for comparison:
bench fp32_single "$bin/upconv" UPCONV_X=1 -- --dispatch-repeats 1
[ "$quick" = 1 ] || bench fp32_register "$bin/upconv" UPCONV_VULKAN_STAGING=none --
bench fp32_nosplit "$bin/upconv" UPCONV_VULKAN_SPLIT=none --
for lanes in ${DEVICE_CHECK_LANES:-}; do
  bench "fp32_lanes$lanes" "$bin/upconv" UPCONV_VULKAN_STAGED_LANES="$lanes" --
done
for variant in ${DEVICE_CHECK_VARIANTS:-}; do
  IFS=, read -r -a variant_env <<< "${variant#*:}"
  bench "fp32_${variant%%:*}" "$bin/upconv" "${variant_env[@]}" --
done
if [ -x .devrun/base/upconv ]; then bench base_fp32_again .devrun/base/upconv UPCONV_X=1 --; fi
bench fp32_again "$bin/upconv" UPCONV_X=1 --
# The driver's statistics of every pipeline of the bench layers (registers, spills, ...), where
# it offers VK_KHR_pipeline_executable_properties.
UPCONV_VULKAN_PIPELINE_STATS=1 timeout 90 "$bin/upconv" bench --backend vulkan --shapes "$shapes" --repetitions 1 \
  > /dev/null 2> "$out/pipeline_stats.txt"
echo "pipeline stats: $(grep -c ' | ' "$out/pipeline_stats.txt") lines" | tee -a "$summary"
if [ "${DEVICE_CHECK_TORCH:-1}" = 1 ] && python3 -c 'import torch; assert torch.cuda.is_available()' 2>/dev/null; then
  timeout 90 python3 bench/torch_peer.py --json "$out/torch.json" bench/shapes.json bench/memory_shapes.json \
    >> "$out/bench.txt" 2>&1
  echo "torch peer rc=$?" | tee -a "$summary"
fi
# One JSON of every variant (the tool brings back at most eight files) and the table, last.
python3 - "$out" <<'PY' | tee -a "$summary"
import glob, json, os, sys
out = sys.argv[1]
runs = {}
for path in sorted(glob.glob(os.path.join(out, "vk_*.json"))):
    label = os.path.basename(path)[3:-5]
    runs[label] = {r["name"]: r for r in json.load(open(path))["results"]}
    os.remove(path)
torch_path = os.path.join(out, "torch.json")
if os.path.exists(torch_path):
    for r in json.load(open(torch_path))["results"]:
        runs.setdefault("torch_" + r["precision"], {})[r["name"]] = r
json.dump(runs, open(os.path.join(out, "vk_all.json"), "w"), indent=1)
labels = [l for l in ("fp32", "fp32_single", "fp32_again", "base_fp32", "base_fp32_again", "fp32_register", "fp32_nosplit") if l in runs]
known = {"fp32", "fp32_single", "fp32_again", "base_fp32", "base_fp32_again", "fp32_register", "fp32_nosplit", "fp16"}
labels += [l for l in runs if l.startswith("fp32_") and l not in known] + [l for l in ("fp16", "torch_fp32", "torch_fp16") if l in runs]
names = list(runs.get("fp32", {}))
print("median ms, " + " | ".join(labels))
print(f"{'layer':12s}" + "".join(f" {l[:12]:>12s}" for l in labels))
for n in names:
    cells = [f"{runs[l][n]['median_ms']:12.4f}" if n in runs[l] else f"{'-':>12s}" for l in labels]
    print(f"{n:12s}" + " " + " ".join(cells))
PY

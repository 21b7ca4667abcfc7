#!/usr/bin/env bash
# The main job: builds upconv (Release), shows what this machine offers (`upconv info`), runs
# demo operators on generated data, then benchmarks the layers of bench/shapes.json: upconv's
# CPU backend (1 and 2 threads) beside oneDNN in one process (the README's table), and the
# Vulkan backend (lavapipe here, or the GPU). Installs missing Debian packages first.
#   bash scripts/main-job.sh        build dir: build/ (~6 minutes after the build on 2 cores)
#   UPCONV_QUICK=1 bash scripts/main-job.sh   no oneDNN side-by-side (upconv's own tables only)
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh
build_dir="${UPCONV_BUILD_DIR:-build}"

cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release
cmake --build "$build_dir" -j"$(nproc)" --target upconv_cli upconv_bench
upconv="$build_dir/tools/upconv"

echo "== upconv info"
"$upconv" info

echo "== demo: 2x transposed-conv upsampling (DCGAN-style, kernel 4, stride 2, padding 1)"
demo_dir="$build_dir/demo"
"$upconv" make-demo-data "$demo_dir"
"$upconv" run conv_transpose2d --input "$demo_dir/x.npy" --weight "$demo_dir/w.npy" --bias "$demo_dir/b.npy" \
  --stride 2 --padding 1 --activation relu --output "$demo_dir/y.npy"
"$upconv" run pixel_shuffle --input "$demo_dir/x.npy" --factor 2 --output "$demo_dir/y_shuffled.npy"

echo "== benchmark: upconv CPU backend (every result verified against the reference first)"
"$upconv" bench --backend cpu --threads 1
"$upconv" bench --backend cpu --threads 2 --json "$build_dir/bench_cpu.json"

echo "== benchmark: upconv Vulkan backend (GPU timestamps)"
if grep -q "^vulkan devices: [1-9]" <<<"$("$upconv" info)"; then
  "$upconv" bench --backend vulkan --json "$build_dir/bench_vulkan.json"
else
  echo "(no Vulkan device on this machine)"
fi

if [ -z "${UPCONV_QUICK:-}" ] && [ -x "$build_dir/bench/upconv_bench" ]; then
  echo "== benchmark: upconv vs oneDNN, same process, same layers (medians of 5; ratio > 1: upconv faster)"
  "$build_dir/bench/upconv_bench" --benchmark_filter='^(machine|upconv_cpu|onednn)' --benchmark_repetitions=5 \
    --benchmark_report_aggregates_only=true --benchmark_out="$build_dir/bench_peers.json" \
    --benchmark_out_format=json >/dev/null
  python3 bench/make_table.py "$build_dir/bench_peers.json"
fi

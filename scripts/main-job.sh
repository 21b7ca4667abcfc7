#!/usr/bin/env bash
# The main job: builds upconv (Release), shows what this machine offers (`upconv info`) and runs
# one demo operator on generated data. Installs missing Debian packages first.
#   bash scripts/main-job.sh        build dir: build/
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh
build_dir="${UPCONV_BUILD_DIR:-build}"

cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release
cmake --build "$build_dir" -j"$(nproc)" --target upconv_cli
upconv="$build_dir/tools/upconv"

echo "== upconv info"
"$upconv" info

echo "== demo: 2x transposed-conv upsampling (DCGAN-style, kernel 4, stride 2, padding 1)"
demo_dir="$build_dir/demo"
"$upconv" make-demo-data "$demo_dir"
"$upconv" run conv_transpose2d --input "$demo_dir/x.npy" --weight "$demo_dir/w.npy" --bias "$demo_dir/b.npy" \
  --stride 2 --padding 1 --activation relu --output "$demo_dir/y.npy"
"$upconv" run pixel_shuffle --input "$demo_dir/x.npy" --factor 2 --output "$demo_dir/y_shuffled.npy"

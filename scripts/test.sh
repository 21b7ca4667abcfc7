#!/usr/bin/env bash
# Builds upconv (Release) and runs every test with ctest. Installs missing Debian packages first.
#   bash scripts/test.sh            build dir: build/
#   UPCONV_BUILD_DIR=dir bash scripts/test.sh
#   UPCONV_CTEST_JUNIT=file.xml bash scripts/test.sh   also write ctest's JUnit report there
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh
build_dir="${UPCONV_BUILD_DIR:-build}"
jobs="$(nproc)"

cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release
cmake --build "$build_dir" -j"$jobs"
junit=()
if [ -n "${UPCONV_CTEST_JUNIT:-}" ]; then junit=(--output-junit "$UPCONV_CTEST_JUNIT"); fi
ctest --test-dir "$build_dir" --output-on-failure -j"$jobs" --timeout 600 "${junit[@]}"

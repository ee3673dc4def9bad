#!/bin/sh
# Builds peapod and runs every test: unit and integration tests in a normal
# build, then the unit tests again under AddressSanitizer + UBSan.
# Needs root (integration tests create namespaces, mounts, cgroups).
set -eu
cd "$(dirname "$0")/.."
JOBS=${JOBS:-$(nproc)}
hack/setup.sh

echo "== build (RelWithDebInfo)"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j "$JOBS"

echo "== unit tests"
ctest --test-dir build -L unit --output-on-failure -j "$JOBS"

echo "== integration tests"
ctest --test-dir build -L integration --output-on-failure

echo "== unit tests under ASan/UBSan"
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DPEAPOD_SANITIZE=ON >/dev/null
# Only the unit test binaries (and what they link) are built here: the
# sanitizer build of the servers' generated protobuf code is not needed.
UNIT_TARGETS=$(ctest --test-dir build -L unit -N | sed -n 's/^ *Test *#[0-9]*: //p')
# shellcheck disable=SC2086
cmake --build build-asan -j "$JOBS" --target $UNIT_TARGETS
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
  ctest --test-dir build-asan -L unit --output-on-failure -j "$JOBS"
echo "== all tests passed"

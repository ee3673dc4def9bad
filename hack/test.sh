#!/bin/sh
# Builds peapod and runs every test: unit and integration tests in a normal
# build, then the unit tests again under AddressSanitizer + UBSan.
# Needs root (integration tests create namespaces, mounts, cgroups).
set -eu
cd "$(dirname "$0")/.."
JOBS=${JOBS:-$(nproc)}
hack/setup.sh

# The test builds carry no full debug info: it is most of the compile time of
# the CRI protobuf-heavy code and the tests do not need it (-g1 keeps line
# tables for sanitizer stack traces). Release here means -O2, as RelWithDebInfo.
echo "== build (Release, -O2)"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_FLAGS_RELEASE="-O2 -DNDEBUG" \
  -DCMAKE_C_FLAGS_RELEASE="-O2 -DNDEBUG" >/dev/null
cmake --build build -j "$JOBS"

echo "== unit tests"
ctest --test-dir build -L unit --output-on-failure -j "$JOBS"

echo "== integration tests"
ctest --test-dir build -L integration --output-on-failure

echo "== unit tests under ASan/UBSan"
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DPEAPOD_SANITIZE=ON \
  -DCMAKE_CXX_FLAGS_DEBUG="-O0 -g1" -DCMAKE_C_FLAGS_DEBUG="-O0 -g1" >/dev/null
# Only the unit test binaries (and what they link) are built here: the
# sanitizer build of the servers' generated protobuf code is not needed.
UNIT_TARGETS=$(ctest --test-dir build -L unit -N | sed -n 's/^ *Test *#[0-9]*: //p')
# shellcheck disable=SC2086
cmake --build build-asan -j "$JOBS" --target $UNIT_TARGETS
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
  ctest --test-dir build-asan -L unit --output-on-failure -j "$JOBS"
echo "== all tests passed"

#!/bin/sh
# Builds peapod and runs every test: the integration tests against an
# optimised build, the unit tests in a build with AddressSanitizer + UBSan.
# Each build makes only what it runs (CI has a 20-minute budget on 2 cores).
# Needs root (integration tests create namespaces, mounts, cgroups).
set -eu
cd "$(dirname "$0")/.."
JOBS=${JOBS:-$(nproc)}
hack/setup.sh

# The optimised build carries no debug info: it is most of the compile time
# of the CRI protobuf-heavy code and the tests do not need it. Both builds
# are unity builds (sources compiled in batches: the headers are most of
# the work), which the project keeps compiling; day-to-day builds are not.
echo "== build (Release, -O2; binaries and integration tests)"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_FLAGS_RELEASE="-O2 -DNDEBUG" \
  -DCMAKE_C_FLAGS_RELEASE="-O2 -DNDEBUG" -DPEAPOD_UNIT_TESTS=OFF \
  -DPEAPOD_INTEGRATION_TESTS=ON -DCMAKE_UNITY_BUILD=ON >/dev/null
cmake --build build -j "$JOBS"

echo "== integration tests"
ctest --test-dir build -L integration --output-on-failure

# -g1 keeps line tables for the sanitizers' stack traces.
echo "== unit tests under ASan/UBSan"
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DPEAPOD_SANITIZE=ON \
  -DCMAKE_CXX_FLAGS_DEBUG="-O0 -g1" -DCMAKE_C_FLAGS_DEBUG="-O0 -g1" -DPEAPOD_UNIT_TESTS=ON \
  -DPEAPOD_INTEGRATION_TESTS=OFF -DCMAKE_UNITY_BUILD=ON >/dev/null
# Only the unit test binaries and what they link: not the daemons.
UNIT_TARGETS=$(ctest --test-dir build-asan -L unit -N | sed -n 's/^ *Test *#[0-9]*: //p')
# shellcheck disable=SC2086
cmake --build build-asan -j "$JOBS" --target $UNIT_TARGETS
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
  ctest --test-dir build-asan -L unit --output-on-failure -j "$JOBS"
echo "== all tests passed"

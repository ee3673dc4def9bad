#!/bin/bash
# Runs peapod's libFuzzer targets: builds them with clang (PEAPOD_FUZZ) in
# build-fuzz/, then fuzzes each for SECONDS (default 60), starting from the
# saved inputs in its fuzz_corpus/<name>/ (never written to; what a run
# learns stays in a temp dir). A crash stops with the input saved as
# crash-* in the current directory: fix it, then add that input to the
# target's fuzz_corpus/ so the unit tests replay it in every build.
#
#   hack/fuzz/run.sh [-t SECONDS] [TARGET...]    (BUILD=<dir> instead of build-fuzz/)
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds=60
build=${BUILD:-build-fuzz}
if [ "${1:-}" = -t ]; then seconds=$2; shift 2; fi
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  mapfile -t targets < <(grep -rhoE 'peapod_fuzz\(\w+' --include=CMakeLists.txt oci cri shim | sed 's/peapod_fuzz(//')
fi
# libFuzzer comes with clang (Debian's clang: its compiler-rt has it).
command -v clang++ >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -q clang >/dev/null
CC=clang CXX=clang++ cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g" -DPEAPOD_FUZZ=ON -DPEAPOD_UNIT_TESTS=OFF \
  -DPEAPOD_INTEGRATION_TESTS=OFF >/dev/null
cmake --build "$build" --target "${targets[@]}"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for t in "${targets[@]}"; do
  bin=$(find "$build/" -type f -name "$t" -perm -u+x | head -1)
  seeds=$(find oci cri shim -type d -path "*/fuzz_corpus/$t" | head -1)
  mkdir -p "$work/$t"
  echo "== $t ($seconds s)"
  rc=0
  "$bin" -max_total_time="$seconds" -print_final_stats=1 "$work/$t" "$seeds" >"$work/$t.log" 2>&1 ||
    rc=$?
  grep -E '^(stat::number_of_executed_units|stat::new_units_added|#[0-9]+ *DONE)' "$work/$t.log" || true
  if [ $rc -ne 0 ]; then
    tail -40 "$work/$t.log"
    echo "$t: failed (exit $rc); the input is saved in $PWD as crash-* or leak-*"
    exit 1
  fi
done

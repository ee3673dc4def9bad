#!/bin/sh
# The README's first command: installs what is missing, builds peapod, makes
# a demo bundle and runs a demo container with `pea`, printing what the
# container sees from inside. Exits 0 when the container ran.
#
#   sudo hack/up.sh
set -eu
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "up.sh: run as root (containers need namespaces, mounts, cgroups)" >&2; exit 1; }
JOBS=${JOBS:-$(nproc)}
BUILD_DIR=${BUILD_DIR:-build}

echo "== setup"
hack/setup.sh

echo "== build"
cmake -S . -B "$BUILD_DIR" -G Ninja >/dev/null
cmake --build "$BUILD_DIR" -j "$JOBS" --target pea peapod-probe

demo=${PEAPOD_DEMO_DIR:-/tmp/peapod-demo}
echo "== demo bundle in $demo"
rm -rf "$demo"
hack/make-bundle.sh --probe "$BUILD_DIR/oci/probe/peapod-probe" "$demo" \
  sh -c 'echo "hello from a pea: pid $$ on $(hostname), net: $(ls /sys/class/net | tr "\n" " ")"; peapod-probe | head -c 200; echo'

echo "== pea run demo"
root=$(mktemp -d /tmp/peapod-demo-root-XXXXXX)
trap '"$BUILD_DIR/oci/pea/pea" --root "$root" delete --force demo >/dev/null 2>&1 || true; rm -rf "$root"' EXIT
"$BUILD_DIR/oci/pea/pea" --root "$root" run --bundle "$demo" demo
echo "== peapod is up: $BUILD_DIR/oci/pea/pea is a runc-compatible runtime (try: $BUILD_DIR/oci/pea/pea --help)"

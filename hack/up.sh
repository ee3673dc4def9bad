#!/bin/sh
# The README's first command: installs what is missing, builds peapod, makes
# a demo bundle and runs a demo container with `pea`, printing what the
# container sees from inside, then starts peapod's main job, the CRI server
# peapodd, with its built-in defaults (no config file: socket
# /run/peapod/peapod.sock, data /var/lib/peapod, state /run/peapod) and runs
# a demo pod through it with peactl. Exits 0 when both worked and peapodd is
# serving (log: /var/log/peapodd.log; stop it with kill $(cat /run/peapod/peapodd.pid)).
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
cmake --build "$BUILD_DIR" -j "$JOBS" --target pea peapod-probe peapodd peactl \
  containerd-shim-peapod-v2 peapod-infra
BIN=$(cd "$BUILD_DIR" && pwd)

demo=${PEAPOD_DEMO_DIR:-/tmp/peapod-demo}
echo "== demo bundle in $demo"
rm -rf "$demo"
hack/make-bundle.sh --probe "$BUILD_DIR/oci/probe/peapod-probe" "$demo" \
  sh -c 'echo "hello from a pea: pid $$ on $(hostname), net: $(ls /sys/class/net | tr "\n" " ")"; peapod-probe | head -c 200; echo'

echo "== pea run demo"
root=$(mktemp -d /tmp/peapod-demo-root-XXXXXX)
trap '"$BUILD_DIR/oci/pea/pea" --root "$root" delete --force demo >/dev/null 2>&1 || true; rm -rf "$root"' EXIT
"$BUILD_DIR/oci/pea/pea" --root "$root" run --bundle "$demo" demo

echo "== peapodd (built-in defaults)"
sock=/run/peapod/peapod.sock
pidfile=/run/peapod/peapodd.pid
peactl="$BIN/cri/peactl/peactl -r unix://$sock"
# Replace the peapodd an earlier up.sh started (its pods keep running: the
# new one reconnects to their shims).
if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
  kill "$(cat "$pidfile")"
  for _ in $(seq 100); do kill -0 "$(cat "$pidfile")" 2>/dev/null || break; sleep 0.1; done
fi
if $peactl version >/dev/null 2>&1; then
  echo "up.sh: another peapodd already serves $sock; leaving it running" >&2
else
  mkdir -p /var/log
  install -d -m 0700 /run/peapod && chmod 0700 /run/peapod  # peapodd insists on 0700
  setsid "$BIN/cri/server/peapodd" </dev/null >>/var/log/peapodd.log 2>&1 &
  echo $! >"$pidfile"
  for _ in $(seq 100); do $peactl version >/dev/null 2>&1 && break; sleep 0.1; done
  $peactl version >/dev/null || { echo "up.sh: peapodd did not come up; see /var/log/peapodd.log" >&2; tail -5 /var/log/peapodd.log >&2; exit 1; }
fi
$peactl version

echo "== demo pod through peapodd"
pod=$(mktemp /tmp/peapod-demo-pod-XXXXXX.json)
trap '"$BUILD_DIR/oci/pea/pea" --root "$root" delete --force demo >/dev/null 2>&1 || true; rm -rf "$root" "$pod"' EXIT
echo '{"metadata":{"name":"up-demo","namespace":"default","uid":"up-demo-'$$'"},"hostname":"up-demo","linux":{"security_context":{"namespace_options":{"pid":0}}}}' >"$pod"
id=$($peactl runp "$pod")
$peactl pods --id "$id"
$peactl rmp "$id" >/dev/null  # RemovePodSandbox stops the pod first
echo "== peapod is up: peapodd serves CRI on unix://$sock (pid $(cat "$pidfile" 2>/dev/null || echo '?'), log /var/log/peapodd.log)"
echo "   try: $BIN/cri/peactl/peactl -r unix://$sock pods; $BUILD_DIR/oci/pea/pea --help"

#!/bin/sh
# Benchmarks containerd-shim-peapod-v2 against containerd's runc shim, side by
# side on a private containerd: wall time of `ctr run --rm <busybox> true`
# (N runs each, interleaved) and the shim's memory with 1 and 5 containers.
# Usage: hack/bench/shim.sh [BUILD_DIR] [N]   (root; needs containerd, ctr, runc)
# The peapod shim runs containers with its in-process launcher unless
# PEAPOD_SHIM_RUNTIME names a runc-compatible binary (exec mode), e.g.
#   PEAPOD_SHIM_RUNTIME=runc hack/bench/shim.sh
set -eu
src=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "${1:-$src/build}" && pwd)
n=${2:-20}
shim=$build/shim/containerd-shim-peapod-v2
[ -x "$shim" ] || { echo "build $shim first" >&2; exit 1; }
dir=$(mktemp -d /tmp/peapod-shim-bench-XXXXXX)
ns=peapod-bench-$$  # the containerd namespace, also the containers' cgroup parent
cpid=""
cleanup() {
  for id in $(ctr_ task ls -q 2>/dev/null); do ctr_ task kill -s KILL "$id" >/dev/null 2>&1 || true; done
  sleep 0.5
  for id in $(ctr_ containers ls -q 2>/dev/null); do
    ctr_ task rm -f "$id" >/dev/null 2>&1 || true
    ctr_ containers rm "$id" >/dev/null 2>&1 || true
  done
  [ -n "$cpid" ] && kill "$cpid" 2>/dev/null && wait "$cpid" 2>/dev/null || true
  grep -o " $dir[^ ]*" /proc/mounts | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
  for d in /sys/fs/cgroup/*/"$ns" /sys/fs/cgroup/unified/"$ns"; do
    [ -d "$d" ] && rmdir "$d" 2>/dev/null || true
  done
  # containerd may still be finishing writes: retry
  for _ in 1 2 3 4 5; do rm -rf "$dir" 2>/dev/null && break; sleep 0.5; done
}
trap cleanup EXIT
ctr_() { ctr --address "$dir/c.sock" -n "$ns" "$@"; }

mkdir -p "$dir/bin"
ln -s "$shim" "$dir/bin/containerd-shim-peapod-v2"
cat > "$dir/config.toml" <<TOML
version = 2
root = "$dir/root"
state = "$dir/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$dir/c.sock"
[ttrpc]
  address = "$dir/c.sock.ttrpc"
TOML
PATH="$dir/bin:$PATH" PEAPOD_SHIM_SOCKET_DIR="$dir/s" PEAPOD_SHIM_RUNTIME_ROOT="$dir/runc" \
  containerd --config "$dir/config.toml" >"$dir/containerd.log" 2>&1 &
cpid=$!
for _ in $(seq 50); do ctr_ version >/dev/null 2>&1 && break; sleep 0.1; done
"$src/shim/testdata/make_busybox_image.sh" "$dir/bb.tar"
ctr_ images import "$dir/bb.tar" >/dev/null
img=docker.io/peapod/busybox:latest

now_ms() { echo $(($(date +%s%N) / 1000000)); }
tp=0
tr=0
for i in $(seq "$n"); do
  t0=$(now_ms); ctr_ run --rm --runtime io.containerd.peapod.v2 "$img" "p$i" true; t1=$(now_ms)
  [ -n "${VERBOSE:-}" ] && echo "peapod run $i: $((t1 - t0)) ms" >&2
  ctr_ run --rm --runtime io.containerd.runc.v2 "$img" "r$i" true; t2=$(now_ms)
  tp=$((tp + t1 - t0))
  tr=$((tr + t2 - t1))
done
echo "peapod shim runtime: ${PEAPOD_SHIM_RUNTIME:-in-process launcher}"
echo "ctr run --rm true, mean of $n: peapod $((tp / n)) ms, runc-v2 $((tr / n)) ms," \
  "ratio peapod/runc $(awk "BEGIN{printf \"%.2f\", $tp/$tr}")"

# Memory of one shim serving 1, then 5 containers (one sandbox group).
# sync first: a freshly built binary's pages are dirty in the page cache and
# would count as private dirty until written back.
sync
# Private dirty is what each more pod really costs: clean file pages (the
# binary, libprotobuf, libstdc++) are shared by every shim on the host.
mem() {  # pid -> "RSS x KiB, PSS y KiB, private dirty z KiB"
  awk '/^Rss:/{r=$2} /^Pss:/{p=$2} /^Private_Dirty:/{d=$2}
       END{printf "RSS %d KiB, PSS %d KiB, private dirty %d KiB", r, p, d}' "/proc/$1/smaps_rollup"
}
for rt in peapod runc; do
  for i in 1 2 3 4 5; do
    ctr_ run -d --runtime "io.containerd.$rt.v2" --label io.kubernetes.cri.sandbox-id="pod-$rt" \
      "$img" "$rt-m$i" sleep 1000
    if [ "$i" = 1 ] || [ "$i" = 5 ]; then
      sleep 0.5
      pid=$(pgrep -f "containerd-shim-$rt-v2 .*-address $dir/c.sock" | head -1)
      # None under hack/layout/profile.sh (the shim runs as covtrace's child).
      [ -n "$pid" ] || continue
      echo "$rt shim with $i container(s): $(mem "$pid")"
      rss=$(awk '/^Rss:/{print $2}' "/proc/$pid/smaps_rollup")
      if [ "$rt" = peapod ] && [ "$rss" -gt 2048 ]; then
        echo "  over issue 4's 2 MiB: is shim/hot-functions.txt stale? (hack/layout/profile.sh)"
      fi
    fi
  done
done

#!/bin/bash
# Launcher benchmark: `pea run` vs `runc run` vs `crun run` of /bin/true in
# the same busybox bundle, interleaved (the order rotates every round so no
# runtime always runs right after another), N rounds. Prints per-runtime
# median wall time (raw, and net of the harness), minimum, median peak RSS,
# ratios, and a verdict against issue 2's targets: pea median <= crun's and
# <= 0.3x runc's, pea peak RSS <= crun's (judged on net medians).
#
#   hack/bench/launcher.sh [-n N] [--pea PATH]
#
# Each round times every runtime run straight from this shell (wall time
# taken in-process with $EPOCHREALTIME, no date fork), then runs each again
# under `/usr/bin/time -f %M` for its peak RSS: the largest max RSS of the
# runtime and every process it waited for. Separate runs keep the fork+exec
# of /usr/bin/time out of the wall times. The harness itself (row "true": this
# shell running /bin/true) is timed in the same rounds; "net" is a runtime's
# median minus the harness median.
#
# crun refuses this host's hybrid cgroups (a controller-less cgroup2 mount at
# /sys/fs/cgroup/unified). It then runs in one private mount namespace with
# that mount removed, entered per launch with `nsenter -m`; its harness is
# row "nsenter" (nsenter running /bin/true), subtracted from crun's
# wall times for "net". RSS is measured inside nsenter, so it is crun's own.
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
n=20
pea="$here/build/oci/pea/pea"
while [ $# -gt 0 ]; do
  case "$1" in
    -n) n=$2; shift 2 ;;
    --pea) pea=$2; shift 2 ;;
    *) echo "usage: $0 [-n N] [--pea PATH]" >&2; exit 2 ;;
  esac
done
[ "$(id -u)" = 0 ] || { echo "launcher.sh: needs root" >&2; exit 1; }
[ -x "$pea" ] || { echo "launcher.sh: $pea not built (cmake --build build)" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "launcher.sh: /usr/bin/time missing (hack/setup.sh)" >&2; exit 1; }
for tool in runc crun; do
  command -v "$tool" >/dev/null || { echo "launcher.sh: $tool missing (hack/setup.sh)" >&2; exit 1; }
done

work=$(mktemp -d /tmp/peapod-bench-XXXXXX)
holder=""
cleanup() {
  if [ -n "$holder" ]; then kill "$holder" 2>/dev/null || true; wait "$holder" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
"$here/hack/make-bundle.sh" --probe /nonexistent "$work/bundle" /bin/true >/dev/null
mkdir -p "$work/root-pea" "$work/root-runc" "$work/root-crun"

hybrid=no
if grep -q " /sys/fs/cgroup/unified " /proc/self/mountinfo; then hybrid=yes; fi
nsenter=()
if [ "$hybrid" = yes ]; then
  # A process holding a private mount namespace without the cgroup2 mount.
  unshare -m --propagation private sh -c \
    'umount /sys/fs/cgroup/unified && exec sleep 86400' </dev/null >/dev/null 2>&1 &
  holder=$!
  for _ in $(seq 100); do
    grep -q " /sys/fs/cgroup/unified " "/proc/$holder/mountinfo" 2>/dev/null || break
    sleep 0.05
  done
  if ! kill -0 "$holder" 2>/dev/null ||
    grep -q " /sys/fs/cgroup/unified " "/proc/$holder/mountinfo"; then
    echo "launcher.sh: could not unmount /sys/fs/cgroup/unified for crun" >&2
    exit 1
  fi
  nsenter=(nsenter -t "$holder" -m)
fi


# launch <name> <tag> time|rss: one run. "time" runs the runtime straight
# from this shell and appends its wall time (us) to $work/<name>.time; "rss"
# runs it under /usr/bin/time and appends its peak RSS (KiB) to
# $work/<name>.rss. The two kinds of rounds are separate so that the fork and
# exec of /usr/bin/time (~3 ms here) is not in the wall times.
launch() {
  local name=$1 id="bench-$1-$2" mode=$3 cmd timer=()
  [ "$mode" = rss ] && timer=(/usr/bin/time -f %M -o "$work/rss")
  case "$name" in
    pea) cmd=("${timer[@]}" "$pea" --root "$work/root-pea" run -b "$work/bundle" "$id") ;;
    runc) cmd=("${timer[@]}" runc --root "$work/root-runc" run -b "$work/bundle" "$id") ;;
    crun) cmd=("${nsenter[@]}" "${timer[@]}" crun --root "$work/root-crun" run -b "$work/bundle" "$id") ;;
    true) cmd=("${timer[@]}" /bin/true) ;;
    nsenter) cmd=("${nsenter[@]}" "${timer[@]}" /bin/true) ;;
  esac
  # The wall clock in microseconds, read without forking.
  local start=${EPOCHREALTIME/./} end
  "${cmd[@]}" >/dev/null 2>"$work/err" </dev/null || {
    echo "launcher.sh: $name failed: $(cat "$work/err")" >&2; exit 1; }
  end=${EPOCHREALTIME/./}
  if [ "$mode" = rss ]; then
    tail -n1 "$work/rss" >> "$work/$name.rss"
  else
    echo "$((10#$end - 10#$start))" >> "$work/$name.time"
  fi
}

runtimes=(pea runc crun true)
[ "$hybrid" = yes ] && runtimes+=(nsenter)
echo "launcher benchmark: $n interleaved rounds of '<runtime> run' of /bin/true (busybox bundle)"
echo "pea: $pea"
echo "runc: $(runc --version | head -n1), crun: $(crun --version | head -n1)"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
if [ "$hybrid" = yes ]; then
  echo "note: hybrid cgroups: crun runs in a private mount namespace without /sys/fs/cgroup/unified"
  echo "      (nsenter -m into it; row 'nsenter', its harness, is subtracted from crun's times for 'net')"
fi
for r in "${runtimes[@]}"; do launch "$r" warmup time; : > "$work/$r.time"; : > "$work/$r.rss"; done
k=${#runtimes[@]}
for ((i = 0; i < n; i++)); do
  for ((j = 0; j < k; j++)); do launch "${runtimes[(i + j) % k]}" "$i" time; done
  for ((j = 0; j < k; j++)); do launch "${runtimes[(i + j) % k]}" "$i-rss" rss; done
done

# stat <file> <column> <median|min>
stat() {
  sort -n -k"$2","$2" "$1" | awk -v c="$2" -v w="$3" '{v[NR]=$c} END {
    if (w == "min") print v[1]; else if (NR % 2) print v[(NR+1)/2]; else print (v[NR/2]+v[NR/2+1])/2 }'
}
declare -A med mn rss net
for r in "${runtimes[@]}"; do
  med[$r]=$(stat "$work/$r.time" 1 median)
  mn[$r]=$(stat "$work/$r.time" 1 min)
  rss[$r]=$(stat "$work/$r.rss" 1 median)
done
for r in "${runtimes[@]}"; do
  harness=${med[true]}
  [ "$r" = crun ] && [ "$hybrid" = yes ] && harness=${med[nsenter]}
  net[$r]=$(awk -v a="${med[$r]}" -v b="$harness" 'BEGIN {print a - b}')
done
printf '%-8s %10s %9s %9s %9s %9s %14s %9s\n' runtime "median ms" "net ms" "min ms" "vs runc" \
  "vs crun" "peak RSS KiB" "vs crun"
for r in "${runtimes[@]}"; do
  awk -v r="$r" -v us="${med[$r]}" -v nt="${net[$r]}" -v mn="${mn[$r]}" -v ru="${net[runc]}" \
    -v cu="${net[crun]}" -v rss="${rss[$r]}" -v cr="${rss[crun]}" 'BEGIN {
    if (r == "true" || r == "nsenter") {
      printf "%-8s %10.2f %9s %9.2f %9s %9s %14d %8.2fx\n", r, us / 1000, "-", mn / 1000, "-", "-",
        rss, rss / cr
    } else {
      printf "%-8s %10.2f %9.2f %9.2f %8.2fx %8.2fx %14d %8.2fx\n", r, us / 1000, nt / 1000,
        mn / 1000, nt / ru, nt / cu, rss, rss / cr
    } }'
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
awk -v p="${net[pea]}" -v r="${net[runc]}" -v c="${net[crun]}" -v pr="${rss[pea]}" \
  -v cr="${rss[crun]}" -v rp="${med[pea]}" -v rr="${med[runc]}" 'BEGIN {
  v = (p <= c) ? "MET" : "NOT MET"
  printf "target pea median <= crun median:      %s (net %.2f ms vs %.2f ms, %.2fx)\n", v, p/1000, c/1000, p/c
  v = (p <= 0.3 * r) ? "MET" : "NOT MET"
  printf "target pea median <= 0.3x runc median: %s (net %.2fx of runc; raw medians %.2fx)\n", v, p/r, rp/rr
  v = (pr <= cr) ? "MET" : "NOT MET"
  printf "target pea peak RSS <= crun peak RSS:  %s (%d KiB vs %d KiB)\n", v, pr, cr }'

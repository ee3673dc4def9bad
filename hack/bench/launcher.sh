#!/bin/sh
# Launcher benchmark: `pea run` vs `runc run` vs `crun run` of /bin/true in
# the same busybox bundle, interleaved (pea, runc, crun, pea, ...), N rounds.
# Prints per-runtime median wall time and peak RSS, and ratios to runc.
#
#   hack/bench/launcher.sh [-n N] [--pea PATH]
#
# crun refuses this host's hybrid cgroups (a controller-less cgroup2 mount at
# /sys/fs/cgroup/unified), so crun runs in a private mount namespace with that
# mount removed: `unshare -m sh -c 'umount /sys/fs/cgroup/unified; crun ...'`.
# The unshare+sh wrapper adds a few ms to crun's times; it is measured alone
# (wrapper running /bin/true) and subtracted.
set -eu
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

work=$(mktemp -d /tmp/peapod-bench-XXXXXX)
trap 'rm -rf "$work"' EXIT
"$here/hack/make-bundle.sh" --probe /nonexistent "$work/bundle" /bin/true >/dev/null
mkdir -p "$work/root-pea" "$work/root-runc" "$work/root-crun"

hybrid=no
if grep -q " /sys/fs/cgroup/unified " /proc/self/mountinfo; then hybrid=yes; fi

# Runs one launch; appends "<ms> <KiB>" to $work/<name>.dat.
launch() {
  name=$1
  id="bench-$name-$2"
  case "$name" in
    pea) set -- "$pea" --root "$work/root-pea" run -b "$work/bundle" "$id" ;;
    runc) set -- runc --root "$work/root-runc" run -b "$work/bundle" "$id" ;;
    crun)
      if [ "$hybrid" = yes ]; then
        set -- unshare -m sh -c "umount /sys/fs/cgroup/unified && exec crun --root $work/root-crun run -b $work/bundle $id"
      else
        set -- crun --root "$work/root-crun" run -b "$work/bundle" "$id"
      fi ;;
    wrap) set -- unshare -m sh -c "umount /sys/fs/cgroup/unified && exec /bin/true" ;;
  esac
  start=$(date +%s%N)
  /usr/bin/time -f %M -o "$work/rss" "$@" >/dev/null 2>"$work/err" || {
    echo "launcher.sh: $name failed: $(cat "$work/err")" >&2; exit 1; }
  end=$(date +%s%N)
  echo "$(( (end - start) / 1000 )) $(tail -n1 "$work/rss")" >> "$work/$name.dat"
}

runtimes="pea runc crun"
[ "$hybrid" = yes ] && runtimes="$runtimes wrap"
echo "launcher benchmark: $n interleaved rounds of '<runtime> run' of /bin/true (busybox bundle)"
[ "$hybrid" = yes ] && echo "note: hybrid cgroups: crun runs as 'unshare -m sh -c \"umount /sys/fs/cgroup/unified; crun ...\"'; that wrapper's own cost (row 'wrap') is subtracted from crun"
for r in $runtimes; do launch "$r" warmup; : > "$work/$r.dat"; done
i=0
while [ "$i" -lt "$n" ]; do
  for r in $runtimes; do launch "$r" "$i"; done
  i=$((i + 1))
done

# median of column $2 in file $1
median() { sort -n -k"$2","$2" "$1" | awk -v c="$2" '{v[NR]=$c} END {if (NR%2) print v[(NR+1)/2]; else print (v[NR/2]+v[NR/2+1])/2}'; }
runc_us=$(median "$work/runc.dat" 1)
runc_rss=$(median "$work/runc.dat" 2)
wrap_us=0
[ "$hybrid" = yes ] && wrap_us=$(median "$work/wrap.dat" 1)
printf '%-6s %12s %10s %14s %10s\n' runtime "median ms" "vs runc" "peak RSS KiB" "vs runc"
for r in $runtimes; do
  us=$(median "$work/$r.dat" 1)
  rss=$(median "$work/$r.dat" 2)
  [ "$r" = crun ] && us=$(awk -v a="$us" -v b="$wrap_us" 'BEGIN {print a - b}')
  awk -v r="$r" -v us="$us" -v ru="$runc_us" -v rss="$rss" -v rr="$runc_rss" 'BEGIN {
    printf "%-6s %12.2f %9.2fx %14d %9.2fx\n", r, us / 1000, us / ru, rss, rss / rr }'
done

#!/bin/sh
# Makes an OCI bundle in <dir>: rootfs/ from Debian's busybox-static (plus the
# peapod probe when it is built) and a config.json like runc's default spec,
# without a terminal, running <cmd...> (default: sh).
#
#   hack/make-bundle.sh [--probe PATH] <dir> [cmd...]
#
# The applet symlinks are made here from `busybox --list`; nothing is ever
# installed on the host.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
probe="${PEAPOD_PROBE:-$here/../build/oci/probe/peapod-probe}"
if [ "${1:-}" = "--probe" ]; then
  probe=$2
  shift 2
fi
if [ $# -lt 1 ]; then
  echo "usage: $0 [--probe PATH] <dir> [cmd...]" >&2
  exit 2
fi
dir=$1
shift
busybox=/bin/busybox
[ -x "$busybox" ] || { echo "make-bundle: $busybox missing (apt-get install busybox-static)" >&2; exit 1; }
if [ -e "$dir/rootfs" ] || [ -e "$dir/config.json" ]; then
  echo "make-bundle: $dir already holds a bundle" >&2
  exit 1
fi

rootfs="$dir/rootfs"
mkdir -p "$rootfs"
for d in bin sbin usr/bin usr/sbin dev proc sys tmp etc root run var/tmp home; do
  mkdir -p "$rootfs/$d"
done
chmod 1777 "$rootfs/tmp" "$rootfs/var/tmp"
cp "$busybox" "$rootfs/bin/busybox"
# One relative symlink per applet, all in /bin (sbin, usr/bin point there via PATH).
for applet in $("$busybox" --list); do
  case "$applet" in
    busybox | */* | "") continue ;;
  esac
  ln -sf busybox "$rootfs/bin/$applet"
done
if [ -x "$probe" ]; then
  cp "$probe" "$rootfs/bin/peapod-probe"
fi
cat > "$rootfs/etc/passwd" <<'PASSWD'
root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/bin/false
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
PASSWD
cat > "$rootfs/etc/group" <<'GROUP'
root:x:0:
daemon:x:1:
nogroup:x:65534:
GROUP
echo "peapod" > "$rootfs/etc/hostname"

# process.args as a JSON array.
[ $# -gt 0 ] || set -- sh
args=""
for a in "$@"; do
  esc=$(printf '%s' "$a" | sed -e 's/\\/\\\\/g' -e 's/"/\\"/g')
  args="$args${args:+, }\"$esc\""
done

cat > "$dir/config.json" <<CONFIG
{
  "ociVersion": "1.0.2",
  "process": {
    "terminal": false,
    "user": {"uid": 0, "gid": 0},
    "args": [$args],
    "env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"],
    "cwd": "/",
    "capabilities": {
      "bounding": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
      "effective": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
      "permitted": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]
    },
    "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
    "noNewPrivileges": true
  },
  "root": {"path": "rootfs", "readonly": true},
  "hostname": "peapod",
  "mounts": [
    {"destination": "/proc", "type": "proc", "source": "proc"},
    {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
     "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
    {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
     "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]},
    {"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
     "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
    {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue",
     "options": ["nosuid", "noexec", "nodev"]},
    {"destination": "/sys", "type": "sysfs", "source": "sysfs",
     "options": ["nosuid", "noexec", "nodev", "ro"]},
    {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
     "options": ["nosuid", "noexec", "nodev", "relatime", "ro"]}
  ],
  "linux": {
    "resources": {"devices": [{"allow": false, "access": "rwm"}]},
    "namespaces": [
      {"type": "pid"}, {"type": "network"}, {"type": "ipc"}, {"type": "uts"}, {"type": "mount"}
    ],
    "maskedPaths": [
      "/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
      "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware",
      "/proc/scsi"
    ],
    "readonlyPaths": [
      "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"
    ]
  }
}
CONFIG
echo "make-bundle: $dir ($(ls "$rootfs/bin" | wc -l) entries in /bin)"

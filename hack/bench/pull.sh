#!/bin/bash
# Pull + unpack of a ~200 MB multi-layer image from a local docker-registry:
# peapod-image vs. `ctr image pull --plain-http` (Debian's containerd on a
# private root and socket). Runs are interleaved and every run starts cold
# (fresh store / fresh containerd root). Prints median wall time, peak RSS
# and the ratio.
#   usage: hack/bench/pull.sh [runs]   (env PEAPOD_IMAGE=path/to/peapod-image)
set -euo pipefail
RUNS=${1:-5}
SRC=$(cd "$(dirname "$0")/../.." && pwd)
BIN=${PEAPOD_IMAGE:-}
if [ -z "$BIN" ]; then
  for b in "$SRC"/build/cri/images/peapod-image "$SRC"/build-*/cri/images/peapod-image; do
    [ -x "$b" ] && BIN=$b && break
  done
fi
[ -x "${BIN:-}" ] || { echo "build peapod-image first (or set PEAPOD_IMAGE)" >&2; exit 1; }

W=$(mktemp -d /tmp/peapod-bench-pull.XXXXXX)
REG_PID=""; CTRD_PID=""
cleanup() {
  [ -n "$CTRD_PID" ] && kill "$CTRD_PID" 2>/dev/null && wait "$CTRD_PID" 2>/dev/null || true
  [ -n "$REG_PID" ] && kill "$REG_PID" 2>/dev/null && wait "$REG_PID" 2>/dev/null || true
  grep -o "$W/[^ ]*" /proc/mounts 2>/dev/null | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
  rm -rf "$W"
}
trap cleanup EXIT

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat > "$W/registry.yml" <<YML
version: 0.1
log: {level: error}
storage: {filesystem: {rootdirectory: $W/registry}}
http: {addr: 127.0.0.1:$PORT}
YML
docker-registry serve "$W/registry.yml" >"$W/registry.log" 2>&1 &
REG_PID=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/v2/" >/dev/null && break; sleep 0.1; done

# 1. The image: 5 gzip layers of ~40 MB incompressible files each, pushed
#    through the registry API.
python3 - "$PORT" <<'PY'
import gzip, hashlib, io, json, os, sys, tarfile, urllib.request
port = sys.argv[1]
base = f"http://127.0.0.1:{port}/v2/bench"
def put_blob(data):
    d = "sha256:" + hashlib.sha256(data).hexdigest()
    r = urllib.request.urlopen(urllib.request.Request(base + "/blobs/uploads/", method="POST"))
    loc = r.headers["Location"]
    if not loc.startswith("http"): loc = f"http://127.0.0.1:{port}" + loc
    loc += ("&" if "?" in loc else "?") + "digest=" + d
    urllib.request.urlopen(urllib.request.Request(loc, data=data, method="PUT",
        headers={"Content-Type": "application/octet-stream"}))
    return d
layers, diff_ids = [], []
for i in range(5):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        for j in range(20):
            data = os.urandom(2 * 1024 * 1024)
            info = tarfile.TarInfo(f"layer{i}/dir{j % 4}/file{j}")
            info.size = len(data); info.mode = 0o644
            t.addfile(info, io.BytesIO(data))
    raw = buf.getvalue()
    diff_ids.append("sha256:" + hashlib.sha256(raw).hexdigest())
    gz = gzip.compress(raw, compresslevel=1)
    layers.append({"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                   "digest": put_blob(gz), "size": len(gz)})
config = json.dumps({"architecture": "amd64", "os": "linux", "config": {},
                     "rootfs": {"type": "layers", "diff_ids": diff_ids}}).encode()
manifest = json.dumps({"schemaVersion": 2,
    "mediaType": "application/vnd.oci.image.manifest.v1+json",
    "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
               "digest": put_blob(config), "size": len(config)},
    "layers": layers}).encode()
urllib.request.urlopen(urllib.request.Request(base + "/manifests/v1", data=manifest, method="PUT",
    headers={"Content-Type": "application/vnd.oci.image.manifest.v1+json"}))
print("image pushed: %d MB compressed" % (sum(l["size"] for l in layers) >> 20))
PY
REF=127.0.0.1:$PORT/bench:v1

run_peapod() {  # prints "seconds kB"
  local root=$W/peapod-$1
  /usr/bin/time -f "%e %M" -o "$W/time" "$BIN" --root "$root" pull "$REF" >/dev/null
  cat "$W/time"; rm -rf "$root"
}

run_ctr() {  # fresh containerd per run; RSS = containerd's VmHWM + ctr's peak
  local root=$W/ctrd-$1
  mkdir -p "$root"
  cat > "$root/config.toml" <<TOML
version = 2
root = "$root/root"
state = "$root/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$root/sock"
TOML
  containerd --config "$root/config.toml" >"$root/log" 2>&1 &
  CTRD_PID=$!
  for _ in $(seq 100); do ctr --address "$root/sock" version >/dev/null 2>&1 && break; sleep 0.1; done
  /usr/bin/time -f "%e %M" -o "$W/time" ctr --address "$root/sock" image pull --plain-http "$REF" >/dev/null
  local hwm; hwm=$(awk '/VmHWM/{print $2}' "/proc/$CTRD_PID/status")
  read -r secs ctr_kb < "$W/time"
  echo "$secs $((hwm + ctr_kb))"
  kill "$CTRD_PID"; wait "$CTRD_PID" 2>/dev/null || true; CTRD_PID=""
  grep -o "$root/[^ ]*" /proc/mounts | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
  rm -rf "$root"
}

# The machine may be shared: report its load, since it moves both figures.
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
: > "$W/peapod.txt"; : > "$W/ctr.txt"
for i in $(seq "$RUNS"); do
  sync; echo 3 > /proc/sys/vm/drop_caches 2>/dev/null || true
  run_peapod "$i" >> "$W/peapod.txt"
  sync; echo 3 > /proc/sys/vm/drop_caches 2>/dev/null || true
  run_ctr "$i" >> "$W/ctr.txt"
  echo "run $i: peapod $(tail -1 "$W/peapod.txt")  ctr $(tail -1 "$W/ctr.txt")  (s kB)"
done
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
PT=$(cut -d' ' -f1 "$W/peapod.txt" | median); PM=$(cut -d' ' -f2 "$W/peapod.txt" | median)
CT=$(cut -d' ' -f1 "$W/ctr.txt" | median); CM=$(cut -d' ' -f2 "$W/ctr.txt" | median)
echo "median wall: peapod ${PT}s  containerd ${CT}s  speedup $(awk "BEGIN{printf \"%.2f\", $CT/$PT}")x"
echo "median peak RSS: peapod $((PM / 1024)) MiB  containerd+ctr $((CM / 1024)) MiB"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"

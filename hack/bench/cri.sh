#!/bin/bash
# CRI benchmark: the pod lifecycle against peapodd and against Debian's
# containerd 1.6 CRI plugin with runc, side by side in one run.
#
#   hack/bench/cri.sh [-n ROUNDS] [--pods N] [--build DIR] [--cni] [--no-warm] [--burst K] [--seccomp-default] [--exec]
#
# Both daemons run on private roots, state dirs and sockets under one temp
# dir (the state dirs on a tmpfs, like /run on a node); a local
# docker-registry serves the two images the script builds:
# busybox (from Debian's busybox-static) and a pause image for containerd made
# from peapod's own infra binary. Without --cni the pods use the host's
# network (hostNetwork): containerd 1.6's CRI cannot run a pod in its own
# netns without a CNI result holding an eth0 ("failed to find network info"),
# so that is the one setting both can run without CNI. With --cni both get
# the same bridge network instead (bridge + host-local + portmap, each
# runtime on its own bridge and /24 so their address pools never meet; the
# bridges and their iptables rules are removed at the end).
#
# cri-bench (hack/bench/cri_bench.cc) runs the steps interleaved (the order
# rotates every round) and prints medians, p90s and ratios per step:
#   runp   RunPodSandbox
#   create CreateContainer + StartContainer of busybox `sleep 3600`
#   exec   (with --exec) ExecSync of `true` + ContainerStats + ContainerStatus
#   stop   StopContainer + RemoveContainer
#   stopp  StopPodSandbox + RemovePodSandbox
# With --cni it then runs the same plugin chain alone, straight from this
# script (ip netns add, then bridge ADD and portmap ADD on its result, on a
# third bridge; untimed DEL and netns removal after each), and prints its
# p50 and each runtime's runp p50 above it: the floor under both runtimes'
# runp, and each runtime's own share (the script's own spawning of the two
# plugins counts ~1 ms into the floor).
# Then it holds --pods pods (one sleeping container each) on both and sums the
# resident memory per pod: peapod's shims + infra processes vs containerd's
# runc shims + pause processes (the containers' own sleeps are the same on
# both and left out). PSS (proportional: shared pages split among sharers) and
# RSS are both printed.
# --no-warm turns off peapod's warm CNI attachment ([cni] warm = false in
# peapod.toml; cri/server/warm_network.h): with it on (the default) the
# bridge plugin's ADD for the next pod is done between calls, and runp runs
# only the rest of the chain (portmap); off, runp runs the whole chain, as
# containerd does, and sits on the plugins-alone floor.
# --burst K then also times bursts: K RunPodSandbox calls back to back per
# runtime and round (pods without containers, removed untimed after each
# burst); `runp2+` is the calls after the first of each burst, for which
# nothing made between calls is ready.
# --seccomp-default gives every container the runtime's default seccomp
# profile, as a kubelet does since Kubernetes 1.27.
# Targets: issue 5 (no CNI): runp >= 10x faster, create >= 3x faster, <= 2 MiB
# per pod; issue 6 (--cni): runp >= 3x faster.
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
rounds=20
pods=20
build="$here/build"
cni=no
warm=true
burst=0
seccomp=()
execs=()
while [ $# -gt 0 ]; do
  case "$1" in
    -n) rounds=$2; shift 2 ;;
    --pods) pods=$2; shift 2 ;;
    --build) build=$2; shift 2 ;;
    --cni) cni=yes; shift ;;
    --no-warm) warm=false; shift ;;
    --burst) burst=$2; shift 2 ;;
    --seccomp-default) seccomp=(--seccomp-default); shift ;;
    --exec) execs=(--exec); shift ;;
    *) echo "usage: $0 [-n ROUNDS] [--pods N] [--build DIR] [--cni] [--no-warm] [--burst K] [--seccomp-default] [--exec]" >&2; exit 2 ;;
  esac
done
[ "$(id -u)" = 0 ] || { echo "cri.sh: needs root" >&2; exit 1; }
for b in hack/bench/cri-bench cri/server/peapodd cri/infra/peapod-infra; do
  [ -x "$build/$b" ] || { echo "cri.sh: $build/$b not built (cmake --build $build)" >&2; exit 1; }
done
for tool in containerd docker-registry runc python3; do
  command -v "$tool" >/dev/null || { echo "cri.sh: $tool missing (hack/setup.sh)" >&2; exit 1; }
done

W=$(mktemp -d /tmp/peapod-bench-cri.XXXXXX)
pids=()
# containerd's pods (no cgroup parent given) land under /k8s.io in every
# hierarchy; that parent is removed at the end unless it was there before.
k8s_cg_before=$(ls -d /sys/fs/cgroup/*/k8s.io 2>/dev/null || true)
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  # Whatever a failed run left: shims, containers, mounts.
  pkill -f "$W/" 2>/dev/null || true
  grep -o "$W/[^ ]*" /proc/mounts 2>/dev/null | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
  umount -l "$W/run" 2>/dev/null || true
  if [ "$cni" = yes ]; then
    # Pods are removed (CNI DEL) before this; the bridges stay behind otherwise.
    for br in pbench0 pbench1 pbench2; do ip link del "$br" 2>/dev/null || true; done
    for ns in $(ip netns list 2>/dev/null | grep -o "^pbench-plug-[0-9]*"); do ip netns del "$ns"; done
  fi
  if [ -z "$k8s_cg_before" ]; then
    for d in /sys/fs/cgroup/*/k8s.io; do [ -d "$d" ] && rmdir "$d" 2>/dev/null || true; done
  fi
  rm -rf "$W"
}
trap cleanup EXIT

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat > "$W/registry.yml" <<YML
version: 0.1
log: {level: error}
storage: {filesystem: {rootdirectory: $W/registry}}
http: {addr: 127.0.0.1:$port}
YML
docker-registry serve "$W/registry.yml" >"$W/registry.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/v2/" >/dev/null && break; sleep 0.1; done

# Two images, each one layer: busybox (+ applet links) and pause (= peapod-infra).
python3 - "$port" "$build/cri/infra/peapod-infra" <<'PY'
import hashlib, io, json, sys, tarfile, urllib.request
port, infra = sys.argv[1], sys.argv[2]
def put_blob(repo, data):
    d = "sha256:" + hashlib.sha256(data).hexdigest()
    base = f"http://127.0.0.1:{port}/v2/{repo}"
    r = urllib.request.urlopen(urllib.request.Request(base + "/blobs/uploads/", method="POST"))
    loc = r.headers["Location"]
    if not loc.startswith("http"): loc = f"http://127.0.0.1:{port}" + loc
    loc += ("&" if "?" in loc else "?") + "digest=" + d
    urllib.request.urlopen(urllib.request.Request(loc, data=data, method="PUT",
        headers={"Content-Type": "application/octet-stream"}))
    return d
def push(repo, files, links, cfg):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        for d in ("bin", "etc", "tmp", "proc", "sys", "dev"):
            i = tarfile.TarInfo(d); i.type = tarfile.DIRTYPE; i.mode = 0o755; t.addfile(i)
        for path, src in files:
            data = open(src, "rb").read()
            i = tarfile.TarInfo(path); i.size = len(data); i.mode = 0o755
            t.addfile(i, io.BytesIO(data))
        for path, target in links:
            i = tarfile.TarInfo(path); i.type = tarfile.SYMTYPE; i.linkname = target; t.addfile(i)
        for path, text in (("etc/passwd", "root:x:0:0:root:/root:/bin/sh\n"),
                           ("etc/group", "root:x:0:\n")):
            data = text.encode()
            i = tarfile.TarInfo(path); i.size = len(data); i.mode = 0o644
            t.addfile(i, io.BytesIO(data))
    raw = buf.getvalue()
    layer = put_blob(repo, raw)
    config = json.dumps({"architecture": "amd64", "os": "linux", "config": cfg,
        "rootfs": {"type": "layers", "diff_ids": ["sha256:" + hashlib.sha256(raw).hexdigest()]}}).encode()
    manifest = json.dumps({"schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   "digest": put_blob(repo, config), "size": len(config)},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar",
                    "digest": layer, "size": len(raw)}]}).encode()
    urllib.request.urlopen(urllib.request.Request(
        f"http://127.0.0.1:{port}/v2/{repo}/manifests/latest", data=manifest, method="PUT",
        headers={"Content-Type": "application/vnd.oci.image.manifest.v1+json"}))
push("bench/busybox", [("bin/busybox", "/bin/busybox")],
     [("bin/sh", "busybox"), ("bin/sleep", "busybox"), ("bin/true", "busybox")],
     {"Cmd": ["/bin/sh"], "Env": ["PATH=/bin"]})
push("bench/pause", [("pause", infra)], [], {"Entrypoint": ["/pause"]})
PY
image=127.0.0.1:$port/bench/busybox:latest

mkdir -p "$W/peapod/cni" "$W/ctrd/cni" "$W/run"
# Both state dirs on a tmpfs, as /run is on a node (this VM has /run on its
# disk): runtime state that dies with the boot is never waited for on disk.
mount -t tmpfs -o mode=0700 bench-run "$W/run"
chmod 700 "$W/peapod"  # peapodd refuses a socket directory others can enter
if [ "$cni" = yes ]; then
  bridge_conf() {  # name bridge subnet data-dir
    cat <<JSON
{"cniVersion": "1.0.0", "name": "$1", "plugins": [
  {"type": "bridge", "bridge": "$2", "isGateway": true, "ipMasq": true,
   "ipam": {"type": "host-local", "ranges": [[{"subnet": "$3"}]], "dataDir": "$4",
            "routes": [{"dst": "0.0.0.0/0"}]}},
  {"type": "portmap", "capabilities": {"portMappings": true}}]}
JSON
  }
  bridge_conf bench-peapod pbench0 10.90.0.0/24 "$W/peapod/ipam" > "$W/peapod/cni/10-bench.conflist"
  bridge_conf bench-ctrd pbench1 10.91.0.0/24 "$W/ctrd/ipam" > "$W/ctrd/cni/10-bench.conflist"
else
  cat > "$W/ctrd/cni/10-lo.conflist" <<JSON
{"cniVersion": "0.4.0", "name": "lo", "plugins": [{"type": "loopback"}]}
JSON
fi

# peapodd: no CNI config unless --cni; images from the local registry over plain HTTP.
cat > "$W/peapod/peapod.toml" <<TOML
socket = "$W/peapod/peapod.sock"
root = "$W/peapod/root"
state_dir = "$W/run/peapod"
log_level = "warn"
shim_binary = "$build/shim/containerd-shim-peapod-v2"
infra_binary = "$build/cri/infra/peapod-infra"
[cni]
conf_dir = "$W/peapod/cni"
warm = $warm
[registry."127.0.0.1:$port"]
insecure = true
TOML
PATH="$build/shim:$build/oci/pea:$PATH" "$build/cri/server/peapodd" --config "$W/peapod/peapod.toml" \
  >"$W/peapod/log" 2>&1 &
pids+=($!)

# containerd 1.6 with its CRI plugin, runc, the pause image above.
cat > "$W/ctrd/config.toml" <<TOML
version = 2
root = "$W/ctrd/root"
state = "$W/run/ctrd"
[grpc]
  address = "$W/ctrd/containerd.sock"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "127.0.0.1:$port/bench/pause:latest"
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$W/ctrd/cni"
  [plugins."io.containerd.grpc.v1.cri".registry.mirrors."127.0.0.1:$port"]
    endpoint = ["http://127.0.0.1:$port"]
  [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
    runtime_type = "io.containerd.runc.v2"
TOML
containerd --config "$W/ctrd/config.toml" >"$W/ctrd/log" 2>&1 &
pids+=($!)

for sock in "$W/peapod/peapod.sock" "$W/ctrd/containerd.sock"; do
  for _ in $(seq 200); do [ -S "$sock" ] && break; sleep 0.05; done
  [ -S "$sock" ] || { echo "cri.sh: no socket $sock"; tail "$W"/*/log; exit 1; }
done
sleep 1  # containerd's CRI plugin loads after its socket appears

endpoints=(peapod="unix://$W/peapod/peapod.sock" containerd="unix://$W/ctrd/containerd.sock")
hostnet=()
[ "$cni" = yes ] || hostnet=(--host-network)
echo "== lifecycle, $rounds rounds, interleaved, CNI bridge: $cni, peapod warm CNI attachment: $warm," \
  "seccomp runtime/default: $([ ${#seccomp[@]} -gt 0 ] && echo yes || echo no)" \
  "(load: $(cut -d' ' -f1-3 /proc/loadavg))"
"$build/hack/bench/cri-bench" --rounds "$rounds" --image "$image" "${hostnet[@]}" "${seccomp[@]}" "${execs[@]}" \
  "${endpoints[@]}" | tee "$W/lifecycle.txt"
if [ "$burst" -gt 0 ]; then
  echo "== bursts of $burst RunPodSandbox calls back to back, $rounds rounds, interleaved"
  "$build/hack/bench/cri-bench" --rounds "$rounds" --burst "$burst" "${hostnet[@]}" "${seccomp[@]}" \
    "${endpoints[@]}"
fi

if [ "$cni" = yes ]; then
  echo "== the CNI plugins alone: the same chain run by this script, $rounds times"
  bridge_conf bench-plugins pbench2 10.92.0.0/24 "$W/plug/ipam" > "$W/plug.conflist"
  python3 - "$W/plug.conflist" "$rounds" "$W/lifecycle.txt" <<'PY'
import json, os, statistics, subprocess, sys, time
conf = json.load(open(sys.argv[1]))
rounds = int(sys.argv[2])
runp = next(l.split() for l in open(sys.argv[3]) if l.startswith("runp "))
def run(plugin, command, cid, netns, prev=None):
    c = dict(plugin, cniVersion=conf["cniVersion"], name=conf["name"])
    if prev is not None:
        c["prevResult"] = prev
    if plugin.get("capabilities", {}).get("portMappings"):
        c["runtimeConfig"] = {"portMappings": []}
    env = dict(os.environ, CNI_COMMAND=command, CNI_CONTAINERID=cid, CNI_NETNS=netns,
               CNI_IFNAME="eth0", CNI_PATH="/usr/lib/cni")
    p = subprocess.run(["/usr/lib/cni/" + plugin["type"]], input=json.dumps(c).encode(),
                       env=env, capture_output=True)
    if p.returncode != 0:
        sys.exit(f"cri.sh: {plugin['type']} {command}: {p.stdout.decode()} {p.stderr.decode()}")
    return json.loads(p.stdout) if p.stdout.strip() else None
ms = []
for i in range(rounds + 1):  # the first one warms up, unrecorded
    ns = f"pbench-plug-{i}"
    subprocess.run(["ip", "netns", "add", ns], check=True)
    netns, cid = f"/run/netns/{ns}", f"plug{i}"
    t0 = time.monotonic()
    prev = None
    for plugin in conf["plugins"]:
        prev = run(plugin, "ADD", cid, netns, prev)
    if i > 0:
        ms.append((time.monotonic() - t0) * 1000)
    for plugin in reversed(conf["plugins"]):
        run(plugin, "DEL", cid, netns, prev)
    subprocess.run(["ip", "netns", "del", ns], check=True)
ms.sort()
floor = statistics.median(ms)
print(f"plugins  {floor:11.1f} ms {ms[int(0.9 * (len(ms) - 1))]:7.1f} ms  (p50, p90)")
print(f"runp p50 above the plugins alone: peapod {float(runp[1]) - floor:+.1f} ms,"
      f" containerd {float(runp[5]) - floor:+.1f} ms")
PY
fi

echo "== memory with $pods pods each"
coproc HOLD { "$build/hack/bench/cri-bench" --hold "$pods" --image "$image" "${hostnet[@]}" \
  "${seccomp[@]}" "${endpoints[@]}"; }
read -r line <&"${HOLD[0]}"
[ "$line" = held ] || { echo "cri.sh: hold failed: $line"; exit 1; }
sleep 1
# Sums Pss and Rss (kB) over pids.
sum_mem() {
  local pss=0 rss=0 n=0 a b
  for p in "$@"; do
    read -r a b < <(awk '/^Pss:/{p=$2} /^Rss:/{r=$2} END{print p+0, r+0}' "/proc/$p/smaps_rollup")
    pss=$((pss + a)); rss=$((rss + b)); n=$((n + 1))
  done
  echo "$pss $rss $n"
}
# The shims of this run (their command line names a path under $W) and, below
# them, the infra / pause processes.
ours() { for p in $(pgrep -f "/$1 "); do grep -qF "$W" "/proc/$p/cmdline" && echo "$p"; done; }
kids() { local list; list=$(echo "$2" | paste -sd,); [ -n "$list" ] && pgrep -x "$1" -P "$list"; }
pshims=$(ours containerd-shim-peapod-v2 || true)
cshims=$(ours containerd-shim-runc-v2 || true)
read -r ps1 rs1 n1 < <(sum_mem $pshims)
read -r ps2 rs2 n2 < <(sum_mem $(kids peapod-infra "$pshims" || true))
read -r cs1 cr1 m1 < <(sum_mem $cshims)
read -r cs2 cr2 m2 < <(sum_mem $(kids pause "$cshims" || true))
echo "peapod:     $n1 shims + $n2 infra: PSS $(((ps1 + ps2) / pods)) kB/pod, RSS $(((rs1 + rs2) / pods)) kB/pod"
echo "containerd: $m1 shims + $m2 pause: PSS $(((cs1 + cs2) / pods)) kB/pod, RSS $(((cr1 + cr2) / pods)) kB/pod"
echo done >&"${HOLD[1]}"
wait "$HOLD_PID"

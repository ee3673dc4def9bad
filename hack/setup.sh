#!/bin/sh
# Installs every Debian package peapod builds, tests and benchmarks with.
# Idempotent: packages already present are left alone.
set -eu
PKGS="build-essential cmake ninja-build pkg-config git clang-format
  libgrpc++-dev protobuf-compiler protobuf-compiler-grpc libprotobuf-dev
  libseccomp-dev libyajl-dev libabsl-dev libgtest-dev libgmock-dev
  libcurl4-openssl-dev libarchive-dev libssl-dev libzstd-dev libcli11-dev libtomlplusplus-dev
  libcap-dev libyaml-cpp-dev busybox-static runc crun containerd
  golang-github-containerd-containerd-dev golang-github-containerd-cgroups-dev golang-gogoprotobuf-dev
  docker-registry containernetworking-plugins iproute2 iptables hyperfine skopeo
  util-linux procps psmisc time lld zlib1g-dev"
# node runs the SPDY test client of the CRI streaming server (integration/stream).
# A node already on PATH (nodesource's nodejs, say, which bundles npm) is kept;
# Debian's nodejs leaves npm to a package of its own.
command -v node >/dev/null 2>&1 || PKGS="$PKGS nodejs"
command -v npm >/dev/null 2>&1 || PKGS="$PKGS npm"
missing=""
for p in $PKGS; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
  echo "setup: installing:$missing"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # shellcheck disable=SC2086
  apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi
# The distro starts docker-registry and containerd as services; peapod's tests start
# their own private instances, so the system ones are not needed.
for svc in docker-registry containerd; do
  if command -v systemctl >/dev/null 2>&1 && systemctl is-active -q "$svc" 2>/dev/null; then
    systemctl stop "$svc" || true
  fi
done
# Pod networking: a default CNI network (bridge peapod0, 10.88.0.0/16, host-local
# addresses, portmap for hostPorts) so pods get an address out of the box. Only
# when the node has no CNI network configured: an existing one is never touched.
# peapod brings each pod's loopback up itself, so no loopback plugin is needed.
CNI_CONF_DIR=${CNI_CONF_DIR:-/etc/cni/net.d}
cni_configured=""
for f in "$CNI_CONF_DIR"/*.conflist "$CNI_CONF_DIR"/*.conf "$CNI_CONF_DIR"/*.json; do
  [ -e "$f" ] && cni_configured="$f"
done
if [ -z "$cni_configured" ]; then
  mkdir -p "$CNI_CONF_DIR"
  cat >"$CNI_CONF_DIR/10-peapod.conflist" <<'CNI'
{
  "cniVersion": "1.0.0",
  "name": "peapod",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "peapod0",
      "isGateway": true,
      "ipMasq": true,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local",
        "ranges": [[{"subnet": "10.88.0.0/16"}]],
        "routes": [{"dst": "0.0.0.0/0"}]
      }
    },
    {"type": "portmap", "capabilities": {"portMappings": true}}
  ]
}
CNI
  echo "setup: installed the default pod network $CNI_CONF_DIR/10-peapod.conflist"
fi
# The test client's npm packages, exactly as its package-lock.json pins them;
# installed again only when the lock file is newer than the last install.
stream_dir="$(cd "$(dirname "$0")/.." && pwd)/integration/stream"
installed="$stream_dir/node_modules/.package-lock.json" # npm rewrites it on each install
if [ ! -d "$stream_dir/node_modules/spdy-transport" ] || [ ! -f "$installed" ] ||
  [ -n "$(find "$stream_dir/package-lock.json" -newer "$installed")" ]; then
  echo "setup: installing integration/stream's npm packages"
  (cd "$stream_dir" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
fi
echo "setup: all packages present"

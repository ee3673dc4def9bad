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
  util-linux procps psmisc time"
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
echo "setup: all packages present"

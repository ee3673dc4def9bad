#!/bin/sh
# Builds a docker-archive tar of a one-layer busybox image from the host's
# static busybox, for `ctr images import`. Usage: make_busybox_image.sh OUT.tar [NAME]
set -eu
out=$1
name=${2:-docker.io/peapod/busybox:latest}
bb=$(command -v busybox)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/rootfs/bin" "$work/rootfs/tmp" "$work/rootfs/proc" "$work/rootfs/sys" \
  "$work/rootfs/dev" "$work/rootfs/etc" "$work/img"
cp "$bb" "$work/rootfs/bin/busybox"
for app in sh echo cat sleep true false ls ps id hostname trap kill wc tty stty env; do
  ln -s busybox "$work/rootfs/bin/$app"
done
echo "root:x:0:0:root:/:/bin/sh" > "$work/rootfs/etc/passwd"
tar -C "$work/rootfs" --numeric-owner --owner=0 --group=0 -cf "$work/img/layer.tar" .
diff_id=$(sha256sum "$work/img/layer.tar" | cut -d' ' -f1)
cat > "$work/img/config.json" <<JSON
{"architecture":"amd64","os":"linux","config":{"Env":["PATH=/bin"],"Cmd":["/bin/sh"]},"rootfs":{"type":"layers","diff_ids":["sha256:$diff_id"]}}
JSON
cat > "$work/img/manifest.json" <<JSON
[{"Config":"config.json","RepoTags":["$name"],"Layers":["layer.tar"]}]
JSON
tar -C "$work/img" -cf "$out" manifest.json config.json layer.tar

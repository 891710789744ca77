#!/usr/bin/env bash
# images.sh: the cluster's own images as OCI layouts, built once into a cache directory keyed by
# their sources, whose path is printed on stdout; hack/start.sh pushes them to the registry.
#
#   pause/     the pod sandbox (hack/node/pause.c, static)
#   busybox/   Debian's busybox-static (sh, wget, nc...) as user 65532, for tests and debugging:
#              `kubectl run -it debug --image=10.200.0.1:5000/busybox:1 -- sh`
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
log() { printf '[node/images.sh] %s\n' "$*" >&2; }
if ! dpkg-query -W -f='${Status}' busybox-static 2>/dev/null | grep -q 'install ok installed'; then
  log "apt-get install busybox-static"
  apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends busybox-static >&2
fi
key="$( (cat "$here/pause.c" "$here/images.sh" "$here/../image/oci.py"; sha256sum /bin/busybox) | sha256sum | cut -c1-12)"
out="${XDG_CACHE_HOME:-$HOME/.cache}/infisical-oidc-operator/node-images-$key"
if [ ! -f "$out/busybox/index.json" ]; then
  mkdir -p "$out"
  gcc -static -O2 -o "$out/pause.bin" "$here/pause.c"
  strip "$out/pause.bin"
  python3 "$here/../image/oci.py" --out "$out/pause" --name pause --tag 3.10 --created 0 \
    --user 65535:65535 --entrypoint '["/pause"]' --file "$out/pause.bin:/pause:755" >/dev/null
  links=()
  for applet in sh ls cat wget nc id env sleep ps grep; do links+=(--link "busybox:/bin/$applet"); done
  python3 "$here/../image/oci.py" --out "$out/busybox.tmp" --name busybox --tag 1 --created 0 \
    --user 65532:65532 --cmd '["sh"]' --env PATH=/bin --file /bin/busybox:/bin/busybox:755 \
    "${links[@]}" >/dev/null
  rm -rf "$out/busybox" && mv "$out/busybox.tmp" "$out/busybox"
fi
echo "$out"

#!/usr/bin/env bash
# build.sh: build the local Kubernetes (etcd, kube-apiserver, kube-controller-manager, kube-scheduler,
# kubelet, kube-proxy and kubectl) from the Go modules pinned in hack/controlplane/go.mod, once, into
# a cache directory keyed by the module's content, and print that directory on stdout.
#
# The directory holds one binary, `controlplane`, and a hard link to it under each component's
# name (the binary dispatches on its name).
#
# Knobs: CONTROLPLANE_BIN_DIR (use this directory instead of the cache), XDG_CACHE_HOME.
# Needs Go 1.26 or newer (the machine's `go`), and the Go module proxy. The first build downloads
# about 300 MB of modules and takes several minutes on 2 cores; GOMODCACHE and GOCACHE keep it
# incremental afterwards.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
log() { printf '[controlplane/build.sh] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

command -v go >/dev/null 2>&1 || die "Go 1.26 or newer is required to build the local control plane (or run with USE_EXISTING_CLUSTER=1 and a KUBECONFIG)"
go_minor="$(go env GOVERSION | sed -nE 's/^go1\.([0-9]+).*/\1/p')"
[ -n "$go_minor" ] && [ "$go_minor" -ge 26 ] || die "Go 1.26 or newer is required, found $(go env GOVERSION)"

k8s_version="$(sed -nE 's/^(require)?[[:space:]]*k8s\.io\/kubernetes (v[0-9.]+)$/\2/p' "$here/go.mod" | head -1)"
[ -n "$k8s_version" ] || die "cannot read the k8s.io/kubernetes version from $here/go.mod"
key="$(cat "$here/go.mod" "$here/go.sum" "$here/main.go" | sha256sum | cut -c1-12)"
out="${CONTROLPLANE_BIN_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/infisical-oidc-operator/controlplane-$k8s_version-$key}"

if [ ! -x "$out/controlplane" ]; then
  major="$(echo "$k8s_version" | sed -nE 's/^v([0-9]+)\..*/\1/p')"
  minor="$(echo "$k8s_version" | sed -nE 's/^v[0-9]+\.([0-9]+)\..*/\1/p')"
  log "building Kubernetes $k8s_version control plane into $out (first time: several minutes)"
  started=$(date +%s)
  mkdir -p "$out"
  # gitVersion and friends: without them /version says v0.0.0-master and clients warn about skew.
  (cd "$here" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w \
      -X k8s.io/component-base/version.gitVersion=$k8s_version \
      -X k8s.io/component-base/version.gitMajor=$major \
      -X k8s.io/component-base/version.gitMinor=$minor \
      -X k8s.io/component-base/version.gitTreeState=clean" \
      -o "$out/controlplane.tmp" .)
  mv -f "$out/controlplane.tmp" "$out/controlplane"
  log "built in $(( $(date +%s) - started ))s"
fi
for name in etcd kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy kubectl; do
  [ "$out/$name" -ef "$out/controlplane" ] || ln -f "$out/controlplane" "$out/$name"
done
echo "$out"

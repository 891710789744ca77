#!/usr/bin/env bash
# build.sh: the node's runtime and the local registry, built once from their Go modules into a cache
# directory keyed by the versions below, whose path is printed on stdout (logs on stderr):
#
#   containerd, ctr, containerd-shim-runc-v2   containerd 2.x (kubelet 1.36 needs the CRI's
#                                              RuntimeConfig call, which Debian's containerd 1.6 lacks)
#   runc                                       the OCI runtime (crun fails on this kernel's hybrid
#                                              cgroup layout); needs cgo and libseccomp
#   registry                                   the CNCF distribution registry, v3
#   crane                                      go-containerregistry's client, to push the image
#
# The control plane and node components (kubelet, kube-scheduler, kube-proxy) come from
# hack/controlplane; CNI plugins and libseccomp from Debian (installed here when missing).
#
# Knobs: NODE_TOOLS_DIR (use this directory instead of the cache), XDG_CACHE_HOME.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
log() { printf '[node/build.sh] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

CONTAINERD=github.com/containerd/containerd/v2@v2.2.9
RUNC=github.com/opencontainers/runc@v1.3.6
REGISTRY=github.com/distribution/distribution/v3@v3.1.2
CRANE=github.com/google/go-containerregistry@v0.22.1

command -v go >/dev/null 2>&1 || die "Go 1.26 or newer is required to build the node's runtime"
export GOTOOLCHAIN=local
# runc's Makefile builds with the seccomp tag; `go install` must be told.
RUNC_TAGS=seccomp
key="$(printf '%s\n' "$CONTAINERD" "$RUNC" "$RUNC_TAGS" "$REGISTRY" "$CRANE" "$(go env GOVERSION)" | sha256sum | cut -c1-12)"
out="${NODE_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/infisical-oidc-operator/node-tools-$key}"
bins=(containerd ctr containerd-shim-runc-v2 runc registry crane)

SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
apt_missing=()
for p in containernetworking-plugins libseccomp-dev pkg-config gcc libc6-dev iproute2 nftables util-linux; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || apt_missing+=("$p")
done
if [ ${#apt_missing[@]} -gt 0 ]; then
  log "apt-get install ${apt_missing[*]}"
  $SUDO apt-get update -qq >&2
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${apt_missing[@]}" >&2
fi

have_all() { for b in "${bins[@]}"; do [ -x "$out/$b" ] || return 1; done; }
if have_all; then echo "$out"; exit 0; fi
mkdir -p "$out"
exec 9>"$out/.lock"; flock 9   # parallel callers wait for one build
if have_all; then echo "$out"; exit 0; fi

started=$(date +%s)
tmp="$(mktemp -d "$out/.build.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
build() { # cgo tags package@version...
  local cgo=$1 tags=$2; shift 2
  log "go install -tags '$tags' $*"
  GOBIN="$tmp" CGO_ENABLED="$cgo" go install -trimpath -tags "$tags" -ldflags "-s -w" "$@"
}
v=${CONTAINERD#*@}; m=${CONTAINERD%@*}
build 0 "" "$m/cmd/containerd@$v" "$m/cmd/ctr@$v" "$m/cmd/containerd-shim-runc-v2@$v"
build 1 "$RUNC_TAGS" "$RUNC"
v=${REGISTRY#*@}; m=${REGISTRY%@*}
build 0 "" "$m/cmd/registry@$v"
v=${CRANE#*@}; m=${CRANE%@*}
build 0 "" "$m/cmd/crane@$v"
for b in "${bins[@]}"; do mv -f "$tmp/$b" "$out/$b"; done
log "built in $(( $(date +%s) - started ))s into $out"
echo "$out"

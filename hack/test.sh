#!/usr/bin/env bash
# test.sh: every test in one command: unit, integration (a real Kubernetes 1.36 control plane + the
# emulator over HTTP), end-to-end (the built operator binary driven through kubectl), packaging
# (helm install/upgrade, kustomize, RBAC), Flux's kstatus and Argo CD's health script under the
# libraries they embed, and the LDAP and SAML harnesses (a private OpenLDAP slapd, a SAML IdP).
# Installs what it needs; exits non-zero on any failure. Every test namespace is deleted at the
# end, and the run fails if one is not gone within two minutes.
#
#   bash hack/test.sh                         # starts a local control plane on 127.0.0.1:26443
#   USE_EXISTING_CLUSTER=1 bash hack/test.sh  # uses $KUBECONFIG instead (kind, k3d, ...)
#   bash hack/test.sh -- controller           # extra arguments go to cargo nextest (a filter here)
set -euo pipefail
cd "$(dirname "$0")/.."
log() { printf '[test.sh] %s\n' "$*" >&2; }
started=$(date +%s)

# Toolchain pieces the image may lack.
if ! command -v cargo >/dev/null 2>&1; then
  log "cargo is required (rustup toolchain)"; exit 1
fi
if ! cargo nextest --version >/dev/null 2>&1; then
  log "installing cargo-nextest from crates.io"
  cargo install cargo-nextest --locked
fi
bash hack/tools.sh >&2
# kubectl of the control plane's own release, so no version skew hides a difference. Against an
# existing cluster without Go, the kubectl on PATH is used.
if [ "${USE_EXISTING_CLUSTER:-0}" != 1 ] || command -v go >/dev/null 2>&1; then
  PATH="$(bash hack/controlplane/build.sh):$PATH"
fi
GITOPS_BIN_DIR="$(bash hack/gitops/build.sh)"
# The LDAP and SAML tests' real servers: Debian's slapd unpacked into a cache (no system daemon),
# and a SAML IdP built from crewjam/saml. Each test starts its own from these.
SLAPD_DIR="$(bash hack/ldap/install.sh)"
SAML_IDP_BIN_DIR="$(bash hack/saml-idp/build.sh)"
export PATH GITOPS_BIN_DIR SLAPD_DIR SAML_IDP_BIN_DIR

export CLUSTER_NAME="${CLUSTER_NAME:-oidc-test}" CLUSTER_PORT="${CLUSTER_PORT:-26443}"
KUBECONFIG="$(bash hack/cluster.sh up)"
export KUBECONFIG
trap 'bash hack/cluster.sh down' EXIT
log "cluster: $KUBECONFIG ($(kubectl version -o json 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["serverVersion"]["gitVersion"])' 2>/dev/null || echo '?'))"

log "building"
cargo build --workspace --all-targets --locked

extra=()
if [ "${1:-}" = "--" ]; then shift; extra=("$@"); fi
log "running tests"
# Doc tests first (nextest does not run them), so the run closes on nextest's summary.
cargo test --workspace --doc --locked -q
status=0
cargo nextest run --workspace --all-targets --locked --no-fail-fast "${extra[@]}" || status=$?
bash hack/test-namespaces.sh delete || status=1
[ "$status" = 0 ] || { log "FAILED after $(( $(date +%s) - started ))s"; exit "$status"; }
log "all tests passed in $(( $(date +%s) - started ))s"

#!/usr/bin/env bash
# test.sh: every test in one command: unit, integration (a real Kubernetes 1.36 + the emulator over
# HTTP), end-to-end (the built operator binary driven through kubectl), packaging (helm
# install/upgrade, kustomize, RBAC), Flux's kstatus and Argo CD's health script under the libraries
# they embed, the LDAP and SAML harnesses (a private OpenLDAP slapd, a SAML IdP), the image
# (reproducible, SBOM), and the product as users run it: the image and chart pushed to a registry
# and installed with helm onto a real node, its pods Ready. Installs what it needs; exits non-zero
# on any failure. Every test namespace is deleted at the end, and the run fails if one is not gone
# within two minutes.
#
#   bash hack/test.sh                         # a local cluster with a node (hack/cluster.sh)
#   USE_EXISTING_CLUSTER=1 bash hack/test.sh  # uses $KUBECONFIG instead (kind, k3d, ...); the
#                                             # node suite (tests/node.rs) is left out
#   bash hack/test.sh -- controller           # extra arguments go to cargo nextest (a filter here)
set -euo pipefail
cd "$(dirname "$0")/.."
log() { printf '[test.sh] %s\n' "$*" >&2; }
started=$(date +%s)
existing="${USE_EXISTING_CLUSTER:-0}"

# Toolchain pieces the machine may lack.
if ! command -v cargo >/dev/null 2>&1; then
  log "cargo is required (rustup toolchain)"; exit 1
fi
if ! cargo nextest --version >/dev/null 2>&1; then
  log "installing cargo-nextest from crates.io"
  cargo install cargo-nextest --locked
fi
bash hack/tools.sh >&2
# The Go builds (the cluster, the harnesses around kstatus, gopher-lua, an OpenID provider and a SAML
# IdP) run beside the Rust builds: each spends long stretches on one core (linking, LTO), so side by
# side they finish sooner. All are cached; the calls after the Rust builds only print where the results are.
mkdir -p .work
(
  [ "$existing" != 1 ] && bash hack/controlplane/build.sh && bash hack/node/build.sh
  bash hack/gitops/build.sh && bash hack/saml-idp/build.sh && bash hack/oidc-provider/build.sh
) >.work/go-builds.log 2>&1 &
go_builds=$!
# The LDAP tests' real server: Debian's slapd unpacked into a cache (no system daemon). Each test
# starts its own.
SLAPD_DIR="$(bash hack/ldap/install.sh)"

log "building"
cargo build --workspace --all-targets --locked
log "building the image"
IMAGE_DIR="$(bash hack/image/build.sh)"
export IMAGE_DIR
wait "$go_builds" || log "a Go build failed in the background (.work/go-builds.log); trying again here"
# kubectl of the cluster's own release, so no version skew hides a difference. Against an existing
# cluster without Go, the kubectl on PATH is used.
if [ "$existing" != 1 ] || command -v go >/dev/null 2>&1; then
  PATH="$(bash hack/controlplane/build.sh):$PATH"
fi
GITOPS_BIN_DIR="$(bash hack/gitops/build.sh)"
SAML_IDP_BIN_DIR="$(bash hack/saml-idp/build.sh)"
# Built here, not on a test's first call: the tests run inside the cluster's network namespace,
# which reaches no Go module proxy.
OIDC_PROVIDER_BIN_DIR="$(bash hack/oidc-provider/build.sh)"
export PATH GITOPS_BIN_DIR SLAPD_DIR SAML_IDP_BIN_DIR OIDC_PROVIDER_BIN_DIR

export CLUSTER_NAME="${CLUSTER_NAME:-oidc-test}"
KUBECONFIG="$(bash hack/cluster.sh up)"
export KUBECONFIG
trap 'bash hack/cluster.sh down' EXIT
in_cluster() { bash hack/cluster.sh exec "$@"; }
log "cluster: $KUBECONFIG ($(in_cluster kubectl version -o json 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["serverVersion"]["gitVersion"])' 2>/dev/null || echo '?'))"

extra=()
if [ "${1:-}" = "--" ]; then shift; extra=("$@"); fi
if [ "$existing" = 1 ]; then
  # The node suite needs a registry and an address that the cluster's pods and this process
  # both reach; an arbitrary cluster gives neither.
  log "USE_EXISTING_CLUSTER=1: leaving out the node suite (tests/node.rs)"
  extra+=(-E 'not binary(node)')
else
  eval "$(bash hack/cluster.sh env)"
  export NODE_IP REGISTRY KAS_STATE_DIR NODE_TOOLS CGROUP_ROOT
  export REGISTRY_CA="$KAS_STATE_DIR/pki/ca.crt"
  log "pushing the image and the chart to https://$REGISTRY"
  eval "$(in_cluster env REGISTRY="$REGISTRY" REGISTRY_CA="$REGISTRY_CA" NODE_TOOLS="$NODE_TOOLS" bash hack/image/publish.sh "$IMAGE_DIR")"
  export OPERATOR_IMAGE_REPOSITORY OPERATOR_IMAGE_DIGEST OPERATOR_CHART OPERATOR_CHART_VERSION
fi

log "running tests"
# Doc tests first (nextest does not run them), so the run closes on nextest's summary.
cargo test --workspace --doc --locked -q
status=0
in_cluster env CARGO_NET_OFFLINE=true cargo nextest run --workspace --all-targets --locked --no-fail-fast "${extra[@]}" || status=$?
in_cluster bash hack/test-namespaces.sh delete || status=1
[ "$status" = 0 ] || { log "FAILED after $(( $(date +%s) - started ))s"; exit "$status"; }
log "all tests passed in $(( $(date +%s) - started ))s"

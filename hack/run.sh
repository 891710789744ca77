#!/usr/bin/env bash
# run.sh: the whole product on this machine, from nothing to a Ready OidcSsoConfig.
#
# Starts a local Kubernetes 1.36 control plane (or uses yours with USE_EXISTING_CLUSTER=1), the Infisical
# emulator on 127.0.0.1:18080, installs the CRD, runs the operator, applies
# examples/discovery-url.yaml (with its Secrets), waits for Ready, and shows the configuration id
# both in the resource's status and in the emulator. Everything is stopped on exit unless --keep.
#
#   bash hack/run.sh           # demo, then clean up
#   bash hack/run.sh --keep    # leave it all running and print how to reach it
set -euo pipefail
cd "$(dirname "$0")/.."
keep=0
[ "${1:-}" = "--keep" ] && keep=1
log() { printf '\033[1m[run.sh]\033[0m %s\n' "$*" >&2; }
work="$PWD/.work"
mkdir -p "$work"
emulator_port="${EMULATOR_PORT:-18080}"
operator_http="${OPERATOR_HTTP_ADDRESS:-127.0.0.1:18081}"
org_id="6f1c0b64-2a4e-4c55-9d1e-0a9b8c7d6e5f"   # the emulator's default demo organisation

command -v kubectl >/dev/null 2>&1 || bash hack/tools.sh >&2
# kubectl of the control plane's own release (see hack/controlplane); an existing cluster without
# Go keeps the kubectl on PATH.
if [ "${USE_EXISTING_CLUSTER:-0}" != 1 ] || command -v go >/dev/null 2>&1; then
  PATH="$(bash hack/controlplane/build.sh):$PATH"
  export PATH
fi
command -v curl >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq curl >/dev/null; }

log "building the operator and the emulator"
cargo build --locked --bins --workspace
bin="$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')/debug"

pids=()
cleanup() {
  if [ "$keep" = 1 ]; then return; fi
  log "cleaning up"
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  done
  bash hack/cluster.sh down
}
trap cleanup EXIT

export CLUSTER_NAME="${CLUSTER_NAME:-oidc}" CLUSTER_PORT="${CLUSTER_PORT:-16443}"
log "starting the control plane"
KUBECONFIG="$(bash hack/cluster.sh up)"
export KUBECONFIG

log "starting infisical-emulator on 127.0.0.1:$emulator_port"
"$bin/infisical-emulator" --listen "127.0.0.1:$emulator_port" > "$work/emulator.out" 2> "$work/emulator.log" &
pids+=($!)
for _ in $(seq 50); do curl -fs "http://127.0.0.1:$emulator_port/api/status" >/dev/null 2>&1 && break; sleep 0.1; done
curl -fs "http://127.0.0.1:$emulator_port/api/status" >/dev/null

log "installing the CRD"
kubectl apply --server-side --force-conflicts --field-manager=infisical-oidc-operator-install -f crds/oidcssoconfigs.yaml >/dev/null
kubectl wait --for=condition=Established crd/oidcssoconfigs.oidc.infisical-operator.io --timeout=60s >/dev/null

log "starting the operator (logs: $work/operator.log)"
# --idp-host-aliases: the example's IdP (idp.example.com) is fictional and this machine may have
# no DNS; the file gives its name an address so the check that IdP hosts resolve passes.
# --default-preflight Warn: the IdP preflight cannot fetch the fictional IdP's documents, so the
# demo records that as a Warning Event (kubectl describe shows it) instead of stopping.
"$bin/infisical-oidc-operator" --allowed-hosts 127.0.0.1 --http-address "$operator_http" \
  --idp-host-aliases hack/demo-idp-hosts --default-preflight Warn > "$work/operator.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do curl -fs "http://$operator_http/readyz" >/dev/null 2>&1 && break; sleep 0.1; done

log "applying examples/discovery-url.yaml"
kubectl apply -f examples/discovery-url.yaml
kubectl wait --for=condition=Ready oidcsso/acme-sso -n default --timeout=120s

echo
kubectl get oidcsso -n default -o wide
echo
id="$(kubectl get oidcsso acme-sso -n default -o jsonpath='{.status.id}')"
echo "status.id in Kubernetes:         $id"
stored="$(curl -fs "http://127.0.0.1:$emulator_port/__emulator/orgs/$org_id")"
echo "config id stored in the emulator: $(printf '%s' "$stored" | python3 -c 'import json,sys; print(json.load(sys.stdin)["config"]["id"])')"
echo "stored configuration (client secret omitted):"
printf '%s' "$stored" | python3 -c '
import json, sys
config = json.load(sys.stdin)["config"]
config.pop("clientSecret", None)
print(json.dumps(config, indent=2, sort_keys=True))'
[ "$id" = "$(printf '%s' "$stored" | python3 -c 'import json,sys; print(json.load(sys.stdin)["config"]["id"])')" ] || { log "ids differ"; exit 1; }

if [ "$keep" = 1 ]; then
  cat <<EOT

Everything keeps running:
  export KUBECONFIG=$KUBECONFIG
  kubectl get oidcsso -A -o wide
  kubectl describe oidcsso acme-sso
  curl http://127.0.0.1:$emulator_port/__emulator/orgs/$org_id      # the emulator's view
  curl http://$operator_http/metrics                                 # operator metrics
  tail -f $work/operator.log
Stop it all with: kill ${pids[*]}; CLUSTER_NAME=$CLUSTER_NAME bash hack/cluster.sh down
EOT
fi

#!/usr/bin/env bash
# run.sh: the whole product on this machine, from nothing to a Ready OidcSsoConfig, run the way its
# users run it.
#
#   1. builds the operator's image (hack/image/build.sh: a static binary, no daemon, no base image);
#   2. starts a local Kubernetes v1.36 with one real node and a registry (hack/cluster.sh), in a
#      network namespace of its own;
#   3. pushes the image and the Helm chart to that registry, and `helm install`s the chart from it
#      into the namespace infisical-oidc-operator, which enforces the `restricted` Pod Security level
#      (two replicas, one holding the leader Lease);
#   4. starts the Infisical emulator over HTTPS on the node's address, applies
#      examples/discovery-url.yaml pointed at it (with the emulator's CA in a Secret, `caBundleRef`),
#      waits for Ready, and prints the pods, the Lease holder, and the configuration id in the
#      resource's status and in the emulator, which must match.
# Everything is stopped and removed on exit unless --keep.
#
#   bash hack/run.sh                  # the product in pods, then clean up
#   bash hack/run.sh --keep           # leave it running and print how to reach it
#   bash hack/run.sh --host-process   # quicker for development: the operator as a process on the
#                                     # node (no image, no helm), the rest the same
#   USE_EXISTING_CLUSTER=1 bash hack/run.sh   # your cluster ($KUBECONFIG) with --host-process: the
#                                     # operator and the emulator run here (see README for kind)
set -euo pipefail
cd "$(dirname "$0")/.."
keep=0 mode=pods
for arg in "$@"; do
  case "$arg" in
    --keep) keep=1 ;;
    --host-process) mode=process ;;
    *) echo "usage: $0 [--keep] [--host-process]" >&2; exit 2 ;;
  esac
done
existing="${USE_EXISTING_CLUSTER:-0}"
[ "$existing" = 1 ] && mode=process
log() { printf '\033[1m[run.sh]\033[0m %s\n' "$*" >&2; }
started=$(date +%s)
work="$PWD/.work/run"
mkdir -p "$work"
org_id="6f1c0b64-2a4e-4c55-9d1e-0a9b8c7d6e5f"   # the emulator's default demo organisation
release=infisical-oidc-operator
namespace=infisical-oidc-operator

bash hack/tools.sh >&2
if [ "$existing" != 1 ] || command -v go >/dev/null 2>&1; then
  PATH="$(bash hack/controlplane/build.sh):$PATH"
  export PATH
fi
log "building the operator and the emulator"
cargo build --locked --bins --workspace
bin="$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')/debug"
if [ "$mode" = pods ]; then
  log "building the image"
  image_dir="$(IMAGE_SKIP_SBOM=1 bash hack/image/build.sh)"
fi

pids=()
export CLUSTER_NAME="${CLUSTER_NAME:-oidc}"
cleanup() {
  local status=$?
  if [ "$keep" = 1 ] && [ "$status" = 0 ]; then return; fi
  log "cleaning up"
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  done
  bash hack/cluster.sh down
}
trap cleanup EXIT

log "starting the cluster"
KUBECONFIG="$(bash hack/cluster.sh up)"
export KUBECONFIG
in_cluster() { bash hack/cluster.sh exec "$@"; }
if [ "$existing" = 1 ]; then
  node_ip=127.0.0.1
else
  eval "$(bash hack/cluster.sh env)"
  node_ip="$NODE_IP"
fi

# The emulator over HTTPS with a certificate for the node's address, from a CA of its own.
pki="$work/pki"
rm -rf "$pki" && mkdir -p "$pki"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj "/CN=demo emulator CA" \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign" \
  -keyout "$pki/ca.key" -out "$pki/ca.crt" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/CN=$node_ip" \
  -keyout "$pki/emulator.key" -out "$pki/emulator.csr" 2>/dev/null
printf 'subjectAltName=IP:%s\nextendedKeyUsage=serverAuth\n' "$node_ip" > "$pki/ext"
openssl x509 -req -days 2 -in "$pki/emulator.csr" -CA "$pki/ca.crt" -CAkey "$pki/ca.key" -CAcreateserial \
  -extfile "$pki/ext" -out "$pki/emulator.crt" 2>/dev/null
emulator="https://$node_ip:18443"
log "starting infisical-emulator on $emulator"
in_cluster "$bin/infisical-emulator" --listen "$node_ip:18443" --tls-cert "$pki/emulator.crt" --tls-key "$pki/emulator.key" \
  > "$work/emulator.out" 2> "$work/emulator.log" &
pids+=($!)
emulator_get() { in_cluster curl -fsS --cacert "$pki/ca.crt" "$emulator$1"; }
for _ in $(seq 100); do emulator_get /api/status >/dev/null 2>&1 && break; sleep 0.1; done
emulator_get /api/status >/dev/null

log "installing the CRD"
in_cluster kubectl apply --server-side --force-conflicts --field-manager=infisical-oidc-operator-install -f crds/oidcssoconfigs.yaml -f crds/samlssoconfigs.yaml -f crds/ldapssoconfigs.yaml >/dev/null
in_cluster kubectl wait --for=condition=Established crd/oidcssoconfigs.oidc.infisical-operator.io crd/samlssoconfigs.oidc.infisical-operator.io crd/ldapssoconfigs.oidc.infisical-operator.io --timeout=60s >/dev/null

if [ "$mode" = pods ]; then
  log "pushing the image and the chart to https://$REGISTRY"
  eval "$(in_cluster env REGISTRY="$REGISTRY" REGISTRY_CA="$KAS_STATE_DIR/pki/ca.crt" NODE_TOOLS="$NODE_TOOLS" \
    bash hack/image/publish.sh "$image_dir")"
  in_cluster kubectl create namespace "$namespace" >/dev/null
  in_cluster kubectl label namespace "$namespace" pod-security.kubernetes.io/enforce=restricted \
    pod-security.kubernetes.io/enforce-version=latest >/dev/null
  log "helm install $release $OPERATOR_CHART --version $OPERATOR_CHART_VERSION"
  # The CRD is installed above (the README's flow for a cluster that has it already). The
  # examples' IdP (idp.example.com) is fictional: hostAliases gives the pods its address, and
  # preflight Warn records that its documents cannot be fetched instead of stopping.
  in_cluster helm install "$release" "$OPERATOR_CHART" --version "$OPERATOR_CHART_VERSION" \
    --ca-file "$KAS_STATE_DIR/pki/ca.crt" --namespace "$namespace" \
    --set crds.install=false \
    --set image.repository="$OPERATOR_IMAGE_REPOSITORY" --set image.digest="$OPERATOR_IMAGE_DIGEST" \
    --set "operator.allowedHosts={$node_ip}" \
    --set 'hostAliases[0].ip=93.184.215.14' --set 'hostAliases[0].hostnames[0]=idp.example.com' \
    --set 'operator.extraArgs={--default-preflight=Warn}' >/dev/null
  in_cluster kubectl rollout status "deployment/$release" -n "$namespace" --timeout=180s >&2
else
  log "starting the operator as a process (logs: $work/operator.log)"
  # --idp-host-aliases: the examples' IdP (idp.example.com) is fictional; the file gives its name
  # an address. --default-preflight Warn: its documents cannot be fetched; recorded as a Warning.
  in_cluster "$bin/infisical-oidc-operator" --allowed-hosts "$node_ip" --http-address 127.0.0.1:18081 \
    --idp-host-aliases hack/demo-idp-hosts --default-preflight Warn > "$work/operator.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 100); do in_cluster curl -fs http://127.0.0.1:18081/readyz >/dev/null 2>&1 && break; sleep 0.1; done
fi

log "applying examples/discovery-url.yaml, pointed at $emulator"
in_cluster kubectl create secret generic infisical-ca -n default --from-file=ca.crt="$pki/ca.crt" \
  --dry-run=client -o yaml | in_cluster kubectl apply -f - >/dev/null
python3 - "$emulator" > "$work/discovery-url.yaml" <<'PY'
import sys
text = open("examples/discovery-url.yaml").read()
old = "  hostAPI: http://127.0.0.1:18080        # Infisical Cloud: https://app.infisical.com\n"
assert old in text, "examples/discovery-url.yaml no longer has the hostAPI line run.sh rewrites"
print(text.replace(old, f"  hostAPI: {sys.argv[1]}\n  caBundleRef: {{name: infisical-ca, key: ca.crt}}\n"), end="")
PY
in_cluster kubectl apply -f "$work/discovery-url.yaml"
in_cluster kubectl wait --for=condition=Ready oidcsso/acme-sso -n default --timeout=120s

echo
in_cluster kubectl get oidcsso -n default -o wide
if [ "$mode" = pods ]; then
  echo
  in_cluster kubectl get pods -n "$namespace" -o wide
  echo "Lease holder: $(in_cluster kubectl get lease "$release" -n "$namespace" -o jsonpath='{.spec.holderIdentity}')"
fi
echo
id="$(in_cluster kubectl get oidcsso acme-sso -n default -o jsonpath='{.status.id}')"
stored="$(emulator_get "/__emulator/orgs/$org_id" | python3 -c 'import json,sys; print(json.load(sys.stdin)["config"]["id"])')"
echo "status.id in Kubernetes:         $id"
echo "config id stored in the emulator: $stored"
[ -n "$id" ] && [ "$id" = "$stored" ] || { log "the ids differ"; exit 1; }
log "done in $(( $(date +%s) - started ))s"

if [ "$keep" = 1 ]; then
  cat <<EOT

Everything keeps running. The cluster lives in the network namespace oidc-$CLUSTER_NAME: reach it
through hack/cluster.sh exec, which runs a command there:
  export KUBECONFIG=$KUBECONFIG
  bash hack/cluster.sh exec kubectl get oidcsso -A -o wide
  bash hack/cluster.sh exec kubectl describe oidcsso acme-sso
  bash hack/cluster.sh exec kubectl logs -n $namespace deploy/$release
  bash hack/cluster.sh exec curl --cacert $pki/ca.crt $emulator/__emulator/orgs/$org_id
Stop it all with: kill ${pids[*]}; CLUSTER_NAME=$CLUSTER_NAME bash hack/cluster.sh down
EOT
fi

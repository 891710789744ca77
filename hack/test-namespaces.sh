#!/usr/bin/env bash
# test-namespaces.sh delete: delete every namespace (and cluster-wide binding) the tests created (label
# test.infisical-operator.io/namespace=true) and wait until kube-controller-manager has really
# removed them. No operator runs any more at this point, so the finalizers of OidcSsoConfigs left
# in those namespaces are removed first: nothing else would ever remove them.
#
# Exits non-zero when a namespace is still there after NAMESPACE_DELETE_TIMEOUT seconds (120).
set -euo pipefail
log() { printf '[test-namespaces.sh] %s\n' "$*" >&2; }
label="test.infisical-operator.io/namespace=true"
timeout="${NAMESPACE_DELETE_TIMEOUT:-120}"
[ "${1:-}" = delete ] || { echo "usage: $0 delete" >&2; exit 2; }

namespaces=$(kubectl get namespaces -l "$label" -o jsonpath='{.items[*].metadata.name}')
count=$(wc -w <<<"$namespaces")
[ "$count" -gt 0 ] || { log "no test namespaces left"; exit 0; }
started=$(date +%s)
for ns in $namespaces; do
  for kind in oidcssoconfig samlssoconfig; do
    for name in $(kubectl get "${kind}s" -n "$ns" -o jsonpath='{.items[*].metadata.name}' 2>/dev/null); do
      kubectl patch "$kind" "$name" -n "$ns" --type=merge -p '{"metadata":{"finalizers":null}}' >/dev/null 2>&1 || true
    done
  done
done
kubectl delete namespaces -l "$label" --wait=false >/dev/null
# Cluster-wide objects tests label the same way (the Kubernetes Auth reviewers' bindings).
kubectl delete clusterrolebindings -l "$label" --ignore-not-found >/dev/null
while :; do
  left=$(kubectl get namespaces -l "$label" -o jsonpath='{.items[*].metadata.name}')
  [ -z "$left" ] && break
  if [ $(( $(date +%s) - started )) -ge "$timeout" ]; then
    log "still present after ${timeout}s: $left"
    kubectl get namespaces -l "$label" -o jsonpath='{range .items[*]}{.metadata.name}: {.status.conditions}{"\n"}{end}' >&2 || true
    exit 1
  fi
  sleep 1
done
log "deleted $count test namespaces in $(( $(date +%s) - started ))s"

#!/usr/bin/env bash
# publish.sh IMAGE_DIR: push the image hack/image/build.sh wrote, and the Helm chart, to the local
# cluster's registry, as a release pushes them to a public one. Run it where the registry is
# reachable (`bash hack/cluster.sh exec bash hack/image/publish.sh ...`). Prints shell assignments
# for what was pushed on stdout:
#
#   OPERATOR_IMAGE_REPOSITORY=<registry>/infisical-oidc-operator
#   OPERATOR_IMAGE_DIGEST=sha256:...
#   OPERATOR_CHART=oci://<registry>/charts/infisical-oidc-operator
#   OPERATOR_CHART_VERSION=<the chart's version>
#
# Needs: REGISTRY (host:port), REGISTRY_CA (the registry's CA certificate), NODE_TOOLS (crane).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
log() { printf '[image/publish.sh] %s\n' "$*" >&2; }
image_dir=${1:?usage: publish.sh IMAGE_DIR}
: "${REGISTRY:?}" "${REGISTRY_CA:?}" "${NODE_TOOLS:?}"

name="$(cut -d: -f1 < "$image_dir/ref")"
tag="$(cut -d: -f2 < "$image_dir/ref")"
digest="$(cat "$image_dir/digest")"
# Go's TLS stack (crane) reads the trusted CAs from SSL_CERT_FILE.
SSL_CERT_FILE="$REGISTRY_CA" "$NODE_TOOLS/crane" push "$image_dir/layout" "$REGISTRY/$name:$tag" >/dev/null
pushed="$(SSL_CERT_FILE="$REGISTRY_CA" "$NODE_TOOLS/crane" digest "$REGISTRY/$name:$tag")"
[ "$pushed" = "$digest" ] || { log "the registry has $pushed for $name:$tag, not $digest"; exit 1; }
log "pushed $REGISTRY/$name:$tag@$digest"

chart_dir="$repo/charts/infisical-oidc-operator"
version="$(sed -nE 's/^version: *"?([^"]+)"?$/\1/p' "$chart_dir/Chart.yaml")"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
helm package "$chart_dir" -d "$tmp" >/dev/null
helm push "$tmp/infisical-oidc-operator-$version.tgz" "oci://$REGISTRY/charts" --ca-file "$REGISTRY_CA" >&2
log "pushed oci://$REGISTRY/charts/infisical-oidc-operator:$version"

echo "OPERATOR_IMAGE_REPOSITORY=$REGISTRY/$name"
echo "OPERATOR_IMAGE_DIGEST=$digest"
echo "OPERATOR_CHART=oci://$REGISTRY/charts/infisical-oidc-operator"
echo "OPERATOR_CHART_VERSION=$version"

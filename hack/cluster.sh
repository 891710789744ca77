#!/usr/bin/env bash
# cluster.sh up|down: a Kubernetes API server for tests and the demo.
#
#   up    prints a kubeconfig path on stdout. With USE_EXISTING_CLUSTER=1 it prints $KUBECONFIG
#         (a kind, k3d or any cluster you point it at) and starts nothing. Otherwise it starts a
#         current etcd + kube-apiserver + kube-controller-manager on 127.0.0.1 with hack/start.sh
#         (built once from Go module sources by hack/controlplane/build.sh and cached).
#   down  stops only what `up` started (by recorded pid).
#
# Knobs: CLUSTER_NAME (state dir suffix, default "oidc"), CLUSTER_PORT (default 16443; etcd uses
# CLUSTER_PORT-4064 and -4063), KAS_READY_TIMEOUT.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
name="${CLUSTER_NAME:-oidc}"
port="${CLUSTER_PORT:-16443}"
state="/dev/shm/kas-$name"

case "${1:-}" in
  up)
    if [ "${USE_EXISTING_CLUSTER:-0}" = 1 ]; then
      [ -n "${KUBECONFIG:-}" ] || { echo "USE_EXISTING_CLUSTER=1 needs KUBECONFIG" >&2; exit 1; }
      echo "$KUBECONFIG"
      exit 0
    fi
    if [ -f "$state/kube-apiserver.pid" ] && kill -0 "$(cat "$state/kube-apiserver.pid")" 2>/dev/null; then
      echo "$state/kubeconfig"   # already running (e.g. `hack/run.sh --keep` earlier)
      exit 0
    fi
    [ -d "$state" ] && KAS_STATE_DIR="$state" bash "$here/stop.sh" "$state" >&2 || true
    KAS_STATE_DIR="$state" KAS_PORT="$port" KAS_ETCD_PORT="$((port - 4064))" KAS_ETCD_PEER_PORT="$((port - 4063))" \
      bash "$here/start.sh" "$state/kubeconfig"
    ;;
  down)
    [ "${USE_EXISTING_CLUSTER:-0}" = 1 ] && exit 0
    [ -d "$state" ] && KAS_STATE_DIR="$state" bash "$here/stop.sh" "$state" >&2 || true
    ;;
  *)
    echo "usage: $0 up|down" >&2
    exit 2
    ;;
esac

#!/usr/bin/env bash
# cluster.sh up|down|exec|env: the local Kubernetes for tests and the demo.
#
#   up     prints a kubeconfig path on stdout. With USE_EXISTING_CLUSTER=1 it prints $KUBECONFIG
#          (a kind, k3d or any cluster you point it at) and starts nothing. Otherwise hack/start.sh
#          starts a Kubernetes v1.36 control plane and one real node (kubelet, kube-proxy,
#          containerd, runc) with a local registry, inside the network namespace `oidc-<name>`.
#   down   stops only what `up` started and removes what it created (hack/stop.sh).
#   exec   runs a command inside the cluster's network namespace, where its addresses are
#          reachable (the API server, the registry, pods and Services); with USE_EXISTING_CLUSTER=1
#          it runs the command as it is.
#   env    prints the cluster's settings (NODE_IP, REGISTRY, the state and tool directories...) as
#          shell assignments.
#
# Knobs: CLUSTER_NAME (default "oidc"), CLUSTER_NODE (1: with the node, the default; 0: the control
# plane alone), KAS_READY_TIMEOUT.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
name="${CLUSTER_NAME:-oidc}"
state="/dev/shm/kas-$name"
netns="oidc-$name"
existing="${USE_EXISTING_CLUSTER:-0}"

running() { [ -f "$state/pids/kube-apiserver" ] && kill -0 "$(cat "$state/pids/kube-apiserver")" 2>/dev/null; }

case "${1:-}" in
  up)
    if [ "$existing" = 1 ]; then
      [ -n "${KUBECONFIG:-}" ] || { echo "USE_EXISTING_CLUSTER=1 needs KUBECONFIG" >&2; exit 1; }
      echo "$KUBECONFIG"
      exit 0
    fi
    if running; then
      echo "$state/kubeconfig"   # already running (e.g. `hack/run.sh --keep` earlier)
      exit 0
    fi
    [ -d "$state" ] && KAS_STATE_DIR="$state" bash "$here/stop.sh" >&2
    KAS_STATE_DIR="$state" CLUSTER_NETNS="$netns" bash "$here/start.sh"
    ;;
  down)
    [ "$existing" = 1 ] && exit 0
    [ -d "$state" ] && KAS_STATE_DIR="$state" bash "$here/stop.sh" >&2 || true
    ;;
  exec)
    shift
    [ "$existing" = 1 ] && exec "$@"
    [ -e "/run/netns/$netns" ] || { echo "cluster $name is not running (hack/cluster.sh up)" >&2; exit 1; }
    exec nsenter --net="/run/netns/$netns" "$@"
    ;;
  env)
    [ "$existing" = 1 ] && exit 0
    [ -f "$state/env" ] || { echo "cluster $name is not running (hack/cluster.sh up)" >&2; exit 1; }
    cat "$state/env"
    echo "KAS_STATE_DIR=$state"
    ;;
  *)
    echo "usage: $0 up|down|exec COMMAND...|env" >&2
    exit 2
    ;;
esac

#!/usr/bin/env bash
# sandbox.sh: started by hack/start.sh inside the cluster's own network namespace and a private
# mount namespace (`nsenter --net=… unshare --mount --propagation private`). Hides the host paths
# the node would write to, stands in for the three kernel settings the kubelet would change, then
# starts every component in the background and returns. Everything it mounts lives and dies with
# this mount namespace; every process it starts is recorded in $STATE/pids/ for hack/stop.sh.
#
# Needs (from start.sh): STATE, NODE (1 or 0), NODE_IP, NODE_NAME, CGROUP_ROOT, POD_CIDR, CLUSTER_CIDR,
# SERVICE_CIDR, CONTROLPLANE_BIN, NODE_TOOLS, SANDBOX_IMAGE, REGISTRY.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
log() { printf '[sandbox.sh] %s\n' "$*" >&2; }
P="$STATE/pki"
mkdir -p "$STATE"/{pids,logs,etcd,kubelet,pod-logs,containerd/certs.d/"$REGISTRY",cni/conf,cni/ipam,registry,varlib,varlog,sysctl,flexvolume,apiserver-certs}

render() { # template destination
  sed -e "s|@STATE@|$STATE|g" -e "s|@NODE_IP@|$NODE_IP|g" -e "s|@NODE_NAME@|$NODE_NAME|g" \
      -e "s|@CGROUP_ROOT@|$CGROUP_ROOT|g" -e "s|@POD_CIDR@|$POD_CIDR|g" -e "s|@CLUSTER_CIDR@|$CLUSTER_CIDR|g" \
      -e "s|@NODE_TOOLS@|$NODE_TOOLS|g" -e "s|@SANDBOX_IMAGE@|$SANDBOX_IMAGE|g" -e "s|@REGISTRY@|$REGISTRY|g" \
      "$here/config/$1" > "$2"
}

start() { # name command...   (stdout and stderr to logs/NAME.log, pid to pids/NAME)
  local name=$1; shift
  setsid nohup "$@" </dev/null >"$STATE/logs/$name.log" 2>&1 &
  echo $! > "$STATE/pids/$name"
}

# Private to this mount namespace: the kubelet's hard-coded /var/lib/kubelet/device-plugins and the
# CNI cache (/var/lib/cni), /var/log/pods and /var/log/containers, and /run (containerd's shim
# sockets, pod network namespaces, NRI).
mount --bind "$STATE/varlib" /var/lib
mount --bind "$STATE/varlog" /var/log
mount -t tmpfs -o mode=755 oidc-node-run /run
mkdir -p /run/netns /run/containerd
if [ "$NODE" = 1 ]; then
  # The kubelet sets vm.overcommit_memory=1, kernel.panic=10 and kernel.panic_on_oops=1, which are
  # global to the machine: it finds those values already in place here, in files over the entries.
  echo 1 > "$STATE/sysctl/one"
  echo 10 > "$STATE/sysctl/ten"
  mount --bind "$STATE/sysctl/one" /proc/sys/vm/overcommit_memory
  mount --bind "$STATE/sysctl/ten" /proc/sys/kernel/panic
  mount --bind "$STATE/sysctl/one" /proc/sys/kernel/panic_on_oops
fi

# etcd reads ETCD_* variables as flags: none from the caller.
for v in $(compgen -e | grep '^ETCD_' || true); do unset "$v"; done
start etcd "$CONTROLPLANE_BIN/etcd" --name oidc-etcd --data-dir "$STATE/etcd" \
  --listen-client-urls http://127.0.0.1:2379 --advertise-client-urls http://127.0.0.1:2379 \
  --listen-peer-urls http://127.0.0.1:2380 --initial-advertise-peer-urls http://127.0.0.1:2380 \
  --initial-cluster oidc-etcd=http://127.0.0.1:2380 --initial-cluster-state new \
  --logger zap --log-outputs stderr --log-level warn

cp "$here/config/audit-policy.yaml" "$STATE/audit-policy.yaml"
start kube-apiserver "$CONTROLPLANE_BIN/kube-apiserver" \
  --bind-address=0.0.0.0 --advertise-address="$NODE_IP" --secure-port=6443 \
  --etcd-servers=http://127.0.0.1:2379 \
  --tls-cert-file="$P/apiserver.crt" --tls-private-key-file="$P/apiserver.key" --client-ca-file="$P/ca.crt" \
  --cert-dir="$STATE/apiserver-certs" \
  --service-account-issuer=https://kubernetes.default.svc.cluster.local --service-account-key-file="$P/sa.pub" \
  --service-account-signing-key-file="$P/sa.key" \
  --service-cluster-ip-range="$SERVICE_CIDR" \
  --authorization-mode=Node,RBAC --enable-admission-plugins=NodeRestriction \
  --allow-privileged=true --profiling=false \
  --kubelet-client-certificate="$P/apiserver-kubelet-client.crt" --kubelet-client-key="$P/apiserver-kubelet-client.key" \
  --kubelet-certificate-authority="$P/ca.crt" --kubelet-preferred-address-types=InternalIP \
  --audit-policy-file="$STATE/audit-policy.yaml" --audit-log-path="$STATE/audit.log" \
  --audit-log-format=json --audit-log-maxsize=64 --audit-log-maxbackup=1 \
  --v=1

curl_admin=(curl -fsS -m 5 --cacert "$P/ca.crt" --cert "$P/admin.crt" --key "$P/admin.key")
for _ in $(seq 1 600); do
  [ "$("${curl_admin[@]}" "https://$NODE_IP:6443/readyz" 2>/dev/null)" = ok ] && break
  kill -0 "$(cat "$STATE/pids/kube-apiserver")" 2>/dev/null || { tail -30 "$STATE/logs/kube-apiserver.log" >&2; exit 1; }
  sleep 0.2
done

start kube-controller-manager "$CONTROLPLANE_BIN/kube-controller-manager" \
  --kubeconfig="$P/admin.kubeconfig" --secure-port=0 --leader-elect=false \
  --controllers='*' --flex-volume-plugin-dir="$STATE/flexvolume" \
  --allocate-node-cidrs=true --cluster-cidr="$CLUSTER_CIDR" --node-cidr-mask-size=24 \
  --service-cluster-ip-range="$SERVICE_CIDR" \
  --service-account-private-key-file="$P/sa.key" --root-ca-file="$P/ca.crt" \
  --use-service-account-credentials=false --v=1
[ "$NODE" = 1 ] || exit 0

start kube-scheduler "$CONTROLPLANE_BIN/kube-scheduler" --kubeconfig="$P/admin.kubeconfig" \
  --leader-elect=false --bind-address=127.0.0.1 --v=1

render registry.yaml "$STATE/registry.yaml"
start registry "$NODE_TOOLS/registry" serve "$STATE/registry.yaml"

render containerd.toml "$STATE/containerd.toml"
render hosts.toml "$STATE/containerd/certs.d/$REGISTRY/hosts.toml"
render cni.conflist "$STATE/cni/conf/10-oidc-node.conflist"
start containerd "$NODE_TOOLS/containerd" --config "$STATE/containerd.toml"
for _ in $(seq 1 100); do [ -S "$STATE/containerd/containerd.sock" ] && break; sleep 0.1; done

render kubelet.yaml "$STATE/kubelet.yaml"
start kubelet "$CONTROLPLANE_BIN/kubelet" --config="$STATE/kubelet.yaml" --kubeconfig="$P/kubelet.kubeconfig" \
  --root-dir="$STATE/kubelet" --hostname-override="$NODE_NAME" --node-ip="$NODE_IP" --v=1

render kube-proxy.yaml "$STATE/kube-proxy.yaml"
start kube-proxy "$CONTROLPLANE_BIN/kube-proxy" --config="$STATE/kube-proxy.yaml" --v=1

#!/usr/bin/env bash
# pki.sh DIR NODE_IP NODE_NAME: the local cluster's certificates, keys and kubeconfigs, one CA for all.
#
#   ca            signs everything below; also the CA the registry's clients trust
#   apiserver     serving: the node IP, the `kubernetes` Service IP (10.96.0.1), loopback, the
#                 Service's DNS names
#   admin         client, system:masters (tests, kubectl, the controller manager and scheduler)
#   kubelet       client, system:node:NODE_NAME (the Node authorizer and NodeRestriction)
#   kubelet-serving   the kubelet's own endpoint (logs, exec, port-forward), verified by the API server
#   apiserver-kubelet-client   the API server's client certificate towards the kubelet
#   registry      serving, the node IP (the local OCI registry)
#   sa.key/sa.pub service-account token signing
set -euo pipefail
dir=$1 node_ip=$2 node_name=$3
mkdir -p "$dir"
cd "$dir"
umask 077
# ECDSA P-256 throughout: as strong as RSA-3072 for this purpose and generated in milliseconds.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -sha256 -days 3650 -keyout ca.key -out ca.crt -subj "/CN=oidc-test-ca" \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
cert() { # name subject extended-key-usage [subject-alt-names]
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -sha256 -keyout "$1.key" -out "$1.csr" -subj "$2" 2>/dev/null
  { printf 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=%s\n' "$3"
    [ -n "${4:-}" ] && printf 'subjectAltName=%s\n' "$4"; } > "$1.ext"
  openssl x509 -req -sha256 -days 3650 -in "$1.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -out "$1.crt" \
    -extfile "$1.ext" 2>/dev/null
  rm -f "$1.csr" "$1.ext"
}
cert apiserver "/CN=kube-apiserver" serverAuth \
  "IP:$node_ip,IP:10.96.0.1,IP:127.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local"
cert admin "/O=system:masters/CN=oidc-test-admin" clientAuth
cert kubelet "/O=system:nodes/CN=system:node:$node_name" clientAuth
cert kubelet-serving "/O=system:nodes/CN=system:node:$node_name" serverAuth "IP:$node_ip,DNS:$node_name"
cert apiserver-kubelet-client "/O=system:masters/CN=kube-apiserver-kubelet-client" clientAuth
cert registry "/CN=oidc-test-registry" serverAuth "IP:$node_ip"
openssl ecparam -name prime256v1 -genkey -noout -out sa.key 2>/dev/null
openssl ec -in sa.key -pubout -out sa.pub 2>/dev/null
# Readable by the tests and the registry's clients: the CA certificate only.
chmod 644 ca.crt

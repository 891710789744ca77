#!/usr/bin/env bash
# bench.sh: the scale benchmark (benches/scale.rs) against a real kube-apiserver, with the release
# operator binary as a separate process and the Infisical emulator in-process. Prints a table of
# figures, each against a floor measured in the same run and each naming the operator settings it
# was measured with (raw budget, or the shipped defaults); the output is kept in .work/bench.txt.
# Fails (non-zero) on a duplicate create in any phase (per kind in the mixed phase), on a write in
# the mixed phase's idle resync, or when the operator sent more Infisical reads or writes in some
# 60-second window than its shipped budget allows.
#
#   bash hack/bench.sh                          # its own control plane (no node: the bench runs the
#                                               # operator as a process), in its network namespace
#   USE_EXISTING_CLUSTER=1 bash hack/bench.sh   # $KUBECONFIG instead (kind, k3d, ...)
#   BENCH_LARGE=0 bash hack/bench.sh            # skip the 10,000-object phase
#   BENCH_PHASES=mixed bash hack/bench.sh       # the floors and the mixed phase only (every kind)
#
# Knobs (see benches/scale.rs): BENCH_PHASES (all; or mixed, oidc), BENCH_N (1000), BENCH_LATENCY_SAMPLES (50), BENCH_LARGE (1 here),
# BENCH_LARGE_TOTAL (10000), BENCH_BUDGET_N (120 creates with the shipped budget, about 4 minutes;
# 0 skips), BENCH_RESTART_TIMEOUT_S (120), BENCH_OPERATOR_BIN (another operator build, e.g. with
# another allocator). The operator inherits the environment (e.g. MALLOC_ARENA_MAX). Needs only
# what hack/test.sh needs (cargo; the cluster from cluster.sh). Set CARGO_TARGET_DIR to share a
# target directory.
set -euo pipefail
cd "$(dirname "$0")/.."
log() { printf '[bench.sh] %s\n' "$*" >&2; }
started=$(date +%s)

command -v cargo >/dev/null 2>&1 || { log "cargo is required (rustup toolchain)"; exit 1; }

export CLUSTER_NAME="${CLUSTER_NAME:-oidc-bench}" CLUSTER_NODE="${CLUSTER_NODE:-0}"
KUBECONFIG="$(bash hack/cluster.sh up)"
export KUBECONFIG
trap 'bash hack/cluster.sh down' EXIT

export BENCH_LARGE="${BENCH_LARGE:-1}"
if [ "${USE_EXISTING_CLUSTER:-0}" != 1 ]; then
  # Our own throwaway server: report its memory as context, and skip the per-object cleanup.
  state="/dev/shm/kas-$CLUSTER_NAME"
  [ -f "$state/pids/kube-apiserver" ] && export BENCH_APISERVER_PID="$(cat "$state/pids/kube-apiserver")"
  [ -f "$state/pids/etcd" ] && export BENCH_ETCD_PID="$(cat "$state/pids/etcd")"
  export BENCH_SKIP_CLEANUP="${BENCH_SKIP_CLEANUP:-1}"
fi

# The mixed phase's LdapSsoConfig resources need a directory the emulator can bind to: one
# private slapd (tests/support/ldap.rs), from the unpacked Debian package.
SLAPD_DIR="$(bash hack/ldap/install.sh)"
export SLAPD_DIR

mkdir -p .work
log "building (release)"
cargo bench --locked --bench scale --no-run
log "running against $KUBECONFIG"
set +e
bash hack/cluster.sh exec env CARGO_NET_OFFLINE=true cargo bench --locked --bench scale 2>&1 | tee .work/bench.txt
status=${PIPESTATUS[0]}
set -e
log "finished with status $status in $(( $(date +%s) - started ))s; output in .work/bench.txt"
exit "$status"

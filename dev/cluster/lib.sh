# Shared by up.sh and down.sh: where the local cluster keeps its state, its ports, small helpers.
repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
STATE=${SLUICE_CLUSTER_DIR:-$repo_root/.cluster}
KUBECONFIG_PATH=$STATE/kubeconfig
# Uncommon ports so a developer's own cluster on the usual ones is left alone.
ETCD_PORT=${SLUICE_ETCD_PORT:-12379}
ETCD_PEER_PORT=${SLUICE_ETCD_PEER_PORT:-12380}
APISERVER_PORT=${SLUICE_APISERVER_PORT:-16443}
KCM_PORT=${SLUICE_KCM_PORT:-20257}
SCHEDULER_PORT=${SLUICE_SCHEDULER_PORT:-20259}
# kwok's kubelet server: the apiserver reaches it for `kubectl logs` and friends.
KWOK_KUBELET_PORT=${SLUICE_KWOK_KUBELET_PORT:-20250}
COMPONENTS=(etcd kube-apiserver kube-controller-manager kube-scheduler kwok)

say() { printf '[cluster] %s\n' "$*" >&2; }
die() { printf '[cluster] error: %s\n' "$*" >&2; exit 1; }
kctl() { "$KUBERNETES_BIN/kubectl" --kubeconfig="$KUBECONFIG_PATH" "$@"; }

binaries_present() {
  local b
  for b in "$ETCD_BIN/etcd" "$KWOK_BIN/kwok" "$KUSTOMIZE_BIN/kustomize" "$SOPS_BIN/sops" "$AGE_BIN/age-keygen" \
    "$REGISTRY_BIN/registry" \
    "$KUBERNETES_BIN/kube-apiserver" \
    "$KUBERNETES_BIN/kube-controller-manager" "$KUBERNETES_BIN/kube-scheduler" "$KUBERNETES_BIN/kubectl"; do
    [ -x "$b" ] || return 1
  done
  [ -f "$KUSTOMIZE_WASM/kustomize.wasm" ] && [ -d "$KWOK_BIN/stages" ]
}

# The pid recorded for a component, if that process is alive and still runs the binary we started.
our_pid() {
  local f=$STATE/pids/$1 pid exe
  [ -f "$f" ] || return 1
  pid=$(cat "$f")
  exe=$(readlink "/proc/$pid/exe" 2>/dev/null) || return 1
  exe=${exe% (deleted)}   # the binary may have been rebuilt since it started
  [ "$(basename "$exe")" = "$1" ] || return 1
  echo "$pid"
}

cluster_running() {
  local c
  for c in "${COMPONENTS[@]}"; do our_pid "$c" >/dev/null || return 1; done
}

#!/usr/bin/env bash
# Starts a real local control plane: etcd, kube-apiserver, kube-controller-manager, kube-scheduler and kwok
# (fake nodes), all on 127.0.0.1, and writes .cluster/kubeconfig. A second call while it is up does nothing.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/versions.sh"
. "$here/lib.sh"

ensure_binaries() {
  if binaries_present; then return; fi
  mkdir -p "$SLUICE_CACHE_DIR"
  local log=$SLUICE_CACHE_DIR/build.log
  say "the control-plane binaries are not cached yet: building them from the Go module proxy"
  say "(from empty Go caches it took $COLD_BUILD on 2-core machines; full log: $log)"
  # In a process group of its own, so that an interrupted start stops the whole build. Go's build cache keeps
  # what was compiled, so the next start goes on from there.
  setsid bash "$here/build.sh" >"$log" 2>&1 </dev/null &
  local build_pid=$! started=$SECONDS shown=0 now quiet_since=$SECONDS
  trap "kill -TERM -- -$build_pid 2>/dev/null; say 'build stopped'; exit 130" INT TERM HUP
  while kill -0 "$build_pid" 2>/dev/null; do
    now=$(show_new_progress "$log" "$shown")
    if [ "$now" -gt "$shown" ]; then
      shown=$now quiet_since=$SECONDS
    elif [ $((SECONDS - quiet_since)) -ge 20 ]; then
      say "$(now_doing "$log" $((SECONDS - started)))"
      quiet_since=$SECONDS
    fi
    sleep 1
  done
  trap - INT TERM HUP
  show_new_progress "$log" "$shown" >/dev/null
  if ! wait "$build_pid"; then
    tail -n 30 "$log" >&2
    die "building the control plane failed; see $log"
  fi
}

# A step can compile for minutes: "  step 5/8 +3m10s: compiling k8s.io/apiserver/pkg/server", from the step's
# line and the last package `go build -v` (or module `go get`) named in the log.
now_doing() { # log seconds-since-start
  local step last
  step=$(grep '^\[cluster:build\] step ' "$1" | tail -n 1 | sed 's/^\[cluster:build\] \(step [0-9]*\/[0-9]*\).*/\1/')
  last=$(grep -v '^\[cluster:build\]' "$1" | tail -n 1 | cut -c1-90)
  case $last in
    "go: downloading "*) last="downloading ${last#go: downloading }" ;;
    go:*) ;;
    *) last="compiling $last" ;;
  esac
  printf '  %s +%dm%02ds: %s' "$step" $(($2 / 60)) $(($2 % 60)) "$last"
}

show_new_progress() { # log shown -> prints the progress lines after the first `shown`; echoes their count
  # One read of the log for both the count and the lines: the build may write more in between.
  local lines total
  lines=$(grep '^\[cluster:build\]' "$1" || true)
  total=$(printf '%s' "$lines" | grep -c '' || true)
  if [ "$total" -gt "$2" ]; then
    printf '%s\n' "$lines" | sed -n "$(($2 + 1)),\$p" | sed 's/^\[cluster:build\]/[cluster]/' >&2
  fi
  echo "$total"
}

make_pki() {
  local pki=$STATE/pki
  mkdir -p "$pki"
  (
    cd "$pki"
    # EC keys: generated in milliseconds, accepted by every component.
    key() { openssl ecparam -name prime256v1 -genkey -noout -out "$1.key" 2>/dev/null; }
    key ca
    openssl req -x509 -new -key ca.key -days 3650 -subj "/CN=sluice-local-ca" -out ca.crt 2>/dev/null
    key apiserver
    openssl req -new -key apiserver.key -subj "/CN=kube-apiserver" -out apiserver.csr 2>/dev/null
    printf 'subjectAltName=IP:127.0.0.1,IP:10.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local\nextendedKeyUsage=serverAuth\nkeyUsage=digitalSignature,keyEncipherment\n' >server.ext
    openssl x509 -req -in apiserver.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 3650 -extfile server.ext -out apiserver.crt 2>/dev/null
    key kubelet
    openssl req -new -key kubelet.key -subj "/CN=kwok-node-0" -out kubelet.csr 2>/dev/null
    printf 'subjectAltName=IP:127.0.0.1,DNS:kwok-node-0\nextendedKeyUsage=serverAuth\nkeyUsage=digitalSignature,keyEncipherment\n' >kubelet.ext
    openssl x509 -req -in kubelet.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 3650 -extfile kubelet.ext -out kubelet.crt 2>/dev/null
    key admin
    openssl req -new -key admin.key -subj "/O=system:masters/CN=sluice-admin" -out admin.csr 2>/dev/null
    printf 'extendedKeyUsage=clientAuth\nkeyUsage=digitalSignature,keyEncipherment\n' >client.ext
    openssl x509 -req -in admin.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 3650 -extfile client.ext -out admin.crt 2>/dev/null
    key sa
    openssl ec -in sa.key -pubout -out sa.pub 2>/dev/null
  )
  local b64="base64 -w0"
  cat >"$KUBECONFIG_PATH" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: sluice-local
  cluster:
    server: https://127.0.0.1:$APISERVER_PORT
    certificate-authority-data: $($b64 <"$pki/ca.crt")
users:
- name: sluice-admin
  user:
    client-certificate-data: $($b64 <"$pki/admin.crt")
    client-key-data: $($b64 <"$pki/admin.key")
contexts:
- name: sluice-local
  context: {cluster: sluice-local, user: sluice-admin}
current-context: sluice-local
EOF
}

# The fake node runs no processes, so kwok serves a container's log from a file: .cluster/container-logs/
# <container>.log for the container names below (the seeds' Jobs and the tests'), default.log for any other.
# Files are in the CRI log format ("<RFC3339Nano time> stdout F <line>"); whoever wants a log writes its file.
LOG_CONTAINERS=(migration cache pre post seed manager)

kwok_logs_config() {
  local dir=$STATE/container-logs name
  mkdir -p "$dir"
  printf '%s stdout F (kwok node: no process ran, so this container printed nothing)\n' \
    "$(date -u +%Y-%m-%dT%H:%M:%S.000000000Z)" >"$dir/default.log"
  printf -- '---\napiVersion: kwok.x-k8s.io/v1alpha1\nkind: ClusterLogs\nmetadata:\n  name: container-logs\nspec:\n  logs:\n'
  for name in "${LOG_CONTAINERS[@]}"; do
    printf '  - containers: [%s]\n    logsFile: "%s"\n' "$name" "$dir/$name.log"
  done
  printf '  - logsFile: "%s"\n' "$dir/default.log"
}

kwok_config() {
  local stages=$KWOK_BIN/stages
  {
    # Standalone kwok does not default these when given a config file, and refuses to start at 0.
    printf 'apiVersion: config.kwok.x-k8s.io/v1alpha1\nkind: KwokConfiguration\noptions:\n  manageAllNodes: true\n  nodeLeaseDurationSeconds: 40\n  nodeLeaseParallelism: 4\n  podPlayStageParallelism: 4\n  nodePlayStageParallelism: 4\n  podsOnNodeSyncParallelism: 1\n  cidr: 10.244.0.0/16\n  nodeIP: 127.0.0.1\n  enableDebuggingHandlers: true\n  nodePort: %s\n  serverAddress: 127.0.0.1:%s\n' "$KWOK_KUBELET_PORT" "$KWOK_KUBELET_PORT"
    # kwok's own stages (read from its module, not copied into this repo), then ours.
    for f in node/fast/node-initialize.yaml node/heartbeat-with-lease/node-heartbeat-with-lease.yaml \
      pod/fast/pod-ready.yaml pod/fast/pod-delete.yaml pod/chaos/pod-container-running-failed.yaml; do
      printf -- '---\n'; cat "$stages/$f"
    done
    printf -- '---\n'; cat "$here/job-pod-complete.stage.yaml"
    kwok_logs_config
  } >"$STATE/kwok.yaml"
}

start() { # name command...
  local name=$1; shift
  mkdir -p "$STATE/cmd"
  printf '%s\0' "$@" >"$STATE/cmd/$name" # restart.sh starts it again exactly so
  setsid nohup "$@" >>"$STATE/logs/$name.log" 2>&1 </dev/null &
  echo $! >"$STATE/pids/$name"
  disown # its end is reported by wait_until and down.sh, not as a shell job
}

wait_until() { # description timeout-seconds command...
  local what=$1 limit=$2; shift 2
  local deadline=$((SECONDS + limit)) name
  until "$@" >/dev/null 2>&1; do
    for name in "$STATE"/pids/*; do
      name=$(basename "$name")
      # Alive is enough here: just after the fork the process may not have become its binary yet.
      if ! kill -0 "$(cat "$STATE/pids/$name")" 2>/dev/null; then
        tail -n 5 "$STATE/logs/$name.log" >&2
        die "$name exited while waiting for $what (log: $STATE/logs/$name.log)"
      fi
    done
    if [ $SECONDS -ge $deadline ]; then die "timed out after ${limit}s waiting for $what (logs: $STATE/logs)"; fi
    sleep 0.2
  done
}

apiserver_ready() {
  curl -fsS --max-time 2 --cacert "$STATE/pki/ca.crt" --cert "$STATE/pki/admin.crt" --key "$STATE/pki/admin.key" \
    "https://127.0.0.1:$APISERVER_PORT/readyz" | grep -qx ok
}

node_schedulable() { # Ready, and the node-lifecycle controller has lifted the not-ready taint
  [ "$(kctl get node kwok-node-0 -o 'jsonpath={.status.conditions[?(@.type=="Ready")].status}')" = True ] &&
    [ -z "$(kctl get node kwok-node-0 -o 'jsonpath={.spec.taints}')" ]
}

ports_free() {
  local port
  for port in "$ETCD_PORT" "$ETCD_PEER_PORT" "$APISERVER_PORT" "$KCM_PORT" "$SCHEDULER_PORT" "$KWOK_KUBELET_PORT"; do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      die "port $port on 127.0.0.1 is already in use (another local cluster, perhaps from another checkout?).
  Stop it with 'npm run cluster:down' in that checkout, or choose other ports with SLUICE_ETCD_PORT,
  SLUICE_ETCD_PEER_PORT, SLUICE_APISERVER_PORT, SLUICE_KCM_PORT, SLUICE_SCHEDULER_PORT and
  SLUICE_KWOK_KUBELET_PORT."
    fi
  done
}

main() {
  if [ -n "${SLUICE_TEST_KUBECONFIG:-}" ]; then
    say "SLUICE_TEST_KUBECONFIG is set: using that cluster, not starting a local one"; exit 0
  fi
  if cluster_running && apiserver_ready; then
    say "already up: KUBECONFIG=$KUBECONFIG_PATH"; exit 0
  fi
  if [ -d "$STATE/pids" ]; then
    say "a previous local cluster is partly running: stopping it first"
    bash "$here/down.sh"
  fi
  ensure_binaries
  ports_free
  local start_s=$SECONDS
  rm -rf "$STATE"; mkdir -p "$STATE/logs" "$STATE/pids"
  # A start that fails or is interrupted stops what it started, keeping the logs to read.
  trap 'exit 130' INT TERM HUP
  trap 'rc=$?; if [ $rc != 0 ]; then bash "$here/down.sh" --keep-logs; fi' EXIT
  make_pki
  kwok_config
  local pki=$STATE/pki

  start etcd "$ETCD_BIN/etcd" --name=sluice-local --data-dir="$STATE/etcd" \
    --listen-client-urls="http://127.0.0.1:$ETCD_PORT" --advertise-client-urls="http://127.0.0.1:$ETCD_PORT" \
    --listen-peer-urls="http://127.0.0.1:$ETCD_PEER_PORT" --initial-advertise-peer-urls="http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-cluster="sluice-local=http://127.0.0.1:$ETCD_PEER_PORT" --unsafe-no-fsync=true --log-level=warn
  wait_until "etcd" 30 curl -fsS --max-time 1 "http://127.0.0.1:$ETCD_PORT/health"

  # A /16 of Service IPs: the scale benchmark creates thousands of Services (a /24 is full after 254).
  start kube-apiserver "$KUBERNETES_BIN/kube-apiserver" --etcd-servers="http://127.0.0.1:$ETCD_PORT" \
    --bind-address=127.0.0.1 --advertise-address=127.0.0.1 --secure-port="$APISERVER_PORT" \
    --tls-cert-file="$pki/apiserver.crt" --tls-private-key-file="$pki/apiserver.key" --cert-dir="$STATE/apiserver" \
    --client-ca-file="$pki/ca.crt" --authorization-mode=RBAC \
    --service-account-issuer=https://kubernetes.default.svc.cluster.local \
    --service-account-key-file="$pki/sa.pub" --service-account-signing-key-file="$pki/sa.key" \
    --service-cluster-ip-range=10.0.0.0/16 --allow-privileged=true \
    --kubelet-preferred-address-types=InternalIP ${APISERVER_VERSION_FLAGS:+"$APISERVER_VERSION_FLAGS"}
  wait_until "kube-apiserver /readyz" 90 apiserver_ready

  local probes=--authorization-always-allow-paths=/healthz,/readyz,/livez,/metrics
  start kube-controller-manager "$KUBERNETES_BIN/kube-controller-manager" --kubeconfig="$KUBECONFIG_PATH" \
    --leader-elect=false --bind-address=127.0.0.1 --secure-port="$KCM_PORT" "$probes" \
    --service-account-private-key-file="$pki/sa.key" --root-ca-file="$pki/ca.crt" \
    --use-service-account-credentials=false --kube-api-qps=400 --kube-api-burst=800 \
    --controllers=namespace-controller,garbage-collector-controller,serviceaccount-controller,serviceaccount-token-controller,job-controller,cronjob-controller,ttl-after-finished-controller,deployment-controller,replicaset-controller,statefulset-controller,daemonset-controller,disruption-controller,resourcequota-controller,endpoints-controller,endpointslice-controller,node-lifecycle-controller,taint-eviction-controller,pod-garbage-collector-controller,clusterrole-aggregation-controller,root-ca-certificate-publisher-controller
  start kube-scheduler "$KUBERNETES_BIN/kube-scheduler" --kubeconfig="$KUBECONFIG_PATH" \
    --leader-elect=false --bind-address=127.0.0.1 --secure-port="$SCHEDULER_PORT" "$probes"
  start kwok "$KWOK_BIN/kwok" --kubeconfig="$KUBECONFIG_PATH" --config="$STATE/kwok.yaml" \
    --manage-all-nodes=true --node-lease-duration-seconds=40 --cidr=10.244.0.0/16 --node-ip=127.0.0.1 \
    --node-port="$KWOK_KUBELET_PORT" --server-address="127.0.0.1:$KWOK_KUBELET_PORT" \
    --tls-cert-file="$pki/kubelet.crt" --tls-private-key-file="$pki/kubelet.key"

  kctl apply -f "$here/node.yaml" >/dev/null
  wait_until "the default ServiceAccount" 60 kctl get serviceaccount default -n default
  wait_until "node kwok-node-0 to be Ready and schedulable" 90 node_schedulable

  local version; version=$(kctl version -o json | sed -n 's/.*"gitVersion": "\(v[^"]*\)".*/\1/p' | tail -1)
  trap - EXIT INT TERM HUP
  say "up in $((SECONDS - start_s))s: kube-apiserver $version on https://127.0.0.1:$APISERVER_PORT"
  say "export KUBECONFIG=$KUBECONFIG_PATH"
}
main "$@"

#!/usr/bin/env bash
# Restarts one component of the running local cluster (e.g. kube-apiserver) with exactly the command line
# up.sh gave it, and waits until the apiserver answers again. The fault tests use it.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/versions.sh"
. "$here/lib.sh"

name=${1:?usage: restart.sh <component>}
[ -f "$STATE/cmd/$name" ] || die "no recorded command for $name: is the cluster up (npm run cluster:up)?"
pid=$(our_pid "$name") || die "$name is not running"
kill -TERM "$pid"
for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
mapfile -d '' cmd <"$STATE/cmd/$name"
setsid nohup "${cmd[@]}" >>"$STATE/logs/$name.log" 2>&1 </dev/null &
echo $! >"$STATE/pids/$name"
disown
deadline=$((SECONDS + 60))
until curl -fsS --max-time 2 --cacert "$STATE/pki/ca.crt" --cert "$STATE/pki/admin.crt" --key "$STATE/pki/admin.key" \
  "https://127.0.0.1:$APISERVER_PORT/readyz" 2>/dev/null | grep -qx ok; do
  [ $SECONDS -lt $deadline ] || die "the apiserver did not become ready within 60s after restarting $name"
  sleep 0.2
done
say "restarted $name (pid $(cat "$STATE/pids/$name"))"

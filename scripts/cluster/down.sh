#!/usr/bin/env bash
# Stops exactly the processes up.sh started (by their recorded pid) and removes the cluster's state.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/versions.sh"
. "$here/lib.sh"

stop() {
  local name=$1 pid
  pid=$(our_pid "$name") || return 0
  kill -TERM "$pid" 2>/dev/null || return 0
  for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || { say "stopped $name (pid $pid)"; return 0; }; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
  say "killed $name (pid $pid): it did not stop within 5s"
}

if [ ! -d "$STATE" ]; then say "not running"; exit 0; fi
# Reverse start order: clients first, etcd last.
for ((i = ${#COMPONENTS[@]} - 1; i >= 0; i--)); do stop "${COMPONENTS[$i]}"; done
rm -rf "$STATE"
say "down: state removed"

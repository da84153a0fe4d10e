#!/usr/bin/env bash
# Stops exactly the processes up.sh started (by their recorded pid) and removes the cluster's state
# (--keep-logs: all but its logs, for a start that failed).
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
# The clients together (each takes a few seconds to shut down gracefully), then etcd, which they talk to.
for ((i = ${#COMPONENTS[@]} - 1; i > 0; i--)); do stop "${COMPONENTS[$i]}" & done
wait
stop "${COMPONENTS[0]}"
if [ "${1:-}" = --keep-logs ]; then
  find "$STATE" -mindepth 1 -maxdepth 1 ! -name logs -exec rm -rf {} +
  say "stopped what was started; its logs are in $STATE/logs"
else
  rm -rf "$STATE"
  say "down: state removed"
fi

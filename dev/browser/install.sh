#!/usr/bin/env bash
# Installs Debian's chromium for the browser tests of `sluice ui`, when it is missing. Needs root (or sudo).
set -euo pipefail
if command -v chromium >/dev/null; then
  echo "[browser] $(chromium --version 2>/dev/null | head -1)"
  exit 0
fi
echo "[browser] chromium is not installed: installing Debian's package"
as_root=()
[ "$(id -u)" = 0 ] || as_root=(sudo -n)
"${as_root[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${as_root[@]}" apt-get install -y -qq chromium >/dev/null
echo "[browser] $(chromium --version 2>/dev/null | head -1)"

#!/usr/bin/env bash
# Installs the Debian packages the tests run for real, when they are missing: chromium (the browser tests of
# `sluice ui`), openssh-server (git over ssh against a real sshd) and gnupg (the OpenPGP keys of the SOPS tests).
# Needs root (or sudo).
set -euo pipefail
declare -A command_of=([chromium]=chromium [openssh-server]=/usr/sbin/sshd [gnupg]=gpg)
missing=()
for package in chromium openssh-server gnupg; do
  command -v "${command_of[$package]}" >/dev/null || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "[debian] installing Debian's ${missing[*]}"
  as_root=()
  [ "$(id -u)" = 0 ] || as_root=(sudo -n)
  "${as_root[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${as_root[@]}" apt-get install -y -qq "${missing[@]}" >/dev/null
fi
echo "[debian] $(chromium --version 2>/dev/null | head -1); $(/usr/sbin/sshd -V 2>&1 | head -1); $(gpg --version | head -1)"

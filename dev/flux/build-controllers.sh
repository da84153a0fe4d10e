#!/usr/bin/env bash
# Builds Flux's own controllers from the Go module proxy, for the tests and the benchmark that run them beside
# sluice: `build-controllers.sh kustomize-controller notification-controller …` (the versions of versions.sh), or
# `kustomize-controller@v1.10.1 …`. Each is cached by version outside
# the repo ($SLUICE_CACHE_DIR/bin/flux-<name>-<version>/, the binary and the CRDs its module ships), and built only
# when missing.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../cluster/versions.sh"
# Exactly this toolchain (fetched once from the module proxy; Flux v2.10's controllers need Go 1.27).
export GOTOOLCHAIN=$GO_TOOLCHAIN CGO_ENABLED=0
say() { printf '[flux:build %s] %s\n' "$(date -u +%H:%M:%S)" "$*"; }

version_of() { # name
  case $1 in
    source-controller) echo "$FLUX_SOURCE_CONTROLLER_VERSION" ;;
    kustomize-controller) echo "$FLUX_KUSTOMIZE_CONTROLLER_VERSION" ;;
    notification-controller) echo "$FLUX_NOTIFICATION_CONTROLLER_VERSION" ;;
    *) echo "error: unknown Flux controller $1" >&2; exit 2 ;;
  esac
}

# A controller's module has `replace ./api` (not resolvable from outside) plus version replaces that its build
# needs; a wrapper module requires it and repeats only the version replaces, read from its go.mod.
build() { # name or name@version
  local name=${1%@*} version module dir bin info gomod
  if [ "$name" = "$1" ]; then version=$(version_of "$name"); else version=${1#*@}; fi
  module=github.com/fluxcd/$name
  bin=$SLUICE_CACHE_DIR/bin/flux-$name-$version
  dir=$SLUICE_CACHE_DIR/build/flux-$name-$version
  if [ -x "$bin/$name" ]; then say "$name $version: cached in $bin"; return; fi
  mkdir -p "$dir"
  info=$(cd "$dir" && go mod download -json "$module@$version" || true)
  if grep -q '"Error"' <<<"$info"; then echo "error: $(grep '"Error"' <<<"$info")" >&2; exit 1; fi
  gomod=$(sed -n 's/.*"GoMod": "\(.*\)".*/\1/p' <<<"$info")
  {
    printf 'module local/flux-%s-bin\n\ngo 1.26.0\n\nrequire %s %s\n\n' "$name" "$module" "$version"
    awk '/^replace \(/{r=1;next} r&&/^\)/{r=0;next} r && !/=> \.\// {print "replace " $0} /^replace [^(]/ && !/=> \.\// {print}' "$gomod"
    # The module proxy refuses fluxcd/pkg/artifact v0.18.2 and later ("403: not available"); the nearest
    # served version stands in. Said next to the benchmark's results.
    printf 'replace github.com/fluxcd/pkg/artifact => github.com/fluxcd/pkg/artifact v0.18.1\n'
  } >"$dir/go.mod"
  say "$name $version: fetching modules"
  (cd "$dir" && go get "$module@$version")
  say "$name $version: compiling"
  (cd "$dir" && go build -mod=mod -trimpath -ldflags "-s -w" -o "$dir/out/$name" "$module")
  mkdir -p "$bin/crds"
  local src
  src=$(sed -n 's/.*"Dir": "\(.*\)".*/\1/p' <<<"$info")
  cp "$src"/config/crd/bases/*.yaml "$bin/crds/" && chmod -R u+w "$bin/crds"
  mv "$dir/out/$name" "$bin/$name"
  say "$name $version: done, in $bin"
}

# Only the CRDs a controller's module ships (`crds source-controller`): for Flux's controllers that watch kinds
# sluice does not serve, next to sluice's own CRDs.
crds() { # name
  local name=$1 version bin src
  version=$(version_of "$name")
  bin=$SLUICE_CACHE_DIR/bin/flux-$name-$version
  [ -d "$bin/crds" ] && return
  src=$(cd /tmp && go mod download -json "github.com/fluxcd/$name@$version" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')
  [ -n "$src" ] || { echo "error: cannot download github.com/fluxcd/$name@$version" >&2; exit 1; }
  mkdir -p "$bin/crds" && cp "$src"/config/crd/bases/*.yaml "$bin/crds/" && chmod -R u+w "$bin/crds"
  say "$name $version: CRDs in $bin/crds"
}

[ $# -gt 0 ] || { echo "usage: $0 [crds] source-controller|kustomize-controller|notification-controller …" >&2; exit 2; }
if [ "$1" = crds ]; then
  shift
  for name in "$@"; do crds "$name"; done
else
  for name in "$@"; do build "$name"; done
fi

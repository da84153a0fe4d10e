#!/usr/bin/env bash
# Builds Flux's source-controller and kustomize-controller from the Go module proxy, for the side-by-side
# benchmark only (never for tests). Cached by version outside the repo, like the control plane.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../../dev/cluster/versions.sh"
# v1.9.4 is the newest release that builds with Go 1.26 (v1.10 requires Go 1.27).
FLUX_KUSTOMIZE_CONTROLLER_VERSION=${FLUX_KUSTOMIZE_CONTROLLER_VERSION:-v1.9.4}
FLUX_SOURCE_CONTROLLER_VERSION=${FLUX_SOURCE_CONTROLLER_VERSION:-v1.9.4}
FLUX_BIN=$SLUICE_CACHE_DIR/bin/flux-kc-$FLUX_KUSTOMIZE_CONTROLLER_VERSION-sc-$FLUX_SOURCE_CONTROLLER_VERSION
export GOTOOLCHAIN=local CGO_ENABLED=0
say() { printf '[flux:build %s] %s\n' "$(date -u +%H:%M:%S)" "$*"; }

# A controller's module has `replace ./api` (not resolvable from outside) plus version replaces that its
# build needs; a wrapper module requires it and repeats only the version replaces, read from its go.mod.
build() { # name module version
  local name=$1 module=$2 version=$3 dir=$SLUICE_CACHE_DIR/build/flux-$1-$3
  [ -x "$FLUX_BIN/$name" ] && return
  mkdir -p "$dir"
  local info gomod
  info=$(cd "$dir" && go mod download -json "$module@$version" || true)
  if grep -q '"Error"' <<<"$info"; then echo "error: $(grep '"Error"' <<<"$info")" >&2; exit 1; fi
  gomod=$(sed -n 's/.*"GoMod": "\(.*\)".*/\1/p' <<<"$info")
  {
    printf 'module local/flux-%s-bin\n\ngo 1.26.0\n\nrequire %s %s\n\n' "$name" "$module" "$version"
    awk '/^replace \(/{r=1;next} r&&/^\)/{r=0;next} r && !/=> \.\// {print "replace " $0} /^replace [^(]/ && !/=> \.\// {print}' "$gomod"
    # The module proxy refuses fluxcd/pkg/artifact v0.18.2 and later ("403: not available"); the
    # nearest served version stands in. Said next to the benchmark's results.
    printf 'replace github.com/fluxcd/pkg/artifact => github.com/fluxcd/pkg/artifact v0.18.1\n'
  } >"$dir/go.mod"
  say "$name $version: fetching modules"
  (cd "$dir" && go get "$module@$version")
  say "$name $version: compiling"
  (cd "$dir" && go build -mod=mod -trimpath -ldflags "-s -w" -o "$dir/out/$name" "$module")
  mkdir -p "$FLUX_BIN" && mv "$dir/out/$name" "$FLUX_BIN/$name"
  say "$name $version: done"
}

build source-controller github.com/fluxcd/source-controller "$FLUX_SOURCE_CONTROLLER_VERSION"
build kustomize-controller github.com/fluxcd/kustomize-controller "$FLUX_KUSTOMIZE_CONTROLLER_VERSION"
# Flux's CRDs ship in the modules; keep them beside the binaries for the benchmark to apply.
mkdir -p "$FLUX_BIN/crds"
for m in "github.com/fluxcd/source-controller@$FLUX_SOURCE_CONTROLLER_VERSION" "github.com/fluxcd/kustomize-controller@$FLUX_KUSTOMIZE_CONTROLLER_VERSION"; do
  src=$(cd /tmp && go mod download -json "$m" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')
  cp "$src"/config/crd/bases/*.yaml "$FLUX_BIN/crds/"
done
chmod -R u+w "$FLUX_BIN/crds"
say "all present in $FLUX_BIN"

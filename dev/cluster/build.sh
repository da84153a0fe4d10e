#!/usr/bin/env bash
# Builds the local control plane from the Go module proxy into a versioned cache outside the repo.
# Each binary is built only when missing (COLD_BUILD in versions.sh says how long a cold build took). Progress
# lines are "[cluster:build] step k/n +elapsed: what"; between them `go build -v` names each package it compiles.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/versions.sh"

# Exactly this toolchain (fetched once from the module proxy): never whatever a go.mod asks for.
export GOTOOLCHAIN=$GO_TOOLCHAIN
export CGO_ENABLED=0       # static binaries, as upstream builds them
work=$SLUICE_CACHE_DIR/build
mkdir -p "$work"
exec 9>"$SLUICE_CACHE_DIR/build.lock"
flock 9   # a second build waits for the first, then finds the binaries and returns

started=$SECONDS
elapsed() { local s=$((SECONDS - started)); printf '%dm%02ds' $((s / 60)) $((s % 60)); }
say() { printf '[cluster:build] %s\n' "$*"; }
step=0 steps=0
begin() { step=$((step + 1)); say "step $step/$steps +$(elapsed): $*"; }

check_go() {
  if ! command -v go >/dev/null 2>&1; then
    echo "error: Go is not installed. The local cluster is built from source with Go 1.${MIN_GO_MINOR} or newer." >&2
    echo "       Install Go 1.${MIN_GO_MINOR}+ (https://go.dev/doc/install), or point the tests at an existing cluster" >&2
    echo "       with SLUICE_TEST_KUBECONFIG=/path/to/kubeconfig." >&2
    exit 3
  fi
  local v minor
  v=$(go env GOVERSION)            # e.g. go1.26.8
  minor=$(echo "${v#go1.}" | cut -d. -f1)
  if [ "${minor:-0}" -lt "$MIN_GO_MINOR" ]; then
    echo "error: $v is too old: Kubernetes $KUBERNETES_VERSION needs Go 1.${MIN_GO_MINOR} or newer." >&2
    echo "       Install a newer Go, or set SLUICE_TEST_KUBECONFIG to use an existing cluster." >&2
    exit 3
  fi
}

build_etcd() {
  [ -x "$ETCD_BIN/etcd" ] && return
  begin "etcd $ETCD_VERSION: fetching modules and compiling"
  local d=$work/etcd-$ETCD_VERSION; mkdir -p "$d"
  # etcd's server go.mod has relative replaces, so `go install` refuses it; a wrapper module does not.
  printf 'module local/etcd-bin\n\ngo 1.26.0\n' > "$d/go.mod"
  (cd "$d" && go get "go.etcd.io/etcd/server/v3@$ETCD_VERSION")
  (cd "$d" && go build -v -mod=mod -trimpath \
    -ldflags "-s -w -X go.etcd.io/etcd/api/v3/version.GitSHA=$ETCD_VERSION" \
    -o "$d/out/etcd" go.etcd.io/etcd/server/v3)
  mkdir -p "$ETCD_BIN" && mv "$d/out/etcd" "$ETCD_BIN/etcd"
}

build_go_install() { # name version dir binary package...
  local name=$1 version=$2 dir=$3 binary=$4; shift 4
  [ -x "$dir/$binary" ] && return
  begin "$name $version: fetching modules and compiling"
  mkdir -p "$dir.tmp"
  local pkgs=(); for p in "$@"; do pkgs+=("$p@$version"); done
  GOBIN=$dir.tmp go install -v -trimpath -ldflags "-s -w" "${pkgs[@]}"
  rm -rf "$dir" && mv "$dir.tmp" "$dir"
}

build_kustomize_wasm() {
  [ -f "$KUSTOMIZE_WASM/kustomize.wasm" ] && return
  begin "kustomize $KUSTOMIZE_VERSION for WebAssembly (wasip1): fetching modules and compiling"
  # go install refuses to cross-compile into GOBIN; a wrapper module with kustomize's own requirements does not.
  local d=$work/kustomize-wasm-$KUSTOMIZE_VERSION; mkdir -p "$d/out"
  printf 'module local/kustomize-wasm\n\ngo 1.26.0\n' > "$d/go.mod"
  (cd "$d" && go get "sigs.k8s.io/kustomize/kustomize/v5@$KUSTOMIZE_VERSION")
  (cd "$d" && GOOS=wasip1 GOARCH=wasm go build -v -mod=mod -trimpath -ldflags "-s -w" \
    -o "$d/out/kustomize.wasm" sigs.k8s.io/kustomize/kustomize/v5)
  mkdir -p "$KUSTOMIZE_WASM" && mv "$d/out/kustomize.wasm" "$KUSTOMIZE_WASM/kustomize.wasm"
}

build_kubernetes() {
  local bins=(kube-apiserver kube-controller-manager kube-scheduler kubectl)
  local missing=0; for b in "${bins[@]}"; do [ -x "$KUBERNETES_BIN/$b" ] || missing=1; done
  [ $missing = 0 ] && return
  local v=${KUBERNETES_VERSION#v} d=$work/kubernetes-$KUBERNETES_VERSION
  local staging=0.${v#1.} minor; minor=$(echo "$v" | cut -d. -f2)
  mkdir -p "$d"
  begin "kubernetes $KUBERNETES_VERSION: fetching modules (several hundred MB on a cold cache)"
  # k8s.io/kubernetes requires its staging modules at v0.0.0 (they live in ./staging upstream); the
  # wrapper pins each to the matching published tag. The list is read from the real go.mod so it cannot drift.
  local gomod
  gomod=$(cd "$d" && go mod download -json "k8s.io/kubernetes@$KUBERNETES_VERSION" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
  {
    printf 'module local/kubernetes-bin\n\ngo %s\n\ngodebug default=go%s\n\nrequire k8s.io/kubernetes %s\n\nreplace (\n' \
      "$KUBERNETES_GO" "${KUBERNETES_GO%.0}" "$KUBERNETES_VERSION"
    awk -v sv="$staging" '/^require \(/{r=1;next} r&&/^\)/{r=0}
      r && $2=="v0.0.0" && $1 ~ /^k8s\.io\// {printf "\t%s => %s v%s\n",$1,$1,sv}' "$gomod"
    printf ')\n'
  } > "$d/go.mod"
  (cd "$d" && go get k8s.io/kubernetes/cmd/kube-apiserver@$KUBERNETES_VERSION \
    k8s.io/kubernetes/cmd/kube-controller-manager@$KUBERNETES_VERSION \
    k8s.io/kubernetes/cmd/kube-scheduler@$KUBERNETES_VERSION k8s.io/kubernetes/cmd/kubectl@$KUBERNETES_VERSION)
  # Without the version ldflags /version reports v0.0.0-master and clients mis-detect the server.
  local ld="-s -w -buildid=" p
  for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ld="$ld -X $p.gitVersion=$KUBERNETES_VERSION -X $p.gitMajor=1 -X $p.gitMinor=$minor"
    ld="$ld -X $p.gitTreeState=clean -X $p.gitCommit=$KUBERNETES_VERSION -X $p.buildDate=1970-01-01T00:00:00Z"
  done
  mkdir -p "$d/out"
  for b in "${bins[@]}"; do
    if [ -x "$KUBERNETES_BIN/$b" ]; then continue; fi
    begin "kubernetes $KUBERNETES_VERSION: compiling $b"
    (cd "$d" && go build -v -mod=mod -trimpath -tags selinux,notest,grpcnotrace -ldflags "$ld" \
      -o "$d/out/$b" "k8s.io/kubernetes/cmd/$b")
    mkdir -p "$KUBERNETES_BIN" && mv "$d/out/$b" "$KUBERNETES_BIN/$b"
  done
}

kwok_stages_source() {
  # kwok's stage YAMLs ship inside its module; keep a copy beside the binary for the cluster script.
  [ -d "$KWOK_BIN/stages" ] && return
  local src; src=$(cd /tmp && go mod download -json "sigs.k8s.io/kwok@$KWOK_VERSION" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')
  mkdir -p "$KWOK_BIN/stages.tmp"
  cp -r "$src/kustomize/stage/." "$KWOK_BIN/stages.tmp/"
  chmod -R u+w "$KWOK_BIN/stages.tmp"
  mv "$KWOK_BIN/stages.tmp" "$KWOK_BIN/stages"
}

count_steps() { # the steps this run will take: one per missing binary, and the Kubernetes modules
  local b k8s=0
  [ -x "$ETCD_BIN/etcd" ] || steps=$((steps + 1))
  [ -x "$KWOK_BIN/kwok" ] || steps=$((steps + 1))
  [ -x "$KUSTOMIZE_BIN/kustomize" ] || steps=$((steps + 1))
  [ -f "$KUSTOMIZE_WASM/kustomize.wasm" ] || steps=$((steps + 1))
  [ -x "$SOPS_BIN/sops" ] || steps=$((steps + 1))
  [ -x "$AGE_BIN/age-keygen" ] || steps=$((steps + 1))
  [ -x "$REGISTRY_BIN/registry" ] || steps=$((steps + 1))
  for b in kube-apiserver kube-controller-manager kube-scheduler kubectl; do
    [ -x "$KUBERNETES_BIN/$b" ] || { steps=$((steps + 1)); k8s=1; }
  done
  steps=$((steps + k8s))
}

main() {
  check_go
  count_steps
  say "cache: $SLUICE_CACHE_DIR/bin; $steps step$([ "$steps" = 1 ] || echo s) to build"
  build_etcd
  build_go_install kwok "$KWOK_VERSION" "$KWOK_BIN" kwok sigs.k8s.io/kwok/cmd/kwok
  kwok_stages_source
  build_go_install kustomize "$KUSTOMIZE_VERSION" "$KUSTOMIZE_BIN" kustomize sigs.k8s.io/kustomize/kustomize/v5
  build_kustomize_wasm
  build_go_install sops "$SOPS_VERSION" "$SOPS_BIN" sops github.com/getsops/sops/v3/cmd/sops
  build_go_install age "$AGE_VERSION" "$AGE_BIN" age-keygen filippo.io/age/cmd/age filippo.io/age/cmd/age-keygen
  build_go_install registry "$REGISTRY_VERSION" "$REGISTRY_BIN" registry github.com/distribution/distribution/v3/cmd/registry
  build_kubernetes
  if [ "$steps" = 0 ]; then say "all binaries present"; else say "all binaries present (built in $(elapsed))"; fi
}
main "$@"

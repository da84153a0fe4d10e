# Versions of the local control plane and the cache they are built into; sourced by the other scripts.
# SLUICE_KUBERNETES picks the minor: 1.37, the current stable one (the default), or 1.36, kept for one release.
# Kubernetes 1.37 needs Go 1.27, which the go command fetches from the module proxy as the GO_TOOLCHAIN module and caches;
# the system Go (1.26 or newer) stays the only prerequisite.
case ${SLUICE_KUBERNETES:-1.37} in
  # 1.37 refuses a loopback --advertise-address with the endpoint reconciler: nothing here reaches the API
  # through the kubernetes Service, so it does without one.
  1.37) KUBERNETES_VERSION=v1.37.2 KUBERNETES_GO=1.27.0 APISERVER_VERSION_FLAGS=--endpoint-reconciler-type=none ;;
  1.36) KUBERNETES_VERSION=v1.36.3 KUBERNETES_GO=1.26.0 APISERVER_VERSION_FLAGS= ;;
  *) echo "error: SLUICE_KUBERNETES=$SLUICE_KUBERNETES: use 1.37 or 1.36" >&2; exit 2 ;;
esac
GO_TOOLCHAIN=go1.27.4
ETCD_VERSION=v3.6.16
KWOK_VERSION=v0.8.0
KUSTOMIZE_VERSION=v5.8.1
# SOPS decrypts what a Kustomization's spec.decryption names (keep in step with sopsVersion in src/sops/sops.ts);
# age's tools generate the keys the tests encrypt for.
SOPS_VERSION=v3.13.3
AGE_VERSION=v1.3.2
# distribution's registry, for the OCIRepository tests' artifacts (pushed there by the real flux CLI).
REGISTRY_VERSION=v3.1.2
# The real flux CLI the compatibility tests run against sluice (dev/flux/build-cli.sh).
FLUX_CLI_VERSION=v2.9.5
# Flux's controllers, for the tests that run them beside sluice (dev/flux/build-controllers.sh): v1.9.4, the
# newest release that builds with Go 1.26 (v1.10 requires Go 1.27, which the scale benchmark's build fetches).
FLUX_SOURCE_CONTROLLER_VERSION=v1.9.4
FLUX_KUSTOMIZE_CONTROLLER_VERSION=v1.9.4
FLUX_NOTIFICATION_CONTROLLER_VERSION=v1.9.3  # v1.9.4 is not served by the module proxy
# Flux's source-controller and kustomize-controller for the benchmarks (npm run bench:build-flux). Flux v2.10's
# (v1.10.1) cannot be built here: the module proxy refuses modules it needs with 403 "not available"
# (fluxcd/pkg/apis/crypto v0.5.0, fluxcd/pkg/spiffe v0.2.0, fluxcd/pkg/masktoken v0.10.0, fluxcd/pkg/http/fetch
# v0.30.1, ...) and serves no other version of the new ones, so the newest that builds stands in.
FLUX_BENCH_CONTROLLERS_VERSION=v1.9.4
MIN_GO_MINOR=26   # the system Go that fetches GO_TOOLCHAIN; k8s.io/kubernetes v1.36 itself declares go 1.26.0
# How long build.sh took from empty Go caches on this project's 2-core machines (297 s on 2026-12-01; 676 s and
# 713 s on slower ones before), measured before sops, age and the registry were added; up.sh announces it.
COLD_BUILD="5 to 12 minutes"

SLUICE_CACHE_DIR=${SLUICE_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/sluice}
# One directory per component and version: a version bump builds anew, an unchanged one is reused.
KUBERNETES_BIN=$SLUICE_CACHE_DIR/bin/kubernetes-$KUBERNETES_VERSION
ETCD_BIN=$SLUICE_CACHE_DIR/bin/etcd-$ETCD_VERSION
KWOK_BIN=$SLUICE_CACHE_DIR/bin/kwok-$KWOK_VERSION
KUSTOMIZE_BIN=$SLUICE_CACHE_DIR/bin/kustomize-$KUSTOMIZE_VERSION
# The same kustomize compiled to WebAssembly (GOOS=wasip1): what sluice's builds run (src/kustomize/build.ts).
KUSTOMIZE_WASM=$SLUICE_CACHE_DIR/bin/kustomize-wasm-$KUSTOMIZE_VERSION
SOPS_BIN=$SLUICE_CACHE_DIR/bin/sops-$SOPS_VERSION
AGE_BIN=$SLUICE_CACHE_DIR/bin/age-$AGE_VERSION
REGISTRY_BIN=$SLUICE_CACHE_DIR/bin/registry-$REGISTRY_VERSION

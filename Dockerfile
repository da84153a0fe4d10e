# syntax=docker/dockerfile:1
# The sluice controller image: the `sluice` CLI on Node 24, with git (GitRepository fetches, over https or ssh),
# kustomize compiled to WebAssembly (Kustomization builds, confined under WASI) and sops (their spec.decryption). No registry publishes it: build and push it
# yourself, then install it.
#
#   docker build -t registry.example.com/sluice-controller:0.1.0 .
#   docker push registry.example.com/sluice-controller:0.1.0
#   sluice install --image registry.example.com/sluice-controller:0.1.0
#
# The entrypoint is `sluice`, so the Deployment's args are `controller --enable-leader-election …`.

# kustomize and sops, compiled from the Go module proxy. KUSTOMIZE_VERSION and SOPS_VERSION must match
# dev/cluster/versions.sh (and kustomizeVersion in src/kustomize/build.ts, sopsVersion in src/sops/sops.ts):
# the versions the tests run are the versions the image ships.
FROM golang:1.26-bookworm AS kustomize
ARG KUSTOMIZE_VERSION=v5.8.1
ARG SOPS_VERSION=v3.13.3
RUN CGO_ENABLED=0 GOBIN=/out go install -trimpath -ldflags "-s -w" github.com/getsops/sops/v3/cmd/sops@${SOPS_VERSION}
WORKDIR /kustomize-wasm
RUN printf 'module local/kustomize-wasm\n\ngo 1.26.0\n' > go.mod \
    && go get sigs.k8s.io/kustomize/kustomize/v5@${KUSTOMIZE_VERSION} \
    && GOOS=wasip1 GOARCH=wasm go build -mod=mod -trimpath -ldflags "-s -w" -o /out/kustomize.wasm \
       sigs.k8s.io/kustomize/kustomize/v5

# dist/ is compiled here, with the dev dependencies (TypeScript) the final image does not carry.
# --ignore-scripts: "prepare" would build before the sources are copied, and the `node` devDependency's
# install script would download a second Node 24; this image has one.
FROM node:24-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN node node_modules/typescript/bin/tsc -p tsconfig.build.json

FROM node:24-bookworm-slim
# git and openssh-client for the sources, ca-certificates for https, tini as PID 1 (signals, zombie reaping).
RUN apt-get update \
    && apt-get install -y --no-install-recommends git openssh-client ca-certificates tini \
    && rm -rf /var/lib/apt/lists/*
# The uid and gid the Deployment runs as (controllerUid in src/install/manifests.ts).
RUN groupadd --gid 65532 sluice \
    && useradd --uid 65532 --gid 65532 --home-dir /tmp --no-create-home --shell /usr/sbin/nologin sluice
WORKDIR /app
COPY package.json package-lock.json ./
# Production dependencies only; no lifecycle scripts (the build already ran, and none of them has one).
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force
COPY bin ./bin
COPY --from=build /src/dist ./dist
COPY --from=kustomize /out/sops /usr/local/bin/
COPY --from=kustomize /out/kustomize.wasm /usr/local/lib/sluice/kustomize.wasm
RUN chmod 0755 /app/bin/sluice.js && ln -s /app/bin/sluice.js /usr/local/bin/sluice
# The root filesystem is read-only in the Deployment: HOME is /tmp, an emptyDir there.
ENV HOME=/tmp NODE_ENV=production SLUICE_KUSTOMIZE_WASM=/usr/local/lib/sluice/kustomize.wasm
USER 65532:65532
ENTRYPOINT ["/usr/bin/tini", "--", "sluice"]
CMD ["--help"]

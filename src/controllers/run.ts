// Starts both controllers in this process: the artifact store, the manager with its informers, and the
// GitRepository and Kustomization reconcilers. The CLI's `sluice controller` and the e2e tests use this.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { KubeClient } from '../kube/client.ts';
import type { Logger } from '../runtime/logger.ts';
import type { Metrics } from '../runtime/metrics.ts';
import { ArtifactStore } from '../source/artifact.ts';
import { serveFiles } from '../runtime/server.ts';
import { warmUpKustomize } from '../kustomize/build.ts';
import { Manager } from './manager.ts';
import { gitRepositoryReconciler } from './gitrepository/reconciler.ts';
import { ociRepositoryReconciler } from './ocirepository/reconciler.ts';
import { kustomizationReconciler, type KustomizeFeatureGates } from './kustomization/reconciler.ts';

export interface ControllerOptions {
  client: KubeClient;
  /** The namespace the controller runs in ($RUNTIME_NAMESPACE): where its artifacts are said to be served. */
  runtimeNamespace?: string;
  log?: Logger;
  concurrent?: number;
  requeueDependencyMs?: number;
  watchNamespace?: string;
  watchLabelSelector?: string;
  /** Refuse sourceRefs into another namespace (Flux's --no-cross-namespace-refs). */
  noCrossNamespaceRefs?: boolean;
  /** Impersonated when a Kustomization sets no serviceAccountName (Flux's --default-service-account). */
  defaultServiceAccount?: string;
  /** A failed Job's Warning event carries this many of its last log lines (0 or unset: off). */
  failedJobLogLines?: number;
  /** Flux's --sops-age-secret: in runtimeNamespace, its *.agekey entries decrypt where no secretRef is named. */
  sopsAgeSecret?: string;
  /** Where artifacts are kept; a fresh temporary directory when unset. */
  storagePath?: string;
  /** The host[:port] (or base URL) advertised in artifact URLs. */
  storageAdvertiseBase?: string;
  /** Where to serve the artifacts over HTTP (Flux's --storage-addr); unset: not served. */
  storageAddr?: string;
  /** Where events are posted for Flux's notification-controller (Flux's --events-addr). */
  eventsAddr?: string;
  /** Flux's feature gates (--feature-gates). */
  featureGates?: KustomizeFeatureGates;
  /** kustomize's WebAssembly module (default: $SLUICE_KUSTOMIZE_WASM, then the build cache). */
  kustomizeModule?: string;
  metrics?: Metrics;
}

export interface RunningControllers {
  manager: Manager;
  /** The bound address of the artifact server, when one was asked for. */
  storageAddress?: string;
  stop(): Promise<void>;
}

export async function runControllers(options: ControllerOptions): Promise<RunningControllers> {
  const storagePath = options.storagePath ?? (await mkdtemp(path.join(tmpdir(), 'sluice-artifacts-')));
  const store = new ArtifactStore(storagePath);
  const storage = options.storageAddr ? await serveFiles(options.storageAddr, storagePath) : undefined;
  const advertised =
    options.storageAdvertiseBase ??
    // Bound to a loopback address (tests, a local run), that is the address to reach it at.
    (storage && /^127\.|^\[::1\]/.test(storage.address)
      ? storage.address
      : `sluice-controller.${options.runtimeNamespace ?? 'flux-system'}.svc.cluster.local.`);
  // Off the critical path of the first releases after a start: see warmUpKustomize.
  void warmUpKustomize({ kustomizeModule: options.kustomizeModule });
  const manager = new Manager(
    {
      client: options.client,
      log: options.log,
      concurrent: options.concurrent,
      watchNamespace: options.watchNamespace,
      watchLabelSelector: options.watchLabelSelector,
      metrics: options.metrics,
      eventsAddr: options.eventsAddr,
    },
    {
      git: (ctx, events) =>
        gitRepositoryReconciler(ctx, events, {
          store,
          advertiseBase: advertised,
        }),
      oci: (ctx, events) => ociRepositoryReconciler(ctx, events, { store, advertiseBase: advertised }),
      kustomization: (ctx, events) =>
        kustomizationReconciler(ctx, events, {
          store,
          kustomizeModule: options.kustomizeModule,
          requeueDependencyMs: options.requeueDependencyMs,
          noCrossNamespaceRefs: options.noCrossNamespaceRefs,
          defaultServiceAccount: options.defaultServiceAccount,
          failedJobLogLines: options.failedJobLogLines,
          sopsAgeSecret: options.sopsAgeSecret
            ? { namespace: options.runtimeNamespace ?? 'flux-system', name: options.sopsAgeSecret }
            : undefined,
          featureGates: options.featureGates,
        }),
    },
  );
  await manager.start();
  return {
    manager,
    storageAddress: storage?.address,
    async stop() {
      await manager.stop();
      await storage?.close();
      // A store this call made is ours to remove; one the caller named is left as it is.
      if (!options.storagePath) await rm(storagePath, { recursive: true, force: true });
    },
  };
}

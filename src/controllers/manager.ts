// Wires the controllers together: one informer per kind feeds the work queues with Flux's triggers
// (a spec change, a reconcile request, deletion, a new source revision), and the reconcilers read sources
// from the informers' caches.
import type { KubeClient, KubeObjectHeader } from '../kube/client.ts';
import { ObjectClient } from '../kube/objects.ts';
import { Informer } from '../runtime/informer.ts';
import { objectKey } from '../kube/watch.ts';
import { Controller, type ReconcileFunc } from '../runtime/controller.ts';
import { EventRecorder } from '../runtime/events.ts';
import { isConditionTrue } from '../runtime/conditions.ts';
import { silentLogger, type Logger } from '../runtime/logger.ts';
import type { Metrics } from '../runtime/metrics.ts';
import { Annotation, collectionPath } from '../api/meta.ts';
import { GitRepositoryApi, type GitRepository } from '../api/gitrepository.ts';
import { KustomizationApi, type Kustomization } from '../api/kustomization.ts';
import { OCIRepositoryApi, type OCIRepository } from '../api/ocirepository.ts';
import {
  DependentsIndex,
  judgesByExpression,
  sortByDependencies,
  wakesDependent,
} from './kustomization/dependencies.ts';

export interface ManagerOptions {
  client: KubeClient;
  log?: Logger;
  /** Kustomizations reconciled in parallel (Flux: --concurrent, default 4). */
  concurrent?: number;
  /** Watch only this namespace (Flux: --watch-all-namespaces=false with the runtime namespace). */
  watchNamespace?: string;
  /** Reconcile only objects matching this label selector (sharding). */
  watchLabelSelector?: string;
  /** Reconcile, queue and status metrics (Flux's gotk_* and controller-runtime's names). */
  metrics?: Metrics;
  /** Where events are posted in Flux's format too (Flux: --events-addr, notification-controller's address). */
  eventsAddr?: string;
}

export interface Caches {
  gitRepositories: Informer<GitRepository>;
  ociRepositories: Informer<OCIRepository>;
  kustomizations: Informer<Kustomization>;
}

export interface ControllerContext extends Caches {
  objects: ObjectClient;
  log: Logger;
}

export type ReconcilerFactory = (ctx: ControllerContext, events: EventRecorder) => ReconcileFunc;

/** Flux reconciles on a spec change, a new reconcile request or deletion, not on status or label edits. */
export function needsReconcile(previous: KubeObjectHeader, current: KubeObjectHeader): boolean {
  const annotation = (o: KubeObjectHeader) => o.metadata?.annotations?.[Annotation.reconcileRequestedAt];
  return (
    previous.metadata?.generation !== current.metadata?.generation ||
    annotation(previous) !== annotation(current) ||
    (!previous.metadata?.['deletionTimestamp'] && !!current.metadata?.['deletionTimestamp'])
  );
}

/** Whether the Kustomization reads the ConfigMap or Secret: substituteFrom, decryption or kubeConfig. */
function readsConfig(
  ks: Kustomization,
  kind: 'ConfigMap' | 'Secret',
  { name, namespace }: { name?: string; namespace?: string },
): boolean {
  if (ks.metadata.namespace !== namespace) return false;
  const { postBuild, decryption, kubeConfig } = ks.spec;
  if (postBuild?.substituteFrom?.some((ref) => ref.kind === kind && ref.name === name)) return true;
  if (kind === 'Secret') return decryption?.secretRef?.name === name || kubeConfig?.secretRef?.name === name;
  return kubeConfig?.configMapRef?.name === name;
}

const sourceKey = (ks: Kustomization): string =>
  `${ks.spec.sourceRef.kind}/${ks.spec.sourceRef.namespace || ks.metadata.namespace}/${ks.spec.sourceRef.name}`;

/** Flux's default --watch-configs-label-selector: the ConfigMaps and Secrets whose changes trigger a reconcile. */
const watchedConfigSelector = 'reconcile.fluxcd.io/watch=Enabled';

export class Manager {
  readonly context: ControllerContext;
  private readonly options: ManagerOptions;
  /** Labelled ConfigMaps and Secrets (Flux's config watchers): a change reconciles the Kustomizations using them. */
  private readonly configs: { kind: 'ConfigMap' | 'Secret'; informer: Informer }[];
  private readonly controllers: { git: Controller; oci: Controller; kustomization: Controller };

  constructor(
    options: ManagerOptions,
    reconcilers: { git: ReconcilerFactory; oci: ReconcilerFactory; kustomization: ReconcilerFactory },
  ) {
    this.options = options;
    const log = options.log ?? silentLogger;
    const informer = <T extends KubeObjectHeader>(
      api: typeof GitRepositoryApi | typeof OCIRepositoryApi | typeof KustomizationApi,
    ) =>
      new Informer<T>(options.client, {
        path: collectionPath(api, options.watchNamespace),
        labelSelector: options.watchLabelSelector,
        onError: (error) => log.warn({ error: String(error), kind: api.kind }, 'watch interrupted, resuming'),
      });
    this.configs = (['ConfigMap', 'Secret'] as const).map((kind) => {
      const plural = `${kind.toLowerCase()}s`;
      return {
        kind,
        informer: new Informer(options.client, {
          path: options.watchNamespace
            ? `/api/v1/namespaces/${options.watchNamespace}/${plural}`
            : `/api/v1/${plural}`,
          labelSelector: watchedConfigSelector,
          onError: (error) => log.warn({ error: String(error), kind }, 'watch interrupted, resuming'),
        }),
      };
    });
    this.context = {
      objects: new ObjectClient(options.client),
      log,
      gitRepositories: informer<GitRepository>(GitRepositoryApi),
      ociRepositories: informer<OCIRepository>(OCIRepositoryApi),
      kustomizations: informer<Kustomization>(KustomizationApi),
    };
    const webhook = { webhook: options.eventsAddr };
    const sourceEvents = new EventRecorder(options.client, 'source-controller', log, webhook);
    const kustomizeEvents = new EventRecorder(options.client, 'kustomize-controller', log, webhook);
    this.controllers = {
      git: new Controller(reconcilers.git(this.context, sourceEvents), {
        kind: 'GitRepository',
        group: GitRepositoryApi.group,
        log,
        concurrency: 2,
        metrics: options.metrics,
      }),
      oci: new Controller(reconcilers.oci(this.context, sourceEvents), {
        kind: 'OCIRepository',
        group: OCIRepositoryApi.group,
        log,
        concurrency: 2,
        metrics: options.metrics,
      }),
      kustomization: new Controller(reconcilers.kustomization(this.context, kustomizeEvents), {
        kind: 'Kustomization',
        group: KustomizationApi.group,
        log,
        concurrency: options.concurrent ?? 4,
        metrics: options.metrics,
      }),
    };
    this.watch();
    if (options.metrics) this.recordStatusMetrics(options.metrics);
  }

  async start(): Promise<void> {
    await Promise.all([
      this.context.gitRepositories.start(),
      this.context.ociRepositories.start(),
      this.context.kustomizations.start(),
      ...this.configs.map(({ informer }) => informer.start()),
    ]);
    this.controllers.git.start();
    this.controllers.oci.start();
    this.controllers.kustomization.start();
  }

  async stop(): Promise<void> {
    await Promise.all([
      this.controllers.git.stop(),
      this.controllers.oci.stop(),
      this.controllers.kustomization.stop(),
    ]);
    await Promise.all([
      this.context.gitRepositories.stop(),
      this.context.ociRepositories.stop(),
      this.context.kustomizations.stop(),
      ...this.configs.map(({ informer }) => informer.stop()),
    ]);
  }

  private watch(): void {
    const { git, oci, kustomization } = this.controllers;
    const enqueue = (controller: Controller) => (o: KubeObjectHeader) =>
      controller.enqueue(o.metadata?.namespace, o.metadata?.name ?? '');
    const watchSource = <S extends GitRepository | OCIRepository>(
      informer: Informer<S>,
      controller: Controller,
    ) =>
      informer.on({
        added: enqueue(controller),
        updated: (previous, current) => {
          if (needsReconcile(previous, current)) enqueue(controller)(current);
          const [before, after] = [previous.status?.artifact, current.status?.artifact];
          if (before?.revision !== after?.revision) this.enqueueUsersOf(current);
          // The same revision stored again (e.g. after a restart lost the artifact): wake whoever is not Ready.
          else if (after && before?.lastUpdateTime !== after.lastUpdateTime)
            this.enqueueUsersOf(current, true);
        },
      });
    watchSource(this.context.gitRepositories, git);
    // A GitRepository that includes another builds its artifact again when the included one's changes.
    this.context.gitRepositories.on({
      updated: (previous, current) => {
        if (previous.status?.artifact?.digest === current.status?.artifact?.digest) return;
        const { namespace, name } = current.metadata;
        for (const includer of this.context.gitRepositories.list()) {
          const includes = includer.spec.include?.some((i) => i.repository.name === name);
          if (includes && includer.metadata.namespace === namespace) enqueue(git)(includer);
        }
      },
    });
    watchSource(this.context.ociRepositories, oci);
    // A watched ConfigMap or Secret changed, appeared or went: reconcile whoever reads it.
    for (const { kind, informer } of this.configs) {
      // List items carry no kind: the informer's is the config's.
      const configChanged = (config: KubeObjectHeader) => {
        for (const ks of this.context.kustomizations.list()) {
          if (readsConfig(ks, kind, config.metadata ?? {})) enqueue(kustomization)(ks);
        }
      };
      informer.on({
        added: configChanged,
        updated: (_previous, config) => configChanged(config),
        deleted: configChanged,
      });
    }
    const dependents = new DependentsIndex();
    this.context.kustomizations.on({
      added: (ks) => {
        dependents.set(ks);
        enqueue(kustomization)(ks);
      },
      updated: (previous, current) => {
        dependents.set(current);
        if (needsReconcile(previous, current)) enqueue(kustomization)(current);
        // Event-driven dependsOn: a dependent looks again the moment its dependency is ready for it, not 30s
        // later, and not on every status write of the dependency.
        for (const key of dependents.of(current)) {
          const slash = key.indexOf('/');
          const dependent = this.context.kustomizations.get(key.slice(0, slash), key.slice(slash + 1));
          if (
            dependent &&
            wakesDependent(previous, current, dependent, judgesByExpression(dependent, current))
          ) {
            enqueue(kustomization)(dependent);
          }
        }
      },
      deleted: (ks) => dependents.delete(ks),
    });
  }

  /** The status gauges follow what the cluster holds, so they also reflect status written by a previous leader. */
  private recordStatusMetrics(metrics: Metrics): void {
    const record = <T extends KubeObjectHeader>(informer: Informer<T>) =>
      informer.on({
        added: (o) => metrics.recordStatus(o),
        updated: (_previous, o) => metrics.recordStatus(o),
        deleted: (o) => metrics.recordStatus(o, true),
      });
    record(this.context.gitRepositories);
    record(this.context.ociRepositories);
    record(this.context.kustomizations);
  }

  /**
   * A new artifact: queue the Kustomizations built from it, except those already at that revision and
   * healthy or busy with it (Flux's rule, so a status write does not trigger a second reconcile).
   */
  private enqueueUsersOf(source: GitRepository | OCIRepository, restored = false): void {
    const revision = source.status?.artifact?.revision;
    if (!revision) return;
    const key = `${source.kind}/${source.metadata.namespace}/${source.metadata.name}`;
    const users = this.context.kustomizations.list().filter((ks) => sourceKey(ks) === key);
    // Dependencies first, so a pipeline's stages are taken in order by the workers.
    for (const ks of sortByDependencies(users)) {
      // A Reconciling condition may be left over from a crash, so a restored artifact only skips Ready ones.
      const busy = !restored && isConditionTrue(ks.status, 'Reconciling');
      const settled =
        (isConditionTrue(ks.status, 'Ready') || busy) && ks.status?.lastAttemptedRevision === revision;
      if (!settled) this.controllers.kustomization.queue.add(objectKey(ks));
    }
  }
}

// Server-side apply of a set of objects, Flux's way: staged, each stage validated by a server-side dry-run of
// every object before any is written, drift reported as created / configured / unchanged, immutable objects
// recreated when force allows, and stale objects pruned in reverse order behind the owner-label guard.
//
// One deliberate difference from Flux: Flux deletes a force candidate while it is still validating the
// stage, and counts any 422 as "immutable", so an invalid manifest with force on deletes the live object and
// then fails to recreate it. Here a force candidate's replacement is validated first (a dry-run create under
// a generated name) and nothing is deleted unless the whole stage validated.
import { isDeepStrictEqual } from 'node:util';
import type { KubeObject } from '../kube/client.ts';
import { KubeApiError, isNotFound } from '../kube/errors.ts';
import { resourcePath } from '../kube/discovery.ts';
import { describeRef, refOf, type ObjectClient, type ObjectRef } from '../kube/objects.ts';
import { applyStages, type Stage } from './sort.ts';
import { forceEnabled, skipApply, skipPrune } from './annotations.ts';
import { isImmutableError } from './immutable.ts';
import { applyPayload, withoutPaths, type IgnoreRules } from './ignore.ts';
import { errorMessage } from '../errors.ts';

export type Action = 'created' | 'configured' | 'unchanged' | 'deleted' | 'skipped' | 'unknown';

export interface ChangeSetEntry {
  ref: ObjectRef;
  /** "Kind/namespace/name" as Flux prints it. */
  subject: string;
  action: Action;
  /** The object as the server returned it from the apply, or as it was read when left alone. */
  live?: KubeObject;
}

export interface ApplyAllOptions {
  /** Field manager of every write; Flux uses "kustomize-controller". */
  fieldManager: string;
  /** spec.force: recreate objects whose dry-run fails on an immutable field. */
  force: boolean;
  /** Group/Kind names ("rbac.authorization.k8s.io/Role") applied in a stage of their own. */
  customStageKinds?: string[];
  /** How long definitions (CRDs, Namespaces) and classes may take to become ready. */
  readyTimeoutMs?: number;
  /** Leaves an object alone (action "skipped") beyond the annotations that do so, given its live state. */
  skip?: (desired: KubeObject, existing: KubeObject | undefined) => boolean;
  signal: AbortSignal;
  /** Adds the milliseconds spent validating (reads and dry-runs) and writing, for the phase timings. */
  timings?: ApplyTimings;
  /**
   * The labels every object of the set carries (a Kustomization's owner labels). With many objects of one kind
   * in one namespace, their live state is then read with one list by these labels instead of a get each.
   */
  ownerLabels?: Record<string, string>;
  /** spec.ignore: fields left out of drift detection, and of the apply when another manager owns them. */
  ignore?: IgnoreRules;
}

export interface ApplyTimings {
  dryRunMs: number;
  writeMs: number;
}

/** A stage failed; `changeSet` lists what earlier stages (and this one, before the failure) changed. */
export class ApplyError extends Error {
  readonly changeSet: ChangeSetEntry[];
  constructor(message: string, changeSet: ChangeSetEntry[]) {
    super(message);
    this.name = 'ApplyError';
    this.changeSet = changeSet;
  }
}

export class PruneError extends Error {
  readonly changeSet: ChangeSetEntry[];
  /** Objects whose deletion was not confirmed: they stay in the inventory so the next run retries them. */
  readonly survivors: ObjectRef[];
  constructor(message: string, changeSet: ChangeSetEntry[], survivors: ObjectRef[]) {
    super(message);
    this.name = 'PruneError';
    this.changeSet = changeSet;
    this.survivors = survivors;
  }
}

/** What applying one object would do, as the server's dry-run says. */
export interface Plan {
  object: KubeObject;
  action: 'created' | 'configured' | 'unchanged' | 'skipped';
  /** The live object must be deleted and created again (force). */
  recreate: boolean;
  /** The live object, when there is one. */
  existing?: KubeObject;
  /** The object as the server would store it (absent when skipped or recreated). */
  dryRun?: KubeObject;
  /** The ignore rules' pointers that select this existing object (parsed), left out of the comparison. */
  ignoredPaths?: string[][];
  /** What to send instead of `object`: with ignored fields that drifted, their live value or nothing. */
  payload?: KubeObject;
}

/** A plan, or why the object cannot be applied. */
export type PlanResult = Plan | { object: KubeObject; error: string };

const DRY_RUN_CONCURRENCY = 4;
/** From this many objects of one kind in one namespace, their live state is read with one list. */
const LIST_FROM = 16;

/** The live objects of a stage found by listing, by "apiVersion/kind/namespace/name". */
type LiveObjects = Map<string, KubeObject>;

const liveKey = (ref: ObjectRef) => `${ref.apiVersion}/${ref.kind}/${ref.namespace ?? ''}/${ref.name}`;

export class ResourceManager {
  private readonly objects: ObjectClient;

  constructor(objects: ObjectClient) {
    this.objects = objects;
  }

  async applyAllStaged(objects: KubeObject[], options: ApplyAllOptions): Promise<ChangeSetEntry[]> {
    const changeSet: ChangeSetEntry[] = [];
    const timings = options.timings ?? { dryRunMs: 0, writeMs: 0 };
    for (const stage of applyStages(objects, options.customStageKinds)) {
      let lap = Date.now();
      const plans = await this.validateStage(stage, options, changeSet);
      timings.dryRunMs += Date.now() - lap;
      lap = Date.now();
      for (const plan of plans) changeSet.push(await this.execute(plan, options, changeSet));
      timings.writeMs += Date.now() - lap;
      if (stage.waitForReady) {
        await this.waitForDefinitions(plans, options, changeSet);
      }
    }
    return changeSet;
  }

  /** Deletes stale objects in reverse apply order; an object without our owner labels is left alone. */
  async deleteAll(stale: ObjectRef[], ownerLabels: Record<string, string>): Promise<ChangeSetEntry[]> {
    const changeSet: ChangeSetEntry[] = [];
    const errors: string[] = [];
    const survivors: ObjectRef[] = [];
    for (const ref of stale) {
      const subject = describeRef(ref);
      try {
        const live = await this.objects.get(ref);
        if (!live) {
          changeSet.push({ ref, subject, action: 'deleted' });
        } else if (!ownedBy(live, ownerLabels) || skipPrune(live)) {
          changeSet.push({ ref, subject, action: 'skipped' });
        } else {
          await this.objects.delete(ref, 'Background');
          changeSet.push({ ref, subject, action: 'deleted' });
        }
      } catch (error) {
        changeSet.push({ ref, subject, action: 'unknown' });
        survivors.push(ref);
        errors.push(`${subject} delete failed: ${errorMessage(error)}`);
      }
    }
    if (errors.length > 0) {
      throw new PruneError(`delete failed, errors: ${errors.join('; ')}`, changeSet, survivors);
    }
    return changeSet;
  }

  /**
   * Plans every object without writing anything: what `diff` shows. Stages are not waited for, so an object
   * whose CRD is in the same set reports the missing kind.
   */
  async dryRunAll(objects: KubeObject[], options: ApplyAllOptions): Promise<PlanResult[]> {
    const ordered = applyStages(objects, options.customStageKinds).flatMap((s) => s.objects);
    const live = await this.listLive(ordered, options);
    return mapLimit(ordered, DRY_RUN_CONCURRENCY, async (object) => {
      try {
        return await this.planObject(object, options, live);
      } catch (error) {
        return { object, error: dryRunFailure(refOf(object), error) };
      }
    });
  }

  /**
   * The live state of objects that come many of a kind to a namespace, read with one list by the owner labels.
   * What the list does not hold (not labelled yet, or absent) is read one by one as before; a list that fails
   * only means the same.
   */
  private async listLive(objects: KubeObject[], options: ApplyAllOptions): Promise<LiveObjects> {
    const live: LiveObjects = new Map();
    const labels = Object.entries(options.ownerLabels ?? {});
    if (labels.length === 0) return live;
    const groups = new Map<string, ObjectRef>();
    const counts = new Map<string, number>();
    for (const object of objects) {
      const ref = refOf(object);
      const group = `${ref.apiVersion}/${ref.kind}/${ref.namespace ?? ''}`;
      groups.set(group, ref);
      counts.set(group, (counts.get(group) ?? 0) + 1);
    }
    const labelSelector = labels.map(([key, value]) => `${key}=${value}`).join(',');
    for (const [group, ref] of groups) {
      if ((counts.get(group) ?? 0) < LIST_FROM) continue;
      try {
        const list = await this.objects.client.list(await this.objects.collectionPath(ref), {
          labelSelector,
        });
        for (const item of list.items) {
          // A list's items leave out their kind and version, which a drift check compares.
          const object: KubeObject = { apiVersion: ref.apiVersion, kind: ref.kind, ...item };
          live.set(liveKey(refOf(object)), object);
        }
      } catch {
        // Read one by one instead: planObject reports what is wrong with the kind, object by object.
      }
    }
    return live;
  }

  /** Dry-runs every object of the stage; any failure fails the stage before anything is written. */
  private async validateStage(
    stage: Stage,
    options: ApplyAllOptions,
    done: ChangeSetEntry[],
  ): Promise<Plan[]> {
    const live = await this.listLive(stage.objects, options);
    const results = await mapLimit(
      stage.objects,
      DRY_RUN_CONCURRENCY,
      async (object): Promise<PlanResult> => {
        try {
          return await this.planObject(object, options, live);
        } catch (error) {
          return { object, error: dryRunFailure(refOf(object), error) };
        }
      },
    );
    const errors = results.flatMap((r) => ('error' in r ? [r.error] : []));
    if (errors.length > 0) throw new ApplyError(errors.join('\n'), [...done]);
    return results.filter((r): r is Plan => !('error' in r));
  }

  /** What applying one object would do: skip, create, change, leave, or recreate (force, validated first). */
  private async planObject(object: KubeObject, options: ApplyAllOptions, live: LiveObjects): Promise<Plan> {
    const ref = refOf(object);
    const existing = live.get(liveKey(ref)) ?? (await this.objects.get(ref));
    if (skipApply(object, existing) || options.skip?.(object, existing)) {
      return { object, action: 'skipped', recreate: false, existing };
    }
    try {
      const dryRun = await this.objects.apply(object, { fieldManager: options.fieldManager, dryRun: true });
      const paths = existing && options.ignore ? options.ignore.pathsFor(dryRun) : [];
      if (!existing || paths.length === 0) {
        const action = !existing ? 'created' : drifted(existing, dryRun) ? 'configured' : 'unchanged';
        return { object, action, recreate: false, existing, dryRun };
      }
      const changed = drifted(withoutPaths(existing, paths), withoutPaths(dryRun, paths));
      const payload = changed
        ? applyPayload(object, existing, dryRun, paths, options.fieldManager)
        : undefined;
      const action = changed ? 'configured' : 'unchanged';
      return { object, action, recreate: false, existing, dryRun, ignoredPaths: paths, payload };
    } catch (error) {
      if (!existing || !forceEnabled(object, existing, options.force) || !isImmutableError(error))
        throw error;
      await this.validateReplacement(object, options);
      return { object, action: 'created', recreate: true, existing };
    }
  }

  /** Validates what force would create, without touching the live object: a dry-run create, generated name. */
  private async validateReplacement(object: KubeObject, options: ApplyAllOptions): Promise<void> {
    const ref = refOf(object);
    const mapping = await this.objects.mapping(ref);
    const candidate = structuredClone(object);
    const metadata = { ...candidate.metadata, generateName: `${candidate.metadata?.name}-` };
    delete metadata.name;
    delete metadata.resourceVersion;
    delete metadata.uid;
    candidate.metadata = metadata;
    await this.objects.client.create(
      resourcePath(mapping, mapping.namespaced ? ref.namespace : undefined),
      candidate,
      {
        dryRun: 'All',
        fieldManager: options.fieldManager,
      },
    );
  }

  private async execute(
    plan: Plan,
    options: ApplyAllOptions,
    done: ChangeSetEntry[],
  ): Promise<ChangeSetEntry> {
    const ref = refOf(plan.object);
    const entry: ChangeSetEntry = {
      ref,
      subject: describeRef(ref),
      action: plan.action,
      live: plan.existing,
    };
    if (plan.action === 'skipped' || plan.action === 'unchanged') return entry;
    try {
      if (plan.recreate) {
        await this.objects.delete(ref, 'Background'); // Background: a Job's old pods go with it
        await this.objects.waitUntilGone(ref, options.signal);
      }
      entry.live = await this.objects.apply(plan.payload ?? plan.object, {
        fieldManager: options.fieldManager,
      });
      return entry;
    } catch (error) {
      throw new ApplyError(`${entry.subject} apply failed: ${errorMessage(error)}`, [...done]);
    }
  }

  private async waitForDefinitions(
    plans: Plan[],
    options: ApplyAllOptions,
    done: ChangeSetEntry[],
  ): Promise<void> {
    const timeoutMs = options.readyTimeoutMs ?? 60_000;
    const signal = AbortSignal.any([options.signal, AbortSignal.timeout(timeoutMs)]);
    const pending = plans.filter((p) => p.action !== 'skipped').map((p) => refOf(p.object));
    try {
      await Promise.all(pending.map((ref) => this.objects.waitFor(ref, definitionReady, signal)));
      for (const { apiVersion, kind } of plans.flatMap((p) => definedKinds(p.object))) {
        await this.objects.mapper.waitForKind(apiVersion, kind, signal);
      }
    } catch (error) {
      if (options.signal.aborted || !signal.aborted) throw error;
      const subjects = pending.map(describeRef).join(', ');
      throw new ApplyError(`timeout waiting for: [${subjects}] to become ready after ${timeoutMs / 1000}s`, [
        ...done,
      ]);
    }
  }
}

/**
 * Whether a definition-stage object can be used: a CRD Established, a Namespace Active. A CRD whose names
 * were refused will never be established, so that fails at once instead of at the timeout.
 */
function definitionReady(object: KubeObject | undefined): boolean {
  if (!object) return false;
  const status = object['status'] as
    { phase?: string; conditions?: { type: string; status: string; message?: string }[] } | undefined;
  if (object.kind === 'CustomResourceDefinition') {
    const names = status?.conditions?.find((c) => c.type === 'NamesAccepted');
    if (names?.status === 'False') {
      throw new Error(
        `CustomResourceDefinition/${object.metadata?.name} was not accepted: ${names.message}; another CRD already uses these names`,
      );
    }
    return status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True') ?? false;
  }
  if (object.kind === 'Namespace') return status?.phase === 'Active';
  return true;
}

/** The apiVersions and kind a CRD serves, which later stages may use. */
function definedKinds(object: KubeObject): { apiVersion: string; kind: string }[] {
  if (object.kind !== 'CustomResourceDefinition') return [];
  const spec = object['spec'] as {
    group: string;
    names: { kind: string };
    versions: { name: string; served: boolean }[];
  };
  return spec.versions
    .filter((v) => v.served)
    .map((v) => ({ apiVersion: `${spec.group}/${v.name}`, kind: spec.names.kind }));
}

/** Flux's drift test: labels, annotations, or anything outside metadata and status differ. */
function drifted(existing: KubeObject, dryRun: KubeObject): boolean {
  const strip = ({ metadata: _m, status: _s, ...rest }: KubeObject) => rest;
  return (
    !isDeepStrictEqual(existing.metadata?.labels ?? {}, dryRun.metadata?.labels ?? {}) ||
    !isDeepStrictEqual(existing.metadata?.annotations ?? {}, dryRun.metadata?.annotations ?? {}) ||
    !isDeepStrictEqual(strip(existing), strip(dryRun))
  );
}

function ownedBy(live: KubeObject, ownerLabels: Record<string, string>): boolean {
  return Object.entries(ownerLabels).every(([k, v]) => live.metadata?.labels?.[k] === v);
}

function dryRunFailure(ref: ObjectRef, error: unknown): string {
  const subject = describeRef(ref);
  if (isNotFound(error)) return `${subject} not found: ${errorMessage(error)}`;
  if (error instanceof KubeApiError) return `${subject} dry-run failed (${error.reason}): ${error.message}`;
  return `${subject} dry-run failed: ${errorMessage(error)}`;
}

/** Maps with at most `limit` calls in flight, keeping the input order in the result. */
async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

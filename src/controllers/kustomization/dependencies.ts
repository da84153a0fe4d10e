// dependsOn: a Kustomization proceeds only when each dependency is Ready for its current generation and,
// when both are built from the same source, has applied the very revision this one is about to apply.
import type { Kustomization } from '../../api/kustomization.ts';
import { KustomizationApi } from '../../api/kustomization.ts';
import type { ObjectClient } from '../../kube/objects.ts';
import { getCondition } from '../../runtime/conditions.ts';
import { errorMessage } from '../../errors.ts';

/** A compiled `readyExpr`: is `dep` ready for `self`? */
export type ReadyCheck = (self: object, dep: object) => boolean;

/**
 * Why the dependencies are not ready yet, or undefined when they all are. A dependency with a readyExpr
 * is judged by that expression alone, as in Flux.
 */
export async function dependencyNotReady(
  objects: ObjectClient,
  ks: Kustomization,
  revision: string,
  readyChecks: (ReadyCheck | undefined)[] = [],
): Promise<string | undefined> {
  for (const [index, dep] of (ks.spec.dependsOn ?? []).entries()) {
    const namespace = dep.namespace || ks.metadata.namespace;
    const id = `${namespace}/${dep.name}`;
    let live: Kustomization | undefined;
    try {
      live = await objects.get<Kustomization & { [key: string]: unknown }>({
        apiVersion: KustomizationApi.apiVersion,
        kind: KustomizationApi.kind,
        namespace,
        name: dep.name,
      });
    } catch (error) {
      return `dependency '${id}' not found: ${errorMessage(error)}`;
    }
    if (!live) return `dependency '${id}' not found: ${KustomizationApi.kind} "${dep.name}" not found`;
    const readyCheck = readyChecks[index];
    if (readyCheck) {
      if (!readyCheck(ks, live)) return `dependency '${id}' is not ready according to readyExpr eval`;
      continue;
    }
    const status = live.status;
    if (!status?.conditions?.length || live.metadata.generation !== status.observedGeneration) {
      return `dependency '${id}' is not ready`;
    }
    if (getCondition(status, 'Ready')?.status !== 'True') return `dependency '${id}' is not ready`;
    if (sameSource(ks, live) && status.lastAppliedRevision !== revision) {
      return `dependency '${id}' revision is not up to date`;
    }
  }
  return undefined;
}

function sameSource(a: Kustomization, b: Kustomization): boolean {
  const ref = (k: Kustomization) =>
    `${k.spec.sourceRef.kind}/${k.spec.sourceRef.namespace || k.metadata.namespace}/${k.spec.sourceRef.name}`;
  return ref(a) === ref(b);
}

type Lookup = (namespace: string, name: string) => Kustomization | undefined;

export const keyOf = (ks: Kustomization): string => `${ks.metadata.namespace}/${ks.metadata.name}`;

export function dependencyKeys(ks: Kustomization): string[] {
  return (ks.spec.dependsOn ?? []).map((d) => `${d.namespace || ks.metadata.namespace}/${d.name}`);
}

/**
 * The dependency cycle this Kustomization is part of, as the chain of "namespace/name" that leads back to it
 * (e.g. [a, b, a]), or undefined. A Kustomization that merely depends on a cycle is not in one: it waits.
 */
export function findDependencyCycle(ks: Kustomization, lookup: Lookup): string[] | undefined {
  const start = keyOf(ks);
  const visited = new Set<string>();
  const walk = (current: Kustomization, path: string[]): string[] | undefined => {
    for (const next of dependencyKeys(current)) {
      if (next === start) return [...path, next];
      if (visited.has(next)) continue;
      visited.add(next);
      const slash = next.indexOf('/');
      const dep = lookup(next.slice(0, slash), next.slice(slash + 1));
      const found = dep && walk(dep, [...path, next]);
      if (found) return found;
    }
    return undefined;
  };
  return walk(ks, [start]);
}

/** Orders Kustomizations so each comes after those it depends on (cycles are left in input order). */
export function sortByDependencies(list: Kustomization[]): Kustomization[] {
  const byKey = new Map(list.map((ks) => [keyOf(ks), ks]));
  const sorted: Kustomization[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (ks: Kustomization) => {
    const key = keyOf(ks);
    if (state.has(key)) return;
    state.set(key, 'visiting');
    for (const dep of dependencyKeys(ks)) {
      const d = byKey.get(dep);
      if (d && !state.has(dep)) visit(d);
    }
    state.set(key, 'done');
    sorted.push(ks);
  };
  list.forEach(visit);
  return sorted;
}

/**
 * Who lists whom in dependsOn, kept up to date from the informer's events, so that a status change finds its
 * dependents without going through every Kustomization (a scan per event is quadratic in their number).
 */
export class DependentsIndex {
  private readonly dependents = new Map<string, Set<string>>();
  private readonly dependencies = new Map<string, string[]>();

  set(ks: Kustomization): void {
    this.delete(ks);
    const key = keyOf(ks);
    const dependencies = dependencyKeys(ks);
    this.dependencies.set(key, dependencies);
    for (const dependency of dependencies) {
      const set = this.dependents.get(dependency) ?? new Set<string>();
      set.add(key);
      this.dependents.set(dependency, set);
    }
  }

  delete(ks: Kustomization): void {
    const key = keyOf(ks);
    for (const dependency of this.dependencies.get(key) ?? []) {
      const set = this.dependents.get(dependency);
      set?.delete(key);
      if (set?.size === 0) this.dependents.delete(dependency);
    }
    this.dependencies.delete(key);
  }

  /** The "namespace/name" of each Kustomization that lists `ks` in its dependsOn. */
  of(ks: Kustomization): string[] {
    return [...(this.dependents.get(keyOf(ks)) ?? [])];
  }
}

/** A Kustomization's pipeline: everything it depends on, transitively, then itself, each after its dependencies. */
export function pipelineOf(ks: Kustomization, all: Kustomization[]): Kustomization[] {
  const byKey = new Map(all.map((k) => [keyOf(k), k]));
  const members = new Map<string, Kustomization>();
  const collect = (k: Kustomization) => {
    if (members.has(keyOf(k))) return;
    members.set(keyOf(k), k);
    for (const dep of dependencyKeys(k)) {
      const d = byKey.get(dep);
      if (d) collect(d);
    }
  };
  collect(ks);
  return sortByDependencies([...members.values()]);
}

/** Ready for its dependents: Ready=True for its current generation (what dependencyNotReady asks first). */
function readyForDependents(ks: Kustomization): boolean {
  const status = ks.status;
  return (
    status?.observedGeneration === ks.metadata.generation &&
    getCondition(status ?? {}, 'Ready')?.status === 'True'
  );
}

/**
 * Whether a status change of `dependency` (from `previous` to `current`) is news to `dependent`, so that it
 * should look again now: the dependency is ready, and the dependent is waiting for it (not Ready) or is built
 * from the same source and has not applied the dependency's revision yet. A dependency reconciling, being
 * suspended or resumed at the revision the dependent already applied wakes nothing. A dependent that judges it
 * by a readyExpr is woken by any change of its readiness, since the expression may read anything.
 */
export function wakesDependent(
  previous: Kustomization,
  current: Kustomization,
  dependent: Kustomization,
  judgedByExpression: boolean,
): boolean {
  if (judgedByExpression) {
    const readiness = (k: Kustomization) => {
      const ready = getCondition(k.status ?? {}, 'Ready');
      return `${ready?.status}/${ready?.reason}/${k.status?.observedGeneration}/${k.status?.lastAppliedRevision}`;
    };
    return readiness(previous) !== readiness(current);
  }
  if (!readyForDependents(current)) return false;
  if (!readyForDependents(dependent)) return true;
  return (
    sameSource(current, dependent) &&
    dependent.status?.lastAppliedRevision !== current.status?.lastAppliedRevision
  );
}

/** Whether `dependent` judges `dependency` by a readyExpr. */
export function judgesByExpression(dependent: Kustomization, dependency: Kustomization): boolean {
  return (dependent.spec.dependsOn ?? []).some(
    (d) =>
      (d.namespace || dependent.metadata.namespace) === dependency.metadata.namespace &&
      d.name === dependency.metadata.name &&
      Boolean(d.readyExpr),
  );
}

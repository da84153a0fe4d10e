// The per-object controls Flux users put on manifests, as labels or annotations; values match case-insensitively.
import type { KubeObject } from '../kube/client.ts';

export const ReconcileKey = 'kustomize.toolkit.fluxcd.io/reconcile';
export const SsaKey = 'kustomize.toolkit.fluxcd.io/ssa';
export const ForceKey = 'kustomize.toolkit.fluxcd.io/force';
export const PruneKey = 'kustomize.toolkit.fluxcd.io/prune';

/** True when the object carries `key: value` as a label or an annotation. */
export function hasMark(object: KubeObject | undefined, key: string, value: string): boolean {
  const meta = object?.metadata;
  const want = value.toLowerCase();
  return meta?.labels?.[key]?.toLowerCase() === want || meta?.annotations?.[key]?.toLowerCase() === want;
}

/** Not applied at all: reconcile disabled or ssa Ignore on either side, or IfNotPresent on an existing object. */
export function skipApply(desired: KubeObject, existing: KubeObject | undefined): boolean {
  return (
    hasMark(desired, ReconcileKey, 'disabled') ||
    hasMark(existing, ReconcileKey, 'disabled') ||
    hasMark(desired, SsaKey, 'ignore') ||
    hasMark(existing, SsaKey, 'ignore') ||
    (existing !== undefined && hasMark(desired, SsaKey, 'ifnotpresent'))
  );
}

export function forceEnabled(
  desired: KubeObject,
  existing: KubeObject | undefined,
  specForce: boolean,
): boolean {
  return specForce || hasMark(desired, ForceKey, 'enabled') || hasMark(existing, ForceKey, 'enabled');
}

/** Never garbage-collected: prune disabled, reconcile disabled, or ssa Ignore on the live object. */
export function skipPrune(live: KubeObject): boolean {
  return (
    hasMark(live, PruneKey, 'disabled') ||
    hasMark(live, ReconcileKey, 'disabled') ||
    hasMark(live, SsaKey, 'ignore')
  );
}

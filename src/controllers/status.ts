// Writing back what a reconcile learned: the status (server-side apply on the status subresource, so the
// fields we stop writing are removed) and the finalizer (a merge patch guarded by resourceVersion).
import { ContentType, type KubeObjectHeader } from '../kube/client.ts';
import type { ObjectClient } from '../kube/objects.ts';
import { refOf } from '../kube/objects.ts';
import { Annotation, Finalizer } from '../api/meta.ts';
import { deleteCondition, getCondition, setCondition, type WithConditions } from '../runtime/conditions.ts';

export interface ReconcilableStatus extends WithConditions {
  observedGeneration?: number;
  lastHandledReconcileAt?: string;
}

export async function patchStatus(
  objects: ObjectClient,
  object: KubeObjectHeader,
  status: object,
  fieldManager: string,
): Promise<void> {
  const ref = refOf(object);
  await objects.client.patch(
    `${await objects.path(ref)}/status`,
    {
      apiVersion: ref.apiVersion,
      kind: ref.kind,
      metadata: { name: ref.name, namespace: ref.namespace },
      status,
    },
    ContentType.apply,
    { fieldManager, force: true },
  );
}

export const hasFinalizer = (object: KubeObjectHeader): boolean =>
  ((object.metadata?.['finalizers'] as string[] | undefined) ?? []).includes(Finalizer);

export async function addFinalizer(objects: ObjectClient, object: KubeObjectHeader): Promise<void> {
  const finalizers = [...((object.metadata?.['finalizers'] as string[] | undefined) ?? []), Finalizer];
  await objects.patch(
    refOf(object),
    { metadata: { finalizers, resourceVersion: object.metadata?.resourceVersion } },
    ContentType.mergePatch,
  );
}

export async function removeFinalizer(objects: ObjectClient, object: KubeObjectHeader): Promise<void> {
  const finalizers = ((object.metadata?.['finalizers'] as string[] | undefined) ?? []).filter(
    (f) => f !== Finalizer,
  );
  await objects.patch(
    refOf(object),
    { metadata: { finalizers, resourceVersion: object.metadata?.resourceVersion } },
    ContentType.mergePatch,
  );
}

/**
 * The end-of-reconcile bookkeeping both Flux controllers do on every pass: record the handled reconcile
 * request, and settle Reconciling against Ready (removed on success, "ProgressingWithRetry" on failure).
 */
export function finalizeStatus(object: KubeObjectHeader, status: ReconcilableStatus): void {
  const requestedAt = object.metadata?.annotations?.[Annotation.reconcileRequestedAt];
  if (requestedAt !== undefined) status.lastHandledReconcileAt = requestedAt;
  const ready = getCondition(status, 'Ready');
  const reconciling = getCondition(status, 'Reconciling');
  if (ready?.status === 'True') {
    deleteCondition(status, 'Reconciling');
    status.observedGeneration = object.metadata?.generation;
  } else if (ready?.status === 'False' && reconciling) {
    setCondition(status, object.metadata?.generation, { ...reconciling, reason: 'ProgressingWithRetry' });
  }
  if (getCondition(status, 'Stalled')?.status === 'True')
    status.observedGeneration = object.metadata?.generation;
}

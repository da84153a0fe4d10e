// Flux's apply order: definitions first (so later objects can use them), then classes, then everything else;
// within a stage, kinds in a fixed priority order, then group, kind, namespace and name.
import type { KubeObject } from '../kube/client.ts';
import { splitApiVersion } from '../kube/discovery.ts';

const KIND_ORDER = [
  'CustomResourceDefinition',
  'Namespace',
  'ClusterRole',
  'ClusterClass',
  'RuntimeClass',
  'PriorityClass',
  'StorageClass',
  'VolumeSnapshotClass',
  'IngressClass',
  'GatewayClass',
  'ClusterRoleBinding',
  'ResourceQuota',
  'ServiceAccount',
  'Role',
  'RoleBinding',
  'ConfigMap',
  'Secret',
  'Service',
  'LimitRange',
  'Deployment',
  'StatefulSet',
  'CronJob',
  'PodDisruptionBudget',
];
const LAST = ['MutatingWebhookConfiguration', 'ValidatingWebhookConfiguration'];

function kindRank(kind: string): number {
  const i = KIND_ORDER.indexOf(kind);
  if (i >= 0) return i;
  const j = LAST.indexOf(kind);
  return j >= 0 ? KIND_ORDER.length + 1 + j : KIND_ORDER.length;
}

export function compareApplyOrder(a: KubeObject, b: KubeObject): number {
  const ga = splitApiVersion(a.apiVersion ?? '').group;
  const gb = splitApiVersion(b.apiVersion ?? '').group;
  return (
    kindRank(a.kind ?? '') - kindRank(b.kind ?? '') ||
    ga.localeCompare(gb) ||
    (a.kind ?? '').localeCompare(b.kind ?? '') ||
    (a.metadata?.namespace ?? '').localeCompare(b.metadata?.namespace ?? '') ||
    (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? '')
  );
}

export type StageName = 'definitions' | 'classes' | 'custom' | 'resources';

export interface Stage {
  name: StageName;
  objects: KubeObject[];
  /** Objects of this stage must be ready (e.g. CRDs established) before the next stage is applied. */
  waitForReady: boolean;
}

function isDefinition(o: KubeObject): boolean {
  const { group } = splitApiVersion(o.apiVersion ?? '');
  return (
    (group === 'apiextensions.k8s.io' && o.kind === 'CustomResourceDefinition') ||
    (o.apiVersion === 'v1' && o.kind === 'Namespace') ||
    (group === 'rbac.authorization.k8s.io' && o.kind === 'ClusterRole')
  );
}

/** Splits objects into Flux's apply stages, each sorted; empty stages are left out. */
export function applyStages(objects: KubeObject[], customStageKinds: string[] = []): Stage[] {
  const stages: Stage[] = [
    { name: 'definitions', objects: [], waitForReady: true },
    { name: 'classes', objects: [], waitForReady: true },
    { name: 'custom', objects: [], waitForReady: false },
    { name: 'resources', objects: [], waitForReady: false },
  ];
  const custom = new Set(customStageKinds.map((k) => k.toLowerCase()));
  for (const o of objects) {
    const groupKind = `${splitApiVersion(o.apiVersion ?? '').group}/${o.kind}`.toLowerCase();
    const stage = isDefinition(o)
      ? stages[0]
      : (o.kind ?? '').endsWith('Class')
        ? stages[1]
        : custom.has(groupKind)
          ? stages[2]
          : stages[3];
    stage?.objects.push(o);
  }
  for (const s of stages) s.objects.sort(compareApplyOrder);
  return stages.filter((s) => s.objects.length > 0);
}

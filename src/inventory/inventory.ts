// Flux's inventory: the objects a Kustomization applied, stored in status.inventory.entries as
// `{id: "<namespace>_<name>_<group>_<kind>", v: "<version>"}` (the cli-utils ObjMetadata string encoding),
// and the stale set that garbage collection deletes.
import type { ResourceRef } from '../api/kustomization.ts';
import type { KubeObject } from '../kube/client.ts';
import { splitApiVersion } from '../kube/discovery.ts';
import type { ObjectRef } from '../kube/objects.ts';

/** An object's identity as the inventory keeps it: no version, because the API server serves one object under every version. */
export interface ObjectId {
  group: string;
  kind: string;
  /** Empty for cluster-scoped objects. */
  namespace: string;
  name: string;
}

const fieldSeparator = '_';
// RBAC names may contain ':' (system:foo), which the encoding writes as '__'.
const colonTranscoded = '__';
const rbacGroup = 'rbac.authorization.k8s.io';
const rbacKinds = new Set(['Role', 'ClusterRole', 'RoleBinding', 'ClusterRoleBinding']);

const isRbac = (group: string, kind: string): boolean => group === rbacGroup && rbacKinds.has(kind);

/** `default_podinfo__Service`, `_apps__Namespace`, `apps_db-migration_batch_Job`. */
export function objectId({ group, kind, namespace, name }: ObjectId): string {
  const encodedName = isRbac(group, kind) ? name.replaceAll(':', colonTranscoded) : name;
  return [namespace, encodedName, group, kind].join(fieldSeparator);
}

/** The inverse of objectId; throws on an id that does not have the four fields. */
export function parseObjectId(id: string): ObjectId {
  const firstSeparator = id.indexOf(fieldSeparator);
  const kindSeparator = id.lastIndexOf(fieldSeparator);
  const groupSeparator = id.lastIndexOf(fieldSeparator, kindSeparator - 1);
  if (firstSeparator < 0 || groupSeparator <= firstSeparator) {
    throw new Error(
      `unable to parse stored object metadata: ${JSON.stringify(id)} is not <namespace>_<name>_<group>_<kind>`,
    );
  }
  // Like cli-utils, '__' decodes to ':' whatever the kind: other kinds' names cannot contain '_' at all.
  const name = id.slice(firstSeparator + 1, groupSeparator).replaceAll(colonTranscoded, ':');
  if (name.includes(fieldSeparator)) {
    throw new Error(`unable to parse stored object metadata: too many fields within ${JSON.stringify(id)}`);
  }
  return {
    namespace: id.slice(0, firstSeparator),
    name,
    group: id.slice(groupSeparator + 1, kindSeparator),
    kind: id.slice(kindSeparator + 1),
  };
}

/** The inventory entry of an object reference (`v` is the version alone: `v1`, not `apps/v1`). */
export function entryForRef(ref: ObjectRef): ResourceRef {
  const { group, version } = splitApiVersion(ref.apiVersion);
  return {
    id: objectId({ group, kind: ref.kind, namespace: ref.namespace ?? '', name: ref.name }),
    v: version,
  };
}

/** The inventory entry of a built or applied object. */
export function entryFor(object: KubeObject): ResourceRef {
  return entryForRef({
    apiVersion: object.apiVersion ?? '',
    kind: object.kind ?? '',
    namespace: object.metadata?.namespace,
    name: object.metadata?.name ?? '',
  });
}

/**
 * Entries of the old inventory whose id is not in the new one, keeping their old versions, last applied first:
 * the order in which to delete them.
 */
export function staleEntries(
  oldInventory: readonly ResourceRef[],
  newInventory: readonly ResourceRef[],
): ResourceRef[] {
  const current = new Set(newInventory.map((entry) => entry.id));
  return oldInventory.filter((entry) => !current.has(entry.id)).reverse();
}

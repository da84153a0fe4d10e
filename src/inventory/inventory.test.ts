import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { entryFor, entryForRef, objectId, parseObjectId, staleEntries, type ObjectId } from './inventory.ts';

const examples: { id: string; object: ObjectId }[] = [
  {
    id: 'default_podinfo__Service',
    object: { namespace: 'default', name: 'podinfo', group: '', kind: 'Service' },
  },
  { id: '_apps__Namespace', object: { namespace: '', name: 'apps', group: '', kind: 'Namespace' } },
  {
    id: 'apps_db-migration_batch_Job',
    object: { namespace: 'apps', name: 'db-migration', group: 'batch', kind: 'Job' },
  },
  {
    id: 'apps_web_apps_Deployment',
    object: { namespace: 'apps', name: 'web', group: 'apps', kind: 'Deployment' },
  },
  {
    id: '_system__foo_rbac.authorization.k8s.io_ClusterRole',
    object: { namespace: '', name: 'system:foo', group: 'rbac.authorization.k8s.io', kind: 'ClusterRole' },
  },
  {
    id: 'kube-system_system__controller__bar_rbac.authorization.k8s.io_RoleBinding',
    object: {
      namespace: 'kube-system',
      name: 'system:controller:bar',
      group: 'rbac.authorization.k8s.io',
      kind: 'RoleBinding',
    },
  },
  {
    id: '_podinfo.example.com_apiextensions.k8s.io_CustomResourceDefinition',
    object: {
      namespace: '',
      name: 'podinfo.example.com',
      group: 'apiextensions.k8s.io',
      kind: 'CustomResourceDefinition',
    },
  },
];

describe('objectId / parseObjectId', () => {
  for (const { id, object } of examples) {
    it(`encodes and decodes ${id}`, () => {
      assert.equal(objectId(object), id);
      assert.deepEqual(parseObjectId(id), object);
    });
  }

  it('encodes ":" only in the names of RBAC kinds', () => {
    assert.equal(
      objectId({ namespace: '', name: 'system:foo', group: 'rbac.authorization.k8s.io', kind: 'Role' }),
      '_system__foo_rbac.authorization.k8s.io_Role',
    );
    assert.equal(
      objectId({ namespace: 'a', name: 'system:foo', group: 'example.com', kind: 'Role' }),
      'a_system:foo_example.com_Role',
    );
  });

  for (const bad of ['', 'podinfo', 'default_podinfo', '_Service', 'a_b_c', 'ns_na_me_apps_Deployment']) {
    it(`rejects ${JSON.stringify(bad)}`, () => {
      assert.throws(() => parseObjectId(bad), /unable to parse stored object metadata/);
    });
  }
});

describe('entryFor', () => {
  it('takes the group from apiVersion and keeps only the version in v', () => {
    const job = {
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: { name: 'db-migration', namespace: 'apps' },
    };
    assert.deepEqual(entryFor(job), { id: 'apps_db-migration_batch_Job', v: 'v1' });
  });

  it('leaves the core group and a cluster-scoped namespace empty', () => {
    assert.deepEqual(entryFor({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'apps' } }), {
      id: '_apps__Namespace',
      v: 'v1',
    });
    assert.deepEqual(
      entryForRef({ apiVersion: 'v1', kind: 'Service', namespace: 'default', name: 'podinfo' }),
      { id: 'default_podinfo__Service', v: 'v1' },
    );
  });

  it('encodes RBAC names', () => {
    const role = {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: { name: 'system:foo' },
    };
    assert.deepEqual(entryFor(role), { id: '_system__foo_rbac.authorization.k8s.io_ClusterRole', v: 'v1' });
  });
});

describe('staleEntries', () => {
  const ns = { id: '_apps__Namespace', v: 'v1' };
  const job = { id: 'apps_db-migration_batch_Job', v: 'v1' };
  const web = { id: 'apps_web_apps_Deployment', v: 'v1' };
  const svc = { id: 'apps_web__Service', v: 'v1' };

  it('returns old entries missing from the new inventory, last applied first', () => {
    assert.deepEqual(staleEntries([ns, job, svc, web], [ns, web]), [svc, job]);
  });

  it('keeps the version recorded in the old inventory', () => {
    const oldCron = { id: 'apps_nightly_batch_CronJob', v: 'v1beta1' };
    assert.deepEqual(staleEntries([oldCron], [{ id: 'apps_other_batch_CronJob', v: 'v1' }]), [oldCron]);
  });

  it('compares by id only, so a version change is not stale', () => {
    assert.deepEqual(staleEntries([{ id: web.id, v: 'v1beta1' }], [web]), []);
  });

  it('is empty when nothing was removed, and everything when the new inventory is empty', () => {
    assert.deepEqual(staleEntries([ns, web], [web, ns]), []);
    assert.deepEqual(staleEntries([ns, web], []), [web, ns]);
  });
});

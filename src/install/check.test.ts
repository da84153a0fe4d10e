import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { allCrds } from '../api/crds.ts';
import { withHolderVersion, type Lease } from '../runtime/leaderelection.ts';
import { crdCheck, deploymentCheck, kubernetesVersionCheck, leaseCheck } from './check.ts';

describe('sluice check', () => {
  it('accepts Kubernetes 1.30 and later, vendor suffixes included', () => {
    assert.deepEqual(kubernetesVersionCheck('v1.36.3'), {
      ok: true,
      message: 'Kubernetes 1.36.3 >=1.30.0-0',
    });
    assert.equal(kubernetesVersionCheck('v1.30.2-eks-49c6de4').ok, true);
    assert.equal(kubernetesVersionCheck('v1.31.1+k3s1').ok, true);
    assert.deepEqual(kubernetesVersionCheck('v1.29.9'), {
      ok: false,
      message: 'Kubernetes 1.29.9 >=1.30.0-0',
    });
    assert.equal(kubernetesVersionCheck('nonsense').ok, false);
  });

  const available = {
    metadata: { name: 'sluice-controller', generation: 2 },
    spec: { replicas: 1, template: { spec: { containers: [{ image: 'sluice-controller:0.1.0' }] } } },
    status: {
      observedGeneration: 2,
      replicas: 1,
      updatedReplicas: 1,
      readyReplicas: 1,
      availableReplicas: 1,
      conditions: [
        { type: 'Available', status: 'True' },
        { type: 'Progressing', status: 'True', reason: 'NewReplicaSetAvailable' },
      ],
    },
  };

  it('reports the Deployment ready with its image, or why not', () => {
    assert.deepEqual(deploymentCheck(structuredClone(available), 'ops'), [
      { ok: true, message: 'sluice-controller: deployment ready' },
      { ok: true, info: true, message: 'sluice-controller:0.1.0' },
    ]);
    const rolling = structuredClone(available);
    rolling.status.readyReplicas = 0;
    rolling.status.availableReplicas = 0;
    const [entry] = deploymentCheck(rolling, 'ops');
    assert.equal(entry?.ok, false);
    assert.match(entry?.message ?? '', /^sluice-controller: deployment not ready: /);
    assert.deepEqual(deploymentCheck(undefined, 'ops'), [
      {
        ok: false,
        message: 'sluice-controller: deployment not found in namespace ops (run "sluice install -n ops")',
      },
    ]);
  });

  const now = Date.parse('2026-03-01T12:00:10Z');
  const lease = (spec: Lease['spec'], version?: string): Lease => ({
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: {
      name: 'sluice-controller-leader-election',
      namespace: 'ops',
      ...(version ? { annotations: { 'sluice.dev/version': version } } : {}),
    },
    spec,
  });
  const held = {
    holderIdentity: 'pod-1_abc',
    leaseDurationSeconds: 35,
    renewTime: '2026-03-01T12:00:07.000000Z',
  };

  it('names a leader that renewed within its lease duration, and its version', () => {
    assert.deepEqual(leaseCheck(lease(held, '0.1.0'), now, '0.1.0'), [
      { ok: true, message: 'leader pod-1_abc (renewed 3s ago)' },
      { ok: true, message: 'controller version 0.1.0' },
    ]);
  });

  it('fails on a missing, released or expired lease', () => {
    assert.equal(leaseCheck(undefined, now, '0.1.0')[0]?.ok, false);
    const released = leaseCheck(
      lease({
        ...held,
        holderIdentity: '',
        leaseDurationSeconds: 1,
        renewTime: '2026-03-01T12:00:00.000000Z',
      }),
      now,
      '0.1.0',
    );
    assert.deepEqual(released, [
      {
        ok: false,
        message:
          'no leader: the Lease sluice-controller-leader-election was released (10s ago); is the controller running?',
      },
    ]);
    const expired = leaseCheck(lease({ ...held, leaseDurationSeconds: 2 }, '0.1.0'), now, '0.1.0');
    assert.deepEqual(expired, [
      {
        ok: false,
        message: 'no leader: pod-1_abc last renewed the Lease 3s ago, and it expired after 2s',
      },
    ]);
  });

  it("reads the version the leader election writes, keeping the lease's other metadata", () => {
    const written = lease(held, '0.0.1');
    written.metadata = withHolderVersion({ ...written.metadata, resourceVersion: '7' }, '0.1.0');
    assert.equal(written.metadata.resourceVersion, '7');
    assert.deepEqual(leaseCheck(written, now, '0.1.0')[1], { ok: true, message: 'controller version 0.1.0' });
  });

  it('fails when the leader runs another version, or records none', () => {
    const [, other] = leaseCheck(lease(held, '0.0.9'), now, '0.1.0');
    assert.equal(other?.ok, false);
    assert.match(other?.message ?? '', /controller version 0\.0\.9 differs from this CLI's 0\.1\.0/);
    const [, none] = leaseCheck(lease(held), now, '0.1.0');
    assert.equal(none?.ok, false);
  });

  it('reports a CRD with its storage version when established and serving every version sluice defines', () => {
    const wanted = allCrds().find((c) => c.spec.names.kind === 'Kustomization');
    assert.ok(wanted);
    const live = {
      spec: {
        versions: wanted.spec.versions.map((v) => ({ name: v.name, served: v.served, storage: v.storage })),
      },
      status: { conditions: [{ type: 'Established', status: 'True' }], storedVersions: ['v1'] },
    };
    assert.deepEqual(crdCheck(wanted, live), { ok: true, message: `${wanted.metadata.name}/v1` });
    const notServing = structuredClone(live);
    for (const v of notServing.spec.versions) if (v.name === 'v1beta2') v.served = false;
    assert.deepEqual(crdCheck(wanted, notServing), {
      ok: false,
      message: `${wanted.metadata.name} does not serve v1beta2`,
    });
    const pending = { ...live, status: { conditions: [{ type: 'Established', status: 'False' }] } };
    assert.equal(crdCheck(wanted, pending).ok, false);
    assert.deepEqual(crdCheck(wanted, undefined), {
      ok: false,
      message: `${wanted.metadata.name} not found`,
    });
  });
});

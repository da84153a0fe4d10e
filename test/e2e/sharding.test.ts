// Sharding as Flux does it: a controller started with --watch-label-selector reconciles only the sources and
// Kustomizations carrying matching labels, so several controllers can split one cluster between them.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  useControllerEnv,
  gitRepository,
  kustomization,
  create,
  waitForReady,
  ksPath,
  gitPath,
} from '../support/controller.ts';
import type { KubeObject } from '../../src/kube/client.ts';

const shardLabel = 'sharding.fluxcd.io/key';

const labelled = (object: KubeObject, shard: string): KubeObject => ({
  ...object,
  metadata: { ...object.metadata, labels: { [shardLabel]: shard } },
});

describe('--watch-label-selector', () => {
  const env = useControllerEnv('e2e-shard', { controller: { watchLabelSelector: `${shardLabel}=shard1` } });

  it('reconciles only the objects of its shard', async () => {
    const cm = (name: string) => `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\n`;
    await env.git.createRepo('theirs', { 'cm.yaml': cm('theirs') });
    await env.git.createRepo('ours', { 'cm.yaml': cm('ours') });
    // The other shard's objects go in first: if this controller took them, they would be done first too.
    await create(env, labelled(gitRepository(env, 'theirs'), 'shard2'));
    await create(
      env,
      labelled(
        kustomization(env, 'theirs', { sourceRef: { kind: 'GitRepository', name: 'theirs' } }),
        'shard2',
      ),
    );
    await create(env, labelled(gitRepository(env, 'ours'), 'shard1'));
    await create(
      env,
      labelled(kustomization(env, 'ours', { sourceRef: { kind: 'GitRepository', name: 'ours' } }), 'shard1'),
    );

    await waitForReady(env, 'ours', 'True', 'ReconciliationSucceeded');
    assert.ok(
      await env.objects.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: env.namespace, name: 'ours' }),
    );

    const theirs = await Promise.all([
      env.client.get<KubeObject>(`${gitPath(env)}/theirs`),
      env.client.get<KubeObject>(`${ksPath(env)}/theirs`),
    ]);
    for (const object of theirs) {
      // Only the CRD's defaults (observedGeneration -1), nothing a controller wrote.
      const status = object['status'] as { conditions?: unknown[] } | undefined;
      assert.equal(status?.conditions, undefined, `${object.kind} theirs belongs to another shard`);
      assert.equal(object.metadata?.['finalizers'], undefined, `${object.kind} theirs got no finalizer`);
    }
    assert.equal(
      await env.objects.get({
        apiVersion: 'v1',
        kind: 'ConfigMap',
        namespace: env.namespace,
        name: 'theirs',
      }),
      undefined,
    );
  });
});

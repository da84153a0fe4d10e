// Flux's config watchers: a ConfigMap or Secret labelled reconcile.fluxcd.io/watch=Enabled that a Kustomization
// reads (postBuild.substituteFrom here) reconciles it when it changes, without waiting for the interval (an hour).
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { waitForObject } from '../../dev/cluster.ts';
import {
  create,
  gitRepository,
  kustomization,
  useControllerEnv,
  waitForReady,
} from '../support/controller.ts';

describe('config watchers (reconcile.fluxcd.io/watch: Enabled)', () => {
  const env = useControllerEnv('e2e-configwatch');
  const vars = (greeting: string) => ({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'vars', namespace: env.namespace, labels: { 'reconcile.fluxcd.io/watch': 'Enabled' } },
    data: { GREETING: greeting },
  });

  before(async () => {
    await env.git.createRepo('app', {
      'deploy/cm.yaml':
        'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: greeting\ndata:\n  text: ${GREETING}\n',
    });
    await env.objects.apply(vars('hello'), { fieldManager: 'e2e-test' });
    await create(env, gitRepository(env, 'app'));
    await create(
      env,
      kustomization(env, 'app', {
        path: './deploy',
        interval: '1h',
        postBuild: { substituteFrom: [{ kind: 'ConfigMap', name: 'vars' }] },
      }),
    );
    await waitForReady(env, 'app', 'True', 'ReconciliationSucceeded');
  });

  it('a change of a watched ConfigMap it reads is applied at once', async () => {
    await env.objects.apply(vars('bonjour'), { fieldManager: 'e2e-test' });
    const applied = await waitForObject(
      env.client,
      `/api/v1/namespaces/${env.namespace}/configmaps`,
      'greeting',
      (cm) => (cm['data'] as { text?: string } | undefined)?.text === 'bonjour',
      { description: 'ConfigMap greeting with the new value', timeoutMs: 30_000 },
    );
    assert.equal((applied['data'] as { text: string }).text, 'bonjour');
  });
});

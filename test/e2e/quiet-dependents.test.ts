// Dependents are woken when their dependency is ready with news for them, not on every status write: suspending,
// resuming or reconciling the middle stage of seed 001 at the revision the last stage already applied gives the
// last stage no extra pass and no DependencyNotReady event; a new revision passing the middle stage still wakes
// it at once (the 30s fallback is set to 10 minutes here, so only the wake can explain it).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  applySeed,
  ksPath,
  requestReconcile,
  useControllerEnv,
  waitForReady,
  type ControllerEnv,
} from '../support/controller.ts';
import { runSluice } from '../support/cli.ts';
import { release } from '../../dev/seed.ts';
import { waitForObject } from '../../dev/cluster.ts';
import type { KubeObject } from '../../src/kube/client.ts';

/** The events about a Kustomization, each counted as often as the API server says it happened. */
async function eventCounts(env: ControllerEnv, name: string): Promise<Map<string, number>> {
  const list = await env.client.get<{ items: { reason: string; count?: number }[] }>(
    `/api/v1/namespaces/${env.namespace}/events`,
    { fieldSelector: `involvedObject.kind=Kustomization,involvedObject.name=${name}` },
  );
  const counts = new Map<string, number>();
  for (const e of list.items) counts.set(e.reason, (counts.get(e.reason) ?? 0) + (e.count ?? 1));
  return counts;
}

const applied = (ks: KubeObject) => (ks['status'] as { lastAppliedRevision?: string }).lastAppliedRevision;

describe('quiet, exact dependents', () => {
  const env = useControllerEnv('e2e-quiet-deps', { controller: { requeueDependencyMs: 600_000 } });
  const sluice = (...args: string[]) => runSluice([...args, '-n', env.namespace]);

  it('leave the last stage alone while the middle stage is suspended, resumed and reconciled at its revision', async () => {
    const files = await applySeed(env);
    const first = await waitForReady(env, 'app-post-deploy', 'True', 'ReconciliationSucceeded');
    // Passes of the last stage, counted in the status each successful pass writes (events land after it).
    const passes = (ks: KubeObject) =>
      (ks['status'] as { history?: { totalReconciliations: number }[] }).history?.[0]?.totalReconciliations ??
      0;
    /** A pass asked of the last stage itself: whatever was queued for it has run once this one is handled. */
    const barrier = async (value: string) => {
      await requestReconcile(env, 'Kustomization', 'app-post-deploy', value);
      return waitForReady(
        env,
        'app-post-deploy',
        'True',
        'ReconciliationSucceeded',
        (o) => (o['status'] as { lastHandledReconcileAt?: string }).lastHandledReconcileAt === value,
      );
    };
    const settled = await barrier('before');
    const before = await eventCounts(env, 'app-post-deploy');

    for (const verb of ['suspend', 'resume', 'reconcile']) {
      const run = await sluice(verb, 'ks', 'app-deploy');
      assert.equal(run.code, 0, `${verb}: ${run.stderr}`);
    }
    const after = await barrier('after');
    assert.equal(passes(after), passes(settled) + 1, 'passes of app-post-deploy besides the one asked for');
    const events = await eventCounts(env, 'app-post-deploy');
    assert.equal(
      events.get('DependencyNotReady') ?? 0,
      before.get('DependencyNotReady') ?? 0,
      'DependencyNotReady events',
    );

    // A new revision through the middle stage still wakes the last one at once.
    const commit = await env.git.commit('my-app', release(files, 'v1.0.1'), 'release v1.0.1');
    await requestReconcile(env, 'GitRepository', 'my-app', commit);
    const released = await waitForObject(
      env.client,
      ksPath(env),
      'app-post-deploy',
      (o) => applied(o) === `main@sha1:${commit}`,
      { description: 'app-post-deploy at the new revision', timeoutMs: 30_000 },
    );
    assert.notEqual(applied(released), applied(first));
  });
});

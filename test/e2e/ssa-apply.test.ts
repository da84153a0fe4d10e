// The staged server-side apply engine against the real API server: drift, all-or-nothing stages, force,
// definitions before the objects that use them, and prune's owner-label guard.
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { useTestNamespace } from '../support/cluster.ts';
import { ObjectClient, type ObjectRef } from '../../src/kube/objects.ts';
import { ResourceManager, ApplyError, type ChangeSetEntry } from '../../src/ssa/manager.ts';
import type { KubeObject } from '../../src/kube/client.ts';

const owner = { 'kustomize.toolkit.fluxcd.io/name': 'app', 'kustomize.toolkit.fluxcd.io/namespace': 'e2e' };

function configMap(ns: string, name: string, data: Record<string, string>): KubeObject {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: ns, labels: owner }, data };
}

function job(ns: string, name: string, image: string, restartPolicy = 'Never'): KubeObject {
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name, namespace: ns, labels: owner },
    spec: {
      backoffLimit: 0,
      template: { spec: { restartPolicy, containers: [{ name: 'main', image }] } },
    },
  };
}

function deployment(ns: string, image: string): KubeObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace: ns, labels: owner },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: 'web' } },
      template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'web', image }] } },
    },
  };
}

const actions = (changes: ChangeSetEntry[]) => Object.fromEntries(changes.map((c) => [c.subject, c.action]));

describe('ResourceManager (staged server-side apply)', () => {
  const ctx = useTestNamespace('e2e-ssa');
  const manager = () => new ResourceManager(new ObjectClient(ctx.client));
  const opts = (force = false) => ({
    fieldManager: 'kustomize-controller',
    force,
    signal: AbortSignal.timeout(60_000),
  });
  const uidOf = async (ref: ObjectRef) => (await new ObjectClient(ctx.client).get(ref))?.metadata?.uid;

  it('creates, then reports unchanged, then configured only what changed', async () => {
    const ns = ctx.namespace;
    const set = [
      configMap(ns, 'settings', { a: '1' }),
      deployment(ns, 'app:v1'),
      job(ns, 'migrate', 'app:v1'),
    ];
    assert.deepEqual(actions(await manager().applyAllStaged(set, opts())), {
      [`ConfigMap/${ns}/settings`]: 'created',
      [`Deployment/${ns}/web`]: 'created',
      [`Job/${ns}/migrate`]: 'created',
    });
    assert.deepEqual(Object.values(actions(await manager().applyAllStaged(set, opts()))), [
      'unchanged',
      'unchanged',
      'unchanged',
    ]);
    set[0] = configMap(ns, 'settings', { a: '2' });
    const third = actions(await manager().applyAllStaged(set, opts()));
    assert.equal(third[`ConfigMap/${ns}/settings`], 'configured');
    assert.equal(third[`Job/${ns}/migrate`], 'unchanged');
    const live = await new ObjectClient(ctx.client).get({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      namespace: ns,
      name: 'settings',
    });
    assert.deepEqual(live?.['data'], { a: '2' });
    const managers = (live?.metadata?.['managedFields'] as { manager: string; operation: string }[]).map(
      (m) => `${m.manager}/${m.operation}`,
    );
    assert.ok(managers.includes('kustomize-controller/Apply'), managers.join(','));
  });

  it('with many objects of a kind, reads them with one list and still reports created, adopted, drifted and unchanged', async () => {
    const ns = ctx.namespace;
    const objects = new ObjectClient(ctx.client);
    // Already there without the owner labels, so the list by them misses it: read on its own, and adopted.
    await objects.apply(
      { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'many-7', namespace: ns }, data: { i: '7' } },
      { fieldManager: 'someone-else' },
    );
    const set = Array.from({ length: 20 }, (_, i) => configMap(ns, `many-${i}`, { i: String(i) }));
    const listed = { ...opts(), ownerLabels: owner };
    const first = actions(await manager().applyAllStaged(set, listed));
    assert.equal(first[`ConfigMap/${ns}/many-7`], 'configured');
    assert.equal(Object.values(first).filter((a) => a === 'created').length, 19);
    const second = actions(await manager().applyAllStaged(set, listed));
    assert.deepEqual(new Set(Object.values(second)), new Set(['unchanged']));
    set[3] = configMap(ns, 'many-3', { i: 'three' });
    await objects.patch(
      { apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, name: 'many-12' },
      { data: { i: 'edited by hand' } },
      'application/merge-patch+json',
    );
    const third = actions(await manager().applyAllStaged(set, listed));
    assert.equal(third[`ConfigMap/${ns}/many-3`], 'configured');
    assert.equal(third[`ConfigMap/${ns}/many-12`], 'configured');
    assert.equal(Object.values(third).filter((a) => a === 'unchanged').length, 18);
  });

  it('applies nothing of a stage when one object is invalid', async () => {
    const ns = ctx.namespace;
    const set = [configMap(ns, 'fine', { a: '1' }), configMap(ns, 'broken', { 'not a valid key!': 'x' })];
    const error = await manager()
      .applyAllStaged(set, opts())
      .then(
        () => assert.fail('an invalid object was accepted'),
        (e: unknown) => e,
      );
    assert.ok(error instanceof ApplyError);
    assert.match(error.message, new RegExp(`ConfigMap/${ns}/broken dry-run failed \\(Invalid\\)`));
    assert.equal(
      await uidOf({ apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, name: 'fine' }),
      undefined,
    );
  });

  it('without force, fails on an immutable Job change and applies no other change of the stage', async () => {
    const ns = ctx.namespace;
    const error = await manager()
      .applyAllStaged([deployment(ns, 'app:v2'), job(ns, 'migrate', 'app:v2')], opts(false))
      .then(
        () => assert.fail('an immutable change was accepted'),
        (e: unknown) => e,
      );
    assert.ok(error instanceof ApplyError);
    assert.match(
      error.message,
      new RegExp(`Job/${ns}/migrate dry-run failed \\(Invalid\\): .*field is immutable`),
    );
    const web = await new ObjectClient(ctx.client).get({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      namespace: ns,
      name: 'web',
    });
    const image = (web?.['spec'] as { template: { spec: { containers: { image: string }[] } } }).template.spec
      .containers[0]?.image;
    assert.equal(image, 'app:v1', 'the Deployment change must not be applied');
  });

  it('with force, recreates the Job (new UID) and reports it created', async () => {
    const ns = ctx.namespace;
    const ref = { apiVersion: 'batch/v1', kind: 'Job', namespace: ns, name: 'migrate' };
    const before = await uidOf(ref);
    const changes = await manager().applyAllStaged(
      [deployment(ns, 'app:v2'), job(ns, 'migrate', 'app:v2')],
      opts(true),
    );
    assert.equal(actions(changes)[`Job/${ns}/migrate`], 'created');
    assert.equal(actions(changes)[`Deployment/${ns}/web`], 'configured');
    const afterUid = await uidOf(ref);
    assert.ok(afterUid && afterUid !== before, `expected a new Job, UID before ${before}, after ${afterUid}`);
  });

  it('with force, keeps the live Job when the new manifest is invalid rather than immutable (differs from Flux)', async () => {
    const ns = ctx.namespace;
    const ref = { apiVersion: 'batch/v1', kind: 'Job', namespace: ns, name: 'migrate' };
    const before = await uidOf(ref);
    const error = await manager()
      .applyAllStaged([job(ns, 'migrate', 'app:v3', 'Sometimes')], opts(true))
      .then(
        () => assert.fail('an invalid Job was accepted'),
        (e: unknown) => e,
      );
    assert.ok(error instanceof ApplyError);
    assert.match(error.message, /restartPolicy/);
    assert.equal(await uidOf(ref), before, 'the running Job must not be deleted');
  });

  describe('definitions stage', () => {
    const group = `e2e-${randomBytes(3).toString('hex')}.sluice.dev`;
    after(async () => {
      await new ObjectClient(ctx.client).delete({
        apiVersion: 'apiextensions.k8s.io/v1',
        kind: 'CustomResourceDefinition',
        name: `widgets.${group}`,
      });
    });

    it('establishes a CRD before creating objects of its kind, in one call', async () => {
      const crd: KubeObject = {
        apiVersion: 'apiextensions.k8s.io/v1',
        kind: 'CustomResourceDefinition',
        metadata: { name: `widgets.${group}` },
        spec: {
          group,
          names: { kind: 'Widget', plural: 'widgets', singular: 'widget', listKind: 'WidgetList' },
          scope: 'Namespaced',
          versions: [
            {
              name: 'v1',
              served: true,
              storage: true,
              schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } },
            },
          ],
        },
      };
      const widget: KubeObject = {
        apiVersion: `${group}/v1`,
        kind: 'Widget',
        metadata: { name: 'w', namespace: ctx.namespace, labels: owner },
        spec: { size: 3 },
      };
      const changes = await manager().applyAllStaged([widget, crd], opts());
      assert.deepEqual(
        changes.map((c) => `${c.subject} ${c.action}`),
        [`CustomResourceDefinition/widgets.${group} created`, `Widget/${ctx.namespace}/w created`],
      );
    });
  });

  it('prunes only objects that carry our owner labels and are not marked prune: disabled', async () => {
    const ns = ctx.namespace;
    const client = new ObjectClient(ctx.client);
    const foreign = configMap(ns, 'foreign', {});
    foreign.metadata = { name: 'foreign', namespace: ns }; // no owner labels
    const kept = configMap(ns, 'kept', {});
    kept.metadata = { ...kept.metadata, annotations: { 'kustomize.toolkit.fluxcd.io/prune': 'Disabled' } };
    await manager().applyAllStaged([foreign, kept, configMap(ns, 'stale', {})], opts());
    const ref = (name: string) => ({ apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, name });
    const changes = await manager().deleteAll(
      [ref('stale'), ref('foreign'), ref('kept'), ref('already-gone')],
      owner,
    );
    assert.deepEqual(actions(changes), {
      [`ConfigMap/${ns}/stale`]: 'deleted',
      [`ConfigMap/${ns}/foreign`]: 'skipped',
      [`ConfigMap/${ns}/kept`]: 'skipped',
      [`ConfigMap/${ns}/already-gone`]: 'deleted',
    });
    assert.ok(await client.get(ref('foreign')));
    assert.ok(await client.get(ref('kept')));
  });
});

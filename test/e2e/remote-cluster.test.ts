// spec.kubeConfig: the controllers run against the test cluster (the management cluster) and apply to a second
// local cluster of its own, whose kubeconfig is in a Secret. The pipeline (a migration Job, then the app that
// depends on it) runs there in order; prune, the health checks, the run ledger, deletion and `sluice diff` act
// there; nothing lands on the management cluster. A missing Secret, a kubeconfig asking for an exec plugin and an
// unreachable server are Ready=False with a clear message and nothing applied.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { KubeClient } from '../../src/kube/client.ts';
import { ObjectClient, type ObjectRef } from '../../src/kube/objects.ts';
import { ownClusters } from '../../dev/cluster.ts';
import { scratchDir } from '../../dev/fixtures.ts';
import {
  create,
  gitRepository,
  jobRunsOf,
  kustomization,
  requestReconcile,
  useControllerEnv,
  waitForApplied,
  waitForReady,
  waitForRefusal,
} from '../support/controller.ts';
import { runSluice } from '../support/cli.ts';
import { deploymentManifest, jobManifest } from '../support/manifests.ts';

const remoteCluster = ownClusters.remote;
const b64 = (text: string) => Buffer.from(text).toString('base64');
const configMap = (name: string) =>
  `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\ndata:\n  a: "1"\n`;
const files = {
  'db/job.yaml': jobManifest({ image: 'example.com/app:1' }),
  'app/deployment.yaml': deploymentManifest(),
  'app/config.yaml': configMap('web-config'),
  'other/cm.yaml': configMap('must-not-land'),
  'local/cm.yaml': configMap('on-management'),
};

describe('spec.kubeConfig: applying to a remote cluster', () => {
  const env = useControllerEnv('e2e-remote');
  let remote: ObjectClient;
  let remoteKubeconfig: string;
  const scratch = scratchDir('remote-cli');

  before(async () => {
    await remoteCluster.up();
    remote = new ObjectClient(await KubeClient.load({ kubeconfig: remoteCluster.kubeconfig }));
    remoteKubeconfig = await readFile(remoteCluster.kubeconfig, 'utf8');
    // As in Flux, the namespace the objects go into must exist on the remote cluster.
    await remote.apply(
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: env.namespace } },
      { fieldManager: 'e2e-test' },
    );
    const secret = (name: string, data: Record<string, string>) =>
      env.objects.apply(
        { apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace: env.namespace }, data },
        { fieldManager: 'e2e-test' },
      );
    await secret('remote-kubeconfig', { value: b64(remoteKubeconfig) });
    await secret('exec-kubeconfig', {
      'value.yaml': b64(
        remoteKubeconfig.replace(
          /client-key-data: .*/,
          'exec: {apiVersion: client.authentication.k8s.io/v1, command: aws}',
        ),
      ),
    });
    await secret('unreachable-kubeconfig', {
      value: b64(remoteKubeconfig.replace(/server: .*/, 'server: https://127.0.0.1:1')),
    });
    await env.git.createRepo('app', files);
    await create(env, gitRepository(env, 'app'));
  });
  after(async () => {
    await remote?.client.close();
    await (await scratch).remove();
    await remoteCluster.down();
  });

  const onRemote = (kind: string, name: string) =>
    remote.get({
      apiVersion: kind === 'Job' ? 'batch/v1' : kind === 'Deployment' ? 'apps/v1' : 'v1',
      kind,
      namespace: env.namespace,
      name,
    });
  const onManagement = (kind: string, name: string) =>
    env.objects.get({
      apiVersion: kind === 'Job' ? 'batch/v1' : kind === 'Deployment' ? 'apps/v1' : 'v1',
      kind,
      namespace: env.namespace,
      name,
    });
  const kubeConfig = (name: string) => ({ kubeConfig: { secretRef: { name } } });

  it('runs the migration Job and then the app that depends on it on the remote cluster, in order', async () => {
    await create(
      env,
      kustomization(env, 'migrate', {
        path: './db',
        wait: true,
        force: true,
        ...kubeConfig('remote-kubeconfig'),
      }),
    );
    await create(
      env,
      kustomization(env, 'web', {
        path: './app',
        wait: true,
        dependsOn: [{ name: 'migrate' }],
        ...kubeConfig('remote-kubeconfig'),
      }),
    );
    const migrate = await waitForReady(env, 'migrate', 'True', 'ReconciliationSucceeded');
    const web = await waitForReady(env, 'web', 'True', 'ReconciliationSucceeded');
    const job = await onRemote('Job', 'db-migration');
    const deployment = await onRemote('Deployment', 'web');
    assert.ok(
      job && deployment && (await onRemote('ConfigMap', 'web-config')),
      'applied on the remote cluster',
    );
    assert.equal(await onManagement('Job', 'db-migration'), undefined, 'nothing on the management cluster');
    assert.equal(await onManagement('Deployment', 'web'), undefined, 'nothing on the management cluster');
    // The Job completed before the Deployment was created: the dependency held the app back.
    const completed = Date.parse(String((job['status'] as { completionTime?: string }).completionTime));
    assert.ok(completed <= Date.parse(String(deployment.metadata?.['creationTimestamp'])), 'Job first');
    assert.equal(jobRunsOf(migrate)[0]?.result, 'Complete', 'the run ledger records the remote Job');
    assert.ok(
      (web['status'] as { inventory?: { entries: { id: string }[] } }).inventory?.entries.some((e) =>
        e.id.endsWith('_web_apps_Deployment'),
      ),
    );
  });

  it('a Kustomization on the management cluster waits for one that applies to the remote cluster', async () => {
    await create(env, kustomization(env, 'after-remote', { path: './local', dependsOn: [{ name: 'web' }] }));
    await waitForReady(env, 'after-remote', 'True', 'ReconciliationSucceeded');
    assert.ok(await onManagement('ConfigMap', 'on-management'), 'applied on the management cluster');
    assert.equal(await onRemote('ConfigMap', 'on-management'), undefined, 'and not on the remote cluster');
  });

  it('sluice diff compares with the remote cluster', async () => {
    const dir = await (await scratch).tree(files);
    const diff = await runSluice(['diff', 'ks', 'web', '-n', env.namespace, '--path', path.join(dir, 'app')]);
    // Against the management cluster every object would be "created" (exit 1).
    assert.equal(diff.code, 0, `${diff.stdout}\n${diff.stderr}`);
  });

  it('prunes on the remote cluster, and deletes there when the Kustomization is deleted', async () => {
    const commit = await env.git.commit('app', { 'app/config.yaml': null }, 'drop the ConfigMap');
    await requestReconcile(env, 'GitRepository', 'app', 'dropped-configmap');
    await waitForApplied(env, 'web', commit);
    assert.equal(await onRemote('ConfigMap', 'web-config'), undefined, 'pruned on the remote cluster');
    const ref: ObjectRef = {
      apiVersion: 'kustomize.toolkit.fluxcd.io/v1',
      kind: 'Kustomization',
      namespace: env.namespace,
      name: 'web',
    };
    await env.objects.delete(ref);
    await env.objects.waitUntilGone(ref, AbortSignal.timeout(30_000));
    assert.equal(await onRemote('Deployment', 'web'), undefined, 'deleted on the remote cluster');
  });

  const refused = [
    {
      name: 'missing-secret',
      secret: 'no-such-kubeconfig',
      message:
        /^unable to read KubeConfig secret '[^']+\/no-such-kubeconfig' error: secrets "no-such-kubeconfig" not found$/,
    },
    {
      name: 'exec-plugin',
      secret: 'exec-kubeconfig',
      message:
        /key 'value\.yaml' cannot be used for a remote cluster: user '[^']+' runs an exec credential plugin, which the controller never runs$/,
    },
    {
      name: 'unreachable',
      secret: 'unreachable-kubeconfig',
      message: /127\.0\.0\.1:1/,
    },
  ];
  for (const c of refused) {
    it(`${c.name}: Ready=False ReconciliationFailed with a clear message, nothing applied`, async () => {
      await create(env, kustomization(env, c.name, { path: './other', ...kubeConfig(c.secret) }));
      await waitForRefusal(env, c.name, 'ReconciliationFailed', c.message);
      assert.equal(await onRemote('ConfigMap', 'must-not-land'), undefined);
      assert.equal(await onManagement('ConfigMap', 'must-not-land'), undefined);
    });
  }
});

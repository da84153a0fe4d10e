// `sluice logs ks` as a user runs it, and the controller's --failed-job-log-lines, against the local cluster:
// logs come from the apiserver's pods/log endpoint, which reaches kwok's kubelet server; kwok serves each
// container's log from .cluster/container-logs/<container>.log (see dev/cluster/up.sh), which this test writes.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { appendFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { spawn } from 'node:child_process';
import {
  create,
  gitRepository,
  kustomization,
  useControllerEnv,
  waitForEvent,
  waitForReady,
} from '../support/controller.ts';
import { runSluice } from '../support/cli.ts';
import { jobManifest } from '../support/manifests.ts';
import { testKubeconfig } from '../support/cluster.ts';
import { LocalCluster, repoRoot } from '../../dev/cluster.ts';
import type { KubeList } from '../../src/kube/client.ts';

const localCluster = LocalCluster.fromEnvironment();
const containerLogs = path.join(localCluster.dir, 'container-logs');
const onLocalCluster = () => testKubeconfig() === localCluster.kubeconfig;
const sluice = (...args: string[]) => runSluice(args);
const cli = path.join(repoRoot, 'src', 'cli', 'main.ts');

/** A container's log as the container runtime writes it: one CRI line per output line. */
const criLog = (lines: string[]) =>
  lines.map((line, i) => `2026-11-30T10:00:0${i}.000000000Z stdout F ${line}\n`).join('');

/** Pod names end in a random suffix; the golden text has `<pod>` there. */
const normalisePods = (text: string) => text.replace(/pod\/([a-z-]+)-[a-z0-9]{5}\b/g, 'pod/$1-<pod>');

describe(
  'sluice logs ks',
  { skip: onLocalCluster() ? false : 'kwok serves container logs on the local cluster only' },
  () => {
    const env = useControllerEnv('e2e-cli-logs');

    before(async () => {
      await writeFile(
        path.join(containerLogs, 'migration.log'),
        criLog(['starting db migration', 'applied 3 migrations ✓', 'done']),
      );
      await writeFile(path.join(containerLogs, 'cache.log'), criLog(['cache refreshed']));
      await rm(path.join(containerLogs, 'post.log'), { force: true });
    });
    after(async () => {
      for (const name of ['migration.log', 'cache.log'])
        await rm(path.join(containerLogs, name), { force: true });
    });

    it('prints each Job’s pod logs in the order the Kustomization applied them', async () => {
      const ns = env.namespace;
      await env.git.createRepo('app', {
        'jobs/kustomization.yaml': 'resources:\n- migration.yaml\n- cache.yaml\n- settings.yaml\n',
        'jobs/migration.yaml': jobManifest({ name: 'db-migration', containers: ['migration'] }),
        'jobs/cache.yaml': jobManifest({
          name: 'cache-refresh',
          containers: ['cache'],
          initContainers: ['wait-for-app'],
        }),
        'jobs/settings.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n',
        'broken/job.yaml': jobManifest({ name: 'post-deploy', containers: ['post'] }),
        'config/settings.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: only-config\n',
      });
      await create(env, gitRepository(env, 'app'));
      await create(env, kustomization(env, 'jobs', { path: './jobs', wait: true, targetNamespace: ns }));
      await waitForReady(env, 'jobs', 'True');

      const all = await sluice('logs', 'ks', 'jobs', '-n', ns);
      assert.equal(all.stderr, '');
      assert.equal(all.code, 0);
      assert.equal(
        normalisePods(all.stdout),
        `==> Job/${ns}/cache-refresh pod/cache-refresh-<pod> container/wait-for-app (Succeeded) <==\n` +
          '(kwok node: no process ran, so this container printed nothing)\n' +
          `==> Job/${ns}/cache-refresh pod/cache-refresh-<pod> container/cache (Succeeded) <==\n` +
          'cache refreshed\n' +
          `==> Job/${ns}/db-migration pod/db-migration-<pod> container/migration (Succeeded) <==\n` +
          'starting db migration\n' +
          'applied 3 migrations ✓\n' +
          'done\n',
      );

      const narrowed = await sluice(
        'logs',
        'ks',
        'jobs',
        '-n',
        ns,
        '-c',
        'migration',
        '--tail',
        '1',
        '--timestamps',
      );
      assert.equal(narrowed.code, 0);
      assert.equal(
        normalisePods(narrowed.stdout),
        `==> Job/${ns}/db-migration pod/db-migration-<pod> container/migration (Succeeded) <==\n` +
          '2026-11-30T10:00:02.000000000Z done\n',
      );
      assert.equal(
        normalisePods(narrowed.stderr),
        `◎ Job/${ns}/cache-refresh pod/cache-refresh-<pod>: no container named "migration"\n`,
      );
    });

    it('--follow keeps the stream open and prints lines written after it started', async () => {
      const ns = env.namespace;
      const child = spawn(
        process.execPath,
        [cli, 'logs', 'ks', 'jobs', '-n', ns, '-c', 'migration', '-f', '--kubeconfig', testKubeconfig()],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let stdout = '';
      /** Resolves once stdout ends with `text`; rejects if the CLI exits first or 30s pass. */
      const printed = (text: string) =>
        new Promise<void>((resolve, reject) => {
          const check = () => {
            if (!stdout.endsWith(text)) return;
            cleanup();
            resolve();
          };
          const exited = (code: number | null) => {
            cleanup();
            reject(
              new Error(`sluice logs -f exited (${code}) before printing ${JSON.stringify(text)}: ${stdout}`),
            );
          };
          const deadline = setTimeout(() => {
            cleanup();
            reject(new Error(`no ${JSON.stringify(text)} within 30s; got ${JSON.stringify(stdout)}`));
          }, 30_000);
          const cleanup = () => {
            clearTimeout(deadline);
            child.stdout.off('data', check);
            child.off('exit', exited);
          };
          child.stdout.on('data', check);
          child.once('exit', exited);
          check();
        });
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
      try {
        await printed('done\n');
        // Written after the stream opened: only a followed log shows it.
        await appendFile(
          path.join(containerLogs, 'migration.log'),
          '2026-11-30T10:00:03.000000000Z stdout F a line written later\n',
        );
        await printed('a line written later\n');
      } finally {
        child.kill();
      }
      assert.equal(
        normalisePods(stdout),
        `==> Job/${ns}/db-migration pod/db-migration-<pod> container/migration (Succeeded) <==\n` +
          'starting db migration\napplied 3 migrations ✓\ndone\na line written later\n',
      );
    });

    it('says on stderr when a Job has no pods left, and exits 0', async () => {
      const ns = env.namespace;
      const pods = await env.client.get<KubeList>(`/api/v1/namespaces/${ns}/pods`, {
        labelSelector: 'batch.kubernetes.io/job-name=db-migration',
      });
      assert.equal(pods.items.length, 1);
      const podName = pods.items[0]?.metadata?.name ?? '';
      await env.client.delete(`/api/v1/namespaces/${ns}/pods/${podName}`, { gracePeriodSeconds: 0 });
      await env.objects.waitUntilGone(
        { apiVersion: 'v1', kind: 'Pod', namespace: ns, name: podName },
        AbortSignal.timeout(30_000),
      );

      const result = await sluice('logs', 'ks', 'jobs', '-n', ns, '-c', 'cache');
      assert.equal(result.code, 0);
      assert.equal(
        normalisePods(result.stdout),
        `==> Job/${ns}/cache-refresh pod/cache-refresh-<pod> container/cache (Succeeded) <==\ncache refreshed\n`,
      );
      assert.equal(
        result.stderr,
        `◎ Job/${ns}/db-migration: no pods left (deleted by hand or by the pod garbage collector), so no logs\n`,
      );
    });

    it('reports a log the node cannot give, and exits 1', async () => {
      const ns = env.namespace;
      await create(env, kustomization(env, 'broken', { path: './broken', wait: true, targetNamespace: ns }));
      await waitForReady(env, 'broken', 'True');

      const result = await sluice('logs', 'ks', 'broken', '-n', ns);
      assert.equal(result.code, 1);
      assert.equal(
        normalisePods(result.stdout),
        `==> Job/${ns}/post-deploy pod/post-deploy-<pod> container/post (Succeeded) <==\n`,
      );
      assert.match(
        normalisePods(result.stderr),
        new RegExp(`^✗ pod/post-deploy-<pod> container/post: cannot read its log: .*post\\.log.*\\n$`),
      );
    });

    it('explains a Kustomization with no Jobs and one that does not exist', async () => {
      const ns = env.namespace;
      await create(env, kustomization(env, 'config', { path: './config', targetNamespace: ns }));
      await waitForReady(env, 'config', 'True');

      const none = await sluice('logs', 'ks', 'config', '-n', ns);
      assert.equal(none.code, 0);
      assert.equal(none.stdout, '');
      assert.equal(
        none.stderr,
        `◎ Kustomization ${ns}/config applied no Jobs, so there are no logs to show\n`,
      );

      const missing = await sluice('logs', 'ks', 'nope', '-n', ns);
      assert.equal(missing.code, 1);
      assert.equal(missing.stderr, '✗ kustomizations.kustomize.toolkit.fluxcd.io "nope" not found\n');
    });
  },
);

describe(
  "a failed Job's log in its Warning event (controller --failed-job-log-lines)",
  { skip: onLocalCluster() ? false : 'kwok serves container logs on the local cluster only' },
  () => {
    const env = useControllerEnv('e2e-failed-job-log', { controller: { failedJobLogLines: 2 } });

    before(() =>
      writeFile(
        path.join(containerLogs, 'pre.log'),
        criLog(['connecting to db', 'applying 0042_add_index', 'ERROR: relation "users" does not exist']),
      ),
    );
    after(() => rm(path.join(containerLogs, 'pre.log'), { force: true }));

    it("puts the end of the failed pod's log in a Warning event on the Kustomization", async () => {
      const ns = env.namespace;
      await env.git.createRepo('app', {
        'job.yaml': jobManifest({
          containers: ['pre'],
          podLabels: { 'pod-container-running-failed.stage.kwok.x-k8s.io': 'true' },
        }),
      });
      await create(env, gitRepository(env, 'app'));
      await create(env, kustomization(env, 'migrate', { wait: true, timeout: '1m' }));
      await waitForReady(env, 'migrate', 'False', 'HealthCheckFailed');
      const event = await waitForEvent(
        env,
        'Kustomization',
        'migrate',
        (e) => e.type === 'Warning' && e.message.includes('lines of its log'),
        'the failed Job log event',
      );
      assert.equal(
        normalisePods(event.message),
        `Job/${ns}/db-migration failed; the last 2 lines of its log:\n` +
          `--- pod/db-migration-<pod> container/pre\n` +
          'applying 0042_add_index\n' +
          'ERROR: relation "users" does not exist',
      );
      assert.equal(event.reason, 'HealthCheckFailed');
    });
  },
);

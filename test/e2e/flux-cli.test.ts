// The real flux CLI (built from the Go module proxy, dev/flux/build-cli.sh) against sluice running seed 001:
// a Flux user's commands work unchanged. `sluice install` puts the Deployment, ServiceAccount and RBAC in the
// namespace with Flux's labels, so check, version, logs and uninstall find them; kwok's fake node serves the
// controller pod's log from .cluster/container-logs/manager.log, which this suite fills with the controllers' own
// JSON log lines (the controllers run in this process, exactly as `sluice controller` logs).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { appendFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Writable } from 'node:stream';
import { applySeed, useControllerEnv, waitForReady, waitForSource } from '../support/controller.ts';
import { OciRegistry, pushArtifact } from '../../dev/registry.ts';
import { OCIRepositoryApi } from '../../src/api/ocirepository.ts';
import { runSluice } from '../support/cli.ts';
import { testKubeconfig } from '../support/cluster.ts';
import { scratchDir } from '../support/files.ts';
import { LocalCluster } from '../../dev/cluster.ts';
import { runFlux } from '../../dev/flux.ts';
import { release, stages } from '../../dev/seed.ts';
import { createLogger } from '../../src/runtime/logger.ts';

const localCluster = LocalCluster.fromEnvironment();
const managerLog = path.join(localCluster.dir, 'container-logs', 'manager.log');

/** The controllers' JSON lines, appended to the file kwok serves as the controller pod's log, in CRI format. */
const podLog = new Writable({
  write(chunk: Buffer, _encoding, done) {
    const lines = chunk
      .toString('utf8')
      .split('\n')
      .filter(Boolean)
      .map((line) => `${new Date().toISOString()} stderr F ${line}\n`);
    appendFile(managerLog, lines.join('')).then(() => done(), done);
  },
});

describe(
  'the flux CLI on sluice',
  {
    skip:
      testKubeconfig() === localCluster.kubeconfig
        ? false
        : 'kwok serves the pod log on the local cluster only',
  },
  () => {
    const env = useControllerEnv('e2e-flux-cli', {
      controller: { log: createLogger({ level: 'info', destination: podLog }) },
    });
    const flux = (...args: string[]) => runFlux([...args, '-n', env.namespace], testKubeconfig());
    const dirs = scratchDir('flux-cli');
    let files: Record<string, string>;
    let revision = '';

    before(async () => {
      await writeFile(managerLog, '');
      // As a Flux user writes them: Flux (and so `flux diff`) refuses objects without a namespace otherwise.
      files = await applySeed(env, { targetNamespace: env.namespace });
      const last = await waitForReady(env, 'app-post-deploy', 'True', 'ReconciliationSucceeded');
      revision = (last['status'] as { lastAppliedRevision: string }).lastAppliedRevision;
    });
    after(() => rm(managerLog, { force: true }));

    const short = () => revision.replace(/^(main@sha1:[0-9a-f]{8})[0-9a-f]+$/, '$1');
    const rows = (text: string) =>
      text
        .trimEnd()
        .split('\n')
        .map((line) => line.split('\t').map((cell) => cell.trim()));

    it('get ks and get sources git show the pipeline Ready at its revision', async () => {
      const ks = await flux('get', 'ks');
      assert.equal(ks.code, 0, ks.stderr);
      assert.deepEqual(
        rows(ks.stdout)
          .slice(1)
          .map((r) => r.slice(0, 4)),
        stages.map((s) => [s.kustomization, short(), 'False', 'True']).sort(),
      );
      const git = await flux('get', 'sources', 'git');
      assert.equal(git.code, 0, git.stderr);
      assert.deepEqual(rows(git.stdout)[1], [
        'my-app',
        short(),
        'False',
        'True',
        `stored artifact for revision '${short()}'`,
      ]);
    });

    it('get sources oci and reconcile source oci work on an OCIRepository sluice reconciles', async () => {
      const registry = await OciRegistry.start();
      try {
        const dir = await (
          await dirs
        ).tree({ 'cm.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: oci\n' });
        const digest = await pushArtifact(registry.url('app'), 'v1.0.0', dir);
        await env.objects.apply(
          {
            apiVersion: OCIRepositoryApi.apiVersion,
            kind: OCIRepositoryApi.kind,
            metadata: { name: 'oci-app', namespace: env.namespace },
            spec: { url: registry.url('app'), interval: '10m', insecure: true, ref: { tag: 'v1.0.0' } },
          },
          { fieldManager: 'e2e-test' },
        );
        await waitForSource(env, 'OCIRepository', 'oci-app', 'True');
        const reconciled = await flux('reconcile', 'source', 'oci', 'oci-app');
        assert.equal(reconciled.code, 0, reconciled.stderr);
        assert.match(reconciled.stderr, new RegExp(`fetched revision v1\\.0\\.0@${digest}`));
        const oci = await flux('get', 'sources', 'oci');
        assert.equal(oci.code, 0, oci.stderr);
        const row = rows(oci.stdout).find((r) => r[0] === 'oci-app');
        // flux shortens digests to 8 hex digits, as it does commits.
        const shortRevision = `v1.0.0@${digest.slice(0, 'sha256:'.length + 8)}`;
        assert.deepEqual(
          row?.slice(1),
          [shortRevision, 'False', 'True', `stored artifact for digest '${shortRevision}'`],
          oci.stdout,
        );
      } finally {
        await registry.stop();
      }
    });

    it('tree ks and events read the inventory and the events', async () => {
      const tree = await flux('tree', 'ks', 'app-deploy');
      assert.equal(tree.code, 0, tree.stderr);
      assert.equal(
        tree.stdout,
        `Kustomization/${env.namespace}/app-deploy\n` +
          `├── Service/${env.namespace}/my-app\n` +
          `├── Deployment/${env.namespace}/my-app\n` +
          `└── Ingress/${env.namespace}/my-app\n\n`,
      );
      const events = await flux('events', '--for', 'Kustomization/app-pre-deploy');
      assert.equal(events.code, 0, events.stderr);
      const seen = rows(events.stdout).map((r) => r.slice(1, 5));
      assert.deepEqual(seen[0], ['TYPE', 'REASON', 'OBJECT', 'MESSAGE']);
      assert.ok(
        seen.some((r) => r[1] === 'Progressing' && r[3]?.startsWith('Health check passed in')),
        events.stdout,
      );
      assert.ok(
        seen.some(
          (r) => r[1] === 'ReconciliationSucceeded' && r[3]?.startsWith('Reconciliation finished in'),
        ),
        events.stdout,
      );
    });

    it('reconcile ks --with-source, suspend and resume act on the pipeline', async () => {
      const reconcile = await flux('reconcile', 'ks', 'app-pre-deploy', '--with-source');
      assert.equal(reconcile.code, 0, reconcile.stderr);
      assert.match(reconcile.stderr, new RegExp(`✔ fetched revision ${revision}\n`));
      assert.match(reconcile.stderr, new RegExp(`✔ applied revision ${revision}\n$`));
      const suspend = await flux('suspend', 'ks', 'app-post-deploy');
      assert.equal(suspend.code, 0, suspend.stderr);
      assert.match(suspend.stderr, /✔ kustomization suspended\n$/);
      const resume = await flux('resume', 'ks', 'app-post-deploy');
      assert.equal(resume.code, 0, resume.stderr);
      assert.match(resume.stderr, new RegExp(`✔ applied revision ${revision}\n$`));
    });

    it('stats counts the reconcilers', async () => {
      const stats = await flux('stats');
      assert.equal(stats.code, 0, stats.stderr);
      const byKind = new Map(rows(stats.stdout).map((r) => [r[0], r.slice(1, 4)]));
      assert.deepEqual(byKind.get('GitRepository'), ['1', '0', '0']);
      assert.deepEqual(byKind.get('Kustomization'), ['3', '0', '0']);
    });

    it('diff ks finds no drift in what sluice applied, and shows a change', async () => {
      const dir = await (
        await dirs
      ).tree(Object.fromEntries(Object.entries(files).filter(([f]) => f.startsWith('deploy/'))));
      const same = await flux('diff', 'ks', 'app-deploy', '--path', path.join(dir, 'deploy'));
      assert.equal(same.code, 0, `${same.stdout}${same.stderr}`);
      const bumped = await (
        await dirs
      ).tree(
        Object.fromEntries(Object.entries(release(files, 'v9.9.9')).filter(([f]) => f.startsWith('deploy/'))),
      );
      const changed = await flux('diff', 'ks', 'app-deploy', '--path', path.join(bumped, 'deploy'));
      assert.equal(changed.code, 1, `${changed.stdout}${changed.stderr}`);
      assert.match(changed.stdout, new RegExp(`► Deployment/${env.namespace}/my-app drifted`));
    });

    it('check, version, logs and uninstall --dry-run find a sluice install by its labels', async () => {
      const install = await runSluice(['install', '-n', env.namespace]);
      assert.equal(install.code, 0, install.stderr);
      try {
        await checkInstall();
      } finally {
        // Cluster-scoped, so the namespace's deletion does not take it.
        await env.objects.delete({
          apiVersion: 'rbac.authorization.k8s.io/v1',
          kind: 'ClusterRoleBinding',
          name: `sluice-controller-${env.namespace}`,
        });
      }
    });

    async function checkInstall(): Promise<void> {
      const check = await flux('check');
      assert.equal(check.code, 0, `${check.stdout}${check.stderr}`);
      assert.match(check.stderr, /✔ distribution: flux-sluice-v\d+\.\d+\.\d+/);
      assert.match(check.stderr, /✔ sluice-controller: deployment ready/);
      assert.match(check.stderr, /✔ gitrepositories\.source\.toolkit\.fluxcd\.io\/v1\n/);
      assert.match(check.stderr, /✔ kustomizations\.kustomize\.toolkit\.fluxcd\.io\/v1\n/);
      assert.match(check.stderr, /✔ all checks passed\n$/);

      const version = await flux('version', '-o', 'json');
      assert.equal(version.code, 0, version.stderr);
      const info = JSON.parse(version.stdout) as { distribution?: string; 'sluice-controller'?: string };
      assert.match(info.distribution ?? '', /^flux-sluice-v/);
      assert.match(info['sluice-controller'] ?? '', /^\d+\.\d+\.\d+$/);

      const kustomizationLogs = (name: string) =>
        flux('logs', '--flux-namespace', env.namespace, '--kind', 'Kustomization', '--name', name);
      const logs = await kustomizationLogs('app-pre-deploy');
      assert.equal(logs.code, 0, logs.stderr);
      const lines = logs.stdout.trimEnd().split('\n');
      assert.ok(lines.length > 0 && lines[0] !== '', 'flux logs printed nothing');
      for (const line of lines) {
        assert.match(
          line,
          new RegExp(`^\\S+ (info|error|debug) Kustomization/app-pre-deploy\\.${env.namespace} - `),
        );
      }
      assert.ok(
        lines.some((l) => l.includes('Reconciliation finished in')),
        logs.stdout,
      );
      assert.ok(
        lines.some((l) => l.includes('server-side apply completed')),
        logs.stdout,
      );
      // Flux's line for a dependent whose dependencies are ready, which log queries count.
      const dependent = await kustomizationLogs('app-deploy');
      assert.equal(dependent.code, 0, dependent.stderr);
      assert.match(
        dependent.stdout,
        new RegExp(
          `^\\S+ info Kustomization/app-deploy\\.${env.namespace} - All dependencies are ready, proceeding with reconciliation ?$`,
          'm',
        ),
      );

      const uninstall = await flux('uninstall', '--dry-run', '--silent');
      assert.equal(uninstall.code, 0, uninstall.stderr);
      assert.match(
        uninstall.stderr,
        new RegExp(`Deployment/${env.namespace}/sluice-controller deleted \\(dry run\\)`),
      );
      assert.match(
        uninstall.stderr,
        /CustomResourceDefinition\/kustomizations\.kustomize\.toolkit\.fluxcd\.io deleted \(dry run\)/,
      );
    }
  },
);

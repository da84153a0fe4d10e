// `sluice build` and `sluice diff` as a user runs them, against a Kustomization the controllers reconciled.
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import {
  useControllerEnv,
  gitRepository,
  kustomization,
  create,
  waitForReady,
} from '../support/controller.ts';
import { scratchDir } from '../support/files.ts';
import { runSluice } from '../support/cli.ts';
import { jobManifest } from '../support/manifests.ts';
import { testKubeconfig } from '../support/cluster.ts';
import { runFlux } from '../../dev/flux.ts';
import { parseYamlDocuments } from '../../src/kustomize/yaml.ts';
import type { KubeObject } from '../../src/kube/client.ts';

const cm = (name: string, mode: string) =>
  `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\ndata:\n  mode: ${mode}\n`;
const secret = (password: string) =>
  `apiVersion: v1\nkind: Secret\nmetadata:\n  name: credentials\nstringData:\n  password: ${password}\n`;
const live = {
  'job.yaml': jobManifest({ image: 'app:v1' }),
  'settings.yaml': cm('settings', 'fast'),
  'old.yaml': cm('old', 'x'),
  'secret.yaml': secret('hunter2'),
};

describe('sluice build and diff', () => {
  const env = useControllerEnv('e2e-diff');
  const dirs = scratchDir('diff');

  const sluice = (...args: string[]) => runSluice([...args, '-n', env.namespace]);

  before(async () => {
    await env.git.createRepo('app', live);
    await create(env, gitRepository(env, 'app'));
    await create(env, kustomization(env, 'app', { force: true }));
    await waitForReady(env, 'app', 'True', 'ReconciliationSucceeded');
  });

  it('diff of an unchanged directory exits 0 and prints nothing', async () => {
    const result = await sluice('diff', 'ks', 'app', '--path', await (await dirs).tree(live));
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, '');
    assert.equal(result.stderr, '');
  });

  it('diff shows a forced Job as recreated, drift as a unified diff, new and pruned objects, never a Secret value', async () => {
    const ns = env.namespace;
    const dir = await (
      await dirs
    ).tree({
      'job.yaml': jobManifest({ image: 'app:v2' }),
      'settings.yaml': cm('settings', 'slow'),
      'new.yaml': cm('new', 'y'),
      'secret.yaml': secret('correct-horse'),
    });
    const result = await sluice('diff', 'ks', 'app', '--path', dir);
    assert.equal(result.code, 1, result.stderr);
    const lines = result.stderr.trim().split('\n').sort();
    assert.deepEqual(lines, [
      `► ConfigMap/${ns}/new created`,
      `► ConfigMap/${ns}/old deleted`,
      `► ConfigMap/${ns}/settings drifted`,
      `► Job/${ns}/db-migration will be recreated (immutable fields changed; force is on)`,
      `► Secret/${ns}/credentials drifted (values hidden)`,
    ]);
    assert.match(result.stdout, /^-\s+mode: fast$/m);
    assert.match(result.stdout, /^\+\s+mode: slow$/m);
    for (const value of [
      'hunter2',
      'correct-horse',
      Buffer.from('hunter2').toString('base64'),
      Buffer.from('correct-horse').toString('base64'),
    ]) {
      assert.ok(
        !result.stdout.includes(value) && !result.stderr.includes(value),
        `a Secret value was printed: ${value}`,
      );
    }
  });

  it('build prints what the controller would apply: namespace, owner labels, Secret values masked', async () => {
    const result = await sluice('build', 'ks', 'app', '--path', await (await dirs).tree(live));
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, new RegExp(`namespace: ${env.namespace}`));
    assert.match(result.stdout, /kustomize\.toolkit\.fluxcd\.io\/name: app/);
    assert.match(result.stdout, /password: "?\*\*\*\*\*"?/);
    assert.ok(!result.stdout.includes('hunter2'));
  });

  it('build reads what an artifact of the repository would hold: .sourceignore applies, ../bases is reachable', async () => {
    const repo = await (
      await dirs
    ).tree({
      '.git/HEAD': 'ref: refs/heads/main\n',
      '.sourceignore': 'apps/scratch.yaml\n',
      'bases/kustomization.yaml': 'resources:\n- base.yaml\n',
      'bases/base.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: from-base\n',
      'apps/app.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app-settings\n',
      'apps/scratch.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: never-committed\n',
      'overlay/kustomization.yaml': 'resources:\n- ../bases\n',
    });
    const generated = await sluice('build', 'ks', 'app', '--path', path.join(repo, 'apps'));
    assert.equal(generated.code, 0, generated.stderr);
    assert.match(generated.stdout, /name: app-settings/);
    assert.doesNotMatch(generated.stdout, /never-committed/, '.sourceignore did not apply');
    const overlay = await sluice('build', 'ks', 'app', '--path', path.join(repo, 'overlay'));
    assert.equal(overlay.code, 0, overlay.stderr);
    assert.match(overlay.stdout, /name: from-base/);
  });

  it('build reads substituteFrom from the cluster and agrees with the real flux build', async () => {
    const ns = env.namespace;
    await create(env, {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'vars', namespace: ns },
      data: { GREETING: 'hi' },
    });
    await create(
      env,
      kustomization(env, 'vars-app', {
        suspend: true,
        postBuild: { substituteFrom: [{ kind: 'ConfigMap', name: 'vars' }] },
      }),
    );
    const dir = await (await dirs).tree({ 'cm.yaml': cm('greeting', '${GREETING}-${NAME:=world}') });
    const ours = await sluice('build', 'ks', 'vars-app', '--path', dir);
    assert.equal(ours.code, 0, ours.stderr);
    const theirs = await runFlux(['build', 'ks', 'vars-app', '--path', dir, '-n', ns], testKubeconfig());
    assert.equal(theirs.code, 0, theirs.stderr);
    const [built] = parseYamlDocuments(ours.stdout, 'sluice build').map((d) => d.value as KubeObject);
    const [fluxBuilt] = parseYamlDocuments(theirs.stdout, 'flux build').map((d) => d.value as KubeObject);
    assert.deepEqual(built?.['data'], { mode: 'hi-world' });
    assert.deepEqual(built, { ...fluxBuilt, metadata: { ...fluxBuilt?.metadata, namespace: ns } });
  });

  it('diff --recursive diffs each declared Kustomization from its local source against its own inventory', async () => {
    const ns = env.namespace;
    // The parent is not on the cluster: it comes from --kustomization-file, and declares the live "app".
    const repo = await (
      await dirs
    ).tree({
      'clusters/parent.yaml': JSON.stringify(kustomization(env, 'parent', { path: './clusters' })),
      'clusters/app.yaml': JSON.stringify(kustomization(env, 'app', { force: true, path: './app' })),
      'clusters/own.yaml': cm('parent-own', 'z'),
      'app/job.yaml': jobManifest({ image: 'app:v1' }),
      'app/settings.yaml': cm('settings', 'slow'),
      'app/secret.yaml': secret('hunter2'),
    });
    const parent = [
      'parent',
      '--path',
      path.join(repo, 'clusters'),
      '--kustomization-file',
      path.join(repo, 'clusters/parent.yaml'),
    ];
    const result = await sluice(
      'diff',
      'ks',
      ...parent,
      '--recursive',
      '--local-sources',
      `GitRepository/${ns}/app=${repo}`,
    );
    assert.equal(result.code, 1, result.stderr);
    const lines = result.stderr.trim().split('\n');
    assert.ok(lines.includes(`► ConfigMap/${ns}/parent-own created`), result.stderr);
    // The parent declares itself too (as flux-system does); it is built once, not again and again.
    assert.ok(lines.includes(`► Kustomization/${ns}/parent created`), result.stderr);
    assert.ok(lines.includes(`► ConfigMap/${ns}/settings drifted`), result.stderr);
    assert.ok(lines.includes(`► ConfigMap/${ns}/old deleted`), result.stderr);
    assert.ok(!lines.some((l) => l.includes('parent-own deleted')), result.stderr);
    const build = await sluice('build', 'ks', ...parent, '-r');
    assert.equal(build.code, 1);
    assert.match(
      build.stderr,
      new RegExp(
        `✗ cannot get local path for GitRepository/${ns}/app of Kustomization 'app': pass --local-sources GitRepository/${ns}/app=DIR`,
      ),
    );
  });

  it('exits 2 with a clear message for an unknown Kustomization', async () => {
    const result = await sluice('diff', 'ks', 'nope', '--path', await (await dirs).tree(live));
    assert.equal(result.code, 2);
    assert.match(
      result.stderr,
      new RegExp(`✗ Kustomization object 'nope' not found in "${env.namespace}" namespace`),
    );
  });
});

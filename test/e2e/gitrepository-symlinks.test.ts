// A symlink in the repository is left out of the artifact, as Flux leaves it out (only files and directories are
// archived, so nothing is read through a link that points outside the source); unlike Flux, sluice says so, in
// the GitRepository's Ready message and a Warning event, naming each link and its target.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import {
  create,
  gitPath,
  gitRepository,
  kustomization,
  useControllerEnv,
  waitForEvent,
  waitForReady,
} from '../support/controller.ts';
import { scratchDir } from '../support/files.ts';
import { condition, waitForObject } from '../../dev/cluster.ts';

describe('symlinks in a GitRepository', () => {
  const env = useControllerEnv('e2e-git-symlinks');
  const dirs = scratchDir('git-symlinks');

  it('are left out of the artifact and named, with their targets', async () => {
    const dir = path.join(await (await dirs).tree({}), 'repo');
    await mkdir(dir, { recursive: true });
    await writeFile(path.join(dir, 'app.yaml'), 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app\n');
    await symlink('/etc/passwd', path.join(dir, 'passwd.yaml'));
    await symlink('../outside.yaml', path.join(dir, 'outside.yaml'));
    await env.git.createRepo('app', dir);
    await create(env, gitRepository(env, 'app'));
    const repo = await waitForObject(
      env.client,
      gitPath(env),
      'app',
      (o) => condition(o, 'Ready')?.status === 'True',
      {
        description: 'the GitRepository Ready',
      },
    );
    const revision = (repo['status'] as { artifact: { revision: string } }).artifact.revision;
    const leftOut = 'outside.yaml -> ../outside.yaml, passwd.yaml -> /etc/passwd';
    assert.equal(
      condition(repo, 'Ready')?.message,
      `stored artifact for revision '${revision}'; symlinks left out of the artifact (only files and directories are kept): ${leftOut}`,
    );
    const event = await waitForEvent(
      env,
      'GitRepository',
      'app',
      (e) => e.type === 'Warning',
      'the symlink warning',
    );
    assert.equal(
      event.message,
      `symlinks left out of the artifact, nothing is read through them: ${leftOut}`,
    );

    // What the Kustomization applies is the files: the ConfigMap, nothing read through the links.
    await create(env, kustomization(env, 'app', {}));
    const ks = await waitForReady(env, 'app', 'True', 'ReconciliationSucceeded');
    const entries = (ks['status'] as { inventory: { entries: { id: string }[] } }).inventory.entries;
    assert.deepEqual(
      entries.map((e) => e.id),
      [`${env.namespace}_app__ConfigMap`],
    );
  });
});

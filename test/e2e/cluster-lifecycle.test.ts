// The local cluster's lifecycle promises: a second `cluster:up` while it runs changes nothing.
// (That `cluster:down` leaves no process behind is checked by .ci/run after the whole suite.)
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { LocalCluster, repoRoot } from '../../dev/cluster.ts';

const run = promisify(execFile);
const cluster = LocalCluster.fromEnvironment();
const pidFile = (name: string) => path.join(cluster.dir, 'pids', name);

describe(
  'npm run cluster:up',
  { skip: process.env.SLUICE_TEST_KUBECONFIG ? 'using SLUICE_TEST_KUBECONFIG' : false },
  () => {
    it('is a no-op while the cluster is up', async () => {
      const before = await readFile(pidFile('kube-apiserver'), 'utf8');
      const { stderr } = await run('bash', [path.join(repoRoot, 'dev/cluster/up.sh')]);
      assert.match(stderr, /already up/);
      assert.equal(await readFile(pidFile('kube-apiserver'), 'utf8'), before);
    });
  },
);

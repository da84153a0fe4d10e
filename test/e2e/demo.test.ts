// `npm run demo`, the README's main job, as a user runs it: it must show the ordered pipeline, re-run both Jobs
// on the image bump, and leave nothing of its own behind.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import path from 'node:path';
import { repoRoot, testClient } from '../support/cluster.ts';
import { ObjectClient } from '../../src/kube/objects.ts';

const run = promisify(execFile);

describe(
  'npm run demo',
  { skip: process.env.SLUICE_TEST_KUBECONFIG ? 'the demo runs on the local cluster' : false },
  () => {
    it('runs the migration, then the app, then the post-deploy Job, twice, and cleans up', async () => {
      const { stdout } = await run(process.execPath, [path.join(repoRoot, 'scripts/demo.ts')], {
        timeout: 240_000,
      });
      const lines = stdout.split('\n');
      const at = (pattern: RegExp, from = 0) => {
        const i = lines.findIndex((l, n) => n >= from && pattern.test(l));
        assert.ok(i >= 0, `no line matching ${pattern} after line ${from}:\n${stdout}`);
        return i;
      };
      for (const start of [0, at(/releasing v1\.0\.1/)]) {
        const migrated = at(/Job\/db-migration\s+Complete ✔/, start);
        const available = at(/Deployment\/my-app\s+v1\.0\.\d Available ✔/, migrated);
        at(/Job\/cache-refresh\s+Created/, available);
        at(/Kustomization\/app-post-deploy\s+Ready ✔/, available);
      }
      assert.match(stdout, /v1\.0\.1 \(image bump\)\s+\S+s\s+both ran again \(recreated by force\)/);
      const client = await testClient();
      try {
        assert.equal(
          await new ObjectClient(client).get({ apiVersion: 'v1', kind: 'Namespace', name: 'sluice-demo' }),
          undefined,
        );
      } finally {
        await client.close();
      }
    });
  },
);

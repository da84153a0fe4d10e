// `npm run demo`, the README's main job, as a user runs it: it must show the ordered pipeline, re-run both Jobs
// on the image bump, and leave nothing of its own behind; a step that fails, or a SIGTERM, is named, and what the
// demo started (the cluster too, when it started one) is stopped before it exits. .ci/run also runs the demo
// itself, on a cluster of its own that has never seen sluice.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import net from 'node:net';
import { promisify } from 'node:util';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { testClient } from '../support/cluster.ts';
import { ownClusters, repoRoot, type LocalCluster } from '../../dev/cluster.ts';
import { ObjectClient } from '../../src/kube/objects.ts';

const run = promisify(execFile);
const demo = path.join(repoRoot, 'dev/demo.ts');

/** The processes whose command line names the cluster's directory (what `up.sh` started for it). */
async function processesOf(cluster: LocalCluster): Promise<string> {
  const { stdout } = await run('pgrep', ['-af', `${cluster.dir}/`]).catch(() => ({ stdout: '' }));
  return stdout.trim();
}

describe(
  'npm run demo',
  { skip: process.env.SLUICE_TEST_KUBECONFIG ? 'the demo runs on the local cluster' : false },
  () => {
    it('runs the migration, then the app, then the post-deploy Job, twice, and cleans up', async () => {
      const { stdout } = await run(process.execPath, [demo], { timeout: 240_000 });
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

    it('--ui serves the web view of the pipeline while it runs, and stops it at the end', async () => {
      const child = spawn(process.execPath, [demo, '--ui'], { stdio: ['ignore', 'pipe', 'inherit'] });
      const exited = once(child, 'exit');
      let url: string | undefined;
      let snapshot: { pipelines?: { name: string; stages: unknown[] }[] } | undefined;
      for await (const line of createInterface({ input: child.stdout })) {
        const found = /^▶ sluice ui: (http:\/\/127\.0\.0\.1:\d+\/\?token=[0-9a-f]+)$/.exec(line);
        if (found?.[1]) {
          url = found[1];
          const page = await fetch(url);
          assert.equal(page.status, 200);
          assert.match(await page.text(), /<title>sluice<\/title>/);
        }
        if (url && !snapshot && /Kustomization\/app-post-deploy\s+Ready ✔/.test(line)) {
          const api = new URL(url);
          snapshot = (await (
            await fetch(`${api.origin}/api/pipelines${api.search}`)
          ).json()) as typeof snapshot;
        }
      }
      const [code] = await exited;
      assert.equal(code, 0);
      assert.ok(url, 'the demo printed no sluice ui address');
      assert.deepEqual(
        snapshot?.pipelines?.map((p) => [p.name, p.stages.length]),
        [['app-pre-deploy', 3]],
      );
      await assert.rejects(fetch(url), 'sluice ui still answers after the demo ended');
    });

    it('names the step that failed and exits 1 when the git server cannot listen', async () => {
      const taken = net.createServer();
      await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
      const port = (taken.address() as net.AddressInfo).port;
      try {
        const result = await run(process.execPath, [demo, '--git-port', String(port)], {
          timeout: 60_000,
        }).then(
          () => ({ code: 0, stdout: '' }),
          (error: { code: number; stdout: string }) => error,
        );
        assert.equal(result.code, 1, result.stdout);
        assert.match(
          result.stdout,
          new RegExp(`✗ failed in step "start the git server": .*EADDRINUSE.*${port}`),
        );
      } finally {
        taken.close();
      }
    });

    it('on SIGTERM mid-pipeline, stops everything it started, its own cluster too, and exits 130', async () => {
      const cluster = ownClusters.demo;
      assert.equal(cluster.started, false, `${cluster.dir} is in use`);
      const child = spawn(process.execPath, [demo], {
        env: cluster.env(),
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      const exited = once(child, 'exit');
      let stdout = '';
      try {
        for await (const line of createInterface({ input: child.stdout })) {
          stdout += `${line}\n`;
          if (/Job\/db-migration\s+Created/.test(line)) child.kill('SIGTERM');
        }
        const [code] = (await exited) as [number | null];
        assert.equal(code, 130, stdout);
        assert.match(stdout, /✗ failed in step "wait for the first sync": interrupted by SIGTERM/);
        assert.match(stdout, /▶ stopping the controllers, the local cluster, the git server/);
        assert.equal(await processesOf(cluster), '');
        assert.equal(existsSync(cluster.dir), false, `${cluster.dir} is left`);
      } finally {
        if (child.exitCode === null) child.kill('SIGKILL');
        if (cluster.started) await cluster.down();
      }
    });
  },
);

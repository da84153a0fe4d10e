// Building the local control plane, as a user's first `npm run demo` or `npm test` does: up.sh announces how
// long a cold build took, relays the build's progress (step k/n, elapsed time), then starts the cluster. Here
// one binary (kustomize) is missing from a scratch cache; the others are the real cache's.
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { promisify } from 'node:util';
import path from 'node:path';
import { ownClusters, repoRoot } from '../../dev/cluster.ts';

const run = promisify(execFile);

/** A variable of dev/cluster/versions.sh, for the cache in `cacheDir`. */
async function version(name: string, cacheDir = process.env.SLUICE_CACHE_DIR ?? ''): Promise<string> {
  const script = `. "${repoRoot}/dev/cluster/versions.sh"; printf %s "$${name}"`;
  const { stdout } = await run('bash', ['-c', script], {
    env: { ...process.env, SLUICE_CACHE_DIR: cacheDir },
  });
  return stdout;
}

describe(
  'npm run cluster:up on a machine without the binaries',
  { skip: process.env.SLUICE_TEST_KUBECONFIG ? 'builds and starts a local cluster' : false },
  () => {
    const cluster = ownClusters.build;
    let cache: string;
    after(async () => {
      if (cluster.started) await cluster.down();
      if (cache) await rm(cache, { recursive: true, force: true });
    });

    it('announces the measured cold build time, shows each step with its elapsed time, then starts', async () => {
      cache = await mkdtemp(path.join(tmpdir(), 'sluice-cache-'));
      await mkdir(path.join(cache, 'bin'));
      for (const variable of [
        'ETCD_BIN',
        'KWOK_BIN',
        'KUSTOMIZE_WASM',
        'KUBERNETES_BIN',
        'SOPS_BIN',
        'AGE_BIN',
        'REGISTRY_BIN',
      ]) {
        const real = await version(variable);
        await symlink(real, path.join(cache, 'bin', path.basename(real)));
      }
      const { stderr } = await run('bash', [path.join(repoRoot, 'dev/cluster/up.sh')], {
        env: { ...cluster.env(), SLUICE_CACHE_DIR: cache },
      });
      const coldBuild = await version('COLD_BUILD', cache);
      assert.match(stderr, /\[cluster\] the control-plane binaries are not cached yet/);
      assert.ok(stderr.includes(`from empty Go caches it took ${coldBuild} on 2-core machines`), stderr);
      assert.match(stderr, /\[cluster\] cache: .*; 1 step to build\n/);
      assert.match(
        stderr,
        /\[cluster\] step 1\/1 \+0m\d\ds: kustomize v[\d.]+: fetching modules and compiling\n/,
      );
      assert.match(stderr, /\[cluster\] all binaries present \(built in \d+m\d\ds\)\n/);
      assert.match(stderr, /\[cluster\] up in \d+s: kube-apiserver v/);
      const kustomize = path.join(await version('KUSTOMIZE_BIN', cache), 'kustomize');
      const { stdout } = await run(kustomize, ['version']);
      assert.match(stdout, /v\d+\.\d+\.\d+/);
    });
  },
);

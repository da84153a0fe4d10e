import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { defaultServiceAccountRoot, loadDefaultKubeConfig, serviceAccountRoot } from './incluster.ts';

describe('in-cluster configuration', () => {
  let scratch: string;
  let root: string;
  let home: string;

  before(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'sluice-incluster-'));
    root = join(scratch, 'serviceaccount');
    home = join(scratch, 'home');
    await mkdir(root);
    await mkdir(home);
    await writeFile(join(root, 'token'), 'a-token');
    await writeFile(join(root, 'ca.crt'), 'not read here');
    await writeFile(join(root, 'namespace'), 'ops');
  });
  after(() => rm(scratch, { recursive: true, force: true }));

  it('reads the service account from the standard mount unless SLUICE_SERVICE_ACCOUNT_ROOT names another', () => {
    assert.equal(serviceAccountRoot({}), defaultServiceAccountRoot);
    assert.equal(serviceAccountRoot({ SLUICE_SERVICE_ACCOUNT_ROOT: root }), root);
  });

  it('uses the files under SLUICE_SERVICE_ACCOUNT_ROOT and the KUBERNETES_SERVICE_* address', () => {
    const kc = new KubeConfig();
    loadDefaultKubeConfig(kc, {
      SLUICE_SERVICE_ACCOUNT_ROOT: root,
      HOME: home,
      KUBERNETES_SERVICE_HOST: '127.0.0.1',
      KUBERNETES_SERVICE_PORT: '17443',
    });
    assert.deepEqual(kc.getCurrentCluster(), {
      name: 'inCluster',
      server: 'https://127.0.0.1:17443',
      caFile: join(root, 'ca.crt'),
      skipTLSVerify: false,
    });
    assert.deepEqual(kc.getCurrentUser()?.authProvider, {
      name: 'tokenFile',
      config: { tokenFile: join(root, 'token') },
    });
  });

  it('puts an IPv6 address in brackets', () => {
    const kc = new KubeConfig();
    loadDefaultKubeConfig(kc, {
      SLUICE_SERVICE_ACCOUNT_ROOT: root,
      HOME: home,
      KUBERNETES_SERVICE_HOST: 'fd00::1',
      KUBERNETES_SERVICE_PORT: '443',
    });
    assert.equal(kc.getCurrentCluster()?.server, 'https://[fd00::1]:443');
  });

  it('fails clearly when the root has no token or the service address is unset', () => {
    const empty = join(scratch, 'home');
    assert.throws(
      () => loadDefaultKubeConfig(new KubeConfig(), { SLUICE_SERVICE_ACCOUNT_ROOT: empty, HOME: home }),
      /token does not exist/,
    );
    assert.throws(
      () => loadDefaultKubeConfig(new KubeConfig(), { SLUICE_SERVICE_ACCOUNT_ROOT: root, HOME: home }),
      /KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must be set/,
    );
  });
});

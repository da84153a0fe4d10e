// Bad input never half-applies and never stops the controller: each case ends Ready=False with a message
// that says what is wrong and a Warning event, while a good Kustomization next to them keeps reconciling.
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import {
  useControllerEnv,
  gitRepository,
  kustomization,
  create,
  waitForReady,
  waitForEvent,
  gitPath,
  requestReconcile,
  waitForApplied,
  waitForRefusal,
} from '../support/controller.ts';
import { waitForObject, condition } from '../../dev/cluster.ts';
import { GitServer } from '../../dev/git-server.ts';

describe('Kustomization bad input', () => {
  const env = useControllerEnv('e2e-bad');

  before(async () => {
    await env.git.createRepo('app', {
      'good/cm.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: good\n',
      'malformed/ok.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: fine\n',
      'malformed/bad.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: dup\n  name: again\n',
      'unknown-kind/cm.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: beside-widget\n',
      'unknown-kind/widget.yaml': 'apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w\n',
      'invalid/cm.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: beside-invalid\n',
      'invalid/bad.yaml':
        'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: bad-key\ndata:\n  "not a valid key!": x\n',
      'sops/secret.yaml':
        'apiVersion: v1\nkind: Secret\nmetadata:\n  name: encrypted\ndata:\n  password: RU5DW0FFUzI1Nl0=\nsops:\n  mac: ENC[abc]\n',
    });
    await create(env, gitRepository(env, 'app'));
    await create(env, kustomization(env, 'good', { path: './good' }));
    await waitForReady(env, 'good', 'True');
  });

  const cases: {
    name: string;
    spec: Record<string, unknown>;
    reason: string;
    message: RegExp;
    notCreated?: string;
  }[] = [
    {
      name: 'malformed',
      spec: { path: './malformed' },
      reason: 'BuildFailed',
      message: /malformed\/bad\.yaml:5:\d+: .*duplicate key/i,
      notCreated: 'fine',
    },
    {
      name: 'unknown-kind',
      spec: { path: './unknown-kind' },
      reason: 'ReconciliationFailed',
      message: /Widget\/.*w dry-run failed: no matches for kind "Widget" in version "example.com\/v1"/,
      notCreated: 'beside-widget',
    },
    {
      name: 'invalid',
      spec: { path: './invalid' },
      reason: 'ReconciliationFailed',
      message: /ConfigMap\/.*\/bad-key dry-run failed \(Invalid\): .*not a valid key!/,
      notCreated: 'beside-invalid',
    },
    {
      name: 'sops',
      spec: { path: './sops' },
      reason: 'ReconciliationFailed',
      message: /Secret\/.*\/encrypted is SOPS encrypted, configuring decryption is required/,
    },
    {
      name: 'escape',
      spec: { path: '../../../etc' },
      reason: 'ArtifactFailed',
      message: /kustomization path not found: .*\.\./,
    },
    {
      name: 'bucket-source',
      spec: { path: './good', sourceRef: { kind: 'Bucket', name: 'app' } },
      reason: 'ArtifactFailed',
      message:
        /^sourceRef\.kind Bucket is not supported by sluice yet: use a GitRepository or an OCIRepository$/,
    },
    {
      name: 'no-source',
      spec: { path: './good', sourceRef: { kind: 'GitRepository', name: 'missing' } },
      reason: 'ArtifactFailed',
      message: /^GitRepository\.source\.toolkit\.fluxcd\.io "missing" not found$/,
    },
  ];

  for (const c of cases) {
    it(`${c.name}: Ready=False ${c.reason}, a Warning event, nothing applied`, async () => {
      await create(env, kustomization(env, c.name, c.spec));
      await waitForRefusal(env, c.name, c.reason, c.message);
      if (c.notCreated) {
        const beside = { apiVersion: 'v1', kind: 'ConfigMap', namespace: env.namespace, name: c.notCreated };
        assert.equal(await env.objects.get(beside), undefined, `${c.notCreated} must not be applied`);
      }
    });
  }

  it('an unreachable git URL: the GitRepository says so, and its Kustomization waits for an artifact', async () => {
    await create(env, gitRepository(env, 'unreachable', { url: 'http://127.0.0.1:1/nothing.git' }));
    const repo = await waitForObject(
      env.client,
      gitPath(env),
      'unreachable',
      (o) => condition(o, 'Ready')?.status === 'False',
      {
        description: 'GitRepository unreachable Ready=False',
      },
    );
    assert.match(condition(repo, 'Ready')?.message ?? '', /127\.0\.0\.1:1/);
    assert.equal(condition(repo, 'FetchFailed')?.status, 'True');
    await waitForEvent(env, 'GitRepository', 'unreachable', (e) => e.type === 'Warning', 'a Warning');
    await create(
      env,
      kustomization(env, 'from-unreachable', { sourceRef: { kind: 'GitRepository', name: 'unreachable' } }),
    );
    const ks = await waitForReady(env, 'from-unreachable', 'False', 'ArtifactFailed');
    // The controller under test retries dependencies every second (Flux's default is 30s).
    assert.equal(condition(ks, 'Ready')?.message, 'Source artifact not found, retrying in 1s');
  });

  it('bad credentials and an unknown branch: clear reasons, and the password is never shown', async () => {
    const secured = await GitServer.start({ auth: { username: 'robot', password: 'right-password' } });
    try {
      await secured.createRepo('private', {
        'cm.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: p\n',
      });
      await env.objects.apply(
        {
          apiVersion: 'v1',
          kind: 'Secret',
          metadata: { name: 'git-auth', namespace: env.namespace },
          stringData: { username: 'robot', password: 'wrong-password' },
        },
        { fieldManager: 'e2e-test' },
      );
      await create(
        env,
        gitRepository(env, 'private', { url: secured.url('private'), secretRef: { name: 'git-auth' } }),
      );
      const repo = await waitForObject(
        env.client,
        gitPath(env),
        'private',
        (o) => condition(o, 'Ready')?.status === 'False',
        {
          description: 'GitRepository private Ready=False',
        },
      );
      assert.equal(condition(repo, 'Ready')?.reason, 'AuthenticationFailed');
      assert.doesNotMatch(JSON.stringify(repo['status']), /wrong-password/);

      await create(
        env,
        gitRepository(env, 'no-branch', { url: env.git.url('app'), ref: { branch: 'nope' } }),
      );
      const noBranch = await waitForObject(
        env.client,
        gitPath(env),
        'no-branch',
        (o) => condition(o, 'Ready')?.status === 'False',
        {
          description: 'GitRepository no-branch Ready=False',
        },
      );
      assert.equal(condition(noBranch, 'Ready')?.reason, 'RefNotFound');
      assert.match(condition(noBranch, 'Ready')?.message ?? '', /nope/);
    } finally {
      await secured.stop();
    }
  });

  it('meanwhile the good Kustomization keeps reconciling new commits', async () => {
    const commit = await env.git.commit(
      'app',
      { 'good/cm2.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: good2\n' },
      'more',
    );
    await requestReconcile(env, 'GitRepository', 'app', 'after-bad-input');
    await waitForApplied(env, 'good', commit);
    assert.ok(
      await env.objects.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: env.namespace, name: 'good2' }),
    );
  });
});

// spec.decryption with the real sops: a migration Job's database credentials committed encrypted, for age and for
// OpenPGP keys made here, decrypted by the controller before postBuild substitution; generator env files
// decrypted before the build. Wrong keys, a Secret encrypted for a key that is not there, a missing or unsupported
// key Secret: Ready=False with a clear message and nothing of the stage applied. No plaintext value appears in the
// controller's log (debug level), the events, the statuses, or `sluice build`/`sluice diff` output.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import type { KubeObject } from '../../src/kube/client.ts';
import { ageKey, pgpKey, sopsEncrypt, type AgeKey, type PgpKey } from '../../dev/sops.ts';
import { scratchDir } from '../../dev/fixtures.ts';
import {
  create,
  gitRepository,
  kustomization,
  ksPath,
  recordingLogger,
  useControllerEnv,
  waitForReady,
  waitForRefusal,
} from '../support/controller.ts';
import { runSluice } from '../support/cli.ts';
import { jobManifest } from '../support/manifests.ts';

const plaintexts = [
  'hunter2-age-password',
  'hunter2-pgp-password',
  'hunter2-env-password',
  'hunter2-other-key',
];
const secretRegex = '^(data|stringData)$';
const b64 = (text: string) => Buffer.from(text).toString('base64');
const secret = (name: string, stringData: Record<string, string>) =>
  `apiVersion: v1\nkind: Secret\nmetadata:\n  name: ${name}\ntype: Opaque\nstringData:\n${Object.entries(
    stringData,
  )
    .map(([k, v]) => `  ${k}: ${JSON.stringify(v)}\n`)
    .join('')}`;
const configMap = (name: string) => `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\n`;
// The migration reads its credentials from the Secret the generator makes.
const migrationJob = `${jobManifest({ image: 'example.com/app:1' })}        envFrom:\n        - secretRef:\n            name: db-credentials\n`;

const scratch = await scratchDir('sops-cli');

describe('SOPS decryption (spec.decryption)', () => {
  const controllerLog = recordingLogger();
  // The controller-wide age Secret (Flux's --sops-age-secret) lives in the controller's own namespace.
  const runtimeNamespace = `e2e-sops-runtime-${process.pid}`;
  const env = useControllerEnv('e2e-sops', {
    controller: { log: controllerLog.log, runtimeNamespace, sopsAgeSecret: 'sops-age' },
  });
  let age: AgeKey;
  let otherAge: AgeKey;
  let pgp: PgpKey;
  const files: Record<string, string> = {};

  before(async () => {
    [age, otherAge, pgp] = await Promise.all([ageKey(), ageKey(), pgpKey()]);
    const forAge = { age: [age], format: 'yaml' as const, encryptedRegex: secretRegex };
    Object.assign(files, {
      // ${DB_HOST} is inside the ciphertext: only decryption before substitution fills it in.
      'age/secret.yaml': await sopsEncrypt(
        secret('db-age', { password: plaintexts[0] ?? '', dsn: 'postgres://app@${DB_HOST}/app' }),
        forAge,
      ),
      'pgp/secret.yaml': await sopsEncrypt(secret('db-pgp', { password: plaintexts[1] ?? '' }), {
        pgp: [pgp],
        format: 'yaml',
        encryptedRegex: secretRegex,
      }),
      'generator/kustomization.yaml':
        'resources: [job.yaml]\nsecretGenerator:\n- name: db-credentials\n  envs: [db.env]\ngeneratorOptions:\n  disableNameSuffixHash: true\n',
      'generator/db.env': await sopsEncrypt(`DB_USER=app\nDB_PASSWORD=${plaintexts[2]}\n`, {
        age: [age],
        format: 'dotenv',
      }),
      'generator/job.yaml': migrationJob,
      'other-key/secret.yaml': await sopsEncrypt(secret('db-other', { password: plaintexts[3] ?? '' }), {
        ...forAge,
        age: [otherAge],
      }),
      'other-key/cm.yaml': configMap('beside-other-key'),
      'controller-key/secret.yaml': await sopsEncrypt(
        secret('db-controller-key', { password: plaintexts[3] ?? '' }),
        {
          ...forAge,
          age: [otherAge],
        },
      ),
      'plain/cm.yaml': configMap('beside-bad-keys'),
    });
    await env.git.createRepo('app', files);
    const keySecret = (name: string, data: Record<string, string>) =>
      env.objects.apply(
        { apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace: env.namespace }, data },
        { fieldManager: 'e2e-test' },
      );
    await keySecret('sops-keys', { 'age.agekey': b64(age.identity), 'pgp.asc': b64(pgp.armored) });
    await keySecret('bad-keys', { 'broken.agekey': b64('AGE-SECRET-KEY-1\nnot a key\n') });
    await keySecret('kms-keys', { 'sops.aws-kms': b64('aws_access_key_id: AKIA\n') });
    await env.client.create('/api/v1/namespaces', {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: runtimeNamespace, labels: { 'sluice.dev/e2e': 'true' } },
    });
    await env.objects.apply(
      {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: 'sops-age', namespace: runtimeNamespace },
        data: { 'other.agekey': b64(otherAge.identity) },
      },
      { fieldManager: 'e2e-test' },
    );
    await create(env, gitRepository(env, 'app'));
  });
  after(async () => {
    await env.objects
      ?.delete({ apiVersion: 'v1', kind: 'Namespace', name: runtimeNamespace })
      .catch(() => undefined);
    await pgp?.remove();
    await scratch.remove();
  });

  const decryption = (secretName: string) => ({
    decryption: { provider: 'sops', secretRef: { name: secretName } },
  });
  const live = (kind: string, name: string) =>
    env.objects.get({ apiVersion: kind === 'Job' ? 'batch/v1' : 'v1', kind, namespace: env.namespace, name });
  const data = (object: KubeObject | undefined) =>
    Object.fromEntries(
      Object.entries((object?.['data'] ?? {}) as Record<string, string>).map(([k, v]) => [
        k,
        Buffer.from(v, 'base64').toString(),
      ]),
    );

  it('applies a Secret encrypted for age, decrypted before postBuild substitution', async () => {
    await create(
      env,
      kustomization(env, 'age', {
        path: './age',
        ...decryption('sops-keys'),
        postBuild: { substitute: { DB_HOST: 'db.internal' } },
      }),
    );
    await waitForReady(env, 'age', 'True', 'ReconciliationSucceeded');
    const applied = await live('Secret', 'db-age');
    assert.deepEqual(data(applied), { password: plaintexts[0], dsn: 'postgres://app@db.internal/app' });
    assert.equal(applied?.['sops'], undefined);
  });

  it('applies a Secret encrypted for an OpenPGP key', async () => {
    await create(env, kustomization(env, 'pgp', { path: './pgp', ...decryption('sops-keys') }));
    await waitForReady(env, 'pgp', 'True', 'ReconciliationSucceeded');
    assert.deepEqual(data(await live('Secret', 'db-pgp')), { password: plaintexts[1] });
  });

  it('without a secretRef, decrypts with the controller-wide age Secret (--sops-age-secret)', async () => {
    await create(
      env,
      kustomization(env, 'controller-key', { path: './controller-key', decryption: { provider: 'sops' } }),
    );
    await waitForReady(env, 'controller-key', 'True', 'ReconciliationSucceeded');
    assert.deepEqual(data(await live('Secret', 'db-controller-key')), { password: plaintexts[3] });
  });

  it('decrypts an encrypted env file before kustomize generates the migration Job’s Secret from it', async () => {
    await create(env, kustomization(env, 'generator', { path: './generator', ...decryption('sops-keys') }));
    await waitForReady(env, 'generator', 'True', 'ReconciliationSucceeded');
    assert.deepEqual(data(await live('Secret', 'db-credentials')), {
      DB_USER: 'app',
      DB_PASSWORD: plaintexts[2],
    });
    assert.ok(await live('Job', 'db-migration'), 'the migration Job is applied beside its Secret');
  });

  const refused: { name: string; spec: Record<string, unknown>; message: RegExp; notCreated: string }[] = [
    {
      name: 'other-key',
      spec: { path: './other-key', ...decryption('sops-keys') },
      message:
        /^decryption failed for Secret\/db-other: failed to decrypt and format its data: Failed to get the data key required to decrypt the SOPS file\..*age1/,
      notCreated: 'beside-other-key',
    },
    {
      name: 'bad-keys',
      spec: { path: './plain', ...decryption('bad-keys') },
      message:
        /^failed to import 'broken\.agekey' data from sops decryption Secret '[^']+\/bad-keys': line 1 is not an age identity/,
      notCreated: 'beside-bad-keys',
    },
    {
      name: 'missing-keys',
      spec: { path: './plain', ...decryption('no-such-secret') },
      message:
        /^cannot get sops decryption Secret '[^']+\/no-such-secret': secrets "no-such-secret" not found$/,
      notCreated: 'beside-bad-keys',
    },
    {
      name: 'kms-keys',
      spec: { path: './plain', ...decryption('kms-keys') },
      message:
        /has 'sops\.aws-kms': AWS KMS is not supported by sluice; use age \(\*\.agekey entries\) and OpenPGP \(\*\.asc entries\)$/,
      notCreated: 'beside-bad-keys',
    },
  ];
  for (const c of refused) {
    it(`${c.name}: Ready=False BuildFailed with a clear message, a Warning event, nothing applied`, async () => {
      await create(env, kustomization(env, c.name, c.spec));
      await waitForRefusal(env, c.name, 'BuildFailed', c.message);
      assert.equal(await live('ConfigMap', c.notCreated), undefined, `${c.notCreated} must not be applied`);
    });
  }

  it('sluice build and sluice diff decrypt with the cluster’s keys and show no value', async () => {
    const dir = path.join(await scratch.tree(files), 'age');
    const [build, diff] = await Promise.all(
      ['build', 'diff'].map((verb) => runSluice([verb, 'ks', 'age', '-n', env.namespace, '--path', dir])),
    );
    assert.equal(build?.code, 0, build?.stderr);
    assert.match(build?.stdout ?? '', /kind: Secret/);
    assert.doesNotMatch(build?.stdout ?? '', /sops:|ENC\[/);
    assert.equal(diff?.code, 0, `${diff?.stdout}\n${diff?.stderr}`);
    for (const output of [build?.stdout, build?.stderr, diff?.stdout, diff?.stderr].map(String)) {
      for (const value of plaintexts) assert.ok(!output.includes(value), `${value} shown in ${output}`);
    }
  });

  it('no plaintext value in the controller’s log, the events or the statuses', async () => {
    const events = await env.client.get<{ items: KubeObject[] }>(
      `/api/v1/namespaces/${env.namespace}/events`,
    );
    const statuses = await env.client.get<{ items: KubeObject[] }>(ksPath(env));
    const haystacks = {
      'the controller log': controllerLog.lines.join(''),
      'the events': JSON.stringify(events.items),
      'the Kustomizations': JSON.stringify(statuses.items),
    };
    assert.ok(controllerLog.lines.length > 0, 'the controller logged');
    for (const [where, text] of Object.entries(haystacks)) {
      for (const value of plaintexts) assert.ok(!text.includes(value), `${value} found in ${where}`);
    }
  });
});

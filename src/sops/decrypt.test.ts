// Runs the real sops (from SLUICE_SOPS, PATH or the local build cache: `npm run cluster:build`) with keys made by
// age-keygen and gpg.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { KubeObject } from '../kube/client.ts';
import { scratchDir } from '../../dev/fixtures.ts';
import { ageKey, pgpKey, sopsEncrypt, type AgeKey, type PgpKey } from '../../dev/sops.ts';
import { parseManifests } from '../kustomize/yaml.ts';
import { kustomizeBuild } from '../kustomize/build.ts';
import { decryptionKeys } from './keys.ts';
import { SopsDecryptor } from './sops.ts';
import { decryptObjects, decryptSources } from './decrypt.ts';

const scratch = await scratchDir('sops');
const secretYaml = `apiVersion: v1
kind: Secret
metadata:
  name: db
type: Opaque
stringData:
  password: hunter2-plaintext
`;
const secretRegex = '^(data|stringData)$';
const b64 = (text: string) => Buffer.from(text).toString('base64');

let age: AgeKey;
let otherAge: AgeKey;
let pgp: PgpKey;
before(async () => {
  [age, otherAge, pgp] = await Promise.all([ageKey(), ageKey(), pgpKey()]);
});
after(async () => {
  await pgp?.remove();
  await scratch.remove();
});

async function withDecryptor<T>(
  data: Record<string, string>,
  use: (d: SopsDecryptor) => Promise<T>,
): Promise<T> {
  const decryptor = await SopsDecryptor.open(decryptionKeys('apps/sops-keys', data));
  try {
    return await use(decryptor);
  } finally {
    await decryptor.close();
  }
}

describe('decryption keys', () => {
  it('reads age identities from *.agekey and OpenPGP keys from *.asc, and ignores other entries', () => {
    const keys = decryptionKeys('apps/k', {
      'a.agekey': b64(age.identity),
      'b.agekey': b64(`# comment\n${otherAge.identity}`),
      'key.asc': b64(pgp.armored),
      README: b64('not a key'),
    });
    assert.equal(keys.age.length, 2);
    assert.match(keys.age[0] ?? '', /^AGE-SECRET-KEY-1/);
    assert.equal(keys.pgp.length, 1);
    // An OpenPGP secret-key packet starts with a packet tag byte with its high bit set.
    assert.ok(((keys.pgp[0]?.[0] ?? 0) & 0x80) !== 0);
  });

  it('names the entry and the Secret of a malformed key', () => {
    assert.throws(() => decryptionKeys('apps/k', { 'x.agekey': b64('age1notasecret') }), {
      message:
        "failed to import 'x.agekey' data from sops decryption Secret 'apps/k': line 1 is not an age identity (AGE-SECRET-KEY-1…)",
    });
    assert.throws(
      () => decryptionKeys('apps/k', { 'x.asc': b64('-----BEGIN PGP PUBLIC KEY BLOCK-----\n') }),
      {
        message:
          "failed to import 'x.asc' data from sops decryption Secret 'apps/k': not an armored OpenPGP private key (-----BEGIN PGP PRIVATE KEY BLOCK-----)",
      },
    );
  });

  it('refuses the key services sluice does not talk to, saying what it takes', () => {
    assert.throws(() => decryptionKeys('apps/k', { 'sops.aws-kms': b64('aws_access_key_id: x') }), {
      message:
        "sops decryption Secret 'apps/k' has 'sops.aws-kms': AWS KMS is not supported by sluice; use age (*.agekey entries) and OpenPGP (*.asc entries)",
    });
  });
});

describe('decrypting built objects', () => {
  it('decrypts a Secret encrypted for age, and one for OpenPGP, leaving no sops metadata', async () => {
    const forAge = parseManifests(
      await sopsEncrypt(secretYaml, { age: [age], format: 'yaml', encryptedRegex: secretRegex }),
      'age',
    );
    const forPgp = parseManifests(
      await sopsEncrypt(secretYaml, { pgp: [pgp], format: 'yaml', encryptedRegex: secretRegex }),
      'pgp',
    );
    // kustomize sets the namespace after encryption: the MAC no longer matches, and is not checked.
    const built = [...forAge, ...forPgp].map((o) => ({
      ...o,
      metadata: { ...o.metadata, namespace: 'apps' },
    }));
    const decrypted = await withDecryptor(
      { 'age.agekey': b64(age.identity), 'pgp.asc': b64(pgp.armored) },
      (d) => decryptObjects(d, built),
    );
    for (const object of decrypted) {
      assert.deepEqual(object['stringData'], { password: 'hunter2-plaintext' });
      assert.equal(object['sops'], undefined);
      assert.equal(object.metadata?.namespace, 'apps');
    }
  });

  it('fails with sops’s reason, and no plaintext, for a Secret encrypted for a key it does not have', async () => {
    const [secret] = parseManifests(
      await sopsEncrypt(secretYaml, { age: [otherAge], format: 'yaml', encryptedRegex: secretRegex }),
      'x',
    );
    await assert.rejects(
      withDecryptor({ 'age.agekey': b64(age.identity) }, (d) => decryptObjects(d, [secret as KubeObject])),
      (error: Error) => {
        assert.match(
          error.message,
          /^Secret\/db: failed to decrypt and format its data: .*Failed to get the data key required to decrypt the SOPS file/,
        );
        assert.ok(error.message.includes(otherAge.recipient), error.message);
        assert.ok(!error.message.includes('hunter2'), error.message);
        return true;
      },
    );
  });

  it('leaves an object marked kustomize.toolkit.fluxcd.io/decrypt: disabled as it was built', async () => {
    const [secret] = parseManifests(
      await sopsEncrypt(secretYaml, { age: [age], format: 'yaml', encryptedRegex: secretRegex }),
      'x',
    );
    const marked = {
      ...secret,
      metadata: { ...secret?.metadata, annotations: { 'kustomize.toolkit.fluxcd.io/decrypt': 'Disabled' } },
    } as KubeObject;
    const [out] = await withDecryptor({ 'age.agekey': b64(age.identity) }, (d) =>
      decryptObjects(d, [marked]),
    );
    assert.ok(out?.['sops']);
  });
});

describe('decrypting generator sources before the build', () => {
  it('decrypts secretGenerator env and files entries in place, then kustomize generates the plaintext', async () => {
    const envFile = await sopsEncrypt('DB_PASSWORD=s3cret-env\nDB_USER=app\n', {
      age: [age],
      format: 'dotenv',
    });
    const jsonFile = await sopsEncrypt('{"token": "s3cret-json"}', { age: [age], format: 'json' });
    const dir = await scratch.tree({
      'app/kustomization.yaml': 'resources: [../base]\n',
      'base/kustomization.yaml': `secretGenerator:
- name: creds
  envs: [db.env]
  files: [config.json=secret.enc.json]
generatorOptions:
  disableNameSuffixHash: true
`,
      'base/db.env': envFile,
      'base/secret.enc.json': jsonFile,
    });
    await withDecryptor({ 'age.agekey': b64(age.identity) }, (d) => decryptSources(d, join(dir, 'app'), dir));
    assert.equal(await readFile(join(dir, 'base/db.env'), 'utf8'), 'DB_PASSWORD=s3cret-env\nDB_USER=app\n');
    const [secret] = await kustomizeBuild(join(dir, 'app'), { root: dir });
    const data = secret?.['data'] as Record<string, string>;
    assert.equal(Buffer.from(data['DB_PASSWORD'] ?? '', 'base64').toString(), 's3cret-env');
    assert.deepEqual(JSON.parse(Buffer.from(data['config.json'] ?? '', 'base64').toString()), {
      token: 's3cret-json',
    });
  });

  it('decrypts a Secret data value that is an encrypted file, in the format its key names', async () => {
    const yamlFile = await sopsEncrypt('user: app\npassword: s3cret-yaml\n', { age: [age], format: 'yaml' });
    const secret: KubeObject = {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 's', namespace: 'apps' },
      data: { 'app.yaml': b64(yamlFile), plain: b64('as is') },
    };
    const [out] = await withDecryptor({ 'age.agekey': b64(age.identity) }, (d) =>
      decryptObjects(d, [secret]),
    );
    const data = out?.['data'] as Record<string, string>;
    assert.match(
      Buffer.from(data['app.yaml'] ?? '', 'base64').toString(),
      /^user: app\npassword: s3cret-yaml\n$/,
    );
    assert.equal(data['plain'], b64('as is'));
  });

  it('refuses a generator file that leads outside the artifact through a symlink', async () => {
    const outside = await scratch.tree({ 'db.env': 'A=1\n' });
    const dir = await scratch.tree({
      'kustomization.yaml': 'secretGenerator:\n- name: x\n  envs: [db.env]\n',
    });
    await symlink(join(outside, 'db.env'), join(dir, 'db.env'));
    await assert.rejects(
      withDecryptor({}, (d) => decryptSources(d, dir, dir)),
      { message: "'db.env' in . leads outside the artifact" },
    );
  });
});

// Keys and SOPS-encrypted files for the tests, made the way a user makes them: age-keygen for age keys, gpg for
// OpenPGP keys (in a throwaway GnuPG home whose agent is stopped afterwards), and the real sops to encrypt.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { findExecutable } from '../src/runtime/executables.ts';
import { sopsVersion, type SopsFormat } from '../src/sops/sops.ts';

const execFileAsync = promisify(execFile);

/** age's release in dev/cluster/versions.sh (its tools are built beside sops). */
const ageVersion = 'v1.3.2';

export interface AgeKey {
  /** The key file's content, as `age-keygen` writes it: the Secret's `*.agekey` entry. */
  identity: string;
  recipient: string;
}

export interface PgpKey {
  /** The armored private key: the Secret's `*.asc` entry. */
  armored: string;
  fingerprint: string;
  /** The GnuPG home holding the key, for sops to encrypt with; removed by `remove()`. */
  home: string;
  remove(): Promise<void>;
}

export async function ageKey(): Promise<AgeKey> {
  const keygen = await findExecutable({
    name: 'age-keygen',
    version: ageVersion,
    env: 'SLUICE_AGE_KEYGEN',
    cacheName: 'age',
  });
  const { stdout } = await execFileAsync(keygen, []);
  const recipient = /public key: (age1[0-9a-z]+)/.exec(stdout)?.[1];
  if (!recipient) throw new Error(`age-keygen printed no public key: ${stdout.split('\n')[0]}`);
  return { identity: stdout, recipient };
}

/** A new OpenPGP key without a passphrase, in a GnuPG home of its own. */
export async function pgpKey(): Promise<PgpKey> {
  const home = await mkdtemp(path.join(tmpdir(), 'sluice-gpg-'));
  const gpg = (...args: string[]) => execFileAsync('gpg', ['--homedir', home, '--batch', ...args]);
  try {
    await gpg(
      '--passphrase',
      '',
      '--quick-gen-key',
      'sluice test <test@sluice.invalid>',
      'rsa2048',
      'encrypt,sign',
      'never',
    );
    const { stdout: listed } = await gpg('--with-colons', '--list-keys');
    const fingerprint = /^fpr:+([0-9A-F]{40}):/m.exec(listed)?.[1];
    if (!fingerprint) throw new Error('gpg listed no fingerprint for the key it made');
    const { stdout: armored } = await gpg('--armor', '--export-secret-keys', fingerprint);
    // sops encrypts through gpg: let it use this home. The agent it started goes with `remove()`.
    return {
      armored,
      fingerprint,
      home,
      async remove() {
        await execFileAsync('gpgconf', ['--homedir', home, '--kill', 'gpg-agent']).catch(() => undefined);
        await rm(home, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await execFileAsync('gpgconf', ['--homedir', home, '--kill', 'gpg-agent']).catch(() => undefined);
    await rm(home, { recursive: true, force: true });
    throw error;
  }
}

export interface EncryptOptions {
  age?: AgeKey[];
  pgp?: PgpKey[];
  format: SopsFormat;
  /** sops --encrypted-regex, e.g. `^(data|stringData)$` for a Secret. */
  encryptedRegex?: string;
}

/** `plaintext` encrypted by the real sops for the given keys. */
export async function sopsEncrypt(plaintext: string, options: EncryptOptions): Promise<string> {
  const sops = await findExecutable({ name: 'sops', version: sopsVersion, env: 'SLUICE_SOPS' });
  const dir = await mkdtemp(path.join(tmpdir(), 'sluice-sops-encrypt-'));
  try {
    const input = path.join(dir, 'plain');
    await writeFile(input, plaintext);
    const args = ['encrypt', '--input-type', options.format, '--output-type', options.format];
    if (options.age?.length) args.push('--age', options.age.map((k) => k.recipient).join(','));
    if (options.pgp?.length) args.push('--pgp', options.pgp.map((k) => k.fingerprint).join(','));
    if (options.encryptedRegex) args.push('--encrypted-regex', options.encryptedRegex);
    args.push('--output', path.join(dir, 'encrypted'), input);
    const gnupgHome = options.pgp?.[0]?.home;
    await execFileAsync(sops, args, {
      env: { PATH: process.env.PATH, HOME: dir, ...(gnupgHome ? { GNUPGHOME: gnupgHome } : {}) },
    });
    return await readFile(path.join(dir, 'encrypted'), 'utf8');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

// The keys a Kustomization's spec.decryption.secretRef names, read as Flux reads them: every `*.agekey` entry
// holds age identities, every `*.asc` entry an armored OpenPGP private key (without a passphrase). The cloud
// key services Flux also takes are refused by name; any other entry is ignored, as in Flux.

/** Decryption keys, kept in memory only: age identities and OpenPGP secret keys (binary packets). */
export interface DecryptionKeys {
  age: string[];
  pgp: Buffer[];
}

/** The entries Flux reads for a key service sluice does not talk to, and what they are. */
const keyServices: Record<string, string> = {
  'sops.vault-token': 'HashiCorp Vault / OpenBao',
  'sops.aws-kms': 'AWS KMS',
  'sops.azure-kv': 'Azure Key Vault',
  'sops.gcp-kms': 'GCP KMS',
};

/** The supported kinds of key, as a user would write them into the Secret. */
export const supportedKeys = 'age (*.agekey entries) and OpenPGP (*.asc entries)';

/** The keys in a Secret's `data` (base64 values); `secret` is `namespace/name`, for errors. */
export function decryptionKeys(
  secret: string,
  data: Record<string, string>,
  label = 'sops decryption Secret',
): DecryptionKeys {
  const keys: DecryptionKeys = { age: [], pgp: [] };
  for (const [entry, encoded] of Object.entries(data)) {
    const value = Buffer.from(encoded, 'base64').toString('utf8');
    const service = keyServices[entry];
    if (service) {
      throw new Error(
        `${label} '${secret}' has '${entry}': ${service} is not supported by sluice; use ${supportedKeys}`,
      );
    }
    try {
      if (entry.endsWith('.agekey')) keys.age.push(...ageIdentities(value));
      else if (entry.endsWith('.asc')) keys.pgp.push(dearmorPrivateKey(value));
    } catch (error) {
      throw new Error(
        `failed to import '${entry}' data from ${label} '${secret}': ${(error as Error).message}`,
        { cause: error },
      );
    }
  }
  return keys;
}

/** The identity lines of an age key file (comments and blank lines aside), each checked for its prefix. */
function ageIdentities(text: string): string[] {
  const lines = text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
  if (lines.length === 0) throw new Error('no age identity in it');
  for (const [i, line] of lines.entries()) {
    if (!/^AGE-SECRET-KEY-1[0-9A-Z]+$/.test(line)) {
      throw new Error(`line ${i + 1} is not an age identity (AGE-SECRET-KEY-1…)`);
    }
  }
  return lines;
}

/**
 * The packets of an ASCII-armored OpenPGP private key block (RFC 4880 §6.2: base64 between the armor lines,
 * after the header lines and before the checksum line). Written here because it is an encoding, not
 * cryptography: sops reads the packets and checks them.
 */
function dearmorPrivateKey(text: string): Buffer {
  const lines = text.split(/\r?\n/).map((line) => line.trim());
  const begin = lines.indexOf('-----BEGIN PGP PRIVATE KEY BLOCK-----');
  const end = lines.indexOf('-----END PGP PRIVATE KEY BLOCK-----');
  if (begin < 0 || end < begin) {
    throw new Error('not an armored OpenPGP private key (-----BEGIN PGP PRIVATE KEY BLOCK-----)');
  }
  let body = lines.slice(begin + 1, end);
  const blank = body.indexOf('');
  if (blank >= 0 && body.slice(0, blank).every((line) => line.includes(': '))) body = body.slice(blank + 1);
  const base64 = body.filter((line) => line !== '' && !line.startsWith('=')).join('');
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(base64)) throw new Error('its armored body is not base64');
  return Buffer.from(base64, 'base64');
}

// Decrypts SOPS documents with the real sops binary. The keys reach it only through its environment and a
// private temporary directory: age identities in SOPS_AGE_KEY, OpenPGP keys as the secring.gpg that sops reads
// itself (so no gpg-agent is started). Nothing of the controller's own environment, home or ssh keys reaches it.
import { spawn } from 'node:child_process';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { findExecutable } from '../runtime/executables.ts';
import type { DecryptionKeys } from './keys.ts';

/** The sops release the tests run and the image ships; keep in step with dev/cluster/versions.sh. */
export const sopsVersion = 'v3.13.3';

/** The document formats sops reads and writes. */
export type SopsFormat = 'yaml' | 'json' | 'dotenv' | 'ini' | 'binary';

const timeoutMs = 60_000;
const maxOutputBytes = 16 * 1024 * 1024;

/** sops's own choice of format for a file name (`formats.FormatForPath`). */
export function formatForPath(name: string): SopsFormat {
  if (name.endsWith('.dockerconfigjson') || name.endsWith('.json')) return 'json';
  if (name.endsWith('.yaml') || name.endsWith('.yml')) return 'yaml';
  if (name.endsWith('.env')) return 'dotenv';
  if (name.endsWith('.ini')) return 'ini';
  return 'binary';
}

// What sops writes into every document it encrypts, per format (binary files are wrapped in JSON).
const macMarkers: Record<SopsFormat, string> = {
  yaml: 'mac: ENC[',
  json: '"mac": "ENC[',
  binary: '"mac": "ENC[',
  dotenv: 'sops_mac=ENC[',
  ini: '[sops]',
};

/** Whether `content` is a document sops encrypted in `format`. */
export function isEncryptedAs(content: Buffer, format: SopsFormat): boolean {
  return content.includes(macMarkers[format]);
}

/** The format a SOPS-encrypted document is in, read from its MAC marker; undefined when it is not encrypted. */
export function encryptedFormat(content: Buffer): SopsFormat | undefined {
  return (['yaml', 'json', 'dotenv', 'ini'] as const).find((format) => isEncryptedAs(content, format));
}

export class SopsDecryptor {
  private readonly binary: string;
  private readonly home: string;
  private readonly ageKeys: string;
  private readonly signal: AbortSignal | undefined;

  private constructor(binary: string, home: string, keys: DecryptionKeys, signal?: AbortSignal) {
    this.binary = binary;
    this.home = home;
    this.ageKeys = keys.age.join('\n');
    this.signal = signal;
  }

  /** A decryptor holding `keys`; `close()` removes what it wrote. */
  static async open(
    keys: DecryptionKeys,
    options: { sopsBinary?: string; signal?: AbortSignal } = {},
  ): Promise<SopsDecryptor> {
    const binary = await findExecutable(
      { name: 'sops', version: sopsVersion, env: 'SLUICE_SOPS' },
      options.sopsBinary,
    );
    const home = await mkdtemp(path.join(tmpdir(), 'sluice-sops-'));
    try {
      await chmod(home, 0o700);
      if (keys.pgp.length > 0) {
        await writeFile(path.join(home, 'secring.gpg'), Buffer.concat(keys.pgp), { mode: 0o600 });
      }
    } catch (error) {
      await rm(home, { recursive: true, force: true });
      throw error;
    }
    return new SopsDecryptor(binary, home, keys, options.signal);
  }

  async close(): Promise<void> {
    await rm(this.home, { recursive: true, force: true });
  }

  /**
   * The plaintext of a SOPS document in `input` format, written out as `output` (default: the same);
   * `ignoreMac` for a document changed since it was encrypted.
   */
  async decrypt(
    content: Buffer,
    input: SopsFormat,
    output: SopsFormat = input,
    options: { ignoreMac?: boolean } = {},
  ): Promise<Buffer> {
    const args = ['decrypt', '--input-type', input, '--output-type', output];
    if (options.ignoreMac) args.push('--ignore-mac');
    // No file name: sops reads the document from standard input.
    const env = {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: this.home,
      GNUPGHOME: this.home,
      SOPS_AGE_KEY: this.ageKeys,
      // The in-process OpenPGP reader is enough for keys without a passphrase; gpg would start an agent.
      SOPS_GPG_EXEC: 'false',
    };
    const { code, stdout, stderr } = await run(this.binary, args, env, content, this.signal);
    if (code !== 0) throw new Error(sopsError(stderr, code));
    return stdout;
  }
}

/** sops's message in one line, with any input echoed back redacted as Flux does. */
function sopsError(stderr: string, code: number | string): string {
  const text = stderr
    .split('\n')
    .map((line) => line.trim().replace(/^\| ?/, ''))
    .filter((line) => line !== '')
    .join(' ')
    .replace(
      /Input string .* does not match sops' data format/g,
      "Input string <redacted> does not match sops' data format",
    );
  return text || `sops exited with ${code}`;
}

function run(
  binary: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  input: Buffer,
  signal: AbortSignal | undefined,
): Promise<{ code: number | string; stdout: Buffer; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(binary, args, { env, stdio: ['pipe', 'pipe', 'pipe'], signal, timeout: timeoutMs });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let size = 0;
    child.stdout.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxOutputBytes) child.kill('SIGKILL');
      else out.push(chunk);
    });
    child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
    child.on('error', (error) =>
      reject(new Error(`cannot run ${binary}: ${error.message}`, { cause: error })),
    );
    child.on('close', (code, killedBy) => {
      if (size > maxOutputBytes) reject(new Error(`sops output exceeds ${maxOutputBytes} bytes`));
      else
        resolve({
          code: code ?? killedBy ?? 'a signal',
          stdout: Buffer.concat(out),
          stderr: Buffer.concat(err).toString(),
        });
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(input);
  });
}

// Turns a GitRepository URL and its Secret's data into what the git CLI needs, without ever putting a
// credential in the URL or in argv: HTTP headers go in GIT_CONFIG_* environment variables, keys and
// certificates in 0600 files inside a private directory the caller creates and removes.
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { GitError, redact } from './errors.ts';

/** A Secret's data, already base64-decoded: `username`/`password`, `bearerToken`, `ca.crt`, `identity`, ... */
export type GitCredentials = Record<string, Buffer | string>;

export interface GitTransport {
  /** The URL handed to git: user info removed for http(s), `git@` filled in for ssh. */
  url: string;
  /** The URL for messages: no password, and no user info for http(s). */
  displayUrl: string;
  /** Environment for every git command of this session (config entries, GIT_SSH_COMMAND). */
  env: Record<string, string>;
  /** Every credential value, so that git's stderr can be redacted before it is shown. */
  secrets: string[];
}

const supportedSchemes = new Set(['http:', 'https:', 'ssh:']);

/** Flux uses "git" when an ssh:// URL names no user, the convention of every Git host. */
const defaultSshUser = 'git';

/**
 * Validates the URL and prepares authentication for it. `privateDir` must be a fresh 0700 directory; key,
 * known_hosts and CA files are written there.
 */
export async function prepareTransport(
  rawUrl: string,
  credentials: GitCredentials | undefined,
  privateDir: string,
): Promise<GitTransport> {
  const parsed = parseRepositoryUrl(rawUrl);
  const data = credentials ?? {};
  if (parsed.protocol === 'ssh:') return prepareSsh(parsed, data, privateDir);
  return prepareHttp(parsed, data, privateDir);
}

function parseRepositoryUrl(rawUrl: string): URL {
  let parsed: URL;
  try {
    parsed = new URL(rawUrl);
  } catch {
    const shown = redact(rawUrl, []);
    throw new GitError('URLInvalid', `failed to parse url '${shown}': not an absolute URL`, shown);
  }
  const shown = displayUrlOf(parsed);
  if (!supportedSchemes.has(parsed.protocol)) {
    throw new GitError(
      'URLInvalid',
      `unsupported URL scheme '${parsed.protocol.slice(0, -1)}' in '${shown}': use http, https or ssh`,
      shown,
    );
  }
  if (parsed.hostname === '') {
    throw new GitError('URLInvalid', `invalid url '${shown}': no host`, shown);
  }
  return parsed;
}

function displayUrlOf(parsed: URL): string {
  const shown = new URL(parsed.href);
  shown.password = '';
  if (parsed.protocol !== 'ssh:') shown.username = '';
  return shown.href;
}

function decodeUserInfo(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

function text(data: GitCredentials, key: string): string | undefined {
  const value = data[key];
  if (value === undefined) return undefined;
  return typeof value === 'string' ? value : value.toString('utf8');
}

function bytes(data: GitCredentials, key: string): Buffer | undefined {
  const value = data[key];
  if (value === undefined || value.length === 0) return undefined;
  return typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
}

function authError(transport: string, why: string, url: string): GitError {
  return new GitError(
    'AuthenticationFailed',
    `failed to configure authentication options: invalid '${transport}' auth option: ${why}`,
    url,
  );
}

/** git reads these as `-c key=value` entries, but they stay out of the process list. */
function configEnv(entries: [string, string][]): Record<string, string> {
  const env: Record<string, string> = { GIT_CONFIG_COUNT: String(entries.length) };
  entries.forEach(([key, value], i) => {
    env[`GIT_CONFIG_KEY_${i}`] = key;
    env[`GIT_CONFIG_VALUE_${i}`] = value;
  });
  return env;
}

async function writePrivate(file: string, content: Buffer | string, mode = 0o600): Promise<void> {
  await writeFile(file, content, { mode, flag: 'wx' });
}

async function prepareHttp(parsed: URL, data: GitCredentials, privateDir: string): Promise<GitTransport> {
  const transport = parsed.protocol.slice(0, -1);
  const displayUrl = displayUrlOf(parsed);
  const urlUser = decodeUserInfo(parsed.username);
  const urlPassword = decodeUserInfo(parsed.password);
  const secrets = [parsed.password, urlPassword];
  const config: [string, string][] = [];
  // Scoped to the repository's scheme, host and port: a submodule or redirect elsewhere is sent no credentials.
  const extraHeader = `http.${parsed.protocol}//${parsed.host}/.extraHeader`;

  const bearerToken = text(data, 'bearerToken');
  if (bearerToken !== undefined) {
    if (/[\r\n]/.test(bearerToken)) {
      throw authError(transport, "'bearerToken' contains a line break", displayUrl);
    }
    const header = `Authorization: Bearer ${bearerToken}`;
    config.push([extraHeader, header]);
    secrets.push(bearerToken, header);
  } else {
    // The Secret's values win over user info in the URL, as in Flux.
    const username = text(data, 'username') || urlUser;
    const password = text(data, 'password') || urlPassword;
    if (username === '' && password !== '') {
      throw authError(transport, "'password' requires 'username' to be set", displayUrl);
    }
    if (username !== '') {
      const basic = Buffer.from(`${username}:${password}`, 'utf8').toString('base64');
      config.push([extraHeader, `Authorization: Basic ${basic}`]);
      secrets.push(password, basic);
    }
  }

  const ca = bytes(data, 'ca.crt') ?? bytes(data, 'caFile');
  if (ca) {
    const caFile = path.join(privateDir, 'ca.crt');
    await writePrivate(caFile, ca);
    config.push(['http.sslCAInfo', caFile]);
  }
  const cert = bytes(data, 'tls.crt');
  const key = bytes(data, 'tls.key');
  if (cert || key) {
    if (!cert || !key) throw authError(transport, "'tls.crt' and 'tls.key' must be set together", displayUrl);
    const certFile = path.join(privateDir, 'tls.crt');
    const keyFile = path.join(privateDir, 'tls.key');
    await writePrivate(certFile, cert);
    await writePrivate(keyFile, key);
    config.push(['http.sslCert', certFile], ['http.sslKey', keyFile]);
    secrets.push(key.toString('utf8'));
  }

  const url = new URL(parsed.href);
  url.username = '';
  url.password = '';
  return { url: url.href, displayUrl, env: config.length > 0 ? configEnv(config) : {}, secrets };
}

/** Quotes a value for the POSIX shell git runs GIT_SSH_COMMAND with. */
function shellQuote(value: string): string {
  return `'${value.replaceAll("'", `'\\''`)}'`;
}

async function prepareSsh(parsed: URL, data: GitCredentials, privateDir: string): Promise<GitTransport> {
  const url = new URL(parsed.href);
  url.password = '';
  if (url.username === '') url.username = defaultSshUser;
  const displayUrl = url.href;

  const identity = bytes(data, 'identity');
  const knownHosts = bytes(data, 'known_hosts');
  if (!identity) throw authError('ssh', "'identity' is required", displayUrl);
  if (!knownHosts) throw authError('ssh', "'known_hosts' is required", displayUrl);

  const keyFile = path.join(privateDir, 'identity');
  const knownHostsFile = path.join(privateDir, 'known_hosts');
  // OpenSSH rejects a private key file whose last line has no newline.
  await writePrivate(
    keyFile,
    identity.at(-1) === 0x0a ? identity : Buffer.concat([identity, Buffer.from('\n')]),
  );
  await writePrivate(knownHostsFile, knownHosts);

  const passphrase = text(data, 'password');
  const options = [
    '-F /dev/null',
    `-i ${shellQuote(keyFile)}`,
    `-o UserKnownHostsFile=${shellQuote(knownHostsFile)}`,
    '-o GlobalKnownHostsFile=/dev/null',
    '-o StrictHostKeyChecking=yes',
    '-o IdentitiesOnly=yes',
    '-o IdentityAgent=none',
    '-o PasswordAuthentication=no',
    '-o KbdInteractiveAuthentication=no',
  ];
  const env: Record<string, string> = {};
  const secrets = [identity.toString('utf8')];
  if (passphrase) {
    // ssh reads a key passphrase only from a terminal or an askpass program; this one prints a 0600 file.
    const passphraseFile = path.join(privateDir, 'passphrase');
    const askpass = path.join(privateDir, 'askpass.sh');
    await writePrivate(passphraseFile, passphrase);
    await writePrivate(askpass, `#!/bin/sh\nexec cat ${shellQuote(passphraseFile)}\n`, 0o700);
    env.SSH_ASKPASS = askpass;
    env.SSH_ASKPASS_REQUIRE = 'force';
    secrets.push(passphrase);
  } else {
    options.push('-o BatchMode=yes');
  }
  env.GIT_SSH_COMMAND = `ssh ${options.join(' ')}`;
  env.GIT_SSH_VARIANT = 'ssh';
  return { url: url.href, displayUrl, env, secrets };
}

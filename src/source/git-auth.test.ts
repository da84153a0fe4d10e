import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { GitError, redact } from './errors.ts';
import { prepareTransport } from './git-auth.ts';
import { lsRemote } from './git.ts';

let scratch: string;
let counter = 0;
async function privateDir(): Promise<string> {
  return mkdtemp(path.join(scratch, `private-${++counter}-`));
}

before(async () => {
  scratch = await mkdtemp(path.join(tmpdir(), 'sluice-git-auth-'));
});
after(async () => {
  await rm(scratch, { recursive: true, force: true });
});

const identity = '-----BEGIN OPENSSH PRIVATE KEY-----\nnot-a-real-key\n-----END OPENSSH PRIVATE KEY-----';
const knownHosts =
  'github.com ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl\n';

describe('prepareTransport over ssh', () => {
  it('writes the key and known_hosts as 0600 files and pins them in GIT_SSH_COMMAND', async () => {
    const dir = await privateDir();
    const transport = await prepareTransport(
      'ssh://github.com/org/repo.git',
      { identity, known_hosts: knownHosts },
      dir,
    );
    assert.equal(transport.url, 'ssh://git@github.com/org/repo.git');
    assert.equal(transport.displayUrl, 'ssh://git@github.com/org/repo.git');

    const keyFile = path.join(dir, 'identity');
    const knownHostsFile = path.join(dir, 'known_hosts');
    assert.equal(await readFile(keyFile, 'utf8'), `${identity}\n`);
    assert.equal(await readFile(knownHostsFile, 'utf8'), knownHosts);
    assert.equal((await stat(keyFile)).mode & 0o777, 0o600);
    assert.equal((await stat(knownHostsFile)).mode & 0o777, 0o600);

    assert.equal(
      transport.env.GIT_SSH_COMMAND,
      `ssh -F /dev/null -i '${keyFile}' -o UserKnownHostsFile='${knownHostsFile}' ` +
        '-o GlobalKnownHostsFile=/dev/null -o StrictHostKeyChecking=yes -o IdentitiesOnly=yes ' +
        '-o IdentityAgent=none -o PasswordAuthentication=no -o KbdInteractiveAuthentication=no -o BatchMode=yes',
    );
    assert.equal(transport.env.SSH_ASKPASS, undefined);
    assert.doesNotMatch(JSON.stringify(transport.env), /not-a-real-key|AAAAC3/);
  });

  it('keeps the user named in the URL', async () => {
    const transport = await prepareTransport(
      'ssh://deploy@git.example.com:2222/repo.git',
      { identity, known_hosts: knownHosts },
      await privateDir(),
    );
    assert.equal(transport.url, 'ssh://deploy@git.example.com:2222/repo.git');
  });

  it('feeds a key passphrase through an askpass program that reads a 0600 file', async () => {
    const dir = await privateDir();
    const transport = await prepareTransport(
      'ssh://github.com/org/repo.git',
      { identity, known_hosts: knownHosts, password: 'key-passphrase' },
      dir,
    );
    const askpass = path.join(dir, 'askpass.sh');
    assert.equal(transport.env.SSH_ASKPASS, askpass);
    assert.equal(transport.env.SSH_ASKPASS_REQUIRE, 'force');
    assert.equal((await stat(askpass)).mode & 0o777, 0o700);
    assert.equal((await stat(path.join(dir, 'passphrase'))).mode & 0o777, 0o600);
    assert.doesNotMatch(transport.env.GIT_SSH_COMMAND ?? '', /BatchMode|key-passphrase/);
    assert.ok(transport.secrets.includes('key-passphrase'));
  });

  it('quotes paths for the shell git runs GIT_SSH_COMMAND with', async () => {
    const dir = path.join(scratch, "it's here");
    await rm(dir, { recursive: true, force: true });
    await mkdir(dir, { mode: 0o700 });
    const transport = await prepareTransport('ssh://h/r.git', { identity, known_hosts: knownHosts }, dir);
    assert.match(transport.env.GIT_SSH_COMMAND ?? '', /-i '.*\/it'\\''s here\/identity'/);
  });

  it("requires identity and known_hosts, with Flux's messages", async () => {
    await assert.rejects(
      prepareTransport('ssh://h/r.git', { known_hosts: knownHosts }, await privateDir()),
      (err: unknown) =>
        err instanceof GitError &&
        err.kind === 'AuthenticationFailed' &&
        err.message ===
          "failed to configure authentication options: invalid 'ssh' auth option: 'identity' is required",
    );
    await assert.rejects(
      prepareTransport('ssh://h/r.git', { identity }, await privateDir()),
      /invalid 'ssh' auth option: 'known_hosts' is required/,
    );
    await assert.rejects(
      prepareTransport('ssh://h/r.git', undefined, await privateDir()),
      /'identity' is required/,
    );
  });
});

describe('git over ssh', () => {
  it("runs ssh with that command and reports ssh's own reason (a closed port)", async () => {
    await assert.rejects(
      lsRemote('ssh://127.0.0.1:1/org/repo.git', undefined, { identity, known_hosts: knownHosts }),
      (err: unknown) =>
        err instanceof GitError &&
        err.kind === 'GitOperationFailed' &&
        /^failed to checkout and determine revision: unable to list remote for 'ssh:\/\/git@127\.0\.0\.1:1\/org\/repo\.git': ssh: connect to host 127\.0\.0\.1 port 1: Connection refused$/.test(
          err.message,
        ),
    );
  });
});

describe('prepareTransport over http(s)', () => {
  it('sends basic auth as a header in GIT_CONFIG_* variables, not in the URL', async () => {
    const transport = await prepareTransport(
      'https://git.example.com/org/repo.git',
      { username: 'robot', password: 's3cret' },
      await privateDir(),
    );
    assert.equal(transport.url, 'https://git.example.com/org/repo.git');
    assert.deepEqual(transport.env, {
      GIT_CONFIG_COUNT: '1',
      GIT_CONFIG_KEY_0: 'http.https://git.example.com/.extraHeader',
      GIT_CONFIG_VALUE_0: `Authorization: Basic ${Buffer.from('robot:s3cret').toString('base64')}`,
    });
  });

  it('prefers bearerToken, writes ca.crt to a file, and strips user info from the URL', async () => {
    const dir = await privateDir();
    const transport = await prepareTransport(
      'https://user:pass@git.example.com/repo.git',
      { bearerToken: 'tok3n', username: 'ignored', 'ca.crt': Buffer.from('CA PEM') },
      dir,
    );
    assert.equal(transport.url, 'https://git.example.com/repo.git');
    assert.equal(transport.displayUrl, 'https://git.example.com/repo.git');
    assert.deepEqual(transport.env, {
      GIT_CONFIG_COUNT: '2',
      GIT_CONFIG_KEY_0: 'http.https://git.example.com/.extraHeader',
      GIT_CONFIG_VALUE_0: 'Authorization: Bearer tok3n',
      GIT_CONFIG_KEY_1: 'http.sslCAInfo',
      GIT_CONFIG_VALUE_1: path.join(dir, 'ca.crt'),
    });
    assert.equal(await readFile(path.join(dir, 'ca.crt'), 'utf8'), 'CA PEM');
  });

  it('refuses a bearer token with a line break (it would end the header)', async () => {
    await assert.rejects(
      prepareTransport('https://h/r.git', { bearerToken: 'tok\nX-Injected: 1' }, await privateDir()),
      /'bearerToken' contains a line break/,
    );
  });

  it('needs no configuration for a public repository', async () => {
    const transport = await prepareTransport('https://h/r.git', undefined, await privateDir());
    assert.deepEqual(transport.env, {});
  });
});

describe('redact', () => {
  it('replaces secrets and URL passwords', () => {
    assert.equal(
      redact("fatal: unable to access 'https://u:hunter2@h/': token tok3n rejected", ['tok3n', '']),
      "fatal: unable to access 'https://***@h/': token *** rejected",
    );
  });
});

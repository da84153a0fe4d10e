// Git over ssh for the tests: Debian's real sshd (openssh-server) on 127.0.0.1 and a port of its own, with host
// and client keys generated for it, serving the bare repositories of a GitServer (git-upload-pack, as on any
// git host). It runs as the current user and reads nothing of the system's ssh configuration.
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { GitServer } from './git-server.ts';
import { stopProcess, waitForOutput } from './process.ts';

const run = promisify(execFile);
const sshd = '/usr/sbin/sshd';

export interface SshKeyPair {
  /** The OpenSSH private key (a GitRepository Secret's `identity`). */
  privateKey: string;
  /** `ssh-ed25519 AAAA…` */
  publicKey: string;
}

/** A new ed25519 key pair, made by ssh-keygen. */
export async function sshKeyPair(): Promise<SshKeyPair> {
  const dir = await mkdtemp(path.join(tmpdir(), 'sluice-sshkey-'));
  try {
    await run('ssh-keygen', [
      '-q',
      '-t',
      'ed25519',
      '-N',
      '',
      '-C',
      'sluice-test',
      '-f',
      path.join(dir, 'key'),
    ]);
    return {
      privateKey: await readFile(path.join(dir, 'key'), 'utf8'),
      publicKey: (await readFile(path.join(dir, 'key.pub'), 'utf8')).trim(),
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export class SshGitServer {
  readonly port: number;
  /** The line a client's known_hosts needs for this server. */
  readonly knownHosts: string;
  private readonly dir: string;
  private readonly process: ChildProcess;
  private readonly git: GitServer;

  private constructor(port: number, knownHosts: string, dir: string, child: ChildProcess, git: GitServer) {
    this.port = port;
    this.knownHosts = knownHosts;
    this.dir = dir;
    this.process = child;
    this.git = git;
  }

  /** Serves `git`'s repositories over ssh to the holders of `authorized` keys. */
  static async start(git: GitServer, authorized: SshKeyPair[]): Promise<SshGitServer> {
    if (!existsSync(sshd)) {
      throw new Error(`${sshd} not found: install Debian's openssh-server (apt-get install openssh-server)`);
    }
    const dir = await mkdtemp(path.join(tmpdir(), 'sluice-sshd-'));
    const hostKey = path.join(dir, 'host_ed25519');
    await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', hostKey]);
    await writeFile(path.join(dir, 'authorized_keys'), authorized.map((k) => `${k.publicKey}\n`).join(''), {
      mode: 0o600,
    });
    const port = await freePort();
    const config = [
      `ListenAddress 127.0.0.1:${port}`,
      `HostKey ${hostKey}`,
      `AuthorizedKeysFile ${path.join(dir, 'authorized_keys')}`,
      `PidFile ${path.join(dir, 'sshd.pid')}`,
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'PermitRootLogin prohibit-password',
      'StrictModes no',
      'UsePAM no',
      // INFO: sshd says "Server listening on …" once it accepts connections.
      'LogLevel INFO',
    ];
    await writeFile(path.join(dir, 'sshd_config'), `${config.join('\n')}\n`);
    // sshd run by root insists on its privilege separation directory.
    if (process.getuid?.() === 0) await mkdir('/run/sshd', { recursive: true, mode: 0o755 });
    const child = spawn(sshd, ['-D', '-e', '-f', path.join(dir, 'sshd_config')], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    try {
      await waitForOutput(child, 'Server listening on', 'sshd');
    } catch (error) {
      await rm(dir, { recursive: true, force: true });
      throw error;
    }
    const publicHostKey = (await readFile(`${hostKey}.pub`, 'utf8')).trim().split(' ').slice(0, 2).join(' ');
    return new SshGitServer(port, `[127.0.0.1]:${port} ${publicHostKey}`, dir, child, git);
  }

  /** The ssh URL of a repository of the GitServer, e.g. ssh://root@127.0.0.1:PORT/tmp/…/app.git */
  url(name: string): string {
    return `ssh://${userInfo().username}@127.0.0.1:${this.port}${path.join(this.git.root, 'repos', `${name}.git`)}`;
  }

  async stop(): Promise<void> {
    await stopProcess(this.process);
    await rm(this.dir, { recursive: true, force: true });
  }
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

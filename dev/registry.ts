// A real OCI registry for the tests: distribution's registry (built from the Go module proxy into the cache by
// dev/cluster/build.sh) on 127.0.0.1 and a free port, plain HTTP, its storage in a temporary directory, and
// optionally basic auth from an htpasswd file (bcrypt, as the registry requires). Artifacts are pushed to it with
// the real flux CLI (`pushArtifact`).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import bcrypt from 'bcryptjs';
import { cacheBin } from './cluster.ts';
import { fluxCliPath } from './flux.ts';
import { runCommand, stopProcess, waitForOutput } from './process.ts';

/** distribution's release in dev/cluster/versions.sh. */
const registryVersion = 'v3.1.2';

export interface RegistryUser {
  username: string;
  password: string;
}

export class OciRegistry {
  /** `127.0.0.1:<port>`: the registry host of `oci://` URLs. */
  readonly host: string;
  private readonly dir: string;
  private readonly process: ChildProcess;

  private constructor(host: string, dir: string, child: ChildProcess) {
    this.host = host;
    this.dir = dir;
    this.process = child;
  }

  static async start(options: { user?: RegistryUser } = {}): Promise<OciRegistry> {
    const dir = await mkdtemp(path.join(tmpdir(), 'sluice-registry-'));
    const port = await freePort();
    const auth = options.user
      ? `auth:\n  htpasswd:\n    realm: sluice-test\n    path: ${path.join(dir, 'htpasswd')}\n`
      : '';
    if (options.user) {
      const hash = await bcrypt.hash(options.user.password, 10);
      await writeFile(path.join(dir, 'htpasswd'), `${options.user.username}:${hash}\n`);
    }
    await writeFile(
      path.join(dir, 'config.yml'),
      `version: 0.1\nlog:\n  level: info\nstorage:\n  filesystem:\n    rootdirectory: ${path.join(dir, 'data')}\n` +
        `http:\n  addr: 127.0.0.1:${port}\n${auth}`,
    );
    const binary = path.join(cacheBin(), `registry-${registryVersion}`, 'registry');
    const child = spawn(binary, ['serve', path.join(dir, 'config.yml')], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      await waitForOutput(child, 'listening on', 'the registry');
    } catch (error) {
      await rm(dir, { recursive: true, force: true });
      throw error;
    }
    return new OciRegistry(`127.0.0.1:${port}`, dir, child);
  }

  /** `oci://127.0.0.1:<port>/<repository>` */
  url(repository: string): string {
    return `oci://${this.host}/${repository}`;
  }

  async stop(): Promise<void> {
    await stopProcess(this.process);
    await rm(this.dir, { recursive: true, force: true });
  }
}

/**
 * `flux push artifact <url>:<tag> --path dir` with the real flux CLI, over plain HTTP; returns the pushed
 * manifest's digest.
 */
export async function pushArtifact(
  url: string,
  tag: string,
  dir: string,
  options: { user?: RegistryUser; revision?: string } = {},
): Promise<string> {
  const args = [
    'push',
    'artifact',
    `${url}:${tag}`,
    `--path=${dir}`,
    '--source=http://git.example.com/app.git',
    `--revision=${options.revision ?? `${tag}@sha1:0000000000000000000000000000000000000000`}`,
    '--insecure-registry',
    '--output=json',
    ...(options.user ? [`--creds=${options.user.username}:${options.user.password}`] : []),
  ];
  const result = await runCommand(await fluxCliPath(), args, { env: { HOME: dir }, timeoutMs: 60_000 });
  if (result.code !== 0)
    throw new Error(`flux push artifact failed (${result.code}): ${result.stderr.trim()}`);
  const digest = (JSON.parse(result.stdout) as { digest?: string }).digest;
  if (!digest) throw new Error(`flux push artifact printed no digest: ${result.stdout}`);
  return digest;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

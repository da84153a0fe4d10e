// A real git server for the demo, the benchmark and the tests: `git http-backend` (git's own smart-HTTP implementation) behind a small
// CGI bridge on 127.0.0.1, with optional basic auth. Node's http module is used because git ships no
// standalone HTTP server, only the CGI program.
import http from 'node:http';
import { spawn, execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { cp, mkdtemp, mkdir, rm, writeFile, readdir } from 'node:fs/promises';
import { timingSafeEqual } from 'node:crypto';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';

const run = promisify(execFile);

/** git with no user or system config, so tests behave the same on every machine. */
export async function git(cwd: string, ...args: string[]): Promise<string> {
  const { stdout } = await run('git', args, {
    cwd,
    env: {
      PATH: process.env.PATH,
      HOME: cwd,
      GIT_CONFIG_NOSYSTEM: '1',
      GIT_CONFIG_GLOBAL: '/dev/null',
      GIT_TERMINAL_PROMPT: '0',
      GIT_AUTHOR_NAME: 'sluice tests',
      GIT_AUTHOR_EMAIL: 'tests@sluice.invalid',
      GIT_COMMITTER_NAME: 'sluice tests',
      GIT_COMMITTER_EMAIL: 'tests@sluice.invalid',
    },
  });
  return stdout.trim();
}

export interface BasicAuth {
  username: string;
  password: string;
}

/** Files of a commit: path -> content; `null` deletes the path. */
export type FileChanges = Record<string, string | null>;

export class GitServer {
  readonly root: string;
  private readonly server: http.Server;
  private readonly auth: BasicAuth | undefined;
  /** Every Authorization header a request brought, to check that credentials reach only their own server. */
  readonly authorizationsSeen: string[] = [];
  private readonly workTrees = new Map<string, string>();

  private constructor(root: string, server: http.Server, auth: BasicAuth | undefined) {
    this.root = root;
    this.server = server;
    this.auth = auth;
  }

  /** Listens on 127.0.0.1, on `port` when given (else any free one); fails when that port is taken. */
  static async start(options: { auth?: BasicAuth; port?: number } = {}): Promise<GitServer> {
    const server = http.createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port ?? 0, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    const root = await mkdtemp(path.join(tmpdir(), 'sluice-git-'));
    await mkdir(path.join(root, 'repos'));
    const gitServer = new GitServer(root, server, options.auth);
    server.on('request', (req, res) => gitServer.handle(req, res));
    return gitServer;
  }

  get baseUrl(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** The clone URL of a repository, e.g. http://127.0.0.1:PORT/app.git */
  url(name: string): string {
    return `${this.baseUrl}/${name}.git`;
  }

  /** Creates a bare repository whose first commit on `main` holds the fixture folder (or files). */
  async createRepo(name: string, content: string | FileChanges): Promise<string> {
    const bare = path.join(this.root, 'repos', `${name}.git`);
    await git(this.root, 'init', '--quiet', '--bare', '--initial-branch=main', bare);
    await git(bare, 'config', 'http.receivepack', 'true');
    const work = path.join(this.root, 'work', name);
    await git(this.root, 'clone', '--quiet', bare, work);
    await git(work, 'checkout', '--quiet', '-b', 'main');
    this.workTrees.set(name, work);
    if (typeof content === 'string') {
      for (const entry of await readdir(content)) {
        // verbatimSymlinks: a relative link is committed as written, not made absolute.
        await cp(path.join(content, entry), path.join(work, entry), {
          recursive: true,
          verbatimSymlinks: true,
        });
      }
      return this.commitAll(name, 'initial commit');
    }
    return this.commit(name, content, 'initial commit');
  }

  /** Writes and deletes files on `main`, commits, pushes, and returns the new commit's sha. */
  async commit(name: string, changes: FileChanges, message: string): Promise<string> {
    const work = this.workTree(name);
    for (const [file, content] of Object.entries(changes)) {
      const target = path.join(work, file);
      if (content === null) await rm(target, { force: true });
      else {
        await mkdir(path.dirname(target), { recursive: true });
        await writeFile(target, content);
      }
    }
    return this.commitAll(name, message);
  }

  /** Commits a submodule at `at` that checks out `commit` of `url` (.gitmodules and the gitlink). */
  async addSubmodule(name: string, at: string, url: string, commit: string): Promise<string> {
    const work = this.workTree(name);
    await writeFile(path.join(work, '.gitmodules'), `[submodule "${at}"]\n\tpath = ${at}\n\turl = ${url}\n`);
    await git(work, 'add', '.gitmodules');
    await git(work, 'update-index', '--add', '--cacheinfo', `160000,${commit},${at}`);
    // Not commitAll: `add --all` would drop the gitlink, which has no checkout in this work tree.
    await git(work, 'commit', '--quiet', '-m', `add submodule ${at}`);
    await git(work, 'push', '--quiet', 'origin', 'HEAD:main');
    return git(work, 'rev-parse', 'HEAD');
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    await rm(this.root, { recursive: true, force: true });
  }

  private workTree(name: string): string {
    const work = this.workTrees.get(name);
    if (!work) throw new Error(`no repository "${name}" on this git server: call createRepo first`);
    return work;
  }

  private async commitAll(name: string, message: string): Promise<string> {
    const work = this.workTree(name);
    await git(work, 'add', '--all');
    await git(work, 'commit', '--quiet', '--allow-empty', '-m', message);
    await git(work, 'push', '--quiet', 'origin', 'HEAD:main');
    return git(work, 'rev-parse', 'HEAD');
  }

  private authorized(req: http.IncomingMessage): boolean {
    if (!this.auth) return true;
    const header = req.headers.authorization ?? '';
    const expected = Buffer.from(
      'Basic ' + Buffer.from(`${this.auth.username}:${this.auth.password}`).toString('base64'),
    );
    const given = Buffer.from(header);
    return given.length === expected.length && timingSafeEqual(given, expected);
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    if (req.headers.authorization) this.authorizationsSeen.push(req.headers.authorization);
    if (!this.authorized(req)) {
      res.writeHead(401, { 'WWW-Authenticate': 'Basic realm="sluice-test-git"' }).end();
      return;
    }
    const url = new URL(req.url ?? '/', this.baseUrl);
    const backend = spawn('git', ['http-backend'], {
      env: {
        PATH: process.env.PATH,
        GIT_PROJECT_ROOT: path.join(this.root, 'repos'),
        GIT_HTTP_EXPORT_ALL: '1',
        GIT_CONFIG_NOSYSTEM: '1',
        GIT_CONFIG_GLOBAL: '/dev/null',
        REQUEST_METHOD: req.method ?? 'GET',
        PATH_INFO: decodeURIComponent(url.pathname),
        QUERY_STRING: url.search.slice(1),
        CONTENT_TYPE: req.headers['content-type'] ?? '',
        HTTP_CONTENT_ENCODING: req.headers['content-encoding'] ?? '',
        GIT_PROTOCOL: String(req.headers['git-protocol'] ?? ''),
        REMOTE_USER: this.auth?.username ?? 'anonymous',
        REMOTE_ADDR: req.socket.remoteAddress ?? '127.0.0.1',
      },
    });
    req.pipe(backend.stdin);
    backend.stdin.on('error', () => undefined); // the backend may finish before reading the whole body
    let head = Buffer.alloc(0);
    let headersSent = false;
    backend.stdout.on('data', (chunk: Buffer) => {
      if (headersSent) {
        res.write(chunk);
        return;
      }
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      // CGI response: header lines, a blank line, then the body; "Status:" carries the HTTP status.
      let status = 200;
      for (const line of head.subarray(0, end).toString().split('\r\n')) {
        const colon = line.indexOf(':');
        const key = line.slice(0, colon).trim();
        const value = line.slice(colon + 1).trim();
        if (key.toLowerCase() === 'status') status = Number.parseInt(value, 10);
        else res.setHeader(key, value);
      }
      res.writeHead(status);
      headersSent = true;
      res.write(head.subarray(end + 4));
    });
    backend.on('close', () => {
      if (!headersSent) res.writeHead(500);
      res.end();
    });
  }
}

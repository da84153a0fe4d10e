// Fetches a GitRepository's content with the git CLI (never a shell), the way Flux's source-controller
// resolves refs and names revisions: precedence commit > name > tag > semver > branch, default branch
// `master`, revision strings `<ref>@sha1:<hash>` or `sha1:<hash>`.
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import semver from 'semver';
import { formatDuration } from '../api/duration.ts';
import type { GitRepositoryRef } from '../api/gitrepository.ts';
import { defaultGitBranch } from '../api/gitrepository.ts';
import { GitError, redact } from './errors.ts';
import type { GitCredentials, GitTransport } from './git-auth.ts';
import { prepareTransport } from './git-auth.ts';
import { errorMessage } from '../errors.ts';

export type { GitCredentials } from './git-auth.ts';

export interface GitCommandOptions {
  /** Milliseconds for the whole operation (`spec.timeout`); 60 s when unset. */
  timeout?: number;
  /** Cancels the operation (the caller's shutdown); the signal's reason is thrown. */
  signal?: AbortSignal;
}

export interface CheckoutOptions extends GitCommandOptions {
  url: string;
  ref?: GitRepositoryRef;
  credentials?: GitCredentials;
  /** Where the work tree goes (with its `.git`): created when missing, must be empty. */
  dir: string;
  /** spec.sparseCheckout: only these directories of the commit are checked out. */
  sparseCheckout?: string[];
  /** spec.recurseSubmodules: submodules are checked out too, recursively, with the same credentials. */
  recurseSubmodules?: boolean;
}

export interface GitCheckout {
  /** Flux's revision string, e.g. `main@sha1:<hash>`; compare as an opaque string. */
  revision: string;
  /** The checked-out commit's hash (for an annotated tag, the commit it points to). */
  commit: string;
  checkoutDir: string;
  /** The full commit message. */
  message: string;
}

export interface RemoteRevision {
  revision: string;
  commit: string;
}

const defaultTimeoutMs = 60_000;
const maxStdoutBytes = 4 * 1024 * 1024;
// Tag lists of very large repositories run to a few megabytes.
const maxRefListBytes = 64 * 1024 * 1024;
const maxStderrChars = 64 * 1024;
const checkoutFailed = 'failed to checkout and determine revision';

// Only the transports a GitRepository URL may use; `file`, `ext` and the rest stay disabled.
const hardeningArgs = [
  ...['-c', 'protocol.allow=never'],
  ...['-c', 'protocol.http.allow=always'],
  ...['-c', 'protocol.https.allow=always'],
  ...['-c', 'protocol.ssh.allow=always'],
  // No credential helper and no askpass program: a missing or rejected credential fails at once.
  ...['-c', 'credential.helper='],
  ...['-c', 'core.askPass='],
  ...['-c', 'advice.detachedHead=false'],
  ...['-c', 'init.defaultBranch=master'],
];

const proxyVariables = ['http_proxy', 'https_proxy', 'no_proxy', 'all_proxy'].flatMap((name) => [
  name,
  name.toUpperCase(),
]);

type CheckoutPlan =
  | { type: 'commit'; commit: string; branch?: string; name?: string }
  | { type: 'name'; name: string }
  | { type: 'tag'; tag: string }
  | { type: 'semver'; range: string }
  | { type: 'branch'; branch: string };

interface GitSession {
  transport: GitTransport;
  env: Record<string, string>;
  /** Aborts on the caller's signal or at the timeout. */
  signal: AbortSignal;
  timeoutSignal: AbortSignal;
  timeout: number;
  privateDir: string;
}

/** A git command that exited non-zero or was killed; never shown as is (its stderr is not redacted yet). */
class GitCommandFailure extends Error {
  readonly stderr: string;
  readonly aborted: boolean;

  constructor(command: string, why: string, stderr: string, aborted: boolean) {
    super(`git ${command} ${why}`);
    this.name = 'GitCommandFailure';
    this.stderr = stderr;
    this.aborted = aborted;
  }
}

/** Clones the ref of `options.url` into `options.dir` and names the revision as Flux does. */
export async function checkout(options: CheckoutOptions): Promise<GitCheckout> {
  return withSession(options.url, options.credentials, options, async (session) => {
    const plan = planFor(options.ref, session.transport.displayUrl);
    const dir = path.resolve(options.dir);
    await mkdir(dir, { recursive: true });
    if ((await readdir(dir)).length > 0) throw new Error(`checkout directory '${dir}' is not empty`);
    try {
      await runGit(session, ['init', '--quiet', '--template='], dir);
      if (options.sparseCheckout?.length) {
        // Non-cone patterns anchored at the root: only the directories, not the files beside them.
        const patterns = options.sparseCheckout.map((d) => `/${sparseDirectory(d, session)}/`);
        await runGit(session, ['sparse-checkout', 'set', '--no-cone', '--', ...patterns], dir);
      }
      const { commit, label } = await fetchPlan(session, dir, plan);
      await runGit(session, ['checkout', '--quiet', '--force', '--detach', commit], dir);
      if (options.recurseSubmodules) {
        await runGit(session, ['submodule', 'update', '--init', '--recursive', '--quiet'], dir);
      }
      const { stdout: message } = await runGit(session, ['show', '--no-patch', '--format=%B', commit], dir);
      return { revision: revisionOf(label, commit), commit, checkoutDir: dir, message: message.trimEnd() };
    } catch (err) {
      throw toGitError(session, err, 'clone');
    }
  });
}

/**
 * Resolves the ref's revision without fetching any content, so that a reconcile can stop early when the
 * stored artifact already has it. A commit ref needs no network at all.
 */
export async function lsRemote(
  url: string,
  ref: GitRepositoryRef | undefined,
  credentials: GitCredentials | undefined,
  options: GitCommandOptions = {},
): Promise<RemoteRevision> {
  return withSession(url, credentials, options, async (session) => {
    const plan = planFor(ref, session.transport.displayUrl);
    try {
      const { label, commit } = await resolveRemote(session, plan);
      return { revision: revisionOf(label, commit), commit };
    } catch (err) {
      throw toGitError(session, err, 'list');
    }
  });
}

/** A sparseCheckout entry as a directory path inside the repository (a leading `./` trimmed, as in Flux). */
function sparseDirectory(entry: string, session: GitSession): string {
  const dir = entry.replace(/^(\.\/)+/, '').replace(/\/+$/, '');
  const invalid = (why: string) =>
    new GitError(
      'GitOperationFailed',
      `${checkoutFailed}: invalid sparseCheckout entry '${entry}': ${why}`,
      session.transport.displayUrl,
    );
  if (dir === '' || dir === '.') throw invalid('name a directory of the repository, not its root');
  if (dir.startsWith('/') || dir.split('/').includes('..'))
    throw invalid('must be a path inside the repository');
  if (/[*?[\]\\!#]/.test(dir)) throw invalid('must be a directory path, without glob characters');
  return dir;
}

/** The highest tag whose version (one leading `v` allowed) satisfies the range, as Flux picks it. */
export function pickSemverTag(tags: Iterable<string>, range: string): string | undefined {
  let constraint: semver.Range;
  try {
    // Flux's constraint library reads a comma as "and", which npm's semver spells with a space.
    constraint = new semver.Range(range.replaceAll(',', ' '));
  } catch {
    throw new InvalidSpec(`semver parse error: improper constraint: ${range}`);
  }
  const matches: { tag: string; version: semver.SemVer }[] = [];
  for (const tag of tags) {
    const version = parseTagVersion(tag);
    if (version && constraint.test(version)) matches.push({ tag, version });
  }
  // Flux breaks ties (versions differing only in build metadata) by commit time, which needs the
  // objects; without them the metadata, then the tag name, decide.
  matches.sort((a, b) => semver.compareBuild(a.version, b.version) || compareText(a.tag, b.tag));
  return matches.at(-1)?.tag;
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Strict semver after one optional leading `v`, like Flux's version.ParseVersion. */
function parseTagVersion(tag: string): semver.SemVer | null {
  const bare = tag.startsWith('v') ? tag.slice(1) : tag;
  if (!/^[0-9]/.test(bare) || /\s/.test(bare)) return null;
  return semver.parse(bare);
}

/** The spec asks for something that cannot exist (a bad semver range); retrying will not help. */
class InvalidSpec extends Error {}

/** The ref, tag or commit is not in the remote repository. */
class RefNotFound extends Error {}

function revisionOf(label: string | undefined, commit: string): string {
  const digest = `${commit.length === 64 ? 'sha256' : 'sha1'}:${commit}`;
  return label ? `${label}@${digest}` : digest;
}

/** Rules of git check-ref-format, so a value can neither act as an option nor change a refspec. */
function isValidRefPath(name: string): boolean {
  return (
    name !== '' &&
    name !== '@' &&
    !name.startsWith('-') &&
    !name.startsWith('/') &&
    !name.endsWith('/') &&
    !name.endsWith('.') &&
    !name.includes('..') &&
    !name.includes('//') &&
    !name.includes('@{') &&
    // eslint-disable-next-line no-control-regex
    !/[\x00-\x20\x7f~^:?*[\\]/.test(name) &&
    name.split('/').every((part) => !part.startsWith('.') && !part.endsWith('.lock'))
  );
}

const peelSuffix = '^{}';

function planFor(ref: GitRepositoryRef | undefined, url: string): CheckoutPlan {
  const invalid = (what: string, value: string, why: string) =>
    new GitError('GitOperationFailed', `${checkoutFailed}: invalid ${what} '${value}': ${why}`, url);
  const checkRef = (what: string, value: string) => {
    if (!isValidRefPath(value)) throw invalid(what, value, 'not a valid Git reference name');
  };
  if (ref?.commit) {
    const commit = ref.commit.toLowerCase();
    if (!/^(?:[0-9a-f]{40}|[0-9a-f]{64})$/.test(commit)) {
      throw invalid('commit', ref.commit, 'expected a full 40- or 64-character hexadecimal hash');
    }
    if (ref.branch) checkRef('branch', ref.branch);
    if (ref.name) checkFullRefName(ref.name, invalid);
    return { type: 'commit', commit, branch: ref.branch || undefined, name: ref.name || undefined };
  }
  if (ref?.name) {
    checkFullRefName(ref.name, invalid);
    return { type: 'name', name: ref.name };
  }
  if (ref?.tag) {
    checkRef('tag', ref.tag);
    return { type: 'tag', tag: ref.tag };
  }
  if (ref?.semver) return { type: 'semver', range: ref.semver };
  const branch = ref?.branch || defaultGitBranch;
  checkRef('branch', branch);
  return { type: 'branch', branch };
}

function checkFullRefName(
  name: string,
  invalid: (what: string, value: string, why: string) => GitError,
): void {
  const bare = name.endsWith(peelSuffix) ? name.slice(0, -peelSuffix.length) : name;
  if (bare !== 'HEAD' && !(bare.startsWith('refs/') && isValidRefPath(bare))) {
    throw invalid(
      'ref name',
      name,
      "expected a full reference such as 'refs/heads/main' or 'refs/pull/1/head'",
    );
  }
}

async function withSession<T>(
  url: string,
  credentials: GitCredentials | undefined,
  options: GitCommandOptions,
  run: (session: GitSession) => Promise<T>,
): Promise<T> {
  options.signal?.throwIfAborted();
  const privateDir = await mkdtemp(path.join(tmpdir(), 'sluice-git-session-'));
  try {
    const transport = await prepareTransport(url, credentials, privateDir);
    const timeout = options.timeout ?? defaultTimeoutMs;
    const timeoutSignal = AbortSignal.timeout(timeout);
    const signal = options.signal ? AbortSignal.any([options.signal, timeoutSignal]) : timeoutSignal;
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: privateDir,
      // Repository discovery must never climb into a repository around the private directory.
      GIT_CEILING_DIRECTORIES: path.dirname(privateDir),
      GIT_TERMINAL_PROMPT: '0',
      GIT_CONFIG_NOSYSTEM: '1',
      GIT_CONFIG_GLOBAL: '/dev/null',
      // English messages, which toGitError classifies.
      LC_ALL: 'C',
      ...transport.env,
    };
    for (const name of proxyVariables) {
      const value = process.env[name];
      if (value !== undefined) env[name] = value;
    }
    return await run({ transport, env, signal, timeoutSignal, timeout, privateDir });
  } finally {
    await rm(privateDir, { recursive: true, force: true });
  }
}

/** Runs git in its own process group, so that a timeout also kills its helpers (remote-https, ssh). */
function runGit(
  session: GitSession,
  args: string[],
  cwd: string,
  maxStdout = maxStdoutBytes,
): Promise<{ stdout: string }> {
  const command = args[0] ?? '';
  return new Promise((resolve, reject) => {
    if (session.signal.aborted) {
      reject(new GitCommandFailure(command, 'was aborted', '', true));
      return;
    }
    const child = spawn('git', [...hardeningArgs, ...args], {
      cwd,
      env: session.env,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const stdout: Buffer[] = [];
    let stdoutBytes = 0;
    let stderr = '';
    let overflow = false;
    let settled = false;
    const killGroup = () => {
      if (child.pid === undefined) return;
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // The group has already exited.
      }
    };
    const settle = (outcome: () => void) => {
      if (settled) return;
      settled = true;
      session.signal.removeEventListener('abort', killGroup);
      outcome();
    };
    session.signal.addEventListener('abort', killGroup, { once: true });
    child.stdout.on('data', (chunk: Buffer) => {
      stdoutBytes += chunk.length;
      if (stdoutBytes > maxStdout) {
        overflow = true;
        killGroup();
      } else stdout.push(chunk);
    });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      stderr = (stderr + chunk).slice(-maxStderrChars);
    });
    child.on('error', (err) => settle(() => reject(err)));
    child.on('close', (code) =>
      settle(() => {
        if (session.signal.aborted) reject(new GitCommandFailure(command, 'was aborted', stderr, true));
        else if (overflow) {
          reject(new GitCommandFailure(command, `wrote more than ${maxStdout} bytes`, stderr, false));
        } else if (code !== 0) {
          reject(new GitCommandFailure(command, `exited with code ${code}`, stderr, false));
        } else resolve({ stdout: Buffer.concat(stdout).toString('utf8') });
      }),
    );
  });
}

async function fetchRefs(session: GitSession, dir: string, args: string[]): Promise<void> {
  await runGit(session, ['fetch', '--quiet', '--no-tags', '--no-recurse-submodules', ...args], dir);
}

async function resolveCommit(session: GitSession, dir: string, rev: string): Promise<string | undefined> {
  try {
    const { stdout } = await runGit(session, ['rev-parse', '--verify', '--quiet', `${rev}^{commit}`], dir);
    return stdout.trim();
  } catch (err) {
    if (err instanceof GitCommandFailure && !err.aborted) return undefined;
    throw err;
  }
}

async function fetchPlan(
  session: GitSession,
  dir: string,
  plan: CheckoutPlan,
): Promise<{ commit: string; label: string | undefined }> {
  const url = session.transport.url;
  const fetchOne = async (source: string, destination: string, label: string) => {
    await fetchRefs(session, dir, ['--depth=1', '--', url, `+${source}:${destination}`]);
    const commit = await resolveCommit(session, dir, destination);
    if (!commit) throw missingRef(source);
    return { commit, label };
  };
  switch (plan.type) {
    case 'branch':
      return fetchOne(`refs/heads/${plan.branch}`, `refs/remotes/origin/${plan.branch}`, plan.branch);
    case 'tag':
      return fetchOne(`refs/tags/${plan.tag}`, `refs/tags/${plan.tag}`, plan.tag);
    case 'name':
      return fetchOne(stripPeel(plan.name), 'refs/sluice/target', plan.name);
    case 'semver': {
      const { tag } = await remoteSemverTag(session, plan.range);
      return fetchOne(`refs/tags/${tag}`, `refs/tags/${tag}`, tag);
    }
    case 'commit':
      await fetchCommit(session, dir, plan);
      return { commit: plan.commit, label: plan.name ?? plan.branch };
  }
}

/**
 * With a branch: its tip first, its whole history only when the commit is older (Flux clones the branch).
 * Without: the commit itself, or every branch and tag when the server refuses unadvertised objects.
 */
async function fetchCommit(
  session: GitSession,
  dir: string,
  plan: Extract<CheckoutPlan, { type: 'commit' }>,
): Promise<void> {
  const url = session.transport.url;
  if (plan.branch) {
    const refspec = `+refs/heads/${plan.branch}:refs/remotes/origin/${plan.branch}`;
    await fetchRefs(session, dir, ['--depth=1', '--', url, refspec]);
    const tip = await resolveCommit(session, dir, `refs/remotes/origin/${plan.branch}`);
    const { stdout: shallow } = await runGit(session, ['rev-parse', '--is-shallow-repository'], dir);
    if (tip !== plan.commit && shallow.trim() === 'true') {
      await fetchRefs(session, dir, ['--unshallow', '--', url, refspec]);
    }
  } else {
    try {
      await fetchRefs(session, dir, ['--depth=1', '--', url, plan.commit]);
    } catch (err) {
      if (!(err instanceof GitCommandFailure) || !refusesUnadvertised(err.stderr)) throw err;
      await fetchRefs(session, dir, [
        '--',
        url,
        '+refs/heads/*:refs/remotes/origin/*',
        '+refs/tags/*:refs/tags/*',
      ]);
    }
  }
  if ((await resolveCommit(session, dir, plan.commit)) !== plan.commit) {
    throw new RefNotFound(`unable to resolve commit object for '${plan.commit}': object not found`);
  }
}

function refusesUnadvertised(stderr: string): boolean {
  return /not our ref|does not allow request for unadvertised object/.test(stderr);
}

function missingRef(ref: string): RefNotFound {
  return new RefNotFound(`unable to clone: couldn't find remote ref '${ref}'`);
}

function stripPeel(name: string): string {
  return name.endsWith(peelSuffix) ? name.slice(0, -peelSuffix.length) : name;
}

async function listRefs(
  session: GitSession,
  patterns: string[],
  flags: string[] = [],
): Promise<Map<string, string>> {
  const args = ['ls-remote', ...flags, '--', session.transport.url, ...patterns];
  const { stdout } = await runGit(session, args, session.privateDir, maxRefListBytes);
  const refs = new Map<string, string>();
  for (const line of stdout.split('\n')) {
    const [hash, name] = line.split('\t');
    if (hash && name) refs.set(name, hash);
  }
  return refs;
}

/** A tag's commit: the peeled `^{}` entry of an annotated tag, else the tag's own hash. */
function tagCommit(refs: Map<string, string>, ref: string): string | undefined {
  return refs.get(`${ref}${peelSuffix}`) ?? refs.get(ref);
}

/** Lists the remote's tags and picks the semver match; the listing also gives the tag's commit. */
async function remoteSemverTag(session: GitSession, range: string): Promise<{ tag: string; commit: string }> {
  const refs = await listRefs(session, [], ['--tags']);
  const tags = [...refs.keys()]
    .filter((ref) => ref.startsWith('refs/tags/') && !ref.endsWith(peelSuffix))
    .map((ref) => ref.slice('refs/tags/'.length));
  const tag = pickSemverTag(tags, range);
  const commit = tag === undefined ? undefined : tagCommit(refs, `refs/tags/${tag}`);
  if (tag === undefined || commit === undefined) throw new RefNotFound(`no match found for semver: ${range}`);
  return { tag, commit };
}

async function resolveRemote(
  session: GitSession,
  plan: CheckoutPlan,
): Promise<{ label: string | undefined; commit: string }> {
  const lookUp = async (ref: string, label: string, peel: boolean) => {
    const refs = await listRefs(session, peel ? [ref, `${ref}${peelSuffix}`] : [ref]);
    const commit = peel ? tagCommit(refs, ref) : refs.get(ref);
    if (!commit) throw missingRef(ref);
    return { label, commit };
  };
  switch (plan.type) {
    case 'commit':
      return { label: plan.name ?? plan.branch, commit: plan.commit };
    case 'branch':
      return lookUp(`refs/heads/${plan.branch}`, plan.branch, false);
    case 'tag':
      return lookUp(`refs/tags/${plan.tag}`, plan.tag, true);
    case 'name':
      // An explicit `^{}` asks for that exact entry; a bare tag ref resolves to the commit it points to.
      return plan.name.endsWith(peelSuffix) || !plan.name.startsWith('refs/tags/')
        ? lookUp(plan.name, plan.name, false)
        : lookUp(plan.name, plan.name, true);
    case 'semver': {
      const { tag, commit } = await remoteSemverTag(session, plan.range);
      return { label: tag, commit };
    }
  }
}

/**
 * The last `fatal:`/`error:` line of git's stderr, without git's "unable to access '<url>':" preamble; for
 * ssh, whose failures all end in git's generic "Could not read from remote repository.", ssh's own line.
 */
function gitReason(stderr: string): string {
  const lines = stderr
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '');
  const at = lines.findLastIndex((line) => /^(fatal|error):/.test(line));
  let fatal = lines[at] ?? lines.at(-1) ?? '';
  if (/Could not read from remote repository/.test(fatal) && at > 0) fatal = lines[at - 1] ?? fatal;
  return fatal
    .replace(/^(fatal|error):\s*/, '')
    .replace(/^unable to access '[^']*':\s*/, '')
    .replace(/^remote error:\s*/, '');
}

function toGitError(session: GitSession, err: unknown, operation: 'clone' | 'list'): unknown {
  const url = session.transport.displayUrl;
  const action = operation === 'clone' ? `unable to clone '${url}'` : `unable to list remote for '${url}'`;
  const error = (kind: GitError['kind'], detail: string) =>
    new GitError(kind, `${checkoutFailed}: ${redact(detail, session.transport.secrets)}`, url);

  if (err instanceof GitError) return err;
  if (err instanceof InvalidSpec) return error('GitOperationFailed', err.message);
  if (err instanceof RefNotFound) return error('RefNotFound', `${err.message}: git repository: '${url}'`);
  if (!(err instanceof GitCommandFailure)) {
    const detail = errorMessage(err);
    return error('GitOperationFailed', `${action}: ${detail}`);
  }
  if (err.aborted) {
    if (!session.timeoutSignal.aborted) return session.signal.reason;
    return error(
      'Timeout',
      `${action}: context deadline exceeded (timeout ${formatDuration(session.timeout)})`,
    );
  }
  const stderr = err.stderr;
  if (/could not read (Username|Password)|Authentication failed|returned error: 401/.test(stderr)) {
    return error('AuthenticationFailed', `${action}: authentication required`);
  }
  if (/returned error: 403/.test(stderr)) {
    return error('AuthenticationFailed', `${action}: authorization failed`);
  }
  if (
    /Permission denied \(|Host key verification failed|Load key .*:|No \S+ host key is known/.test(stderr)
  ) {
    return error('AuthenticationFailed', `${action}: ${gitReason(stderr)}`);
  }
  const missing = /couldn't find remote ref (\S+)/.exec(stderr);
  if (missing?.[1]) {
    return error('RefNotFound', `${missingRef(missing[1]).message}: git repository: '${url}'`);
  }
  if (
    /repository '[^']*' not found|does not appear to be a git repository|returned error: 404/.test(stderr)
  ) {
    return error('RefNotFound', `unable to clone: repository not found: git repository: '${url}'`);
  }
  return error('GitOperationFailed', `${action}: ${gitReason(stderr) || err.message}`);
}

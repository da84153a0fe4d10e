// A client of the OCI distribution API (the registry HTTP API v2) for what an OCIRepository needs: list tags,
// resolve a tag to its manifest digest, read a manifest, and download a blob whose digest is checked. Credentials
// are a dockerconfigjson's entry for the host, sent as basic auth or exchanged for a bearer token where the
// registry asks for one (the distribution spec's token flow). Written here because the npm registry has no
// well-kept client of this small API for Node.
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { request, type Dispatcher } from 'undici';

/** The manifest media types accepted: OCI's, and Docker's schema 2 that older `flux push` wrote. */
const manifestTypes = [
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
];

export interface RegistryCredentials {
  username: string;
  password: string;
}

export interface OciReference {
  /** `host[:port]` */
  registry: string;
  repository: string;
}

export interface OciLayer {
  mediaType: string;
  digest: string;
  size?: number;
}

export interface OciManifest {
  mediaType?: string;
  layers: OciLayer[];
  annotations?: Record<string, string>;
}

/** A registry error with the status and the registry's own error codes (UNAUTHORIZED, MANIFEST_UNKNOWN, …). */
export class RegistryError extends Error {
  readonly status: number;
  constructor(message: string, status: number) {
    super(message);
    this.name = 'RegistryError';
    this.status = status;
  }
}

/** `oci://host/repository` parsed; a tag or digest in it is refused, as Flux refuses it. */
export function parseOciUrl(url: string): OciReference {
  const invalid = (why: string) => new Error(`URL validation failed for '${url}': ${why}`);
  if (!url.startsWith('oci://')) throw invalid("URL must be in format 'oci://<domain>/<org>/<repo>'");
  const rest = url.slice('oci://'.length);
  const slash = rest.indexOf('/');
  if (slash <= 0 || slash === rest.length - 1) {
    throw invalid("URL must be in format 'oci://<domain>/<org>/<repo>'");
  }
  const registry = rest.slice(0, slash);
  const repository = rest.slice(slash + 1);
  if (repository.includes('@'))
    throw invalid(`URL must not contain a digest; remove '@${repository.split('@')[1]}'`);
  if (repository.includes(':'))
    throw invalid(`URL must not contain a tag; remove ':${repository.split(':')[1]}'`);
  if (
    !/^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/.test(repository)
  ) {
    throw invalid(`'${repository}' is not a valid repository name`);
  }
  return { registry, repository };
}

/** What a registry may send: more fails the OCIRepository with a message while the controller carries on. */
export const registryLimits = {
  /** A manifest (the OCI distribution spec asks registries to accept at least 4 MiB). */
  manifestBytes: 4 * 1024 * 1024,
  /** One page of the tag list. */
  tagPageBytes: 4 * 1024 * 1024,
  tags: 100_000,
  /** A token answer, or an error body. */
  smallBodyBytes: 64 * 1024,
  /** A layer whose manifest gives no size. */
  blobBytes: 1024 * 1024 * 1024,
};

/** The body, read up to `max` bytes; more is an error naming `what`. */
async function readLimited(
  body: Dispatcher.ResponseData['body'],
  max: number,
  what: string,
): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > max) {
      body.destroy();
      throw new RegistryError(`${what} is larger than ${max} bytes`, 0);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

function parseJson<T>(bytes: Buffer, what: string): T {
  try {
    return JSON.parse(bytes.toString('utf8')) as T;
  } catch {
    throw new RegistryError(`${what} is not JSON`, 0);
  }
}

export class RegistryClient {
  private readonly base: string;
  private readonly reference: OciReference;
  private readonly credentials: RegistryCredentials | undefined;
  private readonly signal: AbortSignal | undefined;
  private authorization: string | undefined;

  constructor(
    reference: OciReference,
    options: { insecure?: boolean; credentials?: RegistryCredentials; signal?: AbortSignal } = {},
  ) {
    this.reference = reference;
    this.base = `${options.insecure ? 'http' : 'https'}://${reference.registry}`;
    this.credentials = options.credentials;
    this.signal = options.signal;
  }

  /** Every tag of the repository (following the registry's pagination). */
  async tags(): Promise<string[]> {
    const tags: string[] = [];
    let path: string | undefined = `/v2/${this.reference.repository}/tags/list?n=1000`;
    while (path) {
      const response = await this.send('GET', path, { accept: 'application/json' });
      const what = `the tag list of ${this.reference.repository}`;
      const body = parseJson<{ tags?: unknown }>(
        await readLimited(response.body, registryLimits.tagPageBytes, `a page of ${what}`),
        what,
      );
      if (Array.isArray(body.tags)) tags.push(...body.tags.filter((t): t is string => typeof t === 'string'));
      if (tags.length > registryLimits.tags)
        throw new RegistryError(`${what} has more than ${registryLimits.tags} tags`, 0);
      const link = String(response.headers['link'] ?? '');
      const next = /<([^>]+)>;\s*rel="next"/.exec(link)?.[1];
      // The next page is asked of the same registry, with its credentials, only.
      if (next && new URL(next, this.base).origin !== new URL(this.base).origin) {
        throw new RegistryError(
          `the next page of ${what} is on another host (${new URL(next, this.base).host})`,
          0,
        );
      }
      path = next;
    }
    return tags;
  }

  /** The manifest a tag or digest names, and its digest (the registry's, checked when it is a digest). */
  async manifest(tagOrDigest: string): Promise<{ digest: string; manifest: OciManifest }> {
    const path = `/v2/${this.reference.repository}/manifests/${tagOrDigest}`;
    const response = await this.send('GET', path, { accept: manifestTypes.join(', ') });
    const bytes = await readLimited(response.body, registryLimits.manifestBytes, `manifest ${tagOrDigest}`);
    const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
    if (tagOrDigest.startsWith('sha256:') && tagOrDigest !== digest) {
      throw new RegistryError(`manifest ${tagOrDigest} does not match its content (${digest})`, 0);
    }
    const manifest = parseJson<OciManifest>(bytes, `manifest ${tagOrDigest}`);
    if (!Array.isArray(manifest.layers)) {
      throw new RegistryError(
        `failed to parse artifact manifest: ${tagOrDigest} is not an image manifest`,
        0,
      );
    }
    return { digest, manifest };
  }

  /** Downloads a blob to `file`, checking its sha256 digest and that it is no larger than the manifest says. */
  async downloadBlob(digest: string, file: string, size?: number): Promise<void> {
    const response = await this.send('GET', `/v2/${this.reference.repository}/blobs/${digest}`, {});
    const max = size ?? registryLimits.blobBytes;
    const tooLarge = () =>
      new RegistryError(
        `blob ${digest} is larger than ${max} bytes${size === undefined ? '' : ', the size its manifest gives'}`,
        0,
      );
    if (Number(response.headers['content-length'] ?? 0) > max) {
      await response.body.dump().catch(() => undefined);
      throw tooLarge();
    }
    const hash = createHash('sha256');
    let received = 0;
    const hashing = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        received += chunk.length;
        if (received > max) return done(tooLarge());
        hash.update(chunk);
        done(null, chunk);
      },
    });
    await pipeline(response.body as Readable, hashing, createWriteStream(file, { mode: 0o600 }));
    const actual = `sha256:${hash.digest('hex')}`;
    if (actual !== digest)
      throw new RegistryError(`blob ${digest} does not match its content (${actual})`, 0);
  }

  /** A request, authenticated as the registry asks (basic, or a bearer token from its realm), redirects followed. */
  private async send(
    method: 'GET' | 'HEAD',
    path: string,
    headers: Record<string, string>,
    redirects = 5,
  ): Promise<Dispatcher.ResponseData> {
    const url = path.startsWith('http') ? path : `${this.base}${path}`;
    const withAuth = { ...headers, ...(this.authorization ? { authorization: this.authorization } : {}) };
    let response = await this.request(method, url, withAuth);
    if (response.statusCode === 401 && !this.authorization) {
      const challenge = String(response.headers['www-authenticate'] ?? '');
      await response.body.dump();
      this.authorization = await this.authorize(challenge);
      if (this.authorization)
        response = await this.request(method, url, { ...headers, authorization: this.authorization });
      else return this.fail(method, url, 401, 'UNAUTHORIZED: authentication required');
    }
    if ([301, 302, 303, 307, 308].includes(response.statusCode) && redirects > 0) {
      const location = String(response.headers['location'] ?? '');
      await response.body.dump();
      // A blob store's signed URL carries its own authorization: the registry's is not sent there.
      const next = new URL(location, url).toString();
      const plain = await this.request(method, next, headers);
      if (plain.statusCode < 400) return plain;
      return this.fail(method, next, plain.statusCode, await errorText(plain));
    }
    if (response.statusCode >= 400)
      return this.fail(method, url, response.statusCode, await errorText(response));
    return response;
  }

  private request(
    method: string,
    url: string,
    headers: Record<string, string>,
  ): Promise<Dispatcher.ResponseData> {
    return request(url, { method: method as Dispatcher.HttpMethod, headers, signal: this.signal });
  }

  private fail(method: string, url: string, status: number, detail: string): never {
    throw new RegistryError(`${method} ${url}: ${detail}`, status);
  }

  /** The Authorization value for a 401's challenge: basic with the credentials, or a token from the realm. */
  private async authorize(challenge: string): Promise<string | undefined> {
    const basic = this.credentials
      ? `Basic ${Buffer.from(`${this.credentials.username}:${this.credentials.password}`).toString('base64')}`
      : undefined;
    if (/^basic/i.test(challenge)) return basic;
    if (!/^bearer/i.test(challenge)) return undefined;
    const params = Object.fromEntries(
      [...challenge.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1] ?? '', m[2] ?? '']),
    );
    if (!params['realm']) return undefined;
    const tokenUrl = new URL(params['realm']);
    if (params['service']) tokenUrl.searchParams.set('service', params['service']);
    tokenUrl.searchParams.set('scope', params['scope'] ?? `repository:${this.reference.repository}:pull`);
    // The realm gets the credentials only when it is the registry or a host of the same domain (Docker Hub's
    // registry-1.docker.io sends them to auth.docker.io), and only over https when the registry is.
    const trusted =
      sameDomain(tokenUrl.hostname, new URL(this.base).hostname) &&
      (tokenUrl.protocol === 'https:' || new URL(this.base).protocol === 'http:');
    const response = await this.request(
      'GET',
      tokenUrl.toString(),
      basic && trusted ? { authorization: basic } : {},
    );
    if (response.statusCode >= 400) {
      return this.fail('GET', tokenUrl.toString(), response.statusCode, await errorText(response));
    }
    const body = parseJson<{ token?: unknown; access_token?: unknown }>(
      await readLimited(response.body, registryLimits.smallBodyBytes, 'the token answer'),
      'the token answer',
    );
    const token = body.token ?? body.access_token;
    return typeof token === 'string' && token ? `Bearer ${token}` : undefined;
  }
}

/**
 * The registry's error codes and messages (`MANIFEST_UNKNOWN: manifest unknown`), else the status line: a short,
 * printable reason, since it goes into the status and events (a registry may send anything in a body).
 */
async function errorText(response: Dispatcher.ResponseData): Promise<string> {
  const bytes = await readLimited(response.body, registryLimits.smallBodyBytes, 'the error body').catch(() =>
    Buffer.alloc(0),
  );
  const text = bytes.toString('utf8');
  let reason = `${response.statusCode} ${text}`;
  try {
    const body = JSON.parse(text) as { errors?: { code?: unknown; message?: unknown }[] };
    const errors = (Array.isArray(body.errors) ? body.errors : []).map(
      (e) => `${String(e.code)}: ${String(e.message)}`,
    );
    if (errors.length > 0) reason = errors.join('; ');
  } catch {
    // not JSON: the status line and the text say it
  }
  // eslint-disable-next-line no-control-regex
  const printable = reason.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim();
  return printable.length > 200 ? `${printable.slice(0, 200)}…` : printable;
}

/** Whether two hosts are one, or share their last two labels (registry-1.docker.io and auth.docker.io). */
function sameDomain(a: string, b: string): boolean {
  if (a === b) return true;
  const parent = (host: string) => host.split('.').slice(-2).join('.');
  return a.includes('.') && b.includes('.') && !/^[\d.]+$/.test(a) && parent(a) === parent(b);
}

/** The credentials of a dockerconfigjson for `registry`, if it has an entry for it. */
export function dockerConfigCredentials(json: string, registry: string): RegistryCredentials | undefined {
  const config = JSON.parse(json) as {
    auths?: Record<string, { username?: string; password?: string; auth?: string }>;
  };
  const entry = Object.entries(config.auths ?? {}).find(
    ([host]) => host.replace(/^https?:\/\//, '').replace(/\/.*$/, '') === registry,
  )?.[1];
  if (!entry) return undefined;
  if (entry.username !== undefined) return { username: entry.username, password: entry.password ?? '' };
  if (entry.auth) {
    const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
  }
  return undefined;
}

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
      const body = (await response.body.json()) as { tags?: string[] | null };
      tags.push(...(body.tags ?? []));
      const link = String(response.headers['link'] ?? '');
      path = /<([^>]+)>;\s*rel="next"/.exec(link)?.[1];
    }
    return tags;
  }

  /** The manifest a tag or digest names, and its digest (the registry's, checked when it is a digest). */
  async manifest(tagOrDigest: string): Promise<{ digest: string; manifest: OciManifest }> {
    const path = `/v2/${this.reference.repository}/manifests/${tagOrDigest}`;
    const response = await this.send('GET', path, { accept: manifestTypes.join(', ') });
    const bytes = Buffer.from(await response.body.arrayBuffer());
    const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
    if (tagOrDigest.startsWith('sha256:') && tagOrDigest !== digest) {
      throw new RegistryError(`manifest ${tagOrDigest} does not match its content (${digest})`, 0);
    }
    const manifest = JSON.parse(bytes.toString('utf8')) as OciManifest;
    if (!Array.isArray(manifest.layers)) {
      throw new RegistryError(
        `failed to parse artifact manifest: ${tagOrDigest} is not an image manifest`,
        0,
      );
    }
    return { digest, manifest };
  }

  /** Downloads a blob to `file`, checking its sha256 digest. */
  async downloadBlob(digest: string, file: string): Promise<void> {
    const response = await this.send('GET', `/v2/${this.reference.repository}/blobs/${digest}`, {});
    const hash = createHash('sha256');
    const hashing = new Transform({
      transform(chunk: Buffer, _encoding, done) {
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
    const response = await this.request('GET', tokenUrl.toString(), basic ? { authorization: basic } : {});
    if (response.statusCode >= 400) {
      return this.fail('GET', tokenUrl.toString(), response.statusCode, await errorText(response));
    }
    const body = (await response.body.json()) as { token?: string; access_token?: string };
    const token = body.token ?? body.access_token;
    return token ? `Bearer ${token}` : undefined;
  }
}

/** The registry's error codes and messages (`MANIFEST_UNKNOWN: manifest unknown`), else the status line. */
async function errorText(response: Dispatcher.ResponseData): Promise<string> {
  const text = await response.body.text().catch(() => '');
  try {
    const body = JSON.parse(text) as { errors?: { code?: string; message?: string }[] };
    const errors = (body.errors ?? []).map((e) => `${e.code}: ${e.message}`);
    if (errors.length > 0) return errors.join('; ');
  } catch {
    // not JSON: the status says it
  }
  return `${response.statusCode} ${text.trim().slice(0, 200)}`.trim();
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

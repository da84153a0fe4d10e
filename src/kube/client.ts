// The one place that talks HTTP to the Kubernetes API server. Bodies go out as the caller built them (raw
// JSON, never through typed models that drop unknown fields) and come back as plain JSON.
import { KubeConfig, RequestContext, HttpMethod } from '@kubernetes/client-node';
import { request, type Dispatcher } from 'undici';
import { createInterface } from 'node:readline';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { KubeApiError, type Status } from './errors.ts';
import { loadDefaultKubeConfig } from './incluster.ts';
import { errorMessage } from '../errors.ts';

/** What every object has; typed API objects satisfy it, so generic code can take them too. */
export interface KubeObjectHeader {
  apiVersion?: string;
  kind?: string;
  metadata?: KubeObjectMeta;
}

export interface KubeObjectMeta {
  name?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  [key: string]: unknown;
}

/** Any object, with the rest of its fields (spec, status, data…) left untyped. */
export interface KubeObject extends KubeObjectHeader {
  [key: string]: unknown;
}

export interface KubeList<T = KubeObject> {
  apiVersion?: string;
  kind?: string;
  metadata: { resourceVersion?: string; continue?: string };
  items: T[];
}

export interface WatchEvent<T = KubeObject> {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: T;
}

export type Query = Record<string, string | number | boolean | undefined>;

export interface RequestOptions {
  query?: Query;
  body?: unknown;
  contentType?: string;
  accept?: string;
  signal?: AbortSignal;
  /** How long the body may stay silent; 0 for never (undici's default is 5 minutes). */
  bodyTimeoutMs?: number;
}

export const ContentType = {
  json: 'application/json',
  mergePatch: 'application/merge-patch+json',
  jsonPatch: 'application/json-patch+json',
  apply: 'application/apply-patch+yaml',
} as const;

export interface LoadOptions {
  kubeconfig?: string;
  context?: string;
}

export class KubeClient {
  readonly server: string;
  /** The user this client acts as through impersonation; undefined for the kubeconfig's own identity. */
  readonly impersonatedUser: string | undefined;
  private readonly kubeConfig: KubeConfig;
  private readonly dispatcher: Dispatcher | undefined;
  /** A client made by impersonate() borrows its parent's connections and must not close them. */
  private readonly ownsConnections: boolean;

  private constructor(
    kubeConfig: KubeConfig,
    server: string,
    dispatcher: Dispatcher | undefined,
    impersonatedUser?: string,
  ) {
    this.kubeConfig = kubeConfig;
    this.server = server.replace(/\/$/, '');
    this.dispatcher = dispatcher;
    this.impersonatedUser = impersonatedUser;
    this.ownsConnections = impersonatedUser === undefined;
  }

  /** Loads a kubeconfig file, $KUBECONFIG, ~/.kube/config or the in-cluster service account, in that order. */
  static async load(options: LoadOptions = {}, env: NodeJS.ProcessEnv = process.env): Promise<KubeClient> {
    const kc = new KubeConfig();
    const where = options.kubeconfig ?? env.KUBECONFIG ?? '~/.kube/config';
    if (!options.kubeconfig && noKubeconfig(env)) {
      // As kubectl would otherwise try localhost:8080: say what is missing instead.
      throw new Error(
        'no kubeconfig: $KUBECONFIG is not set and ~/.kube/config does not exist; pass --kubeconfig, set KUBECONFIG, or run in a pod',
      );
    }
    try {
      if (options.kubeconfig) kc.loadFromFile(options.kubeconfig);
      else loadDefaultKubeConfig(kc, env);
    } catch (error) {
      const reason = errorMessage(error);
      throw new Error(`cannot load kubeconfig ${where}: ${reason}`, { cause: error });
    }
    if (options.context) {
      if (!kc.getContextObject(options.context)) {
        const known = kc.getContexts().map((c) => c.name);
        throw new Error(
          `context "${options.context}" not found in kubeconfig ${where}${known.length > 0 ? `; its contexts: ${known.join(', ')}` : ''}`,
        );
      }
      kc.setCurrentContext(options.context);
    }
    if (!kc.getCurrentCluster()) {
      const where = options.kubeconfig ?? process.env.KUBECONFIG ?? '~/.kube/config';
      throw new Error(`no cluster in kubeconfig ${where}: set --kubeconfig or KUBECONFIG to a valid file`);
    }
    return KubeClient.connect(kc);
  }

  /** A client for a loaded kubeconfig whose current context names a cluster. */
  static async connect(kc: KubeConfig): Promise<KubeClient> {
    const cluster = kc.getCurrentCluster();
    if (!cluster) throw new Error('the kubeconfig has no cluster for its current context');
    // One keep-alive connection pool for the client's lifetime, built by client-node from the kubeconfig's
    // TLS settings and proxy; credentials that expire (tokens, exec plugins) are refreshed per request.
    const ctx = new RequestContext(cluster.server, HttpMethod.GET);
    await kc.applySecurityAuthentication(ctx);
    return new KubeClient(kc, cluster.server, ctx.getDispatcher() as Dispatcher | undefined);
  }

  /** Who this client is to the API server, as a user would check it: the context, its user and the server. */
  get identity(): { context: string; user: string; server: string } {
    return {
      context: this.kubeConfig.getCurrentContext(),
      user: this.impersonatedUser ?? this.kubeConfig.getCurrentUser()?.name ?? '(none)',
      server: this.server,
    };
  }

  /**
   * A client that acts as `user` (the Impersonate-User header), sharing this client's connections and
   * credentials. For a service account user name the API server adds the account's groups itself.
   */
  impersonate(user: string): KubeClient {
    return new KubeClient(this.kubeConfig, this.server, this.dispatcher, user);
  }

  async request<T = unknown>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
    const response = await this.send(method, path, options);
    const text = await response.body.text();
    if (response.statusCode >= 400) {
      throw KubeApiError.fromResponse(response.statusCode, text, `${method} ${path}`);
    }
    return (text ? JSON.parse(text) : undefined) as T;
  }

  get<T = KubeObject>(path: string, query?: Query): Promise<T> {
    return this.request<T>('GET', path, { query });
  }

  create<T = KubeObject>(path: string, body: unknown, query?: Query): Promise<T> {
    return this.request<T>('POST', path, { body, query });
  }

  patch<T = KubeObject>(path: string, body: unknown, contentType: string, query?: Query): Promise<T> {
    return this.request<T>('PATCH', path, { body, contentType, query });
  }

  delete<T = Status | KubeObject>(path: string, body?: unknown, query?: Query): Promise<T> {
    return this.request<T>('DELETE', path, { body, query });
  }

  /**
   * Every item of a collection, page by page, each with its apiVersion and kind (a list of built-in kinds leaves
   * them out of the items), and the resourceVersion of the list to watch from.
   */
  async list<T extends KubeObjectHeader = KubeObject>(
    path: string,
    query: Query = {},
    signal?: AbortSignal,
  ): Promise<KubeList<T>> {
    const items: T[] = [];
    let page: KubeList<T>;
    let continueToken: string | undefined;
    do {
      page = await this.request<KubeList<T>>('GET', path, {
        query: { ...query, continue: continueToken },
        signal,
      });
      const kind = page.kind?.replace(/List$/, '');
      for (const item of page.items) {
        items.push(item.apiVersion && item.kind ? item : { apiVersion: page.apiVersion, kind, ...item });
      }
      continueToken = page.metadata.continue || undefined;
    } while (continueToken);
    return { apiVersion: page.apiVersion, kind: page.kind, metadata: page.metadata, items };
  }

  /**
   * GETs `path` and hands back the response body unread, for text the server streams (pod logs); a status of
   * 400 or more is thrown as a KubeApiError.
   */
  async stream(path: string, query: Query, signal?: AbortSignal): Promise<Readable> {
    // No body timeout: a followed log may stay quiet for longer than undici's default 5 minutes.
    const response = await this.send('GET', path, { query, signal, accept: '*/*', bodyTimeoutMs: 0 });
    if (response.statusCode >= 400) {
      throw KubeApiError.fromResponse(response.statusCode, await response.body.text(), `GET ${path}`);
    }
    return response.body;
  }

  /** Streams watch events until the server ends the watch or `signal` aborts. An ERROR event is thrown. */
  async *watch<T extends KubeObjectHeader = KubeObject>(
    path: string,
    query: Query,
    signal?: AbortSignal,
  ): AsyncGenerator<WatchEvent<T>> {
    const response = await this.send('GET', path, {
      query: { ...query, watch: true, allowWatchBookmarks: true },
      signal,
    });
    if (response.statusCode >= 400) {
      throw KubeApiError.fromResponse(response.statusCode, await response.body.text(), `WATCH ${path}`);
    }
    const lines = createInterface({ input: response.body, crlfDelay: Infinity });
    try {
      for await (const line of lines) {
        if (!line.trim()) continue;
        const event = JSON.parse(line) as WatchEvent<T>;
        if (event.type === 'ERROR') {
          const status = event.object as Status;
          throw KubeApiError.fromStatus(status, `WATCH ${path}`);
        }
        yield event;
      }
    } finally {
      lines.close();
      response.body.destroy();
    }
  }

  /** Closes the connections, ending any watch still open (a graceful close would wait for it forever). */
  async close(): Promise<void> {
    if (this.ownsConnections) await this.dispatcher?.destroy();
  }

  private async send(
    method: string,
    path: string,
    options: RequestOptions,
  ): Promise<Dispatcher.ResponseData> {
    const url = new URL(this.server + path);
    for (const [key, value] of Object.entries(options.query ?? {})) {
      if (value !== undefined) url.searchParams.set(key, String(value));
    }
    const auth: { headers?: Record<string, unknown> } = {};
    await this.kubeConfig.applyToHTTPSOptions(auth);
    const headers: Record<string, string> = { accept: options.accept ?? 'application/json' };
    for (const [key, value] of Object.entries(auth.headers ?? {})) headers[key.toLowerCase()] = String(value);
    if (this.impersonatedUser) headers['impersonate-user'] = this.impersonatedUser;
    let body: string | undefined;
    if (options.body !== undefined) {
      headers['content-type'] = options.contentType ?? ContentType.json;
      body = typeof options.body === 'string' ? options.body : JSON.stringify(options.body);
    }
    try {
      return await request(url, {
        method: method as Dispatcher.HttpMethod,
        headers,
        body,
        signal: options.signal,
        ...(options.bodyTimeoutMs !== undefined ? { bodyTimeout: options.bodyTimeoutMs } : {}),
        ...(this.dispatcher ? { dispatcher: this.dispatcher } : {}),
      });
    } catch (error) {
      if (options.signal?.aborted) throw error;
      const reason = errorMessage(error);
      throw new Error(
        `cannot reach the Kubernetes API at ${this.server} (${method} ${path}): ${reason}; is the cluster up, and is ` +
          `that the server of context "${this.kubeConfig.getCurrentContext()}"?`,
        { cause: error },
      );
    }
  }
}

/** No kubeconfig to load: none named, none at ~/.kube/config, and not in a pod. */
function noKubeconfig(env: NodeJS.ProcessEnv): boolean {
  const home = env.HOME || homedir();
  return (
    !env.KUBECONFIG &&
    !existsSync(join(home, '.kube', 'config')) &&
    !env.KUBERNETES_SERVICE_HOST &&
    !env.SLUICE_SERVICE_ACCOUNT_ROOT
  );
}

// A list+watch cache of one collection: it lists, then watches from the list's resourceVersion, resumes the
// watch after the server closes it, lists again when the resourceVersion has expired (410 Gone), and backs
// off on errors. Handlers see adds, updates and deletes; controllers react to these instead of polling.
import type { KubeClient, KubeList, KubeObjectHeader, Query } from '../kube/client.ts';
import { isGone } from '../kube/errors.ts';

export interface InformerHandlers<T> {
  added?(object: T): void;
  updated?(previous: T, object: T): void;
  deleted?(object: T): void;
}

export interface InformerOptions {
  /** Collection path, e.g. /apis/kustomize.toolkit.fluxcd.io/v1/kustomizations (all namespaces). */
  path: string;
  /** apiVersion and kind of the items: a list of built-in kinds leaves them out of each item. */
  apiVersion?: string;
  kind?: string;
  labelSelector?: string;
  fieldSelector?: string;
  /** Called with errors the informer recovers from (it retries by itself). */
  onError?(error: unknown): void;
}

export const objectKey = (o: KubeObjectHeader): string =>
  `${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`;

export class Informer<T extends KubeObjectHeader = KubeObjectHeader> {
  private readonly client: KubeClient;
  private readonly options: InformerOptions;
  private readonly cache = new Map<string, T>();
  private readonly handlers: InformerHandlers<T>[] = [];
  private readonly abort = new AbortController();
  private resourceVersion = '';
  private running: Promise<void> | undefined;

  constructor(client: KubeClient, options: InformerOptions) {
    this.client = client;
    this.options = options;
  }

  on(handlers: InformerHandlers<T>): this {
    this.handlers.push(handlers);
    return this;
  }

  /** Lists once (the cache is then complete) and keeps watching in the background until stop(). */
  async start(): Promise<void> {
    await this.relist();
    this.running = this.watchLoop();
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await this.running;
  }

  get(namespace: string | undefined, name: string): T | undefined {
    return this.cache.get(`${namespace ?? ''}/${name}`);
  }

  list(): T[] {
    return [...this.cache.values()];
  }

  private selectors(): Query {
    return { labelSelector: this.options.labelSelector, fieldSelector: this.options.fieldSelector };
  }

  private async relist(): Promise<void> {
    const seen = new Map<string, T>();
    let continueToken: string | undefined;
    let resourceVersion: string | undefined;
    do {
      const page = await this.client.get<KubeList<T>>(this.options.path, {
        ...this.selectors(),
        limit: 500,
        continue: continueToken,
      });
      for (const item of page.items) seen.set(objectKey(item), item);
      continueToken = page.metadata.continue || undefined;
      resourceVersion = page.metadata.resourceVersion;
    } while (continueToken);
    for (const [key, object] of seen) {
      object.apiVersion ??= this.options.apiVersion;
      object.kind ??= this.options.kind;
      this.store(key, object);
    }
    for (const [key, previous] of [...this.cache]) {
      if (!seen.has(key)) {
        this.cache.delete(key);
        for (const h of this.handlers) h.deleted?.(previous);
      }
    }
    this.resourceVersion = resourceVersion ?? '';
  }

  private store(key: string, object: T): void {
    const previous = this.cache.get(key);
    this.cache.set(key, object);
    if (!previous) for (const h of this.handlers) h.added?.(object);
    else if (previous.metadata?.resourceVersion !== object.metadata?.resourceVersion) {
      for (const h of this.handlers) h.updated?.(previous, object);
    }
  }

  private async watchLoop(): Promise<void> {
    let failures = 0;
    while (!this.abort.signal.aborted) {
      try {
        const events = this.client.watch<T>(
          this.options.path,
          {
            ...this.selectors(),
            resourceVersion: this.resourceVersion,
            // Spread reconnects so many informers do not all resume at once.
            timeoutSeconds: 240 + Math.floor(Math.random() * 120),
          },
          this.abort.signal,
        );
        for await (const event of events) {
          failures = 0;
          const rv = event.object.metadata?.resourceVersion;
          if (rv) this.resourceVersion = rv;
          if (event.type === 'BOOKMARK') continue;
          const key = objectKey(event.object);
          if (event.type === 'DELETED') {
            const previous = this.cache.get(key);
            this.cache.delete(key);
            for (const h of this.handlers) h.deleted?.(previous ?? event.object);
          } else {
            this.store(key, event.object);
          }
        }
      } catch (error) {
        if (this.abort.signal.aborted) return;
        if (!isGone(error)) {
          this.options.onError?.(error);
          failures++;
          await delay(Math.min(500 * 2 ** failures, 30_000), this.abort.signal);
        }
        try {
          if (!this.abort.signal.aborted) await this.relist();
        } catch (relistError) {
          this.options.onError?.(relistError);
        }
      }
    }
  }
}

function delay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

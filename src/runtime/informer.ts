// A cache of one collection, kept current by the list-then-watch loop: handlers see adds, updates and deletes,
// and controllers react to these instead of polling.
import type { KubeClient, KubeObjectHeader } from '../kube/client.ts';
import { listWatch, objectKey } from '../kube/watch.ts';
import { KubeApiError } from '../kube/errors.ts';
import { errorMessage } from '../errors.ts';

export interface InformerHandlers<T> {
  added?(object: T): void;
  updated?(previous: T, object: T): void;
  deleted?(object: T): void;
}

export interface InformerOptions {
  /** Collection path, e.g. /apis/kustomize.toolkit.fluxcd.io/v1/kustomizations (all namespaces). */
  path: string;
  labelSelector?: string;
  fieldSelector?: string;
  /** Called with errors the informer recovers from (it retries by itself). */
  onError?(error: unknown): void;
}

export class Informer<T extends KubeObjectHeader = KubeObjectHeader> {
  private readonly client: KubeClient;
  private readonly options: InformerOptions;
  private readonly cache = new Map<string, T>();
  private readonly handlers: InformerHandlers<T>[] = [];
  private readonly followers = new Map<string, Set<(object: T) => void>>();
  private readonly abort = new AbortController();
  private running: Promise<void> | undefined;

  constructor(client: KubeClient, options: InformerOptions) {
    this.client = client;
    this.options = options;
  }

  on(handlers: InformerHandlers<T>): this {
    this.handlers.push(handlers);
    return this;
  }

  /**
   * Resolves once the first list is in the cache, and keeps the cache current in the background until stop().
   * Rejects when that first list fails (e.g. the kind is not served: its CRD is not installed).
   */
  start(): Promise<void> {
    return new Promise<void>((synced, failed) => {
      const events = listWatch<T>(this.client, this.options.path, {
        labelSelector: this.options.labelSelector,
        fieldSelector: this.options.fieldSelector,
        signal: this.abort.signal,
        persistent: true,
        onRetry: (error) => this.options.onError?.(error),
      });
      this.running = (async () => {
        for await (const event of events) {
          if (event.type === 'SYNCED') synced();
          else this.deliver(event.type, event.object);
        }
        // Without effect once synced: stopped before the first list was in.
        failed(new Error(`stopped before the first list of ${this.options.path}`));
      })().catch((error: unknown) => failed(listFailure(this.options.path, error)));
    });
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await this.running;
  }

  /**
   * Calls `changed` with the cached state of one object now (if cached) and with each new state after, until
   * `signal` aborts: a wait on one object that opens no watch of its own.
   */
  follow(
    namespace: string | undefined,
    name: string,
    changed: (object: T) => void,
    signal: AbortSignal,
  ): void {
    if (signal.aborted) return;
    const key = `${namespace ?? ''}/${name}`;
    // By key, so a change costs its own followers only, however many objects are followed at once.
    const followers = this.followers.get(key) ?? new Set();
    followers.add(changed);
    this.followers.set(key, followers);
    const remove = () => {
      followers.delete(changed);
      if (followers.size === 0) this.followers.delete(key);
    };
    signal.addEventListener('abort', remove, { once: true });
    const cached = this.cache.get(key);
    if (cached) changed(cached);
  }

  get(namespace: string | undefined, name: string): T | undefined {
    return this.cache.get(`${namespace ?? ''}/${name}`);
  }

  list(): T[] {
    return [...this.cache.values()];
  }

  /** A handler that throws is reported, and does not stop the informer. */
  private deliver(type: 'ADDED' | 'MODIFIED' | 'DELETED', object: T): void {
    try {
      this.apply(type, object);
    } catch (error) {
      this.options.onError?.(error);
    }
  }

  private apply(type: 'ADDED' | 'MODIFIED' | 'DELETED', object: T): void {
    const key = objectKey(object);
    const previous = this.cache.get(key);
    if (type === 'DELETED') {
      this.cache.delete(key);
      for (const h of this.handlers) h.deleted?.(previous ?? object);
      return;
    }
    // Often the largest part of an object, and nothing that reads the cache uses it (as controller-runtime's
    // TransformStripManagedFields, which Flux's controllers use).
    if (object.metadata) delete object.metadata['managedFields'];
    this.cache.set(key, object);
    if (!previous) for (const h of this.handlers) h.added?.(object);
    else if (previous.metadata?.resourceVersion !== object.metadata?.resourceVersion) {
      for (const h of this.handlers) h.updated?.(previous, object);
    } else return;
    // A copy: a follower may stop following while followers are called.
    for (const changed of [...(this.followers.get(key) ?? [])]) changed(object);
  }
}

/** The first list's failure, saying what was listed and, for a kind that is not served, what to do. */
function listFailure(path: string, error: unknown): Error {
  const missing = error instanceof KubeApiError && error.code === 404;
  const hint = missing ? ': is its CustomResourceDefinition installed? ("sluice install" installs it)' : '';
  return new Error(`cannot list ${path}: ${errorMessage(error)}${hint}`, { cause: error });
}

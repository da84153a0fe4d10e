// The one list-then-watch loop. The informers, the health wait, waiting for an object to change or go,
// `get --watch`, `events --watch` and the development harness are all built on it: it lists (in pages), then
// watches from the list's resourceVersion with bookmarks, resumes after the server ends a watch, lists again when
// that resourceVersion has expired (410 Gone), backs off on errors, and ends when its signal aborts.
import { setTimeout as sleep } from 'node:timers/promises';
import type { KubeClient, KubeObjectHeader } from './client.ts';
import { KubeApiError, isGone } from './errors.ts';

/**
 * A change of the collection, or SYNCED: the events so far describe the whole collection (after each list).
 * A list after the first one is turned into the events that bring the consumer up to date with it.
 */
export type CollectionEvent<T> = { type: 'ADDED' | 'MODIFIED' | 'DELETED'; object: T } | { type: 'SYNCED' };

export interface ListWatchOptions {
  labelSelector?: string;
  fieldSelector?: string;
  /** Ends the loop (quietly: the generator returns). */
  signal: AbortSignal;
  /**
   * Retry every error after the first list, as an informer must (a CRD re-installed, RBAC restored). Otherwise
   * an error that retrying cannot fix (401, 403, 404) ends the loop with that error, as a wait needs.
   */
  persistent?: boolean;
  /** An error the loop recovers from by itself, and how long it waits before trying again. */
  onRetry?(error: unknown, delayMs: number): void;
}

/** Errors a retry cannot fix: the credentials, the permissions, or the kind itself are wrong. */
const permanent = (error: unknown): boolean =>
  error instanceof KubeApiError && [401, 403, 404].includes(error.code);

const PAGE_SIZE = 500;
const MAX_BACKOFF_MS = 30_000;

export const objectKey = (o: KubeObjectHeader): string =>
  `${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`;

/**
 * Lists and watches the collection at `path` until `signal` aborts. An error before the first list has
 * succeeded is thrown (a kind that is not served, a forbidden namespace), except a 429, which is waited out as
 * the server asks; after that, errors are retried with a capped exponential backoff (see `persistent`).
 */
export async function* listWatch<T extends KubeObjectHeader>(
  client: KubeClient,
  path: string,
  options: ListWatchOptions,
): AsyncGenerator<CollectionEvent<T>, void> {
  const { signal } = options;
  const selectors = { labelSelector: options.labelSelector, fieldSelector: options.fieldSelector };
  const known = new Map<string, T>();
  let resourceVersion: string | undefined;
  let listed = false;
  let failures = 0;
  while (!signal.aborted) {
    try {
      if (resourceVersion === undefined) {
        const list = await client.list<T>(path, { ...selectors, limit: PAGE_SIZE }, signal);
        yield* catchUp(known, list.items);
        yield { type: 'SYNCED' };
        listed = true;
        resourceVersion = list.metadata.resourceVersion ?? '';
      }
      // Spread so that many watchers do not all reconnect at the same moment.
      const timeoutSeconds = 240 + Math.floor(Math.random() * 120);
      let received = false;
      for await (const event of client.watch<T>(
        path,
        { ...selectors, resourceVersion, timeoutSeconds },
        signal,
      )) {
        received = true;
        failures = 0;
        resourceVersion = event.object.metadata?.resourceVersion || resourceVersion;
        if (event.type === 'BOOKMARK' || event.type === 'ERROR') continue;
        const key = objectKey(event.object);
        if (event.type === 'DELETED') known.delete(key);
        else known.set(key, event.object);
        yield { type: event.type, object: event.object };
      }
      // A watch that ends without a single event or bookmark (a proxy closing idle connections, a draining
      // server) is retried after a backoff, not at once in a tight loop.
      if (!received) throw new Error(`the watch of ${path} ended at once`);
    } catch (error) {
      if (signal.aborted) return;
      if (isGone(error)) {
        resourceVersion = undefined; // too old to watch from: list again
        continue;
      }
      const tooManyRequests = error instanceof KubeApiError && error.code === 429;
      if (!listed && !tooManyRequests) throw error;
      if (!options.persistent && permanent(error)) throw error;
      failures++;
      const delayMs = tooManyRequests
        ? (error.status?.details?.retryAfterSeconds ?? 1) * 1000
        : Math.min(500 * 2 ** (failures - 1), MAX_BACKOFF_MS);
      options.onRetry?.(error, delayMs);
      await sleep(delayMs, undefined, { signal }).catch(() => undefined);
    }
  }
}

/** The events that turn what the consumer knows into `items`: new, changed (by resourceVersion) and gone. */
function* catchUp<T extends KubeObjectHeader>(
  known: Map<string, T>,
  items: T[],
): Generator<CollectionEvent<T>> {
  const listed = new Map(items.map((item) => [objectKey(item), item]));
  for (const [key, previous] of [...known]) {
    if (listed.has(key)) continue;
    known.delete(key);
    yield { type: 'DELETED', object: previous };
  }
  for (const [key, item] of listed) {
    const previous = known.get(key);
    known.set(key, item);
    if (!previous) yield { type: 'ADDED', object: item };
    else if (previous.metadata?.resourceVersion !== item.metadata?.resourceVersion) {
      yield { type: 'MODIFIED', object: item };
    }
  }
}

/**
 * The states of one object of a collection: its state once listed (undefined: it does not exist), then its
 * state after each change, until `signal` aborts.
 */
export async function* objectStates<T extends KubeObjectHeader>(
  client: KubeClient,
  collectionPath: string,
  name: string,
  options: Omit<ListWatchOptions, 'fieldSelector' | 'labelSelector'>,
): AsyncGenerator<T | undefined, void> {
  let current: T | undefined;
  let synced = false;
  for await (const event of listWatch<T>(client, collectionPath, {
    ...options,
    fieldSelector: `metadata.name=${name}`,
  })) {
    if (event.type === 'SYNCED') synced = true;
    else current = event.type === 'DELETED' ? undefined : event.object;
    if (synced) yield current;
  }
}

/**
 * Waits until `done` accepts the state of the named object (undefined: it does not exist) and returns that
 * state; throws the signal's reason when it aborts first.
 */
export async function waitForState<T extends KubeObjectHeader>(
  client: KubeClient,
  collectionPath: string,
  name: string,
  done: (object: T | undefined) => boolean,
  signal: AbortSignal,
): Promise<T | undefined> {
  for await (const state of objectStates<T>(client, collectionPath, name, { signal })) {
    if (done(state)) return state;
  }
  signal.throwIfAborted();
  throw new Error(`the watch of ${collectionPath}/${name} ended`);
}

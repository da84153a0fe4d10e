// Reads and writes objects of any kind by their identity (apiVersion, kind, namespace, name), resolving the
// REST path through discovery. Server-side apply sends the object exactly as given.
import { ContentType, type KubeClient, type KubeObject, type KubeObjectHeader } from './client.ts';
import { isNotFound } from './errors.ts';
import { objectStates, waitForState } from './watch.ts';
import { RestMapper, resourcePath, type ResourceMapping } from './discovery.ts';

export interface ObjectRef {
  apiVersion: string;
  kind: string;
  namespace?: string;
  name: string;
}

export interface ApplyOptions {
  fieldManager: string;
  /** Take ownership of fields other managers own (Flux always does). */
  force?: boolean;
  dryRun?: boolean;
}

export type PropagationPolicy = 'Background' | 'Foreground' | 'Orphan';

export const refOf = (object: KubeObjectHeader): ObjectRef => ({
  apiVersion: object.apiVersion ?? '',
  kind: object.kind ?? '',
  namespace: object.metadata?.namespace,
  name: object.metadata?.name ?? '',
});

/** "Kind/namespace/name", or "Kind/name" when cluster-scoped: how Flux names objects in messages. */
export const describeRef = (ref: ObjectRef): string =>
  ref.namespace ? `${ref.kind}/${ref.namespace}/${ref.name}` : `${ref.kind}/${ref.name}`;

export class ObjectClient {
  readonly client: KubeClient;
  readonly mapper: RestMapper;

  constructor(client: KubeClient, mapper: RestMapper = new RestMapper(client)) {
    this.client = client;
    this.mapper = mapper;
  }

  mapping(ref: Pick<ObjectRef, 'apiVersion' | 'kind'>): Promise<ResourceMapping> {
    return this.mapper.mapping(ref.apiVersion, ref.kind);
  }

  async path(ref: ObjectRef): Promise<string> {
    return `${await this.collectionPath(ref)}/${ref.name}`;
  }

  /** The live object, or undefined when it does not exist. */
  async get<T extends KubeObject = KubeObject>(ref: ObjectRef): Promise<T | undefined> {
    try {
      return await this.client.get<T>(await this.path(ref));
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  async apply<T extends KubeObject = KubeObject>(object: KubeObject, options: ApplyOptions): Promise<T> {
    return this.client.patch<T>(await this.path(refOf(object)), object, ContentType.apply, {
      fieldManager: options.fieldManager,
      force: options.force ?? true,
      dryRun: options.dryRun ? 'All' : undefined,
    });
  }

  async patch<T extends KubeObject = KubeObject>(
    ref: ObjectRef,
    patch: unknown,
    contentType: string,
  ): Promise<T> {
    return this.client.patch<T>(await this.path(ref), patch, contentType);
  }

  /** Deletes the object; false when it was already gone. */
  async delete(ref: ObjectRef, propagationPolicy: PropagationPolicy = 'Background'): Promise<boolean> {
    try {
      await this.client.delete(await this.path(ref), {
        apiVersion: 'v1',
        kind: 'DeleteOptions',
        propagationPolicy,
      });
      return true;
    } catch (error) {
      if (isNotFound(error)) return false;
      throw error;
    }
  }

  /** The collection the object belongs to (its namespace's, for a namespaced kind). */
  async collectionPath(ref: Pick<ObjectRef, 'apiVersion' | 'kind' | 'namespace'>): Promise<string> {
    const mapping = await this.mapping(ref);
    return resourcePath(mapping, mapping.namespaced ? ref.namespace : undefined);
  }

  /** The object's state once listed (undefined: absent), then after every change, until `signal` aborts. */
  async *states<T extends KubeObject = KubeObject>(
    ref: ObjectRef,
    signal: AbortSignal,
  ): AsyncGenerator<T | undefined, void> {
    yield* objectStates<T>(this.client, await this.collectionPath(ref), ref.name, { signal });
  }

  /**
   * Waits, on a watch, until `done` accepts the object's state (undefined: it does not exist), and returns that
   * state; throws the signal's reason when it aborts first.
   */
  async waitFor<T extends KubeObject = KubeObject>(
    ref: ObjectRef,
    done: (object: T | undefined) => boolean,
    signal: AbortSignal,
  ): Promise<T | undefined> {
    return waitForState(this.client, await this.collectionPath(ref), ref.name, done, signal);
  }

  async waitUntilGone(ref: ObjectRef, signal: AbortSignal): Promise<void> {
    await this.waitFor(ref, (object) => object === undefined, signal);
  }
}

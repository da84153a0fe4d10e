// Maps apiVersion+kind to REST resources (the RESTMapper), from aggregated discovery: two requests describe
// every group, version and resource. A kind that is not known triggers one refresh (it may be a CRD that was
// just established) before it is reported as missing.
import type { KubeClient, KubeObject } from './client.ts';

export interface ResourceMapping {
  group: string;
  version: string;
  kind: string;
  /** Plural resource name used in paths, e.g. "deployments". */
  resource: string;
  namespaced: boolean;
}

interface DiscoveryList {
  items: {
    metadata: { name?: string };
    versions: {
      version: string;
      resources: { resource: string; scope: 'Namespaced' | 'Cluster'; responseKind: { kind: string } }[];
    }[];
  }[];
}

const AGGREGATED =
  'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList';

/** The API server does not serve this apiVersion/kind: usually a CRD that is not installed. */
export class NoKindMatchError extends Error {
  readonly apiVersion: string;
  readonly kind: string;
  constructor(apiVersion: string, kind: string) {
    super(
      `no matches for kind "${kind}" in version "${apiVersion}": is its CustomResourceDefinition installed?`,
    );
    this.name = 'NoKindMatchError';
    this.apiVersion = apiVersion;
    this.kind = kind;
  }
}

export function splitApiVersion(apiVersion: string): { group: string; version: string } {
  const slash = apiVersion.indexOf('/');
  return slash < 0
    ? { group: '', version: apiVersion }
    : { group: apiVersion.slice(0, slash), version: apiVersion.slice(slash + 1) };
}

/** Whether a kind is namespaced, or undefined when it is not known: what defaulting a namespace needs. */
export interface KindScopes {
  isNamespaced(apiVersion: string, kind: string): Promise<boolean | undefined>;
}

export class RestMapper implements KindScopes {
  private readonly client: KubeClient;
  private mappings = new Map<string, ResourceMapping>();
  private loading: Promise<void> | undefined;
  private loadedAt = 0;

  constructor(client: KubeClient) {
    this.client = client;
  }

  async mapping(apiVersion: string, kind: string): Promise<ResourceMapping> {
    const key = `${apiVersion}/${kind}`;
    let found = this.mappings.get(key);
    // Refresh at most once a second, so a burst of unknown kinds costs one discovery round.
    if (!found && Date.now() - this.loadedAt > 1000) {
      await this.refresh();
      found = this.mappings.get(key);
    }
    if (!found) throw new NoKindMatchError(apiVersion, kind);
    return found;
  }

  async mappingFor(object: KubeObject): Promise<ResourceMapping> {
    return this.mapping(object.apiVersion ?? '', object.kind ?? '');
  }

  async isNamespaced(apiVersion: string, kind: string): Promise<boolean | undefined> {
    try {
      return (await this.mapping(apiVersion, kind)).namespaced;
    } catch (error) {
      if (error instanceof NoKindMatchError) return undefined;
      throw error;
    }
  }

  /**
   * Waits until discovery serves the kind: the API server publishes a CRD's kinds a moment after the CRD
   * reports Established.
   */
  async waitForKind(apiVersion: string, kind: string, signal: AbortSignal): Promise<void> {
    for (let delay = 50; ; delay = Math.min(delay * 2, 1000)) {
      await this.refresh();
      if (this.mappings.has(`${apiVersion}/${kind}`)) return;
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(resolve, delay);
        signal.addEventListener(
          'abort',
          () => {
            clearTimeout(timer);
            reject(signal.reason);
          },
          { once: true },
        );
      });
    }
  }

  /** Reloads discovery; concurrent callers share one request. */
  refresh(): Promise<void> {
    this.loading ??= this.load().finally(() => {
      this.loading = undefined;
    });
    return this.loading;
  }

  private async load(): Promise<void> {
    const [core, groups] = await Promise.all([
      this.client.request<DiscoveryList>('GET', '/api', { accept: AGGREGATED }),
      this.client.request<DiscoveryList>('GET', '/apis', { accept: AGGREGATED }),
    ]);
    const next = new Map<string, ResourceMapping>();
    for (const group of [...core.items, ...groups.items]) {
      const groupName = group.metadata.name ?? '';
      for (const { version, resources } of group.versions) {
        for (const r of resources) {
          const apiVersion = groupName ? `${groupName}/${version}` : version;
          next.set(`${apiVersion}/${r.responseKind.kind}`, {
            group: groupName,
            version,
            kind: r.responseKind.kind,
            resource: r.resource,
            namespaced: r.scope === 'Namespaced',
          });
        }
      }
    }
    this.mappings = next;
    this.loadedAt = Date.now();
  }
}

/** The REST path of a collection (no name) or of one object. */
export function resourcePath(mapping: ResourceMapping, namespace?: string, name?: string): string {
  let path = mapping.group ? `/apis/${mapping.group}/${mapping.version}` : `/api/${mapping.version}`;
  if (mapping.namespaced && namespace) path += `/namespaces/${encodeURIComponent(namespace)}`;
  path += `/${mapping.resource}`;
  if (name) path += `/${encodeURIComponent(name)}`;
  return path;
}

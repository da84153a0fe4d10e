// A Job's pods and their container logs, read through the API server (pods/log): shared by `sluice logs` and
// the controller's report of a failed Job.
import type { Readable } from 'node:stream';
import type { KubeClient, KubeList, KubeObject, KubeObjectMeta, Query } from './client.ts';
import { isNotFound } from './errors.ts';

interface NamedMeta extends KubeObjectMeta {
  name: string;
  namespace: string;
  creationTimestamp?: string;
}

export interface Job extends KubeObject {
  metadata: NamedMeta;
  spec?: { selector?: { matchLabels?: Record<string, string> } };
  status?: { conditions?: { type: string; status: string }[] };
}

/** How a container ended. */
export interface ContainerTerminated {
  exitCode?: number;
  signal?: number;
  reason?: string;
  message?: string;
  finishedAt?: string;
}

export interface ContainerStatus {
  name: string;
  state?: { terminated?: ContainerTerminated };
  lastState?: { terminated?: ContainerTerminated };
}

export interface ContainerSpec {
  name: string;
  env?: { name?: string; value?: string; valueFrom?: { secretKeyRef?: { name?: string } } }[];
  envFrom?: { secretRef?: { name?: string } }[];
}

export interface Pod extends KubeObject {
  metadata: NamedMeta;
  spec?: {
    initContainers?: ContainerSpec[];
    containers?: ContainerSpec[];
    volumes?: {
      secret?: { secretName?: string };
      projected?: { sources?: { secret?: { name?: string } }[] };
    }[];
  };
  status?: {
    phase?: string;
    reason?: string;
    message?: string;
    initContainerStatuses?: ContainerStatus[];
    containerStatuses?: ContainerStatus[];
  };
}

export async function getJob(client: KubeClient, namespace: string, name: string): Promise<Job | undefined> {
  try {
    return await client.get<Job>(`/apis/batch/v1/namespaces/${namespace}/jobs/${name}`);
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}

/** The label selector of a Job's pods: its own selector, or the controller-uid label every Job's pods carry. */
export function jobPodSelector(job: Job): string {
  const labels = job.spec?.selector?.matchLabels;
  if (labels && Object.keys(labels).length > 0) {
    return Object.entries(labels)
      .map(([key, value]) => `${key}=${value}`)
      .join(',');
  }
  return `batch.kubernetes.io/controller-uid=${job.metadata.uid ?? ''}`;
}

/** Pods oldest first, so a Job's retries come in the order they ran. */
export function podsInRunOrder(pods: readonly Pod[]): Pod[] {
  const created = (pod: Pod) => pod.metadata.creationTimestamp ?? '';
  return [...pods].sort(
    (a, b) => created(a).localeCompare(created(b)) || a.metadata.name.localeCompare(b.metadata.name),
  );
}

/** A Job's pods, oldest first. */
export async function jobPods(client: KubeClient, job: Job): Promise<Pod[]> {
  const pods = await client.get<KubeList<Pod>>(`/api/v1/namespaces/${job.metadata.namespace}/pods`, {
    labelSelector: jobPodSelector(job),
  });
  return podsInRunOrder(pods.items);
}

/** Every init container, then every container. */
export const containerNames = (pod: Pod): string[] =>
  [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])].map((c) => c.name);

/** One container's log as a stream (query: follow, tailLines, sinceSeconds, timestamps). */
export function podLog(
  client: KubeClient,
  pod: Pod,
  container: string,
  query: Query = {},
  signal?: AbortSignal,
): Promise<Readable> {
  const { namespace, name } = pod.metadata;
  return client.stream(`/api/v1/namespaces/${namespace}/pods/${name}/log`, { ...query, container }, signal);
}

/** The last `lines` lines of one container's log, as text; `signal` bounds a node that is slow to answer. */
export async function podLogTail(
  client: KubeClient,
  pod: Pod,
  container: string,
  lines: number,
  signal?: AbortSignal,
): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of await podLog(client, pod, container, { tailLines: lines }, signal)) {
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8'); // decoded whole: a chunk may end inside a character
}

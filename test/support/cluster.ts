// Access to the cluster the e2e tests run against: the local control plane (.cluster/kubeconfig), or any
// cluster named by SLUICE_TEST_KUBECONFIG.
import { after, before } from 'node:test';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { KubeClient, type KubeObject } from '../../src/kube/client.ts';
import { KubeApiError, isNotFound, isGone } from '../../src/kube/errors.ts';
import { setTimeout as delay } from 'node:timers/promises';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const localKubeconfig = path.join(repoRoot, '.cluster', 'kubeconfig');

export function testKubeconfig(): string {
  const file = process.env.SLUICE_TEST_KUBECONFIG || localKubeconfig;
  if (!existsSync(file)) {
    throw new Error(`no kubeconfig at ${file}: run "npm run cluster:up" or set SLUICE_TEST_KUBECONFIG`);
  }
  return file;
}

export function testClient(): Promise<KubeClient> {
  return KubeClient.load({ kubeconfig: testKubeconfig() });
}

/**
 * Gives the enclosing suite a client and a fresh namespace, deleted (with everything in it) after the suite.
 * Values are filled in by a `before` hook, so read them inside tests.
 */
export function useTestNamespace(prefix: string): { client: KubeClient; namespace: string } {
  const ctx = {} as { client: KubeClient; namespace: string };
  before(async () => {
    ctx.client = await testClient();
    ctx.namespace = await createTestNamespace(ctx.client, prefix);
  });
  after(async () => {
    if (!ctx.client) return;
    await deleteTestNamespace(ctx.client, ctx.namespace);
    await ctx.client.close();
  });
  return ctx;
}

export async function createTestNamespace(client: KubeClient, prefix: string): Promise<string> {
  const namespace = `${prefix}-${randomBytes(3).toString('hex')}`;
  await client.create('/api/v1/namespaces', {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name: namespace, labels: { 'sluice.dev/e2e': 'true' } },
  });
  return namespace;
}

export async function deleteTestNamespace(client: KubeClient, namespace: string): Promise<void> {
  try {
    await client.delete(`/api/v1/namespaces/${namespace}`, { propagationPolicy: 'Background' });
  } catch (error) {
    if (!isNotFound(error)) throw error;
  }
}

export interface WaitOptions {
  timeoutMs?: number;
  /** What is awaited, for the timeout message: "Job db-migration to complete". */
  description: string;
}

/**
 * Watches one object (by collection path and name) until `done` accepts it, and returns that state.
 * Fails after the deadline with the last state seen, so a timeout says what the object looked like.
 */
export async function waitForObject<T extends KubeObject>(
  client: KubeClient,
  collectionPath: string,
  name: string,
  done: (object: T) => boolean,
  options: WaitOptions,
): Promise<T> {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const signal = AbortSignal.timeout(timeoutMs);
  const fieldSelector = `metadata.name=${name}`;
  let last: T | undefined;
  try {
    for (;;) {
      try {
        const list = await client.get<{ metadata: { resourceVersion: string }; items: T[] }>(collectionPath, {
          fieldSelector,
        });
        last = list.items[0];
        if (last && done(last)) return last;
        for await (const event of client.watch<T>(
          collectionPath,
          { fieldSelector, resourceVersion: list.metadata.resourceVersion },
          signal,
        )) {
          if (event.type === 'BOOKMARK') continue;
          last = event.type === 'DELETED' ? undefined : event.object;
          if (last && done(last)) return last;
        }
      } catch (error) {
        if (isGone(error)) continue; // an expired resourceVersion: list again
        // A restarted apiserver answers 429 until its watch cache is filled: wait as long as it says, then retry.
        if (!(error instanceof KubeApiError && error.code === 429)) throw error;
        const seconds = error.status?.details?.retryAfterSeconds ?? 1;
        await delay(seconds * 1000, undefined, { signal });
      }
    }
  } catch (error) {
    if (!signal.aborted) throw error;
    const seen = last ? JSON.stringify({ status: last['status'] }) : 'the object did not exist';
    throw new Error(`timed out after ${timeoutMs}ms waiting for ${options.description}; last seen: ${seen}`, {
      cause: error,
    });
  }
}

interface Condition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
}

export function condition(object: KubeObject, type: string): Condition | undefined {
  const status = object['status'] as { conditions?: Condition[] } | undefined;
  return status?.conditions?.find((c) => c.type === type);
}

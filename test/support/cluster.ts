// Access to the cluster the e2e tests run against: the local control plane (SLUICE_CLUSTER_DIR, else .cluster),
// or any cluster named by SLUICE_TEST_KUBECONFIG; and a fresh namespace per suite.
import { after, before } from 'node:test';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { KubeClient } from '../../src/kube/client.ts';
import { isNotFound } from '../../src/kube/errors.ts';
import { LocalCluster } from '../../dev/cluster.ts';

export function testKubeconfig(): string {
  const file = process.env.SLUICE_TEST_KUBECONFIG || LocalCluster.fromEnvironment().kubeconfig;
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

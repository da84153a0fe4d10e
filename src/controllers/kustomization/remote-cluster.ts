// spec.kubeConfig: a Kustomization that applies to another cluster. As in Flux, the kubeconfig is read from its
// Secret on the management cluster for every pass (a rotated Secret takes effect at the next one), and the
// connections end with the pass. Apply, prune, health checks and the Jobs' pods are on the remote cluster (as the
// service account, when one is set, impersonated there); the Kustomization, its source, its dependencies,
// substituteFrom and the decryption keys stay on the management cluster.
import type { Kustomization } from '../../api/kustomization.ts';
import { KubeClient, type KubeObject } from '../../kube/client.ts';
import { remoteKubeConfig } from '../../kube/kubeconfig.ts';
import { ObjectClient } from '../../kube/objects.ts';
import { errorMessage } from '../../errors.ts';
import { ReconcileError } from '../reconcile.ts';

/** A connection to the cluster a Kustomization applies to, to close when the pass is over. */
export interface RemoteCluster {
  objects: ObjectClient;
  close(): Promise<void>;
}

/**
 * The cluster spec.kubeConfig names, acting as `account` (a service account of the Kustomization's namespace)
 * when given; undefined without spec.kubeConfig. Reads the Secret through `management`.
 */
export async function connectRemoteCluster(
  management: ObjectClient,
  ks: Kustomization,
  account: string | undefined,
): Promise<RemoteCluster | undefined> {
  const reference = ks.spec.kubeConfig;
  if (!reference) return undefined;
  if (!reference.secretRef) {
    // configMapRef is Flux's secret-less access through a cloud provider's workload identity.
    const message =
      'spec.kubeConfig.configMapRef (workload identity of a cloud provider) is not supported by sluice yet; use spec.kubeConfig.secretRef with a kubeconfig';
    throw new ReconcileError('ReconciliationFailed', message, { stalled: true });
  }
  const { name, key } = reference.secretRef;
  const id = `${ks.metadata.namespace}/${name}`;
  let secret: KubeObject | undefined;
  try {
    secret = await management.get({
      apiVersion: 'v1',
      kind: 'Secret',
      namespace: ks.metadata.namespace,
      name,
    });
  } catch (error) {
    throw failed(`unable to read KubeConfig secret '${id}' error: ${errorMessage(error)}`, error);
  }
  if (!secret) throw failed(`unable to read KubeConfig secret '${id}' error: secrets "${name}" not found`);
  const data = (secret['data'] ?? {}) as Record<string, string>;
  const chosen = key ? key : ['value', 'value.yaml'].find((k) => data[k] !== undefined);
  const encoded = chosen === undefined ? undefined : data[chosen];
  if (chosen === undefined || encoded === undefined) {
    throw failed(`KubeConfig secret '${id}' does not contain a '${key || 'value'}' key with a kubeconfig`);
  }
  let client: KubeClient;
  try {
    const text = Buffer.from(encoded, 'base64').toString('utf8');
    client = await KubeClient.connect(remoteKubeConfig(text, `Secret '${id}' key '${chosen}'`));
  } catch (error) {
    throw failed(errorMessage(error), error);
  }
  const acting = account
    ? client.impersonate(`system:serviceaccount:${ks.metadata.namespace}:${account}`)
    : client;
  return { objects: new ObjectClient(acting), close: () => client.close() };
}

function failed(message: string, cause?: unknown): ReconcileError {
  return new ReconcileError('ReconciliationFailed', message, { cause });
}

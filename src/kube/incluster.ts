// The default configuration lookup ($KUBECONFIG, ~/.kube/config, then the pod's service account), with one seam:
// $SLUICE_SERVICE_ACCOUNT_ROOT names another directory holding the service account's `token`, `ca.crt` and
// `namespace` than /var/run/secrets/kubernetes.io/serviceaccount, for tests and unusual mounts.
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { KubeConfig } from '@kubernetes/client-node';

export const defaultServiceAccountRoot = '/var/run/secrets/kubernetes.io/serviceaccount';

/** Where the service account's files are: $SLUICE_SERVICE_ACCOUNT_ROOT, else the standard mount. */
export function serviceAccountRoot(env: NodeJS.ProcessEnv = process.env): string {
  return env.SLUICE_SERVICE_ACCOUNT_ROOT || defaultServiceAccountRoot;
}

/** client-node's loadFromDefault, except that the in-cluster step reads the service account from `serviceAccountRoot`. */
export function loadDefaultKubeConfig(kc: KubeConfig, env: NodeJS.ProcessEnv = process.env): void {
  const root = env.SLUICE_SERVICE_ACCOUNT_ROOT;
  const home = env.HOME || homedir();
  if (!root || env.KUBECONFIG || existsSync(join(home, '.kube', 'config'))) {
    kc.loadFromDefault();
    return;
  }
  if (!existsSync(join(root, 'token'))) {
    throw new Error(`SLUICE_SERVICE_ACCOUNT_ROOT is set, but ${join(root, 'token')} does not exist`);
  }
  loadInCluster(kc, root, env);
}

/** client-node's loadFromCluster with the files taken from `root`: the API server from $KUBERNETES_SERVICE_HOST/PORT. */
export function loadInCluster(kc: KubeConfig, root: string, env: NodeJS.ProcessEnv = process.env): void {
  const host = env.KUBERNETES_SERVICE_HOST;
  const port = env.KUBERNETES_SERVICE_PORT;
  if (!host || !port) {
    throw new Error(
      'KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must be set for in-cluster configuration',
    );
  }
  const server = `https://${host.includes(':') ? `[${host}]` : host}:${port}`;
  kc.loadFromOptions({
    clusters: [{ name: 'inCluster', server, caFile: join(root, 'ca.crt'), skipTLSVerify: false }],
    // The token file is read again every minute, so a rotated (bound, expiring) token is picked up.
    users: [
      {
        name: 'inClusterUser',
        authProvider: { name: 'tokenFile', config: { tokenFile: join(root, 'token') } },
      },
    ],
    contexts: [{ name: 'inClusterContext', cluster: 'inCluster', user: 'inClusterUser' }],
    currentContext: 'inClusterContext',
  });
}

/** The pod's namespace, from its service account mount; undefined outside a pod. */
export function podNamespace(env: NodeJS.ProcessEnv = process.env): string | undefined {
  try {
    return readFileSync(join(serviceAccountRoot(env), 'namespace'), 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}

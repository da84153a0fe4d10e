// A kubeconfig that a Kustomization's spec.kubeConfig Secret holds, for a cluster the controller applies to but
// does not run in. It may use only what its own text holds: no files on the controller's disk (its own
// service-account token among them), no programs to run, no TLS verification turned off. Flux drops exec
// plugins and skip-verify silently (unless started with --insecure-kubeconfig-exec or -tls) and, since
// fluxcd/pkg#1281, refuses file references; sluice refuses all of them, saying which entry and why.
import { KubeConfig } from '@kubernetes/client-node';
import YAML from 'yaml';
import { parseErrorWithoutText } from '../errors.ts';

type Entry = Record<string, unknown>;

/** Loads `text` as a kubeconfig for a remote cluster; `source` (e.g. `Secret 'ns/name' key 'value'`) names it. */
export function remoteKubeConfig(text: string, source: string): KubeConfig {
  let parsed: unknown;
  try {
    parsed = YAML.parse(text);
  } catch (error) {
    throw new Error(`the kubeconfig in ${source} is not YAML: ${parseErrorWithoutText(error)}`, {
      cause: error,
    });
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new Error(`the kubeconfig in ${source} is not a YAML mapping`);
  }
  const refused = refusedEntries(parsed as Entry);
  if (refused.length > 0) {
    throw new Error(`the kubeconfig in ${source} cannot be used for a remote cluster: ${refused.join('; ')}`);
  }
  const kc = new KubeConfig();
  try {
    kc.loadFromString(text);
  } catch (error) {
    throw new Error(`the kubeconfig in ${source} cannot be loaded: ${(error as Error).message}`, {
      cause: error,
    });
  }
  const context = kc.getCurrentContext();
  if (!context || !kc.getCurrentCluster()) {
    throw new Error(
      `the kubeconfig in ${source} has no cluster for its current-context${context ? ` '${context}'` : ''}`,
    );
  }
  return kc;
}

/** What the kubeconfig asks for that a remote cluster's kubeconfig may not, one phrase per entry. */
function refusedEntries(config: Entry): string[] {
  const refused: string[] = [];
  for (const { name, cluster } of named(config['clusters'], 'cluster')) {
    if (cluster['certificate-authority'])
      refused.push(
        `cluster '${name}' references a certificate-authority file, only certificate-authority-data is supported`,
      );
    if (cluster['insecure-skip-tls-verify'] === true)
      refused.push(
        `cluster '${name}' sets insecure-skip-tls-verify; give its certificate-authority-data instead`,
      );
  }
  for (const { name, user } of named(config['users'], 'user')) {
    if (user['tokenFile'] || user['token-file'])
      refused.push(`user '${name}' references a tokenFile, only an inline token is supported`);
    if (user['client-certificate'])
      refused.push(
        `user '${name}' references a client-certificate file, only client-certificate-data is supported`,
      );
    if (user['client-key'])
      refused.push(`user '${name}' references a client-key file, only client-key-data is supported`);
    if (user['exec'])
      refused.push(`user '${name}' runs an exec credential plugin, which the controller never runs`);
    if (user['auth-provider'])
      refused.push(`user '${name}' uses an auth-provider plugin, which the controller never runs`);
  }
  return refused;
}

/** The `name`d entries of a kubeconfig list (`clusters` or `users`), each with its inner mapping. */
function named<K extends 'cluster' | 'user'>(list: unknown, key: K): ({ name: string } & Record<K, Entry>)[] {
  if (!Array.isArray(list)) return [];
  return list
    .filter((item): item is Entry => typeof item === 'object' && item !== null)
    .map((item) => {
      const inner = item[key];
      return {
        name: String(item['name'] ?? ''),
        [key]: typeof inner === 'object' && inner !== null ? inner : {},
      } as { name: string } & Record<K, Entry>;
    });
}

// The values of the Secrets a container can see (its env, envFrom and Secret volumes), so that what sluice keeps
// of a failed container (termination message, log lines) can have them taken out. A Secret that cannot be read
// means nothing is kept: sluice never stores or prints what it could not check.
import type { KubeClient } from '../kube/client.ts';
import type { Pod } from '../kube/pods.ts';
import { errorMessage } from '../errors.ts';

/**
 * The Secret names a container of the pod reads (every container when none is named): its env and envFrom, and
 * every Secret volume of the pod.
 */
export function secretNamesFor(pod: Pod, container?: string): string[] {
  const specs = [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])].filter(
    (c) => container === undefined || c.name === container,
  );
  const names = [
    ...specs.flatMap((spec) => (spec.env ?? []).map((e) => e.valueFrom?.secretKeyRef?.name)),
    ...specs.flatMap((spec) => (spec.envFrom ?? []).map((e) => e.secretRef?.name)),
    ...(pod.spec?.volumes ?? []).flatMap((v) => [
      v.secret?.secretName,
      ...(v.projected?.sources ?? []).map((s) => s.secret?.name),
    ]),
  ];
  return [...new Set(names.filter((n): n is string => Boolean(n)))];
}

/** Every value of those Secrets, decoded; or why they could not all be read. */
export async function secretValuesFor(
  client: KubeClient,
  pod: Pod,
  container?: string,
): Promise<{ values: string[] } | { withheld: string }> {
  const values: string[] = [];
  for (const name of secretNamesFor(pod, container)) {
    try {
      const secret = await client.get<{ data?: Record<string, string> }>(
        `/api/v1/namespaces/${pod.metadata.namespace}/secrets/${name}`,
      );
      for (const encoded of Object.values(secret.data ?? {})) {
        const value = Buffer.from(encoded, 'base64').toString('utf8');
        for (const plain of [value, ...value.split('\n').filter((line) => line.trim().length > 0)]) {
          values.push(...encodedForms(plain));
        }
      }
    } catch (error) {
      return {
        withheld: `the container reads Secret ${pod.metadata.namespace}/${name}, which sluice cannot read to keep its values out (${errorMessage(error)})`,
      };
    }
  }
  return { values };
}

/** A value as a container may print it: as it is, in base64 (padded, unpadded, URL-safe) and URL-encoded. */
export function encodedForms(value: string): string[] {
  const base64 = Buffer.from(value, 'utf8').toString('base64');
  const forms = [
    value,
    base64,
    base64.replace(/=+$/, ''),
    Buffer.from(value, 'utf8').toString('base64url'),
    encodeURIComponent(value),
  ];
  return [...new Set(forms)];
}

// Manifests the e2e tests commit to their git repositories, written as YAML text the way a user writes them.

export interface JobOptions {
  /** metadata.name; db-migration when unset. */
  name?: string;
  /** The image of every container. */
  image?: string;
  /** Container names; one container named migration when unset. */
  containers?: string[];
  initContainers?: string[];
  ttlSecondsAfterFinished?: number;
  activeDeadlineSeconds?: number;
  /** On the Job itself (e.g. kustomize.toolkit.fluxcd.io/ssa). */
  annotations?: Record<string, string>;
  /** On the pod template (e.g. kwok's failure label). */
  podLabels?: Record<string, string>;
  /** On the pod template (e.g. sluice.dev/run-duration). */
  podAnnotations?: Record<string, string>;
}

const block = (indent: string, key: string, map: Record<string, string> | undefined): string =>
  map && Object.keys(map).length > 0
    ? `${indent}${key}:\n${Object.entries(map)
        .map(([k, v]) => `${indent}  ${k}: ${JSON.stringify(v)}\n`)
        .join('')}`
    : '';

const containerList = (key: string, names: string[], image: string): string =>
  names.length > 0
    ? `      ${key}:\n${names.map((name) => `      - name: ${name}\n        image: ${image}\n`).join('')}`
    : '';

/** A batch/v1 Job with backoffLimit 0 and restartPolicy Never: it runs once and fails at the first failure. */
export function jobManifest(options: JobOptions = {}): string {
  const {
    name = 'db-migration',
    image = 'busybox',
    containers = ['migration'],
    initContainers = [],
  } = options;
  const podMetadata =
    block('      ', 'labels', options.podLabels) + block('      ', 'annotations', options.podAnnotations);
  return (
    `apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: ${name}\n` +
    block('  ', 'annotations', options.annotations) +
    'spec:\n' +
    (options.ttlSecondsAfterFinished === undefined
      ? ''
      : `  ttlSecondsAfterFinished: ${options.ttlSecondsAfterFinished}\n`) +
    (options.activeDeadlineSeconds === undefined
      ? ''
      : `  activeDeadlineSeconds: ${options.activeDeadlineSeconds}\n`) +
    '  backoffLimit: 0\n  template:\n' +
    (podMetadata ? `    metadata:\n${podMetadata}` : '') +
    '    spec:\n      restartPolicy: Never\n' +
    containerList('initContainers', initContainers, image) +
    containerList('containers', containers, image)
  );
}

/** The local cluster's kwok fails a Running pod with this label set to "true" (its annotations say how). */
export const KWOK_FAIL = 'pod-container-running-failed.stage.kwok.x-k8s.io';

/**
 * Pod template labels and annotations that make the local cluster's kwok fail a Job's pod the way a real container
 * fails: with this exit code, termination reason (e.g. OOMKilled) and termination message.
 */
export function failingPod(
  failure: {
    exitCode?: number;
    reason?: string;
    message?: string;
    podAnnotations?: Record<string, string>;
  } = {},
): Pick<JobOptions, 'podLabels' | 'podAnnotations'> {
  return {
    podLabels: { [KWOK_FAIL]: 'true' },
    podAnnotations: {
      [`${KWOK_FAIL}/delay`]: '200ms',
      [`${KWOK_FAIL}/jitter-delay`]: '300ms',
      ...(failure.exitCode !== undefined ? { [`${KWOK_FAIL}/exit-code`]: String(failure.exitCode) } : {}),
      ...(failure.reason ? { [`${KWOK_FAIL}/reason`]: failure.reason } : {}),
      // kwok writes it into YAML unquoted: quoted, a message may hold ": " and quotes.
      ...(failure.message ? { [`${KWOK_FAIL}/message`]: JSON.stringify(failure.message) } : {}),
      ...failure.podAnnotations,
    },
  };
}

export interface DeploymentOptions {
  /** metadata.name and the app label; web when unset. */
  name?: string;
  replicas?: number;
  minReadySeconds?: number;
  /** Container name → image; one container named after the Deployment, image example.com/web:1, when unset. */
  containers?: Record<string, string>;
}

/** An apps/v1 Deployment selecting its pods by `app: <name>`. */
export function deploymentManifest(options: DeploymentOptions = {}): string {
  const { name = 'web', replicas = 1, containers = { [name]: 'example.com/web:1' } } = options;
  return (
    `apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: ${name}\nspec:\n  replicas: ${replicas}\n` +
    (options.minReadySeconds === undefined ? '' : `  minReadySeconds: ${options.minReadySeconds}\n`) +
    `  selector:\n    matchLabels: {app: ${name}}\n  template:\n    metadata:\n      labels: {app: ${name}}\n` +
    `    spec:\n      containers:\n` +
    Object.entries(containers)
      .map(([container, image]) => `      - name: ${container}\n        image: ${image}\n`)
      .join('')
  );
}

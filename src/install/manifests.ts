// What `sluice install` puts on a cluster, built for a namespace, an image and a version: the CRDs, the
// namespace, the controller's ServiceAccount and RBAC, and its Deployment. `uninstall` and `check` find the
// same objects through the names defined here. Pure: no cluster access.
import { createHash } from 'node:crypto';
import { stringify } from 'yaml';
import { allCrds } from '../api/crds.ts';
import type { KubeObject } from '../kube/client.ts';
import { refOf, type ObjectRef } from '../kube/objects.ts';

/** The Deployment, its container's ServiceAccount, and the prefix of the ClusterRoleBinding. */
export const controllerName = 'sluice-controller';

/** The Lease the controller replicas elect a leader on (`sluice controller --enable-leader-election`). */
export const controllerLeaseName = 'sluice-controller-leader-election';

/**
 * The Lease of a controller that reconciles only `watchLabelSelector`'s objects: a shard has its own, named as
 * Flux's controllers name theirs (the first 8 hex digits of the selector's sha256 appended).
 */
export function shardLeaseName(watchLabelSelector: string | undefined): string {
  if (!watchLabelSelector) return controllerLeaseName;
  const hash = createHash('sha256').update(watchLabelSelector).digest('hex').slice(0, 8);
  return `${controllerLeaseName}-${hash}`;
}

/**
 * Node's flags for the controller: V8's young generation at 16 MiB instead of Node 24's 128 MiB, which a
 * long-running controller fills with short-lived watch and apply data; at 200 Kustomizations this took
 * its peak RSS from about 290 to 210 MiB at the same CPU time.
 */
export const controllerNodeOptions = '--max-semi-space-size=8';

/** The Dockerfile's USER: the container runs as this uid and gid, never as root. */
export const controllerUid = 65532;

/**
 * Flux's tools find a Flux install's components by `app.kubernetes.io/part-of: flux` (`flux check`, `version`,
 * `logs`, `stats`, `uninstall` all select by it); `managed-by: sluice` says which tool installed them.
 */
export const partOfLabels = {
  'app.kubernetes.io/part-of': 'flux',
  'app.kubernetes.io/managed-by': 'sluice',
} as const;

/** Where the controller keeps its artifacts in the pod (an emptyDir: they are fetched again after a restart). */
export const storagePath = '/data';

export const metricsPort = 8080;
export const healthPort = 9440;
/** Where the artifacts are served, behind the Service on port 80 (source-controller's ports). */
export const storagePort = 9090;

export interface InstallManifestOptions {
  namespace: string;
  /** The controller image, e.g. registry.example.com/sluice-controller:0.1.0. */
  image: string;
  /** The sluice version, for the version label. */
  version: string;
}

/** The image `sluice install` uses without --image: the Dockerfile built and tagged locally. */
export const defaultImage = (version: string): string => `${controllerName}:${version}`;

/** Named after the namespace too, so installs in two namespaces each keep their own binding. */
export const clusterRoleBindingName = (namespace: string): string => `${controllerName}-${namespace}`;

/** `sluice controller`'s arguments in the pod (the image's entrypoint is `sluice`). */
export function controllerArgs(): string[] {
  return [
    'controller',
    '--enable-leader-election',
    '--log-level=info',
    `--storage-path=${storagePath}`,
    '--watch-all-namespaces=true',
    `--metrics-addr=:${metricsPort}`,
    `--health-addr=:${healthPort}`,
    `--storage-addr=:${storagePort}`,
  ];
}

/** As Flux labels each component: its name and component, the install's instance (namespace) and version. */
function labels({
  namespace,
  version,
}: Pick<InstallManifestOptions, 'namespace' | 'version'>): Record<string, string> {
  return {
    'app.kubernetes.io/name': controllerName,
    'app.kubernetes.io/component': controllerName,
    'app.kubernetes.io/instance': namespace,
    ...partOfLabels,
    'app.kubernetes.io/version': version,
  };
}

export function namespaceManifest(namespace: string): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: {
      name: namespace,
      // As Flux labels flux-system: the controller's pod meets the restricted Pod Security Standard.
      labels: {
        'app.kubernetes.io/instance': namespace,
        ...partOfLabels,
        'pod-security.kubernetes.io/warn': 'restricted',
        'pod-security.kubernetes.io/warn-version': 'latest',
      },
    },
  };
}

function serviceAccount({ namespace, version }: InstallManifestOptions): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'ServiceAccount',
    metadata: { name: controllerName, namespace, labels: labels({ namespace, version }) },
  };
}

function clusterRoleBinding({ namespace, version }: InstallManifestOptions): KubeObject {
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRoleBinding',
    metadata: { name: clusterRoleBindingName(namespace), labels: labels({ namespace, version }) },
    // As Flux's kustomize-controller: it applies arbitrary manifests (any kind, any namespace), so it needs
    // cluster-admin; that also covers its Leases, Events and impersonating the Kustomizations' service accounts.
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' },
    subjects: [{ kind: 'ServiceAccount', name: controllerName, namespace }],
  };
}

function deployment({ namespace, image, version }: InstallManifestOptions): KubeObject {
  const restricted = {
    allowPrivilegeEscalation: false,
    readOnlyRootFilesystem: true,
    runAsNonRoot: true,
    capabilities: { drop: ['ALL'] },
    seccompProfile: { type: 'RuntimeDefault' },
  };
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: controllerName, namespace, labels: labels({ namespace, version }) },
    spec: {
      replicas: 1,
      // The selector is immutable: no version in it, so an upgrade is an ordinary rollout.
      selector: { matchLabels: { 'app.kubernetes.io/name': controllerName } },
      template: {
        metadata: {
          labels: labels({ namespace, version }),
          annotations: { 'prometheus.io/scrape': 'true', 'prometheus.io/port': String(metricsPort) },
        },
        spec: {
          serviceAccountName: controllerName,
          // SIGTERM aborts the reconciles in progress and releases the Lease; a minute covers a slow API server.
          terminationGracePeriodSeconds: 60,
          securityContext: {
            runAsNonRoot: true,
            runAsUser: controllerUid,
            runAsGroup: controllerUid,
            fsGroup: controllerUid,
            seccompProfile: { type: 'RuntimeDefault' },
          },
          containers: [
            {
              name: 'manager',
              image,
              imagePullPolicy: 'IfNotPresent',
              args: controllerArgs(),
              env: [
                { name: 'RUNTIME_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
                { name: 'NODE_OPTIONS', value: controllerNodeOptions },
              ],
              ports: [
                { name: 'http', containerPort: storagePort, protocol: 'TCP' },
                { name: 'http-prom', containerPort: metricsPort, protocol: 'TCP' },
                { name: 'healthz', containerPort: healthPort, protocol: 'TCP' },
              ],
              livenessProbe: { httpGet: { path: '/healthz', port: 'healthz' } },
              readinessProbe: { httpGet: { path: '/readyz', port: 'healthz' } },
              // Flux's kustomize-controller values: kustomize builds and git checkouts are the peaks.
              resources: {
                requests: { cpu: '100m', memory: '64Mi' },
                limits: { cpu: '1000m', memory: '1Gi' },
              },
              securityContext: restricted,
              volumeMounts: [
                { name: 'data', mountPath: storagePath },
                { name: 'tmp', mountPath: '/tmp' },
              ],
            },
          ],
          volumes: [
            // Bounded, so that no artifact or build fills the node's disk: the kubelet evicts the pod instead.
            { name: 'data', emptyDir: { sizeLimit: '1Gi' } },
            { name: 'tmp', emptyDir: { sizeLimit: '2Gi' } },
          ],
        },
      },
    },
  };
}

/**
 * The Service in front of the artifact server, as source-controller's: artifact URLs are
 * `http://sluice-controller.<namespace>.svc.cluster.local./<path>`, so Flux's own controllers can fetch them.
 */
function service({ namespace, version }: InstallManifestOptions): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: controllerName, namespace, labels: labels({ namespace, version }) },
    spec: {
      type: 'ClusterIP',
      selector: { 'app.kubernetes.io/name': controllerName },
      ports: [{ name: 'http', port: 80, protocol: 'TCP', targetPort: 'http' }],
    },
  };
}

/**
 * In the spirit of Flux's install: the controller may reach anything (git hosts, registries, API servers); it may be
 * reached from its own namespace (where controllers that consume its artifacts run, Flux's own beside it) and, on
 * its metrics port only, from any namespace, for scraping. So no tenant's pod reads artifacts over the Service.
 * Probes come from the kubelet, which NetworkPolicies do not restrict.
 */
function networkPolicies({ namespace, version }: InstallManifestOptions): KubeObject[] {
  const policy = (name: string, spec: Record<string, unknown>): KubeObject => ({
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name, namespace, labels: labels({ namespace, version }) },
    spec: { podSelector: { matchLabels: { 'app.kubernetes.io/name': controllerName } }, ...spec },
  });
  return [
    policy(`${controllerName}-allow-egress`, {
      policyTypes: ['Ingress', 'Egress'],
      ingress: [{ from: [{ podSelector: {} }] }],
      egress: [{}],
    }),
    policy(`${controllerName}-allow-scraping`, {
      policyTypes: ['Ingress'],
      ingress: [{ from: [{ namespaceSelector: {} }], ports: [{ port: metricsPort, protocol: 'TCP' }] }],
    }),
  ];
}

/** Everything `sluice install` applies, in reading order (the staged apply sorts them itself). */
export function installManifests(options: InstallManifestOptions): KubeObject[] {
  return [
    ...allCrds(),
    namespaceManifest(options.namespace),
    serviceAccount(options),
    clusterRoleBinding(options),
    service(options),
    ...networkPolicies(options),
    deployment(options),
  ];
}

/**
 * The controller's own objects in a namespace, in the order `uninstall` deletes them: the Deployment first (the
 * controller must stop before finalizers are removed), then its RBAC and ServiceAccount.
 */
export function componentRefs(namespace: string): ObjectRef[] {
  const options = { namespace, image: '', version: '' };
  return [
    deployment(options),
    service(options),
    ...networkPolicies(options),
    clusterRoleBinding(options),
    serviceAccount(options),
  ].map(refOf);
}

/** Objects as a multi-document YAML stream, each document starting with `---`. */
export function manifestsYaml(objects: KubeObject[]): string {
  return objects.map((o) => `---\n${stringify(o, { lineWidth: 0, aliasDuplicateObjects: false })}`).join('');
}

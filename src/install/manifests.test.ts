import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseAllDocuments } from 'yaml';
import type { KubeObject } from '../kube/client.ts';
import { controllerCommand } from '../cli/controller.ts';
import {
  clusterRoleBindingName,
  componentRefs,
  controllerArgs,
  controllerLeaseName,
  controllerUid,
  defaultImage,
  installManifests,
  manifestsYaml,
  shardLeaseName,
} from './manifests.ts';

interface Container {
  name: string;
  image: string;
  imagePullPolicy: string;
  args: string[];
  env: { name: string; valueFrom?: { fieldRef?: { fieldPath: string } } }[];
  ports: { name: string; containerPort: number }[];
  livenessProbe: { httpGet: { path: string; port: string } };
  readinessProbe: { httpGet: { path: string; port: string } };
  resources: { requests: Record<string, string>; limits: Record<string, string> };
  securityContext: Record<string, unknown>;
  volumeMounts: { name: string; mountPath: string }[];
}

interface PodSpec {
  serviceAccountName: string;
  terminationGracePeriodSeconds: number;
  securityContext: Record<string, unknown>;
  containers: Container[];
  volumes: { name: string; emptyDir?: object }[];
}

const options = { namespace: 'ops', image: 'registry.example/sluice-controller:9.9.9', version: '9.9.9' };
const byKind = (objects: KubeObject[], kind: string) => objects.filter((o) => o.kind === kind);
const one = (objects: KubeObject[], kind: string): KubeObject => {
  const found = byKind(objects, kind);
  assert.equal(found.length, 1, `expected one ${kind}`);
  return found[0] as KubeObject;
};

describe('install manifests', () => {
  const objects = installManifests(options);

  it('hold the CRDs, the namespace, the ServiceAccount, the ClusterRoleBinding, the Service, the NetworkPolicies and the Deployment', () => {
    assert.deepEqual(
      objects.map((o) => `${o.kind}/${o.metadata?.namespace ?? ''}/${o.metadata?.name}`),
      [
        'CustomResourceDefinition//gitrepositories.source.toolkit.fluxcd.io',
        'CustomResourceDefinition//ocirepositories.source.toolkit.fluxcd.io',
        'CustomResourceDefinition//kustomizations.kustomize.toolkit.fluxcd.io',
        'Namespace//ops',
        'ServiceAccount/ops/sluice-controller',
        'ClusterRoleBinding//sluice-controller-ops',
        'Service/ops/sluice-controller',
        'NetworkPolicy/ops/sluice-controller-allow-egress',
        'NetworkPolicy/ops/sluice-controller-allow-scraping',
        'Deployment/ops/sluice-controller',
      ],
    );
  });

  it('bind cluster-admin to the ServiceAccount, under a name of its own per namespace', () => {
    const binding = one(objects, 'ClusterRoleBinding');
    assert.deepEqual(binding['roleRef'], {
      apiGroup: 'rbac.authorization.k8s.io',
      kind: 'ClusterRole',
      name: 'cluster-admin',
    });
    assert.deepEqual(binding['subjects'], [
      { kind: 'ServiceAccount', name: 'sluice-controller', namespace: 'ops' },
    ]);
    assert.notEqual(clusterRoleBindingName('a'), clusterRoleBindingName('b'));
  });

  it('run one controller replica with leader election, as the non-root user of the image', () => {
    const deployment = one(objects, 'Deployment');
    // Flux's labels, which its tools select by (flux check, version, logs, stats, uninstall).
    assert.deepEqual(deployment.metadata?.labels, {
      'app.kubernetes.io/name': 'sluice-controller',
      'app.kubernetes.io/component': 'sluice-controller',
      'app.kubernetes.io/instance': 'ops',
      'app.kubernetes.io/part-of': 'flux',
      'app.kubernetes.io/managed-by': 'sluice',
      'app.kubernetes.io/version': '9.9.9',
    });
    const spec = deployment['spec'] as {
      replicas: number;
      selector: { matchLabels: Record<string, string> };
      template: { metadata: { labels: Record<string, string> }; spec: PodSpec };
    };
    assert.equal(spec.replicas, 1);
    assert.deepEqual(spec.selector.matchLabels, { 'app.kubernetes.io/name': 'sluice-controller' });
    for (const [key, value] of Object.entries(spec.selector.matchLabels))
      assert.equal(spec.template.metadata.labels[key], value);
    const pod = spec.template.spec;
    assert.equal(pod.serviceAccountName, 'sluice-controller');
    assert.ok(pod.terminationGracePeriodSeconds >= 30);
    assert.equal(pod.securityContext['runAsUser'], controllerUid);
    assert.equal(pod.securityContext['runAsNonRoot'], true);
    const [container] = pod.containers;
    assert.ok(container);
    assert.equal(container.name, 'manager');
    assert.equal(container.image, options.image);
    assert.equal(container.imagePullPolicy, 'IfNotPresent');
    assert.deepEqual(container.args.slice(0, 5), [
      'controller',
      '--enable-leader-election',
      '--log-level=info',
      '--storage-path=/data',
      '--watch-all-namespaces=true',
    ]);
    assert.deepEqual(container.env, [
      { name: 'RUNTIME_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
      { name: 'NODE_OPTIONS', value: '--max-semi-space-size=8' },
    ]);
    assert.deepEqual(
      container.ports.map((p) => [p.name, p.containerPort]),
      [
        ['http', 9090],
        ['http-prom', 8080],
        ['healthz', 9440],
      ],
    );
    assert.deepEqual(container.livenessProbe.httpGet, { path: '/healthz', port: 'healthz' });
    assert.deepEqual(container.readinessProbe.httpGet, { path: '/readyz', port: 'healthz' });
    assert.deepEqual(container.securityContext, {
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      runAsNonRoot: true,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    });
    assert.ok(container.resources.requests['memory'] && container.resources.limits['memory']);
    // A read-only root: every path written to is an emptyDir.
    const volumes = new Map(pod.volumes.map((v) => [v.name, v]));
    for (const mount of container.volumeMounts) assert.ok(volumes.get(mount.name)?.emptyDir, mount.name);
    // Bounded, so that no artifact or build can fill the node's disk.
    assert.deepEqual(volumes.get('data')?.emptyDir, { sizeLimit: '1Gi' });
    assert.deepEqual(volumes.get('tmp')?.emptyDir, { sizeLimit: '2Gi' });
    assert.deepEqual(container.volumeMounts.map((m) => m.mountPath).sort(), ['/data', '/tmp']);
  });

  it("use only flags that `sluice controller` accepts, with the probes on the container's ports", () => {
    const command = controllerCommand();
    const [verb, ...flags] = controllerArgs();
    assert.equal(verb, 'controller');
    const parsed = command.parseOptions(flags);
    assert.deepEqual(parsed, { operands: [], unknown: [] });
    const values = command.opts();
    assert.equal(values['enableLeaderElection'], true);
    assert.equal(values['watchAllNamespaces'], true);
    assert.equal(values['storagePath'], '/data');
    assert.equal(values['metricsAddr'], ':8080');
    assert.equal(values['healthAddr'], ':9440');
  });

  it('default to the image the Dockerfile builds, tagged with the version', () => {
    assert.equal(defaultImage('0.1.0'), 'sluice-controller:0.1.0');
  });

  it('export as a YAML stream that reads back as the same objects, without anchors', () => {
    const yaml = manifestsYaml(objects);
    const parsed = parseAllDocuments(yaml);
    assert.ok(Array.isArray(parsed));
    assert.deepEqual(
      parsed.map((d) => d.toJS()),
      objects,
    );
    assert.doesNotMatch(yaml, /[&*]a\d/);
  });

  it('name the components uninstall deletes, the Deployment first', () => {
    assert.deepEqual(componentRefs('ops'), [
      { apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'ops', name: 'sluice-controller' },
      { apiVersion: 'v1', kind: 'Service', namespace: 'ops', name: 'sluice-controller' },
      ...['allow-egress', 'allow-scraping'].map((policy) => ({
        apiVersion: 'networking.k8s.io/v1',
        kind: 'NetworkPolicy',
        namespace: 'ops',
        name: `sluice-controller-${policy}`,
      })),
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'ClusterRoleBinding',
        namespace: undefined,
        name: 'sluice-controller-ops',
      },
      { apiVersion: 'v1', kind: 'ServiceAccount', namespace: 'ops', name: 'sluice-controller' },
    ]);
  });

  it('let the artifact port be reached from the controller’s namespace only, and metrics from anywhere', () => {
    const [egress, scraping] = objects.filter((o) => o.kind === 'NetworkPolicy') as KubeObject[];
    const selector = { matchLabels: { 'app.kubernetes.io/name': 'sluice-controller' } };
    assert.deepEqual(egress?.['spec'], {
      podSelector: selector,
      policyTypes: ['Ingress', 'Egress'],
      ingress: [{ from: [{ podSelector: {} }] }],
      egress: [{}],
    });
    assert.deepEqual(scraping?.['spec'], {
      podSelector: selector,
      policyTypes: ['Ingress'],
      ingress: [{ from: [{ namespaceSelector: {} }], ports: [{ port: 8080, protocol: 'TCP' }] }],
    });
  });

  it('serve the artifacts behind a Service on port 80, as source-controller does', () => {
    const service = one(objects, 'Service');
    assert.deepEqual(service['spec'], {
      type: 'ClusterIP',
      selector: { 'app.kubernetes.io/name': 'sluice-controller' },
      ports: [{ name: 'http', port: 80, protocol: 'TCP', targetPort: 'http' }],
    });
  });
});

describe('shardLeaseName', () => {
  it("is the controller's Lease without a selector, and one per selector with one, named as Flux's", () => {
    assert.equal(shardLeaseName(undefined), controllerLeaseName);
    assert.equal(shardLeaseName(''), controllerLeaseName);
    const one = shardLeaseName('sharding.fluxcd.io/key=shard1');
    const two = shardLeaseName('sharding.fluxcd.io/key=shard2');
    assert.match(one, /^sluice-controller-leader-election-[0-9a-f]{8}$/);
    assert.notEqual(one, two);
    // The first 8 hex digits of sha256("sharding.fluxcd.io/key=shard1") (sha256sum), as Flux suffixes its lease ID.
    assert.equal(one, 'sluice-controller-leader-election-73fdc1be');
  });
});

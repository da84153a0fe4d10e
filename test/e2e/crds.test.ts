// The sluice CRDs on a real API server: installed by the same code as `sluice install`, they accept the seed
// manifests unmodified (v1 and v1beta2), default and validate like Flux's, and show Flux's kubectl columns.
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { parse, parseAllDocuments } from 'yaml';
import { useTestNamespace } from '../support/cluster.ts';
import { repoRoot } from '../../dev/cluster.ts';
import { installCrds } from '../../src/install/install.ts';
import { GitRepositoryApi } from '../../src/api/gitrepository.ts';
import { KustomizationApi, KustomizationV1beta2Api } from '../../src/api/kustomization.ts';
import type { ApiType, Condition, StatusCondition } from '../../src/api/meta.ts';
import { KubeApiError } from '../../src/kube/errors.ts';
import { ContentType, type KubeObject } from '../../src/kube/client.ts';

const run = promisify(execFile);
const node = path.join(repoRoot, 'node_modules', '.bin', 'node');
const cli = path.join(repoRoot, 'src', 'cli', 'main.ts');

// Seed 001 (Flux's "running pre and post-deployment jobs" guide), copied verbatim.
const seed001 = [
  `
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: app-pre-deploy
spec:
  sourceRef:
    kind: GitRepository
    name: my-app
  path: "./pre-deploy/"
  interval: 60m
  timeout: 5m
  prune: true
  wait: true
  force: true
`,
  `
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: app-deploy
spec:
  dependsOn:
    - name: app-pre-deploy
  sourceRef:
    kind: GitRepository
    name: my-app
  path: "./deploy/"
  interval: 60m
  timeout: 5m
  prune: true
  wait: true
`,
  `
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: app-post-deploy
spec:
  dependsOn:
    - name: app-deploy
  sourceRef:
    kind: GitRepository
    name: my-app
  path: "./post-deploy/"
  interval: 60m
  timeout: 5m
  prune: true
  wait: true
  force: true
`,
].map((text) => parse(text) as KubeObject);

// Seed 000 (Flux's older "running Jobs" page), copied verbatim: v1beta2, source in flux-system.
const seed000 = [
  `
apiVersion: kustomize.toolkit.fluxcd.io/v1beta2
kind: Kustomization
metadata:
  name: pre
spec:
  interval: 1m
  path: ./pre/
  prune: true
  wait: true
  force: true
  sourceRef:
    kind: GitRepository
    name: flux-system
    namespace: flux-system
`,
  `
apiVersion: kustomize.toolkit.fluxcd.io/v1beta2
kind: Kustomization
metadata:
  name: application
spec:
  interval: 1m
  path: ./application/
  prune: true
  sourceRef:
    kind: GitRepository
    name: flux-system
    namespace: flux-system
  dependsOn:
    - name: pre
`,
].map((text) => parse(text) as KubeObject);

const crdPath = (name: string) => `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${name}`;

interface ServedCrd {
  spec: {
    names: { shortNames: string[]; categories: string[] };
    versions: {
      name: string;
      served: boolean;
      storage: boolean;
      deprecated?: boolean;
      deprecationWarning?: string;
      additionalPrinterColumns: { name: string; jsonPath: string }[];
    }[];
  };
  status: { conditions: StatusCondition[]; storedVersions: string[] };
}

/** Expects `attempt` to be refused with 422 Invalid, and returns the fields the server named. */
async function rejectedFields(attempt: Promise<unknown>): Promise<{ fields: string[]; message: string }> {
  const error = await attempt.then(
    () => assert.fail('the API server accepted an invalid object'),
    (e: unknown) => e,
  );
  assert.ok(error instanceof KubeApiError, String(error));
  assert.equal(error.code, 422, error.message);
  assert.equal(error.reason, 'Invalid');
  return { fields: error.causes.map((c) => c.field ?? ''), message: error.message };
}

describe('sluice CRDs on the API server', () => {
  const ctx = useTestNamespace('e2e-crds');
  const collection = (api: ApiType) =>
    `/apis/${api.group}/${api.version}/namespaces/${ctx.namespace}/${api.plural}`;
  const installed: string[] = [];

  before(async () => {
    await installCrds(ctx.client, { timeoutMs: 60_000, log: (line) => installed.push(line) });
  });

  it('installs the CRDs and waits until each is established', () => {
    assert.equal(installed[0], '► installing CRDs');
    for (const name of [
      'gitrepositories.source.toolkit.fluxcd.io',
      'ocirepositories.source.toolkit.fluxcd.io',
      'kustomizations.kustomize.toolkit.fluxcd.io',
    ]) {
      assert.ok(installed.includes(`✔ CustomResourceDefinition/${name} established`), installed.join('\n'));
    }
  });

  it('applies again without changing anything (server-side apply is idempotent)', async () => {
    const lines: string[] = [];
    await installCrds(ctx.client, { timeoutMs: 60_000, log: (line) => lines.push(line) });
    assert.deepEqual(
      lines.filter((line) => line.startsWith('CustomResourceDefinition/')),
      [
        'CustomResourceDefinition/gitrepositories.source.toolkit.fluxcd.io unchanged',
        'CustomResourceDefinition/kustomizations.kustomize.toolkit.fluxcd.io unchanged',
        'CustomResourceDefinition/ocirepositories.source.toolkit.fluxcd.io unchanged',
      ],
    );
  });

  it('serves the names, versions and printer columns kubectl get shows for Flux', async () => {
    const ks = await ctx.client.get<ServedCrd>(crdPath('kustomizations.kustomize.toolkit.fluxcd.io'));
    assert.deepEqual(ks.spec.names.shortNames, ['ks']);
    assert.deepEqual(ks.spec.names.categories, ['all', 'fluxcd', 'fluxcd-appliers']);
    assert.deepEqual(
      ks.spec.versions.map((v) => [v.name, v.served, v.storage, v.deprecated ?? false]),
      [
        ['v1', true, true, false],
        ['v1beta2', true, false, true],
      ],
    );
    assert.match(ks.spec.versions[1]?.deprecationWarning ?? '', /deprecated/);
    assert.deepEqual(ks.status.storedVersions, ['v1']);
    for (const v of ks.spec.versions) {
      assert.deepEqual(
        v.additionalPrinterColumns.map((c) => c.name),
        ['Age', 'Ready', 'Status'],
      );
    }
    const git = await ctx.client.get<ServedCrd>(crdPath('gitrepositories.source.toolkit.fluxcd.io'));
    assert.deepEqual(git.spec.names.shortNames, ['gitrepo']);
    assert.deepEqual(
      git.spec.versions[0]?.additionalPrinterColumns.map((c) => [c.name, c.jsonPath]),
      [
        ['URL', '.spec.url'],
        ['Age', '.metadata.creationTimestamp'],
        ['Ready', '.status.conditions[?(@.type=="Ready")].status'],
        ['Status', '.status.conditions[?(@.type=="Ready")].message'],
      ],
    );
    for (const crd of [ks, git]) {
      const established = crd.status.conditions.find((c) => c.type === 'Established');
      assert.equal(established?.status, 'True');
    }
  });

  it("accepts seed 001's v1 Kustomizations unmodified and reads them back with Flux's defaults", async () => {
    for (const manifest of seed001) await ctx.client.create(collection(KustomizationApi), manifest);
    for (const manifest of seed001) {
      const name = manifest.metadata?.name ?? '';
      const stored = await ctx.client.get(`${collection(KustomizationApi)}/${name}`);
      const written = manifest['spec'] as Record<string, unknown>;
      // force is the only spec field the CRD defaults; app-deploy leaves it out.
      assert.deepEqual(stored['spec'], { force: false, ...written }, name);
      // The status default shows on every read, before any controller has written status.
      assert.deepEqual(stored['status'], { observedGeneration: -1 }, name);
    }
  });

  it("accepts seed 000's v1beta2 Kustomizations unmodified and serves them at v1 too", async () => {
    for (const manifest of seed000) {
      const created = await ctx.client.create(collection(KustomizationV1beta2Api), manifest);
      assert.equal(created.apiVersion, 'kustomize.toolkit.fluxcd.io/v1beta2');
    }
    for (const manifest of seed000) {
      const name = manifest.metadata?.name ?? '';
      const written = manifest['spec'] as Record<string, unknown>;
      const asV1 = await ctx.client.get(`${collection(KustomizationApi)}/${name}`);
      assert.equal(asV1.apiVersion, 'kustomize.toolkit.fluxcd.io/v1');
      assert.deepEqual(asV1['spec'], { force: false, ...written }, name);
      assert.deepEqual(asV1['status'], { observedGeneration: -1 }, name);
      const asV1beta2 = await ctx.client.get(`${collection(KustomizationV1beta2Api)}/${name}`);
      assert.equal(asV1beta2.apiVersion, 'kustomize.toolkit.fluxcd.io/v1beta2');
      assert.deepEqual(asV1beta2['spec'], asV1['spec'], name);
    }
  });

  it('accepts the fields only v1beta2 had, and drops them when storing the object as v1', async () => {
    await ctx.client.create(collection(KustomizationV1beta2Api), {
      apiVersion: 'kustomize.toolkit.fluxcd.io/v1beta2',
      kind: 'Kustomization',
      metadata: { name: 'legacy' },
      spec: {
        interval: '5m',
        prune: false,
        sourceRef: { kind: 'GitRepository', name: 'flux-system' },
        validation: 'client',
        patchesStrategicMerge: [{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x' } }],
        patchesJson6902: [
          { target: { kind: 'ConfigMap', name: 'x' }, patch: [{ op: 'add', path: '/data/a', value: 'b' }] },
        ],
      },
    });
    const stored = await ctx.client.get(`${collection(KustomizationApi)}/legacy`);
    assert.deepEqual(stored['spec'], {
      interval: '5m',
      prune: false,
      force: false,
      sourceRef: { kind: 'GitRepository', name: 'flux-system' },
    });
  });

  it("defaults a GitRepository's clone timeout to 60s", async () => {
    await ctx.client.create(collection(GitRepositoryApi), {
      apiVersion: 'source.toolkit.fluxcd.io/v1',
      kind: 'GitRepository',
      metadata: { name: 'my-app' },
      spec: { url: 'https://github.com/org/my-app', interval: '1m', ref: { branch: 'main' } },
    });
    const stored = await ctx.client.get(`${collection(GitRepositoryApi)}/my-app`);
    assert.deepEqual(stored['spec'], {
      url: 'https://github.com/org/my-app',
      interval: '1m',
      ref: { branch: 'main' },
      timeout: '60s',
    });
    assert.deepEqual(stored['status'], { observedGeneration: -1 });
  });

  it('takes status only through the status subresource, and validates the conditions written there', async () => {
    const path = `${collection(KustomizationApi)}/status-only`;
    await ctx.client.create(collection(KustomizationApi), {
      apiVersion: 'kustomize.toolkit.fluxcd.io/v1',
      kind: 'Kustomization',
      metadata: { name: 'status-only' },
      spec: { interval: '1m', prune: true, sourceRef: { kind: 'GitRepository', name: 'my-app' } },
      status: { observedGeneration: 7, lastAppliedRevision: 'main@sha1:abc' },
    });
    assert.deepEqual((await ctx.client.get(path))['status'], { observedGeneration: -1 });

    const ready: Condition = {
      type: 'Ready',
      status: 'True',
      observedGeneration: 1,
      lastTransitionTime: '2026-01-01T00:00:00Z',
      reason: 'ReconciliationSucceeded',
      message: 'Applied revision: main@sha1:abc',
    };
    const written = await ctx.client.patch(
      `${path}/status`,
      { status: { observedGeneration: 1, conditions: [ready], lastAppliedRevision: 'main@sha1:abc' } },
      ContentType.mergePatch,
    );
    assert.deepEqual(written['status'], {
      observedGeneration: 1,
      conditions: [ready],
      lastAppliedRevision: 'main@sha1:abc',
    });

    const bad = { status: { conditions: [{ ...ready, status: 'Yes', reason: 'not a reason' }] } };
    const { fields } = await rejectedFields(ctx.client.patch(`${path}/status`, bad, ContentType.mergePatch));
    for (const field of ['status.conditions[0].reason', 'status.conditions[0].status']) {
      assert.ok(fields.includes(field), `${JSON.stringify(fields)} does not name ${field}`);
    }
  });

  describe('rejects invalid objects with 422, naming the field', () => {
    const source = { kind: 'GitRepository', name: 'my-app' };
    const kustomization = (api: ApiType, spec: object) => ({
      apiVersion: api.apiVersion,
      kind: api.kind,
      metadata: { name: 'invalid' },
      spec,
    });
    const cases: { title: string; api: ApiType; object: object; field: string; message: RegExp }[] = [
      {
        title: 'a v1 Kustomization with interval "5 minutes"',
        api: KustomizationApi,
        object: kustomization(KustomizationApi, { interval: '5 minutes', prune: true, sourceRef: source }),
        field: 'spec.interval',
        message: /spec\.interval: Invalid value: "5 minutes": .*should match/,
      },
      {
        title: 'a v1beta2 Kustomization with interval "5 minutes"',
        api: KustomizationV1beta2Api,
        object: kustomization(KustomizationV1beta2Api, {
          interval: '5 minutes',
          prune: true,
          sourceRef: source,
        }),
        field: 'spec.interval',
        message: /should match/,
      },
      {
        title: 'a Kustomization without prune',
        api: KustomizationApi,
        object: kustomization(KustomizationApi, { interval: '5m', sourceRef: source }),
        field: 'spec.prune',
        message: /spec\.prune: Required value/,
      },
      {
        title: 'a Kustomization whose source is a HelmRepository',
        api: KustomizationApi,
        object: kustomization(KustomizationApi, {
          interval: '5m',
          prune: true,
          sourceRef: { kind: 'HelmRepository', name: 'charts' },
        }),
        field: 'spec.sourceRef.kind',
        message: /Unsupported value: "HelmRepository"/,
      },
      {
        title: 'a Kustomization with both kubeConfig references',
        api: KustomizationApi,
        object: kustomization(KustomizationApi, {
          interval: '5m',
          prune: true,
          sourceRef: source,
          kubeConfig: { secretRef: { name: 'a' }, configMapRef: { name: 'b' } },
        }),
        field: 'spec.kubeConfig',
        message: /exactly one of kubeConfig\.secretRef and kubeConfig\.configMapRef/,
      },
      {
        title: 'a GitRepository with the scp-like URL git@github.com:x/y',
        api: GitRepositoryApi,
        object: {
          apiVersion: GitRepositoryApi.apiVersion,
          kind: GitRepositoryApi.kind,
          metadata: { name: 'invalid' },
          spec: { url: 'git@github.com:x/y', interval: '1m' },
        },
        field: 'spec.url',
        message: /spec\.url: Invalid value: "git@github\.com:x\/y"/,
      },
      {
        title: 'a GitRepository with a clone timeout in hours',
        api: GitRepositoryApi,
        object: {
          apiVersion: GitRepositoryApi.apiVersion,
          kind: GitRepositoryApi.kind,
          metadata: { name: 'invalid' },
          spec: { url: 'https://github.com/x/y', interval: '1m', timeout: '1h' },
        },
        field: 'spec.timeout',
        message: /spec\.timeout: Invalid value: "1h"/,
      },
    ];
    for (const { title, api, object, field, message } of cases) {
      it(title, async () => {
        const rejected = await rejectedFields(ctx.client.create(collection(api), object));
        assert.ok(
          rejected.fields.includes(field),
          `${JSON.stringify(rejected.fields)} does not name ${field}`,
        );
        assert.match(rejected.message, message);
      });
    }
  });

  // `sluice install` itself also installs the controller (namespace, RBAC, Deployment), so it runs on a cluster
  // of its own: test/e2e/install.test.ts.
  it('sluice install --export prints the three CRDs as YAML, before the controller', async () => {
    const { stdout } = await run(node, [cli, 'install', '--export'], { cwd: repoRoot });
    const documents = parseAllDocuments(stdout);
    assert.ok(Array.isArray(documents), 'the output is not a YAML stream');
    const objects = documents.map((d) => d.toJS() as KubeObject);
    assert.deepEqual(
      objects.slice(0, 3).map((o) => [o.kind, o.metadata?.name]),
      [
        ['CustomResourceDefinition', 'gitrepositories.source.toolkit.fluxcd.io'],
        ['CustomResourceDefinition', 'ocirepositories.source.toolkit.fluxcd.io'],
        ['CustomResourceDefinition', 'kustomizations.kustomize.toolkit.fluxcd.io'],
      ],
    );
  });
});

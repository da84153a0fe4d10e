import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseAllDocuments } from 'yaml';
import type { CrdVersion, CustomResourceDefinition, JsonSchema } from './crd-schema.ts';
import { allCrds, crdsYaml } from './crds.ts';
import { durationPattern, parseDuration, shortDurationPattern } from './duration.ts';

function crd(name: string): CustomResourceDefinition {
  const found = allCrds().find((c) => c.metadata.name === name);
  assert.ok(found, `no CRD named ${name}`);
  return found;
}

function version(definition: CustomResourceDefinition, name: string): CrdVersion {
  const found = definition.spec.versions.find((v) => v.name === name);
  assert.ok(found, `${definition.metadata.name} has no version ${name}`);
  return found;
}

/** Follows a dotted path of property names ("spec.sourceRef.kind") through a schema. */
function field(schema: JsonSchema, dotted: string): JsonSchema {
  let node = schema;
  for (const name of dotted.split('.')) {
    const next = name === '[]' ? node.items : node.properties?.[name];
    assert.ok(next, `no ${name} in ${dotted}`);
    node = next;
  }
  return node;
}

const root = (definition: CustomResourceDefinition, versionName: string) =>
  version(definition, versionName).schema.openAPIV3Schema;

/** Every node of a schema with its dotted path, for the structural checks. */
function* nodes(schema: JsonSchema, at = ''): Generator<[string, JsonSchema]> {
  yield [at, schema];
  for (const [name, child] of Object.entries(schema.properties ?? {})) yield* nodes(child, `${at}.${name}`);
  if (schema.items) yield* nodes(schema.items, `${at}[]`);
  if (schema.additionalProperties) yield* nodes(schema.additionalProperties, `${at}{}`);
}

const gitRepositories = 'gitrepositories.source.toolkit.fluxcd.io';
const kustomizations = 'kustomizations.kustomize.toolkit.fluxcd.io';

describe('CRDs', () => {
  it('are the GitRepository, OCIRepository and Kustomization CRDs, sources first', () => {
    assert.deepEqual(
      allCrds().map((c) => c.metadata.name),
      [gitRepositories, 'ocirepositories.source.toolkit.fluxcd.io', kustomizations],
    );
  });

  it('name GitRepository like Flux', () => {
    const { group, names, scope } = crd(gitRepositories).spec;
    assert.equal(group, 'source.toolkit.fluxcd.io');
    assert.equal(scope, 'Namespaced');
    assert.deepEqual(names, {
      kind: 'GitRepository',
      listKind: 'GitRepositoryList',
      plural: 'gitrepositories',
      singular: 'gitrepository',
      shortNames: ['gitrepo'],
      categories: ['all', 'fluxcd', 'fluxcd-sources'],
    });
  });

  it('name Kustomization like Flux', () => {
    const { group, names, scope } = crd(kustomizations).spec;
    assert.equal(group, 'kustomize.toolkit.fluxcd.io');
    assert.equal(scope, 'Namespaced');
    assert.deepEqual(names, {
      kind: 'Kustomization',
      listKind: 'KustomizationList',
      plural: 'kustomizations',
      singular: 'kustomization',
      shortNames: ['ks'],
      categories: ['all', 'fluxcd', 'fluxcd-appliers'],
    });
  });

  it('serve GitRepository v1 only, as the storage version with a status subresource', () => {
    const versions = crd(gitRepositories).spec.versions;
    assert.deepEqual(
      versions.map((v) => [v.name, v.served, v.storage]),
      [['v1', true, true]],
    );
    assert.deepEqual(versions[0]?.subresources, { status: {} });
  });

  it('serve Kustomization v1 (storage) and a deprecated v1beta2, converted by relabelling', () => {
    const spec = crd(kustomizations).spec;
    assert.deepEqual(spec.conversion, { strategy: 'None' });
    assert.deepEqual(
      spec.versions.map((v) => [v.name, v.served, v.storage, v.deprecated ?? false]),
      [
        ['v1', true, true, false],
        ['v1beta2', true, false, true],
      ],
    );
    assert.match(version(crd(kustomizations), 'v1beta2').deprecationWarning ?? '', /v1beta2.*deprecated.*v1/);
    for (const v of spec.versions) assert.deepEqual(v.subresources, { status: {} });
  });

  it('show the printer columns kubectl get prints for Flux', () => {
    const ready = '.status.conditions[?(@.type=="Ready")]';
    assert.deepEqual(version(crd(gitRepositories), 'v1').additionalPrinterColumns, [
      { name: 'URL', type: 'string', jsonPath: '.spec.url' },
      { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
      { name: 'Ready', type: 'string', jsonPath: `${ready}.status` },
      { name: 'Status', type: 'string', jsonPath: `${ready}.message` },
    ]);
    for (const v of crd(kustomizations).spec.versions) {
      assert.deepEqual(v.additionalPrinterColumns, [
        { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
        { name: 'Ready', type: 'string', jsonPath: `${ready}.status` },
        { name: 'Status', type: 'string', jsonPath: `${ready}.message` },
      ]);
    }
  });

  it('require url and interval on a GitRepository', () => {
    assert.deepEqual(field(root(crd(gitRepositories), 'v1'), 'spec').required, ['interval', 'url']);
  });

  it('require interval, prune and sourceRef on a Kustomization, in both versions', () => {
    for (const v of ['v1', 'v1beta2']) {
      const schema = root(crd(kustomizations), v);
      assert.deepEqual(field(schema, 'spec').required, ['interval', 'prune', 'sourceRef'], v);
      assert.deepEqual(field(schema, 'spec.sourceRef').required, ['kind', 'name'], v);
      assert.deepEqual(
        field(schema, 'spec.sourceRef.kind').enum,
        ['GitRepository', 'OCIRepository', 'Bucket', 'ExternalArtifact'],
        v,
      );
    }
  });

  it('default status to observedGeneration -1', () => {
    for (const definition of allCrds()) {
      for (const v of definition.spec.versions) {
        assert.deepEqual(field(v.schema.openAPIV3Schema, 'status').default, { observedGeneration: -1 });
      }
    }
  });

  it('default force to false, substituteFrom optional to false, and the clone timeout to 60s', () => {
    const ks = root(crd(kustomizations), 'v1');
    assert.equal(field(ks, 'spec.force').default, false);
    assert.equal(field(ks, 'spec.postBuild.substituteFrom.[].optional').default, false);
    const git = root(crd(gitRepositories), 'v1');
    assert.equal(field(git, 'spec.timeout').default, '60s');
    assert.equal(field(git, 'spec.verify.mode').default, 'HEAD');
  });

  it('check durations with the pattern parseDuration implements', () => {
    const ks = root(crd(kustomizations), 'v1');
    for (const name of ['interval', 'retryInterval', 'timeout']) {
      assert.equal(field(ks, `spec.${name}`).pattern, durationPattern, name);
    }
    const git = root(crd(gitRepositories), 'v1');
    assert.equal(field(git, 'spec.interval').pattern, durationPattern);
    assert.equal(field(git, 'spec.timeout').pattern, shortDurationPattern);
    assert.equal(new RegExp(shortDurationPattern).test('1h'), false);
    const pattern = new RegExp(durationPattern);
    for (const sample of ['1m30s', '1.5h', '500ms', '5 minutes', '1d', '', '.5s', '10']) {
      let parses = true;
      try {
        parseDuration(sample);
      } catch {
        parses = false;
      }
      assert.equal(parses, pattern.test(sample), `parseDuration and the CRD pattern disagree on "${sample}"`);
    }
  });

  it('accept only http, https and ssh GitRepository URLs', () => {
    const url = new RegExp(field(root(crd(gitRepositories), 'v1'), 'spec.url').pattern ?? '');
    assert.ok(url.test('https://github.com/org/repo'));
    assert.ok(url.test('ssh://git@github.com/org/repo'));
    assert.equal(url.test('git@github.com:org/repo'), false);
  });

  it('accept every v1 field in v1beta2, plus the fields only v1beta2 had', () => {
    const v1 = field(root(crd(kustomizations), 'v1'), 'spec').properties ?? {};
    const v1beta2 = field(root(crd(kustomizations), 'v1beta2'), 'spec').properties ?? {};
    for (const [name, schema] of Object.entries(v1)) assert.deepEqual(v1beta2[name], schema, name);
    assert.deepEqual(
      Object.keys(v1beta2).filter((name) => !(name in v1)),
      ['patchesStrategicMerge', 'patchesJson6902', 'validation'],
    );
    assert.deepEqual(
      field(root(crd(kustomizations), 'v1beta2'), 'status'),
      field(root(crd(kustomizations), 'v1'), 'status'),
    );
  });

  it('are structural: every node typed, free-form content only in the v1beta2 inline patches', () => {
    const freeForm: string[] = [];
    for (const definition of allCrds()) {
      for (const v of definition.spec.versions) {
        for (const [at, node] of nodes(v.schema.openAPIV3Schema)) {
          const where = `${definition.spec.names.kind} ${v.name} ${at || '(root)'}`;
          if (node['x-kubernetes-preserve-unknown-fields']) freeForm.push(where);
          else assert.ok(node.type, `${where} has no type`);
          if (node.properties)
            assert.equal(node.type, 'object', `${where} has properties but is not an object`);
          if (node.items) assert.equal(node.type, 'array', `${where} has items but is not an array`);
          for (const name of node.required ?? []) {
            assert.ok(node.properties?.[name], `${where} requires ${name}, which it does not define`);
          }
        }
      }
    }
    assert.deepEqual(freeForm, [
      'Kustomization v1beta2 .spec.patchesStrategicMerge[]',
      'Kustomization v1beta2 .spec.patchesJson6902[].patch[].value',
    ]);
  });

  it('render as two YAML documents equal to the objects', () => {
    const documents = parseAllDocuments(crdsYaml());
    assert.ok(Array.isArray(documents), 'crdsYaml() is not a YAML stream');
    assert.deepEqual(
      documents.map((d) => d.toJS() as unknown),
      allCrds(),
    );
    assert.doesNotMatch(crdsYaml(), /[&*]a\d/, 'the YAML uses anchors, which kubectl users do not expect');
  });
});

import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import YAML from 'yaml';
import { findKustomizationFile, generateKustomization, isLocalRelativePath } from './generator.ts';
import { scratchDir } from '../../dev/fixtures.ts';

const scratch = await scratchDir('generator');
after(() => scratch.remove());
const { tree } = scratch;

const configMap = (name: string): string => `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\n`;
const readYaml = async (file: string): Promise<unknown> => YAML.parse(await readFile(file, 'utf8'));

describe('generateKustomization without a kustomization file', () => {
  it('lists every YAML file, and subdirectories with their own kustomization, in walk order', async () => {
    const dir = await tree({
      'a.yaml': configMap('a'),
      'sub/b.yml': configMap('b'),
      'sub/notes.txt': 'not yaml',
      'sub/data.json': '{}',
      'sub/B.YAML': 'ignored: [ (the extension is case-sensitive)',
      'base/kustomization.yaml': 'resources: [cm.yaml]\n',
      'base/cm.yaml': configMap('base'),
      'base/broken.yaml': 'not: [parsed',
      'nested/deeper/c.yaml': `${configMap('c1')}---\n# just a comment\n---\n${configMap('c2')}`,
      'list.yaml':
        'apiVersion: v1\nkind: List\nitems:\n- ' + configMap('l').replaceAll('\n', '\n  ').trimEnd() + '\n',
      'empty.yaml': '',
    });
    const result = await generateKustomization(dir, {});
    assert.equal(result.generated, true);
    assert.equal(result.file, join(dir, 'kustomization.yaml'));
    assert.deepEqual(await readYaml(result.file), {
      apiVersion: 'kustomize.config.k8s.io/v1beta1',
      kind: 'Kustomization',
      sortOptions: { order: 'fifo' },
      resources: [
        './a.yaml',
        './base',
        './empty.yaml',
        './list.yaml',
        './nested/deeper/c.yaml',
        './sub/b.yml',
      ],
    });
  });

  it('writes namespace: _placeholder when there are no manifests', async () => {
    for (const dir of [await tree({}), await tree({ 'README.md': '# docs', 'x.json': '{}' })]) {
      const result = await generateKustomization(dir, {});
      assert.deepEqual(await readYaml(result.file), {
        apiVersion: 'kustomize.config.k8s.io/v1beta1',
        kind: 'Kustomization',
        sortOptions: { order: 'fifo' },
        namespace: '_placeholder',
      });
    }
  });

  it('lets targetNamespace replace the placeholder', async () => {
    const result = await generateKustomization(await tree({}), { targetNamespace: 'apps' });
    assert.equal(result.kustomization.namespace, 'apps');
  });

  it('fails on malformed YAML naming the file and line', async () => {
    const root = await tree({
      'deploy/job.yaml': 'apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: j\n  name: k\n',
    });
    await assert.rejects(generateKustomization(join(root, 'deploy'), {}, { root }), {
      message: 'failed to decode Kubernetes YAML from deploy/job.yaml:5:3: duplicate key "name"',
    });
    const syntax = await tree({ 'bad.yaml': `${configMap('ok')}---\nkind: [\n` });
    await assert.rejects(
      generateKustomization(syntax, {}),
      /^Error: failed to decode Kubernetes YAML from bad\.yaml:7:1: /,
    );
  });

  it('fails on a document that is not a named Kubernetes object', async () => {
    await assert.rejects(generateKustomization(await tree({ 'x.yaml': 'kind: ConfigMap\ndata: {}\n' }), {}), {
      message: 'failed to decode Kubernetes YAML from x.yaml:1:1: missing metadata.name in ConfigMap object',
    });
    await assert.rejects(generateKustomization(await tree({ 'x.yaml': 'metadata: {name: a}\n' }), {}), {
      message: 'failed to decode Kubernetes YAML from x.yaml:1:1: missing kind in object',
    });
    await assert.rejects(
      generateKustomization(await tree({ 'x.yaml': '- a\n- b\n' }), {}),
      /x\.yaml:1:1: expected a Kubernetes object/,
    );
  });

  it('refuses a YAML symlink that leads out of the artifact root', async () => {
    const outside = await tree({ 'secret.yaml': configMap('outside') });
    const root = await tree({ 'in.yaml': configMap('in') });
    await symlink(join(outside, 'secret.yaml'), join(root, 'link.yaml'));
    await assert.rejects(
      generateKustomization(root, {}),
      /link\.yaml is a symlink to .*secret\.yaml, outside the artifact root/,
    );
  });

  it('follows a YAML symlink inside the root', async () => {
    const root = await tree({ 'real/cm.yaml': configMap('in') });
    await symlink(join(root, 'real/cm.yaml'), join(root, 'alias.yaml'));
    const result = await generateKustomization(root, {});
    assert.deepEqual(result.kustomization.resources, ['./alias.yaml', './real/cm.yaml']);
  });
});

describe('generateKustomization with a kustomization file', () => {
  it('finds kustomization.yaml, kustomization.yml and Kustomization, and rewrites that file', async () => {
    for (const name of ['kustomization.yaml', 'kustomization.yml', 'Kustomization']) {
      const dir = await tree({
        [name]: 'resources: [cm.yaml]\n',
        'cm.yaml': configMap('a'),
        'other.yaml': configMap('b'),
      });
      assert.equal(await findKustomizationFile(dir), join(dir, name));
      const result = await generateKustomization(dir, { namePrefix: 'p-' });
      assert.equal(result.generated, false);
      assert.equal(result.file, join(dir, name));
      assert.deepEqual(await readYaml(result.file), {
        apiVersion: 'kustomize.config.k8s.io/v1beta1',
        kind: 'Kustomization',
        sortOptions: { order: 'fifo' },
        namePrefix: 'p-',
        resources: ['cm.yaml'],
      });
    }
  });

  it('overlays the spec: namespace, prefix, suffix, patches, components, images, buildMetadata', async () => {
    const dir = await tree({
      'kustomization.yaml': [
        'apiVersion: kustomize.config.k8s.io/v1beta1',
        'kind: Kustomization',
        'namespace: default',
        'namePrefix: old-',
        'resources: [deploy.yaml]',
        'components: [../components/a]',
        'patches:',
        '- path: existing.yaml',
        'images:',
        '- name: nginx',
        '  newName: registry.local/nginx',
        '  newTag: "1.0"',
        '- name: redis',
        '  digest: sha256:aaaa',
        'buildMetadata: [transformerAnnotations]',
        'configMapGenerator:',
        '- name: kept',
        '  literals: [a=b]',
        '',
      ].join('\n'),
    });
    const result = await generateKustomization(dir, {
      targetNamespace: 'apps',
      namePrefix: 'new-',
      nameSuffix: '-v2',
      patches: [
        {
          patch: '- op: add\n  path: /metadata/labels/x\n  value: y\n',
          target: { kind: 'Deployment', name: 'web' },
        },
        { patch: 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: kept\n', target: {} },
      ],
      components: ['../components/b'],
      images: [
        { name: 'nginx', digest: 'sha256:bbbb' },
        { name: 'redis', newName: 'cache/redis', newTag: '7' },
        { name: 'postgres', newTag: '16' },
      ],
      buildMetadata: ['originAnnotations'],
    });
    assert.deepEqual(await readYaml(result.file), {
      apiVersion: 'kustomize.config.k8s.io/v1beta1',
      kind: 'Kustomization',
      sortOptions: { order: 'fifo' },
      namespace: 'apps',
      namePrefix: 'new-',
      nameSuffix: '-v2',
      resources: ['deploy.yaml'],
      components: ['../components/a', '../components/b'],
      patches: [
        { path: 'existing.yaml' },
        {
          patch: '- op: add\n  path: /metadata/labels/x\n  value: y\n',
          target: { kind: 'Deployment', name: 'web' },
        },
        { patch: 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: kept\n' },
      ],
      images: [
        { name: 'nginx', newName: 'registry.local/nginx', digest: 'sha256:bbbb' },
        { name: 'redis', newName: 'cache/redis', newTag: '7' },
        { name: 'postgres', newTag: '16' },
      ],
      buildMetadata: ['originAnnotations'],
      configMapGenerator: [{ name: 'kept', literals: ['a=b'] }],
    });
  });

  it('adds buildMetadata originAnnotations to a file without resources', async () => {
    const dir = await tree({ 'kustomization.yaml': 'configMapGenerator:\n- name: a\n  literals: [x=y]\n' });
    const result = await generateKustomization(dir, {});
    assert.deepEqual(result.kustomization.buildMetadata, ['originAnnotations']);
    const empty = await tree({ 'kustomization.yaml': '# nothing yet\n' });
    assert.deepEqual((await generateKustomization(empty, {})).kustomization, {
      apiVersion: 'kustomize.config.k8s.io/v1beta1',
      kind: 'Kustomization',
      buildMetadata: ['originAnnotations'],
      sortOptions: { order: 'fifo' },
    });
  });

  it('keeps a YAML 1.1 string a string when writing the file back', async () => {
    const dir = await tree({
      'kustomization.yaml': 'resources: [a.yaml]\ncommonLabels: {enabled: "yes", mode: "0644"}\n',
    });
    const { file } = await generateKustomization(dir, { nameSuffix: 'on' });
    const text = await readFile(file, 'utf8');
    assert.match(text, /enabled: "yes"/);
    assert.match(text, /mode: "0644"/);
    assert.match(text, /nameSuffix: "on"/);
  });

  it('reports a malformed kustomization file with its name and line', async () => {
    const root = await tree({ 'app/kustomization.yaml': 'resources:\n- a.yaml\nresources: []\n' });
    await assert.rejects(generateKustomization(join(root, 'app'), {}, { root }), {
      message: 'app/kustomization.yaml:3:1: duplicate key "resources"',
    });
    const list = await tree({ 'kustomization.yaml': '- a\n' });
    await assert.rejects(
      generateKustomization(list, {}),
      /kustomization\.yaml:1:1: a kustomization file must be a YAML mapping/,
    );
  });

  it('rejects components that are remote or absolute', async () => {
    for (const component of [
      'https://github.com/org/repo//c',
      'github.com/org/repo',
      'git@github.com:o/r',
      '/abs/c',
    ]) {
      await assert.rejects(generateKustomization(await tree({}), { components: [component] }), {
        message: `component path '${component}' must be local and relative`,
      });
    }
  });

  it('drops missing components when ignoreMissingComponents is set, and keeps them otherwise', async () => {
    const files = { 'cm.yaml': configMap('a'), 'components/present/kustomization.yaml': 'kind: Component\n' };
    const kept = await generateKustomization(await tree(files), {
      components: ['components/present', 'components/missing'],
    });
    assert.deepEqual(kept.kustomization.components, ['components/present', 'components/missing']);
    const dropped = await generateKustomization(await tree(files), {
      components: ['components/present', 'components/missing'],
      ignoreMissingComponents: true,
    });
    assert.deepEqual(dropped.kustomization.components, ['components/present']);
  });
});

describe('isLocalRelativePath', () => {
  const cases: [string, boolean][] = [
    ['foobar.yaml', true],
    ['./foobar.yaml', true],
    ['../shared/component', true],
    ['file://foobar.yaml', true],
    ['file:///foobar.yaml', false],
    ['/foobar.yaml', false],
    ['https://github.com/owner/repo', false],
    ['HTTP://example.com/x', false],
    ['git@github.com:owner/repo', false],
    ['ssh://git@github.com/owner/repo', false],
    ['github.com/owner/repo', false],
    ['gh:owner/repo', false],
  ];
  for (const [path, expected] of cases) {
    it(`${path} → ${expected}`, () => assert.equal(isLocalRelativePath(path), expected));
  }
});

// Runs the real kustomize compiled to WebAssembly (from SLUICE_KUSTOMIZE_WASM or the local build cache: `npm run
// cluster:build`).
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readdir, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KubeObject } from '../kube/client.ts';
import { findKustomizeModule, kustomizeBuild, securePath, warmUpKustomize } from './build.ts';
import { generateKustomization, type KustomizationOverlay } from './generator.ts';
import { scratchDir } from '../../dev/fixtures.ts';

const scratch = await scratchDir('build');
after(() => scratch.remove());
const { tree } = scratch;

const configMap = (name: string, data = 'a: "1"'): string =>
  `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\ndata:\n  ${data}\n`;
const deployment = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 1
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: nginx:1.25
`;

/** What the reconciler does: secure-join spec.path, write the kustomization file, build. */
async function build(root: string, path: string, spec: KustomizationOverlay = {}): Promise<KubeObject[]> {
  const dir = await securePath(root, path);
  await generateKustomization(dir, spec, { root });
  return kustomizeBuild(dir, { root });
}

const names = (objects: KubeObject[]): string[] =>
  objects.map((o) => `${o.kind}/${o.metadata?.namespace ?? ''}/${o.metadata?.name}`);

describe('kustomizeBuild with the real kustomize', () => {
  it('finds the module', async () => {
    assert.match(await findKustomizeModule(), /kustomize\.wasm$/);
  });

  it('builds a plain directory of YAML files through a generated kustomization', async () => {
    const root = await tree({
      'apps/cm.yaml': configMap('settings', 'mode: 0644'),
      'apps/deploy/web.yaml': deployment,
      'apps/README.md': 'not a manifest',
    });
    const objects = await build(root, './apps');
    assert.deepEqual(names(objects).sort(), ['ConfigMap//settings', 'Deployment//web']);
    const settings = objects.find((o) => o.kind === 'ConfigMap');
    assert.deepEqual(settings?.data, { mode: 420 });
  });

  it('applies targetNamespace, namePrefix, nameSuffix and images', async () => {
    const root = await tree({ 'cm.yaml': configMap('settings'), 'web.yaml': deployment });
    const objects = await build(root, '', {
      targetNamespace: 'apps',
      namePrefix: 'pre-',
      nameSuffix: '-suf',
      images: [{ name: 'nginx', newName: 'registry.local/nginx', newTag: '1.27' }],
    });
    assert.deepEqual(names(objects).sort(), [
      'ConfigMap/apps/pre-settings-suf',
      'Deployment/apps/pre-web-suf',
    ]);
    const web = objects.find((o) => o.kind === 'Deployment') as {
      spec: { template: { spec: { containers: { image: string }[] } } };
    };
    assert.equal(web.spec.template.spec.containers[0]?.image, 'registry.local/nginx:1.27');
  });

  it('applies patches from the spec on top of the kustomization file', async () => {
    const root = await tree({
      'kustomization.yaml': 'resources: [web.yaml]\nnamespace: apps\n',
      'web.yaml': deployment,
    });
    const objects = await build(root, '.', {
      patches: [
        { patch: 'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: 3\n' },
        {
          patch: '- op: add\n  path: /metadata/labels\n  value: {tier: frontend}\n',
          target: { kind: 'Deployment', name: 'web' },
        },
      ],
    });
    const [web] = objects as { metadata: { labels?: Record<string, string> }; spec: { replicas: number } }[];
    assert.equal(web?.spec.replicas, 3);
    assert.deepEqual(web?.metadata.labels, { tier: 'frontend' });
  });

  it('loads bases outside the path but inside the artifact root', async () => {
    const root = await tree({
      'base/kustomization.yaml': 'resources: [cm.yaml]\n',
      'base/cm.yaml': configMap('shared'),
      'overlays/prod/kustomization.yaml': 'resources: [../../base]\nnamePrefix: prod-\n',
    });
    assert.deepEqual(names(await build(root, 'overlays/prod')), ['ConfigMap//prod-shared']);
  });

  it('reports kustomize errors as "kustomize build failed: …"', async () => {
    const root = await tree({ 'kustomization.yaml': 'resources: [missing.yaml]\n' });
    await assert.rejects(
      build(root, ''),
      /^Error: kustomize build failed: accumulating resources: .*missing\.yaml/,
    );
  });

  it('reports malformed YAML with its file and line', async () => {
    const generated = await tree({
      'app/job.yaml': `${configMap('ok')}---\nkind: Job\nmetadata: {name: j}\nmetadata: {}\n`,
    });
    await assert.rejects(build(generated, 'app'), {
      message: 'failed to decode Kubernetes YAML from app/job.yaml:10:1: duplicate key "metadata"',
    });
    const listed = await tree({
      'app/kustomization.yaml': 'resources: [cm.yaml]\n',
      'app/cm.yaml': 'kind: [\n',
    });
    await assert.rejects(build(listed, 'app'), /^Error: kustomize build failed: app\/cm\.yaml:2:1: /);
  });
});

describe('securePath', () => {
  it('joins relative paths onto the real root', async () => {
    const root = await tree({ 'apps/prod/cm.yaml': configMap('a') });
    assert.equal(await securePath(root, 'apps/prod'), join(root, 'apps/prod'));
    assert.equal(await securePath(root, './apps/prod/'), join(root, 'apps/prod'));
    assert.equal(await securePath(root, 'apps/../apps/prod'), join(root, 'apps/prod'));
    assert.equal(await securePath(root, ''), root);
    assert.equal(await securePath(root), root);
  });

  it('refuses .. escapes and absolute paths', async () => {
    const root = await tree({ 'apps/cm.yaml': configMap('a') });
    for (const path of ['..', '../other', 'apps/../../other', './../x']) {
      await assert.rejects(securePath(root, path), {
        message: `kustomization path '${path}' points outside the artifact root`,
      });
    }
    await assert.rejects(
      securePath(root, '/etc'),
      /kustomization path '\/etc' must be relative to the artifact root/,
    );
  });

  it('refuses a symlink that leads outside the root, and follows one that stays inside', async () => {
    const outside = await tree({ 'cm.yaml': configMap('outside') });
    const root = await tree({ 'real/cm.yaml': configMap('inside') });
    await symlink(outside, join(root, 'escape'));
    await symlink(join(root, 'real'), join(root, 'alias'));
    await assert.rejects(
      securePath(root, 'escape'),
      /kustomization path 'escape' leads through a symlink to .*, outside the artifact root/,
    );
    await assert.rejects(securePath(root, 'alias/../escape'), /outside the artifact root/);
    assert.equal(await securePath(root, 'alias'), join(root, 'real'));
  });

  it('says when the path does not exist or is not a directory', async () => {
    const root = await tree({ 'cm.yaml': configMap('a') });
    await assert.rejects(securePath(root, 'nope'), {
      message: "kustomization path not found: 'nope' does not exist in the artifact",
    });
    await assert.rejects(securePath(root, 'cm.yaml'), {
      message: "kustomization path 'cm.yaml' is not a directory",
    });
  });
});

describe('kustomizeBuild reference checks', () => {
  const remotes: [string, string][] = [
    ['resources', 'https://github.com/org/repo//deploy?ref=v1.0.0'],
    ['resources', 'github.com/org/repo/deploy'],
    ['resources', 'git@github.com:org/repo.git'],
    ['resources', 'gitlab.example.com/org/repo/deploy'],
    ['resources', 'file:///tmp/some/repo'],
    ['components', 'ssh://git@example.com/org/repo.git//c'],
    ['bases', 'gh:org/repo'],
  ];
  for (const [field, entry] of remotes) {
    it(`refuses the remote ${field} entry ${entry}`, async () => {
      const root = await tree({ 'app/kustomization.yaml': `${field}:\n- ${entry}\n` });
      await assert.rejects(kustomizeBuild(join(root, 'app'), { root }), {
        message:
          `kustomize build failed: app/kustomization.yaml: ${field} entry '${entry}' is a remote base, and a build ` +
          'makes no network requests (copy it into the repository, or include its GitRepository with spec.include)',
      });
    });
  }

  it('finds a remote base in a nested local base', async () => {
    const root = await tree({
      'overlay/kustomization.yaml': 'resources: [../base]\n',
      'base/kustomization.yaml': 'resources:\n- cm.yaml\n- https://example.com/manifests.yaml\n',
      'base/cm.yaml': configMap('a'),
    });
    await assert.rejects(
      kustomizeBuild(join(root, 'overlay'), { root }),
      /base\/kustomization\.yaml: resources entry 'https:\/\/example\.com\/manifests\.yaml' is a remote base/,
    );
  });

  it('refuses local paths that leave the artifact root', async () => {
    const outside = await tree({ 'secret.yaml': configMap('secret') });
    const cases: [string, RegExp][] = [
      [
        `resources: [${join(outside, 'secret.yaml')}]`,
        /resources entry '.*secret\.yaml' points to .*, outside the artifact root/,
      ],
      ['resources: [../../outside.yaml]', /resources entry '\.\.\/\.\.\/outside\.yaml' points to/],
      [
        'configMapGenerator:\n- name: leak\n  files: [token=/etc/hostname]',
        /configMapGenerator entry '\/etc\/hostname' points to \/etc\/hostname/,
      ],
      [
        'secretGenerator:\n- name: leak\n  envs: [/etc/environment]',
        /secretGenerator entry '\/etc\/environment'/,
      ],
      ['patches:\n- path: /etc/passwd', /patches entry '\/etc\/passwd'/],
    ];
    for (const [kustomization, message] of cases) {
      const root = await tree({ 'app/kustomization.yaml': `${kustomization}\n` });
      await assert.rejects(kustomizeBuild(join(root, 'app'), { root }), message);
    }
  });

  it('refuses a resource symlink that leads out of the root', async () => {
    const outside = await tree({ 'secret.yaml': configMap('secret') });
    const root = await tree({ 'kustomization.yaml': 'resources: [leak.yaml]\n' });
    await symlink(join(outside, 'secret.yaml'), join(root, 'leak.yaml'));
    await assert.rejects(
      kustomizeBuild(root),
      /kustomization\.yaml: resources entry 'leak\.yaml' points to .*secret\.yaml, outside the artifact root/,
    );
  });

  it('confines the build to the built directory when no root is given', async () => {
    const root = await tree({
      'base/cm.yaml': configMap('a'),
      'app/kustomization.yaml': 'resources: [../base/cm.yaml]\n',
    });
    await assert.rejects(kustomizeBuild(join(root, 'app')), /outside the artifact root/);
    assert.equal((await kustomizeBuild(join(root, 'app'), { root })).length, 1);
  });
});

describe('kustomizeBuild confinement (no file outside the root, no network, no program)', () => {
  const marker = 'marker-outside-the-artifact';
  let outside: string;
  let requests = 0;
  const server = createServer((_request, response) => {
    requests += 1;
    response.end(configMap('from-the-network'));
  });
  let url: string;

  it('starts a marker file and an HTTP server outside the artifact', async () => {
    outside = join(await tree({}), 'marker.txt');
    await writeFile(outside, marker);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/cm.yaml`;
  });
  after(() => server.close());

  /** Builds `kustomization` (plus files) and expects a refusal that leaks nothing. */
  async function refused(kustomization: string, expected: RegExp, files: Record<string, string> = {}) {
    const root = await tree({ 'app/kustomization.yaml': kustomization, ...files });
    return assert.rejects(kustomizeBuild(join(root, 'app'), { root }), (error: Error) => {
      assert.match(error.message, expected);
      assert.doesNotMatch(error.message, new RegExp(marker));
      return true;
    });
  }

  it('refuses an inline generator config that reads an absolute path', async () => {
    await refused(
      `generators:\n- |-\n  apiVersion: builtin\n  kind: ConfigMapGenerator\n  metadata: {name: leak}\n  files: [t=${outside}]\n`,
      new RegExp(`'${outside}' is outside the artifact root, and a build reads only files inside it`),
    );
  });

  it('refuses a generator config file whose file is a symlink out of the root', async () => {
    const root = await tree({
      'app/kustomization.yaml': 'generators: [gen.yaml]\n',
      'app/gen.yaml':
        'apiVersion: builtin\nkind: ConfigMapGenerator\nmetadata: {name: leak}\nfiles: [t=link]\n',
    });
    await symlink(outside, join(root, 'app/link'));
    await assert.rejects(kustomizeBuild(join(root, 'app'), { root }), (error: Error) => {
      assert.match(error.message, /kustomize build failed: .*app\/link/);
      assert.doesNotMatch(error.message, new RegExp(marker));
      return true;
    });
  });

  it('refuses a transformer config that patches from a file outside', async () => {
    await refused(
      `resources: [cm.yaml]\ntransformers:\n- |-\n  apiVersion: builtin\n  kind: PatchTransformer\n  metadata: {name: p}\n  path: ${outside}\n`,
      /is outside the artifact root, and a build reads only files inside it/,
      { 'app/cm.yaml': configMap('a') },
    );
  });

  it('makes no network request for a generator file or a patch URL', async () => {
    await refused(
      `configMapGenerator:\n- name: leak\n  files: [t=${url}]\n`,
      new RegExp(`'${url}' is on the network, and a build makes no network requests`),
    );
    await refused(`resources: [cm.yaml]\npatches:\n- path: ${url}\n`, /is on the network/, {
      'app/cm.yaml': configMap('a'),
    });
    await refused(
      `generators:\n- |-\n  apiVersion: builtin\n  kind: ConfigMapGenerator\n  metadata: {name: leak}\n  envs: [${url}]\n`,
      /is on the network/,
    );
    assert.equal(requests, 0);
  });

  it('cannot fetch a remote base through a generator directory', async () => {
    await refused('generators: [gen]\n', /kustomize build failed: /, {
      'app/gen/kustomization.yaml': `resources:\n- ${url}\n- https://github.com/org/repo//deploy?ref=v1\n`,
    });
    assert.equal(requests, 0);
  });

  it('stops a build at its deadline, its output cap and its memory cap', async () => {
    const root = await tree({ 'kustomization.yaml': 'resources: [cm.yaml]\n', 'cm.yaml': configMap('a') });
    await assert.rejects(kustomizeBuild(root, { timeoutMs: 1 }), {
      message: 'kustomize build failed: timed out after 0.001s',
    });
    await assert.rejects(kustomizeBuild(root, { maxOutputBytes: 20 }), {
      message: 'kustomize build failed: its output exceeds 20 bytes',
    });
    await assert.rejects(kustomizeBuild(root, { maxMemoryBytes: 16 * 1024 * 1024 }), {
      message: 'kustomize build failed: it needed more than its memory limit of 16 MiB',
    });
    assert.equal((await kustomizeBuild(root)).length, 1);
  });

  it('stops a cancelled build', async () => {
    const root = await tree({ 'kustomization.yaml': 'resources: [cm.yaml]\n', 'cm.yaml': configMap('a') });
    await assert.rejects(kustomizeBuild(root, { signal: AbortSignal.abort() }), {
      message: 'kustomize build failed: cancelled',
    });
  });

  it("reports kustomize's refusal of an object without a name", async () => {
    const root = await tree({
      'kustomization.yaml': 'resources: [cm.yaml]\n',
      'cm.yaml': 'apiVersion: v1\nkind: ConfigMap\n',
    });
    await assert.rejects(
      kustomizeBuild(root),
      /^Error: kustomize build failed: accumulating resources: .*missing metadata\.name/,
    );
  });

  it('names a module that is not there', async () => {
    const root = await tree({ 'kustomization.yaml': '' });
    await assert.rejects(kustomizeBuild(root, { kustomizeModule: join(root, 'nope.wasm') }), {
      message: `kustomize build failed: kustomize.wasm ${join(root, 'nope.wasm')} is not a file`,
    });
  });
});

describe('warmUpKustomize', () => {
  it('builds once per process and module, and leaves nothing behind', async () => {
    const before = (await readdir(tmpdir())).filter((name) => name.startsWith('sluice-warm-up-'));
    const first = warmUpKustomize({}, 2);
    assert.equal(warmUpKustomize({}, 2), first, 'once per process and module');
    await first;
    const after = (await readdir(tmpdir())).filter((name) => name.startsWith('sluice-warm-up-'));
    assert.deepEqual(after, before);
    await warmUpKustomize({ kustomizeModule: '/nonexistent/kustomize.wasm' }, 1);
  });
});

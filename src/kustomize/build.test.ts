// Runs the real kustomize binary (from SLUICE_KUSTOMIZE, PATH or the local build cache: `npm run cluster:build`).
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { KubeObject } from '../kube/client.ts';
import { findKustomizeBinary, kustomizeBuild, securePath } from './build.ts';
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
  it('finds the binary', async () => {
    assert.match(await findKustomizeBinary(), /kustomize$/);
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
          `kustomize build failed: app/kustomization.yaml: ${field} entry '${entry}' is a remote base, and remote ` +
          'bases are not allowed (copy it into the repository, or allow remote bases)',
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

describe('kustomizeBuild process boundary', () => {
  /** An executable shell script standing in for kustomize. */
  async function fakeKustomize(script: string): Promise<string> {
    const dir = await tree({ 'bin/kustomize': `#!/bin/sh\n${script}\n` });
    const binary = join(dir, 'bin/kustomize');
    await chmod(binary, 0o755);
    return binary;
  }

  it('passes only PATH and HOME, and the build arguments, with no shell', async () => {
    const binary = await fakeKustomize(
      [
        "printf 'apiVersion: v1\\nkind: ConfigMap\\nmetadata:\\n  name: env\\ndata:\\n'",
        'for name in $(env | cut -d= -f1 | sort); do printf "  %s: seen\\n" "$name"; done',
        'printf "  args: \'%s\'\\n" "$*"',
      ].join('\n'),
    );
    const dir = await tree({});
    process.env.SLUICE_TEST_SECRET = 'do-not-leak';
    try {
      const [object] = await kustomizeBuild(dir, { kustomizeBinary: binary });
      const data = object?.data as Record<string, string>;
      assert.equal(data.SLUICE_TEST_SECRET, undefined);
      assert.equal(data.PATH, 'seen');
      assert.equal(data.HOME, 'seen');
      assert.equal(data.args, `build --load-restrictor LoadRestrictionsNone ${dir}`);
    } finally {
      delete process.env.SLUICE_TEST_SECRET;
    }
  });

  it('uses SLUICE_KUSTOMIZE when no binary is given', async () => {
    const binary = await fakeKustomize(`printf '${configMap('from-env').replaceAll('\n', '\\n')}'`);
    const saved = process.env.SLUICE_KUSTOMIZE;
    process.env.SLUICE_KUSTOMIZE = binary;
    try {
      assert.deepEqual(names(await kustomizeBuild(await tree({}))), ['ConfigMap//from-env']);
    } finally {
      if (saved === undefined) delete process.env.SLUICE_KUSTOMIZE;
      else process.env.SLUICE_KUSTOMIZE = saved;
    }
  });

  it('strips "Error: " from kustomize’s message', async () => {
    const binary = await fakeKustomize("echo 'Error: accumulating resources: boom' >&2\nexit 1");
    await assert.rejects(kustomizeBuild(await tree({}), { kustomizeBinary: binary }), {
      message: 'kustomize build failed: accumulating resources: boom',
    });
  });

  it('kills a build that runs past the timeout', async () => {
    const binary = await fakeKustomize('exec sleep 30');
    await assert.rejects(kustomizeBuild(await tree({}), { kustomizeBinary: binary, timeoutMs: 300 }), {
      message: 'kustomize build failed: timed out after 0.3s',
    });
  });

  it('caps the output', async () => {
    const binary = await fakeKustomize('head -c 200000 /dev/zero | tr "\\0" "a"');
    await assert.rejects(kustomizeBuild(await tree({}), { kustomizeBinary: binary, maxOutputBytes: 1000 }), {
      message: 'kustomize build failed: its output exceeds 1000 bytes',
    });
  });

  it('rejects output that is not named Kubernetes objects', async () => {
    const binary = await fakeKustomize("printf 'apiVersion: v1\\nkind: ConfigMap\\n'");
    const dir = await tree({});
    await assert.rejects(kustomizeBuild(dir, { kustomizeBinary: binary }), {
      message: `output of kustomize build .:1:1: failed to decode Kubernetes apiVersion, kind and name from: {"apiVersion":"v1","kind":"ConfigMap"}`,
    });
  });

  it('names a binary that cannot be run', async () => {
    const notExecutable = join(await tree({ kustomize: '#!/bin/sh\n' }), 'kustomize');
    await assert.rejects(findKustomizeBinary(notExecutable), {
      message: `kustomize binary ${notExecutable} is not an executable file`,
    });
  });
});

// `sluice build ks --dry-run` against the real `flux build ks --dry-run` (the flux CLI the suite builds) on the
// same layouts: each case says whether the two agree, both fail, or differ on purpose (a row of the README's
// table of differences), and the test fails when that changes. No cluster: both read the Kustomization from a
// file. Compared as objects: sluice masks every Secret value and puts namespaced objects that name no namespace
// into the Kustomization's, so Flux's output is read with those two differences applied.
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { mkdir } from 'node:fs/promises';
import { repoRoot } from '../../dev/cluster.ts';
import { fluxCliPath } from '../../dev/flux.ts';
import { runCommand, type CommandResult } from '../../dev/process.ts';
import { scratchDir } from '../support/files.ts';
import { parseYamlDocuments } from '../../src/kustomize/yaml.ts';
import { maskSecrets } from '../../src/cli/build.ts';
import type { KubeObject } from '../../src/kube/client.ts';

type Expectation = 'same' | 'both fail' | { differs: string };

interface Layout {
  name: string;
  files: Record<string, string>;
  /** The Kustomization's spec beyond interval, sourceRef and prune. */
  spec?: Record<string, unknown>;
  /** --path, relative to the layout. Default: app. */
  path?: string;
  /** Flags both commands get. */
  flags?: string[];
  /** Make the layout a git checkout (a .git directory at its root). */
  git?: boolean;
  expect: Expectation;
}

const cm = (name: string, data = 'key: value', extra = ''): string =>
  `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\n${extra}data:\n  ${data}\n`;
const deployment = (name: string, image = 'nginx:1.0'): string =>
  `apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: ${name}\nspec:\n  replicas: 1\n  selector:\n    matchLabels: {app: ${name}}\n  template:\n    metadata:\n      labels: {app: ${name}}\n    spec:\n      containers:\n      - name: main\n        image: ${image}\n`;
const kustomization = (body: string): string =>
  `apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n${body}`;
const childKs = (name: string, childPath: string): string =>
  `apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: ${name}\n  namespace: apps\nspec:\n  interval: 1m\n  path: ${childPath}\n  prune: true\n  sourceRef:\n    kind: GitRepository\n    name: repo\n`;

const layouts: Layout[] = [
  {
    name: 'a generated kustomization of plain files',
    files: { 'app/a.yaml': cm('a'), 'app/b.yml': cm('b') },
    expect: 'same',
  },
  {
    name: 'a generated kustomization reaching into subdirectories',
    files: { 'app/a.yaml': cm('a'), 'app/sub/b.yaml': cm('b'), 'app/sub/deeper/c.yaml': cm('c') },
    expect: 'same',
  },
  {
    name: 'a subdirectory with its own kustomization is one resource',
    files: {
      'app/a.yaml': cm('a'),
      'app/sub/kustomization.yaml': kustomization('resources: [b.yaml]\n'),
      'app/sub/b.yaml': cm('b'),
      'app/sub/unlisted.yaml': cm('unlisted'),
    },
    expect: 'same',
  },
  {
    name: 'non-YAML files are skipped',
    files: { 'app/a.yaml': cm('a'), 'app/README.md': '# notes\n', 'app/x.json': '{}' },
    expect: 'same',
  },
  {
    name: 'an existing kustomization.yaml',
    files: {
      'app/kustomization.yaml': kustomization('resources: [a.yaml]\n'),
      'app/a.yaml': cm('a'),
      'app/b.yaml': cm('b'),
    },
    expect: 'same',
  },
  {
    name: 'kustomization.yml',
    files: { 'app/kustomization.yml': kustomization('resources: [a.yaml]\n'), 'app/a.yaml': cm('a') },
    expect: 'same',
  },
  {
    name: 'a file named Kustomization',
    files: { 'app/Kustomization': kustomization('resources: [a.yaml]\n'), 'app/a.yaml': cm('a') },
    expect: 'same',
  },
  { name: 'an empty directory', files: { 'app/.keep': '' }, expect: 'same' },
  {
    name: 'targetNamespace',
    files: { 'app/a.yaml': cm('a'), 'app/d.yaml': deployment('web') },
    spec: { targetNamespace: 'prod' },
    expect: 'same',
  },
  {
    name: 'targetNamespace over the kustomization namespace',
    files: {
      'app/kustomization.yaml': kustomization('namespace: dev\nresources: [a.yaml]\n'),
      'app/a.yaml': cm('a'),
    },
    spec: { targetNamespace: 'prod' },
    expect: 'same',
  },
  {
    name: 'namePrefix and nameSuffix',
    files: { 'app/a.yaml': cm('a') },
    spec: { namePrefix: 'pre-', nameSuffix: '-suf' },
    expect: 'same',
  },
  {
    name: 'a strategic-merge patch with a target',
    files: { 'app/d.yaml': deployment('web') },
    spec: {
      patches: [
        {
          patch: 'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: any\nspec:\n  replicas: 3\n',
          target: { kind: 'Deployment' },
        },
      ],
    },
    expect: 'same',
  },
  {
    name: 'a JSON6902 patch',
    files: { 'app/d.yaml': deployment('web') },
    spec: {
      patches: [
        {
          patch: '- op: replace\n  path: /spec/replicas\n  value: 5\n',
          target: { kind: 'Deployment', name: 'web' },
        },
      ],
    },
    expect: 'same',
  },
  {
    name: 'a patch without a target',
    files: { 'app/d.yaml': deployment('web') },
    spec: {
      patches: [
        { patch: 'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: 2\n' },
      ],
    },
    expect: 'same',
  },
  {
    name: 'images: newTag',
    files: { 'app/d.yaml': deployment('web') },
    spec: { images: [{ name: 'nginx', newTag: '2.0' }] },
    expect: 'same',
  },
  {
    name: 'images: newName and digest',
    files: { 'app/d.yaml': deployment('web') },
    spec: {
      images: [{ name: 'nginx', newName: 'registry.local/nginx', digest: `sha256:${'a'.repeat(64)}` }],
    },
    expect: 'same',
  },
  {
    name: 'images merged with the kustomization file',
    files: {
      'app/kustomization.yaml': kustomization(
        'resources: [d.yaml]\nimages:\n- name: nginx\n  newName: mirror/nginx\n',
      ),
      'app/d.yaml': deployment('web'),
    },
    spec: { images: [{ name: 'nginx', newTag: '3.0' }] },
    expect: 'same',
  },
  {
    name: 'components',
    files: {
      'app/kustomization.yaml': kustomization('resources: [a.yaml]\n'),
      'app/a.yaml': cm('a'),
      'app/comp/kustomization.yaml':
        'apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\nresources: [c.yaml]\n',
      'app/comp/c.yaml': cm('c'),
    },
    spec: { components: ['comp'] },
    expect: 'same',
  },
  {
    name: 'a missing component, ignored',
    files: { 'app/a.yaml': cm('a') },
    spec: { components: ['nope'], ignoreMissingComponents: true },
    expect: 'same',
  },
  {
    name: 'a missing component',
    files: { 'app/a.yaml': cm('a') },
    spec: { components: ['nope'] },
    expect: 'both fail',
  },
  {
    name: 'commonMetadata',
    files: { 'app/a.yaml': cm('a'), 'app/d.yaml': deployment('web') },
    spec: { commonMetadata: { labels: { team: 'db' }, annotations: { owner: 'ops' } } },
    expect: 'same',
  },
  {
    name: 'postBuild substitute',
    files: {
      'app/a.yaml': cm('a', 'greeting: ${GREETING}'),
      'app/d.yaml': deployment('web', 'nginx:${TAG}'),
    },
    spec: { postBuild: { substitute: { GREETING: 'hello', TAG: '1.2' } } },
    expect: 'same',
  },
  {
    name: 'substitute defaults',
    files: { 'app/a.yaml': cm('a', 'one: ${ONE:=first}\n  two: ${TWO:-second}\n  three: ${THREE:=x}') },
    spec: { postBuild: { substitute: { THREE: 'given' } } },
    expect: 'same',
  },
  {
    name: 'a substituted number stays a number',
    files: { 'app/d.yaml': deployment('web').replace('replicas: 1', 'replicas: ${REPLICAS}') },
    spec: { postBuild: { substitute: { REPLICAS: '3' } } },
    expect: 'same',
  },
  {
    name: 'newlines are removed from values',
    files: { 'app/a.yaml': cm('a', 'v: "${V}"') },
    spec: { postBuild: { substitute: { V: 'one\ntwo' } } },
    expect: 'same',
  },
  {
    name: 'substitute: disabled opts out (annotation)',
    files: {
      'app/a.yaml': cm(
        'a',
        'v: ${V}',
        '  annotations:\n    kustomize.toolkit.fluxcd.io/substitute: disabled\n',
      ),
      'app/b.yaml': cm('b', 'v: ${V}'),
    },
    spec: { postBuild: { substitute: { V: 'x' } } },
    expect: 'same',
  },
  {
    name: 'substitute: disabled opts out (label)',
    files: {
      'app/a.yaml': cm('a', 'v: ${V}', '  labels:\n    kustomize.toolkit.fluxcd.io/substitute: disabled\n'),
    },
    spec: { postBuild: { substitute: { V: 'x' } } },
    expect: 'same',
  },
  {
    name: 'substitute: Disabled (capital D) does not opt out',
    files: {
      'app/a.yaml': cm(
        'a',
        'v: ${V}',
        '  annotations:\n    kustomize.toolkit.fluxcd.io/substitute: Disabled\n',
      ),
    },
    spec: { postBuild: { substitute: { V: 'x' } } },
    expect: 'same',
  },
  {
    name: 'a variable with no value, strict',
    files: { 'app/a.yaml': cm('a', 'v: ${MISSING}') },
    spec: { postBuild: { substitute: { OTHER: 'x' } } },
    flags: ['--strict-substitute'],
    expect: 'both fail',
  },
  {
    name: 'a variable with no value, not strict',
    files: { 'app/a.yaml': cm('a', 'v: "${MISSING}"') },
    spec: { postBuild: { substitute: { OTHER: 'x' } } },
    flags: ['--strict-substitute=false'],
    expect: 'same',
  },
  {
    name: 'an invalid variable name',
    files: { 'app/a.yaml': cm('a', 'v: ${V}') },
    spec: { postBuild: { substitute: { 'bad-name': 'x' } } },
    expect: 'both fail',
  },
  {
    name: 'no variables: nothing is substituted',
    files: { 'app/a.yaml': cm('a', 'v: ${V:=default}') },
    spec: { postBuild: {} },
    expect: 'same',
  },
  {
    name: 'substituteStrategy Always applies defaults with no variables',
    files: { 'app/a.yaml': cm('a', 'v: ${V:=default}') },
    spec: { postBuild: { substituteStrategy: 'Always' } },
    expect: 'same',
  },
  {
    name: 'YAML 1.1 keys yes, on and y stay three keys',
    files: { 'app/a.yaml': cm('a', 'yes: "1"\n  on: "2"\n  y: "3"\n  no: "4"') },
    expect: 'same',
  },
  {
    name: 'an octal file mode',
    files: {
      'app/d.yaml': deployment('web').replace(
        '      containers:',
        '      volumes:\n      - name: c\n        configMap:\n          name: c\n          defaultMode: 0644\n      containers:',
      ),
    },
    expect: 'same',
  },
  {
    name: 'empty documents and comments',
    files: { 'app/a.yaml': `---\n# nothing\n---\n${cm('a')}---\n---\n${cm('b')}` },
    expect: 'same',
  },
  {
    name: 'a v1 List',
    files: {
      'app/list.yaml': `apiVersion: v1\nkind: List\nitems:\n- ${cm('a').trimEnd().replaceAll('\n', '\n  ')}\n- ${cm('b').trimEnd().replaceAll('\n', '\n  ')}\n`,
    },
    expect: 'same',
  },
  {
    name: 'a configMapGenerator with literals (hashed name)',
    files: {
      'app/kustomization.yaml': kustomization(
        'resources: [d.yaml]\nconfigMapGenerator:\n- name: settings\n  literals: [a=1, b=2]\n',
      ),
      'app/d.yaml': deployment('web'),
    },
    expect: 'same',
  },
  {
    name: 'a generator alone (no resources)',
    files: {
      'app/kustomization.yaml': kustomization('configMapGenerator:\n- name: settings\n  files: [conf.txt]\n'),
      'app/conf.txt': 'x=1\n',
    },
    expect: 'same',
  },
  {
    name: 'a secretGenerator',
    files: {
      'app/kustomization.yaml': kustomization(
        'secretGenerator:\n- name: creds\n  literals: [password=hunter2]\ngeneratorOptions:\n  disableNameSuffixHash: true\n',
      ),
    },
    expect: 'same',
  },
  {
    name: 'sortOptions legacy in the kustomization file',
    files: {
      'app/kustomization.yaml': kustomization(
        'sortOptions:\n  order: legacy\nresources: [d.yaml, a.yaml, ns.yaml]\n',
      ),
      'app/d.yaml': deployment('web'),
      'app/a.yaml': cm('a'),
      'app/ns.yaml': 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: team\n',
    },
    expect: 'same',
  },
  {
    name: 'a hidden directory',
    files: { 'app/a.yaml': cm('a'), 'app/.config/b.yaml': cm('b') },
    expect: 'same',
  },
  {
    name: 'a Secret with stringData',
    files: {
      'app/s.yaml': 'apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\nstringData:\n  token: abc\n',
    },
    expect: 'same',
  },
  {
    name: 'replacements',
    files: {
      'app/kustomization.yaml': kustomization(
        'resources: [a.yaml, d.yaml]\nreplacements:\n- source: {kind: ConfigMap, name: a, fieldPath: data.key}\n  targets:\n  - select: {kind: Deployment}\n    fieldPaths: [spec.template.spec.containers.0.image]\n',
      ),
      'app/a.yaml': cm('a', 'key: busybox:9'),
      'app/d.yaml': deployment('web'),
    },
    expect: 'same',
  },
  {
    name: 'cluster-scoped objects',
    files: {
      'app/ns.yaml': 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: team\n',
      'app/role.yaml':
        'apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: reader\nrules: []\n',
      'app/a.yaml': cm('a'),
    },
    expect: 'same',
  },
  {
    name: 'a CRD and an object of its kind',
    files: {
      'app/crd.yaml':
        'apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: widgets.example.com\nspec:\n  group: example.com\n  names: {kind: Widget, plural: widgets}\n  scope: Namespaced\n  versions:\n  - name: v1\n    served: true\n    storage: true\n    schema:\n      openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}\n',
      'app/w.yaml': 'apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w\n',
    },
    expect: 'same',
  },
  {
    name: 'a kind no build or table knows',
    files: { 'app/g.yaml': 'apiVersion: unknown.example.com/v1\nkind: Gadget\nmetadata:\n  name: g\n' },
    expect: 'same',
  },
  {
    name: 'a Job',
    files: {
      'app/job.yaml':
        'apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: db-migration\nspec:\n  template:\n    spec:\n      restartPolicy: Never\n      containers:\n      - name: migrate\n        image: app:${TAG:=1.0}\n',
    },
    spec: { postBuild: { substitute: { TAG: '1.1' } } },
    expect: 'same',
  },
  {
    name: '../bases inside the repository',
    git: true,
    files: {
      'base/kustomization.yaml': kustomization('resources: [a.yaml]\n'),
      'base/a.yaml': cm('a'),
      'overlays/prod/kustomization.yaml': kustomization('resources: [../../base]\nnamePrefix: prod-\n'),
    },
    path: 'overlays/prod',
    expect: 'same',
  },
  {
    name: '../bases outside a git checkout, below the current directory',
    files: {
      'base/kustomization.yaml': kustomization('resources: [a.yaml]\n'),
      'base/a.yaml': cm('a'),
      'app/kustomization.yaml': kustomization('resources: [../base]\n'),
    },
    expect: 'same',
  },
  {
    name: '--ignore-paths: a file',
    files: { 'app/a.yaml': cm('a'), 'app/b.yaml': cm('b') },
    flags: ['--ignore-paths', 'b.yaml'],
    expect: 'same',
  },
  {
    name: '--ignore-paths: a directory, and a listed resource',
    files: {
      'app/kustomization.yaml': kustomization('resources: [a.yaml, b.yaml, sub/c.yaml]\n'),
      'app/a.yaml': cm('a'),
      'app/b.yaml': cm('b'),
      'app/sub/c.yaml': cm('c'),
    },
    flags: ['--ignore-paths', 'sub,/b.yaml'],
    expect: 'same',
  },
  {
    name: '--ignore-paths: a file of a base',
    files: {
      'base/kustomization.yaml': kustomization('resources: [a.yaml, b.yaml]\n'),
      'base/a.yaml': cm('a'),
      'base/b.yaml': cm('b'),
      'app/kustomization.yaml': kustomization('resources: [../base]\n'),
    },
    flags: ['--ignore-paths', 'b.yaml'],
    expect: {
      differs:
        'flux v2.9.5 filters only the root kustomization file; sluice filters every one, as Flux does since flux2#6067',
    },
  },
  {
    name: '.sourceignore',
    git: true,
    files: {
      '.sourceignore': 'app/local-only.yaml\n',
      'app/a.yaml': cm('a'),
      'app/local-only.yaml': cm('local'),
    },
    expect: { differs: 'sluice builds what the artifact holds; flux build reads the directory as it is' },
  },
  {
    name: 'the default ignore rules (.github)',
    git: true,
    files: { 'app/a.yaml': cm('a'), 'app/.github/workflow.yaml': cm('workflow') },
    path: '.',
    expect: 'same',
  },
  {
    name: '--recursive with --local-sources',
    files: {
      'app/a.yaml': cm('a'),
      'app/child.yaml': childKs('child', './child'),
      'child/b.yaml': cm('b'),
    },
    flags: ['--recursive', '--local-sources', 'GitRepository/apps/repo=.'],
    expect: 'same',
  },
  {
    name: '--recursive without the local source',
    files: { 'app/child.yaml': childKs('child', './child'), 'child/b.yaml': cm('b') },
    flags: ['--recursive'],
    expect: 'both fail',
  },
  {
    name: 'a SOPS-encrypted Secret',
    files: {
      'app/s.yaml':
        'apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\ndata:\n  token: RU5DW0FFUzI1Nl9HQ00sZGF0YTp4XQ==\nsops:\n  mac: ENC[AES256_GCM,data:x]\n  version: 3.9.0\n',
    },
    expect: {
      differs:
        'sluice refuses what it could not apply (decryption is not supported yet); flux build masks it',
    },
  },
  {
    name: 'invalid YAML',
    files: { 'app/a.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: [\n' },
    expect: 'both fail',
  },
  {
    name: 'an object with no name',
    files: { 'app/a.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: {}\n' },
    expect: 'both fail',
  },
  {
    name: 'the same object twice',
    files: {
      'app/kustomization.yaml': kustomization('resources: [a.yaml, b.yaml]\n'),
      'app/a.yaml': cm('a'),
      'app/b.yaml': cm('a'),
    },
    expect: 'both fail',
  },
  {
    name: 'a resource that is not there',
    files: { 'app/kustomization.yaml': kustomization('resources: [gone.yaml]\n') },
    expect: 'both fail',
  },
  {
    name: 'a path that is not there',
    files: { 'app/a.yaml': cm('a') },
    path: 'nowhere',
    expect: 'both fail',
  },
];

const ksFile = (spec: Record<string, unknown> = {}): string =>
  JSON.stringify({
    apiVersion: 'kustomize.toolkit.fluxcd.io/v1',
    kind: 'Kustomization',
    metadata: { name: 'app', namespace: 'apps' },
    spec: {
      interval: '5m',
      path: './app',
      prune: true,
      sourceRef: { kind: 'GitRepository', name: 'repo' },
      ...spec,
    },
  });

const sluiceCli = path.join(repoRoot, 'src', 'cli', 'main.ts');

async function buildBoth(
  layout: Layout,
  dir: string,
): Promise<{ flux: CommandResult; sluice: CommandResult }> {
  const args = [
    'build',
    'ks',
    'app',
    '-n',
    'apps',
    '--path',
    `./${layout.path ?? 'app'}`,
    '--kustomization-file',
    'ks.json',
    '--dry-run',
    ...(layout.flags ?? []),
  ];
  const env = { FLUX_SYSTEM_NAMESPACE: undefined, NO_COLOR: '1', KUBECONFIG: '/nonexistent' };
  // One after the other: flux build writes a kustomization.yaml into the directory while it builds.
  const flux = await runCommand(await fluxCliPath(), args, { cwd: dir, env, timeoutMs: 60_000 });
  const sluice = await runCommand(process.execPath, [sluiceCli, ...args], {
    cwd: dir,
    env,
    timeoutMs: 60_000,
  });
  return { flux, sluice };
}

function objectsOf(output: string, source: string): KubeObject[] {
  return parseYamlDocuments(output, source).map((d) => d.value as KubeObject);
}

/** Flux's objects as sluice would print them: Secret values masked, the namespace default applied. */
function asSluicePrints(fluxObjects: KubeObject[], sluiceObjects: KubeObject[]): KubeObject[] {
  return fluxObjects.map((object, i) => {
    const masked = structuredClone(maskSecrets(object));
    const theirs = sluiceObjects[i]?.metadata?.namespace;
    if (!masked.metadata?.namespace && theirs === 'apps')
      masked.metadata = { ...masked.metadata, namespace: 'apps' };
    return masked;
  });
}

describe('sluice build against flux build, --dry-run', () => {
  let scratch: Awaited<ReturnType<typeof scratchDir>>;
  before(async () => {
    scratch = await scratchDir('build-compare');
  });

  for (const layout of layouts) {
    it(layout.name, async () => {
      const dir = await scratch.tree({ ...layout.files, 'ks.json': ksFile(layout.spec) });
      if (layout.git) await mkdir(path.join(dir, '.git'));
      const { flux, sluice } = await buildBoth(layout, dir);
      const detail = `flux exit ${flux.code}: ${flux.stderr}\n${flux.stdout}\nsluice exit ${sluice.code}: ${sluice.stderr}\n${sluice.stdout}`;
      if (layout.expect === 'both fail') {
        assert.ok(flux.code !== 0 && sluice.code !== 0, `both should fail\n${detail}`);
        assert.match(sluice.stderr, /^✗ \S/m, 'sluice says why');
        return;
      }
      if (flux.code !== 0 || sluice.code !== 0) {
        assert.ok(
          typeof layout.expect === 'object' && sluice.code !== 0 && flux.code === 0,
          `unexpected failure\n${detail}`,
        );
        return;
      }
      const ours = objectsOf(sluice.stdout, 'sluice build');
      const theirs = asSluicePrints(objectsOf(flux.stdout, 'flux build'), ours);
      if (layout.expect === 'same') assert.deepEqual(ours, theirs, detail);
      else assert.notDeepEqual(ours, theirs, `expected to differ (${layout.expect.differs})\n${detail}`);
    });
  }
});

// `sluice get`, `tree` and `events` as a user runs them: the CLI as a subprocess against the real cluster with
// the controllers running, its output compared byte for byte with golden text (only the namespace, commit
// hashes, ages and reconcile durations vary, and are filled in or normalised explicitly below).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  create,
  gitRepository,
  kustomization,
  useControllerEnv,
  waitForReady,
} from '../support/controller.ts';
import { runSluice } from '../support/cli.ts';

const sluice = (...args: string[]) => runSluice(args);

/**
 * Events output with what varies made fixed: each LAST SEEN cell becomes `<age>` (its column then loses its
 * padding), and a reconcile duration becomes `<duration>` with the MESSAGE column's padding removed.
 */
function normaliseEvents(output: string): string {
  return output
    .split('\n')
    .map((line) => {
      if (line === '') return line;
      // A row ends with a tab, the header with a space: the MESSAGE cell is the last one before that.
      const [age = '', ...rest] = line.split('\t');
      const trailer = line.endsWith('\t') ? [rest.pop() ?? ''] : [];
      const message = (rest.pop() ?? '').replace(/finished in [\d.]+(ms|s)/, 'finished in <duration>');
      const lastSeen = age.trim() === '' || age.trim() === 'LAST SEEN' ? age.trim() : '<age>';
      const cells = [lastSeen, ...rest, message.trimEnd(), ...trailer];
      return cells.join('\t');
    })
    .join('\n');
}

const configMap = (name: string) => `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\n`;

describe('sluice get, tree and events', () => {
  const env = useControllerEnv('e2e-cli-get');
  let short = '';

  it('get ks and get source git print flux tables', async () => {
    const ns = env.namespace;
    const commit = await env.git.createRepo('app', {
      'parent/kustomization.yaml': 'resources:\n- settings.yaml\n- child.yaml\n',
      'parent/settings.yaml': configMap('settings'),
      'parent/child.yaml': `apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: child
spec:
  interval: 1m
  prune: true
  path: ./child
  sourceRef:
    kind: GitRepository
    name: app
`,
      'child/job-settings.yaml': configMap('job-settings'),
      'child/namespace.yaml': `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ${ns}-extra\n`,
    });
    short = commit.slice(0, 8);
    await create(env, gitRepository(env, 'app'));
    await create(env, kustomization(env, 'app', { path: './parent' }));
    await waitForReady(env, 'app', 'True');
    await waitForReady(env, 'child', 'True');

    const ks = await sluice('get', 'ks', '-n', ns);
    assert.equal(ks.stderr, '');
    assert.equal(ks.code, 0);
    assert.equal(
      ks.stdout,
      `NAME \tREVISION          \tSUSPENDED\tREADY\tMESSAGE                              \n` +
        `app  \tmain@sha1:${short}\tFalse    \tTrue \tApplied revision: main@sha1:${short}\t\n` +
        `child\tmain@sha1:${short}\tFalse    \tTrue \tApplied revision: main@sha1:${short}\t\n`,
    );

    const one = await sluice('get', 'kustomization', 'child', '-n', ns, '--no-header');
    // Without a header each column is as wide as its widest row, as in flux.
    assert.equal(
      one.stdout,
      `child\tmain@sha1:${short}\tFalse\tTrue\tApplied revision: main@sha1:${short}\t\n`,
    );

    const all = await sluice('get', 'source', 'git', '-A', '--status-selector', 'ready=true');
    const row = all.stdout.split('\n').find((line) => line.startsWith(`${ns}\t`));
    assert.equal(all.code, 0);
    // Other suites' namespaces share the cluster, so only this namespace's row is compared.
    assert.match(all.stdout, /^NAMESPACE *\tNAME *\tREVISION *\tSUSPENDED\tREADY\tMESSAGE +\n/);
    assert.match(
      row ?? '',
      new RegExp(
        `^${ns}\\tapp +\\tmain@sha1:${short}\\tFalse    \\tTrue \\tstored artifact for revision 'main@sha1:${short}' *\\t$`,
      ),
    );

    const repo = await sluice('get', 'gitrepo', '-n', ns);
    assert.equal(
      repo.stdout,
      `NAME\tREVISION          \tSUSPENDED\tREADY\tMESSAGE                                           \n` +
        `app \tmain@sha1:${short}\tFalse    \tTrue \tstored artifact for revision 'main@sha1:${short}'\t\n`,
    );

    const yaml = await sluice('get', 'ks', 'app', '-n', ns, '-o', 'yaml');
    assert.match(
      yaml.stdout,
      /^apiVersion: kustomize.toolkit.fluxcd.io\/v1\nkind: Kustomization\nmetadata:\n/,
    );
    const json = JSON.parse((await sluice('get', 'ks', '-n', ns, '-o', 'json')).stdout) as {
      kind: string;
      items: { metadata: { name: string } }[];
    };
    assert.equal(json.kind, 'List');
    assert.deepEqual(
      json.items.map((item) => item.metadata.name),
      ['app', 'child'],
    );
  });

  it('takes the global flags before the verb and between sub-verbs too, as flux does', async () => {
    const ns = env.namespace;
    const after = await sluice('get', 'ks', '-n', ns);
    assert.equal(after.code, 0, after.stderr);
    const first = await runSluice(['-n', ns, 'get', 'ks'], { kubeconfigFirst: true });
    assert.deepEqual(first, after);
    const between = await runSluice(['get', '--namespace', ns, 'ks'], { kubeconfigFirst: true });
    assert.deepEqual(between, after);
  });

  it('get reports unknown names and empty namespaces on stderr, exit 1', async () => {
    const ns = env.namespace;
    const missing = await sluice('get', 'ks', 'nope', '-n', ns);
    assert.deepEqual(missing, {
      code: 1,
      stdout: '',
      stderr: `✗ Kustomization object 'nope' not found in "${ns}" namespace\n`,
    });
    const empty = await sluice('get', 'kustomizations', '-n', 'default');
    assert.deepEqual(empty, {
      code: 1,
      stdout: '',
      stderr: `✗ no Kustomization objects found in "default" namespace\n`,
    });
  });

  it('tree ks prints the inventory, recursing into the child Kustomization', async () => {
    const ns = env.namespace;
    const tree = await sluice('tree', 'ks', 'app', '-n', ns);
    assert.equal(tree.code, 0);
    assert.equal(
      tree.stdout,
      `Kustomization/${ns}/app\n` +
        `├── ConfigMap/${ns}/settings\n` +
        `└── Kustomization/${ns}/child\n` +
        `    ├── Namespace/${ns}-extra\n` +
        `    └── ConfigMap/${ns}/job-settings\n` +
        `\n`,
    );
    const json = JSON.parse((await sluice('tree', 'ks', 'app', '-n', ns, '-o', 'json')).stdout) as unknown;
    assert.deepEqual(json, {
      resource: {
        Namespace: ns,
        Name: 'app',
        GroupKind: { Group: 'kustomize.toolkit.fluxcd.io', Kind: 'Kustomization' },
      },
      resources: [
        { resource: { Namespace: ns, Name: 'settings', GroupKind: { Group: '', Kind: 'ConfigMap' } } },
        {
          resource: {
            Namespace: ns,
            Name: 'child',
            GroupKind: { Group: 'kustomize.toolkit.fluxcd.io', Kind: 'Kustomization' },
          },
          resources: [
            { resource: { Namespace: '', Name: `${ns}-extra`, GroupKind: { Group: '', Kind: 'Namespace' } } },
            {
              resource: { Namespace: ns, Name: 'job-settings', GroupKind: { Group: '', Kind: 'ConfigMap' } },
            },
          ],
        },
      ],
    });
    const compact = await sluice('tree', 'ks', 'app', '-n', ns, '--compact');
    assert.equal(compact.stdout, `Kustomization/${ns}/app\n└── Kustomization/${ns}/child\n\n`);
    const missing = await sluice('tree', 'ks', 'nope', '-n', ns);
    assert.deepEqual(missing, {
      code: 1,
      stdout: '',
      stderr: '✗ kustomizations.kustomize.toolkit.fluxcd.io "nope" not found\n',
    });
  });

  it("events --for Kustomization/child shows its events and its source's, oldest first", async () => {
    const ns = env.namespace;
    const events = await sluice('events', '-n', ns, '--for', 'Kustomization/child');
    assert.equal(events.code, 0, events.stderr);
    assert.equal(
      normaliseEvents(events.stdout),
      [
        'LAST SEEN\tTYPE  \tREASON                 \tOBJECT             \tMESSAGE',
        `<age>\tNormal\tNewArtifact            \tGitRepository/app  \tstored artifact for commit 'initial commit'\t`,
        `<age>\tNormal\tProgressing            \tKustomization/child\tNamespace/${ns}-extra created\t`,
        `\t      \t                       \t                   \tConfigMap/${ns}/job-settings created\t`,
        `<age>\tNormal\tReconciliationSucceeded\tKustomization/child\tReconciliation finished in <duration>, next run in 1m0s\t`,
        '',
      ].join('\n'),
    );
  });
});

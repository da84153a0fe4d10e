// Global flags anywhere, over the whole command tree: every command that takes --kubeconfig, --context and
// -n/--namespace reads them before the verb, between sub-verbs and after it, in all their forms.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Command } from 'commander';
import { program } from './program.ts';
import { hoistGlobalFlags } from './argv.ts';

/** Every runnable command, with the words that name it (`['get', 'kustomization']`). */
function leaves(command: Command, path: string[] = []): { path: string[]; command: Command }[] {
  if (command.commands.length === 0) return [{ path, command }];
  return command.commands.flatMap((c) => leaves(c, [...path, c.name()]));
}

/** Parses `args` as main.ts does, with every action replaced by one that returns the options it got. */
async function parsedOptions(args: string[]): Promise<Record<string, unknown>> {
  const root = program();
  let seen: Record<string, unknown> | undefined;
  const silence = (c: Command): void => {
    c.exitOverride().configureOutput({ writeErr: () => undefined, writeOut: () => undefined });
    if (c.commands.length === 0) {
      c.action(function (this: Command) {
        seen = this.opts();
      });
    }
    c.commands.forEach(silence);
  };
  silence(root);
  await root.parseAsync(hoistGlobalFlags(root, args), { from: 'user' });
  if (!seen) throw new Error(`no command ran for ${args.join(' ')}`);
  return seen;
}

/** Words that satisfy a command's required arguments and mandatory options. */
function required(command: Command): string[] {
  const positional = command.registeredArguments.filter((a) => a.required).map(() => 'x');
  const valid: Record<string, string> = { '--source': 'GitRepository/app' };
  const options = command.options
    .filter((o) => o.mandatory)
    .flatMap((o) => [o.long ?? '', valid[o.long ?? ''] ?? 'x']);
  return [...positional, ...options];
}

const cluster = leaves(program()).filter(({ command }) =>
  command.options.some((o) => o.long === '--kubeconfig'),
);

describe('global flags anywhere', () => {
  it('covers the commands that talk to a cluster', () => {
    const names = cluster.map(({ path }) => path.join(' '));
    for (const expected of [
      'get kustomizations',
      'create source git',
      'reconcile kustomization',
      'history kustomization',
      'controller',
    ]) {
      assert.ok(names.includes(expected), `${expected} is not among ${names.join(', ')}`);
    }
  });

  for (const { path, command } of cluster) {
    const name = path.join(' ');
    // `sluice controller` has no -n: it watches all namespaces, or RUNTIME_NAMESPACE, as Flux's controllers do.
    const namespaced = command.options.some((o) => o.long === '--namespace');
    it(`sluice ${name}: before the verb, between sub-verbs and after it`, async () => {
      const rest = required(command);
      const n = (...words: string[]) => (namespaced ? words : []);
      const forms = [
        ['--kubeconfig', '/k', '--context', 'prod', ...n('-n', 'apps'), ...path, ...rest],
        ['--kubeconfig=/k', '--context=prod', ...n('--namespace=apps'), ...path, ...rest],
        [
          path[0] as string,
          '--context',
          'prod',
          ...n('-napps'),
          ...path.slice(1),
          '--kubeconfig',
          '/k',
          ...rest,
        ],
        [...path, ...rest, '--kubeconfig', '/k', '--context', 'prod', ...n('-n', 'apps')],
      ];
      for (const form of forms) {
        const options = await parsedOptions(form);
        assert.deepEqual(
          { kubeconfig: options['kubeconfig'], context: options['context'], namespace: options['namespace'] },
          { kubeconfig: '/k', context: 'prod', namespace: namespaced ? 'apps' : undefined },
          form.join(' '),
        );
      }
    });
  }

  it('leaves --flag=false and positional words in place', () => {
    const root = program();
    assert.deepEqual(
      hoistGlobalFlags(root, [
        '--context',
        'prod',
        'create',
        'ks',
        'app',
        '--wait=false',
        '--source',
        'GitRepository/a',
      ]),
      ['create', 'ks', 'app', '--wait=false', '--source', 'GitRepository/a', '--context', 'prod'],
    );
    assert.deepEqual(hoistGlobalFlags(root, ['--version']), ['--version']);
  });

  it('moves --timeout to the command that takes it', async () => {
    const options = await parsedOptions(['--timeout', '1m', 'reconcile', 'ks', 'app']);
    assert.equal(options['timeout'], '1m');
  });
});

describe('flux build and diff flags', () => {
  for (const verb of ['build', 'diff']) {
    it(`sluice ${verb} ks: lists, pairs and booleans as cobra reads them`, async () => {
      const options = await parsedOptions([
        '--context',
        'prod',
        verb,
        'ks',
        'app',
        '--path',
        './app',
        '--ignore-paths',
        'a.yaml,/b/**',
        '--ignore-paths=c.yaml',
        '--local-sources',
        'GitRepository/apps/repo=./repo,OCIRepository/apps/oci=../oci',
        '--local-sources=GitRepository/apps/other=/abs',
        '--strict-substitute=false',
        '-r',
        '--timeout',
        '2m',
      ]);
      assert.equal(options['context'], 'prod');
      assert.deepEqual(options['ignorePaths'], ['a.yaml', '/b/**', 'c.yaml']);
      assert.deepEqual(
        options['localSources'],
        new Map([
          ['GitRepository/apps/repo', './repo'],
          ['OCIRepository/apps/oci', '../oci'],
          ['GitRepository/apps/other', '/abs'],
        ]),
      );
      assert.equal(options['strictSubstitute'], false);
      assert.equal(options['recursive'], true);
      assert.equal(options['timeout'], 120_000);
    });
  }

  it('defaults to the controller: strict substitution, not recursive, 80s', async () => {
    const options = await parsedOptions(['build', 'ks', 'app', '--path', '.']);
    assert.equal(options['strictSubstitute'], true);
    assert.equal(options['recursive'], false);
    assert.equal(options['dryRun'], false);
    assert.equal(options['timeout'], 80_000);
  });

  it('refuses a --local-sources entry that is not Kind/namespace/name=path', async () => {
    await assert.rejects(
      parsedOptions(['build', 'ks', 'app', '--path', '.', '--local-sources', 'GitRepository/repo=./x']),
      /expected Kind\/namespace\/name=path, got "GitRepository\/repo=.\/x"/,
    );
  });
});

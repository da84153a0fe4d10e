// Connection errors as a user meets them, against the real API server: a server nothing listens on, credentials
// it refuses (401) and an identity it forbids (403, a ServiceAccount with no RBAC); each line names the server,
// the user and what to check.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parse, stringify } from 'yaml';
import { runSluice } from '../support/cli.ts';
import { testKubeconfig, useTestNamespace } from '../support/cluster.ts';

interface Kubeconfig {
  clusters: { name: string; cluster: Record<string, unknown> }[];
  users: { name: string; user: Record<string, unknown> }[];
  contexts: { name: string; context: { cluster: string; user: string } }[];
  'current-context': string;
}

describe('connection errors', () => {
  const ctx = useTestNamespace('e2e-cli-conn');
  let dir: string;
  let base: Kubeconfig;

  /** A kubeconfig like the test cluster's, with the server or the user changed. */
  async function variant(name: string, change: (config: Kubeconfig) => void): Promise<string> {
    const config = structuredClone(base);
    change(config);
    const file = path.join(dir, name);
    await writeFile(file, stringify(config));
    return file;
  }

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'sluice-conn-'));
    base = parse(await readFile(testKubeconfig(), 'utf8')) as Kubeconfig;
  });
  after(() => rm(dir, { recursive: true, force: true }));

  const context = () => base['current-context'];

  it('a server nothing listens on: the server, the cause, and what to check', async () => {
    const file = await variant('down', (c) => {
      for (const cluster of c.clusters) cluster.cluster['server'] = 'https://127.0.0.1:1';
    });
    const run = await runSluice(['get', 'ks', '-n', ctx.namespace], { kubeconfig: file });
    assert.equal(run.code, 1);
    assert.match(
      run.stderr,
      new RegExp(
        `^✗ cannot reach the Kubernetes API at https://127\\.0\\.0\\.1:1 \\(GET [^)]+\\): .*ECONNREFUSED.*; is the cluster up, and is that the server of context "${context()}"\\?\\n$`,
      ),
    );
  });

  it('refused credentials (401): whose, where, and that they may have expired', async () => {
    const file = await variant('expired', (c) => {
      for (const user of c.users) user.user = { token: 'expired-or-revoked' };
    });
    const run = await runSluice(['get', 'ks', '-n', ctx.namespace], { kubeconfig: file });
    assert.equal(run.code, 1);
    const user = base.contexts.find((c) => c.name === context())?.context.user;
    assert.equal(
      run.stderr,
      `✗ the Kubernetes API refused the credentials of user "${user}" of context "${context()}" at ${String(base.clusters[0]?.cluster['server']).replace(/\/$/, '')} (401 Unauthorized): they may have expired; log in again or fix the user in the kubeconfig\n`,
    );
  });

  it('a forbidden answer (403): the API server words, then whose RBAC to check', async () => {
    const ns = ctx.namespace;
    await ctx.client.create(`/api/v1/namespaces/${ns}/serviceaccounts`, {
      apiVersion: 'v1',
      kind: 'ServiceAccount',
      metadata: { name: 'nobody' },
    });
    const { status } = await ctx.client.create<{ status: { token: string } }>(
      `/api/v1/namespaces/${ns}/serviceaccounts/nobody/token`,
      { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { expirationSeconds: 600 } },
    );
    const file = await variant('nobody', (c) => {
      for (const user of c.users) user.user = { token: status.token };
    });
    const run = await runSluice(['get', 'ks', '-n', ns], { kubeconfig: file });
    assert.equal(run.code, 1);
    assert.match(
      run.stderr,
      new RegExp(
        `^✗ kustomizations\\.kustomize\\.toolkit\\.fluxcd\\.io is forbidden: User "system:serviceaccount:${ns}:nobody" cannot list resource "kustomizations" .* \\(as user "[^"]+" of context "${context()}" at https://[^:]+:\\d+: check its RBAC, e\\.g\\. kubectl auth can-i\\)\\n$`,
      ),
    );
  });
});

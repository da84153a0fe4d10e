// What a user is told when the client cannot be made or the API refuses who it is: no kubeconfig at all, a
// context that does not exist, refused credentials and a Forbidden answer.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { KubeClient } from './client.ts';
import { KubeApiError, explainForUser } from './errors.ts';

const kubeconfig = `apiVersion: v1
kind: Config
clusters:
- name: dev
  cluster: {server: 'https://127.0.0.1:6443', insecure-skip-tls-verify: true}
users:
- name: alice
  user: {token: abc}
contexts:
- name: dev
  context: {cluster: dev, user: alice}
- name: staging
  context: {cluster: dev, user: alice}
current-context: dev
`;

describe('connection errors', () => {
  it('says there is no kubeconfig instead of trying localhost:8080', async () => {
    const home = await mkdtemp(path.join(tmpdir(), 'sluice-home-'));
    try {
      await assert.rejects(KubeClient.load({}, { HOME: home }), {
        message:
          'no kubeconfig: $KUBECONFIG is not set and ~/.kube/config does not exist; pass --kubeconfig, set KUBECONFIG, or run in a pod',
      });
    } finally {
      await rm(home, { recursive: true, force: true });
    }
  });

  it('names a missing context and the ones there are', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'sluice-kubeconfig-'));
    const file = path.join(dir, 'config');
    try {
      await writeFile(file, kubeconfig);
      await assert.rejects(KubeClient.load({ kubeconfig: file, context: 'prod' }), {
        message: `context "prod" not found in kubeconfig ${file}; its contexts: dev, staging`,
      });
      const client = await KubeClient.load({ kubeconfig: file, context: 'staging' });
      assert.deepEqual(client.identity, {
        context: 'staging',
        user: 'alice',
        server: 'https://127.0.0.1:6443',
      });
      await client.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('says whose credentials were refused, and whose RBAC to check', () => {
    const identity = { context: 'dev', user: 'alice', server: 'https://127.0.0.1:6443' };
    const unauthorized = explainForUser(
      new KubeApiError(401, 'Unauthorized', 'Unauthorized'),
      identity,
    ) as Error;
    assert.equal(
      unauthorized.message,
      'the Kubernetes API refused the credentials of user "alice" of context "dev" at https://127.0.0.1:6443 (401 Unauthorized): they may have expired; log in again or fix the user in the kubeconfig',
    );
    const forbidden = explainForUser(
      new KubeApiError(
        403,
        'Forbidden',
        'kustomizations is forbidden: User "alice" cannot list resource "kustomizations"',
      ),
      identity,
    ) as Error;
    assert.equal(
      forbidden.message,
      'kustomizations is forbidden: User "alice" cannot list resource "kustomizations" (as user "alice" of context "dev" at https://127.0.0.1:6443: check its RBAC, e.g. kubectl auth can-i)',
    );
    const other = new KubeApiError(404, 'NotFound', 'not found');
    assert.equal(explainForUser(other, identity), other);
  });
});

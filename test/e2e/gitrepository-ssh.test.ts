// GitRepositories over ssh against Debian's real sshd on 127.0.0.1 (dev/ssh-server.ts), with host and client keys
// made by ssh-keygen: the identity and known_hosts from the Secret fetch the repository and a Kustomization
// applies it; a host key that is not the server's and an identity the server does not know are refused with
// clear reasons; no key material appears in the controller's log, the events or the statuses.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeObject } from '../../src/kube/client.ts';
import { SshGitServer, sshKeyPair, type SshKeyPair } from '../../dev/ssh-server.ts';
import { condition } from '../../dev/cluster.ts';
import {
  create,
  gitPath,
  gitRepository,
  kustomization,
  ksPath,
  recordingLogger,
  useControllerEnv,
  waitForSource,
  waitForApplied,
} from '../support/controller.ts';

describe('GitRepository over ssh (real sshd)', () => {
  const controllerLog = recordingLogger();
  const env = useControllerEnv('e2e-ssh', { controller: { log: controllerLog.log } });
  let server: SshGitServer;
  let client: SshKeyPair;
  let stranger: SshKeyPair;
  let commit = '';

  before(async () => {
    [client, stranger] = await Promise.all([sshKeyPair(), sshKeyPair()]);
    commit = await env.git.createRepo('app', {
      'deploy/cm.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: over-ssh\n',
    });
    server = await SshGitServer.start(env.git, [client]);
    const otherHost = (await sshKeyPair()).publicKey.split(' ').slice(0, 2).join(' ');
    const secret = (name: string, stringData: Record<string, string>) =>
      env.objects.apply(
        { apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace: env.namespace }, stringData },
        { fieldManager: 'e2e-test' },
      );
    await secret('ssh-good', { identity: client.privateKey, known_hosts: server.knownHosts });
    await secret('ssh-wrong-host', {
      identity: client.privateKey,
      known_hosts: `[127.0.0.1]:${server.port} ${otherHost}`,
    });
    await secret('ssh-wrong-identity', { identity: stranger.privateKey, known_hosts: server.knownHosts });
  });
  after(async () => {
    await server?.stop();
  });

  const repository = (name: string, secretName: string) =>
    gitRepository(env, name, { url: server.url('app'), secretRef: { name: secretName } });
  it('fetches with the identity and known_hosts of its Secret, and a Kustomization applies it', async () => {
    await create(env, repository('app', 'ssh-good'));
    const repo = await waitForSource(env, 'GitRepository', 'app', 'True');
    const artifact = (repo['status'] as { artifact?: { revision: string } }).artifact;
    assert.equal(artifact?.revision, `main@sha1:${commit}`);
    await create(env, kustomization(env, 'over-ssh', { path: './deploy' }));
    await waitForApplied(env, 'over-ssh', commit);
    assert.ok(
      await env.objects.get({
        apiVersion: 'v1',
        kind: 'ConfigMap',
        namespace: env.namespace,
        name: 'over-ssh',
      }),
    );
  });

  it('refuses a server whose host key is not the one in known_hosts', async () => {
    await create(env, repository('wrong-host', 'ssh-wrong-host'));
    const repo = await waitForSource(env, 'GitRepository', 'wrong-host', 'False');
    assert.match(condition(repo, 'Ready')?.message ?? '', /host key verification failed/i);
  });

  it('is refused by the server with an identity it does not know', async () => {
    await create(env, repository('wrong-identity', 'ssh-wrong-identity'));
    const repo = await waitForSource(env, 'GitRepository', 'wrong-identity', 'False');
    assert.match(condition(repo, 'Ready')?.message ?? '', /permission denied \(publickey\)/i);
  });

  it('no key material in the controller’s log, the events or the statuses', async () => {
    const events = await env.client.get<{ items: KubeObject[] }>(
      `/api/v1/namespaces/${env.namespace}/events`,
    );
    const repos = await env.client.get<{ items: KubeObject[] }>(gitPath(env));
    const kustomizations = await env.client.get<{ items: KubeObject[] }>(ksPath(env));
    const haystack = [
      controllerLog.lines.join(''),
      JSON.stringify(events.items),
      JSON.stringify(repos.items),
      JSON.stringify(kustomizations.items),
    ].join('\n');
    assert.ok(controllerLog.lines.length > 0, 'the controller logged');
    for (const key of [client, stranger]) {
      // Any line of the private key's body would betray it.
      for (const line of key.privateKey.split('\n').filter((l) => l.length > 20 && !l.startsWith('-----'))) {
        assert.ok(!haystack.includes(line), 'a line of a private key was found');
      }
    }
    assert.doesNotMatch(haystack, /PRIVATE KEY/);
  });
});

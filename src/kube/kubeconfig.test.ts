import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { remoteKubeConfig } from './kubeconfig.ts';

const kubeconfig = (cluster: string, user: string) => `apiVersion: v1
kind: Config
clusters:
- name: remote
  cluster:
    server: https://127.0.0.1:6443
${cluster}
users:
- name: admin
  user:
${user}
contexts:
- name: remote
  context: {cluster: remote, user: admin}
current-context: remote
`;
const source = "Secret 'apps/remote' key 'value'";

describe('a remote cluster’s kubeconfig', () => {
  it('loads one that holds everything inline', () => {
    const kc = remoteKubeConfig(kubeconfig('    certificate-authority-data: Q0E=', '    token: abc'), source);
    assert.equal(kc.getCurrentCluster()?.server, 'https://127.0.0.1:6443');
  });

  it('refuses files on the controller’s disk, exec and auth-provider plugins and skipped TLS verification, naming each', () => {
    const text = kubeconfig(
      '    certificate-authority: /etc/ca.crt\n    insecure-skip-tls-verify: true',
      [
        '    tokenFile: /var/run/secrets/kubernetes.io/serviceaccount/token',
        '    client-certificate: /tmp/c.crt',
        '    client-key: /tmp/c.key',
        '    exec: {apiVersion: client.authentication.k8s.io/v1, command: aws}',
        '    auth-provider: {name: gcp}',
      ].join('\n'),
    );
    assert.throws(() => remoteKubeConfig(text, source), {
      message:
        "the kubeconfig in Secret 'apps/remote' key 'value' cannot be used for a remote cluster: " +
        "cluster 'remote' references a certificate-authority file, only certificate-authority-data is supported; " +
        "cluster 'remote' sets insecure-skip-tls-verify; give its certificate-authority-data instead; " +
        "user 'admin' references a tokenFile, only an inline token is supported; " +
        "user 'admin' references a client-certificate file, only client-certificate-data is supported; " +
        "user 'admin' references a client-key file, only client-key-data is supported; " +
        "user 'admin' runs an exec credential plugin, which the controller never runs; " +
        "user 'admin' uses an auth-provider plugin, which the controller never runs",
    });
  });

  it('says what is wrong with text that is no kubeconfig', () => {
    assert.throws(() => remoteKubeConfig('- a list', source), {
      message: "the kubeconfig in Secret 'apps/remote' key 'value' is not a YAML mapping",
    });
    assert.throws(() => remoteKubeConfig('apiVersion: v1\nkind: Config\n', source), {
      message: "the kubeconfig in Secret 'apps/remote' key 'value' has no cluster for its current-context",
    });
  });
});

describe('a kubeconfig with a YAML mistake', () => {
  it('is named by line and column, never by the text around the mistake', () => {
    const text =
      'apiVersion: v1\nkind: Config\nusers:\n- name: u\n  user:\n    token: sekrit-token-value\n   oops: x\n';
    assert.throws(
      () => remoteKubeConfig(text, "Secret 'apps/remote' key 'value'"),
      (error: Error) => {
        assert.match(
          error.message,
          /^the kubeconfig in Secret 'apps\/remote' key 'value' is not YAML: .* at line \d+, column \d+$/,
        );
        assert.doesNotMatch(error.message, /sekrit/);
        return true;
      },
    );
  });
});

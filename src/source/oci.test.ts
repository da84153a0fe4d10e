import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { dockerConfigCredentials, parseOciUrl } from './oci.ts';

describe('OCI references', () => {
  it('splits oci:// URLs into registry host and repository', () => {
    assert.deepEqual(parseOciUrl('oci://127.0.0.1:5000/org/app'), {
      registry: '127.0.0.1:5000',
      repository: 'org/app',
    });
    assert.deepEqual(parseOciUrl('oci://ghcr.io/stefanprodan/manifests/podinfo'), {
      registry: 'ghcr.io',
      repository: 'stefanprodan/manifests/podinfo',
    });
  });

  it('refuses a tag, a digest, another scheme and a missing repository, as Flux does', () => {
    assert.throws(() => parseOciUrl('oci://ghcr.io/org/app:v1'), {
      message:
        "URL validation failed for 'oci://ghcr.io/org/app:v1': URL must not contain a tag; remove ':v1'",
    });
    assert.throws(() => parseOciUrl('oci://ghcr.io/org/app@sha256:abc'), /must not contain a digest/);
    assert.throws(
      () => parseOciUrl('https://ghcr.io/org/app'),
      /URL must be in format 'oci:\/\/<domain>\/<org>\/<repo>'/,
    );
    assert.throws(() => parseOciUrl('oci://ghcr.io'), /URL must be in format/);
  });

  it('takes the dockerconfigjson entry of the registry host, as username/password or auth', () => {
    const config = JSON.stringify({
      auths: {
        'https://ghcr.io': { auth: Buffer.from('robot:p:w').toString('base64') },
        '127.0.0.1:5000': { username: 'u', password: 'p' },
      },
    });
    assert.deepEqual(dockerConfigCredentials(config, 'ghcr.io'), { username: 'robot', password: 'p:w' });
    assert.deepEqual(dockerConfigCredentials(config, '127.0.0.1:5000'), { username: 'u', password: 'p' });
    assert.equal(dockerConfigCredentials(config, 'quay.io'), undefined);
  });
});

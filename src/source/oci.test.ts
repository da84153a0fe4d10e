import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { dockerConfigCredentials, parseOciUrl, RegistryClient, registryLimits } from './oci.ts';

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

describe('RegistryClient against a hostile registry', () => {
  /** A registry on 127.0.0.1 that answers each path with what the test says, and counts what it was sent. */
  async function hostileRegistry(
    answer: (path: string, res: http.ServerResponse) => void,
  ): Promise<{ client: RegistryClient; seen: { path: string; authorization?: string }[]; close(): void }> {
    const seen: { path: string; authorization?: string }[] = [];
    const server = http.createServer((req, res) => {
      seen.push({ path: req.url ?? '', authorization: req.headers.authorization });
      answer(req.url ?? '', res);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    const client = new RegistryClient(parseOciUrl(`oci://127.0.0.1:${port}/app`), {
      insecure: true,
      credentials: { username: 'robot', password: 'pw' },
    });
    return { client, seen, close: () => server.close() };
  }

  it('refuses a manifest over its size limit', async () => {
    const registry = await hostileRegistry((_path, res) =>
      res.end('x'.repeat(registryLimits.manifestBytes + 1)),
    );
    try {
      await assert.rejects(registry.client.manifest('v1'), {
        message: `manifest v1 is larger than ${registryLimits.manifestBytes} bytes`,
      });
    } finally {
      registry.close();
    }
  });

  it('refuses a blob larger than its manifest says, and a next page on another host', async () => {
    const registry = await hostileRegistry((path, res) => {
      if (path.includes('/tags/list')) {
        res.setHeader('link', '<http://169.254.169.254/v2/app/tags/list?last=x>; rel="next"');
        return res.end(JSON.stringify({ tags: ['v1'] }));
      }
      res.end('y'.repeat(1000));
    });
    const dir = await mkdtemp(path.join(tmpdir(), 'sluice-oci-'));
    try {
      await assert.rejects(
        registry.client.downloadBlob(`sha256:${'0'.repeat(64)}`, path.join(dir, 'blob'), 10),
        {
          message: `blob sha256:${'0'.repeat(64)} is larger than 10 bytes, the size its manifest gives`,
        },
      );
      await assert.rejects(registry.client.tags(), {
        message: 'the next page of the tag list of app is on another host (169.254.169.254)',
      });
    } finally {
      registry.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('puts no more than a short, printable reason of an error body in its message', async () => {
    const registry = await hostileRegistry((_path, res) => {
      res.statusCode = 500;
      res.end(`secret-dump\u001b[31m${'z'.repeat(5000)}`);
    });
    try {
      await assert.rejects(registry.client.manifest('v1'), (error: Error) => {
        assert.ok(error.message.length < 300, error.message);
        assert.ok(!error.message.includes('\u001b'), error.message);
        return true;
      });
    } finally {
      registry.close();
    }
  });

  it('sends the credentials to no token realm of another domain', async () => {
    let realmSeen: string | undefined = 'not asked';
    const realm = http.createServer((req, res) => {
      realmSeen = req.headers.authorization;
      res.end(JSON.stringify({ token: 'anonymous' }));
    });
    await new Promise<void>((resolve) => realm.listen(0, '127.0.0.2', resolve));
    const realmPort = (realm.address() as AddressInfo).port;
    const registry = await hostileRegistry((_path, res) => {
      res.statusCode = 401;
      res.setHeader('www-authenticate', `Bearer realm="http://127.0.0.2:${realmPort}/token",service="x"`);
      res.end();
    });
    try {
      await assert.rejects(registry.client.manifest('v1'));
      assert.equal(realmSeen, undefined);
    } finally {
      registry.close();
      realm.close();
    }
  });
});

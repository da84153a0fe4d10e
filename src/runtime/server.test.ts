import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseListenAddress, serve, serveFiles, serverLimits } from './server.ts';
import { hostileRequests, sendRaw, slowClient } from '../../dev/hostile-requests.ts';

describe('HTTP endpoints', () => {
  it('parses listen addresses the way Go writes them', () => {
    assert.deepEqual(parseListenAddress(':8080'), { host: undefined, port: 8080 });
    assert.deepEqual(parseListenAddress('127.0.0.1:0'), { host: '127.0.0.1', port: 0 });
    assert.deepEqual(parseListenAddress('[::1]:9440'), { host: '::1', port: 9440 });
    for (const bad of ['8080', 'host:', 'host:99999', ':http']) assert.throws(() => parseListenAddress(bad));
  });

  it('serves its routes, 404 elsewhere, and reports the bound port', async () => {
    const server = await serve('127.0.0.1:0', { '/healthz': () => ({ status: 200, body: 'ok\n' }) });
    try {
      assert.match(server.address, /^127\.0\.0\.1:[1-9]\d*$/);
      const ok = await fetch(`http://${server.address}/healthz`);
      assert.equal(ok.status, 200);
      assert.equal(await ok.text(), 'ok\n');
      assert.equal((await fetch(`http://${server.address}/nope`)).status, 404);
    } finally {
      await server.close();
    }
  });
});

describe('hostile clients', () => {
  it('answers every malformed request with a 4xx, and cuts off a client that goes quiet mid-request', async () => {
    const routes = await serve('127.0.0.1:0', { '/healthz': () => ({ status: 200, body: 'ok\n' }) });
    const files = await serveFiles('127.0.0.1:0', import.meta.dirname);
    try {
      for (const server of [routes, files]) {
        const port = Number(server.address.split(':').at(-1));
        for (const request of hostileRequests) {
          const answer = await sendRaw(port, request);
          assert.ok(
            answer.status === undefined || (answer.status >= 400 && answer.status < 500),
            answer.head,
          );
        }
        const heldMs = await slowClient(port, serverLimits.idleTimeoutMs + 10_000);
        assert.ok(heldMs < serverLimits.idleTimeoutMs + 5_000, `held for ${heldMs} ms`);
      }
    } finally {
      await routes.close();
      await files.close();
    }
  });
});

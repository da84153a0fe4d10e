import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseListenAddress, serve } from './server.ts';

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

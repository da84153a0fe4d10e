import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { KustomizationSpec } from '../api/kustomization.ts';
import { BuildCache } from './build-cache.ts';

const spec = (fields: Partial<KustomizationSpec> = {}): KustomizationSpec => ({
  interval: '10m',
  prune: true,
  path: './app',
  sourceRef: { kind: 'GitRepository', name: 'repo' },
  ...fields,
});
const configMap = (name: string, data = 'x') => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name },
  data: { data },
});

describe('BuildCache.key', () => {
  it('is the same for specs that differ only in what kustomize does not read', () => {
    const a = BuildCache.key('sha256:1', spec());
    const b = BuildCache.key(
      'sha256:1',
      spec({
        interval: '1m',
        wait: true,
        dependsOn: [{ name: 'db' }],
        postBuild: { substitute: { INDEX: '7' } },
        commonMetadata: { labels: { team: 'a' } },
      }),
    );
    assert.equal(a, b);
  });

  it('differs by artifact, path and each overlay field', () => {
    const base = BuildCache.key('sha256:1', spec());
    const others = [
      BuildCache.key('sha256:2', spec()),
      BuildCache.key('sha256:1', spec({ path: './other' })),
      BuildCache.key('sha256:1', spec({ targetNamespace: 'team' })),
      BuildCache.key('sha256:1', spec({ namePrefix: 'p-' })),
      BuildCache.key('sha256:1', spec({ nameSuffix: '-s' })),
      BuildCache.key('sha256:1', spec({ images: [{ name: 'app', newTag: '2' }] })),
      BuildCache.key('sha256:1', spec({ components: ['../c'] })),
      BuildCache.key('sha256:1', spec({ components: ['../c'], ignoreMissingComponents: true })),
      BuildCache.key('sha256:1', spec({ patches: [{ patch: 'x' }] })),
      BuildCache.key('sha256:1', spec({ buildMetadata: ['originAnnotations'] })),
    ];
    assert.equal(new Set([base, ...others]).size, others.length + 1);
  });
});

describe('BuildCache', () => {
  it('gives each caller its own copy of the objects', async () => {
    const cache = new BuildCache();
    cache.set('k', [configMap('a')]);
    const first = await cache.get('k');
    assert.ok(first);
    (first[0] as { data: { data: string } }).data.data = 'changed';
    assert.deepEqual(await cache.get('k'), [configMap('a')]);
    assert.equal(cache.get('missing'), undefined);
  });

  it('lets whoever asks during a build wait for it, and keeps what it built', async () => {
    const cache = new BuildCache();
    let finish: (objects: ReturnType<typeof configMap>[]) => void = () => undefined;
    let builds = 0;
    const building = cache.build('k', () => {
      builds++;
      return new Promise((resolve) => (finish = resolve));
    });
    const waiting = cache.get('k');
    assert.ok(waiting, 'a build in flight is found');
    finish([configMap('a')]);
    assert.deepEqual(await waiting, [configMap('a')]);
    assert.deepEqual(await building, [configMap('a')]);
    assert.deepEqual(await cache.get('k'), [configMap('a')]);
    assert.equal(builds, 1);
  });

  it('says whether a build is kept or in flight, without copying it', async () => {
    const cache = new BuildCache();
    assert.equal(cache.has('k'), false);
    let finish: (objects: ReturnType<typeof configMap>[]) => void = () => undefined;
    const building = cache.build('k', () => new Promise((resolve) => (finish = resolve)));
    assert.equal(cache.has('k'), true);
    finish([configMap('a')]);
    await building;
    assert.equal(cache.has('k'), true);
    assert.equal(cache.has('other'), false);
  });

  it('keeps nothing of a failed build, and lets a later one run', async () => {
    const cache = new BuildCache();
    const failing = cache.build('k', () => Promise.reject(new Error('kustomize build failed')));
    const waiting = cache.get('k');
    await assert.rejects(failing, /kustomize build failed/);
    await assert.rejects(waiting ?? Promise.resolve(), /kustomize build failed/);
    assert.equal(cache.get('k'), undefined);
    assert.deepEqual(await cache.build('k', () => Promise.resolve([configMap('b')])), [configMap('b')]);
  });

  it('keeps to its byte budget, dropping the least recently used first', () => {
    const one = JSON.stringify([configMap('a')]).length;
    const cache = new BuildCache(one * 4);
    cache.set('a', [configMap('a')]);
    cache.set('b', [configMap('b')]);
    cache.set('c', [configMap('c')]);
    void cache.get('a'); // now b is the least recently used
    cache.set('d', [configMap('d')]);
    cache.set('e', [configMap('e')]);
    assert.equal(cache.size, 4);
    assert.equal(cache.get('b'), undefined);
    for (const key of ['a', 'c', 'd', 'e']) assert.ok(cache.get(key), key);
  });

  it('does not keep a build larger than a quarter of its budget', () => {
    const cache = new BuildCache(100);
    cache.set('big', [configMap('a', 'x'.repeat(100))]);
    assert.equal(cache.size, 0);
  });
});

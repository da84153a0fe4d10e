// A repository's author cannot make a build read a file outside the artifact or reach the network, whatever
// kustomization field, inline generator or transformer config, or generator directory they use: each such
// Kustomization is Ready=False saying what was refused, nothing of its stage is applied, a local HTTP server
// receives nothing, and a neighbour Kustomization of the same source is applied.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  useControllerEnv,
  gitRepository,
  kustomization,
  create,
  waitForReady,
  waitForRefusal,
} from '../support/controller.ts';

const marker = 'marker-a-build-must-never-read';

describe('a build is confined to its artifact', () => {
  const env = useControllerEnv('e2e-confine');
  let requests = 0;
  const server = createServer((_request, response) => {
    requests += 1;
    response.end(`apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: from-the-network\n`);
  });
  let outsideDir: string;
  let outside: string;
  let url: string;

  const beside = (name: string) =>
    `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: beside-${name}\ndata:\n  stage: ${name}\n`;
  const inlineGenerator = (kind: string, body: string) =>
    `- |-\n  apiVersion: builtin\n  kind: ${kind}\n  metadata: {name: leak}\n  ${body}\n`;

  const cases: { name: string; files: (dir: string) => Record<string, string>; message: () => RegExp }[] = [
    {
      name: 'inline-generator-file',
      files: (dir) => ({
        [`${dir}/kustomization.yaml`]: `resources: [cm.yaml]\ngenerators:\n${inlineGenerator('ConfigMapGenerator', `files: [t=${outside}]`)}`,
      }),
      message: () =>
        new RegExp(`'${outside}' is outside the artifact root, and a build reads only files inside it`),
    },
    {
      name: 'generator-config-envs',
      files: (dir) => ({
        [`${dir}/kustomization.yaml`]: 'resources: [cm.yaml]\ngenerators: [secret-gen.yaml]\n',
        [`${dir}/secret-gen.yaml`]: `apiVersion: builtin\nkind: SecretGenerator\nmetadata: {name: leak}\nenvs: [${outside}]\n`,
      }),
      message: () => new RegExp(`'${outside}' is outside the artifact root`),
    },
    {
      name: 'inline-transformer-patch',
      files: (dir) => ({
        [`${dir}/kustomization.yaml`]: `resources: [cm.yaml]\ntransformers:\n${inlineGenerator('PatchTransformer', `path: ${outside}`)}`,
      }),
      message: () => new RegExp(`'${outside}' is outside the artifact root`),
    },
    {
      name: 'generator-url',
      files: (dir) => ({
        [`${dir}/kustomization.yaml`]: `resources: [cm.yaml]\nconfigMapGenerator:\n- name: leak\n  files: [t=${url}]\n`,
      }),
      message: () => new RegExp(`'${url}' is on the network, and a build makes no network requests`),
    },
    {
      name: 'patch-url',
      files: (dir) => ({
        [`${dir}/kustomization.yaml`]: `resources: [cm.yaml]\npatches:\n- path: ${url}\n`,
      }),
      message: () => new RegExp(`'${url}' is on the network`),
    },
    {
      name: 'generator-directory-remote',
      files: (dir) => ({
        [`${dir}/kustomization.yaml`]: 'resources: [cm.yaml]\ngenerators: [gen]\n',
        [`${dir}/gen/kustomization.yaml`]: `resources:\n- ${url}\n`,
      }),
      message: () => /kustomize build failed: .*gen/,
    },
  ];

  before(async () => {
    outsideDir = await mkdtemp(path.join(tmpdir(), 'sluice-outside-'));
    outside = path.join(outsideDir, 'marker.txt');
    await writeFile(outside, marker);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/cm.yaml`;
    const files: Record<string, string> = {
      'good/cm.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: good\n',
    };
    for (const c of cases) Object.assign(files, { [`${c.name}/cm.yaml`]: beside(c.name) }, c.files(c.name));
    await env.git.createRepo('app', files);
    await create(env, gitRepository(env, 'app'));
  });

  after(async () => {
    server.close();
    await rm(outsideDir, { recursive: true, force: true });
  });

  for (const c of cases) {
    it(`${c.name}: Ready=False BuildFailed, nothing of the stage applied`, async () => {
      await create(env, kustomization(env, c.name, { path: `./${c.name}` }));
      const ks = await waitForRefusal(env, c.name, 'BuildFailed', c.message());
      assert.doesNotMatch(JSON.stringify(ks['status']), new RegExp(marker));
      const stage = {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        namespace: env.namespace,
        name: `beside-${c.name}`,
      };
      assert.equal(await env.objects.get(stage), undefined, `${stage.name} must not be applied`);
    });
  }

  it('the neighbour of the same source is applied, no ConfigMap holds the marker, the server heard nothing', async () => {
    await create(env, kustomization(env, 'good', { path: './good' }));
    await waitForReady(env, 'good', 'True');
    assert.ok(
      await env.objects.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: env.namespace, name: 'good' }),
    );
    const configMaps = await env.client.get<{ items: unknown[] }>(
      `/api/v1/namespaces/${env.namespace}/configmaps`,
    );
    assert.doesNotMatch(JSON.stringify(configMaps.items), new RegExp(marker));
    assert.equal(requests, 0);
  });
});

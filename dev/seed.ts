// Seed 001's pipeline as the demo and the benchmark run it: its repository, its GitRepository and three
// Kustomizations applied unmodified into a namespace, a release that bumps the image tag, and waiting for the
// stages in order.
import path from 'node:path';
import YAML from 'yaml';
import type { KubeObject } from '../src/kube/client.ts';
import type { ObjectClient } from '../src/kube/objects.ts';
import { KustomizationApi } from '../src/api/kustomization.ts';
import { GitRepositoryApi } from '../src/api/gitrepository.ts';
import { waitForRequest, type Request } from '../src/kstatus/request.ts';
import { repoRoot } from './cluster.ts';
import { readTree } from './fixtures.ts';

const seedDir = path.join(repoRoot, 'test/fixtures/seed-001');

/** The pipeline's stages in order: the folder each applies and its Kustomization. */
export const stages = [
  { stage: 'pre-deploy', kustomization: 'app-pre-deploy', file: 'flux/pre-deploy.yaml' },
  { stage: 'deploy', kustomization: 'app-deploy', file: 'flux/deploy.yaml' },
  { stage: 'post-deploy', kustomization: 'app-post-deploy', file: 'flux/post-deploy.yaml' },
] as const;

/** The seed's files, path → content, as committed to the git repository. */
export const seedFiles = (): Promise<Record<string, string>> => readTree(seedDir);

/** The release of `tag`: every manifest outside flux/ with the image tag v1.0.0 replaced. */
export function release(files: Record<string, string>, tag: string): Record<string, string> {
  return Object.fromEntries(
    Object.entries(files)
      .filter(([file]) => !file.startsWith('flux/'))
      .map(([file, text]) => [
        file,
        text.replaceAll('ghcr.io/org/my-app:v1.0.0', `ghcr.io/org/my-app:${tag}`),
      ]),
  );
}

export interface ApplyOptions {
  namespace: string;
  gitUrl: string;
  fieldManager: string;
  /** Set on each Kustomization (Flux rejects the seed's namespace-less objects without it). */
  targetNamespace?: string;
}

/** Applies the GitRepository `my-app` and the seed's three Kustomizations, as written, into the namespace. */
export async function applyPipeline(
  objects: ObjectClient,
  files: Record<string, string>,
  options: ApplyOptions,
): Promise<void> {
  const apply = (o: KubeObject) =>
    objects.apply(
      { ...o, metadata: { ...o.metadata, namespace: options.namespace } },
      { fieldManager: options.fieldManager },
    );
  await apply({
    apiVersion: GitRepositoryApi.apiVersion,
    kind: GitRepositoryApi.kind,
    metadata: { name: 'my-app' },
    spec: { url: options.gitUrl, interval: '1m', ref: { branch: 'main' } },
  });
  for (const { file } of stages) {
    const ks = YAML.parse(files[file] ?? '') as KubeObject & { spec: Record<string, unknown> };
    if (options.targetNamespace) ks.spec['targetNamespace'] = options.targetNamespace;
    await apply(ks);
  }
}

/**
 * Waits for each stage in order until the controller has finished with `request` (the first sync: generation 1;
 * a release: its revision), and fails at once, with the stage's message, when one fails.
 */
export async function waitForPipeline(
  objects: ObjectClient,
  namespace: string,
  request: Request,
  signal: AbortSignal,
): Promise<void> {
  for (const { kustomization } of stages) {
    const ref = {
      apiVersion: KustomizationApi.apiVersion,
      kind: KustomizationApi.kind,
      namespace,
      name: kustomization,
    };
    const outcome = await waitForRequest(objects, ref, request, { signal });
    if (outcome.state === 'failed')
      throw new Error(`Kustomization/${kustomization} failed: ${outcome.message}`);
    if (outcome.state === 'deleted') throw new Error(`Kustomization/${kustomization} was deleted`);
  }
}

/**
 * The release of `tag` whose migration Job fails: the local cluster's kwok ends its pod with `exitCode` and
 * `message` (its failure label and annotations on the pod template), and the Job gives up at once.
 */
export function failingMigration(
  files: Record<string, string>,
  tag: string,
  failure: { exitCode: number; message: string },
): Record<string, string> {
  const released = release(files, tag);
  const kwok = 'pod-container-running-failed.stage.kwok.x-k8s.io';
  const file = 'pre-deploy/migration.job.yaml';
  released[file] = (released[file] ?? '').replace(
    '  template:\n    spec:',
    [
      '  backoffLimit: 0',
      '  template:',
      '    metadata:',
      `      labels: {${kwok}: "true"}`,
      '      annotations:',
      `        ${kwok}/exit-code: "${failure.exitCode}"`,
      // kwok writes the message into YAML unquoted: quoted, it may hold ": ".
      `        ${kwok}/message: ${JSON.stringify(JSON.stringify(failure.message))}`,
      '    spec:',
    ].join('\n'),
  );
  return released;
}

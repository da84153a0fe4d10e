import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Kustomization, KustomizationStatus } from '../api/kustomization.ts';
import type { Condition } from '../api/meta.ts';
import { findPipeline, pipelinesOf, stageStateOf } from './pipeline.ts';
import { pipelineRow, pipelineStateText, stageRows } from '../cli/pipelines.ts';

const ready = (
  status: Condition['status'],
  reason: Condition['reason'],
  message = '',
  at = '2026-12-01T10:00:00Z',
): Condition => ({
  type: 'Ready',
  status,
  reason,
  message,
  lastTransitionTime: at,
});

function ks(
  name: string,
  dependsOn: (string | { name: string; namespace: string })[] = [],
  status: KustomizationStatus = {},
  namespace = 'apps',
): Kustomization {
  return {
    apiVersion: 'kustomize.toolkit.fluxcd.io/v1',
    kind: 'Kustomization',
    metadata: { name, namespace, generation: 1, creationTimestamp: '2026-12-01T09:00:00Z' },
    spec: {
      interval: '1m',
      prune: true,
      sourceRef: { kind: 'GitRepository', name: 'repo' },
      dependsOn: dependsOn.map((d) => (typeof d === 'string' ? { name: d } : d)),
    },
    status: { observedGeneration: 1, ...status },
  } as Kustomization;
}

const rev = (n: number) => `main@sha1:${String(n).repeat(40)}`;

describe('pipelinesOf', () => {
  it('finds the connected dependsOn graphs, stages in dependency order, across namespaces', () => {
    const all = [
      ks('post', ['deploy']),
      ks('deploy', ['pre', { name: 'shared-db', namespace: 'infra' }]),
      ks('pre'),
      ks('shared-db', [], {}, 'infra'),
      ks('lonely'),
      ks('elsewhere', [], {}, 'other'),
    ];
    const pipelines = pipelinesOf(all, 'apps');
    assert.deepEqual(
      pipelines.map((p) => [p.name, p.stages.map((s) => s.key)]),
      [
        ['lonely', ['apps/lonely']],
        ['pre', ['apps/pre', 'infra/shared-db', 'apps/deploy', 'apps/post']],
      ],
    );
    assert.equal(findPipeline(pipelines, 'apps', 'post')?.name, 'pre');
    assert.equal(findPipeline(pipelines, 'apps', 'nope'), undefined);
  });

  it('says where a release is: progressing, failed or ready at a stage', () => {
    const stages = (pre: KustomizationStatus, deploy: KustomizationStatus) =>
      pipelinesOf([ks('pre', [], pre), ks('deploy', ['pre'], deploy)], 'apps')[0];
    const readyAt = (n: number) => ({
      lastAttemptedRevision: rev(n),
      lastAppliedRevision: rev(n),
      conditions: [ready('True', 'ReconciliationSucceeded')],
    });
    const ok = stages(readyAt(1), readyAt(1));
    assert.equal(ok && pipelineStateText(ok), 'Ready');
    const moving = stages(
      { ...readyAt(2), conditions: [ready('True', 'ReconciliationSucceeded', '', '2026-12-01T11:00:00Z')] },
      {
        ...readyAt(1),
        conditions: [ready('False', 'DependencyNotReady', "dependency 'apps/pre' is not ready")],
      },
    );
    assert.equal(moving && pipelineStateText(moving), 'Progressing at stage 2 (deploy)');
    assert.equal(moving?.revision, rev(2));
    const failed = stages(
      {
        lastAttemptedRevision: rev(3),
        conditions: [
          ready('False', 'HealthCheckFailed', 'health check failed'),
          { ...ready('True', 'ProgressingWithRetry'), type: 'Reconciling' },
        ],
      },
      readyAt(1),
    );
    assert.equal(failed && pipelineStateText(failed), 'Failed at stage 1 (pre)');
  });

  it('reads each stage state from the Kustomization', () => {
    const cases: [KustomizationStatus, string, boolean?][] = [
      [{ conditions: [ready('True', 'ReconciliationSucceeded')] }, 'Ready'],
      [{ observedGeneration: 0, conditions: [ready('True', 'ReconciliationSucceeded')] }, 'Progressing'],
      [{ conditions: [ready('Unknown', 'Progressing')] }, 'Progressing'],
      [{ conditions: [ready('False', 'DependencyNotReady')] }, 'Waiting'],
      [{ conditions: [ready('False', 'BuildFailed')] }, 'Failed'],
      [{}, 'Progressing'],
      [{ conditions: [ready('True', 'ReconciliationSucceeded')] }, 'Suspended', true],
    ];
    for (const [status, expected, suspend] of cases) {
      const k = ks('x', [], status);
      if (suspend) k.spec.suspend = true;
      assert.equal(stageStateOf(k), expected, JSON.stringify(status));
    }
  });
});

describe('pipeline rows', () => {
  it('lists a stage, its newest Job runs oldest first, and its workloads', () => {
    const now = new Date('2026-12-01T10:01:00Z');
    const [pipeline] = pipelinesOf(
      [
        ks('pre', [], {
          lastAttemptedRevision: rev(2),
          conditions: [ready('False', 'HealthCheckFailed', `failed at ${rev(2)}`)],
          history: [
            {
              digest: 'sha256:x',
              firstReconciled: '',
              lastReconciled: '',
              lastReconciledDuration: '1.2s',
              lastReconciledStatus: 'HealthCheckFailed',
              totalReconciliations: 2,
            },
          ],
          inventory: { entries: [{ id: 'apps_web_apps_Deployment', v: 'v1' }] },
          jobRuns: [
            {
              id: 'apps_migrate_batch_Job',
              digest: 'sha256:b',
              revision: rev(2),
              attempt: 1,
              trigger: 'Apply',
              uid: 'u2',
              result: 'Failed',
              startedAt: '2026-12-01T10:00:00Z',
              finishedAt: '2026-12-01T10:00:05Z',
              failure: { reason: 'BackoffLimitExceeded', exitCode: 3 },
            },
            {
              id: 'apps_migrate_batch_Job',
              digest: 'sha256:a',
              revision: rev(1),
              attempt: 1,
              trigger: 'Apply',
              uid: 'u1',
              result: 'Complete',
              startedAt: '2026-12-01T09:00:00Z',
              finishedAt: '2026-12-01T09:00:01Z',
            },
          ],
        }),
      ],
      'apps',
    );
    assert.ok(pipeline);
    assert.deepEqual(pipelineRow(pipeline, now), [
      'pre',
      'pre',
      'main@sha1:22222222',
      'Failed at stage 1 (pre)',
      '61m',
    ]);
    const stage = pipeline.stages[0];
    assert.ok(stage);
    assert.deepEqual(stageRows(stage, new Map(), now), [
      ['1', 'pre', 'main@sha1:22222222', 'Failed: failed at main@sha1:22222222', '60s', '1.2s'],
      ['', '└ Job/migrate', 'main@sha1:22222222', 'Failed (exit 3), attempt 1', '60s', '5s'],
      ['', '└ Deployment/web', '', 'not found', '', ''],
    ]);
  });
});

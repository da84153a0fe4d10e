import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  evaluateWait,
  healthCheckFailedMessage,
  healthCheckPassedMessage,
  type ObjectHealth,
  type WaitOptions,
  type WaitOutcome,
} from './aggregate.ts';

const migration = 'Job/apps/db-migration';
const web = 'Deployment/apps/web';
const cache = 'Job/apps/cache-warmup';

const current = (id: string): ObjectHealth => ({ id, result: { status: 'Current', message: 'done' } });
const inProgress = (id: string): ObjectHealth => ({
  id,
  result: { status: 'InProgress', message: 'working' },
});
const failed = (id: string): ObjectHealth => ({
  id,
  result: { status: 'Failed', message: 'Job Failed. failed: 1/1' },
});
const notFound = (id: string, jobWithTTL = false): ObjectHealth => ({
  id,
  result: { status: 'NotFound', message: 'Resource not found' },
  jobWithTTL,
});

interface Case {
  name: string;
  objects: ObjectHealth[];
  options?: WaitOptions;
  want: WaitOutcome;
}

const cases: Case[] = [
  { name: 'nothing to wait for', objects: [], want: { state: 'healthy' } },
  { name: 'all Current', objects: [current(migration), current(web)], want: { state: 'healthy' } },
  { name: 'still in progress', objects: [current(migration), inProgress(web)], want: { state: 'waiting' } },
  {
    name: 'an object no poll has seen yet keeps the wait going',
    objects: [current(migration), { id: web }],
    want: { state: 'waiting' },
  },
  {
    name: 'NotFound without TTL keeps the wait going',
    objects: [current(web), notFound(migration)],
    want: { state: 'waiting' },
  },
  {
    name: 'a TTL Job deleted after finishing counts as Current',
    objects: [current(web), notFound(migration, true)],
    want: { state: 'healthy' },
  },
  {
    name: 'one Failed stops the wait at once (FailFast)',
    objects: [failed(migration), inProgress(web), { id: cache }],
    want: {
      state: 'failed',
      message: `failed early due to stalled resources: [${migration} status: 'Failed']`,
    },
  },
  {
    name: 'without FailFast a Failed object waits for the others',
    objects: [failed(migration), inProgress(web)],
    options: { failFast: false },
    want: { state: 'waiting' },
  },
  {
    name: 'without FailFast, all Failed or Current stops (terminal)',
    objects: [failed(migration), current(web), failed(cache)],
    options: { failFast: false },
    want: {
      state: 'failed',
      message: `failed early due to stalled resources: [${migration} status: 'Failed', ${cache} status: 'Failed']`,
    },
  },
  {
    name: 'deadline with a Job still running',
    objects: [inProgress(migration)],
    options: { deadlineExceeded: true },
    want: { state: 'failed', message: `timeout waiting for: [${migration} status: 'InProgress']` },
  },
  {
    name: 'deadline: every object not Current, except a finished TTL Job; never observed has its own text',
    objects: [
      current('ConfigMap/apps/settings'),
      inProgress(web),
      { id: 'Service/apps/web' },
      notFound(cache, true),
      notFound('Job/apps/seed'),
      { id: 'Job/apps/report', jobWithTTL: true },
      { id: 'Widget/w', result: { status: 'Terminating', message: 'Resource scheduled for deletion' } },
    ],
    options: { deadlineExceeded: true },
    want: {
      state: 'failed',
      message:
        `timeout waiting for: [${web} status: 'InProgress', can't determine status for Service/apps/web, ` +
        `Job/apps/seed status: 'NotFound', Widget/w status: 'Terminating']`,
    },
  },
  {
    name: 'deadline lists a reader error after the status',
    objects: [
      {
        id: 'Widget/apps/w',
        result: { status: 'Unknown', message: 'unknown phase X', error: 'unknown phase X' },
      },
      failed(migration),
    ],
    options: { deadlineExceeded: true },
    want: {
      state: 'failed',
      message: `timeout waiting for: [Widget/apps/w status: 'Unknown': unknown phase X, ${migration} status: 'Failed']`,
    },
  },
  {
    name: 'deadline with everything Current passes',
    objects: [current(migration), notFound(cache, true)],
    options: { deadlineExceeded: true },
    want: { state: 'healthy' },
  },
];

describe('evaluateWait', () => {
  for (const c of cases) {
    it(c.name, () => assert.deepEqual(evaluateWait(c.objects, c.options), c.want));
  }
});

describe('health check messages', () => {
  const table: [string, string][] = [
    [
      healthCheckFailedMessage(300_012.5, `timeout waiting for: [${migration} status: 'InProgress']`),
      `health check failed after 5m0.0125s: timeout waiting for: [${migration} status: 'InProgress']`,
    ],
    [
      healthCheckFailedMessage(
        5_003.25,
        `failed early due to stalled resources: [${migration} status: 'Failed']`,
      ),
      `health check failed after 5.00325s: failed early due to stalled resources: [${migration} status: 'Failed']`,
    ],
    [healthCheckPassedMessage(2_512.75), 'Health check passed in 2.51275s'],
    [healthCheckPassedMessage(40), 'Health check passed in 40ms'],
  ];
  for (const [got, want] of table) {
    it(want, () => assert.equal(got, want));
  }
});

// Why a Job failed, from its Failed condition and its pods, as the ledger keeps it and as one line.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Pod } from '../kube/pods.ts';
import {
  MAX_MESSAGE_CHARS,
  describeFailure,
  failureCause,
  redact,
  truncateEnd,
  truncateStart,
} from './failure.ts';
import { encodedForms, secretNamesFor } from './secrets.ts';

const pod = (name: string, phase: string, terminated?: Record<string, unknown>, init = false): Pod => ({
  metadata: { name, namespace: 'apps' },
  status: {
    phase,
    [init ? 'initContainerStatuses' : 'containerStatuses']: [
      { name: init ? 'wait-db' : 'migration', state: terminated ? { terminated } : {} },
    ],
  },
});

const backoff = { reason: 'BackoffLimitExceeded', message: 'Job has reached the specified backoff limit' };

describe('Job failure', () => {
  it('names the newest failed pod, its failed container, exit code and termination message', () => {
    const pods = [
      pod('m-aaaaa', 'Failed', { exitCode: 1, reason: 'Error' }),
      pod('m-bbbbb', 'Failed', { exitCode: 3, reason: 'Error', message: 'relation users already exists\n' }),
    ];
    const failure = describeFailure(backoff, pods);
    assert.deepEqual(failure, {
      ...backoff,
      pod: 'm-bbbbb',
      container: 'migration',
      exitCode: 3,
      terminationReason: 'Error',
      terminationMessage: 'relation users already exists',
    });
    assert.equal(
      failureCause(failure),
      'pod m-bbbbb container migration exited 3: "relation users already exists"',
    );
  });

  it('tells OOMKilled, a signal and an init container apart', () => {
    const oom = describeFailure(backoff, [pod('m-x', 'Failed', { exitCode: 137, reason: 'OOMKilled' })]);
    assert.equal(oom.signal, undefined);
    assert.equal(failureCause(oom), 'pod m-x container migration was OOMKilled (exit code 137)');
    const killed = describeFailure(backoff, [pod('m-y', 'Failed', { exitCode: 143, reason: 'Error' })]);
    assert.equal(failureCause(killed), 'pod m-y container migration was killed by signal 15 (exit code 143)');
    const init = describeFailure(backoff, [pod('m-z', 'Failed', { exitCode: 2 }, true)]);
    assert.equal(failureCause(init), 'pod m-z container wait-db exited 2');
  });

  it("falls back to the Job's reason when no container failed (a deadline deletes the pods)", () => {
    const deadline = { reason: 'DeadlineExceeded', message: 'Job was active longer than specified deadline' };
    assert.equal(
      failureCause(describeFailure(deadline, [])),
      'DeadlineExceeded: Job was active longer than specified deadline',
    );
    const evicted = describeFailure(backoff, [
      {
        metadata: { name: 'm-e', namespace: 'apps' },
        status: { phase: 'Failed', reason: 'Evicted', message: 'low on memory' },
      },
    ]);
    assert.equal(
      failureCause(evicted),
      'BackoffLimitExceeded: Job has reached the specified backoff limit (pod m-e Evicted: "low on memory")',
    );
  });

  it('bounds what it keeps and takes Secret values out', () => {
    const long = 'x'.repeat(5000);
    const failure = describeFailure(backoff, [pod('m', 'Failed', { exitCode: 1, message: long })]);
    assert.equal(
      failure.terminationMessage?.length,
      5000,
      'kept whole, so a Secret value is not cut before redaction',
    );
    assert.equal(truncateEnd(long, MAX_MESSAGE_CHARS).length, 1024);
    assert.equal(truncateStart('abcdef', 4), '…def');
    assert.equal(truncateEnd('abcdef', 4), 'abc…');
    assert.equal(
      redact('password=hunter22 user=admin', ['hunter22', 'admin', '']),
      'password=[redacted] user=[redacted]',
    );
    assert.equal(redact('token abcd', ['abcd', 'abcdef']), 'token [redacted]');
  });

  it('also takes out the base64 and URL-encoded forms of a value, and any ServiceAccount token', () => {
    const forms = encodedForms('p@ss w/rd?');
    const printed = [
      `plain p@ss w/rd?`,
      `base64 ${Buffer.from('p@ss w/rd?').toString('base64')}`,
      `url ${encodeURIComponent('p@ss w/rd?')}`,
      'jwt eyJhbGciOiJSUzI1NiIsImtpZCI6IjEifQ.eyJpc3MiOiJrdWJlcm5ldGVzIn0.c2lnbmF0dXJlLXNpZ25hdHVyZQ',
    ].join('\n');
    assert.equal(
      redact(printed, forms),
      'plain [redacted]\nbase64 [redacted]\nurl [redacted]\njwt [redacted token]',
    );
  });

  it("finds the Secrets a container reads: env, envFrom and the pod's Secret volumes", () => {
    const withSecrets: Pod = {
      metadata: { name: 'm', namespace: 'apps' },
      spec: {
        containers: [
          {
            name: 'migration',
            env: [
              { name: 'PW', valueFrom: { secretKeyRef: { name: 'db' } } },
              { name: 'X', value: '1' },
            ],
            envFrom: [{ secretRef: { name: 'app-env' } }],
          },
          { name: 'other', envFrom: [{ secretRef: { name: 'not-mine' } }] },
        ],
        volumes: [
          { secret: { secretName: 'tls' } },
          { projected: { sources: [{ secret: { name: 'token' } }] } },
        ],
      },
    };
    assert.deepEqual(secretNamesFor(withSecrets, 'migration'), ['db', 'app-env', 'tls', 'token']);
    assert.deepEqual(secretNamesFor(withSecrets), ['db', 'app-env', 'not-mine', 'tls', 'token']);
  });
});

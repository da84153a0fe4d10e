import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { KubeApiError, isConflict, isInvalid, isNotFound } from './errors.ts';

describe('KubeApiError.fromResponse', () => {
  it('keeps the server message, reason and field causes of a Status body', () => {
    const body = JSON.stringify({
      kind: 'Status',
      status: 'Failure',
      reason: 'Invalid',
      code: 422,
      message: 'Job.batch "db-migration" is invalid: spec.template: Invalid value: ...: field is immutable',
      details: { name: 'db-migration', group: 'batch', kind: 'Job', causes: [{ field: 'spec.template' }] },
    });
    const error = KubeApiError.fromResponse(422, body, 'PATCH /apis/batch/v1/namespaces/a/jobs/db-migration');
    assert.equal(error.code, 422);
    assert.equal(error.reason, 'Invalid');
    assert.match(error.message, /field is immutable/);
    assert.deepEqual(error.causes, [{ field: 'spec.template' }]);
    assert.ok(isInvalid(error));
  });

  it('derives the reason from the HTTP code when the body is not a Status', () => {
    const error = KubeApiError.fromResponse(404, '404 page not found\n', 'GET /apis/x/v1/things');
    assert.equal(error.reason, 'NotFound');
    assert.equal(error.message, '404 page not found');
    assert.ok(isNotFound(error));
  });

  it('names the request when the body is empty', () => {
    const error = KubeApiError.fromResponse(503, '', 'GET /readyz');
    assert.equal(error.reason, 'ServiceUnavailable');
    assert.equal(error.message, 'GET /readyz: HTTP 503');
  });

  it('treats AlreadyExists as a conflict', () => {
    const body = JSON.stringify({ kind: 'Status', reason: 'AlreadyExists', code: 409, message: 'exists' });
    assert.ok(isConflict(KubeApiError.fromResponse(409, body, 'POST /api/v1/namespaces')));
  });
});

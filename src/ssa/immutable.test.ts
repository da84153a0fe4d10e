import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isImmutableError } from './immutable.ts';
import { KubeApiError } from '../kube/errors.ts';

describe('isImmutableError', () => {
  const cases: [string, unknown, boolean][] = [
    [
      '422 Invalid (a Job template change)',
      new KubeApiError(422, 'Invalid', 'spec.template: field is immutable'),
      true,
    ],
    [
      '422 Invalid for another reason (kubectl counts it too)',
      new KubeApiError(422, 'Invalid', 'bad value'),
      true,
    ],
    ['409 Conflict', new KubeApiError(409, 'Conflict', 'the object has been modified'), true],
    [
      'a webhook saying "is immutable" with 400',
      new KubeApiError(400, 'BadRequest', 'spec.x is immutable'),
      true,
    ],
    [
      'a CEL rule saying "immutable field"',
      new KubeApiError(400, 'BadRequest', 'immutable field: spec.y'),
      true,
    ],
    ['404 NotFound', new KubeApiError(404, 'NotFound', 'jobs "x" not found'), false],
    ['403 Forbidden', new KubeApiError(403, 'Forbidden', 'cannot patch'), false],
    ['a plain network error', new Error('connect ECONNREFUSED'), false],
    ['not an error', 'immutable field', false],
  ];
  for (const [name, error, expected] of cases) {
    it(`${expected ? 'is' : 'is not'} immutable: ${name}`, () =>
      assert.equal(isImmutableError(error), expected));
  }
});

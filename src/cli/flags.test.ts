import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { namespaceDefault } from './flags.ts';

describe('namespaceDefault', () => {
  it('is flux-system unless $FLUX_SYSTEM_NAMESPACE names a valid namespace', () => {
    assert.equal(namespaceDefault({}), 'flux-system');
    assert.equal(namespaceDefault({ FLUX_SYSTEM_NAMESPACE: 'apps' }), 'apps');
    assert.equal(namespaceDefault({ FLUX_SYSTEM_NAMESPACE: 'Not_Valid' }), 'flux-system');
  });
});
